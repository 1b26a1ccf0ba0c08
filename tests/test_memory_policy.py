"""The Static memory manager policy, against numbers worked out by hand from the kubelet's rules.

Sources: kubelet-algorithms.md §2 (static policy), §3 (hint semantics), §4 (state format) and
the memory manager clarifications of §5. Expected states were derived by hand, node by node;
the GiB arithmetic is in the comments. Machines (``reservedMemory`` in brackets):

* ``uneven-2n`` (literal): node 0 = CPUs 0-3, 16Gi, 512 x 2Mi (1Gi) + 2 x 1Gi pages
  [memory 1Gi]; node 1 = CPUs 4-7, 8Gi, 256 x 2Mi (512Mi), no 1Gi pages
  [memory 512Mi, hugepages-2Mi 128Mi]. Memory allocatable: node 0 = 16 - 1 - 1 - 2 = 12Gi,
  node 1 = 8 - 0.5 - 0.5 = 7Gi.
* ``three-node`` (shape): 3 sockets of 2 cores, 8Gi and 512 x 2Mi (1Gi) per node
  [node 0: memory 1Gi]. Memory allocatable 8 - 1 - 1 = 6Gi, then 7Gi and 7Gi.
* fixtures ``dual-socket-ht``, ``adjacent-siblings``, ``cxl-memory-node``, ``memoryless-node``
  and ``nps4-384`` (tests/fixtures/machines), with the reservations listed in ``RESERVED``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from machines import container, cpus, pod

from pinlet.server.config import ReservedMemory
from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import AllocationError, ConfigError, StateError
from pinlet.server.hints import TopologyHint
from pinlet.server.machine import load
from pinlet.server.memory_policy import (
    Block,
    MemoryAllocationError,
    MemoryState,
    MemoryTable,
    NoneMemoryPolicy,
    NUMANodeState,
    StaticMemoryPolicy,
    memory_state_from_dict,
    memory_state_to_dict,
    reserved_memory_bytes,
)
from pinlet.server.pod import Container, Pod, Resources
from pinlet.server.quantity import Quantity
from pinlet.server.shapes import Shape, expand, from_rows
from pinlet.server.topology import NUMANode, Topology

MiB = 1 << 20
GiB = 1 << 30
FIXTURES = Path(__file__).parent / "fixtures" / "machines"

HP2M = "hugepages-2Mi"
HP1G = "hugepages-1Gi"
MEM = "memory"


# -- machines ------------------------------------------------------------------------------


def uneven_2n() -> Topology:
    """Two nodes of different sizes and different hugepage pools (see the module docstring)."""
    rows = from_rows([(c, 0, c, 0) for c in range(4)] + [(c, 1, c, 1) for c in range(4, 8)])
    return Topology(
        rows.cpu_info.values(),
        [
            NUMANode(0, CPUSet(), 16 * GiB, {2 * MiB: 512, GiB: 2}, {0: 10, 1: 21}),
            NUMANode(1, CPUSet(), 8 * GiB, {2 * MiB: 256}, {0: 21, 1: 10}),
        ],
        name="uneven-2n",
    )


def three_node() -> Topology:
    """Three single-socket NUMA nodes of 8Gi with 1Gi of 2Mi pages each."""
    return expand(
        Shape(
            sockets=3,
            cores_per_socket=2,
            memory_per_numa=8 * GiB,
            hugepages_per_numa={2 * MiB: 512},
        ),
        name="three-node",
    )


def four_node() -> Topology:
    """Four single-core NUMA nodes of 8Gi, no hugepages."""
    return expand(Shape(sockets=4, cores_per_socket=1, memory_per_numa=8 * GiB), name="four-node")


MACHINES = {
    "uneven-2n": uneven_2n,
    "three-node": three_node,
    "four-node": four_node,
    **{
        name: (lambda name=name: load(FIXTURES / f"{name}.yaml"))
        for name in (
            "dual-socket-ht",
            "adjacent-siblings",
            "cxl-memory-node",
            "memoryless-node",
            "nps4-384",
        )
    },
}

RESERVED: dict[str, dict[int, dict[str, int]]] = {
    "uneven-2n": {0: {MEM: GiB}, 1: {MEM: 512 * MiB, HP2M: 128 * MiB}},
    "three-node": {0: {MEM: GiB}},
    "four-node": {0: {MEM: GiB}},
    "dual-socket-ht": {0: {MEM: GiB, HP1G: GiB}, 1: {MEM: GiB}},
    "adjacent-siblings": {0: {MEM: GiB}, 1: {MEM: GiB}},
    "cxl-memory-node": {0: {MEM: GiB}},
    "memoryless-node": {0: {MEM: 2 * GiB, HP1G: GiB}},
    "nps4-384": {0: {MEM: 2 * GiB}},
}

# The default machine states, worked out by hand: node -> resource -> (total, systemReserved,
# allocatable). Nothing is reserved yet, so free = allocatable everywhere.
DEFAULTS: dict[str, dict[int, dict[str, tuple[int, int, int]]]] = {
    "uneven-2n": {
        # Node 1 has no 1Gi pages but gets an empty 1Gi table: every size on every node.
        0: {
            HP2M: (1 * GiB, 0, 1 * GiB),
            HP1G: (2 * GiB, 0, 2 * GiB),
            MEM: (16 * GiB, GiB, 12 * GiB),
        },
        1: {
            HP2M: (512 * MiB, 128 * MiB, 384 * MiB),
            HP1G: (0, 0, 0),
            MEM: (8 * GiB, 512 * MiB, 7 * GiB),
        },
    },
    "three-node": {
        0: {HP2M: (1 * GiB, 0, 1 * GiB), MEM: (8 * GiB, GiB, 6 * GiB)},
        1: {HP2M: (1 * GiB, 0, 1 * GiB), MEM: (8 * GiB, 0, 7 * GiB)},
        2: {HP2M: (1 * GiB, 0, 1 * GiB), MEM: (8 * GiB, 0, 7 * GiB)},
    },
    "four-node": {
        0: {MEM: (8 * GiB, GiB, 7 * GiB)},
        **{n: {MEM: (8 * GiB, 0, 8 * GiB)} for n in (1, 2, 3)},
    },
    "dual-socket-ht": {
        # 1024 x 2Mi = 2Gi, 4 x 1Gi = 4Gi; memory 64 - 1 - 2 - 4 = 57Gi; 1Gi pages 4 - 1 = 3Gi.
        0: {
            HP2M: (2 * GiB, 0, 2 * GiB),
            HP1G: (4 * GiB, GiB, 3 * GiB),
            MEM: (64 * GiB, GiB, 57 * GiB),
        },
        1: {
            HP2M: (2 * GiB, 0, 2 * GiB),
            HP1G: (4 * GiB, 0, 4 * GiB),
            MEM: (64 * GiB, GiB, 57 * GiB),
        },
    },
    "adjacent-siblings": {
        # Node 0: 1Gi of 2Mi + 2Gi of 1Gi pages, 32 - 1 - 3 = 28Gi; node 1: 512Mi of 2Mi pages,
        # 32 - 1 - 0.5 = 30.5Gi.
        0: {
            HP2M: (1 * GiB, 0, 1 * GiB),
            HP1G: (2 * GiB, 0, 2 * GiB),
            MEM: (32 * GiB, GiB, 28 * GiB),
        },
        1: {
            HP2M: (512 * MiB, 0, 512 * MiB),
            HP1G: (0, 0, 0),
            MEM: (32 * GiB, GiB, 30 * GiB + 512 * MiB),
        },
    },
    "cxl-memory-node": {
        # CPU nodes: 64Gi with 1Gi of 2Mi pages; node 2 is 256Gi of CXL memory, no CPUs.
        0: {HP2M: (1 * GiB, 0, 1 * GiB), MEM: (64 * GiB, GiB, 62 * GiB)},
        1: {HP2M: (1 * GiB, 0, 1 * GiB), MEM: (64 * GiB, 0, 63 * GiB)},
        2: {HP2M: (0, 0, 0), MEM: (256 * GiB, 0, 256 * GiB)},
    },
    "memoryless-node": {
        # 2048 x 2Mi = 4Gi, 8 x 1Gi = 8Gi: 128 - 2 - 12 = 114Gi; node 1 has CPUs only.
        0: {
            HP2M: (4 * GiB, 0, 4 * GiB),
            HP1G: (8 * GiB, GiB, 7 * GiB),
            MEM: (128 * GiB, 2 * GiB, 114 * GiB),
        },
        1: {HP2M: (0, 0, 0), HP1G: (0, 0, 0), MEM: (0, 0, 0)},
    },
    "nps4-384": {
        # 16 x 1Gi per node: 96 - 16 = 80Gi of memory, 78Gi on node 0 (2Gi reserved).
        **{n: {HP1G: (16 * GiB, 0, 16 * GiB), MEM: (96 * GiB, 0, 80 * GiB)} for n in range(1, 8)},
        0: {HP1G: (16 * GiB, 0, 16 * GiB), MEM: (96 * GiB, 2 * GiB, 78 * GiB)},
    },
}

_TOPOLOGIES: dict[str, Topology] = {}


def machine(name: str) -> Topology:
    if name not in _TOPOLOGIES:
        _TOPOLOGIES[name] = MACHINES[name]()
    return _TOPOLOGIES[name]


def policy(name: str) -> StaticMemoryPolicy:
    return StaticMemoryPolicy(machine(name), RESERVED[name])


# -- expected states -----------------------------------------------------------------------

# node -> (numberOfAssignments, cells, resource -> (reserved, free)); unlisted resources keep
# their default (reserved 0, free = allocatable), unlisted nodes their whole default.
NodeChanges = Mapping[int, tuple[int, tuple[int, ...], Mapping[str, tuple[int, int]]]]
# pod -> container -> blocks as (NUMA nodes, type, size).
Entries = Mapping[str, Mapping[str, Sequence[tuple[tuple[int, ...], str, int]]]]


def default_node(name: str, nid: int) -> NUMANodeState:
    tables = {r: MemoryTable(t, sr, a, 0, a) for r, (t, sr, a) in DEFAULTS[name][nid].items()}
    return NUMANodeState(0, tables, (nid,))


def expected_state(name: str, changes: NodeChanges, entries: Entries) -> MemoryState:
    """The default state of ``name`` with the listed nodes changed and the given blocks."""
    machine_state = {}
    for nid, resources in DEFAULTS[name].items():
        if nid not in changes:
            machine_state[nid] = default_node(name, nid)
            continue
        count, cells, used = changes[nid]
        tables = {}
        for r, (total, sr, alloc) in resources.items():
            reserved, free = used.get(r, (0, alloc))
            tables[r] = MemoryTable(total, sr, alloc, reserved, free)
        machine_state[nid] = NUMANodeState(count, tables, cells)
    return MemoryState(
        machine_state=machine_state,
        assignments={
            p: {c: tuple(Block(m, t, s) for m, t, s in blocks) for c, blocks in conts.items()}
            for p, conts in entries.items()
        },
    )


# -- pods ----------------------------------------------------------------------------------


def gu(name: str, memory: str, *, sidecar: bool = False, **hugepages: str) -> Container:
    """A Guaranteed container of 1 CPU and ``memory``; ``hugepages_2Mi="512Mi"`` adds pages."""
    amounts = {"cpu": "1", MEM: memory, **{k.replace("_", "-"): v for k, v in hugepages.items()}}
    c: Container = container(
        name, requests=amounts, limits=amounts, restart_policy="Always" if sidecar else None
    )
    return c


def mkpod(uid: str, apps: Sequence[Container], inits: Sequence[Container] = ()) -> Pod:
    p: Pod = pod(uid, apps, inits)
    return p


def one(uid: str, memory: str, **hugepages: str) -> Pod:
    """A pod with one Guaranteed container ``app``."""
    return mkpod(uid, [gu("app", memory, **hugepages)])


# A step is ("alloc", pod, container name, NUMA mask or None) or ("remove", pod uid, name).
Step = tuple[Any, ...]


def alloc(p: Pod, name: str = "app", mask: str | None = None, preferred: bool = False) -> Step:
    return ("alloc", p, name, mask, preferred)


def remove(uid: str, name: str = "app") -> Step:
    return ("remove", uid, name)


def in_order(p: Pod, mask: str, *names: str) -> list[Step]:
    """Allocate the named containers of ``p`` one after the other, all on ``mask``."""
    return [alloc(p, name, mask) for name in names]


def run(
    pol: StaticMemoryPolicy, steps: Sequence[Step], state: MemoryState | None = None
) -> MemoryState:
    state = pol.start() if state is None else state
    for step in steps:
        if step[0] == "alloc":
            _, p, name, mask, preferred = step
            state = pol.allocate(
                state,
                p,
                p.container(name),
                None if mask is None else cpus(mask),
                preferred=preferred,
            )
        else:
            state = pol.remove_container(state, step[1], step[2])
    return state


def hints_text(
    hints: Mapping[str, Sequence[TopologyHint]] | None,
) -> dict[str, list[tuple[str, bool]]] | None:
    """Hints as {resource: [(NUMA nodes, preferred)]}, for literal comparison."""
    if hints is None:
        return None
    return {r: [(str(h.affinity), h.preferred) for h in hs] for r, hs in hints.items()}


# -- configuration and default state -------------------------------------------------------


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_default_machine_state(name: str) -> None:
    """Every node gets memory and every hugepage size, hugepages taken out of memory."""
    pol = policy(name)
    expected = {nid: default_node(name, nid) for nid in DEFAULTS[name]}
    assert dict(pol.default_machine_state()) == expected
    started = pol.start()
    assert dict(started.machine_state) == expected
    assert dict(started.assignments) == {}


@pytest.mark.parametrize(
    "reserved",
    [
        pytest.param({}, id="uneven-2n/nothing-reserved"),
        pytest.param({0: {HP2M: 2 * MiB}}, id="uneven-2n/hugepages-only"),
        pytest.param({0: {MEM: 0}, 1: {}}, id="uneven-2n/zero-memory"),
    ],
)
def test_reserved_memory_required(reserved: dict[int, dict[str, int]]) -> None:
    """Without reserved system memory the Static policy refuses to start, as the kubelet does."""
    with pytest.raises(ConfigError) as err:
        StaticMemoryPolicy(machine("uneven-2n"), reserved)
    assert err.value.field == "reservedMemory"
    assert err.value.message == "[memorymanager] you should specify the system reserved memory"


@pytest.mark.parametrize(
    ("reserved", "message"),
    [
        # 8Gi - 512Mi of 2Mi pages = 7.5Gi can be reserved on node 1.
        pytest.param(
            {0: {MEM: GiB}, 1: {MEM: 8 * GiB}},
            "NUMA node 1 has 8053063680 bytes of memory to reserve from, "
            "less than the 8589934592 bytes reserved",
            id="uneven-2n/more-memory-than-the-node",
        ),
        pytest.param(
            {0: {MEM: GiB}, 1: {HP1G: GiB}},
            "NUMA node 1 has 0 bytes of hugepages-1Gi to reserve from, "
            "less than the 1073741824 bytes reserved",
            id="uneven-2n/1Gi-pages-node-1-has-none",
        ),
        pytest.param(
            {0: {MEM: GiB}, 7: {MEM: GiB}},
            "NUMA node 7 does not exist on this machine (NUMA nodes: 0-1)",
            id="uneven-2n/unknown-node",
        ),
    ],
)
def test_reserved_memory_must_fit(reserved: dict[int, dict[str, int]], message: str) -> None:
    """A reservation the node cannot hold is refused (the kubelet would wrap around in uint64)."""
    with pytest.raises(ConfigError) as err:
        StaticMemoryPolicy(machine("uneven-2n"), reserved)
    assert err.value.message == message


def test_reserved_memory_bytes_from_config() -> None:
    """``reservedMemory`` entries become node -> resource -> bytes."""
    entries = [
        ReservedMemory(0, {MEM: Quantity.parse("1Gi"), HP2M: Quantity.parse("4Mi")}),
        ReservedMemory(1, {MEM: Quantity.parse("512Mi")}),
    ]
    assert reserved_memory_bytes(entries) == {
        0: {MEM: 1073741824, HP2M: 4194304},
        1: {MEM: 536870912},
    }
    with pytest.raises(ConfigError, match="could not covert"):
        reserved_memory_bytes([ReservedMemory(0, {MEM: Quantity.parse("1500m")})])


# -- hints ---------------------------------------------------------------------------------

P, N = True, False
INIT_6G = mkpod("reuse", [gu("app", "6Gi")], [gu("init", "6Gi")])
GROUP_16G = one("group", "16Gi")
INIT_6G_APP_4G = mkpod("reuse", [gu("app", "4Gi")], [gu("init", "6Gi")])
APPS_2G_3G = (gu("a", "2Gi"), gu("b", "3Gi"))
ALONE_2G = one("alone", "2Gi")

# fmt: off
CONTAINER_HINTS = [
    pytest.param("uneven-2n", [], one("p", "4Gi"), "app",
        {MEM: [("0", P), ("1", P), ("0-1", N)]}, id="uneven-2n/4Gi-fits-either-node"),
    # Node 1 has 7Gi allocatable: only node 0 alone; the narrowest possible width is 1.
    pytest.param("uneven-2n", [], one("p", "10Gi"), "app",
        {MEM: [("0", P), ("0-1", N)]}, id="uneven-2n/10Gi-only-node-0"),
    # 12 + 7 = 19Gi: no single node, so two nodes is the narrowest and preferred.
    pytest.param("uneven-2n", [], one("p", "16Gi"), "app",
        {MEM: [("0-1", P)]}, id="uneven-2n/16Gi-needs-both-preferred"),
    pytest.param("uneven-2n", [], one("p", "20Gi"), "app", {}, id="uneven-2n/20Gi-no-mask"),
    # Node 1 has no 1Gi pages: every resource gets the same masks.
    pytest.param("uneven-2n", [], one("p", "4Gi", hugepages_1Gi="2Gi"), "app",
        {HP1G: [("0", P), ("0-1", N)], MEM: [("0", P), ("0-1", N)]},
        id="uneven-2n/1Gi-pages-only-node-0"),
    # 2Mi pages: node 0 1Gi, node 1 384Mi (512Mi - 128Mi reserved) < 512Mi.
    pytest.param("uneven-2n", [], one("p", "2Gi", hugepages_2Mi="512Mi"), "app",
        {HP2M: [("0", P), ("0-1", N)], MEM: [("0", P), ("0-1", N)]},
        id="uneven-2n/2Mi-pages-reservation-counts"),
    # After 16Gi on {0,1} both nodes are in group {0,1}: single-node masks are skipped, but
    # they still set the preferred width to 1, so the group mask (3Gi free) is not preferred.
    pytest.param("uneven-2n", [alloc(GROUP_16G, mask="0-1")], one("p", "2Gi"), "app",
        {MEM: [("0-1", N)]}, id="uneven-2n/grouped-nodes-not-alone"),
    # After 2Gi on {0} alone, node 0 cannot join a multi-node mask.
    pytest.param("uneven-2n", [alloc(ALONE_2G, mask="0")], one("p", "10Gi"), "app",
        {MEM: [("0", P)]}, id="uneven-2n/node-used-alone-not-in-groups"),
    # 11Gi: node 0 has 10Gi free, node 1 too little, {0,1} is barred: nothing.
    pytest.param("uneven-2n", [alloc(ALONE_2G, mask="0")], one("p", "11Gi"), "app",
        {}, id="uneven-2n/no-mask-qualifies-empty-map"),
    # Group {0,1} holds 8Gi (node 0 6Gi full, node 1 2Gi). 4Gi: {2} alone; {0,1} has 5Gi free;
    # {0,2}, {1,2} and {0,1,2} would mix groups.
    pytest.param("three-node", [alloc(one("g", "8Gi"), mask="0-1")], one("p", "4Gi"), "app",
        {MEM: [("2", P), ("0-1", N)]}, id="three-node/other-groups-barred"),
    # Group {0,3} holds 1Gi; 10Gi needs two nodes. Masks mixing {0,3} with other nodes are
    # barred, which leaves {0,3} (6 + 8 free) and {1,2}, both preferred.
    pytest.param("four-node", [alloc(one("g", "1Gi"), mask="0,3")], one("p", "10Gi"), "app",
        {MEM: [("0,3", P), ("1-2", P)]}, id="four-node/two-groups-possible"),
    # Memory of the finished init container on {1} counts as free for the app container:
    # node 1 has 1Gi free + 6Gi reusable.
    pytest.param("uneven-2n", [alloc(INIT_6G, "init", "1")], INIT_6G, "app",
        {MEM: [("0", P), ("1", P)]}, id="uneven-2n/init-memory-reusable"),
    # The same request from another pod cannot reuse it.
    pytest.param("uneven-2n", [alloc(INIT_6G, "init", "1")], one("other", "6Gi"), "app",
        {MEM: [("0", P)]}, id="uneven-2n/other-pod-no-reuse"),
    # Node 1 has no memory: it only appears in masks that fit without it.
    pytest.param("memoryless-node", [], one("p", "4Gi"), "app",
        {MEM: [("0", P), ("0-1", N)]}, id="memoryless-node/node-without-memory"),
    # The CPU-less CXL node is a NUMA node of the machine state like any other.
    pytest.param("cxl-memory-node", [], one("p", "100Gi"), "app",
        {MEM: [("2", P), ("0-1", N), ("0,2", N), ("1-2", N), ("0-2", N)]},
        id="cxl-memory-node/cxl-node-in-masks"),
    # 1Gi pages: node 0 has 4 - 1 reserved = 3Gi, too few for 4Gi; node 1 has all 4.
    pytest.param("dual-socket-ht", [], one("p", "1Gi", hugepages_1Gi="4Gi"), "app",
        {HP1G: [("1", P), ("0-1", N)], MEM: [("1", P), ("0-1", N)]},
        id="dual-socket-ht/1Gi-pages-reserved-on-node-0"),
    # Regenerated from the blocks, preferred.
    pytest.param("uneven-2n", [alloc(one("p", "4Gi", hugepages_2Mi="256Mi"), mask="1")],
        one("p", "4Gi", hugepages_2Mi="256Mi"), "app",
        {HP2M: [("1", P)], MEM: [("1", P)]}, id="uneven-2n/already-allocated-regenerated"),
    # The init container's block shrank to 2Gi when the app reused it: no longer its request.
    pytest.param("uneven-2n",
        [alloc(INIT_6G, "init", "1"), alloc(INIT_6G_APP_4G, "app", "1")],
        INIT_6G, "init", None, id="uneven-2n/shrunk-block-mismatch-nil"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "steps", "the_pod", "container_name", "expected"), CONTAINER_HINTS
)
def test_container_hints(
    name: str,
    steps: Sequence[Step],
    the_pod: Pod,
    container_name: str,
    expected: dict[str, list[tuple[str, bool]]] | None,
) -> None:
    """Container-scope hints: every qualifying mask, the narrowest possible width preferred."""
    pol = policy(name)
    state = run(pol, steps)
    got = pol.get_topology_hints(state, the_pod, the_pod.container(container_name))
    assert hints_text(got) == expected


def _pod_level_pod() -> Pod:
    return Pod(
        "pl",
        "pl",
        "default",
        (gu("app", "2Gi"),),
        resources=Resources(
            requests={"cpu": Quantity.parse("2"), MEM: Quantity.parse("4Gi")},
            limits={"cpu": Quantity.parse("2"), MEM: Quantity.parse("4Gi")},
        ),
    )


@pytest.mark.parametrize(
    "the_pod",
    [
        pytest.param(
            mkpod("b", [container("app", requests={"cpu": "1", MEM: "1Gi"}, limits={MEM: "2Gi"})]),
            id="uneven-2n/burstable",
        ),
        pytest.param(mkpod("be", [container("app")]), id="uneven-2n/best-effort"),
        pytest.param(_pod_level_pod(), id="uneven-2n/pod-level-resources"),
    ],
)
def test_not_pinned_pods_have_no_hints_and_no_blocks(the_pod: Pod) -> None:
    """Only Guaranteed pods without pod-level resources are pinned; others say nothing."""
    pol = policy("uneven-2n")
    state = pol.start()
    app = the_pod.container("app")
    assert pol.get_topology_hints(state, the_pod, app) is None
    assert pol.get_pod_topology_hints(state, the_pod) is None
    assert pol.allocate(state, the_pod, app, cpus("0")) is state


def test_pod_level_resources_gate_off() -> None:
    """With the PodLevelResources gate off, spec.resources is ignored and containers decide."""
    pol = StaticMemoryPolicy(machine("uneven-2n"), RESERVED["uneven-2n"], pod_level_resources=False)
    the_pod = _pod_level_pod()
    got = pol.get_topology_hints(pol.start(), the_pod, the_pod.container("app"))
    assert hints_text(got) == {MEM: [("0", P), ("1", P), ("0-1", N)]}


# fmt: off
POD_HINTS = [
    # max(init peak 1 + 8 = 9Gi (the sidecar runs beside the init container), apps 2 + 3 + 1).
    pytest.param("uneven-2n", [],
        mkpod("p", APPS_2G_3G, [gu("side", "1Gi", sidecar=True), gu("init", "8Gi")]),
        {MEM: [("0", P), ("0-1", N)]}, id="uneven-2n/pod-9Gi-init-peak"),
    # Apps 2 + 3 + sidecar 3 = 8Gi beats the 4Gi init container, and no longer fits node 1.
    pytest.param("uneven-2n", [],
        mkpod("p", APPS_2G_3G, [gu("init", "4Gi"), gu("side", "3Gi", sidecar=True)]),
        {MEM: [("0", P), ("0-1", N)]}, id="uneven-2n/pod-8Gi-apps-and-sidecar"),
    # 2Mi pages asked for by the init container only are not part of the pod's request.
    pytest.param("uneven-2n", [],
        mkpod("p", [gu("a", "8Gi")], [gu("init", "1Gi", hugepages_2Mi="1Gi")]),
        {MEM: [("0", P), ("0-1", N)]}, id="uneven-2n/init-only-resource-dropped"),
    pytest.param("uneven-2n", [alloc(one("p", "4Gi"), mask="1")], one("p", "4Gi"),
        {MEM: [("1", P)]}, id="uneven-2n/allocated-one-container-regenerated"),
    # Compared with the pod total (6Gi) the first container's 2Gi block does not match.
    pytest.param("uneven-2n", [alloc(mkpod("p", [gu("a", "2Gi"), gu("b", "4Gi")]), "a", "1")],
        mkpod("p", [gu("a", "2Gi"), gu("b", "4Gi")]), None, id="uneven-2n/allocated-partly-nil"),
]
# fmt: on


@pytest.mark.parametrize(("name", "steps", "the_pod", "expected"), POD_HINTS)
def test_pod_hints(
    name: str,
    steps: Sequence[Step],
    the_pod: Pod,
    expected: dict[str, list[tuple[str, bool]]] | None,
) -> None:
    """Pod-scope hints size the whole pod the way the scheduler does."""
    pol = policy(name)
    state = run(pol, steps)
    assert hints_text(pol.get_pod_topology_hints(state, the_pod)) == expected


# -- allocate ------------------------------------------------------------------------------

REUSE3 = mkpod("r", [gu("app", "3Gi")], [gu("init1", "4Gi"), gu("init2", "2Gi")])
GROW = mkpod("g", [gu("app", "5Gi")], [gu("init", "2Gi")])
SIDE_AFTER = mkpod("s", [gu("app", "3Gi")], [gu("init", "4Gi"), gu("side", "2Gi", sidecar=True)])
SIDE_BEFORE = mkpod("s", [gu("app", "3Gi")], [gu("side", "2Gi", sidecar=True), gu("init", "4Gi")])
TYPES = mkpod(
    "t",
    [gu("app", "3Gi", hugepages_2Mi="256Mi")],
    [gu("init", "2Gi", hugepages_2Mi="512Mi")],
)
HUGE = one("h", "2Gi", hugepages_2Mi="512Mi", hugepages_1Gi="1Gi")

# fmt: off
ALLOCATIONS = [
    # 16Gi over {0,1}: node 0 gives all its 12Gi, the other 4Gi spill to node 1 (7 - 4 = 3).
    pytest.param("uneven-2n", [alloc(one("p", "16Gi"), mask="0-1")],
        {0: (1, (0, 1), {MEM: (12 * GiB, 0)}), 1: (1, (0, 1), {MEM: (4 * GiB, 3 * GiB)})},
        {"p": {"app": [((0, 1), MEM, 16 * GiB)]}}, id="uneven-2n/16Gi-spills-to-node-1"),
    # One block per resource, each counted on the node: 3 assignments.
    pytest.param("uneven-2n", [alloc(HUGE, mask="0")],
        {0: (3, (0,), {HP1G: (1 * GiB, 1 * GiB), HP2M: (512 * MiB, 512 * MiB),
                       MEM: (2 * GiB, 10 * GiB)})},
        {"h": {"app": [((0,), HP1G, GiB), ((0,), HP2M, 512 * MiB), ((0,), MEM, 2 * GiB)]}},
        id="uneven-2n/memory-and-two-page-sizes"),
    # No hint from the topology manager: best own hint, {0} (numerically below {1}).
    pytest.param("uneven-2n", [alloc(one("p", "4Gi"))],
        {0: (1, (0,), {MEM: (4 * GiB, 8 * GiB)})},
        {"p": {"app": [((0,), MEM, 4 * GiB)]}}, id="uneven-2n/default-hint-node-0"),
    # With node 0 down to 2Gi free and barred from groups, the default hint is {1}.
    pytest.param("uneven-2n", [alloc(one("a", "10Gi"), mask="0"), alloc(one("b", "4Gi"))],
        {0: (1, (0,), {MEM: (10 * GiB, 2 * GiB)}), 1: (1, (1,), {MEM: (4 * GiB, 3 * GiB)})},
        {"a": {"app": [((0,), MEM, 10 * GiB)]}, "b": {"app": [((1,), MEM, 4 * GiB)]}},
        id="uneven-2n/default-hint-node-1"),
    # After 16Gi on {0,1}, 2Gi without a hint: only {0,1} qualifies (not preferred); node 0 is
    # full, so all of it comes from node 1 (3 - 2 = 1Gi left).
    pytest.param("uneven-2n", [alloc(one("a", "16Gi"), mask="0-1"), alloc(one("b", "2Gi"))],
        {0: (2, (0, 1), {MEM: (12 * GiB, 0)}), 1: (2, (0, 1), {MEM: (6 * GiB, 1 * GiB)})},
        {"a": {"app": [((0, 1), MEM, 16 * GiB)]}, "b": {"app": [((0, 1), MEM, 2 * GiB)]}},
        id="uneven-2n/default-hint-non-preferred-group"),
    # {1} cannot hold 10Gi: extended to the only own hint containing it, {0,1}; node 0 can
    # give it all, node 1 is only counted.
    pytest.param("uneven-2n", [alloc(one("p", "10Gi"), mask="1")],
        {0: (1, (0, 1), {MEM: (10 * GiB, 2 * GiB)}), 1: (1, (0, 1), {})},
        {"p": {"app": [((0, 1), MEM, 10 * GiB)]}}, id="uneven-2n/hint-extended"),
    # Node 1 has no 1Gi pages: {1} extended to {0,1}; both blocks carved from node 0.
    pytest.param("uneven-2n", [alloc(one("p", "1Gi", hugepages_1Gi="1Gi"), mask="1")],
        {0: (2, (0, 1), {HP1G: (1 * GiB, 1 * GiB), MEM: (1 * GiB, 11 * GiB)}), 1: (2, (0, 1), {})},
        {"p": {"app": [((0, 1), HP1G, GiB), ((0, 1), MEM, GiB)]}},
        id="uneven-2n/hint-extended-for-hugepages"),
    # 40 x 1Gi pages over {0,1,2}: 16 + 16 + 8; the 1Gi of memory comes from node 0.
    pytest.param("nps4-384", [alloc(one("p", "1Gi", hugepages_1Gi="40Gi"), mask="0-2")],
        {0: (2, (0, 1, 2), {HP1G: (16 * GiB, 0), MEM: (1 * GiB, 77 * GiB)}),
         1: (2, (0, 1, 2), {HP1G: (16 * GiB, 0)}),
         2: (2, (0, 1, 2), {HP1G: (8 * GiB, 8 * GiB)})},
        {"p": {"app": [((0, 1, 2), HP1G, 40 * GiB), ((0, 1, 2), MEM, GiB)]}},
        id="nps4-384/1Gi-pages-spill-over-three-nodes"),
    # init1 4Gi (charged 4); init2 2Gi reuses it (charged 0, init1 shrinks to 2); the app's 3Gi
    # reuses init1 2 + init2 2 (charged 0; init1 -> 0, init2 -> 1). Blocks sum to the 4Gi held.
    pytest.param("uneven-2n",
        in_order(REUSE3, "0", "init1", "init2", "app"),
        {0: (3, (0,), {MEM: (4 * GiB, 8 * GiB)})},
        {"r": {"init1": [((0,), MEM, 0)], "init2": [((0,), MEM, GiB)],
               "app": [((0,), MEM, 3 * GiB)]}},
        id="uneven-2n/init-reuse-shrinks-first-init-first"),
    # The app asks more than the init container held: charged 5 - 2 = 3 more.
    pytest.param("uneven-2n", [alloc(GROW, "init", "0"), alloc(GROW, "app", "0")],
        {0: (2, (0,), {MEM: (5 * GiB, 7 * GiB)})},
        {"g": {"init": [((0,), MEM, 0)], "app": [((0,), MEM, 5 * GiB)]}},
        id="uneven-2n/app-larger-than-init"),
    # The sidecar starts after init finished and reuses 2 of its 4Gi; the app may reuse only
    # init's remaining 2Gi, not the running sidecar's: charged 1 more, 5Gi in all.
    pytest.param("uneven-2n",
        in_order(SIDE_AFTER, "0", "init", "side", "app"),
        {0: (3, (0,), {MEM: (5 * GiB, 7 * GiB)})},
        {"s": {"init": [((0,), MEM, 0)], "side": [((0,), MEM, 2 * GiB)],
               "app": [((0,), MEM, 3 * GiB)]}},
        id="uneven-2n/sidecar-not-reused"),
    # Sidecar first: init cannot reuse it (charged 4), the app reuses 3 of init's 4: 6Gi in all.
    pytest.param("uneven-2n",
        in_order(SIDE_BEFORE, "0", "side", "init", "app"),
        {0: (3, (0,), {MEM: (6 * GiB, 6 * GiB)})},
        {"s": {"side": [((0,), MEM, 2 * GiB)], "init": [((0,), MEM, GiB)],
               "app": [((0,), MEM, 3 * GiB)]}},
        id="uneven-2n/sidecar-before-init"),
    # Reuse needs the same mask: init on {0}, app on {1}, both charged in full.
    pytest.param("uneven-2n", [alloc(GROW, "init", "0"), alloc(GROW, "app", "1")],
        {0: (1, (0,), {MEM: (2 * GiB, 10 * GiB)}), 1: (1, (1,), {MEM: (5 * GiB, 2 * GiB)})},
        {"g": {"init": [((0,), MEM, 2 * GiB)], "app": [((1,), MEM, 5 * GiB)]}},
        id="uneven-2n/reuse-needs-same-mask"),
    # Reuse is per type: memory 3 - 2 = 1 charged (init -> 0); 2Mi pages 256Mi of 512Mi reused
    # (init -> 256Mi). Four blocks on node 0.
    pytest.param("uneven-2n", [alloc(TYPES, "init", "0"), alloc(TYPES, "app", "0")],
        {0: (4, (0,), {HP2M: (512 * MiB, 512 * MiB), MEM: (3 * GiB, 9 * GiB)})},
        {"t": {"init": [((0,), HP2M, 256 * MiB), ((0,), MEM, 0)],
               "app": [((0,), HP2M, 256 * MiB), ((0,), MEM, 3 * GiB)]}},
        id="uneven-2n/reuse-per-resource-type"),
    # Node 1 has 1Gi free, so {1} does not satisfy 6Gi by free memory alone and is "extended"
    # to the own hint containing it, {1} itself, which counts the init container's 6Gi.
    pytest.param("uneven-2n", [alloc(INIT_6G, "init", "1"), alloc(INIT_6G, "app", "1")],
        {1: (2, (1,), {MEM: (6 * GiB, 1 * GiB)})},
        {"reuse": {"init": [((1,), MEM, 0)], "app": [((1,), MEM, 6 * GiB)]}},
        id="uneven-2n/reuse-on-a-full-node"),
    # A zero request still makes a block and counts on the node.
    pytest.param("uneven-2n", [alloc(one("z", "1Gi", hugepages_1Gi="0"), mask="1")],
        {1: (2, (1,), {MEM: (1 * GiB, 6 * GiB)})},
        {"z": {"app": [((1,), HP1G, 0), ((1,), MEM, GiB)]}}, id="uneven-2n/zero-request-block"),
    # Own hints {0,3} and {1,2} (see four-node/two-groups-possible): the default hint is the
    # narrower by IsNarrowerThan, {1,2} (value 6 < 9), though {0,3} comes first. Node 1 gives
    # its 8Gi, node 2 the other 2Gi.
    pytest.param("four-node", [alloc(one("g", "1Gi"), mask="0,3"), alloc(one("p", "10Gi"))],
        {0: (1, (0, 3), {MEM: (1 * GiB, 6 * GiB)}), 3: (1, (0, 3), {}),
         1: (1, (1, 2), {MEM: (8 * GiB, 0)}), 2: (1, (1, 2), {MEM: (2 * GiB, 6 * GiB)})},
        {"g": {"app": [((0, 3), MEM, GiB)]}, "p": {"app": [((1, 2), MEM, 10 * GiB)]}},
        id="four-node/default-hint-smaller-mask-value"),
    # The CXL node alone takes a request no CPU node can hold.
    pytest.param("cxl-memory-node", [alloc(one("p", "100Gi"))],
        {2: (1, (2,), {MEM: (100 * GiB, 156 * GiB)})},
        {"p": {"app": [((2,), MEM, 100 * GiB)]}}, id="cxl-memory-node/default-hint-cxl-node"),
]
# fmt: on


@pytest.mark.parametrize(("name", "steps", "changes", "entries"), ALLOCATIONS)
def test_allocate(name: str, steps: Sequence[Step], changes: NodeChanges, entries: Entries) -> None:
    """Allocation carves each block from the mask's nodes in id order and records it."""
    pol = policy(name)
    got = run(pol, steps)
    assert got == expected_state(name, changes, entries)
    # A state the policy produced is one it accepts at restart.
    assert pol.start(got) is got


