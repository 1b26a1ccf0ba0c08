"""KEP-5526 in the Static memory manager: pods with pod-level resources, placed as a whole.

Source: docs/pod-level-resource-managers.md §3.1 (eligibility), §3.2 (pod scope, memory
``AllocatePod``), §3.3 (container scope), §3.5 (empty shared pool), §3.6 (``podEntries``) and
the two pods of §4. Machine: the ``dual-socket-ht`` fixture, 64Gi per NUMA node with 1024 x 2Mi
(2Gi) and 4 x 1Gi pages per node, 1Gi of memory reserved on node 0. Allocatable memory is
64 - 2 - 4 - 1 = 57Gi on node 0 and 58Gi on node 1; 2Gi of 2Mi and 4Gi of 1Gi pages each.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from machines import container, cpus

from pinlet.server.errors import EmptyPodSharedPoolError, StateError
from pinlet.server.hints import TopologyHint
from pinlet.server.machine import load
from pinlet.server.memory_policy import (
    Block,
    MemoryAllocationError,
    MemoryState,
    MemoryTable,
    NUMANodeState,
    StaticMemoryPolicy,
    memory_state_from_dict,
    memory_state_to_dict,
)
from pinlet.server.pod import Container, Pod, Resources, is_exclusive_eligible
from pinlet.server.topology import Topology

GiB = 1 << 30
MEM = "memory"
HP1G = "hugepages-1Gi"
HP2M = "hugepages-2Mi"
P, N = True, False

MACHINE: Topology = load(Path(__file__).parent / "fixtures" / "machines" / "dual-socket-ht.yaml")
RESERVED = {0: {MEM: GiB}}

# node -> resource -> (total, systemReserved, allocatable), nothing handed out.
DEFAULTS = {
    0: {HP2M: (2 * GiB, 0, 2 * GiB), HP1G: (4 * GiB, 0, 4 * GiB), MEM: (64 * GiB, GiB, 57 * GiB)},
    1: {HP2M: (2 * GiB, 0, 2 * GiB), HP1G: (4 * GiB, 0, 4 * GiB), MEM: (64 * GiB, 0, 58 * GiB)},
}


def policy(*, gate: bool = True, pod_level_resources: bool = True) -> StaticMemoryPolicy:
    return StaticMemoryPolicy(
        MACHINE,
        RESERVED,
        pod_level_resources=pod_level_resources,
        pod_level_resource_managers=gate,
    )


# -- expected states -----------------------------------------------------------------------

# node -> (numberOfAssignments, cells, resource -> reserved bytes); free = allocatable - reserved.
Nodes = Mapping[int, tuple[int, tuple[int, ...], Mapping[str, int]]]
# (NUMA nodes, type, size)
BlockSpec = tuple[tuple[int, ...], str, int]


def expected(
    nodes: Nodes,
    entries: Mapping[str, Mapping[str, Sequence[BlockSpec]]],
    pod_entries: Mapping[str, Sequence[BlockSpec]],
) -> MemoryState:
    """The default machine state with ``nodes`` changed, and the given blocks."""
    machine_state = {}
    for nid, resources in DEFAULTS.items():
        count, cells, used = nodes.get(nid, (0, (nid,), {}))
        tables = {
            r: MemoryTable(total, sr, alloc, used.get(r, 0), alloc - used.get(r, 0))
            for r, (total, sr, alloc) in resources.items()
        }
        machine_state[nid] = NUMANodeState(count, tables, cells)
    return MemoryState(
        machine_state=machine_state,
        assignments={
            p: {c: tuple(Block(*b) for b in blocks) for c, blocks in conts.items()}
            for p, conts in entries.items()
        },
        pod_entries={p: tuple(Block(*b) for b in blocks) for p, blocks in pod_entries.items()},
    )


def hints_text(
    hints: Mapping[str, Sequence[TopologyHint]] | None,
) -> dict[str, list[tuple[str, bool]]] | None:
    if hints is None:
        return None
    return {r: [(str(h.affinity), h.preferred) for h in hs] for r, hs in hints.items()}


# -- pods ----------------------------------------------------------------------------------


def gu(name: str, cpu: str, memory: str, *, sidecar: bool = False, **hugepages: str) -> Container:
    """A container with request == limit for cpu and memory (and any ``hugepages_1Gi=``)."""
    amounts = {"cpu": cpu, MEM: memory, **{k.replace("_", "-"): v for k, v in hugepages.items()}}
    c: Container = container(
        name, requests=amounts, limits=amounts, restart_policy="Always" if sidecar else None
    )
    return c


def shared(name: str, *, sidecar: bool = False) -> Container:
    """A container without resources: it runs in the pod's shared pool."""
    c: Container = container(name, restart_policy="Always" if sidecar else None)
    return c


