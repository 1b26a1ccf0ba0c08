"""The kubelet's takeByTopology allocators, against CPU ids worked out by hand.

Every expected cpulist below was derived from the kubelet's rules (kubelet-algorithms.md §1.5-1.7
and §5) without looking at pinlet's implementation; the comment above each case shows the
derivation. Machines are described in ``tests/machines.py``.

Shorthand in the comments: "N1(15)" = NUMA node 1 with 15 free CPUs, "core 3" = the core whose
lowest CPU id is 3, "free" = an element all of whose CPUs are available.
"""

from __future__ import annotations

import pytest
from machines import cpus, machine

from pinlet.server.cpu_assignment import (
    SortingStrategy,
    take_by_topology_numa_distributed,
    take_by_topology_numa_packed,
)
from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import NotEnoughCPUsError

PACKED = SortingStrategy.PACKED
SPREAD = SortingStrategy.SPREAD


# -- 1. packed ------------------------------------------------------------------------------

# fmt: off
PACKED_CASES = [
    # need 0 -> empty set before anything else.
    pytest.param("single-socket-ht", "0-7", 0, "",
        id="single-socket-ht/packed/need-0/expect-empty"),
    # NUMA 0 (8) > 1, socket 0 (8) > 1, core (2) > 1; CPU order: core 0 first -> 0.
    pytest.param("single-socket-ht", "0-7", 1, "0",
        id="single-socket-ht/packed/need-1/expect-cpu-0"),
    # Whole core 0 = 0,4 (same as the reserved-CPU example of §1.1).
    pytest.param("single-socket-ht", "0-7", 2, "0,4",
        id="single-socket-ht/packed/need-2/expect-core-0"),
    # Whole NUMA node 0 (all 8).
    pytest.param("single-socket-ht", "0-7", 8, "0-7",
        id="single-socket-ht/packed/need-8/expect-all"),
    # Upstream "take one cpu from single socket with HT, some cpus are taken": free 1,3,5,6,7;
    # cores sorted by free CPUs: core 2 (6 only) < core 1 (1,5) = core 3 (3,7) -> 6.
    pytest.param(
        "single-socket-ht", "1,3,5-7", 1, "6",
        id="single-socket-ht/packed/need-1-some-taken/expect-partial-core-sibling-6",
    ),
    # Upstream "take two cpus from single socket with HT, only one core totally free": free
    # 0,1,2,3,6; the only free core is 2 (2,6).
    pytest.param(
        "single-socket-ht", "0-3,6", 2, "2,6",
        id="single-socket-ht/packed/need-2-one-free-core/expect-2-6",
    ),
    # free 1-7: core 0 has 1 free (4) and sorts first; need 1 -> 4 (fills the partly used core).
    pytest.param(
        "single-socket-ht", "1-7", 1, "4", id="single-socket-ht/packed/need-1/expect-sibling-4"
    ),
    # free 1-7, need 3: free cores (sorted) 1,2,3 -> take core 1 (1,5), need 1; cores 2,3 too
    # big; CPU order starts with core 0's 4 -> 1,4,5.
    pytest.param(
        "single-socket-ht", "1-7", 3, "1,4-5",
        id="single-socket-ht/packed/need-3/expect-core-1-plus-partial-core-0",
    ),
    # The doc's example: NUMA 0 (6 CPUs) whole, need 2; NUMA 1 (6) too big; whole cores of
    # socket 1 sorted by id: core 1 = 1,7.
    pytest.param(
        "topo-dual-socket-ht", "0-11", 8, "0-2,4,6-8,10",
        id="topo-dual-socket-ht/packed/need-8-from-free/expect-socket-0-plus-core-1",
    ),
    pytest.param(
        "topo-dual-socket-ht", "0-11", 6, "0,2,4,6,8,10",
        id="topo-dual-socket-ht/packed/need-6/expect-socket-0",
    ),
    pytest.param(
        "topo-dual-socket-ht", "0-11", 12, "0-11",
        id="topo-dual-socket-ht/packed/need-12/expect-all"
    ),
    # Tie N0(6) = N1(6) broken by id: core 0 -> CPU 0.
    pytest.param(
        "topo-dual-socket-ht", "0-11", 1, "0",
        id="topo-dual-socket-ht/packed/need-1-tie/expect-lowest-id-0",
    ),
    # CPU 1 taken: N1(5) sorts before N0(6). Socket 1 cores: core 1 (7 only), core 3, core 5;
    # first free core = 3 -> 3,9 (packing bias: the partly used socket).
    pytest.param(
        "topo-dual-socket-ht", "0,2-11", 2, "3,9",
        id="topo-dual-socket-ht/packed/need-2-socket-1-partly-used/expect-core-3",
    ),
    # Same, need 3: core 3, then single CPUs: socket 1 still first (3 free: 5,7,11), core 1
    # (7 only) first -> 7.
    pytest.param(
        "topo-dual-socket-ht", "0,2-11", 3, "3,7,9",
        id="topo-dual-socket-ht/packed/need-3-socket-1-partly-used/expect-core-3-plus-7",
    ),
    # Upstream "GuPodMultipleCores, DualSocketHT, ExpectAllocThreeCores" (allocator view):
    # free 2,3,4,6-11; N1(4) first: cores 1 (7), 5 (11) partial, core 3 free; then N0(5):
    # core 0 (6) partial, cores 2, 4 free -> cores 3, 2, 4.
    pytest.param(
        "topo-dual-socket-ht", "2-4,6-11", 6, "2-4,8-10",
        id="topo-dual-socket-ht/packed/need-6-fragmented/expect-cores-3-2-4",
    ),
    # NUMA 0 (0-3) whole, need 1; socket-1 core 4 (no SMT: a core is one CPU).
    pytest.param(
        "dual-socket-no-ht", "0-7", 5, "0-4",
        id="dual-socket-no-ht/packed/need-5/expect-numa-0-plus-4"
    ),
    # CPU 3 taken: NUMA 1 is the only free node and need 4 >= 4 -> whole node before filling
    # the partly used one.
    pytest.param(
        "dual-socket-no-ht", "0-2,4-7", 4, "4-7",
        id="dual-socket-no-ht/packed/need-4-numa-0-partly-used/expect-whole-numa-1",
    ),
    # need 2: no whole node; cores of N0(3) first -> 0,1.
    pytest.param(
        "dual-socket-no-ht", "0-2,4-7", 2, "0-1",
        id="dual-socket-no-ht/packed/need-2-numa-0-partly-used/expect-0-1",
    ),
    # dual-socket-ht (NUMA first). Need 8 < 16: whole cores 0-3 of N0 (tie by id).
    pytest.param(
        "dual-socket-ht", "0-31", 8, "0-3,16-19",
        id="dual-socket-ht/packed/need-8-from-free/expect-cores-0-3",
    ),
    pytest.param(
        "dual-socket-ht", "0-31", 16, "0-7,16-23",
        id="dual-socket-ht/packed/need-16-from-free/expect-numa-0",
    ),
    # NUMA 0 whole, need 4: cores 8, 9 of N1.
    pytest.param(
        "dual-socket-ht", "0-31", 20, "0-9,16-25",
        id="dual-socket-ht/packed/need-20-from-free/expect-numa-0-plus-cores-8-9",
    ),
    # NUMA 0 whole, need 1 < 2: single CPU from N1 core 8 -> 8.
    pytest.param(
        "dual-socket-ht", "0-31", 17, "0-8,16-23",
        id="dual-socket-ht/packed/need-17-from-free/expect-numa-0-plus-cpu-8",
    ),
    pytest.param(
        "dual-socket-ht", "0-31", 32, "0-31", id="dual-socket-ht/packed/need-32/expect-all"
    ),
    # CPU 0 taken: N1 is the only free NUMA node -> whole N1.
    pytest.param(
        "dual-socket-ht", "1-31", 16, "8-15,24-31",
        id="dual-socket-ht/packed/need-16-numa-0-partly-used/expect-numa-1",
    ),
    # CPU 0 taken, need 4: N0(15) first; core 0 (16) partial; whole cores 1, 2.
    pytest.param(
        "dual-socket-ht", "1-31", 4, "1-2,17-18",
        id="dual-socket-ht/packed/need-4-numa-0-partly-used/expect-cores-1-2",
    ),
    # need 3: core 1, then core 0's remaining thread 16.
    pytest.param(
        "dual-socket-ht", "1-31", 3, "1,16-17",
        id="dual-socket-ht/packed/need-3-numa-0-partly-used/expect-core-1-plus-16",
    ),
    # 0-3 taken: N0(12) first; cores 0-3 each have one thread left (16-19) and sort first,
    # but whole cores come first: 4, 5.
    pytest.param(
        "dual-socket-ht", "4-31", 4, "4-5,20-21",
        id="dual-socket-ht/packed/need-4-numa-0-half-used/expect-cores-4-5",
    ),
    # Whole cores before threads: available N0 = 0,1,2,3 (one thread of cores 0-3), N1 = core
    # 8 whole. N1(2) sorts first: core 8, then threads 0, 1 of N0.
    pytest.param(
        "dual-socket-ht", "0-3,8,24", 4, "0-1,8,24",
        id="dual-socket-ht/packed/need-4-threads-and-one-core/expect-core-8-first",
    ),
    # dual-socket-snc2 (2 NUMA per socket -> sockets first). Need 16 = one socket: socket 0.
    pytest.param(
        "dual-socket-snc2", "0-31", 16, "0-7,16-23",
        id="dual-socket-snc2/packed/need-16/expect-socket-0",
    ),
    # Socket too big; NUMA nodes in socket order: N0 first.
    pytest.param(
        "dual-socket-snc2", "0-31", 8, "0-3,16-19",
        id="dual-socket-snc2/packed/need-8/expect-numa-0"
    ),
    # Socket 0 whole (16), need 8; socket 1 too big; free NUMA nodes N2, N3 -> N2.
    pytest.param(
        "dual-socket-snc2", "0-31", 24, "0-11,16-27",
        id="dual-socket-snc2/packed/need-24/expect-socket-0-plus-numa-2",
    ),
    # Sockets first vs NUMA first. Taken: 0,1 (N0 6 free), 4,5 (N1 6), 8,9,10 (N2 5).
    # Socket 0 has 12 free, socket 1 has 13 -> socket 0 first, then its nodes N0, N1 (tie, id).
    # N0's cores: 0 (16) and 1 (17) have one thread left -> CPU 16. (NUMA-first ordering would
    # have started with N2(5) and given 24.)
    pytest.param(
        "dual-socket-snc2", "2-3,6-7,11-31", 1, "16",
        id="dual-socket-snc2/packed/need-1-sockets-first/expect-16",
    ),
    # Same state, need 2: first whole core in that order is core 2 (N0).
    pytest.param(
        "dual-socket-snc2", "2-3,6-7,11-31", 2, "2,18",
        id="dual-socket-snc2/packed/need-2-sockets-first/expect-core-2",
    ),
    # The doc's 80-CPU example: socket 0 (40) whole, need 24; socket 1 (40) too big; NUMA 2
    # (20) whole, need 4; NUMA 3 too big; cores 30, 31.
    pytest.param(
        "dual-socket-multi-numa-ht", "0-79", 64, "0-31,40-71",
        id="dual-socket-multi-numa-ht/packed/need-64/expect-socket-0-numa-2-cores-30-31",
    ),
    # nps4-384 (sockets first; socket = 192 CPUs, NUMA node = 48, core = 2).
    pytest.param("nps4-384", "0-383", 1, "0", id="nps4-384/packed/need-1-from-free/expect-cpu-0"),
    pytest.param(
        "nps4-384", "0-383", 4, "0-1,192-193",
        id="nps4-384/packed/need-4-from-free/expect-cores-0-1"
    ),
    pytest.param(
        "nps4-384", "0-383", 16, "0-7,192-199",
        id="nps4-384/packed/need-16-from-free/expect-cores-0-7"
    ),
    # NUMA 0 (48) whole, need 16; N1 too big; cores: socket 0 (144 free) first, its N1 first:
    # cores 24-31.
    pytest.param(
        "nps4-384", "0-383", 64, "0-31,192-223",
        id="nps4-384/packed/need-64-from-free/expect-numa-0-plus-cores-24-31",
    ),
    # Socket (192) too big. NUMA 0, 1, 2 whole (144), need 46; N3 (48) too big; 23 whole cores
    # of N3: 72-94 (+192).
    pytest.param(
        "nps4-384", "0-383", 190, "0-94,192-286",
        id="nps4-384/packed/need-190-from-free/expect-numa-0-2-plus-23-cores",
    ),
    pytest.param(
        "nps4-384", "0-383", 192, "0-95,192-287",
        id="nps4-384/packed/need-192-from-free/expect-socket-0"
    ),
    # Socket 0 whole, need 8: socket 1's N4, cores 96-99.
    pytest.param(
        "nps4-384", "0-383", 200, "0-99,192-291",
        id="nps4-384/packed/need-200-from-free/expect-socket-0-plus-cores-96-99",
    ),
]
# fmt: on