def test_allocate_is_idempotent() -> None:
    """Allocating a container that already holds memory changes nothing."""
    pol = policy("uneven-2n")
    p = one("p", "4Gi")
    state = run(pol, [alloc(p, mask="0")])
    assert pol.allocate(state, p, p.container("app"), cpus("1")) is state


# fmt: off
ALLOCATION_ERRORS = [
    pytest.param([], alloc(one("p", "20Gi")),
        "[memorymanager] failed to get the default NUMA affinity, no NUMA nodes with enough "
        "memory is available", id="uneven-2n/no-default-hint"),
    # The topology manager's hint was preferred but the only own hint is not.
    pytest.param([alloc(one("a", "16Gi"), mask="0-1")], alloc(one("b", "2Gi"), preferred=True),
        "[memorymanager] failed to find the default preferred hint",
        id="uneven-2n/default-hint-not-preferred"),
    pytest.param([], alloc(one("p", "10Gi"), mask="1", preferred=True),
        "[memorymanager] failed to find the extended preferred hint",
        id="uneven-2n/extended-hint-not-preferred"),
    # Node 0 is used alone with 2Gi free: no own hint contains {1}.
    pytest.param([alloc(one("a", "10Gi"), mask="0")], alloc(one("b", "10Gi"), mask="1"),
        "[memorymanager] failed to find NUMA nodes to extend the current topology hint",
        id="uneven-2n/cannot-extend"),
    # {0,1} has room, but node 0 already serves a single-node allocation.
    pytest.param([alloc(one("a", "1Gi"), mask="0")], alloc(one("b", "2Gi"), mask="0-1"),
        "[memorymanager] preferred hint violates NUMA node allocation",
        id="uneven-2n/group-with-node-used-alone"),
    pytest.param([], alloc(one("p", "1500m"), mask="0"),
        "[memorymanager] failed to represent quantity as int64", id="uneven-2n/fractional-bytes"),
    pytest.param([], alloc(one("p", "1Gi"), mask="5"),
        "[memorymanager] NUMA nodes 5 of the topology hint are not in the machine state",
        id="uneven-2n/unknown-node-in-hint"),
]
# fmt: on


