"""pinlet's configuration: KubeletConfiguration parsing, defaults, overrides and validation.

Expected values and error texts come from the kubelet's rules (kubelet-algorithms.md §1.1,
§1.8, §2, §3) and its v1beta1 defaults; machines are built from shapes right here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from pinlet.server.config import (
    Config,
    ReservedMemory,
    TopologyManagerPolicyOptions,
    default_config,
    load_kubelet_config,
    parse_go_duration,
    parse_kubelet_config,
    parse_topology_manager_policy_options,
    validate,
    with_overrides,
)
from pinlet.server.cpu_policy import StaticPolicyOptions
from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import ConfigError
from pinlet.server.quantity import Quantity
from pinlet.server.shapes import Shape, expand

HEADER = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

# 1 socket, 4 cores, 2 threads: core k is CPUs k and k+4.
SINGLE_SOCKET_HT = expand(Shape(sockets=1, cores_per_socket=4, threads_per_core=2))
# 2 sockets (NUMA node = socket), 16 cores, 32 CPUs, Linux numbering: core k is CPUs k, k+16.
DUAL_SOCKET_HT = expand(Shape(sockets=2, cores_per_socket=8, threads_per_core=2))
# 16 NUMA nodes of one core each: more than the topology manager's default limit of 8.
SIXTEEN_NUMA = expand(Shape(sockets=2, cores_per_socket=8, numa_per_socket=8))

MACHINES = {
    "single-socket-ht": SINGLE_SOCKET_HT,
    "dual-socket-ht": DUAL_SOCKET_HT,
    "sixteen-numa": SIXTEEN_NUMA,
}


def kubelet_config(snippet: str) -> Config:
    """Parse a KubeletConfiguration made of the standard header plus ``snippet``."""
    doc = yaml.safe_load(HEADER + textwrap.dedent(snippet))
    return parse_kubelet_config(doc, source="test.yaml")


def q(text: str) -> Quantity:
    return Quantity.parse(text)


# -- parsing -----------------------------------------------------------------------------------


PARSE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "missing fields take the kubelet's v1beta1 defaults",
        "",
        {
            "cpu_manager_policy": "none",
            "cpu_manager_policy_options": {},
            "reserved_system_cpus": None,
            "kube_reserved_cpu": None,
            "system_reserved_cpu": None,
            "topology_manager_policy": "none",
            "topology_manager_scope": "container",
            "topology_manager_policy_options": {},
            "memory_manager_policy": "None",
            "reserved_memory": (),
            "feature_gates": {},
            "cpu_manager_reconcile_period": 10.0,
        },
    ),
    (
        "static policy with quoted option values",
        """
        cpuManagerPolicy: static
        cpuManagerPolicyOptions:
          full-pcpus-only: "true"
          distribute-cpus-across-numa: "false"
        """,
        {
            "cpu_manager_policy": "static",
            "cpu_manager_policy_options": {
                "full-pcpus-only": "true",
                "distribute-cpus-across-numa": "false",
            },
        },
    ),
    (
        "unquoted YAML booleans and integers in option maps become Go strings",
        """
        cpuManagerPolicyOptions: {full-pcpus-only: true, strict-cpu-reservation: false}
        topologyManagerPolicyOptions: {max-allowable-numa-nodes: 16}
        """,
        {
            "cpu_manager_policy_options": {
                "full-pcpus-only": "true",
                "strict-cpu-reservation": "false",
            },
            "topology_manager_policy_options": {"max-allowable-numa-nodes": "16"},
        },
    ),
    (
        "reservedSystemCPUs is a cpulist",
        'reservedSystemCPUs: "0,4"',
        {"reserved_system_cpus": CPUSet([0, 4])},
    ),
    (
        "an unquoted single reserved CPU is read as that CPU",
        "reservedSystemCPUs: 0",
        {"reserved_system_cpus": CPUSet([0])},
    ),
    (
        "an empty reservedSystemCPUs means not set",
        'reservedSystemCPUs: ""',
        {"reserved_system_cpus": None},
    ),
    (
        "kube and system reserved keep cpu and memory",
        """
        kubeReserved: {cpu: 500m, memory: 1Gi, ephemeral-storage: 1Gi, pid: "1000"}
        systemReserved: {cpu: "1"}
        """,
        {
            "kube_reserved_cpu": q("500m"),
            "kube_reserved_memory": q("1Gi"),
            "system_reserved_cpu": q("1"),
            "system_reserved_memory": None,
        },
    ),
    (
        "a bare number is accepted as a cpu quantity",
        "systemReserved: {cpu: 1.5}",
        {"system_reserved_cpu": q("1500m")},
    ),
    (
        "topology manager policy, scope and options",
        """
        topologyManagerPolicy: single-numa-node
        topologyManagerScope: pod
        topologyManagerPolicyOptions: {prefer-closest-numa-nodes: "true"}
        """,
        {
            "topology_manager_policy": "single-numa-node",
            "topology_manager_scope": "pod",
            "topology_manager_policy_options": {"prefer-closest-numa-nodes": "true"},
        },
    ),
    (
        "memory manager Static with per-NUMA reserved memory and hugepages",
        """
        memoryManagerPolicy: Static
        reservedMemory:
        - numaNode: 0
          limits: {memory: 1Gi, hugepages-2Mi: 64Mi}
        - numaNode: 1
          limits: {memory: 512Mi}
        """,
        {
            "memory_manager_policy": "Static",
            "reserved_memory": (
                ReservedMemory(0, {"memory": q("1Gi"), "hugepages-2Mi": q("64Mi")}),
                ReservedMemory(1, {"memory": q("512Mi")}),
            ),
        },
    ),
    (
        "feature gates are kept as given",
        "featureGates: {CPUManagerPolicyAlphaOptions: true, GracefulNodeShutdown: false}",
        {"feature_gates": {"CPUManagerPolicyAlphaOptions": True, "GracefulNodeShutdown": False}},
    ),
    (
        "the reconcile period is a Go duration with several components",
        'cpuManagerReconcilePeriod: "1m30s"',
        {"cpu_manager_reconcile_period": 90.0},
    ),
    (
        "the reconcile period in milliseconds",
        "cpuManagerReconcilePeriod: 500ms",
        {"cpu_manager_reconcile_period": 0.5},
    ),
    (
        "null values count as missing",
        """
        cpuManagerPolicy:
        kubeReserved:
        featureGates:
        cpuManagerReconcilePeriod:
        """,
        {
            "cpu_manager_policy": "none",
            "kube_reserved_cpu": None,
            "feature_gates": {},
            "cpu_manager_reconcile_period": 10.0,
        },
    ),
    (
        "unknown fields are ignored",
        """
        clusterDNS: [10.96.0.10]
        evictionHard: {memory.available: 100Mi}
        somethingFromTheFuture: {a: 1}
        cpuManagerPolicy: static
        """,
        {"cpu_manager_policy": "static"},
    ),
]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [pytest.param(s, e, id=name) for name, s, e in PARSE_CASES],
)
def test_parse_kubelet_config(snippet: str, expected: dict[str, Any]) -> None:
    """Each KubeletConfiguration snippet yields the listed Config fields."""
    config = kubelet_config(snippet)
    actual = {name: getattr(config, name) for name in expected}
    # Mappings are frozen views; compare their contents.
    actual = {k: dict(v) if hasattr(v, "keys") else v for k, v in actual.items()}
    assert actual == expected


PARSE_ERRORS: list[tuple[str, str, str, str]] = [
    (
        "wrong kind",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: Pod\n",
        "kind",
        "KubeletConfiguration",
    ),
    (
        "wrong apiVersion",
        "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n",
        "apiVersion",
        "kubelet.config.k8s.io/v1beta1",
    ),
    ("missing apiVersion", "kind: KubeletConfiguration\n", "apiVersion", "missing"),
    (
        "option value of a type Go cannot turn into a string",
        HEADER + "cpuManagerPolicyOptions: {full-pcpus-only: 1.5}\n",
        "cpuManagerPolicyOptions.full-pcpus-only",
        "must be a string",
    ),
    (
        "option map that is a list",
        HEADER + "cpuManagerPolicyOptions: [full-pcpus-only]\n",
        "cpuManagerPolicyOptions",
        "must be a mapping",
    ),
    (
        "topology option value that is a list",
        HEADER + "topologyManagerPolicyOptions: {prefer-closest-numa-nodes: [true]}\n",
        "topologyManagerPolicyOptions.prefer-closest-numa-nodes",
        "must be a string",
    ),
    ("policy that is not a string", HEADER + "cpuManagerPolicy: 1\n", "cpuManagerPolicy", "string"),
    (
        "reversed cpulist range",
        HEADER + 'reservedSystemCPUs: "3-1"\n',
        "reservedSystemCPUs",
        "unable to parse reserved-cpus list",
    ),
    (
        "cpu quantity that does not parse",
        HEADER + "kubeReserved: {cpu: lots}\n",
        "kubeReserved.cpu",
        "invalid quantity",
    ),
    (
        "negative reserved cpu",
        HEADER + 'systemReserved: {cpu: "-1"}\n',
        "systemReserved.cpu",
        'resource quantity for "cpu" cannot be negative',
    ),
    (
        "resource the kubelet cannot reserve",
        HEADER + "kubeReserved: {nvidia.com/gpu: 1}\n",
        "kubeReserved.nvidia.com/gpu",
        'cannot reserve "nvidia.com/gpu" resource',
    ),
    (
        "feature gate given as a string",
        HEADER + 'featureGates: {PodLevelResources: "true"}\n',
        "featureGates.PodLevelResources",
        "must be a boolean",
    ),
    (
        "reservedMemory that is a mapping",
        HEADER + "reservedMemory: {numaNode: 0}\n",
        "reservedMemory",
        "must be a list",
    ),
    (
        "reservedMemory entry without numaNode",
        HEADER + "reservedMemory: [{limits: {memory: 1Gi}}]\n",
        "reservedMemory[0].numaNode",
        "missing",
    ),
    (
        "reservedMemory numaNode given as a string",
        HEADER + 'reservedMemory: [{numaNode: "0", limits: {memory: 1Gi}}]\n',
        "reservedMemory[0].numaNode",
        "must be an integer",
    ),
    (
        "reservedMemory limit that does not parse",
        HEADER + "reservedMemory: [{numaNode: 0, limits: {memory: 1GB}}]\n",
        "reservedMemory[0].limits.memory",
        "invalid quantity",
    ),
    (
        "reconcile period without a unit",
        HEADER + 'cpuManagerReconcilePeriod: "10"\n',
        "cpuManagerReconcilePeriod",
        'time: missing unit in duration "10"',
    ),
    (
        "reconcile period with an unknown unit",
        HEADER + "cpuManagerReconcilePeriod: 10sec\n",
        "cpuManagerReconcilePeriod",
        'time: unknown unit "sec" in duration "10sec"',
    ),
    (
        "reconcile period as a bare number",
        HEADER + "cpuManagerReconcilePeriod: 10\n",
        "cpuManagerReconcilePeriod",
        "Go duration string",
    ),
    (
        "known field spelled with other capitals",
        HEADER + "CPUManagerPolicy: static\n",
        "CPUManagerPolicy",
        "write cpuManagerPolicy",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [pytest.param(t, f, m, id=name) for name, t, f, m in PARSE_ERRORS],
)
def test_parse_errors_name_the_field(text: str, field: str, message: str) -> None:
    """A malformed value is refused with a ConfigError naming its field path and the source."""
    with pytest.raises(ConfigError) as info:
        parse_kubelet_config(yaml.safe_load(text), source="test.yaml")
    assert info.value.field == field
    assert message in info.value.message
    assert "test.yaml" in info.value.message


REALISTIC = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 0s
    cacheUnauthorizedTTL: 0s
cgroupDriver: systemd
clusterDNS:
- 10.96.0.10
clusterDomain: cluster.local
containerRuntimeEndpoint: ""
cpuManagerPolicy: static
cpuManagerPolicyOptions:
  full-pcpus-only: "true"
cpuManagerReconcilePeriod: 5s
evictionHard:
  memory.available: 100Mi
  nodefs.available: 10%
evictionPressureTransitionPeriod: 0s
featureGates:
  CPUManagerPolicyAlphaOptions: true
fileCheckFrequency: 0s
healthzBindAddress: 127.0.0.1
healthzPort: 10248
httpCheckFrequency: 0s
imageMinimumGCAge: 0s
kubeReserved:
  cpu: 500m
  memory: 512Mi
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
  verbosity: 0
memoryManagerPolicy: Static
memorySwap: {}
nodeStatusReportFrequency: 0s
nodeStatusUpdateFrequency: 0s
reservedMemory:
- numaNode: 0
  limits:
    memory: 1124Mi
reservedSystemCPUs: 0,16
resolvConf: /run/systemd/resolve/resolv.conf
rotateCertificates: true
runtimeRequestTimeout: 0s
shutdownGracePeriod: 0s
shutdownGracePeriodCriticalPods: 0s
staticPodPath: /etc/kubernetes/manifests
streamingConnectionIdleTimeout: 0s
syncFrequency: 0s
systemReserved:
  cpu: 500m
  memory: 512Mi
topologyManagerPolicy: restricted
topologyManagerScope: pod
volumeStatsAggPeriod: 0s
"""