@pytest.mark.parametrize(("machine_name", "available", "need", "expected"), PACKED_CASES)
def test_take_by_topology_numa_packed(
    machine_name: str, available: str, need: int, expected: str
) -> None:
    """The packed allocator picks exactly the kubelet's CPUs."""
    got = take_by_topology_numa_packed(machine(machine_name), cpus(available), need)
    assert str(got) == expected


@pytest.mark.parametrize(
    ("machine_name", "available", "need"),
    [
        pytest.param("single-socket-ht", "0,2,4,6", 5, id="single-socket-ht/need-5-of-4"),
        pytest.param("dual-socket-ht", "0-31", 33, id="dual-socket-ht/need-33-of-32"),
        pytest.param("nps4-384", "0-9", 11, id="nps4-384/need-11-of-10"),
    ],
)
def test_packed_not_enough_cpus(machine_name: str, available: str, need: int) -> None:
    """Asking for more CPUs than available fails with the kubelet's numbers."""
    avail = cpus(available)
    with pytest.raises(NotEnoughCPUsError) as err:
        take_by_topology_numa_packed(machine(machine_name), avail, need)
    assert err.value.requested == need
    assert err.value.available == len(avail)
    assert str(err.value) == (
        f"not enough cpus available to satisfy request: requested={need}, available={len(avail)}"
    )