@pytest.mark.parametrize(("steps", "step", "message"), ALLOCATION_ERRORS)
def test_allocate_errors(steps: Sequence[Step], step: Step, message: str) -> None:
    """Allocation failures carry the kubelet's texts and are UnexpectedAdmissionErrors."""
    pol = policy("uneven-2n")
    state = run(pol, steps)
    with pytest.raises(MemoryAllocationError) as err:
        run(pol, [step], state)
    assert str(err.value) == message
    assert isinstance(err.value, AllocationError)
    assert err.value.reason == "UnexpectedAdmissionError"


def test_fractional_request_gives_no_hints() -> None:
    """A request that is no whole number of bytes is logged by the kubelet: no preference."""
    pol = policy("uneven-2n")
    p = one("p", "1500m")
    assert pol.get_topology_hints(pol.start(), p, p.container("app")) is None


# -- remove --------------------------------------------------------------------------------

# fmt: off
ROUND_TRIPS = [
    pytest.param("uneven-2n", [alloc(one("p", "16Gi"), mask="0-1")], [remove("p")],
        id="uneven-2n/spilled-group"),
    pytest.param("uneven-2n", [alloc(HUGE, mask="0")], [remove("h")], id="uneven-2n/hugepages"),
    pytest.param("nps4-384", [alloc(one("p", "1Gi", hugepages_1Gi="40Gi"), mask="0-2")],
        [remove("p")], id="nps4-384/three-node-group"),
    # Blocks shrunk by reuse add up to what was charged, so any removal order restores it.
    pytest.param("uneven-2n",
        in_order(REUSE3, "0", "init1", "init2", "app"),
        [remove("r", "init2"), remove("r", "app"), remove("r", "init1")],
        id="uneven-2n/reused-init-blocks"),
    pytest.param("uneven-2n",
        in_order(SIDE_AFTER, "0", "init", "side", "app"),
        [remove("s", "app"), remove("s", "side"), remove("s", "init")], id="uneven-2n/sidecar"),
    pytest.param("three-node",
        [alloc(one("a", "8Gi"), mask="0-1"), alloc(one("b", "4Gi"), mask="2"),
         alloc(one("c", "3Gi"), mask="0-1")],
        [remove("a"), remove("c"), remove("b")], id="three-node/two-groups"),
]
# fmt: on