def test_realistic_kubelet_config_file(tmp_path: Path) -> None:
    """A full kubeadm-style KubeletConfiguration file loads and validates on its machine."""
    path = tmp_path / "config.yaml"
    path.write_text(REALISTIC)
    config = load_kubelet_config(path)
    assert config.cpu_manager_policy == "static"
    assert dict(config.cpu_manager_policy_options) == {"full-pcpus-only": "true"}
    assert config.reserved_system_cpus == CPUSet([0, 16])
    assert config.kube_reserved_cpu == q("500m")
    assert config.system_reserved_memory == q("512Mi")
    assert config.topology_manager_policy == "restricted"
    assert config.topology_manager_scope == "pod"
    assert config.memory_manager_policy == "Static"
    assert config.reserved_memory == (ReservedMemory(0, {"memory": q("1124Mi")}),)
    assert config.gate("CPUManagerPolicyAlphaOptions") is True
    assert config.cpu_manager_reconcile_period == 5.0
    validate(config, DUAL_SOCKET_HT)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("- just\n- a list\n", "is a mapping with apiVersion and kind", id="list"),
        pytest.param("", "is a mapping with apiVersion and kind", id="empty"),
        pytest.param("kind: [unclosed\n", "is not valid YAML", id="bad-yaml"),
    ],
)
def test_load_refuses_files_that_are_not_a_config(
    tmp_path: Path, content: str, message: str
) -> None:
    """A file that is not a YAML mapping is refused with the path in the message."""
    path = tmp_path / "kubelet.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_kubelet_config(path)
    assert info.value.field == ""
    assert message in info.value.message
    assert str(path) in info.value.message