def pod_level(
    uid: str,
    amounts: Mapping[str, str],
    apps: Sequence[Container],
    inits: Sequence[Container] = (),
    *,
    requests: Mapping[str, str] | None = None,
) -> Pod:
    """A pod with ``spec.resources``: limits ``amounts``, requests ``requests`` or the same."""
    return Pod(
        uid,
        uid,
        "default",
        tuple(apps),
        tuple(inits),
        resources=Resources.from_dict(
            {"requests": dict(requests or amounts), "limits": dict(amounts)},
            "spec.resources",
            pod_level=True,
        ),
    )


def unvalidated(p: Pod, inits: Sequence[Container]) -> Pod:
    """``p`` with init containers the API server would refuse (beyond the pod's requests):
    the policy checks the budget itself rather than trust that validation."""
    object.__setattr__(p, "init_containers", tuple(inits))
    return p


# §4.1 and §4.2.
DATABASE = pod_level(
    "db",
    {"cpu": "8", MEM: "16Gi"},
    [gu("database", "6", "12Gi")],
    [shared("metrics-exporter", sidecar=True), shared("backup-agent", sidecar=True)],
)
ML = pod_level(
    "ml",
    {"cpu": "4", MEM: "8Gi"},
    [gu("ml-training", "3", "6Gi")],
    [shared("service-mesh-sidecar", sidecar=True)],
)
DATABASE_ENTRIES = {
    "database": [((0,), MEM, 12 * GiB)],
    "metrics-exporter": [((0,), MEM, 4 * GiB)],
    "backup-agent": [((0,), MEM, 4 * GiB)],
}
DATABASE_ON_0 = expected(
    {0: (1, (0,), {MEM: 16 * GiB})},
    {"db": DATABASE_ENTRIES},
    {"db": [((0,), MEM, 16 * GiB)]},
)

# The whole budget taken by the exclusive container while a sidecar needs the shared pool.
NO_POOL = pod_level(
    "np",
    {"cpu": "8", MEM: "16Gi"},
    [gu("database", "8", "16Gi")],
    [shared("metrics-exporter", sidecar=True)],
)


# -- eligibility ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("the_container", "eligible"),
    [
        pytest.param(gu("c", "6", "12Gi"), True, id="guaranteed"),
        # Memory does not need a whole number of CPUs, only request == limit.
        pytest.param(gu("c", "500m", "1Gi"), True, id="fractional-cpu"),
        pytest.param(shared("c"), False, id="no-resources"),
        pytest.param(
            container("c", requests={MEM: "1Gi"}, limits={MEM: "1Gi"}), False, id="memory-only"
        ),
        pytest.param(
            container("c", requests={"cpu": "1", MEM: "1Gi"}, limits={"cpu": "2", MEM: "1Gi"}),
            False,
            id="cpu-request-below-limit",
        ),
        pytest.param(
            container("c", requests={"cpu": "1", MEM: "1Gi"}, limits={"cpu": "1", MEM: "2Gi"}),
            False,
            id="memory-request-below-limit",
        ),
    ],
)
def test_is_container_exclusive_eligible(the_container: Container, eligible: bool) -> None:
    """Eligible iff request == limit for both cpu and memory."""
    assert is_exclusive_eligible(the_container) is eligible


