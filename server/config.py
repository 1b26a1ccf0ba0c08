"""pinlet's configuration, in the kubelet's own vocabulary.

pinlet reads the node's real ``KubeletConfiguration`` file (``kubelet.config.k8s.io/v1beta1``)
so that it makes its decisions from exactly the settings the kubelet would have used. Only the
resource-manager fields are read; the dozens of other fields a kubelet config carries
(``authentication``, ``evictionHard``, ``clusterDNS``, ...) are ignored.

Two sets of defaults exist, on purpose:

* a field **missing from a kubelet config file** takes the kubelet's v1beta1 default
  (``cpuManagerPolicy: none``, ``topologyManagerPolicy: none``, ``memoryManagerPolicy: None``),
  because that is what the kubelet on that node runs with;
* :class:`Config` itself and :func:`default_config` carry pinlet's embedded defaults (static
  CPU policy with the first core reserved, topology manager ``best-effort``), for running
  without a kubelet config.

Parsing checks shapes and types and names the field path in every error
(``cpuManagerPolicyOptions.full-pcpus-only: must be a string``). :func:`validate` checks the
values against each other and against the machine, once at start, with the kubelet's error
texts where it has them.

Where the kubelet is lax we are a little friendlier or stricter, and say so:

* the options maps (``cpuManagerPolicyOptions``, ``topologyManagerPolicyOptions``) are
  ``map[string]string`` in Go, so the kubelet refuses an unquoted ``full-pcpus-only: true``;
  users write it anyway, so YAML booleans and integers are accepted and converted to their Go
  string form (``"true"``, ``"8"``);
* likewise a bare number is accepted where a quantity is expected (``cpu: 1``);
* a field name that differs from a known one only by case (``CPUManagerPolicy``) is refused:
  Go's lenient JSON decoding would apply it, so ignoring it would make pinlet and the kubelet
  disagree silently.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypedDict, Unpack

import yaml

from .cpu_policy import (
    StaticPolicy,
    StaticPolicyOptions,
    parse_go_bool,
    parse_static_policy_options,
)
from .cpuset import CpuListError, CPUSet
from .errors import ConfigError
from .quantity import Quantity, QuantityError
from .topology import Topology

API_VERSION: Final = "kubelet.config.k8s.io/v1beta1"
KIND: Final = "KubeletConfiguration"

CPU_POLICIES: Final = ("none", "static")
TOPOLOGY_POLICIES: Final = ("none", "best-effort", "restricted", "single-numa-node")
TOPOLOGY_SCOPES: Final = ("container", "pod")
MEMORY_POLICIES: Final = ("None", "Static")

# Feature gates pinlet looks at, with their defaults in Kubernetes v1.36.
DEFAULT_GATES: Final[Mapping[str, bool]] = MappingProxyType(
    {
        "CPUManagerPolicyAlphaOptions": False,
        "CPUManagerPolicyBetaOptions": True,
        "TopologyManagerPolicyAlphaOptions": False,
        "TopologyManagerPolicyBetaOptions": True,
        "PodLevelResources": True,
        "PodLevelResourceManagers": False,
        "MemoryManager": True,
    }
)

PREFER_CLOSEST_NUMA_NODES: Final = "prefer-closest-numa-nodes"
MAX_ALLOWABLE_NUMA_NODES: Final = "max-allowable-numa-nodes"
DEFAULT_MAX_ALLOWABLE_NUMA_NODES: Final = 8
# Both topology manager options are GA (KEP-3545 in v1.32, KEP-4622 in v1.35); the alpha and
# beta sets are kept so that a future option slots in with its gate.
TOPOLOGY_ALPHA_OPTIONS: Final = frozenset[str]()
TOPOLOGY_BETA_OPTIONS: Final = frozenset[str]()
TOPOLOGY_STABLE_OPTIONS: Final = frozenset({PREFER_CLOSEST_NUMA_NODES, MAX_ALLOWABLE_NUMA_NODES})

# The kubelet's parseResourceList accepts only these keys in kubeReserved / systemReserved.
_RESERVABLE: Final = ("cpu", "memory", "ephemeral-storage", "pid")

_INT64_MAX: Final = (1 << 63) - 1


@dataclass(frozen=True)
class ReservedMemory:
    """One ``reservedMemory`` entry: memory set aside for the system on one NUMA node."""

    numa_node: int
    """The NUMA node id (``numaNode``)."""
    limits: Mapping[str, Quantity] = field(default_factory=lambda: MappingProxyType({}))
    """Resource name (``memory``, ``hugepages-2Mi``, ...) → amount reserved on that node."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits)))


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Config:
    """The settings of the kubelet's CPU, memory and topology managers, frozen."""

    cpu_manager_policy: str = "static"
    """``cpuManagerPolicy``: ``none`` or ``static`` (case-sensitive, as in the kubelet)."""
    cpu_manager_policy_options: Mapping[str, str] = field(default_factory=_empty)
    """``cpuManagerPolicyOptions``: option name → Go string value (``"true"``)."""
    reserved_system_cpus: CPUSet | None = None
    """``reservedSystemCPUs``: an explicit reserved set; overrides the reserved cpu amounts."""
    kube_reserved_cpu: Quantity | None = None
    """``kubeReserved.cpu``."""
    system_reserved_cpu: Quantity | None = None
    """``systemReserved.cpu``."""
    kube_reserved_memory: Quantity | None = None
    """``kubeReserved.memory`` (kept for the memory manager's node-allocatable checks)."""
    system_reserved_memory: Quantity | None = None
    """``systemReserved.memory``."""
    topology_manager_policy: str = "best-effort"
    """``topologyManagerPolicy``: none, best-effort, restricted or single-numa-node."""
    topology_manager_scope: str = "container"
    """``topologyManagerScope``: container or pod."""
    topology_manager_policy_options: Mapping[str, str] = field(default_factory=_empty)
    """``topologyManagerPolicyOptions``: option name → Go string value."""
    memory_manager_policy: str = "None"
    """``memoryManagerPolicy``: ``None`` or ``Static`` (capitalised, as in the kubelet)."""
    reserved_memory: tuple[ReservedMemory, ...] = ()
    """``reservedMemory``: per-NUMA system reservations, required by the Static policy."""
    feature_gates: Mapping[str, bool] = field(default_factory=_empty)
    """``featureGates`` as given; :meth:`gate` adds the defaults."""
    cpu_manager_reconcile_period: float = 10.0
    cgroup_driver: str | None = None
    """``cgroupDriver``: ``cgroupfs`` or ``systemd``; None when the file does not say (pinlet
    then detects it from what exists under the cgroup root)."""
    """``cpuManagerReconcilePeriod`` in seconds (Go duration ``"10s"`` in the file)."""

    def __post_init__(self) -> None:
        # Freeze the mappings so a Config can be shared between threads without copies.
        for name in ("cpu_manager_policy_options", "topology_manager_policy_options"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "feature_gates", MappingProxyType(dict(self.feature_gates)))
        object.__setattr__(self, "reserved_memory", tuple(self.reserved_memory))

    def gate(self, name: str) -> bool:
        """The feature gate's value: as configured, else the v1.36 default, else off."""
        if name in self.feature_gates:
            return self.feature_gates[name]
        return DEFAULT_GATES.get(name, False)

    def num_reserved_cpus(self) -> int:
        """How many CPUs the static policy reserves.

        ``reservedSystemCPUs`` wins when set (the kubelet replaces the reserved cpu amounts by
        its size); otherwise ceil(kubeReserved.cpu + systemReserved.cpu), in milli-CPUs as
        the kubelet computes it.
        """
        if self.reserved_system_cpus:
            return len(self.reserved_system_cpus)
        milli = sum(
            q.milli_value() for q in (self.kube_reserved_cpu, self.system_reserved_cpu) if q
        )
        return math.ceil(Fraction(milli, 1000))

    def cpu_policy_options(self) -> StaticPolicyOptions:
        """The parsed ``cpuManagerPolicyOptions``, gated as the kubelet gates them."""
        return parse_static_policy_options(
            self.cpu_manager_policy_options,
            alpha_options=self.gate("CPUManagerPolicyAlphaOptions"),
            beta_options=self.gate("CPUManagerPolicyBetaOptions"),
        )

    def topology_options(self) -> TopologyManagerPolicyOptions:
        """The parsed ``topologyManagerPolicyOptions``."""
        return parse_topology_manager_policy_options(
            self.topology_manager_policy_options,
            alpha_options=self.gate("TopologyManagerPolicyAlphaOptions"),
            beta_options=self.gate("TopologyManagerPolicyBetaOptions"),
        )