def test_load_missing_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError that names the path."""
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="cannot be read") as info:
        load_kubelet_config(path)
    assert str(path) in info.value.message


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("10s", 10 * 10**9),
        ("1m30s", 90 * 10**9),
        ("500ms", 500 * 10**6),
        ("1.5h", 5400 * 10**9),
        ("1h2m3s4ms5us6ns", 3723_004_005_006),
        ("1\u00b5s", 1000),
        ("1\u03bcs", 1000),
        (".5s", 5 * 10**8),
        ("1.s", 10**9),
        ("0", 0),
        ("-0", 0),
        ("+5s", 5 * 10**9),
        ("-2m", -120 * 10**9),
        ("9223372036854775807ns", (1 << 63) - 1),
    ],
)
def test_go_duration(text: str, nanos: int) -> None:
    """Durations parse to the nanoseconds Go's time.ParseDuration gives."""
    assert parse_go_duration(text) == nanos


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("s", 'time: invalid duration "s"'),
        (".s", 'time: invalid duration ".s"'),
        ("5", 'time: missing unit in duration "5"'),
        ("5d", 'time: unknown unit "d" in duration "5d"'),
        ("1h-5m", 'time: unknown unit "h-" in duration "1h-5m"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
    ],
)
def test_go_duration_errors(text: str, message: str) -> None:
    """Malformed durations fail with Go's own error text."""
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.") + "$"):
        parse_go_duration(text)


