"""The values the client sends and receives, as plain frozen Python objects.

They mirror the v1alpha1 messages one for one, with Python types in place of protobuf ones:
NUMA node sets are ``frozenset[int]`` (``None`` where the API means "no NUMA preference"),
id lists are tuples, enums are the lower-case words the CLI and the docs use (``"app"``,
``"node-exclusive"``). CPU sets meant for cgroup files stay Linux cpulist strings
(``"2-4,18-20"``), exactly as the service returns them, so they can be written unchanged.

Converting to and from the protobuf messages is :mod:`pinlet.client._convert`'s job; nothing
here imports the generated code, so these types can be used (and compared, and built in tests)
without a channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

KIND_INIT: Final = "init"
KIND_SIDECAR: Final = "sidecar"
KIND_APP: Final = "app"

ISOLATION_SHARED: Final = "node-shared"
ISOLATION_EXCLUSIVE: Final = "node-exclusive"


def _frozen_map(items: Mapping[str, str]) -> Mapping[str, str]:
    # A read-only copy, so a caller mutating its dict later cannot change a "frozen" spec.
    return MappingProxyType(dict(items))


@dataclass(frozen=True)
class ResourceRequirements:
    """A container's (or the pod's) requests and limits, quantities kept as strings."""

    requests: Mapping[str, str] = field(default_factory=dict)
    """Resource name (``cpu``, ``memory``, ``hugepages-2Mi`` …) → quantity (``"500m"``)."""
    limits: Mapping[str, str] = field(default_factory=dict)
    """Resource name → quantity."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "requests", _frozen_map(self.requests))
        object.__setattr__(self, "limits", _frozen_map(self.limits))


@dataclass(frozen=True)
class ContainerSpec:
    """One init or app container as the kubelet admits it."""

    name: str
    resources: ResourceRequirements = field(default_factory=ResourceRequirements)
    restart_policy: str = ""
    """``"Always"`` on an init container makes it a sidecar; empty otherwise."""


@dataclass(frozen=True)
class PodSpec:
    """A pod as the kubelet admits it: identity, containers and pod-level resources."""

    uid: str
    name: str
    namespace: str
    containers: tuple[ContainerSpec, ...]
    init_containers: tuple[ContainerSpec, ...] = ()
    """``spec.initContainers`` in order, sidecars included."""
    resources: ResourceRequirements | None = None
    """Pod-level ``spec.resources``; ``None`` when the pod has none."""

    def __post_init__(self) -> None:
        # Accept any iterable (a list is the natural thing to write) but store a tuple.
        object.__setattr__(self, "containers", tuple(self.containers))
        object.__setattr__(self, "init_containers", tuple(self.init_containers))


@dataclass(frozen=True)
class TopologyHint:
    """One NUMA placement a resource can live with."""

    numa_nodes: frozenset[int] | None
    """The NUMA node ids; ``None`` means "no NUMA preference"."""
    preferred: bool

    def __str__(self) -> str:
        nodes = "any" if self.numa_nodes is None else _node_text(self.numa_nodes)
        return f"{nodes} preferred" if self.preferred else nodes


@dataclass(frozen=True)
class ResourceHints:
    """One provider's hints for one resource."""

    resource: str
    hints: tuple[TopologyHint, ...] | None
    """``None`` when the provider does not care where the resource goes; an empty tuple when
    the request cannot be satisfied anywhere."""

    @property
    def no_preference(self) -> bool:
        return self.hints is None


@dataclass(frozen=True)
class ProviderHints:
    """The hints of a provider pinlet does not own (the kubelet's device manager for a GPU or a
    NIC), passed to :meth:`~pinlet.client.PinletClient.allocate` and
    :meth:`~pinlet.client.PinletClient.get_topology_hints` to be merged with pinlet's own CPU
    and memory hints."""

    provider: str
    """Names the provider, for the service's logs (``"devicemanager"``)."""
    container_name: str = ""
    """The container the hints are for (container scope); empty for the whole pod (pod scope)."""
    resources: Mapping[str, tuple[TopologyHint, ...] | None] = field(default_factory=dict)
    """Resource name → hints; ``None`` for "no preference", an empty tuple for "cannot be
    satisfied anywhere". A provider with no resources has no preference at all."""

    def __post_init__(self) -> None:
        # Read-only, and tuples whatever sequence was passed, so the value is really frozen.
        object.__setattr__(
            self,
            "resources",
            MappingProxyType(
                {
                    name: None if hints is None else tuple(hints)
                    for name, hints in self.resources.items()
                }
            ),
        )


@dataclass(frozen=True)
class HintsResult:
    """Every provider's hints for a container (or pod) and the topology manager's merge."""

    hints: Mapping[str, tuple[TopologyHint, ...] | None]
    """Resource name → hints, ``None`` for "no preference" (see :class:`ResourceHints`)."""
    merged: TopologyHint
    admit: bool
    """Whether the configured topology manager policy would admit ``merged``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hints", MappingProxyType(dict(self.hints)))

    @property
    def resources(self) -> tuple[ResourceHints, ...]:
        """The hints as one :class:`ResourceHints` per resource, in the service's order."""
        return tuple(ResourceHints(name, hints) for name, hints in self.hints.items())


