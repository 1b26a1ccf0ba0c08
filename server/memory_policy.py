"""The kubelet's Static memory manager policy (``memorymanager/policy_static.go``), pure.

Same skeleton as :mod:`pinlet.server.cpu_policy`: the policy owns no mutable state; every call
takes a frozen :class:`MemoryState` snapshot and returns a new one, so a failed call leaves
nothing half-done and the service decides when a state is checkpointed.

The state (kubelet-algorithms §2, §4) is the kubelet's ``memory_manager_state``:

* the **machine state**, one :class:`NUMANodeState` per NUMA node: how many memory blocks use
  the node (``numberOfAssignments``), the NUMA group it currently belongs to (``cells``, ``[id]``
  when alone) and one :class:`MemoryTable` per resource (``memory``, ``hugepages-<size>``) with
  ``free + reserved == allocatable``;
* the **assignments**: pod uid → container → one :class:`Block` per requested resource, the
  NUMA nodes it may use and its size.

A container's NUMA affinity is a *group* of nodes. Memory is carved from the group's nodes in
ascending order, filling one before spilling to the next, and the kernel is then free to move
pages inside the group; so a node serves either single-node allocations or exactly one
multi-node group, never both (the "single vs cross NUMA node allocation" rule), and free /
reserved amounts are only meaningful summed over a group.

Memory of finished regular init containers is reused by the containers after them: the
kubelet charges the machine only what exceeds it, and shrinks the init containers' blocks so
that the blocks of a pod always add up to what the pod holds (§5). pinlet derives the reusable
amount from the blocks in the state, which is what the kubelet's in-memory
``initContainersReusableMemory`` holds while one pod is admitted.

With the ``PodLevelResourceManagers`` gate (KEP-5526, alpha in v1.36, default off), a Guaranteed
pod with pod-level resources (``spec.resources``) is placed as a whole under the pod scope
(:meth:`StaticMemoryPolicy.allocate_pod`): the machine is charged the pod-level request once,
held by a **pod entry** (``podEntries``), and the containers' blocks are only accounting inside
that budget, all on the pod's one NUMA mask, so every container gets the same ``cpuset.mems``.
The pod entry goes back to the machine with the pod's last container. Under the container
scope only the pod's individually Guaranteed containers get blocks of their own (docs
pod-level-resource-managers.md §3.2, §3.3, §3.5, §3.6).

Where the kubelet would dereference a missing table (a hugepage size one node lacks) and panic,
pinlet reads zero; :meth:`StaticMemoryPolicy.default_machine_state` therefore lists every
hugepage size on every node, as the kernel does under ``/sys/devices/system/node``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final, Protocol

from .cpuset import CPUSet
from .errors import AllocationError, ConfigError, EmptyPodSharedPoolError, StateError
from .hints import TopologyHint, is_narrower, iterate_masks
from .pod import (
    MEMORY,
    Container,
    Pod,
    QOSClass,
    ResourceList,
    is_exclusive_eligible,
    is_hugepages,
    qos_class,
)
from .quantity import Quantity, QuantityFormat
from .topology import Topology

POLICY_NAME: Final = "Static"

_INT64_MAX: Final = (1 << 63) - 1

# The kubelet's error texts (policy_static.go), matched by operators and by tests.
NO_RESERVED_MEMORY: Final = "[memorymanager] you should specify the system reserved memory"
NOT_INT64: Final = "[memorymanager] failed to represent quantity as int64"
NO_DEFAULT_HINT: Final = (
    "[memorymanager] failed to get the default NUMA affinity, no NUMA nodes with enough memory "
    "is available"
)
NO_DEFAULT_PREFERRED_HINT: Final = "[memorymanager] failed to find the default preferred hint"
NO_EXTENSION: Final = (
    "[memorymanager] failed to find NUMA nodes to extend the current topology hint"
)
NO_EXTENDED_PREFERRED_HINT: Final = "[memorymanager] failed to find the extended preferred hint"
VIOLATES_NUMA_ALLOCATION: Final = "[memorymanager] preferred hint violates NUMA node allocation"
EMPTY_MACHINE_STATE: Final = (
    "[memorymanager] machine state can not be empty when it has memory assignments"
)
MACHINE_STATE_DIFFERS: Final = (
    "[memorymanager] the expected machine state is different from the real one"
)


class MemoryAllocationError(AllocationError):
    """The Static memory policy cannot place a container (an ``UnexpectedAdmissionError``)."""


# -- state ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryTable:
    """One resource on one NUMA node, in bytes (the kubelet's ``MemoryTable``)."""

    total: int
    """``total``: node memory (hugepages included) or pages x page size."""
    system_reserved: int
    """``systemReserved``: the node's ``reservedMemory`` for this resource."""
    allocatable: int
    """``allocatable`` = total - systemReserved (- all hugepages, for ``memory``)."""
    reserved: int
    """``reserved``: handed out to containers."""
    free: int
    """``free`` = allocatable - reserved."""


@dataclass(frozen=True)
class NUMANodeState:
    """One NUMA node of the machine state."""

    number_of_assignments: int
    """Blocks whose NUMA affinity contains this node (one per resource of a container)."""
    memory_map: Mapping[str, MemoryTable]
    """Resource name → its table on this node."""
    cells: tuple[int, ...]
    """The NUMA group the node serves: ``(id,)`` alone, or the nodes of a multi-node mask."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "memory_map", MappingProxyType(dict(self.memory_map)))
        object.__setattr__(self, "cells", tuple(self.cells))


@dataclass(frozen=True, slots=True)
class Block:
    """Memory of one resource given to one container (the kubelet's ``Block``)."""

    numa_affinity: tuple[int, ...]
    """The NUMA nodes the memory may come from, ascending."""
    type: str
    """``memory`` or ``hugepages-<size>``."""
    size: int
    """Bytes; an init container's block shrinks when later containers reuse its memory."""


Assignments = Mapping[str, Mapping[str, tuple[Block, ...]]]


def _freeze_assignments(assignments: Assignments) -> Assignments:
    # Inner mappings that are already frozen are shared, not copied (see cpu_policy._freeze).
    return MappingProxyType(
        {
            pod: (
                containers
                if isinstance(containers, MappingProxyType)
                else MappingProxyType({name: tuple(b) for name, b in containers.items()})
            )
            for pod, containers in assignments.items()
        }
    )


@dataclass(frozen=True)
class MemoryState:
    """A snapshot of the memory manager's state (what ``memory_manager_state`` holds)."""

    machine_state: Mapping[int, NUMANodeState]
    """NUMA node id → its state; empty before :meth:`StaticMemoryPolicy.start`."""
    assignments: Assignments = field(default_factory=lambda: MappingProxyType({}))
    """Pod uid → container name → its blocks."""
    pod_entries: Mapping[str, tuple[Block, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """KEP-5526 (pod scope): pod uid → the blocks of the pod's whole budget (``podEntries``).
    These, not the pod's container blocks, are what the machine state is charged."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "machine_state",
            MappingProxyType({n: self.machine_state[n] for n in sorted(self.machine_state)}),
        )
        object.__setattr__(self, "assignments", _freeze_assignments(self.assignments))
        object.__setattr__(
            self,
            "pod_entries",
            MappingProxyType({pod: tuple(b) for pod, b in self.pod_entries.items()}),
        )

    def blocks_of(self, pod_uid: str, container_name: str) -> tuple[Block, ...] | None:
        """The container's blocks, or None when it has none in the state."""
        return self.assignments.get(pod_uid, {}).get(container_name)


# -- a mutable working copy, for the length of one call --------------------------------------


@dataclass(slots=True)
class _Node:
    number_of_assignments: int
    cells: tuple[int, ...]
    tables: dict[str, MemoryTable]


def _thaw(machine_state: Mapping[int, NUMANodeState]) -> dict[int, _Node]:
    return {
        nid: _Node(s.number_of_assignments, s.cells, dict(s.memory_map))
        for nid, s in machine_state.items()
    }


def _freeze_machine(nodes: Mapping[int, _Node]) -> dict[int, NUMANodeState]:
    return {
        nid: NUMANodeState(n.number_of_assignments, MappingProxyType(n.tables), n.cells)
        for nid, n in nodes.items()
    }


def _carve(nodes: Mapping[int, _Node], mask: tuple[int, ...], resource: str, size: int) -> None:
    """``updateMachineState``: count the block on every mask node, carve ``size`` in id order."""
    for nid in mask:
        node = nodes[nid]
        # Every node of the mask joins the group, also those nothing is carved from.
        node.number_of_assignments += 1
        node.cells = mask
        table = node.tables.get(resource)
        if size == 0 or table is None or table.free == 0:
            continue
        take = min(size, table.free)
        node.tables[resource] = replace(
            table, reserved=table.reserved + take, free=table.free - take
        )
        size -= take


def _check_block(nodes: Mapping[int, _Node], block: Block, owner: str) -> None:
    """``validateState``'s checks of one block, node by node in the kubelet's order."""
    for nid in block.numa_affinity:
        if nid not in nodes:
            raise StateError(
                f"[memorymanager] ({owner}) the memory assignment uses the NUMA that does not exist"
            )
        if block.type not in nodes[nid].tables:
            raise StateError(
                f"[memorymanager] ({owner}) the memory assignment uses memory resource that "
                "does not exist"
            )


def _release(nodes: Mapping[int, _Node], block: Block) -> None:
    """RemoveContainer for one block: uncount it and give its size back node by node."""
    size = block.size
    for nid in block.numa_affinity:
        node = nodes[nid]
        node.number_of_assignments -= 1
        if node.number_of_assignments == 0:
            node.cells = (nid,)
        table = node.tables.get(block.type)
        if size == 0 or table is None or table.reserved == 0:
            continue
        # Released from whichever group node still holds reservations, lowest id first: the
        # kubelet does not remember which node a block was carved from.
        give = min(size, table.reserved)
        node.tables[block.type] = replace(
            table, reserved=table.reserved - give, free=table.free + give
        )
        size -= give


def hugepages_resource(page_size: int) -> str:
    """``HugePageResourceName``: ``hugepages-`` + the page size as a binary-SI quantity."""
    return f"hugepages-{Quantity(page_size, QuantityFormat.BINARY_SI)}"


def _as_int64(quantity: Quantity) -> int | None:
    # Quantity.AsInt64: only whole numbers inside int64.
    value = quantity.fraction
    if value.denominator != 1 or not -_INT64_MAX - 1 <= value.numerator <= _INT64_MAX:
        return None
    return value.numerator


def _mask_bits(mask: CPUSet) -> tuple[int, ...]:
    return mask.sorted()


def _find_best_hint(hints: Iterable[TopologyHint]) -> tuple[CPUSet, bool] | None:
    """``findBestHint``: preferred over not, then the narrowest (``IsNarrowerThan``).

    The mask and its preferred flag, or None without hints. Equal widths go to the smaller
    mask value, which is not always the first in IterateBitMasks order ({1,2} beats {0,3}).
    """
    best: tuple[CPUSet, bool] | None = None
    for hint in hints:
        if hint.affinity is None:
            continue  # own hints always have a mask
        if best is not None:
            mask, preferred = best
            if preferred and not hint.preferred:
                continue
            if preferred == hint.preferred and is_narrower(mask, hint.affinity):
                continue
        best = (hint.affinity, hint.preferred)
    return best


class _ReservedEntry(Protocol):
    """What :func:`reserved_memory_bytes` reads from ``config.ReservedMemory``."""

    @property
    def numa_node(self) -> int: ...

    @property
    def limits(self) -> Mapping[str, Quantity]: ...


def reserved_memory_bytes(entries: Iterable[_ReservedEntry]) -> dict[int, dict[str, int]]:
    """The ``reservedMemory`` entries as node → resource → bytes (``getSystemReservedMemory``)."""
    out: dict[int, dict[str, int]] = {}
    for entry in entries:
        for name, quantity in entry.limits.items():
            value = _as_int64(quantity)
            if value is None:
                raise ConfigError(
                    "reservedMemory", "could not covert a variable of type Quantity to int64"
                )
            out.setdefault(entry.numa_node, {})[name] = value
    return out


# -- the policy ----------------------------------------------------------------------------


# A row of the mask table: mask, position bits, lowest position, bits without it, and the
# mask's preferred and non-preferred hints.
_MaskRow = tuple[CPUSet, int, int, int, TopologyHint, TopologyHint]


class StaticMemoryPolicy:
    """The Static memory manager policy over one machine and one ``reservedMemory``."""

    name: Final = POLICY_NAME

    def __init__(
        self,
        topology: Topology,
        reserved_memory: Mapping[int, Mapping[str, int]],
        *,
        pod_level_resources: bool = True,
        pod_level_resource_managers: bool = False,
    ) -> None:
        """``pod_level_resources`` is the ``PodLevelResources`` feature gate (on since v1.34),
        ``pod_level_resource_managers`` the ``PodLevelResourceManagers`` gate (KEP-5526, alpha
        in v1.36, off by default; it has no effect while ``PodLevelResources`` is off, since
        ``spec.resources`` is then ignored altogether)."""
        self.topology = topology
        self.pod_level_resources = pod_level_resources
        self.pod_level_resource_managers = pod_level_resource_managers
        total_reserved = sum(r.get(MEMORY, 0) for r in reserved_memory.values())
        if total_reserved <= 0:
            # NewPolicyStatic: without a system reservation the whole node would be handed
            # out exclusively and the system daemons would have nowhere to run.
            raise ConfigError("reservedMemory", NO_RESERVED_MEMORY)
        known = topology.all_numa_ids()
        for nid in reserved_memory:
            if nid not in known:
                raise ConfigError(
                    "reservedMemory",
                    f"NUMA node {nid} does not exist on this machine (NUMA nodes: {known})",
                )
        self.reserved_memory: Mapping[int, Mapping[str, int]] = MappingProxyType(
            {n: MappingProxyType(dict(r)) for n, r in reserved_memory.items()}
        )
        self._default = MappingProxyType(self._build_default_machine_state())
        self._mask_tables: dict[tuple[int, ...], list[_MaskRow]] = {}
        self._sum_cache: dict[tuple[int, ...], list[int]] = {}

    def _sums(self, table: list[_MaskRow], at: tuple[int, ...]) -> list[int]:
        """Per-mask sums of per-node amounts ``at``, built incrementally: a mask's sum is the
        sum of the mask without its lowest node (enumerated earlier, being narrower) plus that
        node's amount. Cached: allocatable amounts never change, and free ones repeat."""
        cached = self._sum_cache.get(at)
        if cached is not None:
            return cached
        sums = [0] * (1 << len(at))
        for _, bits, low, rest, _, _ in table:
            sums[bits] = sums[rest] + at[low]
        if len(self._sum_cache) > 64:
            self._sum_cache.clear()
        self._sum_cache[at] = sums
        return sums

    def _mask_table(self, node_ids: tuple[int, ...]) -> list[_MaskRow]:
        """Every mask over ``node_ids`` in IterateBitMasks order, with its position bits, its
        lowest position, its bits without that position and its two possible hints; built
        once per node list (on 16 nodes a call returns 65535 hints)."""
        table = self._mask_tables.get(node_ids)
        if table is None:
            pos = {n: i for i, n in enumerate(node_ids)}
            table = []
            for m in iterate_masks(node_ids):
                bits = sum(1 << pos[n] for n in m)
                table.append(
                    (
                        m,
                        bits,
                        (bits & -bits).bit_length() - 1,
                        bits & (bits - 1),
                        TopologyHint(m, preferred=True),
                        TopologyHint(m, preferred=False),
                    )
                )
            self._mask_tables[node_ids] = table
        return table

    def _system_reserved(self, nid: int, resource: str) -> int:
        return self.reserved_memory.get(nid, {}).get(resource, 0)

    def _build_default_machine_state(self) -> dict[int, NUMANodeState]:
        # Every hugepage size on every node: the kernel lists each supported size under each
        # node (0 pages where none are configured), and the kubelet would panic on a missing
        # table. A machine description that leaves a size out of a node means 0 pages there.
        sizes = sorted({size for n in self.topology.numa_nodes for size in n.hugepages})
        machine: dict[int, NUMANodeState] = {}
        for node in self.topology.numa_nodes:
            tables: dict[str, MemoryTable] = {}
            hugepages_bytes = 0
            for size in sizes:
                resource = hugepages_resource(size)
                total = node.hugepages.get(size, 0) * size
                tables[resource] = self._table(node.id, resource, total, total)
                hugepages_bytes += total
            # Memory held by hugepages is counted in MemTotal but cannot be handed out as
            # regular memory.
            tables[MEMORY] = self._table(
                node.id, MEMORY, node.memory, node.memory - hugepages_bytes
            )
            machine[node.id] = NUMANodeState(0, tables, (node.id,))
        return machine

    def _table(self, nid: int, resource: str, total: int, usable: int) -> MemoryTable:
        reserved = self._system_reserved(nid, resource)
        allocatable = usable - reserved
        if allocatable < 0:
            # The kubelet computes this in uint64 and would wrap to an absurd allocatable;
            # refusing the configuration is the only useful reading.
            raise ConfigError(
                "reservedMemory",
                f"NUMA node {nid} has {usable} bytes of {resource} to reserve from, "
                f"less than the {reserved} bytes reserved",
            )
        return MemoryTable(
            total=total,
            system_reserved=reserved,
            allocatable=allocatable,
            reserved=0,
            free=allocatable,
        )

    def default_machine_state(self) -> Mapping[int, NUMANodeState]:
        """``getDefaultMachineState``: nothing handed out, every node its own group."""
        return self._default

    # -- start ---------------------------------------------------------------------------------

    def start(self, state: MemoryState | None = None) -> MemoryState:
        """``validateState``: a fresh state, or the restored one if replaying it agrees."""
        if state is None or not state.machine_state:
            if state is not None and (state.assignments or state.pod_entries):
                raise StateError(EMPTY_MACHINE_STATE)
            return MemoryState(machine_state=self._default)

        expected = _thaw(self._default)
        # A pod-scope pod-level pod charged the machine its pod entry, once; its containers'
        # blocks are accounting inside that budget and are checked but not replayed.
        for pod_uid, blocks in state.pod_entries.items():
            for b in blocks:
                _check_block(expected, b, f"pod: {pod_uid}")
                _carve(expected, tuple(b.numa_affinity), b.type, b.size)
        for pod_uid, containers in state.assignments.items():
            for name, blocks in containers.items():
                for b in blocks:
                    _check_block(expected, b, f"pod: {pod_uid}, container: {name}")
                    if pod_uid not in state.pod_entries:
                        _carve(expected, tuple(b.numa_affinity), b.type, b.size)
        if not _machine_states_equal(state.machine_state, _freeze_machine(expected)):
            raise StateError(MACHINE_STATE_DIFFERS)
        return state

    # -- sizing --------------------------------------------------------------------------------

    def _has_pod_level_resources(self, pod: Pod) -> bool:
        # With PodLevelResources off the kubelet ignores spec.resources altogether.
        return self.pod_level_resources and pod.resources is not None

    def is_pod_level(self, pod: Pod) -> bool:
        """Does KEP-5526 apply to this pod (gate on, ``spec.resources`` set)?"""
        return self.pod_level_resource_managers and self._has_pod_level_resources(pod)

    def _guaranteed(self, pod: Pod) -> bool:
        # Only Guaranteed pods are pinned; with pod-level resources the pod-level values decide.
        qos = qos_class(pod, pod_level_resources=self.pod_level_resources)
        return qos is QOSClass.GUARANTEED

    def _eligible(self, pod: Pod, container: Container) -> bool:
        """Container scope: does ``container`` get blocks of its own?"""
        if self._has_pod_level_resources(pod):
            # Without PodLevelResourceManagers such pods are admitted but left alone (the
            # v1.34-v1.36 rule); with it, only the pod's individually Guaranteed containers are
            # pinned and the others share the node, bounded by the pod cgroup.
            if not self.pod_level_resource_managers:
                return False
            return self._guaranteed(pod) and is_exclusive_eligible(container)
        return self._guaranteed(pod)

    def _known_resources(self, state: MemoryState) -> frozenset[str]:
        return frozenset(r for s in state.machine_state.values() for r in s.memory_map)

    def _requested(self, state: MemoryState, container: Container) -> dict[str, int]:
        """``getRequestedResources``: the container's memory and hugepages requests in bytes."""
        return self._sizes(state, container.resources.requests)

    def _pod_budget(self, state: MemoryState, pod: Pod) -> dict[str, int]:
        """KEP-5526: the pod-level memory and hugepages requests in bytes, the pod's budget."""
        assert pod.resources is not None
        return self._sizes(state, pod.resources.requests)

    def _sizes(self, state: MemoryState, requests: ResourceList) -> dict[str, int]:
        known = self._known_resources(state)
        out: dict[str, int] = {}
        for name, quantity in requests.items():
            if name != MEMORY and not is_hugepages(name):
                continue
            value = _as_int64(quantity)
            if value is None:
                raise MemoryAllocationError(NOT_INT64)
            if value == 0 and name not in known:
                # A zero request for a resource the machine lacks (``hugepages-2048Ki`` spelt
                # differently from ``hugepages-2Mi``): the kubelet would panic reading its
                # table or write a block its own restart rejects; it asks for nothing.
                continue
            out[name] = value
        return out

    def _pod_requested(self, state: MemoryState, pod: Pod) -> dict[str, int]:
        """``getPodRequestedResources``: max(init peak, apps + sidecars), per resource."""
        by_init: dict[str, int] = {}
        by_sidecars: dict[str, int] = {}
        for c in pod.init_containers:
            for name, size in self._requested(state, c).items():
                by_init.setdefault(name, 0)
                if pod.is_sidecar(c):
                    by_sidecars[name] = by_sidecars.get(name, 0) + size
                elif by_sidecars.get(name, 0) + size > by_init[name]:
                    by_init[name] = by_sidecars.get(name, 0) + size
        by_apps: dict[str, int] = {}
        for c in pod.containers:
            for name, size in self._requested(state, c).items():
                by_apps[name] = by_apps.get(name, 0) + size
        # As in the kubelet, only resources the app containers request are sized: one asked
        # for by init containers alone is dropped from the pod's request.
        return {
            name: max(size + by_sidecars.get(name, 0), by_init.get(name, 0))
            for name, size in by_apps.items()
        }

    @staticmethod
    def _reusable(
        state: MemoryState, pod: Pod, container: Container
    ) -> dict[tuple[CPUSet, str], int]:
        """Memory of regular init containers before ``container``, by (mask, type) (§5).

        Init containers run one after another and finish before the next container starts, so
        their memory can be handed on; a sidecar keeps running and its memory cannot.
        """
        out: dict[tuple[CPUSet, str], int] = {}
        for init in pod.init_containers:
            if init.name == container.name:
                break
            if pod.is_sidecar(init):
                continue
            for b in state.blocks_of(pod.uid, init.name) or ():
                key = (CPUSet(b.numa_affinity), b.type)
                out[key] = out.get(key, 0) + b.size
        return out

    # -- hints ---------------------------------------------------------------------------------

    def get_topology_hints(
        self, state: MemoryState, pod: Pod, container: Container
    ) -> dict[str, list[TopologyHint]] | None:
        """Container-scope hints per resource; None = no preference, {} = no mask qualifies."""
        if not self._eligible(pod, container):
            return None
        try:
            requested = self._requested(state, container)
        except MemoryAllocationError:
            return None  # the kubelet logs it and gives no preference
        if not requested:
            return None
        blocks = state.blocks_of(pod.uid, container.name)
        if blocks is not None:
            return _regenerate_hints(blocks, requested)
        return self._calculate_hints(
            state.machine_state, requested, self._reusable(state, pod, container)
        )

    def get_pod_topology_hints(
        self, state: MemoryState, pod: Pod
    ) -> dict[str, list[TopologyHint]] | None:
        """Pod-scope hints for the whole pod's memory; ``{resource: []}`` = unsatisfiable.

        A pod with pod-level resources is sized by them (KEP-5526, with the gate on); others by
        their containers.
        """
        if self._has_pod_level_resources(pod):
            if not self.pod_level_resource_managers:
                return None
            return self._pod_level_hints(state, pod)
        if not self._guaranteed(pod):
            return None
        try:
            requested = self._pod_requested(state, pod)
        except MemoryAllocationError:
            return None
        if not requested:
            return None
        for c in pod.all_containers():
            blocks = state.blocks_of(pod.uid, c.name)
            if blocks is not None:
                # After a restart: compared with the *pod's* request, as the kubelet does, so
                # this only matches for a pod with one memory-holding container.
                return _regenerate_hints(blocks, requested)
        # No container of the pod holds memory yet, so there is nothing to reuse.
        return self._calculate_hints(state.machine_state, requested, {})

    def _pod_level_hints(
        self, state: MemoryState, pod: Pod
    ) -> dict[str, list[TopologyHint]] | None:
        """KEP-5526 ``GetPodTopologyHints``: masks for the pod budget, [] where the pod's
        exclusive blocks would leave its shared pool empty."""
        if not self._guaranteed(pod):
            return None
        try:
            budget = self._pod_budget(state, pod)
            empty = self._empty_pools(state, pod, budget)
        except MemoryAllocationError:
            return None  # as for a container: logged, no preference
        if not budget:
            return None
        entry = state.pod_entries.get(pod.uid)
        if entry is not None:
            return _regenerate_hints(entry, budget)
        hints = self._calculate_hints(state.machine_state, budget, {})
        # An empty list cannot be merged, so restricted and single-numa-node refuse the pod
        # with a TopologyAffinityError; best-effort admits it and allocate_pod refuses it.
        for resource in empty:
            hints[resource] = []
        return hints

    def _empty_pools(
        self, state: MemoryState, pod: Pod, budget: Mapping[str, int]
    ) -> dict[str, str]:
        """``validatePodScopeResources`` per resource: resource → why the pod's exclusive
        blocks and its shared pool cannot both fit the budget (the CPU manager's rules).

        Sidecars keep running, so their exclusive memory is gone for the containers after
        them; a standard init container finishes first, so it only competes with sidecars.
        """
        exclusive = {
            c.name: self._requested(state, c) if is_exclusive_eligible(c) else None
            for c in pod.all_containers()
        }
        shared = [
            c.name
            for c in (*pod.containers, *(i for i in pod.init_containers if pod.is_sidecar(i)))
            if exclusive[c.name] is None
        ]
        problems: dict[str, str] = {}
        for resource, total in budget.items():
            sidecars = 0
            for c in pod.init_containers:
                own = exclusive[c.name]
                if pod.is_sidecar(c):
                    sidecars += 0 if own is None else own.get(resource, 0)
                elif own is not None and own.get(resource, 0) > total - sidecars:
                    problems[resource] = (
                        f"[memorymanager] init container {c.name!r} needs "
                        f"{_quantity(own[resource])} of exclusive {resource}, but only "
                        f"{_quantity(total - sidecars)} of the pod's {_quantity(total)} are left "
                        "after its sidecars"
                    )
                    break
                elif own is None and total - sidecars <= 0:
                    problems[resource] = (
                        f"[memorymanager] init container {c.name!r} has no {resource} left in "
                        f"the pod's {_quantity(total)} after its sidecars"
                    )
                    break
            if resource in problems:
                continue
            apps = sum((exclusive[c.name] or {}).get(resource, 0) for c in pod.containers)
            if shared and apps + sidecars >= total:
                problems[resource] = (
                    f"[memorymanager] exclusive {resource} ({_quantity(apps + sidecars)}) uses the "
                    f"whole pod budget ({_quantity(total)}), leaving no shared pool for "
                    f"{', '.join(sorted(shared))}"
                )
        return problems

    def _calculate_hints(
        self,
        machine_state: Mapping[int, NUMANodeState],
        requested: Mapping[str, int],
        reusable: Mapping[tuple[CPUSet, str], int],
    ) -> dict[str, list[TopologyHint]]:
        """``calculateHints``: every NUMA mask that can hold the request, narrowest preferred.

        Masks range over every node of the machine state, as the kubelet does, memory-only
        (CXL) and memoryless nodes included: a node without memory adds nothing to a mask's
        sums, so it only appears in masks that fit without it, which is what the topology
        manager then weighs against the other providers' hints.
        """
        node_ids = tuple(sorted(machine_state))
        pos = {n: i for i, n in enumerate(node_ids)}
        min_affinity = len(node_ids)
        resources = list(requested.items())

        def amounts(resource: str, what: str) -> list[int]:
            out = []
            for n in node_ids:
                table = machine_state[n].memory_map.get(resource)
                out.append(0 if table is None else getattr(table, what))
            return out

        alloc_at = [amounts(r, "allocatable") for r, _ in resources]
        free_at = [amounts(r, "free") for r, _ in resources]
        used = 0
        multi_group = 0
        cells_bits = [0] * len(node_ids)
        for n in node_ids:
            node = machine_state[n]
            cells_bits[pos[n]] = sum(1 << pos[c] for c in node.cells if c in pos)
            if node.number_of_assignments > 0:
                used |= 1 << pos[n]
            if len(node.cells) > 1:
                multi_group |= 1 << pos[n]
        # Sums per mask are built incrementally: a mask's sum is the sum of the mask without
        # its lowest node (always enumerated earlier, being narrower) plus that node's amount.
        table = self._mask_table(node_ids)
        alloc_sum = [self._sums(table, tuple(at)) for at in alloc_at]
        free_sum = [self._sums(table, tuple(at)) for at in free_at]
        # Masks whose allocatable memory could hold the request; the narrowest of them sets
        # the preferred width, before the group and free checks below.
        fitting = table
        for k, (_, need) in enumerate(resources):
            sums = alloc_sum[k]
            fitting = [row for row in fitting if sums[row[1]] >= need]
        if fitting:
            min_affinity = min(row[1].bit_count() for row in fitting)
        # Group rules, only where some node is in use or in a multi-node group.
        if used or multi_group:
            kept = []
            for row in fitting:
                bits = row[1]
                if bits & (bits - 1) == 0:
                    if bits & multi_group:
                        continue  # the node serves a multi-node group
                else:
                    # A node already in use may only be part of exactly its own group.
                    used_here = bits & used
                    if used_here and any(
                        cells_bits[i] != bits for i in range(len(node_ids)) if used_here >> i & 1
                    ):
                        continue
                kept.append(row)
            fitting = kept
        for k, (r, need) in enumerate(resources):
            sums = free_sum[k]
            if reusable:
                fitting = [
                    row for row in fitting if sums[row[1]] + reusable.get((row[0], r), 0) >= need
                ]
            else:
                fitting = [row for row in fitting if sums[row[1]] >= need]
        if not fitting:
            return {}
        hints = [row[4] if row[1].bit_count() == min_affinity else row[5] for row in fitting]
        return {r: list(hints) for r in requested}

    # -- allocation ----------------------------------------------------------------------------

    def allocate(
        self,
        state: MemoryState,
        pod: Pod,
        container: Container,
        numa_affinity: CPUSet | None = None,
        *,
        preferred: bool = False,
    ) -> MemoryState:
        """Pin ``container``'s memory to the topology manager's NUMA hint; idempotent.

        ``numa_affinity`` / ``preferred`` are the hint the topology manager stored for the
        container (``GetAffinity``); ``None`` means it had no preference.
        """
        if not self._eligible(pod, container):
            return state
        if state.blocks_of(pod.uid, container.name) is not None or pod.uid in state.pod_entries:
            # A pod placed as a whole already holds its budget; nothing more is charged.
            return state
        requested = self._requested(state, container)
        reusable = self._reusable(state, pod, container)
        bits = self._placement(state.machine_state, requested, reusable, numa_affinity, preferred)
        mask = CPUSet(bits)

        nodes = _thaw(state.machine_state)
        blocks: list[Block] = []
        for resource, size in requested.items():
            blocks.append(Block(numa_affinity=bits, type=resource, size=size))
            reused = min(size, reusable.get((mask, resource), 0))
            _carve(nodes, bits, resource, size - reused)

        pod_blocks = dict(state.assignments.get(pod.uid, {}))
        pod_blocks[container.name] = tuple(blocks)
        _shrink_init_blocks(pod_blocks, pod, container, blocks)
        assignments = dict(state.assignments)
        assignments[pod.uid] = pod_blocks
        return MemoryState(
            machine_state=_freeze_machine(nodes),
            assignments=assignments,
            pod_entries=state.pod_entries,
        )

    def allocate_pod(
        self,
        state: MemoryState,
        pod: Pod,
        numa_affinity: CPUSet | None = None,
        *,
        preferred: bool = False,
    ) -> MemoryState:
        """KEP-5526 ``AllocatePod``: place a Guaranteed pod-level pod as a whole; idempotent.

        The machine is charged the pod budget once, on one NUMA mask (the pod's hint, widened
        as :meth:`allocate` widens it), and that budget is held by the pod entry. Every
        container gets blocks on the same mask, sized as its share of the budget (§3.2):
        an eligible container its own requests; a shared standard init container the budget
        less the eligible sidecars started before it; shared apps and sidecars, the pod's
        shared pool (budget less eligible sidecars and apps), each a block of that size.
        Pods outside KEP-5526 (gate off, no ``spec.resources``, not Guaranteed) are left to
        the per-container :meth:`allocate`.
        """
        if not self.is_pod_level(pod) or not self._guaranteed(pod):
            return state
        if pod.uid in state.pod_entries or any(
            state.blocks_of(pod.uid, c.name) is not None for c in pod.all_containers()
        ):
            # Already placed: as a whole, or container by container under the container
            # scope, whose blocks already hold the pod's memory.
            return state
        budget = self._pod_budget(state, pod)
        if not budget:
            return state
        problems = self._empty_pools(state, pod, budget)
        if problems:
            raise EmptyPodSharedPoolError("; ".join(problems.values()))
        bits = self._placement(state.machine_state, budget, {}, numa_affinity, preferred)

        nodes = _thaw(state.machine_state)
        for resource, size in budget.items():
            _carve(nodes, bits, resource, size)

        def sized(amounts: Mapping[str, int]) -> tuple[Block, ...]:
            # In the budget's resource order; an eligible container gets no block for a
            # resource it does not request.
            return tuple(Block(bits, r, amounts[r]) for r in budget if r in amounts)

        entries: dict[str, tuple[Block, ...]] = {}
        sidecars = dict.fromkeys(budget, 0)
        for c in pod.init_containers:
            if is_exclusive_eligible(c):
                own = self._requested(state, c)
                entries[c.name] = sized(own)
                if pod.is_sidecar(c):
                    for r in budget:
                        sidecars[r] += own.get(r, 0)
            elif not pod.is_sidecar(c):
                entries[c.name] = sized({r: budget[r] - sidecars[r] for r in budget})
        pool = {r: budget[r] - sidecars[r] for r in budget}
        for c in pod.containers:
            if is_exclusive_eligible(c):
                own = self._requested(state, c)
                entries[c.name] = sized(own)
                for r in budget:
                    pool[r] -= own.get(r, 0)
        for c in pod.all_containers():
            entries.setdefault(c.name, sized(pool))

        assignments = dict(state.assignments)
        assignments[pod.uid] = entries
        return MemoryState(
            machine_state=_freeze_machine(nodes),
            assignments=assignments,
            pod_entries={
                **state.pod_entries,
                pod.uid: tuple(Block(bits, r, size) for r, size in budget.items()),
            },
        )

    def _placement(
        self,
        machine_state: Mapping[int, NUMANodeState],
        requested: Mapping[str, int],
        reusable: Mapping[tuple[CPUSet, str], int],
        numa_affinity: CPUSet | None,
        preferred: bool,
    ) -> tuple[int, ...]:
        """The NUMA nodes to carve ``requested`` from: the hint, defaulted or widened."""
        mask, is_preferred = numa_affinity, preferred
        if mask is None:
            # No preference from the topology manager: the best own hint, found the way the
            # topology manager would have.
            default = _find_best_hint(
                self._calculate_hints(machine_state, requested, reusable).get(MEMORY, [])
            )
            if default is None:
                raise MemoryAllocationError(NO_DEFAULT_HINT)
            if not default[1] and is_preferred:
                raise MemoryAllocationError(NO_DEFAULT_PREFERRED_HINT)
            mask, is_preferred = default
        missing = mask - CPUSet(machine_state)
        if missing:
            # The kubelet would index a node it does not have and panic.
            raise MemoryAllocationError(
                f"[memorymanager] NUMA nodes {missing} of the topology hint are not in the "
                "machine state"
            )

        # The topology manager ANDs all providers' masks, so under the restricted policy it
        # may hand back a subset of a memory hint; widen it again to an own hint containing it.
        # (Reusable init memory is not counted here, as in the kubelet.)
        if not _satisfies(machine_state, _mask_bits(mask), requested):
            candidates = [
                h
                for h in self._calculate_hints(machine_state, requested, reusable).get(MEMORY, [])
                if h.affinity is not None and mask.issubset(h.affinity)
            ]
            extended = _find_best_hint(candidates)
            if extended is None:
                raise MemoryAllocationError(NO_EXTENSION)
            if not extended[1] and is_preferred:
                raise MemoryAllocationError(NO_EXTENDED_PREFERRED_HINT)
            mask, is_preferred = extended

        bits = _mask_bits(mask)
        if len(bits) > 1 and any(_breaks_group(machine_state[n], bits) for n in bits):
            raise MemoryAllocationError(VIOLATES_NUMA_ALLOCATION)
        return bits

    def remove_container(
        self, state: MemoryState, pod_uid: str, container_name: str
    ) -> MemoryState:
        """Release a container's blocks; idempotent.

        A container of a pod placed as a whole only drops its accounting blocks: the pod's
        budget stays reserved (a restarting container finds it again) and goes back to the
        machine with the pod's last container.
        """
        blocks = state.blocks_of(pod_uid, container_name)
        if blocks is None:
            return state
        assignments = dict(state.assignments)
        remaining = {n: b for n, b in assignments[pod_uid].items() if n != container_name}
        if remaining:
            assignments[pod_uid] = remaining
        else:
            del assignments[pod_uid]
        pod_entries = state.pod_entries
        entry = pod_entries.get(pod_uid)
        if entry is not None:
            if remaining:
                return MemoryState(
                    machine_state=state.machine_state,
                    assignments=assignments,
                    pod_entries=pod_entries,
                )
            # The pod's last container: what the machine was charged is the pod's budget.
            blocks = entry
            pod_entries = {p: b for p, b in pod_entries.items() if p != pod_uid}
        nodes = _thaw(state.machine_state)
        for b in blocks:
            _release(nodes, b)
        return MemoryState(
            machine_state=_freeze_machine(nodes), assignments=assignments, pod_entries=pod_entries
        )

    def numa_nodes_of(self, state: MemoryState, pod_uid: str, container_name: str) -> CPUSet | None:
        """``GetMemoryNUMANodes``: the container's ``cpuset.mems``, None when it has no blocks."""
        return _numa_nodes_of(state, pod_uid, container_name)


def _quantity(size: int) -> str:
    return str(Quantity(size, QuantityFormat.BINARY_SI))


def _numa_nodes_of(state: MemoryState, pod_uid: str, container_name: str) -> CPUSet | None:
    nodes = CPUSet(
        n for b in state.blocks_of(pod_uid, container_name) or () for n in b.numa_affinity
    )
    return nodes or None


def _sum(
    machine_state: Mapping[int, NUMANodeState], bits: Sequence[int], resource: str, what: str
) -> int:
    total = 0
    for nid in bits:
        table = machine_state[nid].memory_map.get(resource)
        if table is not None:
            total += table.free if what == "free" else table.allocatable
    return total


def _satisfies(
    machine_state: Mapping[int, NUMANodeState], bits: Sequence[int], requested: Mapping[str, int]
) -> bool:
    """``isAffinitySatisfyRequest``: the mask's free memory covers every resource."""
    return all(_sum(machine_state, bits, r, "free") >= size for r, size in requested.items())


def _breaks_group(node: NUMANodeState, bits: Sequence[int]) -> bool:
    """Using a used node in the multi-node mask ``bits`` would mix allocation groups."""
    if node.number_of_assignments == 0:
        return False
    # Used alone, or inside a different group.
    return len(node.cells) == 1 or sorted(node.cells) != list(bits)


def _regenerate_hints(
    blocks: Sequence[Block], requested: Mapping[str, int]
) -> dict[str, list[TopologyHint]] | None:
    """``regenerateHints``: the blocks' masks (preferred), or None when they do not match."""
    if len(blocks) != len(requested):
        return None
    hints: dict[str, list[TopologyHint]] = {r: [] for r in requested}
    for b in blocks:
        if b.type not in requested or b.size != requested[b.type]:
            # Also the case of an init container whose block was shrunk by reuse.
            return None
        hints[b.type].append(TopologyHint(affinity=CPUSet(b.numa_affinity), preferred=True))
    return hints


def _shrink_init_blocks(
    pod_blocks: dict[str, tuple[Block, ...]],
    pod: Pod,
    container: Container,
    blocks: Sequence[Block],
) -> None:
    """``updateInitContainersMemoryBlocks``: earlier init blocks give up what was reused.

    The kubelet walks them first init container first, shrinking each by what is left of the
    new block's size, so the pod's blocks add up to what the machine was charged.
    """
    for block in blocks:
        left = block.size
        mask = CPUSet(block.numa_affinity)
        for init in pod.init_containers:
            if init.name == container.name or left == 0:
                break
            if pod.is_sidecar(init):
                continue
            init_blocks = pod_blocks.get(init.name)
            if not init_blocks:
                continue
            shrunk = list(init_blocks)
            for i, b in enumerate(shrunk):
                if b.size == 0 or b.type != block.type or CPUSet(b.numa_affinity) != mask:
                    continue
                cut = min(b.size, left)
                shrunk[i] = replace(b, size=b.size - cut)
                left -= cut
            pod_blocks[init.name] = tuple(shrunk)


def _machine_states_equal(
    real: Mapping[int, NUMANodeState], expected: Mapping[int, NUMANodeState]
) -> bool:
    """``areMachineStatesEqual``: counts, groups and sizes; free/reserved per group only."""
    if real.keys() != expected.keys():
        return False
    for nid, a in real.items():
        b = expected[nid]
        if a.number_of_assignments != b.number_of_assignments:
            return False
        if sorted(a.cells) != sorted(b.cells):
            return False
        if a.memory_map.keys() != b.memory_map.keys():
            return False
        for resource, ta in a.memory_map.items():
            tb = b.memory_map[resource]
            if (ta.total, ta.system_reserved, ta.allocatable) != (
                tb.total,
                tb.system_reserved,
                tb.allocatable,
            ):
                return False
            # Inside a group the kernel may take pages from any member, so only the group's
            # sums are compared.
            if any(c not in real or c not in expected for c in a.cells):
                return False
            for what in ("free", "reserved"):
                if _group_sum(real, a.cells, resource, what) != _group_sum(
                    expected, a.cells, resource, what
                ):
                    return False
    return True


def _group_sum(
    machine_state: Mapping[int, NUMANodeState], cells: Sequence[int], resource: str, what: str
) -> int:
    total = 0
    for nid in cells:
        table = machine_state[nid].memory_map.get(resource)
        if table is not None:
            total += table.free if what == "free" else table.reserved
    return total


class NoneMemoryPolicy:
    """The ``None`` memory manager policy: no pinning, every container on every node."""

    name: Final = "None"

    def __init__(self, topology: Topology) -> None:
        self.topology = topology

    def default_machine_state(self) -> Mapping[int, NUMANodeState]:
        return MappingProxyType({})

    def start(self, state: MemoryState | None = None) -> MemoryState:
        if state is not None and (state.assignments or state.pod_entries):
            raise StateError("the None policy has no memory assignments, but the state has some")
        return MemoryState(machine_state={})

    def get_topology_hints(
        self, state: MemoryState, pod: Pod, container: Container
    ) -> dict[str, list[TopologyHint]] | None:
        return None

    def get_pod_topology_hints(
        self, state: MemoryState, pod: Pod
    ) -> dict[str, list[TopologyHint]] | None:
        return None

    def allocate(
        self,
        state: MemoryState,
        pod: Pod,
        container: Container,
        numa_affinity: CPUSet | None = None,
        *,
        preferred: bool = False,
    ) -> MemoryState:
        return state

    def allocate_pod(
        self,
        state: MemoryState,
        pod: Pod,
        numa_affinity: CPUSet | None = None,
        *,
        preferred: bool = False,
    ) -> MemoryState:
        return state

    def remove_container(
        self, state: MemoryState, pod_uid: str, container_name: str
    ) -> MemoryState:
        return state

    def numa_nodes_of(self, state: MemoryState, pod_uid: str, container_name: str) -> CPUSet | None:
        return None


# -- the checkpoint form -------------------------------------------------------------------

_TABLE_FIELDS: Final = (
    ("total", "total"),
    ("systemReserved", "system_reserved"),
    ("allocatable", "allocatable"),
    ("reserved", "reserved"),
    ("free", "free"),
)


def _blocks_to_list(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    return [{"numaAffinity": list(b.numa_affinity), "type": b.type, "size": b.size} for b in blocks]


def memory_state_to_dict(state: MemoryState) -> dict[str, Any]:
    """The state shaped like the kubelet's ``memory_manager_state`` (without policy/checksum).

    ``podEntries`` (pod uid → ``{"memoryBlocks": [...]}``) is the v2 checkpoint's field for
    KEP-5526 pod budgets.
    """
    return {
        "machineState": machine_state_to_dict(state.machine_state),
        "entries": {
            pod: container_blocks_to_dict(containers)
            for pod, containers in state.assignments.items()
        },
        "podEntries": {pod: pod_entry_to_dict(blocks) for pod, blocks in state.pod_entries.items()},
    }


def machine_state_to_dict(machine_state: Mapping[int, NUMANodeState]) -> dict[str, Any]:
    """``machineState`` of the checkpoint."""
    return {
        str(nid): {
            "numberOfAssignments": s.number_of_assignments,
            "memoryMap": {
                r: {key: getattr(t, attr) for key, attr in _TABLE_FIELDS}
                for r, t in s.memory_map.items()
            },
            "cells": list(s.cells),
        }
        for nid, s in machine_state.items()
    }


def container_blocks_to_dict(containers: Mapping[str, Sequence[Block]]) -> dict[str, Any]:
    """One pod's ``entries``: container name → its blocks."""
    return {name: _blocks_to_list(blocks) for name, blocks in containers.items()}


def pod_entry_to_dict(blocks: Sequence[Block]) -> dict[str, Any]:
    """One pod's ``podEntries`` value."""
    return {"memoryBlocks": _blocks_to_list(blocks)}


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: must be an object")
    return value


def _field(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ValueError(f"{where}.{key}: missing")
    return d[key]


def _count(value: Any, where: str) -> int:
    # bool is an int in Python but not a number in JSON.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where}: must be a non-negative integer")
    return value


def _ids(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: must be a list of NUMA node ids")
    return tuple(_count(v, f"{where}[{i}]") for i, v in enumerate(value))


def _node_id(key: Any, where: str) -> int:
    if not isinstance(key, str) or not key.isdigit():
        raise ValueError(f"{where}.{key}: NUMA node ids must be decimal strings")
    return int(key)


def memory_state_from_dict(d: Any, where: str = "memory") -> MemoryState:
    """Rebuild a state; ``ValueError`` names the bad field (``memory.machineState.0.cells``)."""
    top = _object(d, where)
    raw_machine = _object(_field(top, "machineState", where), f"{where}.machineState")
    machine: dict[int, NUMANodeState] = {}
    for key, raw_node in raw_machine.items():
        nid = _node_id(key, f"{where}.machineState")
        nw = f"{where}.machineState.{key}"
        node = _object(raw_node, nw)
        raw_map = _object(_field(node, "memoryMap", nw), f"{nw}.memoryMap")
        tables: dict[str, MemoryTable] = {}
        for resource, raw_table in raw_map.items():
            tw = f"{nw}.memoryMap.{resource}"
            table = _object(raw_table, tw)
            tables[resource] = MemoryTable(
                **{attr: _count(_field(table, k, tw), f"{tw}.{k}") for k, attr in _TABLE_FIELDS}
            )
        machine[nid] = NUMANodeState(
            number_of_assignments=_count(
                _field(node, "numberOfAssignments", nw), f"{nw}.numberOfAssignments"
            ),
            memory_map=tables,
            cells=_ids(_field(node, "cells", nw), f"{nw}.cells"),
        )
    # The kubelet omits "entries" when there are none.
    raw_entries = _object(top.get("entries", {}), f"{where}.entries")
    assignments: dict[str, dict[str, tuple[Block, ...]]] = {}
    for pod, raw_containers in raw_entries.items():
        pw = f"{where}.entries.{pod}"
        assignments[pod] = {
            name: _blocks(raw_blocks, f"{pw}.{name}")
            for name, raw_blocks in _object(raw_containers, pw).items()
        }
    # States written before KEP-5526, or without pod-level pods, have no "podEntries".
    raw_pod_entries = _object(top.get("podEntries", {}), f"{where}.podEntries")
    pod_entries: dict[str, tuple[Block, ...]] = {}
    for pod, raw_entry in raw_pod_entries.items():
        pw = f"{where}.podEntries.{pod}"
        entry = _object(raw_entry, pw)
        pod_entries[pod] = _blocks(_field(entry, "memoryBlocks", pw), f"{pw}.memoryBlocks")
    return MemoryState(machine_state=machine, assignments=assignments, pod_entries=pod_entries)


def _blocks(raw_blocks: Any, where: str) -> tuple[Block, ...]:
    if not isinstance(raw_blocks, list):
        raise ValueError(f"{where}: must be a list of blocks")
    blocks = []
    for i, raw_block in enumerate(raw_blocks):
        bw = f"{where}[{i}]"
        block = _object(raw_block, bw)
        kind = _field(block, "type", bw)
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"{bw}.type: must be a resource name")
        blocks.append(
            Block(
                numa_affinity=_ids(_field(block, "numaAffinity", bw), f"{bw}.numaAffinity"),
                type=kind,
                size=_count(_field(block, "size", bw), f"{bw}.size"),
            )
        )
    return tuple(blocks)