# -- Config behaviour --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"kube_reserved_cpu": q("500m"), "system_reserved_cpu": q("600m")}, 2),
        pytest.param({"kube_reserved_cpu": q("1")}, 1),
        pytest.param({"system_reserved_cpu": q("1001m")}, 2),
        pytest.param({"kube_reserved_cpu": q("1n")}, 1),
        pytest.param({}, 0),
        pytest.param({"kube_reserved_cpu": q("0"), "system_reserved_cpu": q("0")}, 0),
        pytest.param({"reserved_system_cpus": CPUSet.parse("0-3"), "kube_reserved_cpu": q("8")}, 4),
    ],
)
def test_num_reserved_cpus(fields: dict[str, Any], expected: int) -> None:
    """Explicit reserved CPUs win; otherwise the reserved cpu amounts are summed and rounded up."""
    assert Config(**fields).num_reserved_cpus() == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CPUManagerPolicyAlphaOptions", False),
        ("CPUManagerPolicyBetaOptions", True),
        ("TopologyManagerPolicyAlphaOptions", False),
        ("TopologyManagerPolicyBetaOptions", True),
        ("PodLevelResources", True),
        ("PodLevelResourceManagers", False),
        ("MemoryManager", True),
        ("NoSuchGate", False),
    ],
)
def test_gate_defaults(name: str, expected: bool) -> None:
    """Unset gates take their Kubernetes v1.36 defaults; unknown gates are off."""
    assert Config().gate(name) is expected