def test_packed_zero_from_empty_is_empty() -> None:
    """Zero CPUs from an empty set is the empty set, not an error."""
    assert take_by_topology_numa_packed(machine("dual-socket-ht"), CPUSet(), 0) == CPUSet()


# -- 2. prefer-align-cpus-by-uncorecache ----------------------------------------------------

# fmt: off
UNCORE_CASES = [
    # nps4-384: L3 u = cores 8u..8u+7 = CPUs 8u..8u+7 and 192+8u..192+8u+7 (16 CPUs).
    # Free machine, need 16: first uncore iteration takes the first free L3 (0).
    pytest.param(
        "nps4-384", "0-383", 16, "0-7,192-199", "0-7,192-199",
        id="nps4-384/uncore/need-16-from-free/expect-l3-0",
    ),
    # CPU 0 taken. Uncore order: N0's caches by free CPUs: L3 0 (15), L3 1, L3 2. Need 16 >= 16:
    # take the first *free* L3 = L3 1. Packed alone takes whole cores 1-8 (core 0 is partial).
    pytest.param(
        "nps4-384", "1-383", 16, "8-15,200-207", "1-8,193-200",
        id="nps4-384/uncore/need-16-l3-0-partly-used/expect-whole-l3-1",
    ),
    # Partial take. Cores 0-5 taken (L3 0 has 6,7,198,199 left). Need 6: L3 0 partial: 3 cores
    # wanted, only cores 6, 7 -> 4 CPUs != 6, skipped. L3 1: cores 8,9,10 -> exactly 6.
    # Packed alone: whole cores 6, 7, 8 (straddling L3 0 and 1).
    pytest.param(
        "nps4-384", "6-191,198-383", 6, "8-10,200-202", "6-8,198-200",
        id="nps4-384/uncore/need-6-l3-0-nearly-full/expect-partial-l3-1",
    ),
    # Odd need with SMT. Same state, need 5: L3 0 gives 4 CPUs (no), L3 1: cores 8,9,10 = 6
    # CPUs > 5, drop the highest (202) -> 8,9,10,200,201. Packed: cores 6, 7 + CPU 8.
    pytest.param(
        "nps4-384", "6-191,198-383", 5, "8-10,200-201", "6-8,198-199",
        id="nps4-384/uncore/need-5-odd-smt/expect-l3-1-minus-highest",
    ),
    # Odd need on a free machine: cores 0,1,2 -> 0,1,2,192,193,194, drop 194.
    pytest.param(
        "nps4-384", "0-383", 5, "0-2,192-193", "0-2,192-193",
        id="nps4-384/uncore/need-5-from-free/expect-l3-0-minus-highest",
    ),
    # CPU 0 taken, need 20: iteration L3 0: need >= 16 -> whole free L3 1 (need 4); partial L3 0:
    # cores 0 (192 only) and 1 -> 3 CPUs != 4; iteration L3 1: nothing left there; iteration
    # L3 2: cores 16, 17 -> 4. Packed alone: whole cores 1-10.
    pytest.param(
        "nps4-384", "1-383", 20, "8-17,200-209", "1-10,193-202",
        id="nps4-384/uncore/need-20-l3-0-partly-used/expect-l3-1-plus-partial-l3-2",
    ),
    # Need 64: NUMA 0 whole first (need 16); then uncore order: socket 0 (144 free) -> N1's
    # L3 3 first -> whole L3 3.
    pytest.param(
        "nps4-384", "0-383", 64, "0-31,192-223", "0-31,192-223",
        id="nps4-384/uncore/need-64-from-free/expect-numa-0-plus-l3-3",
    ),
    # Need 190: NUMA 0-2 (need 46); whole L3 9, 10 (need 14); partial L3 11: 7 cores 88-94.
    pytest.param(
        "nps4-384", "0-383", 190, "0-94,192-286", "0-94,192-286",
        id="nps4-384/uncore/need-190-from-free/expect-numa-0-2-l3-9-10-partial-11",
    ),
    # amd-1s-4l3: L3 0 = 0-3,16-19, L3 1 = 4-7,20-23, L3 2 = 8-11,24-27, L3 3 = 12-15,28-31.
    pytest.param(
        "amd-1s-4l3", "0-31", 8, "0-3,16-19", "0-3,16-19",
        id="amd-1s-4l3/uncore/need-8-from-free/expect-l3-0",
    ),
    # CPU 1 taken: L3 0 (7) sorts first but is not free -> whole L3 1. Packed alone: core 1
    # (17) sorts first but is partial; whole cores 0, 2, 3, 4.
    pytest.param(
        "amd-1s-4l3", "0,2-31", 8, "4-7,20-23", "0,2-4,16,18-20",
        id="amd-1s-4l3/uncore/need-8-l3-0-partly-used/expect-whole-l3-1",
    ),
    # CPU 1 taken, need 4: L3 0 partial: cores 0, 1 -> 0,16,17 (3) != 4; L3 1: cores 4, 5.
    pytest.param(
        "amd-1s-4l3", "0,2-31", 4, "4-5,20-21", "0,2,16,18",
        id="amd-1s-4l3/uncore/need-4-l3-0-partly-used/expect-partial-l3-1",
    ),
    # CPUs 0-3 taken (L3 0 has 16-19). Need 5: L3 0: cores 0,1,2 -> 16,17,18 (3) no; L3 1:
    # cores 4,5,6 -> 6 CPUs, odd need: drop 22. Packed: whole cores 4, 5, then 16.
    pytest.param(
        "amd-1s-4l3", "4-31", 5, "4-6,20-21", "4-5,16,20-21",
        id="amd-1s-4l3/uncore/need-5-odd-l3-0-half-used/expect-l3-1-minus-highest",
    ),
    # Need 12: whole L3 0 (need 4), then L3 1 partial: cores 4, 5.
    pytest.param(
        "amd-1s-4l3", "0-31", 12, "0-5,16-21", "0-5,16-21",
        id="amd-1s-4l3/uncore/need-12-from-free/expect-l3-0-plus-half-l3-1",
    ),
    # Need 7: L3 0 partial: 4 cores = 8 CPUs, drop 19.
    pytest.param(
        "amd-1s-4l3", "0-31", 7, "0-3,16-18", "0-3,16-18",
        id="amd-1s-4l3/uncore/need-7-from-free/expect-l3-0-minus-highest",
    ),
    # A machine without L3 data (dual-socket-ht): every CPU in cache 0 (32 CPUs). CPU 8 taken,
    # so packed prefers N1 (whole core 9); the uncore partial step picks the lowest-id cores
    # with a free CPU anywhere: core 0.
    pytest.param(
        "dual-socket-ht", "0-7,9-31", 2, "0,16", "9,25",
        id="dual-socket-ht/uncore-no-l3/need-2/expect-lowest-core-0",
    ),
    # need 3: cores 0, 1 -> 0,1,16,17, odd: drop 17. Packed: core 9 + 24.
    pytest.param(
        "dual-socket-ht", "0-7,9-31", 3, "0-1,16", "9,24-25",
        id="dual-socket-ht/uncore-no-l3/need-3-odd/expect-0-1-16",
    ),
    # need 20: whole NUMA 0 first (need 4); partial: cores 8 (24 only), 9 -> 3 CPUs != 4;
    # whole cores 9, 10 of N1.
    pytest.param(
        "dual-socket-ht", "0-7,9-31", 20, "0-7,9-10,16-23,25-26", "0-7,9-10,16-23,25-26",
        id="dual-socket-ht/uncore-no-l3/need-20/expect-numa-0-plus-cores-9-10",
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("machine_name", "available", "need", "expected", "expected_without"), UNCORE_CASES
)
def test_take_by_topology_prefer_uncore(
    machine_name: str, available: str, need: int, expected: str, expected_without: str
) -> None:
    """prefer-align-cpus-by-uncorecache packs into L3 caches; without it plain packing applies."""
    topo = machine(machine_name)
    got = take_by_topology_numa_packed(
        topo, cpus(available), need, PACKED, prefer_align_by_uncore=True
    )
    assert str(got) == expected
    plain = take_by_topology_numa_packed(topo, cpus(available), need, PACKED)
    assert str(plain) == expected_without


# -- 3. spread (distribute-cpus-across-cores) ------------------------------------------------

# fmt: off
SPREAD_CASES = [
    # No whole-core step; CPU order: each socket's free CPUs ascending -> 0, 1.
    pytest.param("single-socket-ht", "0-7", 2, "0-1",
        id="single-socket-ht/spread/need-2/expect-0-1"),
    pytest.param("single-socket-ht", "0-7", 4, "0-3",
        id="single-socket-ht/spread/need-4/expect-0-3"),
    # Packed would take the free core 1 (1,5); spread takes 1, 2.
    pytest.param(
        "single-socket-ht", "1-7", 2, "1-2",
        id="single-socket-ht/spread/need-2-cpu-0-taken/expect-1-2"
    ),
    # Whole NUMA node still comes first.
    pytest.param("single-socket-ht", "0-7", 8, "0-7",
        id="single-socket-ht/spread/need-8/expect-all"),
    pytest.param("dual-socket-ht", "0-31", 4, "0-3", id="dual-socket-ht/spread/need-4/expect-0-3"),
    # Socket 0 (15 free) first -> 1, 2, 3.
    pytest.param(
        "dual-socket-ht", "1-31", 3, "1-3", id="dual-socket-ht/spread/need-3-cpu-0-taken/expect-1-3"
    ),
    # Packing bias at socket level: socket 1 (15 free) first -> 9, 10.
    pytest.param(
        "dual-socket-ht", "0-7,9-31", 2, "9-10",
        id="dual-socket-ht/spread/need-2-cpu-8-taken/expect-socket-1-9-10",
    ),
    # NUMA 0 whole, need 2; socket 1 ascending: 8, 9.
    pytest.param(
        "dual-socket-ht", "0-31", 18, "0-9,16-23",
        id="dual-socket-ht/spread/need-18/expect-numa-0-plus-8-9",
    ),
    # Socket 0 ascending = 0,2,4,6,8,10: 0 and 6 are siblings, taken together by id order.
    pytest.param(
        "topo-dual-socket-ht", "0-11", 4, "0,2,4,6",
        id="topo-dual-socket-ht/spread/need-4/expect-0-2-4-6",
    ),
    # NUMA 0 whole (6), then socket 1 ascending: 1, 3.
    pytest.param(
        "topo-dual-socket-ht", "0-11", 8, "0-4,6,8,10",
        id="topo-dual-socket-ht/spread/need-8/expect-socket-0-plus-1-3",
    ),
    # Socket 0 (5 free: 2,4,6,8,10) sorts first -> 2.
    pytest.param(
        "topo-dual-socket-ht", "1-11", 1, "2",
        id="topo-dual-socket-ht/spread/need-1-cpu-0-taken/expect-2",
    ),
    # Sockets first: a socket's CPUs in id order regardless of its NUMA nodes: 0-3 (N0), 4-5 (N1).
    pytest.param(
        "dual-socket-snc2", "0-31", 6, "0-5",
        id="dual-socket-snc2/spread/need-6/expect-0-5-across-numa"
    ),
]
# fmt: on


@pytest.mark.parametrize(("machine_name", "available", "need", "expected"), SPREAD_CASES)
def test_take_by_topology_spread(
    machine_name: str, available: str, need: int, expected: str
) -> None:
    """The spread strategy takes one thread per core in CPU id order, socket by socket."""
    got = take_by_topology_numa_packed(machine(machine_name), cpus(available), need, SPREAD)
    assert str(got) == expected


# -- 4. distributed (KEP-2902) --------------------------------------------------------------
#
# Notation: G = groups in the machine = ceil(NumCPUs/g), P = groups per NUMA node =
# ceil(G/#NUMA), need_g = ceil(n/g), minNUMAs = ceil(need_g/P), maxNUMAs = min(need_g, nodes with
# free CPUs); d = distribution = floor(n/k/g)*g; after = free CPUs per node after d; balance =
# population std-dev (3 decimals).

# fmt: off
DISTRIBUTED_CASES = [
    # dual-socket-ht, free, n=4, g=1: P=16, min=1. k=1: [N0] after (12,16) sd 2.0; [N1] (16,12)
    # sd 2.0, not lower -> N0, packed 4 inside N0: cores 0, 1.
    pytest.param(
        "dual-socket-ht", "0-31", 4, 1, "0-1,16-17",
        id="dual-socket-ht/distributed/n4-g1-from-free/expect-numa-0-cores-0-1",
    ),
    # 0-3 taken (N0 12, N1 16): [N0] after (8,16): mean 12, sd 4.0; [N1] after (12,12): sd 0
    # -> N1 (the emptiest), cores 8, 9. (Packed would fill N0: 4-5,20-21.)
    pytest.param(
        "dual-socket-ht", "4-31", 4, 1, "8-9,24-25",
        id="dual-socket-ht/distributed/n4-g1-numa-0-used/expect-numa-1",
    ),
    # n=16, k=1: [N0] (0,16) sd 8 = [N1] -> N0 whole.
    pytest.param(
        "dual-socket-ht", "0-31", 16, 1, "0-7,16-23",
        id="dual-socket-ht/distributed/n16-g1-from-free/expect-numa-0",
    ),
    # n=20: need_g=20, P=16 -> min 2. [N0,N1]: d=10, after (6,6) sd 0. 10 from each node:
    # cores 0-4 and 8-12.
    pytest.param(
        "dual-socket-ht", "0-31", 20, 1, "0-4,8-12,16-20,24-28",
        id="dual-socket-ht/distributed/n20-g1-from-free/expect-10-per-numa",
    ),
    # n=6, g=2: G=16, P=8, need_g=3 -> min 1. [N0] after (10,16) sd 3 = [N1] -> N0 cores 0-2.
    pytest.param(
        "dual-socket-ht", "0-31", 6, 2, "0-2,16-18",
        id="dual-socket-ht/distributed/n6-g2-from-free/expect-numa-0-cores-0-2",
    ),
    # n=18, g=2: need_g=9, P=8 -> min 2. [N0,N1]: d=floor(18/2/2)*2=8, after (8,8), remainder 2.
    # Subsets: [N0,N1] -> N0 gets 2: (6,8) sd 1.0; [N0] (6,8) 1.0 and [N1] (8,6) 1.0 not lower
    # -> [N0,N1]. N0: cores 0-3 + remainder core 4; N1: cores 8-11.
    pytest.param(
        "dual-socket-ht", "0-31", 18, 2, "0-4,8-11,16-20,24-27",
        id="dual-socket-ht/distributed/n18-g2-from-free/expect-8-8-plus-2-on-numa-0",
    ),
    # 8, 9 taken (N0 16, N1 14): numas order [N1, N0]. n=21: min 2, [N1,N0] d=10, after
    # N1 4, N0 6, remainder 1 -> subsets: [N1,N0] gives N1 3: (3,6) mean 4.5 sd 1.5; [N1] 1.5;
    # [N0] gives (4,5) sd 0.5 -> remainder from N0. N1 packed 10 of 10-15,24-31: cores 8, 9
    # are partial, whole cores 10-14; N0: cores 0-4, remainder CPU 5.
    pytest.param(
        "dual-socket-ht", "0-7,10-31", 21, 1, "0-5,10-14,16-20,26-30",
        id="dual-socket-ht/distributed/n21-g1-numa-1-used/expect-remainder-on-numa-0",
    ),
    # n % g != 0 -> packed: N0(12) first, whole cores 4, 5, then thread 16 of core 0.
    pytest.param(
        "dual-socket-ht", "4-31", 5, 2, "4-5,16,20-21",
        id="dual-socket-ht/distributed/n5-g2-odd/expect-packed-fallback",
    ),
    # Groups count CPUs, not cores: N0 = 0,1,2,3 (single threads), N1 = core 8. Order [N1, N0].
    # k=1: [N1] 2 < 4; [N0] 4 >= 4, groups 2*2 >= 4, d=4, after (N1 2, N0 0) sd 1.0 -> N0.
    pytest.param(
        "dual-socket-ht", "0-3,8,24", 4, 2, "0-3",
        id="dual-socket-ht/distributed/n4-g2-threads/expect-numa-0-threads",
    ),
    # topoDualSocketHT free, n=8, g=1: G=12, P=6 -> min 2. [N0,N1] d=4, after (2,2) sd 0.
    # N0: cores 0, 2 -> 0,2,6,8; N1: cores 1, 3 -> 1,3,7,9.
    pytest.param(
        "topo-dual-socket-ht", "0-11", 8, 1, "0-3,6-9",
        id="topo-dual-socket-ht/distributed/n8-g1/expect-4-per-numa",
    ),
    pytest.param(
        "topo-dual-socket-ht", "0-11", 8, 2, "0-3,6-9",
        id="topo-dual-socket-ht/distributed/n8-g2/expect-4-per-numa",
    ),
    # dual-socket-snc2 (4 nodes of 8, numas order = socket order [0,1,2,3]). n=8, g=1: P=8,
    # min 1. [N0] after (0,8,8,8): mean 6, sd sqrt(48/4)=3.464; others equal -> N0.
    pytest.param(
        "dual-socket-snc2", "0-31", 8, 1, "0-3,16-19",
        id="dual-socket-snc2/distributed/n8-g1-from-free/expect-numa-0",
    ),
    # CPUs 0 and 4 taken (N0 7, N1 7, N2 8, N3 8). n=4: [N0] (3,7,8,8) mean 6.5,
    # sd sqrt(17/4)=2.062; [N1] 2.062; [N2] (7,7,4,8) sd sqrt(9/4)=1.5; [N3] 1.5 not lower -> N2.
    pytest.param(
        "dual-socket-snc2", "1-3,5-31", 4, 1, "8-9,24-25",
        id="dual-socket-snc2/distributed/n4-g1-numa-0-1-used/expect-numa-2",
    ),
    # n=10: need_g 10, P=8 -> min 2. Every pair: d=5, after e.g. (3,3,8,8) sd 2.5 -> first pair
    # [N0,N1]: 5 each (cores 0,1 + CPU 2; cores 4,5 + CPU 6). k=3 would balance better but the
    # first k with a valid combination is final.
    pytest.param(
        "dual-socket-snc2", "0-31", 10, 1, "0-2,4-6,16-17,20-21",
        id="dual-socket-snc2/distributed/n10-g1-from-free/expect-5-on-numa-0-1",
    ),
    # n=17: min ceil(17/8)=3. [N0,N1,N2] d=5, after (3,3,3,8), remainder 2. Subset [N0,N1,N2]:
    # N0, N1 one each -> (2,2,3,8) mean 3.75 sd sqrt(24.75/4)=2.487; no subset or combo is
    # strictly lower ([N0] alone: (1,3,3,8) 2.586). Remainder: N0 has 3,18,19 left, packed 1:
    # core 2 (18 only) sorts first -> 18; N1 likewise -> 22.
    pytest.param(
        "dual-socket-snc2", "0-31", 17, 1, "0-2,4-6,8-10,16-18,20-22,24-25",
        id="dual-socket-snc2/distributed/n17-g1-from-free/expect-5-5-5-plus-remainder-round-robin",
    ),
    # n=20, g=2: G=16, P=4, need_g=10 -> min 3. [N0,N1,N2] d=floor(20/3/2)*2=6, after (2,2,2,8),
    # remainder 2 -> subset [N0,N1,N2]: N0 takes 2 -> (0,2,2,8) sd 3.0; nothing lower.
    # N0 6 + 2 = all of N0; N1 and N2: cores 4-6 and 8-10.
    pytest.param(
        "dual-socket-snc2", "0-31", 20, 2, "0-6,8-10,16-22,24-26",
        id="dual-socket-snc2/distributed/n20-g2-from-free/expect-6-6-6-plus-2-on-numa-0",
    ),
    # Free: N0 3,18,19; N1 7,22,23; N2 10,11,25,26,27; N3 14,15,29,30,31. n=4: [N0], [N1] too
    # small; [N2] after (3,3,1,5) mean 3 sd 1.414; [N3] equal -> N2: core 9 (25) partial,
    # whole cores 10, 11.
    pytest.param(
        "dual-socket-snc2", "3,7,10-11,14-15,18-19,22-23,25-27,29-31", 4, 1, "10-11,26-27",
        id="dual-socket-snc2/distributed/n4-g1-fragmented/expect-numa-2",
    ),
    # Ties go to the first combination in accumulator order, not id order. Core 8 (8,24)
    # taken: socket 1 (14 free) sorts before socket 0 (16) -> numas [N2(6), N3, N0, N1].
    # n=2, k=1: [N2] after (8,8,4,8) mean 7, sd sqrt(12/4)=1.732; [N3] (8,8,6,6) sd 1.0;
    # [N0] (6,8,6,8) 1.0 and [N1] 1.0 are not lower -> N3, core 12. (Packed: N2's core 9.)
    pytest.param(
        "dual-socket-snc2", "0-7,9-23,25-31", 2, 1, "12,28",
        id="dual-socket-snc2/distributed/n2-g1-socket-1-used/expect-numa-3-accumulator-order",
    ),
    # No valid combination -> packed. Available 0 (N0), 4 (N1), 8 (N2), 12,13,14 (N3), g=2,
    # n=4: P=4, min 1, max 2; singles too small; pairs with N3 have 4 CPUs but 0+1 groups.
    # Packed (sockets first): socket 0 (2) first: 0, 4; then N2's 8, N3's 12.
    pytest.param(
        "dual-socket-snc2", "0,4,8,12-14", 4, 2, "0,4,8,12",
        id="dual-socket-snc2/distributed/n4-g2-no-valid-combo/expect-packed-fallback",
    ),
    # 80 CPUs, 4 nodes of 20. n=48, g=2: G=40, P=10, need_g=24 -> min 3. [N0,N1,N2] d=16,
    # after (4,4,4,20) sd sqrt(192/4)=6.928; others equal -> 16 from N0, N1, N2 (cores 8 each).
    pytest.param(
        "dual-socket-multi-numa-ht", "0-79", 48, 2, "0-7,10-17,20-27,40-47,50-57,60-67",
        id="dual-socket-multi-numa-ht/distributed/n48-g2/expect-first-3-numa",
    ),
    # Cores 0, 1 taken (N0 16). [N0,N1,N2] after (0,4,4,20) mean 7 sd sqrt(236/4)=7.681;
    # [N0,N1,N3], [N0,N2,N3] equal; [N1,N2,N3] (16,4,4,4) sd sqrt(108/4)=5.196 -> last 3 nodes.
    pytest.param(
        "dual-socket-multi-numa-ht", "2-39,42-79", 48, 2, "10-17,20-27,30-37,50-57,60-67,70-77",
        id="dual-socket-multi-numa-ht/distributed/n48-g2-numa-0-used/expect-last-3-numa",
    ),
    # n=26, g=2: need_g 13 -> min 2. [N0,N1] d=12, after (8,8,20,20), remainder 2: [N0,N1] gives
    # N0 2 -> (6,8,20,20) mean 13.5 sd sqrt(171/4)=6.538; nothing lower. N0: cores 0-5 + core 6;
    # N1: cores 10-15.
    pytest.param(
        "dual-socket-multi-numa-ht", "0-79", 26, 2, "0-6,10-15,40-46,50-55",
        id="dual-socket-multi-numa-ht/distributed/n26-g2/expect-13-cores-on-first-2-numa",
    ),
    # n=62, g=2: need_g 31 -> min 4. d=14, after (6,6,6,6), remainder 6: [N0..N3] round robin
    # N0, N1, N2 get 2 each -> (4,4,4,6) mean 4.5 sd sqrt(3/4)=0.866; no subset lower.
    pytest.param(
        "dual-socket-multi-numa-ht", "0-79", 62, 2,
        "0-7,10-17,20-27,30-36,40-47,50-57,60-67,70-76",
        id="dual-socket-multi-numa-ht/distributed/n62-g2/expect-14-each-plus-2-on-numa-0-1-2",
    ),
    # n=0 -> empty.
    pytest.param(
        "dual-socket-ht", "0-31", 0, 1, "", id="dual-socket-ht/distributed/n0/expect-empty"
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("machine_name", "available", "need", "group", "expected"), DISTRIBUTED_CASES
)
def test_take_by_topology_numa_distributed(
    machine_name: str, available: str, need: int, group: int, expected: str
) -> None:
    """distribute-cpus-across-numa spreads CPUs over the nodes that leave the machine balanced."""
    got = take_by_topology_numa_distributed(
        machine(machine_name), cpus(available), need, group, PACKED
    )
    assert str(got) == expected


def test_distributed_not_enough_cpus() -> None:
    """The distributed allocator reports the same numbers as the packed one."""
    with pytest.raises(NotEnoughCPUsError) as err:
        take_by_topology_numa_distributed(machine("dual-socket-ht"), cpus("0-9"), 12, 2)
    assert (err.value.requested, err.value.available) == (12, 10)