@dataclass(frozen=True)
class ContainerMemory:
    """One block of memory pinned to NUMA nodes by the Static memory manager."""

    memory_type: str
    """``"memory"`` or ``"hugepages-<size>"`` (``"hugepages-2Mi"``)."""
    size: int
    """Bytes."""
    numa_nodes: frozenset[int]
    """The NUMA nodes the block comes from."""


@dataclass(frozen=True)
class ContainerAssignment:
    """What one container gets: the values for its cgroup and why."""

    name: str
    kind: str
    """``"init"``, ``"sidecar"`` or ``"app"``."""
    cpuset_cpus: str
    """cpulist for ``cpuset.cpus``; for a shared container, the shared pool as of this answer."""
    cpuset_mems: str
    """cpulist of NUMA nodes for ``cpuset.mems``."""
    numa_affinity: frozenset[int] | None
    """The merged NUMA hint; ``None`` when the container has no NUMA preference."""
    exclusive: bool
    isolation: str
    """``"node-exclusive"``, ``"node-shared"``, ``"pod-exclusive"`` or ``"pod-shared"``
    (the last two: Pod-Level Resource Managers in pod scope)."""
    cpu_ids: tuple[int, ...] = ()
    """The exclusive CPUs, ascending; empty for a shared container."""
    container_id: str = ""
    """The runtime's container id once bound (``add_container``)."""
    cgroup_path: str = ""
    memory: tuple[ContainerMemory, ...] = ()
    """The container's pinned memory under the Static memory manager; empty otherwise."""
    cfs_quota_disabled: bool = False
    """True for containers with exclusive CPUs: their CFS quota should be lifted."""


@dataclass(frozen=True)
class PodAssignment:
    """What one admitted pod gets."""

    uid: str
    name: str
    namespace: str
    qos_class: str
    """``"Guaranteed"``, ``"Burstable"`` or ``"BestEffort"``, as pinlet derived it."""
    containers: tuple[ContainerAssignment, ...]
    """Init containers, then app containers, in pod order."""
    pod_cpuset: str = ""
    """Pod-Level Resource Managers, pod scope: the pod's CPU block (cpulist); else empty."""
    pod_shared_pool: str = ""
    """Pod-Level Resource Managers, pod scope: the block minus exclusive slices; else empty."""

    def container(self, name: str) -> ContainerAssignment:
        """The assignment of the container called ``name``; ``KeyError`` if there is none."""
        for c in self.containers:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class MemoryResource:
    """One memory resource of one NUMA node as the Static memory manager accounts for it, in
    bytes; ``free + reserved == allocatable``."""

    resource: str
    """``"memory"`` or ``"hugepages-<size>"``."""
    total: int
    """On the node (hugepages: pages times page size)."""
    system_reserved: int
    """Set aside for the system (``reservedMemory``)."""
    allocatable: int
    """What may be pinned to containers."""
    reserved: int
    """Pinned to containers now."""
    free: int


@dataclass(frozen=True)
class NUMANodeResources:
    """One NUMA node's share of the machine (CPU sets as cpulists)."""

    id: int
    cpus: str
    """The node's online CPUs."""
    allocatable_cpus: str
    """CPUs that may be given exclusively (``cpus`` minus reserved)."""
    free_cpus: str
    """Allocatable CPUs no container holds exclusively now."""
    exclusive_cpus: str
    """CPUs held exclusively by containers now."""
    memory_bytes: int
    hugepages: Mapping[int, int] = field(default_factory=dict)
    """Page size in bytes → pages configured on the node."""
    distances: tuple[int, ...] = ()
    """Distance to every node, in node id order (10 = local)."""
    memory: tuple[MemoryResource, ...] = ()
    """Per resource, in name order, under the Static memory manager; empty with policy None."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hugepages", MappingProxyType(dict(self.hugepages)))


@dataclass(frozen=True)
class Allocatable:
    """The machine as pinlet manages it."""

    cpu_ids: tuple[int, ...]
    """The allocatable CPUs (online minus reserved), ascending."""
    reserved_cpus: str
    shared_pool: str
    """The current shared (default) cpuset."""
    numa_nodes: tuple[NUMANodeResources, ...]
    """In id order, memory-only nodes included."""
    cpu_manager_policy: str
    topology_manager_policy: str
    topology_manager_scope: str
    memory_manager_policy: str = "None"
    """``"None"`` or ``"Static"``."""


@dataclass(frozen=True)
class RemoveResult:
    """What removing one container released."""

    removed: bool
    """False when pinlet did not know the container (already removed)."""
    released_cpus: str
    """CPUs that went back to the shared pool (cpulist; empty for none)."""


@dataclass(frozen=True)
class ReconcileResult:
    """What one reconcile pass found."""

    checked: int
    """Bound containers compared with their cgroup."""
    drifted: int
    """Containers whose cpuset differed and was rewritten."""
    vanished: tuple[str, ...]
    """``<pod uid>/<container>`` of containers whose cgroup was gone (removed from the state)."""
    errors: int
    """Cgroups that could not be read or written."""
    dry_run: bool
    """True when the service writes no cgroups."""


def _node_text(nodes: Iterable[int]) -> str:
    return "{" + ",".join(str(n) for n in sorted(nodes)) + "}"