def test_gate_configured_value_wins() -> None:
    """A gate set in featureGates overrides its default, either way."""
    config = Config(feature_gates={"CPUManagerPolicyBetaOptions": False, "NoSuchGate": True})
    assert config.gate("CPUManagerPolicyBetaOptions") is False
    assert config.gate("NoSuchGate") is True


def test_config_is_frozen() -> None:
    """Neither the Config nor its mappings can be changed after construction."""
    options = {"full-pcpus-only": "true"}
    config = Config(cpu_manager_policy_options=options)
    options["full-pcpus-only"] = "false"
    assert config.cpu_manager_policy_options["full-pcpus-only"] == "true"
    with pytest.raises(TypeError):
        config.cpu_manager_policy_options["x"] = "y"  # type: ignore[index]
    with pytest.raises(AttributeError):
        config.cpu_manager_policy = "none"  # type: ignore[misc]


def test_cpu_policy_options_respect_gates() -> None:
    """The parsed CPU options are gated by the configured alpha gate."""
    config = Config(
        cpu_manager_policy_options={"distribute-cpus-across-cores": "true"},
        feature_gates={"CPUManagerPolicyAlphaOptions": True},
    )
    assert config.cpu_policy_options() == StaticPolicyOptions(distribute_cpus_across_cores=True)


def test_topology_options_parse() -> None:
    """Topology manager options parse into their typed form, defaulting to 8 NUMA nodes."""
    assert parse_topology_manager_policy_options({}) == TopologyManagerPolicyOptions(
        prefer_closest_numa=False, max_allowable_numa_nodes=8
    )
    parsed = parse_topology_manager_policy_options(
        {"prefer-closest-numa-nodes": "True", "max-allowable-numa-nodes": "+16"}
    )
    assert parsed == TopologyManagerPolicyOptions(
        prefer_closest_numa=True, max_allowable_numa_nodes=16
    )


# -- overrides and defaults --------------------------------------------------------------------


def test_overrides_replace_only_given_flags() -> None:
    """Flags that were given replace the file's values; flags left at None change nothing."""
    base = kubelet_config(
        """
        cpuManagerPolicy: static
        kubeReserved: {cpu: "1"}
        topologyManagerPolicy: restricted
        """
    )
    merged = with_overrides(
        base,
        reserved_system_cpus=CPUSet([0, 4]),
        topology_manager_policy="single-numa-node",
        cpu_manager_policy=None,
        kube_reserved_cpu=None,
    )
    assert merged.reserved_system_cpus == CPUSet([0, 4])
    assert merged.topology_manager_policy == "single-numa-node"
    assert merged.cpu_manager_policy == "static"
    assert merged.kube_reserved_cpu == q("1")
    assert base.topology_manager_policy == "restricted"


def test_overrides_without_flags_is_the_same_config() -> None:
    """No flags, no change."""
    base = Config(cpu_manager_policy="none")
    assert with_overrides(base) == base