@pytest.mark.parametrize(("name", "steps", "removals"), ROUND_TRIPS)
def test_remove_restores_default_state(
    name: str, steps: Sequence[Step], removals: Sequence[Step]
) -> None:
    """Removing every container gives back exactly the default machine state."""
    pol = policy(name)
    got = run(pol, [*steps, *removals])
    assert got == MemoryState(machine_state=pol.default_machine_state())


def test_remove_releases_node_by_node() -> None:
    """Release walks the group's nodes in id order; the group stays while a block uses it."""
    pol = policy("uneven-2n")
    # a: 10Gi all on node 0; b: 4Gi = node 0's last 2Gi + 2Gi of node 1.
    state = run(pol, [alloc(one("a", "10Gi"), mask="0-1"), alloc(one("b", "4Gi"), mask="0-1")])
    assert state == expected_state(
        "uneven-2n",
        {0: (2, (0, 1), {MEM: (12 * GiB, 0)}), 1: (2, (0, 1), {MEM: (2 * GiB, 5 * GiB)})},
        {"a": {"app": [((0, 1), MEM, 10 * GiB)]}, "b": {"app": [((0, 1), MEM, 4 * GiB)]}},
    )
    # Removing a releases its 10Gi from node 0 (12 -> 2 reserved), node 1 keeps b's 2Gi.
    got = pol.remove_container(state, "a", "app")
    assert got == expected_state(
        "uneven-2n",
        {0: (1, (0, 1), {MEM: (2 * GiB, 10 * GiB)}), 1: (1, (0, 1), {MEM: (2 * GiB, 5 * GiB)})},
        {"b": {"app": [((0, 1), MEM, 4 * GiB)]}},
    )
    # The kubelet's own replay would carve b from node 0 only; per group the sums agree.
    assert pol.start(got) is got


