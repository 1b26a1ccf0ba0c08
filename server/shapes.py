"""Regular machines from a few numbers: the ``shape`` form of a machine description.

A shape says how many sockets, cores and threads a machine has, how its cores split into NUMA
nodes and L3 caches, and how Linux numbers the threads. It expands to a full
:class:`~pinlet.server.topology.Topology`, so people can plan on a machine they do not have
("what would pinlet do on a 384-CPU box?") and the test fixtures can be generated from a
handful of lines.

Cores are counted globally, socket by socket: socket ``s`` holds cores
``s*cores_per_socket … (s+1)*cores_per_socket-1``. Consecutive runs of ``cores_per_numa`` cores
form a NUMA node and runs of ``cores_per_l3`` cores share an L3 cache (so an L3 may span several
NUMA nodes, as on Intel SNC, or a NUMA node may hold several L3s, as on AMD).

Thread numbering (``numbering``), with C cores in total and T threads per core:

* ``linux``: thread t of core k is CPU ``k + t*C`` (the usual x86 enumeration: first every
  core's first thread, then every core's second thread);
* ``adjacent``: thread t of core k is CPU ``k*T + t`` (siblings next to each other, as on
  POWER and many ARM boxes);
* ``interleaved``: sockets alternate CPU by CPU (CPU 0 on socket 0, CPU 1 on socket 1, ...),
  each socket's CPUs in ``linux`` order; this is the kubelet's ``topoDualSocketHT`` layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from .cpuset import MAX_CPUS, CPUSet
from .topology import CPUInfo, NUMANode, Topology

Numbering = Literal["linux", "adjacent", "interleaved"]
NUMBERINGS: tuple[Numbering, ...] = ("linux", "adjacent", "interleaved")

GiB = 1 << 30


class ShapeError(ValueError):
    """A shape does not describe a possible machine; ``field`` names the offending key."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True)
class Shape:
    """The numbers that define a regular machine."""

    sockets: int
    cores_per_socket: int
    threads_per_core: int = 1
    numa_per_socket: int = 1
    cores_per_l3: int = 0
    """0: the machine publishes no L3 data (no uncore grouping)."""
    numbering: Numbering = "linux"
    memory_per_numa: int = 64 * GiB
    hugepages_per_numa: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    """Page size in bytes → pages on every NUMA node."""
    distance_local: int = 10
    distance_same_socket: int = 12
    distance_remote: int = 21
    offline_cpus: CPUSet = field(default_factory=CPUSet)
    memory_only_nodes: tuple[int, ...] = ()
    """Sizes in bytes of extra NUMA nodes with memory but no CPUs (CXL), numbered after the
    CPU nodes."""
    memoryless_numa: tuple[int, ...] = ()
    """Ids of CPU nodes that have no memory."""

    def validate(self) -> None:
        for name in ("sockets", "cores_per_socket", "threads_per_core", "numa_per_socket"):
            if getattr(self, name) < 1:
                raise ShapeError(name, "must be at least 1")
        if self.cores_per_socket % self.numa_per_socket:
            raise ShapeError(
                "numa_per_socket",
                f"{self.cores_per_socket} cores per socket do not split into "
                f"{self.numa_per_socket} equal NUMA nodes",
            )
        if self.cores_per_l3 < 0:
            raise ShapeError("cores_per_l3", "must not be negative")
        if self.cores_per_l3 and self.cores_per_socket % self.cores_per_l3:
            raise ShapeError(
                "cores_per_l3",
                f"{self.cores_per_socket} cores per socket do not split into L3 groups "
                f"of {self.cores_per_l3}",
            )
        if self.numbering not in NUMBERINGS:
            raise ShapeError("numbering", f"must be one of {', '.join(NUMBERINGS)}")
        if self.memory_per_numa < 0:
            raise ShapeError("memory_per_numa", "must not be negative")
        total = self.sockets * self.cores_per_socket * self.threads_per_core
        if total > MAX_CPUS:
            # Beyond the kernel's NR_CPUS no real machine exists, and expanding a typo such as
            # a million sockets would only exhaust memory.
            raise ShapeError("sockets", f"{total} CPUs is more than the kernel's {MAX_CPUS}")
        bad = [c for c in self.offline_cpus if c >= total]
        if bad:
            raise ShapeError("offline_cpus", f"CPU {bad[0]} does not exist (machine has {total})")
        if 0 in self.offline_cpus:
            # Linux cannot offline CPU 0 on x86; keeping it online also keeps the model sane.
            raise ShapeError("offline_cpus", "CPU 0 cannot be offline")
        for size, count in self.hugepages_per_numa.items():
            if size <= 0 or count < 0:
                raise ShapeError(
                    "hugepages_per_numa",
                    f"{count} pages of {size} bytes: sizes must be "
                    "positive and counts not negative",
                )
        for name in ("distance_local", "distance_same_socket", "distance_remote"):
            if getattr(self, name) < 0:
                raise ShapeError(name, "must not be negative")
        if any(size < 0 for size in self.memory_only_nodes):
            raise ShapeError("memory_only_nodes", "sizes must not be negative")
        outside = [n for n in self.memoryless_numa if not 0 <= n < self.num_numa_cpu_nodes]
        if outside:
            # Memory-only nodes are described by their size; "memoryless" is for CPU nodes.
            raise ShapeError(
                "memoryless_numa",
                f"node {outside[0]} is not a CPU node (those are 0-{self.num_numa_cpu_nodes - 1})",
            )

    @property
    def num_numa_cpu_nodes(self) -> int:
        return self.sockets * self.numa_per_socket

    @property
    def cores_per_numa(self) -> int:
        return self.cores_per_socket // self.numa_per_socket