# -- pod scope: hints ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("the_pod", "hints"),
    [
        # 16Gi of pod budget fits either node; the containers' 12Gi plays no part.
        pytest.param(DATABASE, {MEM: [("0", P), ("1", P), ("0-1", N)]}, id="tightly-coupled-db"),
        pytest.param(ML, {MEM: [("0", P), ("1", P), ("0-1", N)]}, id="ml-workload"),
        # 60Gi fits no single node (57, 58): both nodes is the narrowest, so preferred.
        pytest.param(
            pod_level("big", {"cpu": "10", MEM: "60Gi"}, [gu("app", "8", "50Gi")]),
            {MEM: [("0-1", P)]},
            id="60Gi-needs-both-nodes",
        ),
        pytest.param(
            pod_level("huge", {"cpu": "10", MEM: "120Gi"}, [gu("app", "8", "50Gi")]),
            {},
            id="120Gi-fits-nowhere",
        ),
    ],
)
def test_pod_hints(the_pod: Pod, hints: dict[str, list[tuple[str, bool]]]) -> None:
    """Pod-scope hints are sized from the pod-level memory request."""
    pol = policy()
    assert hints_text(pol.get_pod_topology_hints(pol.start(), the_pod)) == hints


def test_pod_hints_after_allocation_are_regenerated() -> None:
    """Once the pod holds its budget, its hint is the pod entry's mask."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("1"))
    assert hints_text(pol.get_pod_topology_hints(state, DATABASE)) == {MEM: [("1", P)]}


def test_pod_hints_with_hugepages() -> None:
    """Hugepages in the pod-level request are hinted like memory."""
    the_pod = pod_level(
        "hp",
        {"cpu": "4", MEM: "8Gi", HP1G: "3Gi"},
        [gu("app", "2", "4Gi", hugepages_1Gi="2Gi")],
        [shared("proxy", sidecar=True)],
    )
    pol = policy()
    assert hints_text(pol.get_pod_topology_hints(pol.start(), the_pod)) == {
        HP1G: [("0", P), ("1", P), ("0-1", N)],
        MEM: [("0", P), ("1", P), ("0-1", N)],
    }


# -- pod scope: the empty shared pool ------------------------------------------------------

# fmt: off
EMPTY_POOLS = [
    pytest.param(NO_POOL, {MEM: []},
        "[memorymanager] exclusive memory (16Gi) uses the whole pod budget (16Gi), leaving no "
        "shared pool for metrics-exporter", id="exclusive-app-takes-the-budget"),
    # Exclusive sidecar 6Gi + exclusive app 10Gi = 16Gi; the shared app gets nothing.
    pytest.param(
        pod_level("sc", {"cpu": "8", MEM: "16Gi"}, [gu("app", "2", "10Gi"), shared("logger")],
                  [gu("side", "1", "6Gi", sidecar=True)]),
        {MEM: []},
        "[memorymanager] exclusive memory (16Gi) uses the whole pod budget (16Gi), leaving no "
        "shared pool for logger", id="exclusive-sidecar-and-app-take-the-budget"),
    # Hugepages are checked on their own: the defaulted pod-level 2Gi of 1Gi pages all go to
    # the app, so the shared sidecar's hugepages pool is empty, while memory has room.
    pytest.param(
        pod_level("hp", {"cpu": "4", MEM: "8Gi"}, [gu("app", "2", "4Gi", hugepages_1Gi="2Gi")],
                  [shared("proxy", sidecar=True)]),
        {HP1G: [], MEM: [("0", P), ("1", P), ("0-1", N)]},
        "[memorymanager] exclusive hugepages-1Gi (2Gi) uses the whole pod budget (2Gi), leaving "
        "no shared pool for proxy", id="hugepages-pool-empty"),
    pytest.param(
        unvalidated(pod_level("init", {"cpu": "4", MEM: "8Gi"}, [gu("app", "2", "4Gi")]),
                    [gu("init", "1", "10Gi")]),
        {MEM: []},
        "[memorymanager] init container 'init' needs 10Gi of exclusive memory, but only 8Gi of "
        "the pod's 8Gi are left after its sidecars", id="init-larger-than-the-budget"),
    pytest.param(
        unvalidated(pod_level("init", {"cpu": "4", MEM: "8Gi"}, [gu("app", "2", "4Gi")]),
                    [gu("side", "1", "2Gi", sidecar=True), gu("init", "1", "7Gi")]),
        {MEM: []},
        "[memorymanager] init container 'init' needs 7Gi of exclusive memory, but only 6Gi of "
        "the pod's 8Gi are left after its sidecars", id="init-larger-than-budget-less-sidecars"),
    pytest.param(
        unvalidated(pod_level("init", {"cpu": "4", MEM: "8Gi"}, [gu("app", "1", "1Gi")]),
                    [gu("side", "1", "8Gi", sidecar=True), shared("setup")]),
        {MEM: []},
        "[memorymanager] init container 'setup' has no memory left in the pod's 8Gi after its "
        "sidecars", id="shared-init-after-sidecars-took-the-budget"),
]
# fmt: on


@pytest.mark.parametrize(("the_pod", "hints", "message"), EMPTY_POOLS)
def test_empty_pod_shared_pool(
    the_pod: Pod, hints: dict[str, list[tuple[str, bool]]], message: str
) -> None:
    """An empty shared pool gives an empty hint list, and allocate_pod refuses the pod."""
    pol = policy()
    state = pol.start()
    assert hints_text(pol.get_pod_topology_hints(state, the_pod)) == hints
    with pytest.raises(EmptyPodSharedPoolError) as err:
        pol.allocate_pod(state, the_pod, cpus("0"))
    assert str(err.value) == message
    assert err.value.reason == "EmptyPodSharedPoolError"


def test_budget_left_for_the_shared_pool_is_admitted() -> None:
    """Exclusive requests 1Gi short of the budget leave the sidecar a 1Gi pool: admitted."""
    the_pod = pod_level(
        "ok", {"cpu": "8", MEM: "16Gi"}, [gu("database", "7", "15Gi")], [shared("m", sidecar=True)]
    )
    pol = policy()
    state = pol.allocate_pod(pol.start(), the_pod, cpus("0"))
    assert state == expected(
        {0: (1, (0,), {MEM: 16 * GiB})},
        {"ok": {"database": [((0,), MEM, 15 * GiB)], "m": [((0,), MEM, GiB)]}},
        {"ok": [((0,), MEM, 16 * GiB)]},
    )


# -- pod scope: allocate_pod ---------------------------------------------------------------


@pytest.mark.parametrize(
    "mask", [pytest.param(None, id="no-hint-default-0"), pytest.param("0", id="hint-0")]
)
def test_allocate_pod_tightly_coupled_database(mask: str | None) -> None:
    """§4.1: the machine is charged 16Gi once; database 12Gi, each sidecar the 4Gi pool."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, None if mask is None else cpus(mask))
    assert state == DATABASE_ON_0