@pytest.mark.parametrize(
    ("shape", "reserved"),
    [
        pytest.param(Shape(sockets=1, cores_per_socket=4, threads_per_core=2), "0,4", id="1s-ht"),
        pytest.param(Shape(sockets=2, cores_per_socket=8, threads_per_core=2), "0,16", id="2s-ht"),
        pytest.param(
            Shape(sockets=1, cores_per_socket=4, threads_per_core=2, numbering="adjacent"),
            "0-1",
            id="adjacent",
        ),
        pytest.param(
            Shape(sockets=2, cores_per_socket=3, threads_per_core=2, numbering="interleaved"),
            "0,6",
            id="interleaved",
        ),
        pytest.param(Shape(sockets=2, cores_per_socket=4), "0", id="no-smt"),
    ],
)
def test_default_config_reserves_the_first_core(shape: Shape, reserved: str) -> None:
    """The embedded defaults reserve every thread of the core holding CPU 0, and validate."""
    topology = expand(shape)
    config = default_config(topology)
    assert config.reserved_system_cpus == CPUSet.parse(reserved)
    assert config.num_reserved_cpus() == len(CPUSet.parse(reserved))
    assert config.cpu_manager_policy == "static"
    assert config.topology_manager_policy == "best-effort"
    assert config.topology_manager_scope == "container"
    assert config.memory_manager_policy == "None"
    validate(config, topology)


def test_default_config_with_cpu0_core_partly_offline() -> None:
    """With CPU 0's sibling offline, only the online thread of the first core is reserved."""
    topology = expand(
        Shape(sockets=1, cores_per_socket=4, threads_per_core=2, offline_cpus=CPUSet([4]))
    )
    assert default_config(topology).reserved_system_cpus == CPUSet([0])


# -- validation --------------------------------------------------------------------------------

STATIC = "cpuManagerPolicy: static\nkubeReserved: {cpu: '1'}\n"

VALID: list[tuple[str, str, str]] = [
    ("policy none without reservations", "single-socket-ht", ""),
    ("static with kubeReserved", "single-socket-ht", STATIC),
    (
        "static with reservedSystemCPUs only",
        "dual-socket-ht",
        "cpuManagerPolicy: static\nreservedSystemCPUs: '0,16'\n",
    ),
    (
        "alpha option with its gate on",
        "dual-socket-ht",
        STATIC + "cpuManagerPolicyOptions: {align-by-socket: 'true'}\n"
        "featureGates: {CPUManagerPolicyAlphaOptions: true}\n",
    ),
    (
        "topology policy none on a machine with 16 NUMA nodes",
        "sixteen-numa",
        "topologyManagerPolicy: none\n",
    ),
    (
        "max-allowable-numa-nodes raised to fit 16 NUMA nodes",
        "sixteen-numa",
        "topologyManagerPolicy: best-effort\n"
        "topologyManagerPolicyOptions: {max-allowable-numa-nodes: '16'}\n",
    ),
    (
        "prefer-closest-numa-nodes needs no gate",
        "dual-socket-ht",
        "topologyManagerPolicy: restricted\n"
        "topologyManagerPolicyOptions: {prefer-closest-numa-nodes: 'true'}\n",
    ),
    (
        "memory Static with memory reserved on one node",
        "dual-socket-ht",
        "memoryManagerPolicy: Static\nreservedMemory: [{numaNode: 1, limits: {memory: 1Gi}}]\n",
    ),
    (
        "reservedMemory for absent nodes is not checked when the memory policy is None",
        "single-socket-ht",
        "reservedMemory: [{numaNode: 3, limits: {memory: 1Gi}}]\n",
    ),
]


@pytest.mark.parametrize(
    ("machine", "snippet"),
    [pytest.param(m, s, id=name) for name, m, s in VALID],
)
def test_validate_accepts(machine: str, snippet: str) -> None:
    """Configurations the kubelet would start with pass validation."""
    validate(kubelet_config(snippet), MACHINES[machine])


