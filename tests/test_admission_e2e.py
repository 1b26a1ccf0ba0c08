"""Admission end to end: the client library against servers with explicit configurations.

Every expected placement below was worked out by hand from kubelet-algorithms §1 (CPU hints,
takeByTopology), §2 (the Static memory manager) and §3 (the topology manager's merge); the
comment next to each case is the short form of that derivation. The fixture machines:

* dual-socket-ht: NUMA node n = socket n, core k = CPUs k and k+16 (node 0 = 0-7,16-23,
  node 1 = 8-15,24-31); per node 64Gi, 1024 2Mi pages (2Gi) and 4 1Gi pages (4Gi). Every
  config reserves CPUs 0 and 16, so node 0 has 14 CPUs to give and node 1 has 16.
* adjacent-siblings: one socket, core k = CPUs 2k and 2k+1, node 0 = 0-7, node 1 = 8-15;
  32Gi per node, node 0 with 512 2Mi pages (1Gi) and 2 1Gi pages, node 1 with 256 2Mi pages
  (512Mi) only. CPUs 0-1 reserved. One socket over two nodes: "sockets first" ordering.
* nps4-384: 2 sockets of 4 NUMA nodes; core k = CPUs k and k+192, node n = cores 24n..24n+23.
  CPUs 0 and 192 reserved.

Shorthand in the comments: {0}p is a preferred hint for node 0, {0,1}np a non-preferred one;
"avail" counts a node's CPUs that are free for exclusive use.
"""

from __future__ import annotations

import dataclasses
import logging
import textwrap
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog

from pinlet.client import (
    AdmissionRejected,
    Allocatable,
    ContainerAssignment,
    ContainerMemory,
    ContainerSpec,
    HintsResult,
    InvalidArgument,
    MemoryResource,
    NUMANodeResources,
    PinletClient,
    PodAssignment,
    PodSpec,
    ProviderHints,
    ResourceRequirements,
    TopologyAffinityError,
    TopologyHint,
    UnexpectedAdmissionError,
    load_pod_manifest,
)
from pinlet.server.cli import main
from pinlet.server.config import Config, ReservedMemory
from pinlet.server.cpuset import CPUSet
from pinlet.server.machine import load
from pinlet.server.quantity import Quantity
from pinlet.server.topology import Topology

MACHINES = Path(__file__).parent / "fixtures" / "machines"
DUAL_SOCKET_HT = load(MACHINES / "dual-socket-ht.yaml")
ADJACENT_SIBLINGS = load(MACHINES / "adjacent-siblings.yaml")
NPS4_384 = load(MACHINES / "nps4-384.yaml")

MI = 1 << 20
GI = 1 << 30
GPU = "nvidia.com/gpu"


# -- configurations ------------------------------------------------------------------------------


def config(
    policy: str,
    *,
    scope: str = "container",
    reserved: str = "0,16",
    memory: Mapping[int, Mapping[str, str]] | None = None,
) -> Config:
    """The static CPU policy with ``reserved`` CPUs under topology ``policy`` and ``scope``;
    ``memory`` (node → reservedMemory limits) turns the Static memory manager on."""
    return Config(
        cpu_manager_policy="static",
        reserved_system_cpus=CPUSet.parse(reserved),
        topology_manager_policy=policy,
        topology_manager_scope=scope,
        memory_manager_policy="None" if memory is None else "Static",
        reserved_memory=tuple(
            ReservedMemory(node, {k: Quantity.parse(v) for k, v in limits.items()})
            for node, limits in (memory or {}).items()
        ),
    )


# dual-socket-ht with Static memory: node 0 keeps 8Gi for the system, node 1 1Gi, so regular
# memory allocatable is 64 - 8 - 6 (hugepages) = 50Gi on node 0 and 57Gi on node 1.
DUAL_RESERVED_MEMORY = {0: {"memory": "8Gi"}, 1: {"memory": "1Gi"}}
# adjacent-siblings: node 0 keeps 1Gi, node 1 2Gi and 128Mi of its 2Mi pages.
ADJACENT_RESERVED_MEMORY = {0: {"memory": "1Gi"}, 1: {"memory": "2Gi", "hugepages-2Mi": "128Mi"}}


# -- pods ----------------------------------------------------------------------------------------


def ctr(
    name: str, cpu: str, memory: str = "1Gi", more: Mapping[str, str] | None = None
) -> ContainerSpec:
    """A container whose limits (and so requests) are ``cpu``, ``memory`` and ``more``."""
    return ContainerSpec(
        name, ResourceRequirements(limits={"cpu": cpu, "memory": memory, **(more or {})})
    )


def pod(*containers: ContainerSpec, name: str = "pod") -> PodSpec:
    """A pod of ``containers`` with a fresh uid."""
    return PodSpec(uid=str(uuid.uuid4()), name=name, namespace="default", containers=containers)


def app(cpu: str, memory: str = "1Gi", more: Mapping[str, str] | None = None) -> PodSpec:
    """A pod with one container ``app``."""
    return pod(ctr("app", cpu, memory, more))


# -- expected values -----------------------------------------------------------------------------


def block(memory_type: str, size: int, nodes: str) -> ContainerMemory:
    """A pinned memory block on the NUMA nodes of the cpulist ``nodes``."""
    return ContainerMemory(memory_type, size, CPUSet.parse(nodes).as_frozenset())