def test_allocate_pod_both_pods() -> None:
    """§4.1 then §4.2 on node 0: 16 + 8 = 24Gi charged, two pod blocks counted."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("0"))
    state = pol.allocate_pod(state, ML, cpus("0"), preferred=True)
    assert state == expected(
        {0: (2, (0,), {MEM: 24 * GiB})},
        {
            "db": DATABASE_ENTRIES,
            "ml": {
                "ml-training": [((0,), MEM, 6 * GiB)],
                "service-mesh-sidecar": [((0,), MEM, 2 * GiB)],
            },
        },
        {"db": [((0,), MEM, 16 * GiB)], "ml": [((0,), MEM, 8 * GiB)]},
    )


def test_allocate_pod_on_the_hinted_node() -> None:
    """The pod goes where the topology manager's hint says."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), ML, cpus("1"))
    assert state == expected(
        {1: (1, (1,), {MEM: 8 * GiB})},
        {
            "ml": {
                "ml-training": [((1,), MEM, 6 * GiB)],
                "service-mesh-sidecar": [((1,), MEM, 2 * GiB)],
            }
        },
        {"ml": [((1,), MEM, 8 * GiB)]},
    )


def test_allocate_pod_widens_the_hint() -> None:
    """60Gi does not fit node 0 (57Gi): the hint is widened to {0,1}, node 0 filled first."""
    the_pod = pod_level(
        "big", {"cpu": "10", MEM: "60Gi"}, [gu("app", "8", "50Gi")], [shared("m", sidecar=True)]
    )
    pol = policy()
    state = pol.allocate_pod(pol.start(), the_pod, cpus("0"), preferred=True)
    assert state == expected(
        {0: (1, (0, 1), {MEM: 57 * GiB}), 1: (1, (0, 1), {MEM: 3 * GiB})},
        {"big": {"app": [((0, 1), MEM, 50 * GiB)], "m": [((0, 1), MEM, 10 * GiB)]}},
        {"big": [((0, 1), MEM, 60 * GiB)]},
    )
    assert pol.numa_nodes_of(state, "big", "m") == cpus("0-1")


