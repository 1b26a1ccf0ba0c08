"""The human-readable topology report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pinlet.server.machine import load
from pinlet.server.report import CORE_LINES_UP_TO, render
from pinlet.server.shapes import from_rows
from pinlet.server.topology import Topology

MACHINES = Path(__file__).parent / "fixtures" / "machines"
NAMED = sorted(p.stem for p in MACHINES.glob("*.yaml"))


def _machine(name: str) -> Topology:
    return load(MACHINES / f"{name}.yaml")


def test_small_machine_report() -> None:
    """A small machine gets the count header and a socket/NUMA/L3/core tree."""
    assert render(_machine("single-socket-ht")) == (
        "single-socket-ht: 8 CPUs, 4 cores, 1 socket, 1 NUMA node, 1 L3 cache, "
        "2 threads per core, 0 offline CPUs\n"
        "socket 0: CPUs 0-7\n"
        "  NUMA node 0: CPUs 0-7, memory 16.0 GiB, distances 0:10\n"
        "    L3 0: CPUs 0-7\n"
        "      core 0: cpus 0,4\n"
        "      core 1: cpus 1,5\n"
        "      core 2: cpus 2,6\n"
        "      core 3: cpus 3,7\n"
    )


def test_unnamed_machine_header() -> None:
    """A topology without a name is called 'machine' in the header."""
    t = from_rows([(0, 0, 0, 0), (1, 0, 1, 0)])
    assert render(t).startswith("machine: 2 CPUs, 2 cores, 1 socket,")


def test_l3_spanning_numa_nodes_is_shown_under_each() -> None:
    """On SNC an L3 appears under both of its NUMA nodes, each naming the other."""
    lines = render(_machine("dual-socket-snc2")).splitlines()
    assert "    L3 0 (also on NUMA node 1): CPUs 0-3,16-19" in lines
    assert "    L3 0 (also on NUMA node 0): CPUs 4-7,20-23" in lines


def test_several_l3_per_numa_node() -> None:
    """A NUMA node with several L3 caches lists each one with its cores."""
    lines = render(_machine("amd-ccx")).splitlines()
    start = lines.index("  NUMA node 1: CPUs 16-31,48-63, memory 64.0 GiB, distances 0:12 1:10")
    l3_lines = [line.strip() for line in lines[start:] if line.startswith("    L3 ")]
    assert l3_lines == [
        "L3 4: CPUs 16-19,48-51",
        "L3 5: CPUs 20-23,52-55",
        "L3 6: CPUs 24-27,56-59",
        "L3 7: CPUs 28-31,60-63",
    ]


def test_large_machine_is_compressed() -> None:
    """Beyond the core-line limit each L3 is one line of core ids and CPUs."""
    text = render(_machine("nps4-384"))
    lines = text.splitlines()
    assert not any(line.strip().startswith("core ") for line in lines)
    assert "    L3 23: cores 184-191, CPUs 184-191,376-383" in lines
    assert len([line for line in lines if line.startswith("    L3 ")]) == 24
    assert len(lines) < 40
    assert lines[0] == (
        "nps4-384: 384 CPUs, 192 cores, 2 sockets, 8 NUMA nodes, 24 L3 caches, "
        "2 threads per core, 0 offline CPUs"
    )


def test_core_line_limit_is_on_the_core_count() -> None:
    """Machines of up to CORE_LINES_UP_TO cores print a line per core."""
    t = _machine("amd-ccx")
    assert t.num_cores == CORE_LINES_UP_TO
    assert sum(line.startswith("      core ") for line in render(t).splitlines()) == 32


def test_offline_cpus() -> None:
    """Offline CPUs are counted, listed, and a half-offline core shows its online thread."""
    lines = render(_machine("dual-socket-ht-offline")).splitlines()
    # The header gives the SMT width (2), not the kubelet's 29 // 15 = 1 CPUs per core.
    assert lines[0].endswith("2 threads per core, 3 offline CPUs")
    assert lines[1] == "offline CPUs: 5,12,21"
    assert "      core 28: cpus 28" in lines
    assert not any(line.startswith("      core 5:") for line in lines)


def test_memory_only_nodes_are_listed_separately() -> None:
    """A CPU-less node is listed after the sockets with its memory."""
    lines = render(_machine("cxl-memory-node")).splitlines()
    assert lines[-2:] == [
        "NUMA nodes without CPUs:",
        "  NUMA node 2: memory 256.0 GiB, distances 0:21 1:21 2:10",
    ]


def test_memoryless_node_and_hugepages() -> None:
    """Hugepages are shown per node, and a node without memory says so."""
    lines = render(_machine("memoryless-node")).splitlines()
    assert (
        "  NUMA node 0: CPUs 0-3,8-11, memory 128.0 GiB, hugepages 2Mi x 2048, 1Gi x 8, "
        "distances 0:10 1:21"
    ) in lines
    assert (
        "  NUMA node 1: CPUs 4-7,12-15, no memory, hugepages 2Mi x 0, 1Gi x 0, distances 0:21 1:10"
    ) in lines


def test_adjacent_siblings_listed_as_threads() -> None:
    """Sibling threads are listed one by one, not as a range."""
    assert "      core 6: cpus 6,7" in render(_machine("adjacent-siblings")).splitlines()


@pytest.mark.parametrize("name", [n for n in NAMED if _machine(n).num_cores <= CORE_LINES_UP_TO])
def test_every_cpu_is_on_exactly_one_core_line(name: str) -> None:
    """In per-core reports each online CPU appears on exactly one core line."""
    t = _machine(name)
    listed: list[int] = []
    for match in re.finditer(r"^      core (\d+): cpus ([\d,]+)$", render(t), re.MULTILINE):
        listed.extend(int(c) for c in match[2].split(","))
    assert sorted(listed) == list(t.cpus)


@pytest.mark.parametrize("name", NAMED)
def test_header_counts(name: str) -> None:
    """The header's counts are the topology's own."""
    t = _machine(name)
    header = render(t).splitlines()[0]
    numbers = [int(part.split()[0]) for part in header.split(": ", 1)[1].split(", ")]
    assert numbers[:5] == [t.num_cpus, t.num_cores, t.num_sockets, t.num_numa_nodes, t.num_uncore]
    assert numbers[6] == len(t.offline_cpus)
