"""Pod-Level Resource Managers (KEP-5526) through the gRPC API: the seed article's two pods.

Machine: dual-socket-ht (2 NUMA nodes, 16 cores, 32 CPUs, core k = CPUs k and k+16, 64 GiB per
node), reserved CPUs 0 and 16, Static memory manager with 1 GiB reserved on node 0, topology
manager single-numa-node; the configs are the ones shipped in examples/pod-level/.

Expected values are the ones worked out in pod-level-resource-managers.md §4 from the rules:
the pod block is taken like any exclusive allocation (whole cores of the hinted node, lowest
first), slices are taken from the block the same way, and the pod shared pool is what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import Daemon, InProcess

from pinlet.client import (
    PinletClient,
    PodSpec,
    SMTAlignmentError,
    TopologyAffinityError,
    load_pod_manifest,
    pod_from_manifest,
)
from pinlet.client.errors import AdmissionRejected
from pinlet.server.config import Config, load_kubelet_config, with_overrides
from pinlet.server.journal import JournaledStore
from pinlet.server.machine import load
from pinlet.server.manager import Manager
from pinlet.server.pod import Pod

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "pod-level"
MACHINE = load(ROOT / "tests" / "fixtures" / "machines" / "dual-socket-ht.yaml")
DATABASE = EXAMPLES / "tightly-coupled-database.yaml"
ML = EXAMPLES / "ml-workload.yaml"


def config(scope: str, **overrides: object) -> Config:
    base = load_kubelet_config(EXAMPLES / f"kubelet-config-{scope}-scope.yaml")
    return with_overrides(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def connect(serve_in_process: Callable[..., InProcess]) -> Iterator[Callable[..., PinletClient]]:
    clients: list[PinletClient] = []

    def make(cfg: Config) -> PinletClient:
        server = serve_in_process(config=cfg, topology=MACHINE)
        client = PinletClient(str(server.socket_path))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def placement(client: PinletClient, spec: PodSpec) -> dict[str, tuple[str, str, str, bool]]:
    """Container → (cpuset.cpus, cpuset.mems, isolation, CFS quota disabled)."""
    pod = client.allocate(spec)
    return {
        c.name: (c.cpuset_cpus, c.cpuset_mems, c.isolation, c.cfs_quota_disabled)
        for c in pod.containers
    }


POD_SCOPE = [
    pytest.param(
        DATABASE,
        "1-4,17-20",
        "4,20",
        {
            "metrics-exporter": ("4,20", "0", "pod-shared", False),
            "backup-agent": ("4,20", "0", "pod-shared", False),
            "database": ("1-3,17-19", "0", "pod-exclusive", True),
        },
        id="tightly-coupled-database",
    ),
    pytest.param(
        ML,
        "1-2,17-18",
        "18",
        {
            "service-mesh-sidecar": ("18", "0", "pod-shared", False),
            "ml-training": ("1-2,17", "0", "pod-exclusive", True),
        },
        id="ml-workload",
    ),
]


@pytest.mark.parametrize(("manifest", "block", "pool", "expected"), POD_SCOPE)
@pytest.mark.parametrize("options", [{}, {"full-pcpus-only": "true"}], ids=["plain", "full-pcpus"])
def test_pod_scope_carves_the_pod_block(
    connect: Callable[..., PinletClient],
    manifest: Path,
    block: str,
    pool: str,
    expected: dict[str, tuple[str, str, str, bool]],
    options: dict[str, str],
) -> None:
    """Pod scope: one NUMA-0 block for the pod, exclusive slices, the rest shared by the pod's
    other containers, every container on cpuset.mems 0 (full-pcpus-only checks the pod total)."""
    client = connect(config("pod", cpu_manager_policy_options=options))
    spec = load_pod_manifest(manifest)
    assert placement(client, spec) == expected
    pod = client.list_assignments(pod_uid=spec.uid)[0][0]
    assert (pod.pod_cpuset, pod.pod_shared_pool) == (block, pool)


CONTAINER_SCOPE = [
    pytest.param(
        DATABASE,
        {
            "metrics-exporter": ("0,4-16,20-31", "0-1", "node-shared", False),
            "backup-agent": ("0,4-16,20-31", "0-1", "node-shared", False),
            "database": ("1-3,17-19", "0", "node-exclusive", True),
        },
        id="tightly-coupled-database",
    ),
    pytest.param(
        ML,
        {
            "service-mesh-sidecar": ("0,3-16,18-31", "0-1", "node-shared", False),
            "ml-training": ("1-2,17", "0", "node-exclusive", True),
        },
        id="ml-workload",
    ),
]


@pytest.mark.parametrize(("manifest", "expected"), CONTAINER_SCOPE)
def test_container_scope_slices_from_the_node(
    connect: Callable[..., PinletClient],
    manifest: Path,
    expected: dict[str, tuple[str, str, str, bool]],
) -> None:
    """Container scope: eligible containers get NUMA-aligned slices of the node, the others
    run on the node's shared pool with unpinned memory."""
    client = connect(config("container"))
    spec = load_pod_manifest(manifest)
    assert placement(client, spec) == expected
    assert client.list_assignments(pod_uid=spec.uid)[0][0].pod_cpuset == ""