# -- topology manager options ------------------------------------------------------------------


@dataclass(frozen=True)
class TopologyManagerPolicyOptions:
    """The parsed ``topologyManagerPolicyOptions`` (the kubelet's ``PolicyOptions``)."""

    prefer_closest_numa: bool = False
    """Break ties between equally wide masks by NUMA distance."""
    max_allowable_numa_nodes: int = DEFAULT_MAX_ALLOWABLE_NUMA_NODES
    """Machines with more NUMA nodes are refused unless the policy is ``none``."""


_GO_INT: Final = re.compile(r"[+-]?[0-9]+")


def parse_go_int(value: str) -> int:
    """``strconv.Atoi``: an optional sign and ASCII digits that fit an int64."""
    if not _GO_INT.fullmatch(value):
        raise ValueError(f'strconv.Atoi: parsing "{value}": invalid syntax')
    number = int(value)
    if not -_INT64_MAX - 1 <= number <= _INT64_MAX:
        raise ValueError(f'strconv.Atoi: parsing "{value}": value out of range')
    return number


def parse_topology_manager_policy_options(
    raw: Mapping[str, str], *, alpha_options: bool = False, beta_options: bool = True
) -> TopologyManagerPolicyOptions:
    """``NewPolicyOptions`` of the topology manager, with its error texts."""
    field_name = "topologyManagerPolicyOptions"
    prefer_closest = False
    max_nodes = DEFAULT_MAX_ALLOWABLE_NUMA_NODES
    for name in sorted(raw):  # Go iterates a map; sorting makes the first error stable
        value = raw[name]
        known = TOPOLOGY_ALPHA_OPTIONS | TOPOLOGY_BETA_OPTIONS | TOPOLOGY_STABLE_OPTIONS
        if name not in known:
            raise ConfigError(field_name, f'unknown Topology Manager Policy option: "{name}"')
        if name in TOPOLOGY_ALPHA_OPTIONS and not alpha_options:
            raise ConfigError(
                field_name,
                "topology manager policy alpha-level options not enabled, "
                f'but option "{name}" provided',
            )
        if name in TOPOLOGY_BETA_OPTIONS and not beta_options:
            raise ConfigError(
                field_name,
                "topology manager policy beta-level options not enabled, "
                f'but option "{name}" provided',
            )
        if name == PREFER_CLOSEST_NUMA_NODES:
            try:
                prefer_closest = parse_go_bool(value)
            except ValueError as exc:
                raise ConfigError(
                    f"{field_name}.{name}", f'bad value for option "{name}": {exc}'
                ) from None
        else:
            try:
                max_nodes = parse_go_int(value)
            except ValueError as exc:
                raise ConfigError(
                    f"{field_name}.{name}",
                    f'unable to convert policy option to integer "{name}": {exc}',
                ) from None
            if max_nodes < DEFAULT_MAX_ALLOWABLE_NUMA_NODES:
                raise ConfigError(
                    f"{field_name}.{name}",
                    f'the minimum value of "{name}" should not be less than '
                    f"{DEFAULT_MAX_ALLOWABLE_NUMA_NODES}",
                )
    return TopologyManagerPolicyOptions(
        prefer_closest_numa=prefer_closest, max_allowable_numa_nodes=max_nodes
    )


