"""The kubelet's static CPU manager policy (``cpumanager/policy_static.go``), as pure functions.

The policy owns no mutable state: every call takes a frozen :class:`CPUState` snapshot and
returns a new one, so the service layer decides when a new state is checkpointed and
published, and a failed call leaves nothing half-done.

Pools (kubelet-algorithms §1.1):

* **reserved**: never handed out exclusively; either the explicit ``reservedSystemCPUs`` or
  ``num_reserved`` CPUs chosen by the policy's own allocator (lowest-numbered whole cores);
* **default** (shared) pool: where every non-exclusive container runs; initially all CPUs (all
  but the reserved ones with ``strict-cpu-reservation``); exclusive allocations leave it and
  come back on removal;
* **available** for exclusive allocation = default - reserved; **allocatable** = all - reserved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from .cpu_assignment import (
    SortingStrategy,
    take_by_topology_numa_distributed,
    take_by_topology_numa_packed,
)
from .cpuset import CPUSet
from .errors import (
    AllocationError,
    ConfigError,
    EmptyPodSharedPoolError,
    PolicyOptionError,
    SMTAlignmentError,
    StateError,
)
from .hints import TopologyHint, iterate_masks
from .pod import Container, Pod, QOSClass, is_exclusive_eligible, qos_class
from .topology import Topology

POLICY_NAME: Final = "static"

FULL_PCPUS_ONLY: Final = "full-pcpus-only"
DISTRIBUTE_CPUS_ACROSS_NUMA: Final = "distribute-cpus-across-numa"
ALIGN_BY_SOCKET: Final = "align-by-socket"
DISTRIBUTE_CPUS_ACROSS_CORES: Final = "distribute-cpus-across-cores"
STRICT_CPU_RESERVATION: Final = "strict-cpu-reservation"
PREFER_ALIGN_BY_UNCORE_CACHE: Final = "prefer-align-cpus-by-uncorecache"

# Maturity as of Kubernetes v1.36 (kubelet-algorithms §0): GA options need no gate; alpha
# options need CPUManagerPolicyAlphaOptions (default off), beta ones
# CPUManagerPolicyBetaOptions (default on). distribute-cpus-across-numa was targeted for GA in
# v1.35; it is treated as GA, which only matters if someone turns the beta gate off.
ALPHA_OPTIONS: Final = frozenset({ALIGN_BY_SOCKET, DISTRIBUTE_CPUS_ACROSS_CORES})
BETA_OPTIONS: Final = frozenset[str]()
STABLE_OPTIONS: Final = frozenset(
    {
        FULL_PCPUS_ONLY,
        DISTRIBUTE_CPUS_ACROSS_NUMA,
        STRICT_CPU_RESERVATION,
        PREFER_ALIGN_BY_UNCORE_CACHE,
    }
)

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_go_bool(value: str) -> bool:
    """``strconv.ParseBool``: the exact spellings Go accepts, nothing else."""
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


@dataclass(frozen=True)
class StaticPolicyOptions:
    """The parsed ``cpuManagerPolicyOptions``."""

    full_pcpus_only: bool = False
    distribute_cpus_across_numa: bool = False
    align_by_socket: bool = False
    distribute_cpus_across_cores: bool = False
    strict_cpu_reservation: bool = False
    prefer_align_cpus_by_uncorecache: bool = False


_OPTION_FIELDS: Final = {
    FULL_PCPUS_ONLY: "full_pcpus_only",
    DISTRIBUTE_CPUS_ACROSS_NUMA: "distribute_cpus_across_numa",
    ALIGN_BY_SOCKET: "align_by_socket",
    DISTRIBUTE_CPUS_ACROSS_CORES: "distribute_cpus_across_cores",
    STRICT_CPU_RESERVATION: "strict_cpu_reservation",
    PREFER_ALIGN_BY_UNCORE_CACHE: "prefer_align_cpus_by_uncorecache",
}

# Checked in this order, as NewStaticPolicyOptions does.
_INCOMPATIBLE: Final = (
    (FULL_PCPUS_ONLY, DISTRIBUTE_CPUS_ACROSS_CORES),
    (DISTRIBUTE_CPUS_ACROSS_NUMA, DISTRIBUTE_CPUS_ACROSS_CORES),
    (PREFER_ALIGN_BY_UNCORE_CACHE, DISTRIBUTE_CPUS_ACROSS_CORES),
    (PREFER_ALIGN_BY_UNCORE_CACHE, DISTRIBUTE_CPUS_ACROSS_NUMA),
)


def parse_static_policy_options(
    raw: Mapping[str, str], *, alpha_options: bool = False, beta_options: bool = True
) -> StaticPolicyOptions:
    """Parse ``cpuManagerPolicyOptions`` with the kubelet's checks and error texts.

    ``alpha_options`` / ``beta_options`` are the feature gates ``CPUManagerPolicyAlphaOptions``
    (default off) and ``CPUManagerPolicyBetaOptions`` (default on).
    """
    values: dict[str, bool] = {}
    for name in sorted(raw):  # Go iterates a map; sorting makes the first error stable
        value = raw[name]
        if name not in ALPHA_OPTIONS | BETA_OPTIONS | STABLE_OPTIONS:
            raise PolicyOptionError(f'unknown CPU Manager Policy option: "{name}"')
        if name in ALPHA_OPTIONS and not alpha_options:
            raise PolicyOptionError(
                f'CPU Manager Policy Alpha-level Options not enabled, but option "{name}" provided'
            )
        if name in BETA_OPTIONS and not beta_options:
            raise PolicyOptionError(
                f'CPU Manager Policy Beta-level Options not enabled, but option "{name}" provided'
            )
        try:
            values[_OPTION_FIELDS[name]] = parse_go_bool(str(value))
        except ValueError as exc:
            raise PolicyOptionError(f'bad value for option "{name}": {exc}') from None
    for a, b in _INCOMPATIBLE:
        if values.get(_OPTION_FIELDS[a]) and values.get(_OPTION_FIELDS[b]):
            raise PolicyOptionError(
                f"static policy options {a} and {b} can not be used at the same time"
            )
    return StaticPolicyOptions(**values)


def _freeze(
    assignments: Mapping[str, Mapping[str, CPUSet]],
) -> Mapping[str, Mapping[str, CPUSet]]:
    # Inner mappings that are already frozen are shared, not copied: a new state differs from
    # the previous one in one pod, and copying every pod would make each call O(pods).
    return MappingProxyType(
        {
            pod: c if isinstance(c, MappingProxyType) else MappingProxyType(dict(c))
            for pod, c in assignments.items()
        }
    )


@dataclass(frozen=True)
class CPUState:
    """A snapshot of the CPU manager's state (what ``cpu_manager_state`` holds, plus reuse)."""

    default_cpuset: CPUSet
    assignments: Mapping[str, Mapping[str, CPUSet]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Pod uid → container name → exclusive CPUs."""
    reusable: Mapping[str, CPUSet] = field(default_factory=lambda: MappingProxyType({}))
    """The kubelet's ``cpusToReuse``: CPUs of a pod's finished init containers that the pod's
    next containers may take again. In memory only, as in the kubelet."""
    pod_entries: Mapping[str, CPUSet] = field(default_factory=lambda: MappingProxyType({}))
    """KEP-5526 (pod scope): pod uid → the pod's CPU block (``podEntries``), out of the shared
    pool for as long as any container of the pod is in the state."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignments", _freeze(self.assignments))
        object.__setattr__(self, "reusable", MappingProxyType(dict(self.reusable)))
        object.__setattr__(self, "pod_entries", MappingProxyType(dict(self.pod_entries)))

    def cpuset_of(self, pod_uid: str, container_name: str) -> CPUSet | None:
        return self.assignments.get(pod_uid, {}).get(container_name)

    def assigned_cpus(self) -> CPUSet:
        """Every CPU out of the shared pool: container assignments and pod blocks."""
        return CPUSet().union(
            *(c for pod in self.assignments.values() for c in pod.values()),
            *self.pod_entries.values(),
        )

    def with_assignment(
        self, pod_uid: str, container_name: str, cpus: CPUSet
    ) -> dict[str, Mapping[str, CPUSet]]:
        out = dict(self.assignments)
        out[pod_uid] = {**out.get(pod_uid, {}), container_name: cpus}
        return out