def test_full_pcpus_only_refuses_ml_training_in_container_scope(
    connect: Callable[..., PinletClient],
) -> None:
    """Container scope checks SMT alignment per container: 3 CPUs on SMT-2 is refused."""
    client = connect(config("container", cpu_manager_policy_options={"full-pcpus-only": "true"}))
    with pytest.raises(SMTAlignmentError) as info:
        client.allocate(load_pod_manifest(ML))
    assert str(info.value).endswith("requested 3 cpus not multiple cpus per core = 2")
    assert client.list_assignments() == ([], "0-31")


def test_both_pods_fit_numa_0_in_pod_scope(connect: Callable[..., PinletClient]) -> None:
    """Database first, then ml-workload: both blocks on NUMA 0 under single-numa-node."""
    client = connect(config("pod"))
    client.allocate(load_pod_manifest(DATABASE))
    assert placement(client, load_pod_manifest(ML)) == {
        "service-mesh-sidecar": ("22", "0", "pod-shared", False),
        "ml-training": ("5-6,21", "0", "pod-exclusive", True),
    }
    assert client.list_assignments()[1] == "0,7-16,23-31"


def test_sidecar_restart_keeps_the_shared_pool(connect: Callable[..., PinletClient]) -> None:
    """A restarted sidecar (new container id) keeps its cpuset and the pool is unchanged."""
    client = connect(config("pod"))
    spec = load_pod_manifest(DATABASE)
    client.allocate(spec)
    for attempt, cid in enumerate(("a" * 64, "b" * 64)):
        bound = client.add_container(spec.uid, "metrics-exporter", cid)
        assert (bound.cpuset_cpus, bound.container_id, attempt >= 0) == ("4,20", cid, True)
    pod = client.list_assignments(pod_uid=spec.uid)[0][0]
    assert (pod.pod_cpuset, pod.pod_shared_pool) == ("1-4,17-20", "4,20")
    assert pod.container("backup-agent").cpuset_cpus == "4,20"


def test_block_returns_only_with_the_last_container(connect: Callable[..., PinletClient]) -> None:
    """Removing containers one by one keeps the block out of the node pool until the last."""
    client = connect(config("pod"))
    spec = load_pod_manifest(DATABASE)
    client.allocate(spec)
    for name in ("database", "metrics-exporter"):
        result = client.remove_container(pod_uid=spec.uid, container_name=name)
        assert (result.removed, result.released_cpus) == (True, "")
        assert client.list_assignments()[1] == "0,5-16,21-31"
    result = client.remove_container(pod_uid=spec.uid, container_name="backup-agent")
    assert (result.removed, result.released_cpus) == (True, "1-4,17-20")
    assert client.list_assignments() == ([], "0-31")
    node0 = client.get_allocatable().numa_nodes[0]
    assert node0.free_cpus == "1-7,17-23"


