"""The service core: admission, binding, removal and the read views, over one locked state.

This is the imperative shell around the pure policies. Every mutating call

1. takes the current :class:`~pinlet.server.state.ManagerState` snapshot under one lock,
2. computes the next state with the pure CPU policy and topology manager,
3. writes the checkpoint durably (when the state changed),
4. and only then publishes the new snapshot and answers.

So a failed admission or a failed checkpoint write leaves nothing behind, a retried call finds
the state it left, and no CPU is ever handed out twice however many clients call at once.
Reads use the published snapshot without taking the lock.

Admission follows the kubelet's topology manager: in ``container`` scope each init container,
then each app container, gets hints from every provider, one merged NUMA affinity, and its
allocation; in ``pod`` scope the pod's hints are merged once and every container is allocated
against the same affinity.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .config import Config
from .cpu_policy import CPUState, NonePolicy, StaticPolicy
from .cpuset import CPUSet
from .enforcer import Desired, Enforcer, ReconcileReport
from .errors import (
    AdmissionError,
    AllocationError,
    InvalidRequestError,
    StateError,
    TopologyAffinityError,
)
from .hints import TopologyHint
from .journal import DELETE, JournaledStore
from .memory_policy import (
    Block,
    MemoryState,
    MemoryTable,
    NoneMemoryPolicy,
    StaticMemoryPolicy,
    container_blocks_to_dict,
    machine_state_to_dict,
    memory_state_from_dict,
    memory_state_to_dict,
    pod_entry_to_dict,
    reserved_memory_bytes,
)
from .pod import Container, Pod, qos_class
from .state import (
    ContainerKind,
    ContainerRecord,
    ManagerState,
    PodRecord,
    cpu_fingerprint,
    cpu_state_from_dict,
    cpu_state_to_dict,
    entries_to_dict,
    pod_to_dict,
    pods_from_dict,
    pods_to_dict,
)
from .topology import Topology
from .topology_manager import SCOPE_POD, ProviderHints, TopologyManagerPolicy


class CPUPolicy(Protocol):
    """What the manager needs of a CPU manager policy (static or none)."""

    @property
    def name(self) -> str: ...
    @property
    def reserved_cpus(self) -> CPUSet: ...

    def start(self, state: CPUState | None = None) -> CPUState: ...
    def available_cpus(self, state: CPUState) -> CPUSet: ...
    def allocatable_cpus(self) -> CPUSet: ...
    def allocate(
        self, state: CPUState, pod: Pod, container: Container, numa_affinity: CPUSet | None = None
    ) -> CPUState: ...
    def remove_container(self, state: CPUState, pod_uid: str, container_name: str) -> CPUState: ...
    def get_topology_hints(
        self, state: CPUState, pod: Pod, container: Container
    ) -> list[TopologyHint] | None: ...
    def get_pod_topology_hints(self, state: CPUState, pod: Pod) -> list[TopologyHint] | None: ...
    def is_pod_level(self, pod: Pod) -> bool: ...
    def allocate_pod(
        self, state: CPUState, pod: Pod, numa_affinity: CPUSet | None = None
    ) -> CPUState: ...
    def guaranteed_cpus(self, pod: Pod, container: Container) -> int: ...


class MemoryPolicy(Protocol):
    """What the manager needs of a memory manager policy (Static or None)."""

    def start(self, state: MemoryState | None = None) -> MemoryState: ...
    def get_topology_hints(
        self, state: MemoryState, pod: Pod, container: Container
    ) -> dict[str, list[TopologyHint]] | None: ...
    def get_pod_topology_hints(
        self, state: MemoryState, pod: Pod
    ) -> dict[str, list[TopologyHint]] | None: ...
    def allocate(
        self,
        state: MemoryState,
        pod: Pod,
        container: Container,
        numa_affinity: CPUSet | None = None,
        *,
        preferred: bool = False,
    ) -> MemoryState: ...
    def remove_container(
        self, state: MemoryState, pod_uid: str, container_name: str
    ) -> MemoryState: ...
    def numa_nodes_of(
        self, state: MemoryState, pod_uid: str, container_name: str
    ) -> CPUSet | None: ...
    def allocate_pod(
        self,
        state: MemoryState,
        pod: Pod,
        numa_affinity: CPUSet | None = None,
        *,
        preferred: bool = False,
    ) -> MemoryState: ...


@dataclass(frozen=True)
class CallerHints:
    """Hints of a provider pinlet does not own (the kubelet's device manager), per container
    (``container_name``) or for the whole pod (``""``, pod scope)."""

    provider: str
    container_name: str
    resources: Mapping[str, Sequence[TopologyHint] | None]


class NotFoundError(InvalidRequestError):
    """The named pod or container is not known to pinlet."""


@dataclass(frozen=True)
class ContainerView:
    """One container's answer: what to write into its cgroup and why."""

    name: str
    kind: ContainerKind
    cpuset_cpus: CPUSet
    cpuset_mems: CPUSet
    affinity: CPUSet | None
    exclusive: bool
    isolation: str
    """``node-exclusive``, ``node-shared``, ``pod-exclusive`` or ``pod-shared``."""
    container_id: str = ""
    cgroup_path: str = ""
    memory: tuple[Block, ...] = ()
    """Pinned memory blocks (Static memory manager only)."""


@dataclass(frozen=True)
class PodView:
    """One admitted pod's answer."""

    uid: str
    name: str
    namespace: str
    qos_class: str
    containers: tuple[ContainerView, ...]
    pod_cpuset: CPUSet | None = None
    """KEP-5526 pod scope: the pod's CPU block."""
    pod_shared_pool: CPUSet | None = None
    """KEP-5526 pod scope: the block minus the exclusive slices."""


@dataclass(frozen=True)
class HintsView:
    """Every provider's hints and the merged decision."""

    hints: Mapping[str, Sequence[TopologyHint] | None]
    merged: TopologyHint
    admit: bool


@dataclass(frozen=True)
class NUMANodeView:
    id: int
    cpus: CPUSet
    allocatable_cpus: CPUSet
    free_cpus: CPUSet
    exclusive_cpus: CPUSet
    memory: int
    hugepages: Mapping[int, int]
    distances: tuple[int, ...]
    memory_tables: Mapping[str, MemoryTable]
    """Static memory manager accounting per resource (empty with policy None)."""


@dataclass(frozen=True)
class AllocatableView:
    allocatable_cpus: CPUSet
    reserved_cpus: CPUSet
    shared_pool: CPUSet
    numa_nodes: tuple[NUMANodeView, ...]
    cpu_manager_policy: str
    topology_manager_policy: str
    topology_manager_scope: str
    memory_manager_policy: str


def build_cpu_policy(topology: Topology, config: Config) -> CPUPolicy:
    """The configured CPU manager policy over this machine."""
    if config.cpu_manager_policy == "none":
        return NonePolicy(topology)
    return StaticPolicy(
        topology,
        num_reserved=config.num_reserved_cpus(),
        reserved_cpus=config.reserved_system_cpus or CPUSet(),
        options=config.cpu_policy_options(),
        topology_manager_policy=config.topology_manager_policy,
        pod_level_resources=config.gate("PodLevelResources"),
        pod_level_resource_managers=config.gate("PodLevelResourceManagers"),
    )


def build_memory_policy(topology: Topology, config: Config) -> MemoryPolicy:
    """The configured memory manager policy over this machine."""
    if config.memory_manager_policy == "Static":
        return StaticMemoryPolicy(
            topology,
            reserved_memory_bytes(config.reserved_memory),
            pod_level_resources=config.gate("PodLevelResources"),
            pod_level_resource_managers=config.gate("PodLevelResourceManagers"),
        )
    return NoneMemoryPolicy(topology)


def build_topology_manager(topology: Topology, config: Config) -> TopologyManagerPolicy:
    options = config.topology_options()
    distances = None
    if options.prefer_closest_numa:
        distances = {n.id: dict(n.distances) for n in topology.numa_nodes}
    return TopologyManagerPolicy(
        config.topology_manager_policy, topology.all_numa_ids(), distances=distances
    )


class Manager:
    """Admission, binding and removal for one machine, with durable state."""

    def __init__(
        self,
        topology: Topology,
        config: Config,
        store: JournaledStore | None = None,
        enforcer: Enforcer | None = None,
    ) -> None:
        self.topology = topology
        self.config = config
        self.store = store
        self.enforcer = enforcer
        # Containers whose cgroup vanished during a write; removed from the state by the next
        # reconcile pass (not from inside the commit that found them, which holds the lock).
        self._vanished: set[tuple[str, str]] = set()
        self.cpu_policy = build_cpu_policy(topology, config)
        self.memory_policy = build_memory_policy(topology, config)
        self.topology_manager = build_topology_manager(topology, config)
        self._lock = threading.Lock()
        memory_nodes = CPUSet(n.id for n in topology.numa_nodes if n.memory > 0)
        # Without the Static memory manager a container may use every node that has memory.
        self._all_mems = memory_nodes or topology.all_numa_ids()
        self._state = self._restore()

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> ManagerState:
        return self._state

    def _policy_record(self) -> dict[str, Any]:
        c = self.config
        return {
            "cpuManagerPolicy": c.cpu_manager_policy,
            "cpuManagerPolicyOptions": dict(sorted(c.cpu_manager_policy_options.items())),
            "reservedCPUs": str(self.cpu_policy.reserved_cpus),
            "topologyManagerPolicy": c.topology_manager_policy,
            "topologyManagerScope": c.topology_manager_scope,
            "memoryManagerPolicy": c.memory_manager_policy,
            "reservedMemory": {
                str(node): dict(sorted(limits.items()))
                for node, limits in sorted(reserved_memory_bytes(c.reserved_memory).items())
            },
        }

    def _machine_record(self) -> dict[str, Any]:
        return {"cpus": str(self.topology.cpus), "fingerprint": cpu_fingerprint(self.topology)}

    def _to_dict(self, state: ManagerState) -> dict[str, Any]:
        return {
            "policy": self._policy_record(),
            "machine": self._machine_record(),
            "cpu": cpu_state_to_dict(state.cpu),
            "memory": memory_state_to_dict(state.memory),
            "pods": pods_to_dict(state.pods),
        }

    def _restore(self) -> ManagerState:
        data = self.store.load() if self.store is not None else None
        if data is None:
            state = ManagerState(cpu=self.cpu_policy.start(), memory=self.memory_policy.start())
            if self.store is not None:
                self.store.save(self._to_dict(state))
            return state
        assert self.store is not None
        path = str(self.store.path)
        advice = (
            f'please drain this node and delete the pinlet checkpoint file "{path}" before '
            "restarting pinlet"
        )
        saved_policy, saved_machine = data.get("policy"), data.get("machine")
        if saved_policy != self._policy_record():
            raise StateError(
                f"could not restore state from checkpoint {path}: configured policy "
                f"{self._policy_record()} differs from state checkpoint policy {saved_policy}, "
                + advice
            )
        if saved_machine != self._machine_record():
            raise StateError(
                f"could not restore state from checkpoint {path}: the machine changed "
                f"(checkpoint CPUs {saved_machine}, this machine {self._machine_record()}), "
                + advice
            )
        try:
            cpu = cpu_state_from_dict(data.get("cpu"))
            memory = memory_state_from_dict(data.get("memory"))
            pods = pods_from_dict(data.get("pods"))
            cpu = self.cpu_policy.start(cpu)
            memory = self.memory_policy.start(memory if memory.machine_state else None)
        except (ValueError, StateError) as exc:
            raise StateError(
                f"could not restore state from checkpoint {path}: {exc}, " + advice
            ) from None
        state = ManagerState(cpu=cpu, memory=memory, pods=pods)
        # Fold the replayed journal into a fresh snapshot, so each run starts with an empty
        # journal.
        self.store.save(self._to_dict(state))
        return state

    def _commit(self, old: ManagerState, new: ManagerState, touched: str) -> None:
        # Caller holds the lock. Durable first, visible second. Only ``touched`` (one pod uid)
        # and the shared pool can differ between the two states.
        changes = self._changes(old, new, touched)
        if not changes:
            return
        if self.store is not None:
            self.store.update(changes, lambda: self._to_dict(new))
        self._state = new
        if self.enforcer is not None:
            self._vanished.update(self.enforcer.apply(self.desired(new)))

    @staticmethod
    def _changes(
        old: ManagerState, new: ManagerState, touched: str
    ) -> list[tuple[tuple[str, ...], Any]]:
        """The journal ops that turn ``old`` into ``new``."""
        changes: list[tuple[tuple[str, ...], Any]] = []
        if old.cpu.default_cpuset != new.cpu.default_cpuset:
            changes.append((("cpu", "defaultCpuSet"), str(new.cpu.default_cpuset)))
        before, after = old.pods.get(touched), new.pods.get(touched)
        if before != after:
            changes.append((("pods", touched), DELETE if after is None else pod_to_dict(after)))
        was, now = old.cpu.assignments.get(touched), new.cpu.assignments.get(touched)
        if was != now:
            value = DELETE if now is None else entries_to_dict(now)
            changes.append((("cpu", "entries", touched), value))
        was_block, block = old.cpu.pod_entries.get(touched), new.cpu.pod_entries.get(touched)
        if was_block != block:
            value = DELETE if block is None else {"cpuSet": str(block)}
            changes.append((("cpu", "podEntries", touched), value))
        if old.memory.machine_state != new.memory.machine_state:
            machine = machine_state_to_dict(new.memory.machine_state)
            changes.append((("memory", "machineState"), machine))
        blocks = new.memory.assignments.get(touched)
        if old.memory.assignments.get(touched) != blocks:
            value = DELETE if blocks is None else container_blocks_to_dict(blocks)
            changes.append((("memory", "entries", touched), value))
        pod_blocks = new.memory.pod_entries.get(touched)
        if old.memory.pod_entries.get(touched) != pod_blocks:
            value = DELETE if pod_blocks is None else pod_entry_to_dict(pod_blocks)
            changes.append((("memory", "podEntries", touched), value))
        return changes

    # -- admission -----------------------------------------------------------------------------

    def _providers(
        self,
        state: ManagerState,
        pod: Pod,
        container: Container | None,
        caller: Sequence[CallerHints],
    ) -> tuple[list[ProviderHints], dict[str, Sequence[TopologyHint] | None]]:
        """Every provider's hints for a container, or (``None``) for the whole pod."""
        if container is None:
            cpu = self.cpu_policy.get_pod_topology_hints(state.cpu, pod)
            memory = self.memory_policy.get_pod_topology_hints(state.memory, pod)
            name = ""
        else:
            cpu = self.cpu_policy.get_topology_hints(state.cpu, pod, container)
            memory = self.memory_policy.get_topology_hints(state.memory, pod, container)
            name = container.name
        providers: list[ProviderHints] = [None if cpu is None else {"cpu": cpu}, memory]
        theirs = [h.resources for h in caller if h.container_name == name]
        providers += theirs
        resources: dict[str, Sequence[TopologyHint] | None] = {"cpu": cpu, **(memory or {})}
        for r in theirs:
            resources.update(r)
        return providers, resources

    def hints(
        self,
        pod: Pod,
        container_name: str | None = None,
        caller: Sequence[CallerHints] = (),
    ) -> HintsView:
        """Hints of every provider and the merge, for a container or (no name) the pod."""
        container = _find(pod, container_name) if container_name else None
        providers, resources = self._providers(self._state, pod, container, caller)
        merged, admit = self.topology_manager.merge(providers)
        return HintsView(hints=resources, merged=merged, admit=admit)

    def _admit(
        self,
        state: ManagerState,
        pod: Pod,
        container: Container | None,
        caller: Sequence[CallerHints],
    ) -> TopologyHint:
        providers, _ = self._providers(state, pod, container, caller)
        merged, admit = self.topology_manager.merge(providers)
        if not admit:
            error = TopologyAffinityError()
            error.container = container.name if container else ""
            raise error
        return merged

    def _allocate_container(
        self, state: ManagerState, pod: Pod, container: Container, hint: TopologyHint
    ) -> ManagerState:
        """Every provider's Allocate for one container, in the kubelet's order."""
        try:
            cpu = self.cpu_policy.allocate(state.cpu, pod, container, hint.affinity)
        except AllocationError as exc:
            # The kubelet's allocator text counts what is left after the NUMA-aligned part
            # was taken; say what was free before.
            free = len(self.cpu_policy.available_cpus(state.cpu))
            exc.container = container.name
            exc.args = (
                f"container {container.name!r} needs more exclusive CPUs than the "
                f"{free} available: {exc}",
            )
            raise
        except AdmissionError as exc:
            exc.container = container.name
            raise
        try:
            memory = self.memory_policy.allocate(
                state.memory, pod, container, hint.affinity, preferred=hint.preferred
            )
        except AdmissionError as exc:
            exc.container = container.name
            raise
        return ManagerState(cpu=cpu, memory=memory, pods=state.pods)

    def allocate(
        self,
        pod: Pod,
        container_name: str | None = None,
        caller: Sequence[CallerHints] = (),
    ) -> PodView:
        """Admit the pod (or one container of it); idempotent and all-or-nothing.

        ``caller`` carries the hints of providers pinlet does not own (device manager); they
        take part in the merge that decides each container's NUMA affinity.
        """
        with self._lock:
            old = self._state
            containers = [_find(pod, container_name)] if container_name else pod.all_containers()
            record = old.pods.get(pod.uid) or PodRecord(
                uid=pod.uid,
                name=pod.name,
                namespace=pod.namespace,
                qos_class=qos_class(
                    pod, pod_level_resources=self.config.gate("PodLevelResources")
                ).value,
                containers=(),
            )
            state = old
            pod_hint = None
            pod_scope = self.config.topology_manager_scope == SCOPE_POD and not container_name
            if pod_scope and self.cpu_policy.is_pod_level(pod):
                new, record = self._allocate_pod_level(old, pod, record, caller)
                self._commit(old, new, pod.uid)
                return self._pod_view(new, record)
            if pod_scope:
                pod_hint = self._admit(state, pod, None, caller)
            for c in containers:
                hint = pod_hint or self._admit(state, pod, c, caller)
                state = self._allocate_container(state, pod, c, hint)
                if record.container(c.name) is None:
                    record = record.with_container(
                        ContainerRecord(name=c.name, kind=_kind(pod, c), affinity=hint.affinity)
                    )
            # Keep containers in pod order, whatever order they were admitted in.
            order = {c.name: i for i, c in enumerate(pod.all_containers())}
            record = replace(
                record,
                containers=tuple(
                    sorted(record.containers, key=lambda r: order.get(r.name, 1 << 30))
                ),
            )
            pods = dict(old.pods)
            pods[pod.uid] = record
            new = ManagerState(cpu=state.cpu, memory=state.memory, pods=pods)
            self._commit(old, new, pod.uid)
            return self._pod_view(new, record)

    def _allocate_pod_level(
        self, old: ManagerState, pod: Pod, record: PodRecord, caller: Sequence[CallerHints]
    ) -> tuple[ManagerState, PodRecord]:
        """KEP-5526 ``admitUsingPodResources``: the pod's budget is merged once, and each
        provider's ``AllocatePod`` carves the pod's block into exclusive slices and the pod
        shared pool."""
        providers, _ = self._providers(old, pod, None, caller)
        merged, admit = self.topology_manager.merge(providers)
        if not admit:
            raise TopologyAffinityError(
                "Pod Scope pod with pod-level resources failed admission under pod-scope "
                "topology manager"
            )
        cpu = self.cpu_policy.allocate_pod(old.cpu, pod, merged.affinity)
        memory = self.memory_policy.allocate_pod(
            old.memory, pod, merged.affinity, preferred=merged.preferred
        )
        pod_level = pod.uid in cpu.pod_entries
        for c in pod.all_containers():
            isolation = ""
            if pod_level:
                exclusive = self.cpu_policy.guaranteed_cpus(pod, c) > 0
                isolation = "pod-exclusive" if exclusive else "pod-shared"
            if record.container(c.name) is None:
                record = record.with_container(
                    ContainerRecord(
                        name=c.name,
                        kind=_kind(pod, c),
                        affinity=merged.affinity,
                        isolation=isolation,
                    )
                )
        pods = dict(old.pods)
        pods[pod.uid] = record
        return ManagerState(cpu=cpu, memory=memory, pods=pods), record

    def add_container(
        self, pod_uid: str, container_name: str, container_id: str, cgroup_path: str = ""
    ) -> ContainerView:
        """Bind an admitted container to its runtime container id and cgroup."""
        with self._lock:
            old = self._state
            record = old.pods.get(pod_uid)
            if record is None:
                raise NotFoundError("pod_uid", f"pod {pod_uid} has not been admitted")
            container = record.container(container_name)
            if container is None:
                raise NotFoundError(
                    "container_name", f"pod {pod_uid} has no admitted container {container_name!r}"
                )
            for other in old.pods.values():
                for c in other.containers:
                    if c.container_id == container_id and (other.uid, c.name) != (
                        pod_uid,
                        container_name,
                    ):
                        raise InvalidRequestError(
                            "container_id",
                            f"{container_id} is already bound to {other.uid}/{c.name}",
                        )
            bound = replace(container, container_id=container_id, cgroup_path=cgroup_path)
            pods = dict(old.pods)
            pods[pod_uid] = record.with_container(bound)
            new = ManagerState(cpu=old.cpu, memory=old.memory, pods=pods)
            self._commit(old, new, pod_uid)
            return self._container_view(new, pod_uid, bound)

    # -- removal -------------------------------------------------------------------------------

    def find_container(self, container_id: str) -> tuple[str, str] | None:
        for pod in self._state.pods.values():
            for c in pod.containers:
                if c.container_id == container_id:
                    return pod.uid, c.name
        return None

    def remove_container(self, pod_uid: str, container_name: str) -> tuple[bool, CPUSet]:
        """Release one container; (removed, CPUs returned to the shared pool). Idempotent."""
        with self._lock:
            old = self._state
            record = old.pods.get(pod_uid)
            if record is None or record.container(container_name) is None:
                return False, CPUSet()
            cpu = self.cpu_policy.remove_container(old.cpu, pod_uid, container_name)
            memory = self.memory_policy.remove_container(old.memory, pod_uid, container_name)
            pods = dict(old.pods)
            remaining = tuple(c for c in record.containers if c.name != container_name)
            if remaining:
                pods[pod_uid] = replace(record, containers=remaining)
            else:
                del pods[pod_uid]
            new = ManagerState(cpu=cpu, memory=memory, pods=pods)
            self._commit(old, new, pod_uid)
            return True, cpu.default_cpuset - old.cpu.default_cpuset

    def remove_pod(self, pod_uid: str) -> tuple[list[str], CPUSet]:
        """Release every container of a pod. Idempotent."""
        with self._lock:
            old = self._state
            record = old.pods.get(pod_uid)
            if record is None:
                return [], CPUSet()
            cpu, memory = old.cpu, old.memory
            # Assignments of containers pinlet never recorded cannot exist, but a pod's CPUs
            # and memory must never leak: drop any leftover entry of this pod too.
            names = [c.name for c in record.containers]
            names += [n for n in cpu.assignments.get(pod_uid, {}) if n not in names]
            names += [n for n in memory.assignments.get(pod_uid, {}) if n not in names]
            for name in names:
                cpu = self.cpu_policy.remove_container(cpu, pod_uid, name)
                memory = self.memory_policy.remove_container(memory, pod_uid, name)
            pods = dict(old.pods)
            del pods[pod_uid]
            new = ManagerState(cpu=cpu, memory=memory, pods=pods)
            self._commit(old, new, pod_uid)
            return [c.name for c in record.containers], cpu.default_cpuset - old.cpu.default_cpuset

    # -- cgroups --------------------------------------------------------------------------------

    def desired(self, state: ManagerState | None = None) -> Desired:
        """Every bound container's cgroup and the cpuset it should have now."""
        state = state or self._state
        out: dict[tuple[str, str], tuple[str, CPUSet, CPUSet]] = {}
        if self.enforcer is None:
            return out
        for pod in state.pods.values():
            for record in pod.containers:
                if not record.container_id:
                    continue
                view = self._container_view(state, pod.uid, record)
                path = self.enforcer.cgroup_path(
                    pod.uid, pod.qos_class, record.container_id, record.cgroup_path
                )
                out[(pod.uid, record.name)] = (path, view.cpuset_cpus, view.cpuset_mems)
        return out

    def reconcile(self) -> ReconcileReport:
        """Rewrite cpusets that drifted; forget containers whose cgroup vanished."""
        if self.enforcer is None:
            return ReconcileReport(0, 0, (), 0)
        report = self.enforcer.reconcile(self.desired())
        gone = set(report.vanished) | self._vanished
        self._vanished.clear()
        for pod_uid, name in sorted(gone):
            # The container died without a RemoveContainer: release what it held.
            self.remove_container(pod_uid, name)
        return ReconcileReport(report.checked, report.drifted, tuple(sorted(gone)), report.errors)

    # -- views ---------------------------------------------------------------------------------

    def _container_view(
        self, state: ManagerState, pod_uid: str, record: ContainerRecord
    ) -> ContainerView:
        own = state.cpu.cpuset_of(pod_uid, record.name)
        pinned = self.memory_policy.numa_nodes_of(state.memory, pod_uid, record.name)
        mems = pinned if pinned is not None else self._all_mems
        # A KEP-5526 pod-scope container records pod-exclusive or pod-shared; others follow
        # the CPU state.
        isolation = record.isolation or ("node-exclusive" if own is not None else "node-shared")
        exclusive = isolation in ("node-exclusive", "pod-exclusive")
        return ContainerView(
            name=record.name,
            kind=record.kind,
            cpuset_cpus=own if own is not None else state.cpu.default_cpuset,
            cpuset_mems=mems,
            affinity=record.affinity,
            exclusive=exclusive,
            isolation=isolation,
            container_id=record.container_id,
            cgroup_path=record.cgroup_path,
            memory=state.memory.blocks_of(pod_uid, record.name) or (),
        )

    def _pod_view(self, state: ManagerState, record: PodRecord) -> PodView:
        containers = tuple(self._container_view(state, record.uid, c) for c in record.containers)
        block = state.cpu.pod_entries.get(record.uid)
        pool = None
        if block is not None:
            pool = block.difference(
                CPUSet().union(*(c.cpuset_cpus for c in containers if c.exclusive))
            )
        return PodView(
            uid=record.uid,
            name=record.name,
            namespace=record.namespace,
            qos_class=record.qos_class,
            containers=containers,
            pod_cpuset=block,
            pod_shared_pool=pool,
        )

    def list(self, pod_uid: str | None = None) -> tuple[list[PodView], CPUSet]:
        state = self._state
        if pod_uid:
            record = state.pods.get(pod_uid)
            if record is None:
                raise NotFoundError("pod_uid", f"pod {pod_uid} is not known")
            records = [record]
        else:
            records = sorted(state.pods.values(), key=lambda p: (p.namespace, p.name, p.uid))
        return [self._pod_view(state, r) for r in records], state.cpu.default_cpuset

    def allocatable(self) -> AllocatableView:
        state = self._state
        topo = self.topology
        allocatable = self.cpu_policy.allocatable_cpus()
        available = self.cpu_policy.available_cpus(state.cpu)
        exclusive = state.cpu.assigned_cpus()
        ids = [n.id for n in topo.numa_nodes]
        nodes = tuple(
            NUMANodeView(
                id=n.id,
                cpus=n.cpus,
                allocatable_cpus=n.cpus & allocatable,
                free_cpus=n.cpus & available,
                exclusive_cpus=n.cpus & exclusive,
                memory=n.memory,
                hugepages=n.hugepages,
                distances=tuple(n.distances.get(i, 0) for i in ids),
                memory_tables=(
                    state.memory.machine_state[n.id].memory_map
                    if n.id in state.memory.machine_state
                    else {}
                ),
            )
            for n in topo.numa_nodes
        )
        return AllocatableView(
            allocatable_cpus=allocatable,
            reserved_cpus=self.cpu_policy.reserved_cpus,
            shared_pool=state.cpu.default_cpuset,
            numa_nodes=nodes,
            cpu_manager_policy=self.config.cpu_manager_policy,
            topology_manager_policy=self.config.topology_manager_policy,
            topology_manager_scope=self.config.topology_manager_scope,
            memory_manager_policy=self.config.memory_manager_policy,
        )


def _find(pod: Pod, name: str) -> Container:
    for c in pod.all_containers():
        if c.name == name:
            return c
    raise InvalidRequestError("container_name", f"pod {pod.uid} has no container {name!r}")


def _kind(pod: Pod, container: Container) -> ContainerKind:
    if any(c.name == container.name for c in pod.init_containers):
        return ContainerKind.SIDECAR if pod.is_sidecar(container) else ContainerKind.INIT
    return ContainerKind.APP