# -- Go durations ------------------------------------------------------------------------------

_DURATION_UNITS: Final = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART: Final = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?P<unit>[^0-9.]*)")


def parse_go_duration(text: str) -> int:
    """``time.ParseDuration``: nanoseconds from ``"10s"``, ``"1m30s"``, ``"1.5h"``, ``"0"``."""
    quoted = f'"{text}"'
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"time: invalid duration {quoted}")
    total = Fraction(0)
    while rest:
        match = _DURATION_PART.match(rest)
        if match is None or match.end() == 0 or (not match["int"] and not match["frac"]):
            raise ValueError(f"time: invalid duration {quoted}")
        unit = match["unit"]
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration {quoted}')
        number = Fraction(f"{match['int'] or '0'}.{match['frac'] or '0'}")
        total += number * _DURATION_UNITS[unit]
        rest = rest[match.end() :]
    # Go truncates the fractional nanoseconds and refuses what does not fit an int64.
    nanos = math.floor(total)
    if nanos > _INT64_MAX + (1 if negative else 0):
        raise ValueError(f"time: invalid duration {quoted}")
    return -nanos if negative else nanos


# -- parsing -----------------------------------------------------------------------------------


class _Reader:
    """Typed access to the parsed YAML; every failure names the field path and the source."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, message: str) -> ConfigError:
        return ConfigError(path, f"{message} (in {self.source})")

    def mapping(self, path: str, value: object) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.error(path, "must be a mapping")
        for key in value:
            if not isinstance(key, str):
                raise self.error(f"{path}.{key}" if path else str(key), "keys must be strings")
        return dict(value)

    def string(self, path: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.error(path, "must be a string")
        return value

    def go_string(self, path: str, value: object) -> str:
        """A ``map[string]string`` value; YAML booleans and integers become Go's spelling."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return self.string(path, value)

    def string_map(self, path: str, value: object) -> dict[str, str]:
        return {k: self.go_string(f"{path}.{k}", v) for k, v in self.mapping(path, value).items()}

    def quantity(self, path: str, value: object) -> Quantity:
        # resource.Quantity also unmarshals bare JSON numbers; YAML floats print as Go would
        # parse them ("0.5", "1e-05").
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.error(path, "must be a quantity such as 500m or 1Gi")
        try:
            return Quantity.parse(value)
        except QuantityError as exc:
            raise self.error(path, str(exc)) from None

    def integer(self, path: str, value: object) -> int:
        # bool is an int in Python, and YAML reads yes/no/true as booleans: refuse them.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(path, "must be an integer")
        return value


