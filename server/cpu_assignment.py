"""The kubelet's CPU assignment algorithm (``cpumanager/cpu_assignment.go``), rule for rule.

Given a frozen :class:`~pinlet.server.topology.Topology`, a set of available CPUs and a count,
pick which CPUs to hand out. Pure: no I/O, no state beyond the call.

**Packed** (``takeByTopologyNUMAPacked``) is a best-fit accumulator:

1. take whole free NUMA nodes, then whole free sockets (or sockets first, then NUMA nodes, on
   machines with several NUMA nodes per socket), each only while the request needs at least
   that many CPUs;
2. with ``prefer-align-cpus-by-uncorecache``: whole free L3 caches, then a *partial* take that
   fits the rest into the lowest-id cores of one L3 cache if it can do so exactly;
3. whole free cores (not with the *spread* strategy);
4. single CPUs in the strategy's CPU order until satisfied.

Every "sorted" list orders elements by how many of their CPUs are still free, ascending, ties
by id: the most used element comes first, which is what packs new allocations next to old
ones. On a NUMA-first machine (sockets ≥ NUMA nodes) NUMA nodes are sorted directly, sockets
within each sorted NUMA node and cores within each sorted socket; on a sockets-first machine
sockets are sorted directly, NUMA nodes within each socket and cores within each NUMA node.
The *packed* CPU order lists each sorted core's free CPUs ascending; the *spread* order
(``distribute-cpus-across-cores``) lists each sorted socket's free CPUs ascending, so it
interleaves the threads of different cores.

**Distributed** (``takeByTopologyNUMADistributed``, KEP-2902) spreads a request evenly over
the fewest NUMA nodes that can hold it, choosing the combination that leaves the machine's free
CPUs most balanced (lowest population standard deviation), then hands any remainder out in
``cpu_group_size`` chunks.

Deliberate deviations from the Go code, both only reachable on machines with offline CPUs
(uneven sockets or cores), where the kubelet would hand out a CPU it had already given away: a
socket or core counts as *free* only when all of its CPUs are free, not merely as many as the
per-socket / per-core average. The Go combination iterator also aliases slices for 4-, 6-, 7-
and 8-element combinations, which can corrupt the recorded best combination; pinlet evaluates
combinations as the algorithm describes them.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from .cpuset import CPUSet
from .errors import CPUAllocationFailedError, NotEnoughCPUsError
from .topology import Topology


class SortingStrategy(enum.Enum):
    """How single CPUs are ordered: packed by core, or spread across cores."""

    PACKED = "packed"
    SPREAD = "spread"


def _go_round3(x: float) -> float:
    # Go's math.Round rounds half away from zero; Python's round() rounds half to even.
    return math.floor(x * 1000 + 0.5) / 1000 if x >= 0 else -math.floor(-x * 1000 + 0.5) / 1000


def _mean(xs: Sequence[int]) -> float:
    return _go_round3(sum(float(x) for x in xs) / len(xs))


def _standard_deviation(xs: Sequence[int]) -> float:
    m = _mean(xs)
    total = sum((float(x) - m) * (float(x) - m) for x in xs)
    return _go_round3(math.sqrt(total / len(xs)))


class _Accumulator:
    """The kubelet's ``cpuAccumulator``: free CPUs indexed per element, the result so far."""

    def __init__(
        self, topo: Topology, available: CPUSet, num_cpus: int, strategy: SortingStrategy
    ) -> None:
        self.topo = topo
        self.strategy = strategy
        self.need = num_cpus
        self.result: set[int] = set()
        # CPUs that are not online CPUs of this machine are never handed out.
        avail = available.as_frozenset() & topo.cpus.as_frozenset()
        self.free_numa = self._index(topo.cpus_by_numa, avail)
        self.free_socket = self._index(topo.cpus_by_socket, avail)
        self.free_core = self._index(topo.cpus_by_core, avail)
        self.free_uncore = self._index(topo.cpus_by_uncore, avail)
        self.num_free = sum(len(s) for s in self.free_numa.values())
        self.numa_first = topo.num_sockets >= topo.num_numa_nodes

    @staticmethod
    def _index(members: Mapping[int, CPUSet], avail: frozenset[int]) -> dict[int, set[int]]:
        """Element id → its free CPUs, for elements that have any."""
        out: dict[int, set[int]] = {}
        for key, cpus in members.items():
            free = cpus.as_frozenset() & avail
            if free:
                out[key] = set(free)
        return out

    # -- bookkeeping ---------------------------------------------------------------------------

    def take(self, cpus: Iterable[int]) -> None:
        info = self.topo.cpu_info
        taken = 0
        for c in cpus:
            if c in self.result:
                continue
            ci = info[c]
            for index, key in (
                (self.free_numa, ci.numa),
                (self.free_socket, ci.socket),
                (self.free_core, ci.core),
                (self.free_uncore, ci.uncore),
            ):
                bucket = index.get(key)
                if bucket is not None:
                    bucket.discard(c)
                    if not bucket:
                        del index[key]
            self.result.add(c)
            taken += 1
        self.num_free -= taken
        self.need -= taken

    def is_satisfied(self) -> bool:
        return self.need < 1

    def is_failed(self) -> bool:
        return self.need > self.num_free

    def needs_at_least(self, n: int) -> bool:
        return self.need >= n

    @staticmethod
    def _sorted(ids: Iterable[int], free: Mapping[int, set[int]]) -> list[int]:
        # Ascending number of free CPUs in the element, ties by id (the kubelet's sort()).
        return sorted(ids, key=lambda i: (len(free[i]), i))

    # -- the element orders --------------------------------------------------------------------

    def _sockets_in_numa(self, numa: int) -> list[int]:
        rel = self.topo.sockets_by_numa.get(numa, frozenset())
        if len(rel) == 1:
            return list(rel)
        free = self.free_numa[numa]
        return [
            s for s in rel if s in self.free_socket and not free.isdisjoint(self.free_socket[s])
        ]

    def _numas_in_socket(self, socket: int) -> list[int]:
        rel = self.topo.numas_by_socket.get(socket, frozenset())
        if len(rel) == 1:
            return list(rel)
        free = self.free_socket[socket]
        return [n for n in rel if n in self.free_numa and not free.isdisjoint(self.free_numa[n])]

    def sort_numas(self) -> list[int]:
        if self.numa_first:
            return self._sorted(self.free_numa, self.free_numa)
        result: list[int] = []
        for socket in self.sort_sockets():
            result.extend(self._sorted(self._numas_in_socket(socket), self.free_numa))
        return result

    def sort_sockets(self) -> list[int]:
        if not self.numa_first:
            return self._sorted(self.free_socket, self.free_socket)
        result: list[int] = []
        for numa in self.sort_numas():
            result.extend(self._sorted(self._sockets_in_numa(numa), self.free_socket))
        return result

    def sort_cores(self) -> list[int]:
        result: list[int] = []
        free_core = self.free_core
        if self.numa_first:
            for socket in self.sort_sockets():
                cores = [c for c in self.topo.cores_by_socket.get(socket, ()) if c in free_core]
                result.extend(self._sorted(cores, free_core))
        else:
            for numa in self.sort_numas():
                cores = [c for c in self.topo.cores_by_numa.get(numa, ()) if c in free_core]
                result.extend(self._sorted(cores, free_core))
        return result

    def sort_uncores(self) -> list[int]:
        result: list[int] = []
        for numa in self.sort_numas():
            free = self.free_numa[numa]
            uncores = [
                u
                for u in self.topo.uncores_by_numa.get(numa, ())
                if u in self.free_uncore and not free.isdisjoint(self.free_uncore[u])
            ]
            result.extend(self._sorted(uncores, self.free_uncore))
        return result

    def sort_cpus_packed(self) -> list[int]:
        return [cpu for core in self.sort_cores() for cpu in sorted(self.free_core[core])]

    def sort_cpus_spread(self) -> list[int]:
        return [cpu for sock in self.sort_sockets() for cpu in sorted(self.free_socket[sock])]

    # -- whole-element steps -------------------------------------------------------------------

    def _take_full(
        self,
        order: list[int],
        free: Mapping[int, set[int]],
        members: Callable[[int], CPUSet],
        is_free: Callable[[int], bool],
    ) -> None:
        # The free list is computed once, before any take, exactly like the Go loops.
        for element in [e for e in order if is_free(e)]:
            cpus = members(element)
            if not self.needs_at_least(len(cpus)):
                continue
            self.take(cpus)

    def take_full_numa_nodes(self) -> None:
        topo = self.topo
        self._take_full(
            self.sort_numas(),
            self.free_numa,
            lambda n: topo.cpus_by_numa[n],
            lambda n: len(self.free_numa[n]) == len(topo.cpus_by_numa[n]),
        )

    def take_full_sockets(self) -> None:
        topo = self.topo
        per_socket = topo.cpus_per_socket
        self._take_full(
            self.sort_sockets(),
            self.free_socket,
            lambda s: topo.cpus_by_socket[s],
            lambda s: len(self.free_socket[s]) == per_socket == len(topo.cpus_by_socket[s]),
        )

    def take_full_cores(self) -> None:
        topo = self.topo
        per_core = topo.cpus_per_core
        self._take_full(
            self.sort_cores(),
            self.free_core,
            lambda c: topo.cpus_by_core[c],
            lambda c: len(self.free_core[c]) == per_core == len(topo.cpus_by_core[c]),
        )

    def take_full_first_level(self) -> None:
        if self.numa_first:
            self.take_full_numa_nodes()
        else:
            self.take_full_sockets()

    def take_full_second_level(self) -> None:
        if self.numa_first:
            self.take_full_sockets()
        else:
            self.take_full_numa_nodes()

    # -- uncore (L3) steps ---------------------------------------------------------------------

    def _free_uncores(self) -> list[int]:
        topo = self.topo
        return [
            u
            for u in self.sort_uncores()
            if len(self.free_uncore[u]) == len(topo.cpus_by_uncore[u])
        ]

    def take_full_uncores(self) -> None:
        for u in self._free_uncores():
            cpus = self.topo.cpus_by_uncore[u]
            if not self.needs_at_least(len(cpus)):
                continue
            self.take(cpus)

    def take_partial_uncore(self, uncore: int) -> None:
        per_core = self.topo.cpus_per_core
        cores_needed = -(-self.need // per_core)  # ceil
        free_cache = self.free_uncore.get(uncore)
        if not free_cache:
            return
        cores = sorted({self.topo.cpu_info[c].core for c in free_cache})[:cores_needed]
        candidate = sorted(cpu for core in cores for cpu in self.free_core[core])
        # With SMT, an odd request cannot use every thread of its last core: leave the
        # highest thread for someone else.
        if self.need % 2 == 1 and per_core > 1 and len(candidate) > self.need:
            candidate = candidate[:-1]
        if len(candidate) == self.need:
            self.take(candidate)

    def take_uncore_cache(self) -> None:
        per_uncore = self.topo.cpus_per_uncore
        for uncore in self.sort_uncores():
            if self.needs_at_least(per_uncore):
                self.take_full_uncores()
            if self.is_satisfied():
                return
            self.take_partial_uncore(uncore)
            if self.is_satisfied():
                return

    # -- single CPUs ---------------------------------------------------------------------------

    def take_remaining_cpus(self) -> None:
        order = (
            self.sort_cpus_spread()
            if self.strategy is SortingStrategy.SPREAD
            else self.sort_cpus_packed()
        )
        for cpu in order:
            self.take((cpu,))
            if self.is_satisfied():
                return


def take_by_topology_numa_packed(
    topo: Topology,
    available: CPUSet,
    num_cpus: int,
    strategy: SortingStrategy = SortingStrategy.PACKED,
    prefer_align_by_uncore: bool = False,
) -> CPUSet:
    """Pick ``num_cpus`` CPUs from ``available`` with the kubelet's best-fit packing."""
    acc = _Accumulator(topo, available, num_cpus, strategy)
    if acc.is_satisfied():
        return CPUSet()
    if acc.is_failed():
        raise NotEnoughCPUsError(num_cpus, len(available))

    acc.take_full_first_level()
    if acc.is_satisfied():
        return CPUSet(acc.result)
    acc.take_full_second_level()
    if acc.is_satisfied():
        return CPUSet(acc.result)

    if prefer_align_by_uncore:
        acc.take_uncore_cache()
        if acc.is_satisfied():
            return CPUSet(acc.result)

    if strategy is not SortingStrategy.SPREAD:
        acc.take_full_cores()
        if acc.is_satisfied():
            return CPUSet(acc.result)

    acc.take_remaining_cpus()
    if acc.is_satisfied():
        return CPUSet(acc.result)
    raise CPUAllocationFailedError()


def _range_numa_nodes_needed(acc: _Accumulator, group: int) -> tuple[int, int]:
    topo = acc.topo
    num_numa = topo.num_numa_nodes
    num_numa_available = len(acc.free_numa)
    num_groups = (topo.num_cpus - 1) // group + 1
    groups_per_numa = (num_groups - 1) // num_numa + 1
    groups_needed = (acc.need - 1) // group + 1
    min_numas = (groups_needed - 1) // groups_per_numa + 1
    max_numas = min(groups_needed, num_numa_available)
    return min_numas, max_numas


def _hand_out(after: dict[int, int], subset: Sequence[int], remainder: int, group: int) -> bool:
    """Take ``group`` CPUs at a time round-robin over ``subset``; False if it cannot finish."""
    while remainder > 0:
        progressed = False
        for numa in subset:
            if remainder == 0:
                break
            if after[numa] < group:
                continue
            after[numa] -= group
            remainder -= group
            progressed = True
        if not progressed:
            # The Go loop would spin forever here; no valid subset reaches this state.
            return False
    return True


def take_by_topology_numa_distributed(
    topo: Topology,
    available: CPUSet,
    num_cpus: int,
    cpu_group_size: int,
    strategy: SortingStrategy = SortingStrategy.PACKED,
) -> CPUSet:
    """Spread ``num_cpus`` evenly over the fewest NUMA nodes that leave the machine balanced."""
    group = cpu_group_size
    if num_cpus % group != 0:
        return take_by_topology_numa_packed(topo, available, num_cpus, strategy, False)

    acc = _Accumulator(topo, available, num_cpus, strategy)
    if acc.is_satisfied():
        return CPUSet()
    if acc.is_failed():
        raise NotEnoughCPUsError(num_cpus, len(available))

    numas = acc.sort_numas()
    free_count = {n: len(acc.free_numa[n]) for n in numas}
    min_numas, max_numas = _range_numa_nodes_needed(acc, group)

    for k in range(min_numas, max_numas + 1):
        best_balance = math.inf
        best_combo: tuple[int, ...] | None = None
        best_remainder: tuple[int, ...] = ()
        for combo in itertools.combinations(numas, k):
            if best_balance == 0:
                break
            if sum(free_count[n] for n in combo) < num_cpus:
                continue
            if sum(free_count[n] // group for n in combo) * group < num_cpus:
                continue
            distribution = (num_cpus // k // group) * group
            if any(free_count[n] < distribution for n in combo):
                continue
            after = dict(free_count)
            for n in combo:
                after[n] -= distribution
            remainder = num_cpus - distribution * k
            remainder_combo = [n for n in combo if after[n] >= group]

            local_balance = math.inf
            local_remainder: tuple[int, ...] = ()
            if remainder == 0:
                local_balance = _standard_deviation(list(after.values()))
            size = len(remainder_combo)
            while remainder > 0 and size >= 1:
                for subset in itertools.combinations(remainder_combo, size):
                    if sum(after[n] for n in subset) < remainder:
                        continue
                    trial = dict(after)
                    if not _hand_out(trial, subset, remainder, group):
                        continue
                    balance = _standard_deviation(list(trial.values()))
                    if balance < local_balance:
                        local_balance = balance
                        local_remainder = subset
                size -= 1

            if local_balance < best_balance:
                best_balance = local_balance
                best_remainder = local_remainder
                best_combo = combo

        if best_combo is None:
            continue

        distribution = (num_cpus // len(best_combo) // group) * group
        for n in best_combo:
            node_free = CPUSet(acc.free_numa.get(n, ()))
            acc.take(take_by_topology_numa_packed(topo, node_free, distribution, strategy, False))
        remainder = num_cpus - distribution * len(best_combo)
        while remainder > 0:
            progressed = False
            for n in best_remainder:
                if remainder == 0:
                    break
                node_free = CPUSet(acc.free_numa.get(n, ()))
                if len(node_free) < group:
                    continue
                acc.take(take_by_topology_numa_packed(topo, node_free, group, strategy, False))
                remainder -= group
                progressed = True
            if not progressed:
                break
        if acc.need > 0:
            raise CPUAllocationFailedError(
                f"accounting error, not enough CPUs allocated, remaining: {acc.need}"
            )
        if acc.need < 0:
            raise CPUAllocationFailedError(
                f"accounting error, too many CPUs allocated, remaining: {acc.need}"
            )
        return CPUSet(acc.result)

    return take_by_topology_numa_packed(topo, available, num_cpus, strategy, False)