def test_allocate_pod_without_room() -> None:
    """A budget no NUMA mask can hold is refused like a container's."""
    the_pod = pod_level("huge", {"cpu": "10", MEM: "120Gi"}, [gu("app", "8", "50Gi")])
    pol = policy()
    with pytest.raises(MemoryAllocationError) as err:
        pol.allocate_pod(pol.start(), the_pod, None)
    assert str(err.value) == (
        "[memorymanager] failed to get the default NUMA affinity, no NUMA nodes with enough "
        "memory is available"
    )
    assert err.value.reason == "UnexpectedAdmissionError"


def test_allocate_pod_with_hugepages() -> None:
    """Hugepages are a second pod block; the sidecar's share is 1Gi of pages and 4Gi of memory."""
    the_pod = pod_level(
        "hp",
        {"cpu": "4", MEM: "8Gi", HP1G: "3Gi"},
        [gu("app", "2", "4Gi", hugepages_1Gi="2Gi")],
        [shared("proxy", sidecar=True)],
    )
    pol = policy()
    state = pol.allocate_pod(pol.start(), the_pod, cpus("0"))
    assert state == expected(
        {0: (2, (0,), {HP1G: 3 * GiB, MEM: 8 * GiB})},
        {
            "hp": {
                "app": [((0,), HP1G, 2 * GiB), ((0,), MEM, 4 * GiB)],
                "proxy": [((0,), HP1G, GiB), ((0,), MEM, 4 * GiB)],
            }
        },
        {"hp": [((0,), HP1G, 3 * GiB), ((0,), MEM, 8 * GiB)]},
    )


def test_allocate_pod_init_containers() -> None:
    """A shared init container gets the budget less the exclusive sidecars before it; an
    exclusive init container its own size; shared apps the pool after sidecars and apps."""
    the_pod = pod_level(
        "init",
        {"cpu": "8", MEM: "16Gi"},
        [gu("app", "4", "6Gi"), shared("logger")],
        [gu("side", "1", "4Gi", sidecar=True), shared("setup"), gu("migrate", "1", "8Gi")],
    )
    pol = policy()
    state = pol.allocate_pod(pol.start(), the_pod, cpus("0"))
    # setup: 16 - 4 = 12Gi; logger: 16 - 4 (side) - 6 (app) = 6Gi.
    assert state == expected(
        {0: (1, (0,), {MEM: 16 * GiB})},
        {
            "init": {
                "side": [((0,), MEM, 4 * GiB)],
                "setup": [((0,), MEM, 12 * GiB)],
                "migrate": [((0,), MEM, 8 * GiB)],
                "app": [((0,), MEM, 6 * GiB)],
                "logger": [((0,), MEM, 6 * GiB)],
            }
        },
        {"init": [((0,), MEM, 16 * GiB)]},
    )


def test_allocate_pod_is_idempotent() -> None:
    """A pod that holds its budget is not placed again, whatever the hint."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("0"))
    assert pol.allocate_pod(state, DATABASE, cpus("1")) is state
    # Nor does the per-container path charge anything for its containers.
    assert pol.allocate(state, DATABASE, DATABASE.container("database"), cpus("1")) is state


def test_numa_nodes_of_every_container() -> None:
    """Every container of the pod gets the pod's mask as cpuset.mems."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("0"))
    got = {c.name: pol.numa_nodes_of(state, "db", c.name) for c in DATABASE.all_containers()}
    assert got == {"metrics-exporter": cpus("0"), "backup-agent": cpus("0"), "database": cpus("0")}