def _empty_pool_pod() -> PodSpec:
    doc = yaml.safe_load(DATABASE.read_text())
    doc["metadata"]["uid"] = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
    limits = {"cpu": "8", "memory": "16Gi"}
    doc["spec"]["containers"][0]["resources"] = {"requests": limits, "limits": limits}
    return pod_from_manifest(doc)


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ("single-numa-node", "TopologyAffinityError"),
        ("restricted", "TopologyAffinityError"),
        ("best-effort", "EmptyPodSharedPoolError"),
    ],
)
def test_empty_pod_shared_pool_is_refused(
    connect: Callable[..., PinletClient], policy: str, reason: str
) -> None:
    """A database taking the whole 8-CPU budget leaves the sidecars nothing: refused."""
    client = connect(config("pod", topology_manager_policy=policy))
    with pytest.raises(AdmissionRejected) as info:
        client.allocate(_empty_pool_pod())
    assert info.value.reason == reason
    if reason == "TopologyAffinityError":
        assert isinstance(info.value, TopologyAffinityError)
        assert str(info.value).startswith("Pod Scope")
    assert client.list_assignments() == ([], "0-31")


def test_gate_off_admits_without_exclusivity(connect: Callable[..., PinletClient]) -> None:
    """With PodLevelResourceManagers off, a pod with spec.resources gets nothing exclusive."""
    client = connect(config("pod", feature_gates={"PodLevelResourceManagers": False}))
    got = placement(client, load_pod_manifest(DATABASE))
    assert got == dict.fromkeys(
        ("metrics-exporter", "backup-agent", "database"), ("0-31", "0-1", "node-shared", False)
    )


def test_restart_keeps_pod_entries(tmp_path: Path) -> None:
    """A restarted service restores the pod block, the slices and the shared pool."""
    cfg = config("pod")
    spec = yaml.safe_load(DATABASE.read_text())
    pod = Pod.from_manifest(spec)
    first = Manager(MACHINE, cfg, JournaledStore(tmp_path))
    before = first.allocate(pod)
    second = Manager(MACHINE, cfg, JournaledStore(tmp_path))
    after = second.list(pod.uid)[0][0]
    assert after == before
    assert second.state.cpu.pod_entries == first.state.cpu.pod_entries
    assert str(second.state.cpu.default_cpuset) == "0,5-16,21-31"


def test_daemon_restart_keeps_the_pod_block(start_daemon: Callable[..., Daemon]) -> None:
    """pinlet serve with the pod-scope config: after SIGTERM and a restart on the same state
    directory, the block, the slices and the pod shared pool are all still there."""
    args = ("--config", str(EXAMPLES / "kubelet-config-pod-scope.yaml"))
    daemon = start_daemon(*args)
    spec = load_pod_manifest(DATABASE)
    with PinletClient(str(daemon.socket_path)) as client:
        before = client.allocate(spec)
    assert daemon.terminate() == 0
    daemon = start_daemon(*args, socket_path=daemon.socket_path, state_dir=daemon.state_dir)
    with PinletClient(str(daemon.socket_path)) as client:
        pods, shared = client.list_assignments()
    assert pods == [before]
    assert (before.pod_cpuset, before.pod_shared_pool, shared) == (
        "1-4,17-20",
        "4,20",
        "0,5-16,21-31",
    )


def test_cli_lists_the_pod_block(
    serve_in_process: Callable[..., InProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    """'pinlet list' shows a pod-scope pod's block, its shared pool and who runs where."""
    from pinlet.server.cli import main

    server = serve_in_process(config=config("pod"), topology=MACHINE)
    sock = str(server.socket_path)
    assert main(["--socket", sock, "allocate", "-f", str(DATABASE)]) == 0
    capsys.readouterr()
    assert main(["--socket", sock, "list"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    start = lines.index(
        [
            "pod",
            "default/tightly-coupled-database:",
            "block",
            "cpus",
            "1-4,17-20,",
            "pod",
            "shared",
            "pool",
            "4,20",
        ]
    )
    assert lines[start + 2 : start + 5] == [
        ["metrics-exporter", "sidecar", "pod-shared", "4,20"],
        ["backup-agent", "sidecar", "pod-shared", "4,20"],
        ["database", "app", "pod-exclusive", "1-3,17-19"],
    ]
    assert lines[start + 6 :][:2] == [
        ["shared", "pool:", "cpus", "0,5-16,21-31"],
        ["no", "shared", "containers"],
    ]