_FIELDS: Final = (
    "apiVersion",
    "kind",
    "cpuManagerPolicy",
    "cpuManagerPolicyOptions",
    "reservedSystemCPUs",
    "kubeReserved",
    "systemReserved",
    "topologyManagerPolicy",
    "topologyManagerScope",
    "topologyManagerPolicyOptions",
    "memoryManagerPolicy",
    "reservedMemory",
    "featureGates",
    "cpuManagerReconcilePeriod",
    "cgroupDriver",
)
_FIELDS_BY_FOLDED: Final = {name.lower(): name for name in _FIELDS}


def load_kubelet_config(path: str | os.PathLike[str]) -> Config:
    """Read a ``KubeletConfiguration`` YAML (or JSON) file."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("", f"{source}: is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError("", f"{source}: cannot be read: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{source}: is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError("", f"{source}: a {KIND} file is a mapping with apiVersion and kind")
    return parse_kubelet_config(doc, source)


def parse_kubelet_config(doc: Mapping[str, Any], source: str = "<config>") -> Config:
    """Build a :class:`Config` from a parsed ``KubeletConfiguration`` document.

    Missing fields take the kubelet's v1beta1 defaults; unknown fields are ignored; a
    ``null`` value counts as missing, as it does for Go's JSON decoder.
    """
    r = _Reader(source)
    top = r.mapping("", doc)
    for key in top:
        exact = _FIELDS_BY_FOLDED.get(key.lower())
        if exact is not None and exact != key:
            raise r.error(key, f"field names are case-sensitive: write {exact}")
    for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
        if top.get(key) != expected:
            got = "missing" if top.get(key) is None else f"is {top[key]!r}"
            raise r.error(key, f'{got}; a kubelet config file has {key}: "{expected}"')

    cfg: dict[str, Any] = {
        # The kubelet's defaults for a file that does not mention the field.
        "cpu_manager_policy": "none",
        "topology_manager_policy": "none",
        "topology_manager_scope": "container",
        "memory_manager_policy": "None",
    }
    for key, attr in (
        ("cpuManagerPolicy", "cpu_manager_policy"),
        ("topologyManagerPolicy", "topology_manager_policy"),
        ("topologyManagerScope", "topology_manager_scope"),
        ("memoryManagerPolicy", "memory_manager_policy"),
    ):
        if top.get(key) is not None:
            cfg[attr] = r.string(key, top.get(key))
    for key, attr in (
        ("cpuManagerPolicyOptions", "cpu_manager_policy_options"),
        ("topologyManagerPolicyOptions", "topology_manager_policy_options"),
    ):
        if top.get(key) is not None:
            cfg[attr] = r.string_map(key, top.get(key))

    cpus = top.get("reservedSystemCPUs")
    if cpus is not None:
        # An unquoted single CPU ("reservedSystemCPUs: 0") arrives as an integer.
        text = r.go_string("reservedSystemCPUs", cpus)
        try:
            reserved = CPUSet.parse(text)
        except CpuListError as exc:
            raise r.error(
                "reservedSystemCPUs", f"unable to parse reserved-cpus list: {exc}"
            ) from None
        # The kubelet treats "" as "not set".
        cfg["reserved_system_cpus"] = reserved or None

    for key, prefix in (("kubeReserved", "kube_reserved"), ("systemReserved", "system_reserved")):
        if top.get(key) is None:
            continue
        amounts = _resource_list(r, key, top.get(key))
        cfg[f"{prefix}_cpu"] = amounts.get("cpu")
        cfg[f"{prefix}_memory"] = amounts.get("memory")

    if top.get("reservedMemory") is not None:
        cfg["reserved_memory"] = _reserved_memory(r, top.get("reservedMemory"))

    if top.get("featureGates") is not None:
        gates: dict[str, bool] = {}
        for name, value in r.mapping("featureGates", top.get("featureGates")).items():
            if not isinstance(value, bool):
                raise r.error(f"featureGates.{name}", "must be a boolean (true or false)")
            gates[name] = value
        cfg["feature_gates"] = gates

    period = top.get("cpuManagerReconcilePeriod")
    if period is not None:
        if not isinstance(period, str):
            raise r.error("cpuManagerReconcilePeriod", 'must be a Go duration string such as "10s"')
        try:
            cfg["cpu_manager_reconcile_period"] = parse_go_duration(period) / 1e9
        except ValueError as exc:
            raise r.error("cpuManagerReconcilePeriod", str(exc)) from None
    driver = top.get("cgroupDriver")
    if driver is not None:
        if driver not in ("cgroupfs", "systemd"):
            raise r.error("cgroupDriver", f'must be "cgroupfs" or "systemd", not {driver!r}')
        cfg["cgroup_driver"] = driver
    return Config(**cfg)


def _resource_list(r: _Reader, key: str, value: object) -> dict[str, Quantity]:
    """``kubeReserved`` / ``systemReserved``, checked as the kubelet's parseResourceList does."""
    amounts: dict[str, Quantity] = {}
    for name, raw in r.mapping(key, value).items():
        path = f"{key}.{name}"
        if name not in _RESERVABLE:
            raise r.error(path, f'cannot reserve "{name}" resource')
        amount = r.quantity(path, raw)
        if amount < Quantity():
            raise r.error(path, f'resource quantity for "{name}" cannot be negative: {raw}')
        amounts[name] = amount
    return amounts