def test_remove_unknown_container_changes_nothing() -> None:
    """Removing a container without blocks returns the same state."""
    pol = policy("uneven-2n")
    state = run(pol, [alloc(one("p", "1Gi"), mask="0")])
    assert pol.remove_container(state, "p", "other") is state
    assert pol.remove_container(state, "q", "app") is state


def test_numa_nodes_of() -> None:
    """cpuset.mems is the union of the container's blocks' nodes; None without blocks."""
    pol = policy("uneven-2n")
    state = run(pol, [alloc(one("a", "16Gi"), mask="0-1"), alloc(one("b", "1Gi"), mask="0-1")])
    assert pol.numa_nodes_of(state, "a", "app") == cpus("0-1")
    assert pol.numa_nodes_of(state, "c", "app") is None


# -- start ---------------------------------------------------------------------------------


def test_start_with_an_empty_state_is_the_default() -> None:
    """An empty machine state without assignments starts from the default state."""
    pol = policy("uneven-2n")
    fresh = MemoryState(machine_state=pol.default_machine_state())
    assert pol.start(None) == fresh
    assert pol.start(MemoryState(machine_state={})) == fresh


def test_start_keeps_a_state_split_differently_inside_a_group() -> None:
    """Free and reserved are compared per group, so another split between its nodes is fine."""
    pol = policy("uneven-2n")
    # The replay puts 12Gi on node 0 and 4Gi on node 1; 11 + 5 is the same group total.
    state = expected_state(
        "uneven-2n",
        {0: (1, (0, 1), {MEM: (11 * GiB, 1 * GiB)}), 1: (1, (0, 1), {MEM: (5 * GiB, 2 * GiB)})},
        {"p": {"app": [((0, 1), MEM, 16 * GiB)]}},
    )
    assert pol.start(state) is state