INVALID: list[tuple[str, str, str, str, str]] = [
    (
        "CPU policy names are case-sensitive",
        "single-socket-ht",
        "cpuManagerPolicy: Static\n",
        "cpuManagerPolicy",
        'unknown policy: "Static"',
    ),
    (
        "static with no CPU reservation",
        "single-socket-ht",
        "cpuManagerPolicy: static\n",
        "kubeReserved",
        "the static policy requires systemreserved.cpu + kubereserved.cpu to be greater than zero",
    ),
    (
        "static with zero CPU reservation",
        "single-socket-ht",
        "cpuManagerPolicy: static\nkubeReserved: {cpu: '0'}\nsystemReserved: {cpu: 0m}\n",
        "kubeReserved",
        "to be greater than zero",
    ),
    (
        "reserved CPUs that the machine does not have",
        "single-socket-ht",
        "cpuManagerPolicy: static\nreservedSystemCPUs: '0,8'\n",
        "reservedSystemCPUs",
        "reserved-cpus: 0,8 is not a subset of online-cpus: 0-7",
    ),
    (
        "reserved CPUs are checked under policy none too",
        "single-socket-ht",
        "reservedSystemCPUs: '12'\n",
        "reservedSystemCPUs",
        "is not a subset of online-cpus",
    ),
    (
        "more reserved CPUs than the machine has",
        "single-socket-ht",
        "cpuManagerPolicy: static\nkubeReserved: {cpu: '9'}\n",
        "reservedSystemCPUs",
        "unable to reserve the required amount of CPUs",
    ),
    (
        "unknown CPU option",
        "single-socket-ht",
        STATIC + "cpuManagerPolicyOptions: {full-cores-only: 'true'}\n",
        "cpuManagerPolicyOptions",
        'unknown CPU Manager Policy option: "full-cores-only"',
    ),
    (
        "alpha CPU option without its gate",
        "dual-socket-ht",
        STATIC + "cpuManagerPolicyOptions: {align-by-socket: 'true'}\n",
        "cpuManagerPolicyOptions",
        'CPU Manager Policy Alpha-level Options not enabled, but option "align-by-socket"',
    ),
    (
        "CPU option value that is not a Go bool",
        "single-socket-ht",
        STATIC + "cpuManagerPolicyOptions: {full-pcpus-only: 'yes'}\n",
        "cpuManagerPolicyOptions",
        'bad value for option "full-pcpus-only"',
    ),
    (
        "incompatible CPU options",
        "single-socket-ht",
        STATIC + "cpuManagerPolicyOptions: {full-pcpus-only: 'true', "
        "distribute-cpus-across-cores: 'true'}\n"
        "featureGates: {CPUManagerPolicyAlphaOptions: true}\n",
        "cpuManagerPolicyOptions",
        "full-pcpus-only and distribute-cpus-across-cores can not be used at the same time",
    ),
    (
        "align-by-socket with the single-numa-node topology policy",
        "dual-socket-ht",
        STATIC + "cpuManagerPolicyOptions: {align-by-socket: 'true'}\n"
        "featureGates: {CPUManagerPolicyAlphaOptions: true}\n"
        "topologyManagerPolicy: single-numa-node\n",
        "cpuManagerPolicyOptions",
        "single-numa-node policy is incompatible",
    ),
    (
        "CPU options under policy none",
        "single-socket-ht",
        "cpuManagerPolicy: none\ncpuManagerPolicyOptions: {full-pcpus-only: 'true'}\n",
        "cpuManagerPolicyOptions",
        "None policy: cannot apply cpu policy options",
    ),
    (
        "unknown topology manager policy",
        "single-socket-ht",
        "topologyManagerPolicy: single-numa\n",
        "topologyManagerPolicy",
        'unknown policy: "single-numa"',
    ),
    (
        "unknown topology manager scope",
        "single-socket-ht",
        "topologyManagerScope: Pod\n",
        "topologyManagerScope",
        'unknown scope: "Pod"',
    ),
    (
        "unknown topology manager option",
        "single-socket-ht",
        "topologyManagerPolicyOptions: {prefer-closest: 'true'}\n",
        "topologyManagerPolicyOptions",
        'unknown Topology Manager Policy option: "prefer-closest"',
    ),
    (
        "max-allowable-numa-nodes below 8",
        "single-socket-ht",
        "topologyManagerPolicyOptions: {max-allowable-numa-nodes: 4}\n",
        "topologyManagerPolicyOptions.max-allowable-numa-nodes",
        'the minimum value of "max-allowable-numa-nodes" should not be less than 8',
    ),
    (
        "max-allowable-numa-nodes that is not an integer",
        "single-socket-ht",
        "topologyManagerPolicyOptions: {max-allowable-numa-nodes: 'eight'}\n",
        "topologyManagerPolicyOptions.max-allowable-numa-nodes",
        'unable to convert policy option to integer "max-allowable-numa-nodes"',
    ),
    (
        "prefer-closest-numa-nodes that is not a Go bool",
        "single-socket-ht",
        "topologyManagerPolicyOptions: {prefer-closest-numa-nodes: 'on'}\n",
        "topologyManagerPolicyOptions.prefer-closest-numa-nodes",
        'bad value for option "prefer-closest-numa-nodes"',
    ),
    (
        "topology policy on a machine with more NUMA nodes than allowed",
        "sixteen-numa",
        "topologyManagerPolicy: best-effort\n",
        "topologyManagerPolicy",
        "unsupported on machines with more than 8 NUMA Nodes",
    ),
    (
        "memory policy names are capitalised",
        "single-socket-ht",
        "memoryManagerPolicy: static\n",
        "memoryManagerPolicy",
        'unknown policy: "static"',
    ),
    (
        "memory Static without reserved memory",
        "single-socket-ht",
        "memoryManagerPolicy: Static\n",
        "reservedMemory",
        "[memorymanager] you should specify the system reserved memory",
    ),
    (
        "memory Static with only hugepages reserved",
        "single-socket-ht",
        "memoryManagerPolicy: Static\n"
        "reservedMemory: [{numaNode: 0, limits: {hugepages-2Mi: 64Mi}}]\n",
        "reservedMemory",
        "you should specify the system reserved memory",
    ),
    (
        "memory Static with a NUMA node the machine does not have",
        "dual-socket-ht",
        "memoryManagerPolicy: Static\nreservedMemory: [{numaNode: 2, limits: {memory: 1Gi}}]\n",
        "reservedMemory[0].numaNode",
        "NUMA node 2 does not exist",
    ),
    (
        "reserved memory of a resource that is not memory",
        "single-socket-ht",
        "reservedMemory: [{numaNode: 0, limits: {cpu: '1'}}]\n",
        "reservedMemory[0].limits.cpu",
        'the limit type "cpu" for NUMA node 0 is not supported',
    ),
    (
        "zero reserved memory",
        "single-socket-ht",
        "reservedMemory: [{numaNode: 0, limits: {memory: '0'}}]\n",
        "reservedMemory[0].limits.memory",
        'reserved memory may not be zero for NUMA node 0 and resource "memory"',
    ),
    (
        "the same node and resource reserved twice",
        "single-socket-ht",
        "reservedMemory:\n"
        "- {numaNode: 0, limits: {memory: 1Gi}}\n"
        "- {numaNode: 0, limits: {memory: 2Gi}}\n",
        "reservedMemory[1].limits.memory",
        'the reserved memory has a duplicate value for NUMA node 0 and resource "memory"',
    ),
    (
        "zero reconcile period",
        "single-socket-ht",
        "cpuManagerReconcilePeriod: 0s\n",
        "cpuManagerReconcilePeriod",
        "must be greater than zero",
    ),
]