def test_remove_containers_one_by_one() -> None:
    """Memory goes back to the machine only with the pod's last container."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("0"))
    state = pol.remove_container(state, "db", "database")
    assert state == expected(
        {0: (1, (0,), {MEM: 16 * GiB})},
        {"db": {k: v for k, v in DATABASE_ENTRIES.items() if k != "database"}},
        {"db": [((0,), MEM, 16 * GiB)]},
    )
    state = pol.remove_container(state, "db", "metrics-exporter")
    assert state == expected(
        {0: (1, (0,), {MEM: 16 * GiB})},
        {"db": {"backup-agent": DATABASE_ENTRIES["backup-agent"]}},
        {"db": [((0,), MEM, 16 * GiB)]},
    )
    assert pol.remove_container(state, "db", "database") is state
    state = pol.remove_container(state, "db", "backup-agent")
    assert state == expected({}, {}, {})
    assert state == pol.start()


def test_remove_leaves_other_pods_alone() -> None:
    """Releasing one pod's budget leaves the other pod's charge on the node."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("0"))
    state = pol.allocate_pod(state, ML, cpus("0"))
    for name in ("ml-training", "service-mesh-sidecar"):
        state = pol.remove_container(state, "ml", name)
    assert state == DATABASE_ON_0


# -- gates and QoS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gate", "pod_level_resources"),
    [
        pytest.param(False, True, id="gate-off"),
        # spec.resources is ignored, so the sidecars without resources make the pod Burstable.
        pytest.param(True, False, id="pod-level-resources-off"),
    ],
)
def test_pod_level_pods_skipped(gate: bool, pod_level_resources: bool) -> None:
    """Without the gates a pod with pod-level resources gets no hints and no blocks."""
    pol = policy(gate=gate, pod_level_resources=pod_level_resources)
    state = pol.start()
    database = DATABASE.container("database")
    assert pol.is_pod_level(DATABASE) is False
    assert pol.get_pod_topology_hints(state, DATABASE) is None
    assert pol.allocate_pod(state, DATABASE, cpus("0")) is state
    assert pol.get_topology_hints(state, DATABASE, database) is None
    assert pol.allocate(state, DATABASE, database, cpus("0")) is state


def test_burstable_pod_level_pod_skipped() -> None:
    """A pod-level pod that is not Guaranteed (cpu request below limit) is not pinned."""
    the_pod = pod_level(
        "b",
        {"cpu": "8", MEM: "16Gi"},
        [gu("database", "6", "12Gi")],
        requests={"cpu": "7", MEM: "16Gi"},
    )
    pol = policy()
    state = pol.start()
    database = the_pod.container("database")
    assert pol.get_pod_topology_hints(state, the_pod) is None
    assert pol.allocate_pod(state, the_pod, cpus("0")) is state
    assert pol.get_topology_hints(state, the_pod, database) is None
    assert pol.allocate(state, the_pod, database, cpus("0")) is state


# -- container scope -----------------------------------------------------------------------


def test_container_scope() -> None:
    """Container scope: database gets its own 12Gi block; the sidecars get nothing."""
    pol = policy()
    state = pol.start()
    database = DATABASE.container("database")
    assert hints_text(pol.get_topology_hints(state, DATABASE, database)) == {
        MEM: [("0", P), ("1", P), ("0-1", N)]
    }
    state = pol.allocate(state, DATABASE, database, cpus("0"))
    for name in ("metrics-exporter", "backup-agent"):
        sidecar = DATABASE.container(name)
        assert pol.get_topology_hints(state, DATABASE, sidecar) is None
        assert pol.allocate(state, DATABASE, sidecar, cpus("0")) is state
    assert state == expected(
        {0: (1, (0,), {MEM: 12 * GiB})}, {"db": {"database": [((0,), MEM, 12 * GiB)]}}, {}
    )
    got = {c.name: pol.numa_nodes_of(state, "db", c.name) for c in DATABASE.all_containers()}
    assert got == {"metrics-exporter": None, "backup-agent": None, "database": cpus("0")}
    assert pol.remove_container(state, "db", "database") == pol.start()


# -- start and the checkpoint form ---------------------------------------------------------