ONE_BLOCK = {"p": {"app": (Block((0,), MEM, GiB),)}}


def group_16g(node_1: tuple[int, tuple[int, ...], Mapping[str, tuple[int, int]]]) -> MemoryState:
    """16Gi on {0,1} (node 0 12Gi, node 1 4Gi), with node 1's figures replaced."""
    return expected_state(
        "uneven-2n",
        {0: (1, (0, 1), {MEM: (12 * GiB, 0)}), 1: node_1},
        {"p": {"app": [((0, 1), MEM, 16 * GiB)]}},
    )


# Node 1 as if 1Gi of memory were reserved on it instead of 512Mi: allocatable 6.5Gi.
NODE_1_RESERVING_1G = NUMANodeState(
    0,
    {
        **default_node("uneven-2n", 1).memory_map,
        MEM: MemoryTable(8 * GiB, GiB, 6 * GiB + 512 * MiB, 0, 6 * GiB + 512 * MiB),
    },
    (1,),
)

# fmt: off
START_ERRORS = [
    pytest.param(MemoryState(machine_state={}, assignments=ONE_BLOCK),
        "[memorymanager] machine state can not be empty when it has memory assignments",
        id="uneven-2n/empty-machine-with-assignments"),
    # Node 1 lost 1Gi of free memory that no block explains.
    pytest.param(group_16g(node_1=(1, (0, 1), {MEM: (4 * GiB, 2 * GiB)})),
        "[memorymanager] the expected machine state is different from the real one",
        id="uneven-2n/free-differs"),
    pytest.param(group_16g(node_1=(2, (0, 1), {MEM: (4 * GiB, 3 * GiB)})),
        "[memorymanager] the expected machine state is different from the real one",
        id="uneven-2n/assignment-count-differs"),
    pytest.param(group_16g(node_1=(1, (1,), {MEM: (4 * GiB, 3 * GiB)})),
        "[memorymanager] the expected machine state is different from the real one",
        id="uneven-2n/cells-differ"),
    # A machine state from another machine (three nodes).
    pytest.param(MemoryState(machine_state={n: default_node("three-node", n) for n in range(3)}),
        "[memorymanager] the expected machine state is different from the real one",
        id="uneven-2n/node-count-differs"),
    # reservedMemory changed since the state was written: allocatable differs.
    pytest.param(
        MemoryState(machine_state={0: default_node("uneven-2n", 0), 1: NODE_1_RESERVING_1G}),
        "[memorymanager] the expected machine state is different from the real one",
        id="uneven-2n/system-reserved-differs"),
    pytest.param(expected_state("uneven-2n", {}, {"p": {"app": [((0, 3), MEM, GiB)]}}),
        "[memorymanager] (pod: p, container: app) the memory assignment uses the NUMA that does "
        "not exist", id="uneven-2n/block-on-unknown-node"),
    pytest.param(expected_state("uneven-2n", {}, {"p": {"app": [((0,), "hugepages-64Ki", GiB)]}}),
        "[memorymanager] (pod: p, container: app) the memory assignment uses memory resource "
        "that does not exist", id="uneven-2n/block-of-unknown-resource"),
]
# fmt: on


