"""The machine model: a frozen CPU / NUMA / cache topology.

This is what the kubelet calls ``CPUTopology`` + ``CPUDetails`` (built by cAdvisor from sysfs),
plus what the memory and topology managers need from ``/sys/devices/system/node``: memory and
hugepages per NUMA node and the NUMA distance matrix.

Identity rules follow the kubelet, so allocations come out CPU for CPU the same:

* only **online** CPUs are part of the model (offline ones are kept for reports only);
* a core's id is the **lowest CPU id** among its online threads (``getUniqueCoreID``), so two
  sockets that both have a sysfs ``core_id`` 0 still give two distinct cores;
* a CPU's socket is its ``physical_package_id``; its uncore cache is the id of its L3 cache, or 0
  on machines that publish no L3 data;
* ``NumNUMANodes`` counts the NUMA nodes that hold online CPUs; CPU-less (CXL) nodes are in
  :attr:`Topology.numa_nodes` for the memory manager but not in the CPU counts.

Nothing here does I/O: :mod:`pinlet.server.sysfs` and :mod:`pinlet.server.machine` build it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from .cpuset import CPUSet


@dataclass(frozen=True, slots=True)
class CPUInfo:
    """Where one online CPU sits."""

    cpu: int
    socket: int
    """``physical_package_id``."""
    die: int
    """``die_id`` (0 where the kernel has no dies)."""
    core: int
    """The kubelet's core id: the lowest online CPU id among this CPU's SMT siblings."""
    core_id: int
    """The raw sysfs ``core_id`` (unique only within a package and die)."""
    numa: int
    uncore: int
    """The L3 ("uncore") cache id, 0 when the machine publishes none."""


@dataclass(frozen=True, slots=True)
class NUMANode:
    """One NUMA node: its CPUs (possibly none), memory and distances."""

    id: int
    cpus: CPUSet
    """Online CPUs of the node (empty for a memory-only node such as CXL memory)."""
    memory: int
    """``MemTotal`` in bytes (0 for a node with CPUs but no memory)."""
    hugepages: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    """Page size in bytes → number of pages configured (``nr_hugepages``)."""
    distances: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    """Node id → ACPI SLIT distance (10 to itself)."""


def _group(pairs: Iterable[tuple[int, int]]) -> dict[int, CPUSet]:
    acc: dict[int, set[int]] = {}
    for key, cpu in pairs:
        acc.setdefault(key, set()).add(cpu)
    return {k: CPUSet(v) for k, v in acc.items()}


def _relation(pairs: Iterable[tuple[int, int]]) -> dict[int, frozenset[int]]:
    acc: dict[int, set[int]] = {}
    for a, b in pairs:
        acc.setdefault(a, set()).add(b)
    return {k: frozenset(v) for k, v in acc.items()}


class Topology:
    """A frozen machine model with the kubelet's ``CPUDetails`` queries, precomputed."""

    _FIELDS = ("cpu_info", "name", "numa_nodes", "offline_cpus")

    cpu_info: Mapping[int, CPUInfo]
    numa_nodes: tuple[NUMANode, ...]
    offline_cpus: CPUSet
    name: str

    def __init__(
        self,
        cpus: Iterable[CPUInfo],
        numa_nodes: Iterable[NUMANode] = (),
        *,
        offline_cpus: CPUSet = CPUSet(),  # noqa: B008 - CPUSet is immutable
        name: str = "",
    ) -> None:
        info = {c.cpu: c for c in sorted(cpus, key=lambda c: c.cpu)}
        nodes = {n.id: n for n in numa_nodes}
        # Every NUMA node that has CPUs must be described; fill in a bare entry if a caller
        # (a unit test, a minimal description) gave CPUs only.
        for c in info.values():
            if c.numa not in nodes:
                nodes[c.numa] = NUMANode(id=c.numa, cpus=CPUSet(), memory=0)
        by_numa = _group((c.numa, c.cpu) for c in info.values())
        fixed = []
        for nid in sorted(nodes):
            n = nodes[nid]
            cpus_here = by_numa.get(nid, CPUSet())
            if n.cpus != cpus_here:
                n = NUMANode(
                    id=n.id,
                    cpus=cpus_here,
                    memory=n.memory,
                    hugepages=n.hugepages,
                    distances=n.distances,
                )
            fixed.append(n)
        object.__setattr__(self, "cpu_info", MappingProxyType(info))
        object.__setattr__(self, "numa_nodes", tuple(fixed))
        object.__setattr__(self, "offline_cpus", offline_cpus)
        object.__setattr__(self, "name", name)

    def __setattr__(self, name: str, value: object) -> None:
        if name in Topology._FIELDS:
            raise AttributeError("Topology is immutable")
        object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Topology):
            return NotImplemented
        return (
            dict(self.cpu_info) == dict(other.cpu_info)
            and self._nodes_key() == other._nodes_key()
            and self.offline_cpus == other.offline_cpus
        )

    def __hash__(self) -> int:
        return hash((tuple(self.cpu_info.values()), self._nodes_key(), self.offline_cpus))

    def _nodes_key(self) -> tuple[object, ...]:
        return tuple(
            (
                n.id,
                n.cpus,
                n.memory,
                tuple(sorted(n.hugepages.items())),
                tuple(sorted(n.distances.items())),
            )
            for n in self.numa_nodes
        )

    def __repr__(self) -> str:
        return (
            f"Topology(name={self.name!r}, cpus={self.num_cpus}, cores={self.num_cores}, "
            f"sockets={self.num_sockets}, numa={self.num_numa_nodes}, uncore={self.num_uncore})"
        )

    # -- counts (CPUTopology) --------------------------------------------------------------

    @cached_property
    def cpus(self) -> CPUSet:
        """All online CPUs."""
        return CPUSet(self.cpu_info)

    @property
    def num_cpus(self) -> int:
        return len(self.cpu_info)

    @property
    def num_cores(self) -> int:
        return len(self.cpus_by_core)

    @property
    def num_sockets(self) -> int:
        return len(self.cpus_by_socket)

    @property
    def num_numa_nodes(self) -> int:
        """NUMA nodes that hold online CPUs (the kubelet's ``NumNUMANodes``)."""
        return len(self.cpus_by_numa)

    @property
    def num_uncore(self) -> int:
        return len(self.cpus_by_uncore)

    # The kubelet divides with Go integer division; a half-offline core therefore makes the
    # per-core figure smaller than the SMT width, and such a core is never "free".
    @property
    def cpus_per_core(self) -> int:
        return self.num_cpus // self.num_cores if self.num_cores else 0

    @property
    def cpus_per_socket(self) -> int:
        return self.num_cpus // self.num_sockets if self.num_sockets else 0

    @property
    def cpus_per_uncore(self) -> int:
        return self.num_cpus // self.num_uncore if self.num_uncore else 0

    # -- indexes (CPUDetails) ---------------------------------------------------------------

    @cached_property
    def cpus_by_numa(self) -> Mapping[int, CPUSet]:
        return MappingProxyType(_group((c.numa, c.cpu) for c in self.cpu_info.values()))

    @cached_property
    def cpus_by_socket(self) -> Mapping[int, CPUSet]:
        return MappingProxyType(_group((c.socket, c.cpu) for c in self.cpu_info.values()))

    @cached_property
    def cpus_by_core(self) -> Mapping[int, CPUSet]:
        return MappingProxyType(_group((c.core, c.cpu) for c in self.cpu_info.values()))

    @cached_property
    def cpus_by_uncore(self) -> Mapping[int, CPUSet]:
        return MappingProxyType(_group((c.uncore, c.cpu) for c in self.cpu_info.values()))

    @cached_property
    def sockets_by_numa(self) -> Mapping[int, frozenset[int]]:
        return MappingProxyType(_relation((c.numa, c.socket) for c in self.cpu_info.values()))

    @cached_property
    def numas_by_socket(self) -> Mapping[int, frozenset[int]]:
        return MappingProxyType(_relation((c.socket, c.numa) for c in self.cpu_info.values()))

    @cached_property
    def cores_by_socket(self) -> Mapping[int, frozenset[int]]:
        return MappingProxyType(_relation((c.socket, c.core) for c in self.cpu_info.values()))

    @cached_property
    def cores_by_numa(self) -> Mapping[int, frozenset[int]]:
        return MappingProxyType(_relation((c.numa, c.core) for c in self.cpu_info.values()))

    @cached_property
    def uncores_by_numa(self) -> Mapping[int, frozenset[int]]:
        return MappingProxyType(_relation((c.numa, c.uncore) for c in self.cpu_info.values()))

    def numa_ids(self) -> CPUSet:
        """Ids of the NUMA nodes that hold CPUs (the kubelet's ``CPUDetails.NUMANodes()``)."""
        return CPUSet(self.cpus_by_numa)

    def all_numa_ids(self) -> CPUSet:
        """Ids of every NUMA node, including memory-only ones."""
        return CPUSet(n.id for n in self.numa_nodes)

    def node(self, numa_id: int) -> NUMANode:
        for n in self.numa_nodes:
            if n.id == numa_id:
                return n
        raise KeyError(numa_id)

    def cpus_in_numa_nodes(self, ids: Iterable[int]) -> CPUSet:
        empty = CPUSet()
        return empty.union(*(self.cpus_by_numa.get(i, empty) for i in ids))

    def cpus_in_sockets(self, ids: Iterable[int]) -> CPUSet:
        empty = CPUSet()
        return empty.union(*(self.cpus_by_socket.get(i, empty) for i in ids))

    def cpus_in_cores(self, ids: Iterable[int]) -> CPUSet:
        empty = CPUSet()
        return empty.union(*(self.cpus_by_core.get(i, empty) for i in ids))

    def sockets_in_numa_nodes(self, ids: Iterable[int]) -> frozenset[int]:
        out: set[int] = set()
        for i in ids:
            out |= self.sockets_by_numa.get(i, frozenset())
        return frozenset(out)

    def numa_of(self, cpus: Iterable[int]) -> CPUSet:
        """The NUMA nodes that the given CPUs sit on."""
        return CPUSet(self.cpu_info[c].numa for c in cpus)

    def siblings(self, cpus: Iterable[int]) -> CPUSet:
        """All SMT siblings (whole cores) of the given CPUs."""
        return self.cpus_in_cores(self.cpu_info[c].core for c in cpus)