def exclusive(
    name: str, cpus: str, numa: str, mems: str, memory: Sequence[ContainerMemory] = ()
) -> ContainerAssignment:
    """An app container holding ``cpus`` exclusively, merged affinity ``numa``."""
    return ContainerAssignment(
        name=name,
        kind="app",
        cpuset_cpus=cpus,
        cpuset_mems=mems,
        numa_affinity=CPUSet.parse(numa).as_frozenset(),
        exclusive=True,
        isolation="node-exclusive",
        cpu_ids=CPUSet.parse(cpus).sorted(),
        memory=tuple(memory),
        cfs_quota_disabled=True,
    )


def admitted(spec: PodSpec, *containers: ContainerAssignment) -> PodAssignment:
    """The assignment of a Guaranteed pod."""
    return PodAssignment(spec.uid, spec.name, spec.namespace, "Guaranteed", containers)


def by_type(a: PodAssignment) -> PodAssignment:
    """``a`` with each container's blocks in resource-name order.

    The API leaves the order of a container's blocks open (it follows the request's resource
    map, whose order protobuf does not keep), so only the set is compared.
    """
    return dataclasses.replace(
        a,
        containers=tuple(
            dataclasses.replace(c, memory=tuple(sorted(c.memory, key=lambda m: m.memory_type)))
            for c in a.containers
        ),
    )


def dual_memory(system_reserved_gi: int) -> tuple[MemoryResource, ...]:
    """A pristine dual-socket-ht node under Static: 4Gi of 1Gi pages, 2Gi of 2Mi pages, and
    64Gi of memory of which the hugepages (6Gi) and the system reservation are not pinnable."""
    memory = (58 - system_reserved_gi) * GI
    return (
        MemoryResource("hugepages-1Gi", 4 * GI, 0, 4 * GI, 0, 4 * GI),
        MemoryResource("hugepages-2Mi", 2 * GI, 0, 2 * GI, 0, 2 * GI),
        MemoryResource("memory", 64 * GI, system_reserved_gi * GI, memory, 0, memory),
    )


def dual_socket_ht_allocatable(
    policy: str, *, scope: str = "container", static_memory: bool = False
) -> Allocatable:
    """dual-socket-ht with nothing admitted (memory reserved as DUAL_RESERVED_MEMORY)."""
    hugepages = {2 * MI: 1024, GI: 4}
    return Allocatable(
        cpu_ids=(*range(1, 16), *range(17, 32)),
        reserved_cpus="0,16",
        shared_pool="0-31",
        numa_nodes=(
            NUMANodeResources(
                0,
                "0-7,16-23",
                "1-7,17-23",
                "1-7,17-23",
                "",
                64 * GI,
                hugepages,
                (10, 21),
                dual_memory(8) if static_memory else (),
            ),
            NUMANodeResources(
                1,
                "8-15,24-31",
                "8-15,24-31",
                "8-15,24-31",
                "",
                64 * GI,
                hugepages,
                (21, 10),
                dual_memory(1) if static_memory else (),
            ),
        ),
        cpu_manager_policy="static",
        topology_manager_policy=policy,
        topology_manager_scope=scope,
        memory_manager_policy="Static" if static_memory else "None",
    )