def _cpu_number(shape: Shape, core: int, thread: int) -> int:
    total_cores = shape.sockets * shape.cores_per_socket
    if shape.numbering == "linux":
        return core + thread * total_cores
    if shape.numbering == "adjacent":
        return core * shape.threads_per_core + thread
    # interleaved: position within the socket in linux order, then alternate sockets.
    socket, local = divmod(core, shape.cores_per_socket)
    pos = local + thread * shape.cores_per_socket
    return pos * shape.sockets + socket


def expand(shape: Shape, *, name: str = "") -> Topology:
    """Build the topology of a regular machine."""
    shape.validate()
    total_cores = shape.sockets * shape.cores_per_socket
    rows: list[tuple[int, int, int, int, int, int]] = []  # cpu, socket, core_id, numa, l3, gcore
    for core in range(total_cores):
        socket, local = divmod(core, shape.cores_per_socket)
        numa = core // shape.cores_per_numa
        l3 = core // shape.cores_per_l3 if shape.cores_per_l3 else -1
        for t in range(shape.threads_per_core):
            cpu = _cpu_number(shape, core, t)
            if cpu in shape.offline_cpus:
                continue
            rows.append((cpu, socket, local, numa, l3, core))
    lowest: dict[int, int] = {}
    for cpu, *_rest, gcore in rows:
        lowest[gcore] = min(cpu, lowest.get(gcore, cpu))
    cpus = [
        CPUInfo(
            cpu=cpu,
            socket=socket,
            die=0,
            core=lowest[gcore],
            core_id=core_id,
            numa=numa,
            uncore=max(l3, 0),
        )
        for cpu, socket, core_id, numa, l3, gcore in rows
    ]
    nodes = _nodes(shape)
    return Topology(cpus, nodes, offline_cpus=shape.offline_cpus, name=name)


def _nodes(shape: Shape) -> list[NUMANode]:
    n_cpu_nodes = shape.num_numa_cpu_nodes
    ids = list(range(n_cpu_nodes + len(shape.memory_only_nodes)))

    def socket_of(node: int) -> int:
        return node // shape.numa_per_socket if node < n_cpu_nodes else -1

    def distance(a: int, b: int) -> int:
        if a == b:
            return shape.distance_local
        if socket_of(a) == socket_of(b) and socket_of(a) >= 0:
            return shape.distance_same_socket
        return shape.distance_remote

    nodes = []
    for nid in ids:
        if nid < n_cpu_nodes:
            memory = 0 if nid in shape.memoryless_numa else shape.memory_per_numa
            hugepages: Mapping[int, int] = (
                MappingProxyType({}) if nid in shape.memoryless_numa else shape.hugepages_per_numa
            )
        else:
            memory = shape.memory_only_nodes[nid - n_cpu_nodes]
            hugepages = MappingProxyType({})
        nodes.append(
            NUMANode(
                id=nid,
                cpus=CPUSet(),  # filled in by Topology from the CPUs
                memory=memory,
                hugepages=MappingProxyType(dict(hugepages)),
                distances=MappingProxyType({b: distance(nid, b) for b in ids}),
            )
        )
    return nodes


def from_rows(
    rows: Iterable[tuple[int, int, int, int] | tuple[int, int, int, int, int]],
    *,
    name: str = "",
) -> Topology:
    """A topology from literal ``(cpu, socket, core, numa[, uncore])`` rows.

    ``core`` is taken as the kubelet's global ``CoreID`` as it stands, exactly like the
    kubelet's own hand-written test topologies (``topoDualSocketHT`` and friends), so their
    expected CPU ids carry over unchanged.
    """
    return Topology(
        [
            CPUInfo(
                cpu=r[0],
                socket=r[1],
                die=0,
                core=r[2],
                core_id=r[2],
                numa=r[3],
                uncore=r[4] if len(r) == 5 else 0,
            )
            for r in rows
        ],
        name=name,
    )