def test_start_accepts_pod_entries() -> None:
    """Replaying charges each pod entry once and none of its containers' blocks."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("0"))
    state = pol.allocate_pod(state, ML, cpus("1"))
    state = pol.allocate(state, ML, ML.container("ml-training"), cpus("1"))
    assert pol.start(state) is state


# fmt: off
START_ERRORS = [
    # The machine charged the container blocks (12 + 4 + 4Gi, three blocks), not the pod's.
    pytest.param(
        expected({0: (3, (0,), {MEM: 20 * GiB})}, {"db": DATABASE_ENTRIES},
                 {"db": [((0,), MEM, 16 * GiB)]}),
        "[memorymanager] the expected machine state is different from the real one",
        id="container-blocks-charged"),
    # podEntries lost (an older writer): the containers' blocks would be 20Gi, not 16Gi.
    pytest.param(
        expected({0: (1, (0,), {MEM: 16 * GiB})}, {"db": DATABASE_ENTRIES}, {}),
        "[memorymanager] the expected machine state is different from the real one",
        id="pod-entries-lost"),
    pytest.param(
        expected({0: (1, (0,), {MEM: 16 * GiB})}, {}, {"db": [((0, 2), MEM, 16 * GiB)]}),
        "[memorymanager] (pod: db) the memory assignment uses the NUMA that does not exist",
        id="pod-entry-on-unknown-node"),
    pytest.param(
        MemoryState(machine_state={}, pod_entries={"db": (Block((0,), MEM, GiB),)}),
        "[memorymanager] machine state can not be empty when it has memory assignments",
        id="empty-machine-with-pod-entries"),
]
# fmt: on


@pytest.mark.parametrize(("state", "message"), START_ERRORS)
def test_start_rejects(state: MemoryState, message: str) -> None:
    """A state whose pod entries do not explain the machine state is refused."""
    with pytest.raises(StateError) as err:
        policy().start(state)
    assert str(err.value) == message


def test_state_to_dict_pod_entries() -> None:
    """Pod entries are written as ``podEntries``: pod uid → ``memoryBlocks``."""
    pol = policy()
    d = memory_state_to_dict(pol.allocate_pod(pol.start(), ML, cpus("1")))
    assert d["podEntries"] == {
        "ml": {"memoryBlocks": [{"numaAffinity": [1], "type": MEM, "size": 8589934592}]}
    }
    assert d["entries"] == {
        "ml": {
            "ml-training": [{"numaAffinity": [1], "type": MEM, "size": 6442450944}],
            "service-mesh-sidecar": [{"numaAffinity": [1], "type": MEM, "size": 2147483648}],
        }
    }


def test_state_dict_round_trip() -> None:
    """memory_state_from_dict(memory_state_to_dict(s)) == s with pod entries."""
    pol = policy()
    state = pol.allocate_pod(pol.start(), DATABASE, cpus("0"))
    state = pol.allocate_pod(state, ML, cpus("0"))
    assert memory_state_from_dict(memory_state_to_dict(state)) == state


def test_state_from_dict_without_pod_entries() -> None:
    """A state without ``podEntries`` (older writer, no pod-level pods) has none."""
    d = memory_state_to_dict(policy().start())
    del d["podEntries"]
    assert memory_state_from_dict(d) == policy().start()


def _broken(change: Any) -> dict[str, Any]:
    pol = policy()
    d = copy.deepcopy(memory_state_to_dict(pol.allocate_pod(pol.start(), ML, cpus("0"))))
    change(d)
    return d


# fmt: off
MALFORMED = [
    pytest.param(lambda d: d.update(podEntries=[]),
        "memory.podEntries: must be an object", id="pod-entries-not-an-object"),
    pytest.param(lambda d: d["podEntries"]["ml"].pop("memoryBlocks"),
        "memory.podEntries.ml.memoryBlocks: missing", id="no-memory-blocks"),
    pytest.param(lambda d: d["podEntries"]["ml"].update(memoryBlocks={}),
        "memory.podEntries.ml.memoryBlocks: must be a list of blocks", id="blocks-not-a-list"),
    pytest.param(lambda d: d["podEntries"]["ml"]["memoryBlocks"][0].update(size=-1),
        "memory.podEntries.ml.memoryBlocks[0].size: must be a non-negative integer",
        id="negative-size"),
]
# fmt: on


@pytest.mark.parametrize(("change", "message"), MALFORMED)
def test_state_from_dict_names_the_bad_pod_entry_field(change: Any, message: str) -> None:
    """Malformed ``podEntries`` is a ValueError naming the offending field."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        memory_state_from_dict(_broken(change))