def adjacent_siblings_allocatable(policy: str) -> Allocatable:
    """adjacent-siblings under Static memory with ADJACENT_RESERVED_MEMORY, nothing admitted.

    Node 0: memory 32 - 1 (system) - 1 (2Mi pages) - 2 (1Gi pages) = 28Gi pinnable. Node 1:
    32 - 2 - 0.5 = 29.5Gi, and 512Mi - 128Mi = 384Mi of 2Mi pages; no 1Gi pages, but the
    size is listed as on every node (the kernel lists each supported size under each node).
    """
    return Allocatable(
        cpu_ids=tuple(range(2, 16)),
        reserved_cpus="0-1",
        shared_pool="0-15",
        numa_nodes=(
            NUMANodeResources(
                0,
                "0-7",
                "2-7",
                "2-7",
                "",
                32 * GI,
                {2 * MI: 512, GI: 2},
                (10, 12),
                (
                    MemoryResource("hugepages-1Gi", 2 * GI, 0, 2 * GI, 0, 2 * GI),
                    MemoryResource("hugepages-2Mi", GI, 0, GI, 0, GI),
                    MemoryResource("memory", 32 * GI, GI, 28 * GI, 0, 28 * GI),
                ),
            ),
            NUMANodeResources(
                1,
                "8-15",
                "8-15",
                "8-15",
                "",
                32 * GI,
                {2 * MI: 256, GI: 0},
                (12, 10),
                (
                    MemoryResource("hugepages-1Gi", 0, 0, 0, 0, 0),
                    MemoryResource("hugepages-2Mi", 512 * MI, 128 * MI, 384 * MI, 0, 384 * MI),
                    MemoryResource("memory", 32 * GI, 2 * GI, 59 * GI // 2, 0, 59 * GI // 2),
                ),
            ),
        ),
        cpu_manager_policy="static",
        topology_manager_policy=policy,
        topology_manager_scope="container",
        memory_manager_policy="Static",
    )


def after(
    pristine: Allocatable,
    free: Mapping[int, str] | None = None,
    pinned: Mapping[tuple[int, str], int] | None = None,
) -> Allocatable:
    """``pristine`` with node n's free CPUs ``free[n]`` (its other allocatable CPUs held
    exclusively, and so out of the shared pool) and ``pinned[(n, resource)]`` bytes reserved."""
    free, pinned = free or {}, pinned or {}
    nodes = []
    taken = CPUSet()
    for n in pristine.numa_nodes:
        left = CPUSet.parse(free.get(n.id, n.free_cpus))
        held = CPUSet.parse(n.allocatable_cpus).difference(left)
        taken = taken.union(held)
        memory = tuple(
            dataclasses.replace(
                m,
                reserved=pinned.get((n.id, m.resource), 0),
                free=m.allocatable - pinned.get((n.id, m.resource), 0),
            )
            for m in n.memory
        )
        nodes.append(
            dataclasses.replace(n, free_cpus=str(left), exclusive_cpus=str(held), memory=memory)
        )
    shared = CPUSet.parse(pristine.shared_pool).difference(taken)
    return dataclasses.replace(pristine, shared_pool=str(shared), numa_nodes=tuple(nodes))


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def connect(serve_in_process: Callable[..., Any]) -> Iterator[Callable[..., PinletClient]]:
    """A factory: a client of a new in-process server on ``topology`` with ``config``."""
    clients: list[PinletClient] = []

    def make(topology: Topology, cfg: Config) -> PinletClient:
        c = PinletClient(serve_in_process(cfg, topology).socket_path)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def assert_rejected(
    client: PinletClient,
    spec: PodSpec,
    error: type[AdmissionRejected],
    container: str = "app",
    provider_hints: Sequence[ProviderHints] = (),
) -> None:
    """Allocating ``spec`` fails with ``error`` naming the pod and ``container``."""
    with pytest.raises(error) as caught:
        client.allocate(spec, provider_hints=provider_hints)
    assert (type(caught.value), caught.value.pod_uid, caught.value.container) == (
        error,
        spec.uid,
        container,
    )


# -- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One admission: a server, the pods admitted before, the pod, and what it gets."""

    topology: Topology
    config: Config
    spec: PodSpec
    expected: tuple[ContainerAssignment, ...] | None
    """Every container's assignment; None for a TopologyAffinityError."""
    before: tuple[PodSpec, ...] = ()
    hints: tuple[ProviderHints, ...] = ()
    """Caller provider hints sent with the pod."""
    free: Mapping[int, str] = field(default_factory=dict)
    """NUMA node → its free CPUs once the pod is admitted (nodes left out are unchanged)."""
    pinned: Mapping[tuple[int, str], int] = field(default_factory=dict)
    """(NUMA node, resource) → bytes pinned once the pod is admitted."""
    error_container: str = "app"
    """The container a rejection names ("" for the whole pod, in pod scope)."""


def case(name: str, *args: Any, **kwargs: Any) -> Any:
    """A pytest parameter holding one :class:`Case`."""
    return pytest.param(Case(*args, **kwargs), id=name)


def serve(connect: Callable[..., PinletClient], c: Case) -> PinletClient:
    """A client of a new server for ``c`` with ``c.before`` admitted."""
    client = connect(c.topology, c.config)
    for earlier in c.before:
        client.allocate(earlier)
    return client


# -- single-numa-node ----------------------------------------------------------------------------

SINGLE_NUMA = config("single-numa-node", memory=DUAL_RESERVED_MEMORY)

SINGLE_NUMA_CASES = [
    # 18 CPUs: no node has 18 CPUs, so the only CPU hint is {0,1}p, which single-numa-node
    # drops; nothing is left to merge and the default {nil} hint is not preferred.
    case("cpus-wider-than-a-node", DUAL_SOCKET_HT, SINGLE_NUMA, app("18"), None),
    # 60Gi: more than either node's 50Gi / 57Gi, so memory hints only {0,1}p: dropped.
    case("memory-wider-than-a-node", DUAL_SOCKET_HT, SINGLE_NUMA, app("2", "60Gi"), None),
    # 5Gi of 1Gi pages: each node has 4; memory and hugepages-1Gi hints only {0,1}p.
    case(
        "hugepages-wider-than-a-node",
        DUAL_SOCKET_HT,
        SINGLE_NUMA,
        app("2", "1Gi", {"hugepages-1Gi": "5Gi"}),
        None,
    ),
    # 4 CPUs, 4Gi, 1Gi of 2Mi pages: every provider {0}p and {1}p; the merge keeps {0}p (the
    # smaller mask). CPUs: whole cores of node 0 in id order, cores 1 and 2. The memory is
    # carved from node 0 and cpuset.mems follows it.
    case(
        "fits-node-0",
        DUAL_SOCKET_HT,
        SINGLE_NUMA,
        app("4", "4Gi", {"hugepages-2Mi": "1Gi"}),
        (
            exclusive(
                "app",
                "1-2,17-18",
                "0",
                "0",
                (block("hugepages-2Mi", GI, "0"), block("memory", 4 * GI, "0")),
            ),
        ),
        free={0: "3-7,19-23"},
        pinned={(0, "memory"): 4 * GI, (0, "hugepages-2Mi"): GI},
    ),
    # 15 CPUs: both nodes have 16 CPUs (so the preferred width is 1) but node 0 only 14 avail:
    # CPU hints {1}p, {0,1}np; memory {0}p, {1}p → {1}p. On node 1: 7 whole cores (8-14 and
    # 24-30), then the lowest free CPU of the next core, 15.
    case(
        "cpus-fit-only-node-1",
        DUAL_SOCKET_HT,
        SINGLE_NUMA,
        app("15", "8Gi"),
        (exclusive("app", "8-15,24-30", "1", "1", (block("memory", 8 * GI, "1"),)),),
        free={1: "31"},
        pinned={(1, "memory"): 8 * GI},
    ),
    # 52Gi: node 0 has only 50Gi to pin, node 1 57Gi → memory {1}p; CPU {0}p, {1}p → {1}p.
    # The memory steers the CPUs: core 8 of node 1.
    case(
        "memory-fits-only-node-1",
        DUAL_SOCKET_HT,
        SINGLE_NUMA,
        app("2", "52Gi"),
        (exclusive("app", "8,24", "1", "1", (block("memory", 52 * GI, "1"),)),),
        free={1: "9-15,25-31"},
        pinned={(1, "memory"): 52 * GI},
    ),
]


@pytest.mark.parametrize("c", SINGLE_NUMA_CASES)
def test_single_numa_node_admits_only_what_fits_one_node(
    connect: Callable[..., PinletClient], c: Case
) -> None:
    """single-numa-node with Static memory: a pod that fits no single node is rejected and
    leaves nothing; one that fits gets CPUs and memory on that node, cpuset.mems = the node."""
    client = serve(connect, c)
    pristine = dual_socket_ht_allocatable("single-numa-node", static_memory=True)
    assert client.get_allocatable() == pristine
    if c.expected is None:
        assert_rejected(client, c.spec, TopologyAffinityError)
        assert client.list_assignments() == ([], "0-31")
        assert client.get_allocatable() == pristine
        return
    expected = admitted(c.spec, *c.expected)
    assert by_type(client.allocate(c.spec)) == expected
    state = after(pristine, c.free, c.pinned)
    assert client.get_allocatable() == state
    pods, shared = client.list_assignments()
    assert ([by_type(p) for p in pods], shared) == ([expected], state.shared_pool)
    assert client.remove_pod(c.spec.uid)[0] == ["app"]
    assert client.get_allocatable() == pristine


# -- restricted ----------------------------------------------------------------------------------

RESTRICTED = config("restricted")
NPS4 = config("restricted", reserved="0,192")
ADJACENT_RESTRICTED = config("restricted", reserved="0-1", memory=ADJACENT_RESERVED_MEMORY)

RESTRICTED_CASES = [
    # 18 CPUs: the narrowest mask with 18 CPUs is {0,1}, so {0,1}p; admitted. Taken from all
    # 30 avail CPUs: the whole free node 1 (16), then one whole core of node 0, core 1.
    case(
        "dual-socket-two-nodes-preferred",
        DUAL_SOCKET_HT,
        RESTRICTED,
        app("18"),
        (exclusive("app", "1,8-15,17,24-31", "0-1", "0-1"),),
        free={0: "2-7,18-23", 1: ""},
    ),
    # A first 15-CPU pod takes 8-15,24-30 (node 1, see single-numa-node). A second one: one
    # node could hold 15 (preferred width 1) but node 0 has 14 avail and node 1 one, so the
    # only hint is {0,1}np: rejected.
    case(
        "dual-socket-two-nodes-not-preferred",
        DUAL_SOCKET_HT,
        RESTRICTED,
        app("15"),
        None,
        before=(app("15"),),
    ),
    # 60 CPUs on nps4-384 (48 per node): every 2-node mask is {.,.}p; the merge keeps {0,1}
    # (46 + 48 avail). Sockets first (4 nodes per socket): socket 0 is not free; node 1 is
    # (48 ≤ 60) and is taken whole; the last 12 are whole cores 1-6 of node 0.
    case(
        "nps4-two-nodes-preferred",
        NPS4_384,
        NPS4,
        app("60"),
        (exclusive("app", "1-6,24-47,193-198,216-239", "0-1", "0-7"),),
        free={0: "7-23,199-215", 1: ""},
    ),
    # 100 CPUs: 96 on two nodes is not enough, so 3-node masks are preferred → {0,1,2}.
    # Nodes 1 and 2 are taken whole (96), then cores 1 and 2 of node 0.
    case(
        "nps4-three-nodes-preferred",
        NPS4_384,
        NPS4,
        app("100"),
        (exclusive("app", "1-2,24-71,193-194,216-263", "0-2", "0-7"),),
        free={0: "3-23,195-215", 1: "", 2: ""},
    ),
    # 40Gi on adjacent-siblings (28Gi / 29.5Gi pinnable per node): memory only {0,1}p, but
    # 2 CPUs fit one node, so the CPU hints are {0}p, {1}p, {0,1}np: no permutation has all
    # preferred hints on the same mask, the merge is {0,1}np, and restricted rejects it.
    case(
        "memory-two-nodes-cpus-one", ADJACENT_SIBLINGS, ADJACENT_RESTRICTED, app("2", "40Gi"), None
    ),
]


@pytest.mark.parametrize("c", RESTRICTED_CASES)
def test_restricted_admits_only_preferred_placements(
    connect: Callable[..., PinletClient], c: Case
) -> None:
    """restricted admits a placement as narrow as the machine allows, even over several
    nodes, and rejects a non-preferred one without changing anything."""
    client = serve(connect, c)
    listed = client.list_assignments()
    before = client.get_allocatable()
    if c.expected is None:
        assert_rejected(client, c.spec, TopologyAffinityError)
        assert client.list_assignments() == listed
        assert client.get_allocatable() == before
        return
    assert client.allocate(c.spec) == admitted(c.spec, *c.expected)
    assert client.get_allocatable() == after(before, c.free)
    assert client.remove_pod(c.spec.uid)[0] == ["app"]
    assert client.get_allocatable() == before


# -- best-effort ---------------------------------------------------------------------------------

BEST_EFFORT = config("best-effort")

BEST_EFFORT_CASES = [
    # After a 15-CPU pod on node 1 (8-15,24-30), another 15 CPUs has only {0,1}np: admitted
    # anyway, with every CPU still avail (node 0's 14 and 31).
    case(
        "no-node-has-room",
        DUAL_SOCKET_HT,
        BEST_EFFORT,
        app("15"),
        (exclusive("app", "1-7,17-23,31", "0-1", "0-1"),),
        before=(app("15"),),
        free={0: "", 1: ""},
    ),
    # A device with no preference (the {nil}p hint) changes nothing: {0}p, cores 1 and 2.
    case(
        "device-without-preference",
        DUAL_SOCKET_HT,
        BEST_EFFORT,
        app("4"),
        (exclusive("app", "1-2,17-18", "0", "0-1"),),
        hints=(ProviderHints("devicemanager", "app", {GPU: None}),),
        free={0: "3-7,19-23"},
    ),
    # A device that can be placed nowhere ([]: the {nil}np hint) next to CPU {0}p, {1}p,
    # {0,1}np: nothing is preferred; the non-preferred target width is 1 (the CPU list's
    # narrowest) and {0} is the smaller mask. Cores 1 and 2.
    case(
        "device-cannot-be-placed",
        DUAL_SOCKET_HT,
        BEST_EFFORT,
        app("4"),
        (exclusive("app", "1-2,17-18", "0", "0-1"),),
        hints=(ProviderHints("devicemanager", "app", {GPU: ()}),),
        free={0: "3-7,19-23"},
    ),
    # A GPU on node 1 ({1}p) but node 1 has one CPU left (31) after a 15-CPU pod: CPU hints
    # {0}p, {0,1}np; {0}∩{1} is empty, so the merge is {0,1}∩{1} = {1}np, admitted. The
    # aligned part is 31; the other 3 come from node 0: core 1 whole, then CPU 2.
    case(
        "device-on-a-full-node",
        DUAL_SOCKET_HT,
        BEST_EFFORT,
        app("4"),
        (exclusive("app", "1-2,17,31", "1", "0-1"),),
        before=(app("15"),),
        hints=(
            ProviderHints("devicemanager", "app", {GPU: (TopologyHint(frozenset({1}), True),)}),
        ),
        free={0: "3-7,18-23", 1: ""},
    ),
    # 15 CPUs with a GPU on node 0 ({0}p): CPU {1}p, {0,1}np → {0}np. Node 0's 14 avail CPUs,
    # then one from node 1: its lowest core, CPU 8.
    case(
        "device-where-the-cpus-do-not-fit",
        DUAL_SOCKET_HT,
        BEST_EFFORT,
        app("15"),
        (exclusive("app", "1-8,17-23", "0", "0-1"),),
        hints=(
            ProviderHints("devicemanager", "app", {GPU: (TopologyHint(frozenset({0}), True),)}),
        ),
        free={0: "", 1: "9-15,24-31"},
    ),
]


@pytest.mark.parametrize("c", BEST_EFFORT_CASES)
def test_best_effort_always_admits(connect: Callable[..., PinletClient], c: Case) -> None:
    """best-effort admits even when no placement is preferred, and the state agrees with
    what every call says afterwards."""
    assert c.expected is not None
    client = serve(connect, c)
    assignment = client.allocate(c.spec, provider_hints=c.hints)
    assert assignment == admitted(c.spec, *c.expected)
    state = after(dual_socket_ht_allocatable("best-effort"), c.free)
    assert client.get_allocatable() == state
    assert client.list_assignments(c.spec.uid) == ([assignment], state.shared_pool)
    # Idempotent: the same call answers the same, with or without the hints.
    assert client.allocate(c.spec) == assignment
    assert client.get_allocatable() == state


# -- container scope and pod scope ---------------------------------------------------------------

TWO_SIXES = pod(ctr("left", "6"), ctr("right", "6"))
TWO_NINES = pod(ctr("left", "9"), ctr("right", "9"))
TWO_BIG = pod(ctr("left", "6", "30Gi"), ctr("right", "6", "30Gi"))

SCOPE_CASES = [
    # After a 4-CPU pod on node 0 (1-2,17-18), node 0 has 10 avail. Container scope: left (6)
    # still fits node 0 ({0}p, cores 3-5); right then only fits node 1 (cores 8-10).
    case(
        "best-effort-container-scope-splits",
        DUAL_SOCKET_HT,
        config("best-effort", scope="container"),
        TWO_SIXES,
        (
            exclusive("left", "3-5,19-21", "0", "0-1"),
            exclusive("right", "8-10,24-26", "1", "0-1"),
        ),
        before=(app("4"),),
        free={0: "6-7,22-23", 1: "11-15,27-31"},
    ),
    # Pod scope merges the pod's 12 CPUs once: node 0's 10 are too few → {1}p for both
    # containers, cores 8-10 and 11-13.
    case(
        "best-effort-pod-scope-keeps-together",
        DUAL_SOCKET_HT,
        config("best-effort", scope="pod"),
        TWO_SIXES,
        (
            exclusive("left", "8-10,24-26", "1", "0-1"),
            exclusive("right", "11-13,27-29", "1", "0-1"),
        ),
        before=(app("4"),),
        free={0: "3-7,19-23", 1: "14-15,30-31"},
    ),
    # single-numa-node, container scope: 9 CPUs fit node 0 (cores 1-4 and CPU 5), then the
    # second 9 only node 1 (cores 8-11 and CPU 12).
    case(
        "single-numa-container-scope-admits",
        DUAL_SOCKET_HT,
        config("single-numa-node", scope="container"),
        TWO_NINES,
        (
            exclusive("left", "1-5,17-20", "0", "0-1"),
            exclusive("right", "8-12,24-27", "1", "0-1"),
        ),
        free={0: "6-7,21-23", 1: "13-15,28-31"},
    ),
    # Pod scope: 18 CPUs fit no node → TopologyAffinityError for the pod.
    case(
        "single-numa-pod-scope-rejects",
        DUAL_SOCKET_HT,
        config("single-numa-node", scope="pod"),
        TWO_NINES,
        None,
        error_container="",
    ),
    # Static memory (50Gi / 57Gi pinnable). Container scope: left 30Gi on node 0 ({0}p for
    # both providers); node 0 then has 20Gi free, and being used alone it cannot join a
    # group, so right's memory hints are {1}p only and the merge is {1}p.
    case(
        "static-memory-container-scope",
        DUAL_SOCKET_HT,
        config("best-effort", scope="container", memory=DUAL_RESERVED_MEMORY),
        TWO_BIG,
        (
            exclusive("left", "1-3,17-19", "0", "0", (block("memory", 30 * GI, "0"),)),
            exclusive("right", "8-10,24-26", "1", "1", (block("memory", 30 * GI, "1"),)),
        ),
        free={0: "4-7,20-23", 1: "11-15,27-31"},
        pinned={(0, "memory"): 30 * GI, (1, "memory"): 30 * GI},
    ),
    # Pod scope: 60Gi of memory → memory {0,1}p only; 12 CPUs → {0}p, {1}p, {0,1}np. No
    # preferred merge; the non-preferred target width is 2 → {0,1}np for both containers.
    # CPUs: node 0 sorts first (fewer free CPUs), cores 1-3 and 4-6. Memory is carved node 0
    # first: 30Gi for left, then right takes node 0's last 20Gi and 10Gi of node 1.
    case(
        "static-memory-pod-scope",
        DUAL_SOCKET_HT,
        config("best-effort", scope="pod", memory=DUAL_RESERVED_MEMORY),
        TWO_BIG,
        (
            exclusive("left", "1-3,17-19", "0-1", "0-1", (block("memory", 30 * GI, "0-1"),)),
            exclusive("right", "4-6,20-22", "0-1", "0-1", (block("memory", 30 * GI, "0-1"),)),
        ),
        free={0: "7,23"},
        pinned={(0, "memory"): 50 * GI, (1, "memory"): 10 * GI},
    ),
]


@pytest.mark.parametrize("c", SCOPE_CASES)
def test_container_scope_and_pod_scope(connect: Callable[..., PinletClient], c: Case) -> None:
    """Container scope places each container by its own hints; pod scope merges the pod's
    hints once and gives every container that one affinity."""
    client = serve(connect, c)
    before = client.get_allocatable()
    if c.expected is None:
        assert_rejected(client, c.spec, TopologyAffinityError, container=c.error_container)
        assert client.list_assignments() == ([], "0-31")
        assert client.get_allocatable() == before
        return
    assert client.allocate(c.spec) == admitted(c.spec, *c.expected)
    assert client.get_allocatable() == after(before, c.free, c.pinned)
    held = CPUSet().union(*(CPUSet.parse(a.cpuset_cpus) for a in c.expected))
    assert client.remove_pod(c.spec.uid) == (["left", "right"], str(held))
    assert client.get_allocatable() == before


# -- the Static memory manager on uneven nodes -----------------------------------------------------


def test_static_memory_on_uneven_nodes(connect: Callable[..., PinletClient]) -> None:
    """Static memory on adjacent-siblings: blocks land on the hinted node, a pod bigger than a
    node spans a 2-node group, allocatable shows every change and removal restores it."""
    client = connect(
        ADJACENT_SIBLINGS, config("best-effort", reserved="0-1", memory=ADJACENT_RESERVED_MEMORY)
    )
    pristine = adjacent_siblings_allocatable("best-effort")
    assert client.get_allocatable() == pristine

    # 29Gi fits node 1's 29.5Gi but not node 0's 28Gi, and 256Mi of 2Mi pages fits node 1's
    # 384Mi: memory {1}p, {0,1}np; CPU {0}p, {1}p → {1}p. CPUs: core 4 (8-9).
    on_one = app("2", "29Gi", {"hugepages-2Mi": "256Mi"})
    assert by_type(client.allocate(on_one)) == admitted(
        on_one,
        exclusive(
            "app",
            "8-9",
            "1",
            "1",
            (block("hugepages-2Mi", 256 * MI, "1"), block("memory", 29 * GI, "1")),
        ),
    )
    one_state = after(
        pristine, {1: "10-15"}, {(1, "memory"): 29 * GI, (1, "hugepages-2Mi"): 256 * MI}
    )
    assert client.get_allocatable() == one_state

    # 40Gi needs both nodes, but node 1 already serves a single-node allocation: no memory
    # hint qualifies (read as "no preference"), the CPUs merge to {0}p, and the memory manager
    # finds no hint to extend {0} to. Nothing changes.
    spanning = app("2", "40Gi")
    with pytest.raises(UnexpectedAdmissionError) as caught:
        client.allocate(spanning)
    assert (caught.value.message, caught.value.container) == (
        "[memorymanager] failed to find NUMA nodes to extend the current topology hint",
        "app",
    )
    assert client.get_allocatable() == one_state
    assert [p.uid for p in client.list_assignments()[0]] == [on_one.uid]

    assert client.remove_pod(on_one.uid) == (["app"], "8-9")
    assert client.get_allocatable() == pristine

    # Now the 40Gi pod spans {0,1}: memory {0,1}p; CPU {0}p, {1}p, {0,1}np → {0,1}np,
    # admitted by best-effort. CPUs from both nodes: node 0 sorts first (6 free < 8), core 1.
    # The 40Gi are carved node 0 first: all its 28Gi, then 12Gi of node 1.
    assert client.allocate(spanning) == admitted(
        spanning, exclusive("app", "2-3", "0-1", "0-1", (block("memory", 40 * GI, "0-1"),))
    )
    assert client.get_allocatable() == after(
        pristine, {0: "4-7"}, {(0, "memory"): 28 * GI, (1, "memory"): 12 * GI}
    )

    # A small pod now: nodes 0 and 1 serve the group, so neither is offered alone and memory
    # hints are only {0,1}np (1 node would do on this machine); CPU {0}p, {1}p, {0,1}np →
    # {0,1}np. CPUs: node 0 first again, core 2. Its 1Gi comes from node 1 (node 0 is full).
    small = app("2", "1Gi")
    assert client.allocate(small) == admitted(
        small, exclusive("app", "4-5", "0-1", "0-1", (block("memory", GI, "0-1"),))
    )
    assert client.get_allocatable() == after(
        pristine, {0: "6-7"}, {(0, "memory"): 28 * GI, (1, "memory"): 13 * GI}
    )

    # Releasing the 40Gi gives back node 0's 28Gi and 12Gi of node 1; the small pod keeps 1Gi.
    assert client.remove_pod(spanning.uid) == (["app"], "2-3")
    assert client.get_allocatable() == after(pristine, {0: "2-3,6-7"}, {(1, "memory"): GI})
    assert client.remove_pod(small.uid) == (["app"], "4-5")
    assert client.get_allocatable() == pristine


@pytest.fixture
def quiet_server_logs() -> Iterator[None]:
    """Silence the in-process server's log events, which would land in the captured stdout."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**saved)


POD_MANIFEST = """\
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: default}
spec:
  containers:
    - name: db
      resources:
        limits: {cpu: "2", memory: 29Gi, hugepages-2Mi: 256Mi}
    - name: side
      resources:
        limits: {cpu: "1", memory: 1Gi}