@pytest.mark.parametrize(("state", "message"), START_ERRORS)
def test_start_rejects(state: MemoryState, message: str) -> None:
    """Start replays every block on the default state and refuses a state that disagrees."""
    with pytest.raises(StateError) as err:
        policy("uneven-2n").start(state)
    assert str(err.value) == message


# -- the None policy -----------------------------------------------------------------------


def test_none_policy_pins_nothing() -> None:
    """The None policy has no machine state, no hints, no blocks and no cpuset.mems."""
    pol = NoneMemoryPolicy(machine("uneven-2n"))
    state = pol.start()
    assert state == MemoryState(machine_state={})
    assert dict(pol.default_machine_state()) == {}
    p = one("p", "4Gi")
    app = p.container("app")
    assert pol.get_topology_hints(state, p, app) is None
    assert pol.get_pod_topology_hints(state, p) is None
    assert pol.allocate(state, p, app, cpus("0")) is state
    assert pol.remove_container(state, "p", "app") is state
    assert pol.numa_nodes_of(state, "p", "app") is None
    with pytest.raises(StateError):
        pol.start(
            MemoryState(machine_state={}, assignments={"p": {"app": (Block((0,), MEM, GiB),)}})
        )


# -- the checkpoint form -------------------------------------------------------------------


def test_state_to_dict_shape() -> None:
    """The dict has the kubelet's memory_manager_state field names and layout."""
    pol = policy("three-node")
    state = run(pol, [alloc(one("p", "1Gi", hugepages_2Mi="4Mi"), mask="2")])
    d = memory_state_to_dict(state)
    assert d["machineState"]["2"] == {
        "numberOfAssignments": 2,
        "memoryMap": {
            HP2M: {"total": 1073741824, "systemReserved": 0, "allocatable": 1073741824,
                   "reserved": 4194304, "free": 1069547520},
            MEM: {"total": 8589934592, "systemReserved": 0, "allocatable": 7516192768,
                  "reserved": 1073741824, "free": 6442450944},
        },
        "cells": [2],
    }  # fmt: skip
    assert sorted(d["machineState"]) == ["0", "1", "2"]
    assert d["entries"] == {
        "p": {
            "app": [
                {"numaAffinity": [2], "type": HP2M, "size": 4194304},
                {"numaAffinity": [2], "type": MEM, "size": 1073741824},
            ]
        }
    }


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        pytest.param("uneven-2n", [], id="uneven-2n/default"),
        pytest.param(
            "uneven-2n",
            in_order(REUSE3, "0", "init1", "init2", "app"),
            id="uneven-2n/reuse",
        ),
        pytest.param(
            "nps4-384",
            [alloc(one("p", "1Gi", hugepages_1Gi="40Gi"), mask="0-2")],
            id="nps4-384/group",
        ),
    ],
)
def test_state_dict_round_trip(name: str, steps: Sequence[Step]) -> None:
    """memory_state_from_dict(memory_state_to_dict(s)) == s."""
    state = run(policy(name), steps)
    assert memory_state_from_dict(memory_state_to_dict(state)) == state