def _reserved_memory(r: _Reader, value: object) -> tuple[ReservedMemory, ...]:
    if not isinstance(value, list):
        raise r.error("reservedMemory", "must be a list")
    out = []
    for i, item in enumerate(value):
        path = f"reservedMemory[{i}]"
        body = r.mapping(path, item)
        if body.get("numaNode") is None:
            raise r.error(f"{path}.numaNode", "missing")
        node = r.integer(f"{path}.numaNode", body["numaNode"])
        limits: dict[str, Quantity] = {}
        if body.get("limits") is not None:
            for name, raw in r.mapping(f"{path}.limits", body["limits"]).items():
                limits[name] = r.quantity(f"{path}.limits.{name}", raw)
        out.append(ReservedMemory(numa_node=node, limits=limits))
    return tuple(out)


# -- overrides and defaults --------------------------------------------------------------------


class ConfigFlags(TypedDict, total=False):
    """Command-line values that override the file; ``None`` means "flag not given"."""

    cpu_manager_policy: str | None
    cpu_manager_policy_options: Mapping[str, str] | None
    reserved_system_cpus: CPUSet | None
    kube_reserved_cpu: Quantity | None
    system_reserved_cpu: Quantity | None
    kube_reserved_memory: Quantity | None
    system_reserved_memory: Quantity | None
    topology_manager_policy: str | None
    topology_manager_scope: str | None
    topology_manager_policy_options: Mapping[str, str] | None
    memory_manager_policy: str | None
    reserved_memory: tuple[ReservedMemory, ...] | None
    feature_gates: Mapping[str, bool] | None
    cpu_manager_reconcile_period: float | None