"""


@pytest.mark.usefixtures("quiet_server_logs")
def test_cli_shows_pinned_memory(
    serve_in_process: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'pinlet allocate' adds a MEMORY column with each container's blocks, and 'pinlet
    allocatable' the memory manager policy and what each node can still pin."""
    cfg = config("best-effort", reserved="0-1", memory=ADJACENT_RESERVED_MEMORY)
    socket_path = str(serve_in_process(cfg, ADJACENT_SIBLINGS).socket_path)
    manifest = tmp_path / "db.yaml"
    manifest.write_text(POD_MANIFEST)
    uid = load_pod_manifest(manifest).uid
    # db: 29Gi fits only node 1 (see test_static_memory_on_uneven_nodes) → core 4; side: 1
    # CPU and 1Gi, {0}p everywhere → CPU 2 (lowest core of node 0 with a free CPU).
    assert main(["--socket", socket_path, "allocate", "-f", str(manifest)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"pod default/db ({uid}) admitted, QoS Guaranteed",
        "CONTAINER  KIND  ISOLATION       CPUSET.CPUS  CPUSET.MEMS  NUMA  MEMORY",
        "db         app   node-exclusive  8-9          1            1     "
        "29Gi@1, hugepages-2Mi:256Mi@1",
        "side       app   node-exclusive  2            0            0     1Gi@0",
    ]
    assert main(["--socket", socket_path, "allocatable"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cpu manager policy static, topology manager policy best-effort (container scope), "
        "memory manager policy Static",
        "reserved cpus 0-1, shared pool 0-1,3-7,10-15, 14 allocatable cpus",
        "NODE  CPUS  ALLOCATABLE  FREE   EXCLUSIVE  MEMORY  HUGEPAGES      DISTANCES  "
        "PINNABLE FREE/ALLOCATABLE",
        "0     0-7   2-7          3-7    2          32Gi    2Mi:512 1Gi:2  10 12      "
        "27Gi/28Gi 2Mi:1Gi/1Gi 1Gi:2Gi/2Gi",
        "1     8-15  8-15         10-15  8-9        32Gi    2Mi:256 1Gi:0  12 10      "
        "512Mi/30208Mi 2Mi:128Mi/384Mi",
    ]


# -- caller provider hints -----------------------------------------------------------------------

GPU_ON_NODE_1 = {GPU: (TopologyHint(frozenset({1}), True), TopologyHint(frozenset({0, 1}), False))}


@pytest.mark.parametrize(
    ("scope", "container_name"),
    [
        pytest.param("container", "app", id="container-scope"),
        pytest.param("pod", "", id="pod-scope"),
    ],
)
def test_caller_gpu_hint_steers_cpus(
    connect: Callable[..., PinletClient], scope: str, container_name: str
) -> None:
    """A GPU on node 1 ({1}p) pulls a small pod's CPUs to node 1 under best-effort: CPU
    {0}p, {1}p, {0,1}np with GPU {1}p, {0,1}np merge to {1}p. Cores 8 and 9."""
    client = connect(DUAL_SOCKET_HT, config("best-effort", scope=scope))
    spec = app("4")
    hints = (ProviderHints("devicemanager", container_name, GPU_ON_NODE_1),)
    assert client.get_topology_hints(
        spec, container_name or None, provider_hints=hints
    ).merged == TopologyHint(frozenset({1}), True)
    assert client.allocate(spec, provider_hints=hints) == admitted(
        spec, exclusive("app", "8-9,24-25", "1", "0-1")
    )
    assert client.get_allocatable() == after(
        dual_socket_ht_allocatable("best-effort", scope=scope), {1: "10-15,26-31"}
    )


def test_topology_hints_show_every_provider(connect: Callable[..., PinletClient]) -> None:
    """GetTopologyHints answers with pinlet's hints and the caller's, and the merge."""
    client = connect(DUAL_SOCKET_HT, config("best-effort"))
    hints = (ProviderHints("devicemanager", "app", GPU_ON_NODE_1),)
    assert client.get_topology_hints(app("4"), "app", provider_hints=hints) == HintsResult(
        hints={
            "cpu": (
                TopologyHint(frozenset({0}), True),
                TopologyHint(frozenset({1}), True),
                TopologyHint(frozenset({0, 1}), False),
            ),
            GPU: GPU_ON_NODE_1[GPU],
        },
        merged=TopologyHint(frozenset({1}), True),
        admit=True,
    )


def test_caller_hints_excluding_the_cpus_nodes_are_rejected_under_restricted(
    connect: Callable[..., PinletClient],
) -> None:
    """15 CPUs fit only node 1 ({1}p, {0,1}np); a GPU only on node 0 leaves {0}np:
    TopologyAffinityError under restricted, and nothing is allocated."""
    client = connect(DUAL_SOCKET_HT, config("restricted"))
    spec = app("15")
    hints = (ProviderHints("devicemanager", "app", {GPU: (TopologyHint(frozenset({0}), True),)}),)
    verdict = client.get_topology_hints(spec, "app", provider_hints=hints)
    assert (verdict.merged, verdict.admit) == (TopologyHint(frozenset({0}), False), False)
    assert_rejected(client, spec, TopologyAffinityError, provider_hints=hints)
    assert client.list_assignments() == ([], "0-31")
    assert client.get_allocatable() == dual_socket_ht_allocatable("restricted")


def _gpu(*nodes: int) -> Mapping[str, tuple[TopologyHint, ...] | None]:
    return {GPU: (TopologyHint(frozenset(nodes), True),)}


MALFORMED_HINTS = [
    pytest.param(
        (ProviderHints("devicemanager", "gpu-worker", _gpu(1)),),
        "provider_hints[0].container_name",
        "pod has no container 'gpu-worker'",
        id="unknown-container",
    ),
    pytest.param(
        (
            ProviderHints("devicemanager", "app", _gpu(1)),
            ProviderHints(
                "sriov", "app", {"example.com/nic": (TopologyHint(frozenset({9}), True),)}
            ),
        ),
        "provider_hints[1].resources[0].hints[0].affinity",
        "NUMA nodes [9] are not a non-empty subset of this machine's nodes 0-1",
        id="node-not-on-the-machine",
    ),
    pytest.param(
        (ProviderHints("devicemanager", "app", _gpu()),),
        "provider_hints[0].resources[0].hints[0].affinity",
        "NUMA nodes [] are not a non-empty subset of this machine's nodes 0-1",
        id="empty-node-set",
    ),
    pytest.param(
        (ProviderHints("devicemanager", "app", {"": None}),),
        "provider_hints[0].resources[0].resource",
        "must name the resource",
        id="no-resource-name",
    ),
    pytest.param(
        (ProviderHints("devicemanager", "app", {"cpu": None}),),
        "provider_hints[0].resources[0].resource",
        "'cpu' is pinlet's own resource; pass hints for other resources (devices) only",
        id="pinlets-own-resource",
    ),
]


@pytest.mark.parametrize(("hints", "field", "message"), MALFORMED_HINTS)
def test_malformed_caller_hints_are_invalid_arguments(
    connect: Callable[..., PinletClient],
    hints: tuple[ProviderHints, ...],
    field: str,
    message: str,
) -> None:
    """Caller hints naming a container the pod lacks or NUMA nodes the machine lacks are
    refused as INVALID_ARGUMENT naming the field, by Allocate and GetTopologyHints alike."""
    client = connect(DUAL_SOCKET_HT, config("best-effort"))
    spec = app("4")
    for call in (
        lambda: client.allocate(spec, provider_hints=hints),
        lambda: client.get_topology_hints(spec, "app", provider_hints=hints),
    ):
        with pytest.raises(InvalidArgument) as caught:
            call()
        assert (caught.value.field, caught.value.message) == (field, message)
    assert client.list_assignments() == ([], "0-31")


# -- a real daemon -------------------------------------------------------------------------------

KUBELET_CONFIG = textwrap.dedent(
    """\
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    cpuManagerPolicy: static
    reservedSystemCPUs: "0,16"
    topologyManagerPolicy: single-numa-node
    memoryManagerPolicy: Static
    reservedMemory:
      - numaNode: 0
        limits: {memory: 8Gi}
      - numaNode: 1
        limits: {memory: 1Gi}
    """
)


def test_daemon_with_kubelet_config_file(start_daemon: Callable[..., Any], short_tmp: Path) -> None:
    """'pinlet serve --config' with Static memory and single-numa-node pins a fitting pod's
    CPUs and memory to one node, rejects a wider one, and releases everything on removal."""
    config_file = short_tmp / "kubelet.yaml"
    config_file.write_text(KUBELET_CONFIG)
    daemon = start_daemon("--config", str(config_file))
    pristine = dual_socket_ht_allocatable("single-numa-node", static_memory=True)
    with PinletClient(daemon.socket_path) as client:
        assert client.get_allocatable() == pristine
        # 4 CPUs, 4Gi and 2Gi of 1Gi pages: {0}p from every provider; cores 1 and 2.
        spec = app("4", "4Gi", {"hugepages-1Gi": "2Gi"})
        assert by_type(client.allocate(spec)) == admitted(
            spec,
            exclusive(
                "app",
                "1-2,17-18",
                "0",
                "0",
                (block("hugepages-1Gi", 2 * GI, "0"), block("memory", 4 * GI, "0")),
            ),
        )
        state = after(
            pristine, {0: "3-7,19-23"}, {(0, "memory"): 4 * GI, (0, "hugepages-1Gi"): 2 * GI}
        )
        assert client.get_allocatable() == state
        assert_rejected(client, app("18"), TopologyAffinityError)
        assert client.get_allocatable() == state
        assert client.remove_pod(spec.uid) == (["app"], "1-2,17-18")
        assert client.get_allocatable() == pristine
    assert daemon.terminate() == 0