def test_state_from_dict_without_entries() -> None:
    """The kubelet omits empty ``entries``; reading such a state gives no assignments."""
    d = memory_state_to_dict(policy("three-node").start())
    del d["entries"]
    assert memory_state_from_dict(d).assignments == {}


def _broken(change: Any) -> dict[str, Any]:
    d = memory_state_to_dict(run(policy("uneven-2n"), [alloc(one("p", "1Gi"), mask="0")]))
    d = copy.deepcopy(d)
    change(d)
    return d


# fmt: off
MALFORMED = [
    pytest.param(lambda d: d.pop("machineState"), "memory.machineState: missing", id="no-machine"),
    pytest.param(lambda d: d["machineState"].update({"x": {}}),
        "memory.machineState.x: NUMA node ids must be decimal strings", id="bad-node-id"),
    pytest.param(lambda d: d["machineState"]["0"].pop("cells"),
        "memory.machineState.0.cells: missing", id="no-cells"),
    pytest.param(lambda d: d["machineState"]["0"].update(cells="0"),
        "memory.machineState.0.cells: must be a list of NUMA node ids", id="cells-not-a-list"),
    pytest.param(lambda d: d["machineState"]["0"]["memoryMap"]["memory"].update(free=-1),
        "memory.machineState.0.memoryMap.memory.free: must be a non-negative integer",
        id="negative-free"),
    pytest.param(lambda d: d["machineState"]["0"].update(numberOfAssignments=True),
        "memory.machineState.0.numberOfAssignments: must be a non-negative integer",
        id="bool-count"),
    pytest.param(lambda d: d["entries"]["p"].update(app={}),
        "memory.entries.p.app: must be a list of blocks", id="blocks-not-a-list"),
    pytest.param(lambda d: d["entries"]["p"]["app"][0].pop("size"),
        "memory.entries.p.app[0].size: missing", id="block-without-size"),
    pytest.param(lambda d: d["entries"]["p"]["app"][0].update(numaAffinity=["0"]),
        "memory.entries.p.app[0].numaAffinity[0]: must be a non-negative integer",
        id="affinity-of-strings"),
    pytest.param(lambda d: d["entries"]["p"]["app"][0].update(type=""),
        "memory.entries.p.app[0].type: must be a resource name", id="empty-type"),
]
# fmt: on


@pytest.mark.parametrize(("change", "message"), MALFORMED)
def test_state_from_dict_names_the_bad_field(change: Any, message: str) -> None:
    """Malformed input is a ValueError naming the offending field."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        memory_state_from_dict(_broken(change))