def with_overrides(config: Config, **flags: Unpack[ConfigFlags]) -> Config:
    """``config`` with every flag that was given (not ``None``) replacing the file's value.

    Flags win over the file, as kubelet command-line flags win over its config file.
    """
    given: dict[str, Any] = {name: value for name, value in flags.items() if value is not None}
    return dataclasses.replace(config, **given)


def default_config(topology: Topology) -> Config:
    """pinlet's embedded configuration for ``topology``: static CPU policy, first core reserved.

    The reserved core is the one holding the lowest CPU id, all its threads, which is what the
    kubelet's own allocator would pick for a reservation of one core.
    """
    first_core = topology.siblings([topology.cpus.min()])
    return Config(
        cpu_manager_policy="static",
        reserved_system_cpus=first_core,
        topology_manager_policy="best-effort",
        topology_manager_scope="container",
        memory_manager_policy="None",
    )


# -- validation --------------------------------------------------------------------------------


def validate(config: Config, topology: Topology) -> None:
    """Refuse a configuration the kubelet would refuse on this machine.

    Run once at start. Checks follow the kubelet's start-up order where it matters for which
    error comes first: field names, then the reserved CPUs, then the topology manager, the CPU
    manager and the memory manager.
    """
    _validate_names(config)
    _validate_reserved_cpus(config, topology)
    topology_options = config.topology_options()
    # NewManager counts every NUMA node cAdvisor reports, memory-only ones included.
    num_nodes = len(topology.numa_nodes)
    if (
        config.topology_manager_policy != "none"
        and num_nodes > topology_options.max_allowable_numa_nodes
    ):
        raise ConfigError(
            "topologyManagerPolicy",
            "unsupported on machines with more than "
            f"{topology_options.max_allowable_numa_nodes} NUMA Nodes",
        )
    _validate_cpu_manager(config, topology)
    _validate_memory_manager(config, topology)
    if config.cpu_manager_reconcile_period <= 0:
        # The kubelet would spin its reconcile loop without pause; nobody means that.
        raise ConfigError("cpuManagerReconcilePeriod", "must be greater than zero")