@pytest.mark.parametrize(
    ("machine", "snippet", "field", "message"),
    [pytest.param(m, s, f, msg, id=name) for name, m, s, f, msg in INVALID],
)
def test_validate_refuses(machine: str, snippet: str, field: str, message: str) -> None:
    """Configurations the kubelet would refuse fail with a ConfigError naming the field."""
    config = kubelet_config(snippet)
    with pytest.raises(ConfigError) as info:
        validate(config, MACHINES[machine])
    assert info.value.field == field
    assert message in info.value.message


def test_validate_checks_overridden_values() -> None:
    """Values that arrive as flags are validated like values from the file."""
    config = with_overrides(default_config(SINGLE_SOCKET_HT), kube_reserved_cpu=q("-1"))
    with pytest.raises(ConfigError) as info:
        validate(config, SINGLE_SOCKET_HT)
    assert info.value.field == "kubeReserved.cpu"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("cgroupfs", "cgroupfs"), ("systemd", "systemd"), (None, None)],
)
def test_cgroup_driver_is_read(value: str | None, expected: str | None) -> None:
    """cgroupDriver selects the kubelet's cgroup layout; absent means detect it."""
    doc = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"}
    if value is not None:
        doc["cgroupDriver"] = value
    assert parse_kubelet_config(doc).cgroup_driver == expected


def test_cgroup_driver_must_be_known() -> None:
    """Any other cgroupDriver is a ConfigError naming the field."""
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "openrc",
    }
    with pytest.raises(ConfigError) as info:
        parse_kubelet_config(doc)
    assert info.value.field == "cgroupDriver"
