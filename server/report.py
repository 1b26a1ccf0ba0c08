"""A human-readable report of a machine model (``pinlet topology``).

The first line counts everything: CPUs, cores, sockets, NUMA nodes with CPUs, L3 caches, SMT
threads per core and offline CPUs. "Threads per core" is the widest core, i.e. the SMT width
of the hardware, not the kubelet's ``CPUsPerCore`` (which integer-divides and so shrinks when
a thread is offline). A line with the offline CPUs follows if there are any.

Then a tree: socket → NUMA node (CPUs, memory in GiB, hugepages, distances) → L3 cache →
cores. An L3 that spans several NUMA nodes (Intel SNC) appears under each of them with the CPUs
it has there and a note naming the other nodes. Cores are printed one line each
(``core <kubelet id>: cpus a,b``) on machines of up to :data:`CORE_LINES_UP_TO` cores. Beyond
that a line per core stops being readable (a 384-CPU box would print 192 of them), so each
L3 line instead lists its cores' kubelet ids and CPUs as cpulists, and the whole machine
still fits on a screen or two.

NUMA nodes without online CPUs (CXL memory, or nodes whose CPUs are all offline) are listed
last under their own heading, since they belong to no socket.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .cpuset import CPUSet
from .machine import format_bytes
from .topology import NUMANode, Topology

CORE_LINES_UP_TO: Final = 32
"""Machines with at most this many cores get one line per core."""

_GiB: Final = 1 << 30
_INDENT: Final = "  "


def render(topology: Topology) -> str:
    """The report for ``topology``, ending in a newline."""
    lines = [_header(topology)]
    if topology.offline_cpus:
        lines.append(f"offline CPUs: {topology.offline_cpus}")
    per_core = topology.num_cores <= CORE_LINES_UP_TO
    for socket in sorted(topology.cpus_by_socket):
        socket_cpus = topology.cpus_by_socket[socket]
        lines.append(f"socket {socket}: CPUs {socket_cpus}")
        for numa in sorted(topology.numas_by_socket[socket]):
            node = topology.node(numa)
            here = socket_cpus & node.cpus
            lines.append(_INDENT + f"NUMA node {numa}: CPUs {here}, {_node_facts(node)}")
            for uncore in sorted(topology.uncores_by_numa[numa]):
                lines.extend(_l3_lines(topology, uncore, here, per_core))
    memory_only = [n for n in topology.numa_nodes if not n.cpus]
    if memory_only:
        lines.append("NUMA nodes without CPUs:")
        lines.extend(_INDENT + f"NUMA node {n.id}: {_node_facts(n)}" for n in memory_only)
    return "\n".join(lines) + "\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _header(t: Topology) -> str:
    threads = max((len(cpus) for cpus in t.cpus_by_core.values()), default=0)
    counts = ", ".join(
        (
            _plural(t.num_cpus, "CPU"),
            _plural(t.num_cores, "core"),
            _plural(t.num_sockets, "socket"),
            _plural(t.num_numa_nodes, "NUMA node"),
            _plural(t.num_uncore, "L3 cache"),
            f"{threads} {'thread' if threads == 1 else 'threads'} per core",
            _plural(len(t.offline_cpus), "offline CPU"),
        )
    )
    return f"{t.name or 'machine'}: {counts}"


def _node_facts(node: NUMANode) -> str:
    facts = [f"memory {node.memory / _GiB:.1f} GiB" if node.memory else "no memory"]
    if node.hugepages:
        pages = ", ".join(
            f"{format_bytes(size)} x {count}" for size, count in sorted(node.hugepages.items())
        )
        facts.append(f"hugepages {pages}")
    if node.distances:
        facts.append("distances " + " ".join(f"{n}:{d}" for n, d in sorted(node.distances.items())))
    return ", ".join(facts)


def _l3_lines(t: Topology, uncore: int, numa_cpus: CPUSet, per_core: bool) -> Iterable[str]:
    cpus = t.cpus_by_uncore[uncore] & numa_cpus
    if not cpus:
        return []
    elsewhere = t.numa_of(t.cpus_by_uncore[uncore]) - t.numa_of(cpus)
    note = (
        f" (also on NUMA node{'s' if len(elsewhere) > 1 else ''} {elsewhere})" if elsewhere else ""
    )
    cores = CPUSet(t.cpu_info[c].core for c in cpus)
    if not per_core:
        return [2 * _INDENT + f"L3 {uncore}{note}: cores {cores}, CPUs {cpus}"]
    lines = [2 * _INDENT + f"L3 {uncore}{note}: CPUs {cpus}"]
    # Threads are listed one by one: "cpus 0,1" reads as two siblings where "0-1" looks like a
    # range someone might extend.
    lines.extend(
        3 * _INDENT + f"core {core}: cpus {','.join(map(str, t.cpus_by_core[core]))}"
        for core in cores
    )
    return lines