def _validate_names(config: Config) -> None:
    for field_name, value, known in (
        ("cpuManagerPolicy", config.cpu_manager_policy, CPU_POLICIES),
        ("topologyManagerPolicy", config.topology_manager_policy, TOPOLOGY_POLICIES),
        ("memoryManagerPolicy", config.memory_manager_policy, MEMORY_POLICIES),
    ):
        if value not in known:
            raise ConfigError(field_name, f'unknown policy: "{value}"')
    if config.topology_manager_scope not in TOPOLOGY_SCOPES:
        raise ConfigError(
            "topologyManagerScope", f'unknown scope: "{config.topology_manager_scope}"'
        )


def _validate_reserved_cpus(config: Config, topology: Topology) -> None:
    reserved = config.reserved_system_cpus
    if reserved and not reserved.issubset(topology.cpus):
        raise ConfigError(
            "reservedSystemCPUs",
            f"reserved-cpus: {reserved} is not a subset of online-cpus: {topology.cpus}",
        )
    for field_name, amount in (
        ("kubeReserved.cpu", config.kube_reserved_cpu),
        ("systemReserved.cpu", config.system_reserved_cpu),
    ):
        if amount is not None and amount < Quantity():
            raise ConfigError(
                field_name, f'resource quantity for "cpu" cannot be negative: {amount}'
            )


def _validate_cpu_manager(config: Config, topology: Topology) -> None:
    if config.cpu_manager_policy == "none":
        if config.cpu_manager_policy_options:
            # NewNonePolicy refuses any option rather than ignoring it.
            raise ConfigError(
                "cpuManagerPolicyOptions", "None policy: cannot apply cpu policy options"
            )
        return
    num_reserved = config.num_reserved_cpus()
    if num_reserved == 0:
        raise ConfigError(
            "kubeReserved",
            "the static policy requires systemreserved.cpu + kubereserved.cpu "
            "to be greater than zero",
        )
    # Building the policy runs the remaining kubelet checks: option compatibility with the
    # topology manager policy and the machine, and that the reservation can be carved out.
    StaticPolicy(
        topology,
        num_reserved=num_reserved,
        reserved_cpus=config.reserved_system_cpus or CPUSet(),
        options=config.cpu_policy_options(),
        topology_manager_policy=config.topology_manager_policy,
        pod_level_resources=config.gate("PodLevelResources"),
    )


def _validate_memory_manager(config: Config, topology: Topology) -> None:
    # The kubelet's validateReservedMemoryConfiguration runs whatever the policy.
    seen: set[tuple[int, str]] = set()
    for i, entry in enumerate(config.reserved_memory):
        for name, amount in entry.limits.items():
            path = f"reservedMemory[{i}].limits.{name}"
            if name != "memory" and not name.startswith("hugepages-"):
                raise ConfigError(
                    path,
                    f'the limit type "{name}" for NUMA node {entry.numa_node} is not '
                    "supported, only [memory hugepages-<HugePageSize>] is accepted",
                )
            if amount.is_zero():
                raise ConfigError(
                    path,
                    f"reserved memory may not be zero for NUMA node {entry.numa_node} "
                    f'and resource "{name}"',
                )
            if amount < Quantity():
                raise ConfigError(path, "reserved memory may not be negative")
            if (entry.numa_node, name) in seen:
                raise ConfigError(
                    path,
                    "the reserved memory has a duplicate value for NUMA node "
                    f'{entry.numa_node} and resource "{name}"',
                )
            seen.add((entry.numa_node, name))
    if config.memory_manager_policy != "Static":
        return
    nodes = topology.all_numa_ids()
    for i, entry in enumerate(config.reserved_memory):
        if entry.numa_node not in nodes:
            raise ConfigError(
                f"reservedMemory[{i}].numaNode",
                f"NUMA node {entry.numa_node} does not exist on this machine (NUMA nodes: {nodes})",
            )
    total = sum(
        (e.limits["memory"] for e in config.reserved_memory if "memory" in e.limits), Quantity()
    )
    if total.is_zero():
        raise ConfigError(
            "reservedMemory", "[memorymanager] you should specify the system reserved memory"
        )