class StaticPolicy:
    """The static CPU manager policy over one machine and one configuration."""

    name: Final = POLICY_NAME

    def __init__(
        self,
        topology: Topology,
        *,
        num_reserved: int,
        reserved_cpus: CPUSet = CPUSet(),  # noqa: B008 - CPUSet is immutable
        options: StaticPolicyOptions = StaticPolicyOptions(),
        topology_manager_policy: str = "none",
        pod_level_resources: bool = True,
        pod_level_resource_managers: bool = False,
    ) -> None:
        self.topology = topology
        self.options = options
        self.pod_level_resources = pod_level_resources
        # KEP-5526 gate (alpha in v1.36, default off): pods with spec.resources get exclusive
        # slices; off, such pods are admitted but get nothing exclusive.
        self.pod_level_resource_managers = pod_level_resource_managers
        self._validate_options(topology_manager_policy)
        # full-pcpus-only hands CPUs out a physical core at a time.
        self.cpu_group_size = topology.cpus_per_core if options.full_pcpus_only else 1

        if reserved_cpus:
            unknown = reserved_cpus - topology.cpus
            if unknown:
                raise ConfigError(
                    "reservedSystemCPUs",
                    f'reserved CPUs "{unknown}" are not online CPUs of this machine '
                    f'(online: "{topology.cpus}")',
                )
            reserved = reserved_cpus
        else:
            try:
                # Lowest-numbered whole cores first: on an 8-CPU HT box, 2 → {0,4}.
                reserved = self.take_by_topology(topology.cpus, num_reserved)
            except AllocationError:
                reserved = CPUSet()
        if len(reserved) != num_reserved:
            raise ConfigError(
                "reservedSystemCPUs",
                "[cpumanager] unable to reserve the required amount of CPUs "
                f"(size of {reserved} did not equal {num_reserved})",
            )
        self.reserved_cpus = reserved
        self.reserved_physical_cpus = topology.siblings(reserved)
        # Every NUMA mask, in IterateBitMasks order, built once (255 of them on 8 nodes).
        # Bits are positions in the sorted NUMA id list; ``rest`` is the mask without its
        # lowest node, which IterateBitMasks always yields earlier (it is narrower), so free
        # counts per mask can be summed incrementally.
        numa_ids = topology.numa_ids().sorted()
        self._numa_pos = {nid: i for i, nid in enumerate(numa_ids)}
        # Each mask also carries its two possible hints, built once: on 16 NUMA nodes a call
        # returns 65535 hints, and building them anew each time would dominate admission.
        self._mask_order: list[tuple[int, int, int]] = []  # bits, lowest position, rest
        self._mask_rows: list[tuple[CPUSet, int, int, TopologyHint, TopologyHint]] = []
        self._max_total_by_width: dict[int, int] = {}
        for m in iterate_masks(numa_ids):
            bits = sum(1 << self._numa_pos[n] for n in m)
            low = (bits & -bits).bit_length() - 1
            total = len(topology.cpus_in_numa_nodes(m))
            self._mask_order.append((bits, low, bits & (bits - 1)))
            self._mask_rows.append(
                (m, bits, len(m), TopologyHint(m, preferred=True), TopologyHint(m, False))
            )
            width = len(m)
            self._max_total_by_width[width] = max(total, self._max_total_by_width.get(width, 0))

    def _validate_options(self, topology_manager_policy: str) -> None:
        # ValidateStaticPolicyOptions, with the kubelet's own wording (typo included).
        if not self.options.align_by_socket:
            return
        if topology_manager_policy == "single-numa-node":
            raise PolicyOptionError(
                "Topolgy manager single-numa-node policy is incompatible with CPUManager "
                f"{ALIGN_BY_SOCKET} policy option"
            )
        if self.topology.num_sockets > self.topology.num_numa_nodes:
            raise PolicyOptionError(
                "Align by socket is not compatible with hardware where number of sockets "
                "are more than number of NUMA"
            )

    # -- pools ---------------------------------------------------------------------------------

    def all_cpus(self) -> CPUSet:
        """Every CPU the shared pool may hold (all but reserved under strict reservation)."""
        cpus = self.topology.cpus
        if self.options.strict_cpu_reservation:
            cpus = cpus - self.reserved_cpus
        return cpus

    def available_cpus(self, state: CPUState) -> CPUSet:
        """``GetAvailableCPUs``: free for exclusive allocation."""
        return state.default_cpuset - self.reserved_cpus

    def allocatable_cpus(self) -> CPUSet:
        """``GetAllocatableCPUs``."""
        return self.topology.cpus - self.reserved_cpus

    def available_physical_cpus(self, state: CPUState) -> CPUSet:
        return state.default_cpuset - self.reserved_physical_cpus

    # -- start ---------------------------------------------------------------------------------

    def start(self, state: CPUState | None = None) -> CPUState:
        """``validateState``: a fresh state, or the restored one if it is consistent."""
        all_cpus = self.all_cpus()
        if state is None or not state.default_cpuset:
            if state is not None and any(state.assignments.values()):
                raise StateError("default cpuset cannot be empty")
            return CPUState(default_cpuset=all_cpus)

        default = state.default_cpuset
        reserved = self.reserved_cpus
        if self.options.strict_cpu_reservation:
            overlap = reserved & default
            if overlap:
                raise StateError(
                    f'some of strictly reserved cpus: "{overlap}" are present in '
                    f'defaultCpuSet: "{default}"'
                )
        elif (reserved & default) != reserved:
            raise StateError(
                f'not all reserved cpus: "{reserved}" are present in defaultCpuSet: "{default}"'
            )
        for pod_uid, block in state.pod_entries.items():
            if not default.isdisjoint(block):
                raise StateError(
                    f'pod: {pod_uid} cpuset: "{block}" overlaps with default cpuset "{default}"'
                )
        for pod_uid, containers in state.assignments.items():
            for name, cpus in containers.items():
                if not default.isdisjoint(cpus):
                    raise StateError(
                        f'pod: {pod_uid}, container: {name} cpuset: "{cpus}" overlaps with '
                        f'default cpuset "{default}"'
                    )
        known = default | state.assigned_cpus()
        if known != all_cpus:
            raise StateError(
                f'current set of available CPUs "{all_cpus}" doesn\'t match with CPUs in '
                f'state "{known}"'
            )
        return state

    # -- sizing --------------------------------------------------------------------------------

    def guaranteed_cpus(self, pod: Pod, container: Container) -> int:
        """Exclusive CPUs this container gets: its integer CPU request in a Guaranteed pod."""
        if self.pod_level_resources and pod.resources is not None:
            # Without the PodLevelResourceManagers gate the static policy leaves pods with
            # pod-level resources alone (v1.34-v1.36 rule). With it, a container needs a
            # Guaranteed pod, an integral pod-level CPU request (a fractional one disables
            # exclusivity for the whole pod) and request == limit for its own CPU and memory.
            if not self.pod_level_resource_managers:
                return 0
            if self.pod_level_cpus(pod) == 0 or not is_exclusive_eligible(container):
                return 0
        if qos_class(pod, pod_level_resources=self.pod_level_resources) is not QOSClass.GUARANTEED:
            return 0
        cpu = container.resources.requests.get("cpu")
        if cpu is None:
            return 0
        value = cpu.value()
        if value * 1000 != cpu.milli_value():
            return 0
        return value

    def is_pod_level(self, pod: Pod) -> bool:
        """Does KEP-5526 apply to this pod (gate on, spec.resources set)?"""
        return (
            self.pod_level_resource_managers
            and self.pod_level_resources
            and pod.resources is not None
        )

    def pod_level_cpus(self, pod: Pod) -> int:
        """The pod's CPU budget: ``spec.resources.requests.cpu`` if a whole number in a
        Guaranteed pod, else 0 (``podGuaranteedCPUs`` for pod-level pods)."""
        if pod.resources is None:
            return 0
        if qos_class(pod, pod_level_resources=True) is not QOSClass.GUARANTEED:
            return 0
        cpu = pod.resources.requests.get("cpu")
        if cpu is None or cpu.value() * 1000 != cpu.milli_value():
            return 0
        return cpu.value()

    def _pod_scope_error(self, pod: Pod, budget: int) -> str | None:
        """``validatePodScopeResources``: why the pod's exclusive slices and its shared pool
        cannot both fit the budget, or None."""
        sidecars = 0
        for c in pod.init_containers:
            n = self.guaranteed_cpus(pod, c)
            if pod.is_sidecar(c):
                sidecars += n
            elif n and n > budget - sidecars:
                return (
                    f"init container {c.name!r} needs {n} exclusive CPUs, but only "
                    f"{budget - sidecars} of the pod's {budget} are left after its sidecars"
                )
            elif not n and budget - sidecars <= 0:
                return f"init container {c.name!r} has no CPUs left in the pod's budget"
        apps = sum(self.guaranteed_cpus(pod, c) for c in pod.containers)
        shared = [
            c.name
            for c in (*pod.containers, *(i for i in pod.init_containers if pod.is_sidecar(i)))
            if not self.guaranteed_cpus(pod, c)
        ]
        if shared and apps + sidecars >= budget:
            return (
                f"exclusive CPUs ({apps + sidecars}) use the whole pod budget ({budget}), "
                f"leaving no shared pool for {', '.join(sorted(shared))}"
            )
        return None

    def pod_guaranteed_cpus(self, pod: Pod) -> int:
        """Pod-scope size: max(largest init peak, apps + sidecars), the kubelet's way."""
        by_init = 0
        by_sidecars = 0
        for c in pod.init_containers:
            if "cpu" not in c.resources.requests:
                continue
            n = self.guaranteed_cpus(pod, c)
            if pod.is_sidecar(c):
                by_sidecars += n
            elif by_sidecars + n > by_init:
                by_init = by_sidecars + n
        by_apps = sum(
            self.guaranteed_cpus(pod, c) for c in pod.containers if "cpu" in c.resources.requests
        )
        return max(by_init, by_apps + by_sidecars)

    # -- allocation ----------------------------------------------------------------------------

    def take_by_topology(self, available: CPUSet, num_cpus: int) -> CPUSet:
        strategy = (
            SortingStrategy.SPREAD
            if self.options.distribute_cpus_across_cores
            else SortingStrategy.PACKED
        )
        if self.options.distribute_cpus_across_numa:
            group = self.topology.cpus_per_core if self.options.full_pcpus_only else 1
            return take_by_topology_numa_distributed(
                self.topology, available, num_cpus, group, strategy
            )
        return take_by_topology_numa_packed(
            self.topology,
            available,
            num_cpus,
            strategy,
            self.options.prefer_align_cpus_by_uncorecache,
        )

    def _aligned_cpus(self, numa_affinity: CPUSet, allocatable: CPUSet) -> CPUSet:
        topo = self.topology
        if self.options.align_by_socket:
            # The NUMA hint widens to whole sockets, so socket-local CPUs go first.
            sockets = topo.sockets_in_numa_nodes(numa_affinity)
            return allocatable & topo.cpus_in_sockets(sockets)
        return allocatable & topo.cpus_in_numa_nodes(numa_affinity)

    def _allocate_cpus(
        self, state: CPUState, num_cpus: int, numa_affinity: CPUSet | None, reusable: CPUSet
    ) -> CPUSet:
        allocatable = self.available_cpus(state) | reusable
        result = CPUSet()
        if numa_affinity is not None:
            aligned = self._aligned_cpus(numa_affinity, allocatable)
            result = self.take_by_topology(aligned, min(num_cpus, len(aligned)))
        rest = self.take_by_topology(allocatable - result, num_cpus - len(result))
        return result | rest

    def allocate(
        self,
        state: CPUState,
        pod: Pod,
        container: Container,
        numa_affinity: CPUSet | None = None,
    ) -> CPUState:
        """Give ``container`` its exclusive CPUs (if it is entitled to any); idempotent."""
        num_cpus = self.guaranteed_cpus(pod, container)
        if num_cpus == 0:
            return state  # runs in the shared pool

        if self.options.full_pcpus_only:
            if num_cpus % self.cpu_group_size != 0:
                raise SMTAlignmentError(num_cpus, self.cpu_group_size)
            available_physical = len(self.available_physical_cpus(state))
            if num_cpus > available_physical:
                raise SMTAlignmentError(
                    num_cpus,
                    self.cpu_group_size,
                    available_physical,
                    caused_by_physical_cpus=True,
                )

        existing = state.cpuset_of(pod.uid, container.name)
        if existing is not None:
            return self._update_reuse(state, pod, container, existing)

        reusable = state.reusable.get(pod.uid, CPUSet())
        cpus = self._allocate_cpus(state, num_cpus, numa_affinity, reusable)
        state = CPUState(
            default_cpuset=state.default_cpuset - cpus,
            assignments=state.with_assignment(pod.uid, container.name, cpus),
            reusable=state.reusable,
            pod_entries=state.pod_entries,
        )
        return self._update_reuse(state, pod, container, cpus)

    @staticmethod
    def _update_reuse(state: CPUState, pod: Pod, container: Container, cpus: CPUSet) -> CPUState:
        # updateCPUsToReuse: only the pod being admitted keeps reuse bookkeeping; a regular
        # init container's CPUs become reusable, an app container's (or a sidecar's, which
        # runs alongside the apps) are no longer reusable.
        current = state.reusable.get(pod.uid, CPUSet())
        is_regular_init = any(
            c.name == container.name and not pod.is_sidecar(c) for c in pod.init_containers
        )
        updated = current | cpus if is_regular_init else current - cpus
        return CPUState(
            default_cpuset=state.default_cpuset,
            assignments=state.assignments,
            reusable={pod.uid: updated},
            pod_entries=state.pod_entries,
        )

    def remove_container(self, state: CPUState, pod_uid: str, container_name: str) -> CPUState:
        """Drop a container's CPUs, returning to the pool only those no sibling still holds."""
        cpus = state.cpuset_of(pod_uid, container_name)
        if cpus is None:
            return state
        if pod_uid in state.pod_entries:
            # KEP-5526: slices stay in the pod's block; the block goes back to the shared pool
            # only with the pod's last container.
            assignments = dict(state.assignments)
            remaining = {n: c for n, c in assignments[pod_uid].items() if n != container_name}
            pod_entries = dict(state.pod_entries)
            default = state.default_cpuset
            if remaining:
                assignments[pod_uid] = remaining
            else:
                del assignments[pod_uid]
                default = default | pod_entries.pop(pod_uid)
            return CPUState(
                default_cpuset=default,
                assignments=assignments,
                reusable=state.reusable,
                pod_entries=pod_entries,
            )
        siblings = CPUSet().union(
            *(c for name, c in state.assignments.get(pod_uid, {}).items() if name != container_name)
        )
        assignments = dict(state.assignments)
        remaining = {n: c for n, c in assignments[pod_uid].items() if n != container_name}
        if remaining:
            assignments[pod_uid] = remaining
        else:
            del assignments[pod_uid]
        return CPUState(
            default_cpuset=state.default_cpuset | (cpus - siblings),
            assignments=assignments,
            reusable=state.reusable,
            pod_entries=state.pod_entries,
        )

    # -- hints ---------------------------------------------------------------------------------

    def get_topology_hints(
        self, state: CPUState, pod: Pod, container: Container
    ) -> list[TopologyHint] | None:
        """Container-scope CPU hints; ``None`` = no preference, ``[]`` = cannot be satisfied."""
        requested = self.guaranteed_cpus(pod, container)
        if requested == 0:
            return None
        allocated = state.cpuset_of(pod.uid, container.name)
        if allocated is not None:
            if len(allocated) != requested:
                return []
            return self.generate_cpu_topology_hints(allocated, CPUSet(), requested)
        return self.generate_cpu_topology_hints(
            self.available_cpus(state), state.reusable.get(pod.uid, CPUSet()), requested
        )

    def get_pod_topology_hints(self, state: CPUState, pod: Pod) -> list[TopologyHint] | None:
        """Pod-scope CPU hints for the whole pod's exclusive CPUs."""
        if self.is_pod_level(pod):
            return self._pod_level_hints(state, pod)
        requested = self.pod_guaranteed_cpus(pod)
        if requested == 0:
            return None
        assigned = CPUSet()
        for c in pod.all_containers():
            allocated = state.cpuset_of(pod.uid, c.name)
            if allocated is None:
                continue
            if len(allocated) != self.guaranteed_cpus(pod, c):
                return []
            assigned = assigned | allocated
        if len(assigned) == requested:
            return self.generate_cpu_topology_hints(assigned, CPUSet(), requested)
        reusable = state.reusable.get(pod.uid, CPUSet()) | assigned
        return self.generate_cpu_topology_hints(self.available_cpus(state), reusable, requested)

    def _pod_level_hints(self, state: CPUState, pod: Pod) -> list[TopologyHint] | None:
        """KEP-5526 pod hints: sized by the pod budget; [] when the pod cannot be carved."""
        budget = self.pod_level_cpus(pod)
        if budget == 0:
            return None
        block = state.pod_entries.get(pod.uid)
        if block is not None:
            if len(block) != budget:
                return []
            return self.generate_cpu_topology_hints(block, CPUSet(), budget)
        if self._pod_scope_error(pod, budget) is not None:
            return []
        return self.generate_cpu_topology_hints(self.available_cpus(state), CPUSet(), budget)

    def allocate_pod(
        self, state: CPUState, pod: Pod, numa_affinity: CPUSet | None = None
    ) -> CPUState:
        """KEP-5526 ``AllocatePod``: one NUMA-aligned block for the pod, carved into exclusive
        slices and the pod shared pool; idempotent."""
        budget = self.pod_level_cpus(pod)
        if budget == 0:
            return state
        problem = self._pod_scope_error(pod, budget)
        if problem is not None:
            raise EmptyPodSharedPoolError(problem)
        if self.options.full_pcpus_only:
            # The pod total must be whole cores; the slices inside are not checked.
            if budget % self.cpu_group_size != 0:
                raise SMTAlignmentError(budget, self.cpu_group_size)
            physical = len(self.available_physical_cpus(state))
            if budget > physical:
                raise SMTAlignmentError(
                    budget, self.cpu_group_size, physical, caused_by_physical_cpus=True
                )
        if pod.uid in state.pod_entries:
            return state
        block = self._allocate_cpus(state, budget, numa_affinity, CPUSet())
        entries: dict[str, CPUSet] = {}
        sidecar_cpus = CPUSet()
        for c in pod.init_containers:
            n = self.guaranteed_cpus(pod, c)
            if n:
                cpus = self.take_by_topology(block - sidecar_cpus, n)
                entries[c.name] = cpus
                if pod.is_sidecar(c):
                    sidecar_cpus = sidecar_cpus | cpus
            elif not pod.is_sidecar(c):
                # A shared standard init container runs before the apps: the whole block but
                # the sidecars' slices is its to use.
                entries[c.name] = block - sidecar_cpus
        pool = block - sidecar_cpus
        for c in pod.containers:
            n = self.guaranteed_cpus(pod, c)
            if n:
                cpus = self.take_by_topology(pool, n)
                entries[c.name] = cpus
                pool = pool - cpus
        for c in pod.all_containers():
            entries.setdefault(c.name, pool)
        assignments = dict(state.assignments)
        assignments[pod.uid] = entries
        return CPUState(
            default_cpuset=state.default_cpuset - block,
            assignments=assignments,
            reusable=state.reusable,
            pod_entries={**state.pod_entries, pod.uid: block},
        )

    def generate_cpu_topology_hints(
        self, available: CPUSet, reusable: CPUSet, request: int
    ) -> list[TopologyHint]:
        """Every NUMA mask that can hold ``request`` CPUs; the narrowest *possible* preferred."""
        topo = self.topology
        pos = self._numa_pos
        # The preferred width depends on the machine's shape, not on what is free now: the
        # narrowest width at which some mask has enough CPUs in total.
        min_affinity = min(
            (w for w, total in self._max_total_by_width.items() if total >= request),
            default=topo.num_numa_nodes,
        )
        free_at = [0] * len(pos)
        for nid, cpus in topo.cpus_by_numa.items():
            free_at[pos[nid]] = len(cpus.as_frozenset() & available.as_frozenset())
        reusable_bits = 0
        for c in reusable:
            reusable_bits |= 1 << pos[topo.cpu_info[c].numa]
        # Free CPUs per mask, built incrementally: a mask's count is that of the mask without
        # its lowest node (always enumerated earlier, being narrower) plus that node's count.
        sums = [0] * (1 << len(pos))
        for bits, low, rest in self._mask_order:
            sums[bits] = sums[rest] + free_at[low]
        need = request - len(reusable)
        if self.options.align_by_socket:
            return [
                yes if size == min_affinity or self._socket_aligned(mask, min_affinity) else no
                for mask, bits, size, yes, no in self._mask_rows
                if sums[bits] >= need and not reusable_bits & ~bits
            ]
        return [
            yes if size == min_affinity else no
            for _, bits, size, yes, no in self._mask_rows
            if sums[bits] >= need and not reusable_bits & ~bits
        ]

    def _socket_aligned(self, mask: CPUSet, min_affinity: int) -> bool:
        topo = self.topology
        per_socket = topo.num_numa_nodes // topo.num_sockets
        if per_socket == 0:
            return False
        min_sockets = -(-min_affinity // per_socket)
        return len(topo.sockets_in_numa_nodes(mask)) == min_sockets


class NonePolicy:
    """The ``none`` CPU manager policy: no exclusive CPUs, every container on every CPU."""

    name: Final = "none"

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.reserved_cpus = CPUSet()
        self.options = StaticPolicyOptions()

    def start(self, state: CPUState | None = None) -> CPUState:
        if state is not None and any(state.assignments.values()):
            raise StateError("the none policy has no exclusive assignments, but the state has some")
        return CPUState(default_cpuset=self.topology.cpus)

    def available_cpus(self, state: CPUState) -> CPUSet:
        return CPUSet()

    def allocatable_cpus(self) -> CPUSet:
        return CPUSet()

    def allocate(
        self,
        state: CPUState,
        pod: Pod,
        container: Container,
        numa_affinity: CPUSet | None = None,
    ) -> CPUState:
        return state

    def remove_container(self, state: CPUState, pod_uid: str, container_name: str) -> CPUState:
        return state

    def get_topology_hints(
        self, state: CPUState, pod: Pod, container: Container
    ) -> list[TopologyHint] | None:
        return None

    def get_pod_topology_hints(self, state: CPUState, pod: Pod) -> list[TopologyHint] | None:
        return None

    def is_pod_level(self, pod: Pod) -> bool:
        return False

    def allocate_pod(
        self, state: CPUState, pod: Pod, numa_affinity: CPUSet | None = None
    ) -> CPUState:
        return state

    def guaranteed_cpus(self, pod: Pod, container: Container) -> int:
        return 0
