"""The static CPU manager policy, against expectations worked out by hand from the kubelet's rules.

Sources: kubelet-algorithms.md §1.1-1.10 and §5, and the kubelet's ``policy_static_test.go``
tables where the case is remembered exactly (named in the comment). Machines are described in
``tests/machines.py``. Expected CPU ids were derived without reading pinlet's implementation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from machines import burstable, container, cpus, guaranteed, machine, pod

from pinlet.server.cpu_policy import (
    CPUState,
    StaticPolicy,
    StaticPolicyOptions,
    parse_static_policy_options,
)
from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import (
    ConfigError,
    NotEnoughCPUsError,
    PolicyOptionError,
    SMTAlignmentError,
    StateError,
)

Assignments = Mapping[str, Mapping[str, str]]


def make_state(
    default: str, assignments: Assignments | None = None, reusable: Mapping[str, str] | None = None
) -> CPUState:
    return CPUState(
        default_cpuset=cpus(default),
        assignments={
            p: {c: cpus(s) for c, s in conts.items()} for p, conts in (assignments or {}).items()
        },
        reusable={p: cpus(s) for p, s in (reusable or {}).items()},
    )


def as_text(state: CPUState) -> tuple[str, dict[str, dict[str, str]]]:
    """The default set and the assignments as cpulist text (empty pods dropped)."""
    return str(state.default_cpuset), {
        p: {c: str(s) for c, s in conts.items()} for p, conts in state.assignments.items() if conts
    }


def policy(
    machine_name: str,
    num_reserved: int = 1,
    reserved: str = "",
    topology_manager_policy: str = "none",
    **options: bool,
) -> StaticPolicy:
    return StaticPolicy(
        machine(machine_name),
        num_reserved=num_reserved,
        reserved_cpus=cpus(reserved),
        options=StaticPolicyOptions(**options),
        topology_manager_policy=topology_manager_policy,
    )


# -- reserved CPUs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine_name", "num_reserved", "reserved", "options", "expected", "expected_physical"),
    [
        # takeByTopology(all, 1): CPU 0.
        pytest.param("single-socket-ht", 1, "", {}, "0", "0,4", id="single-socket-ht/reserve-1"),
        # The doc's example: lowest whole core, 0 and 4.
        pytest.param("single-socket-ht", 2, "", {}, "0,4", "0,4", id="single-socket-ht/reserve-2"),
        # With distribute-cpus-across-cores the reservation itself is taken with spread order.
        pytest.param(
            "single-socket-ht",
            2,
            "",
            {"distribute_cpus_across_cores": True},
            "0-1",
            "0-1,4-5",
            id="single-socket-ht/reserve-2-spread/expect-0-1",
        ),
        pytest.param(
            "topo-dual-socket-ht", 1, "", {}, "0", "0,6", id="topo-dual-socket-ht/reserve-1"
        ),
        # Core 0 (0,6), then N0 (4 free) sorts first: CPU 2.
        pytest.param(
            "topo-dual-socket-ht", 3, "", {}, "0,2,6", "0,2,6,8", id="topo-dual-socket-ht/reserve-3"
        ),
        pytest.param("dual-socket-ht", 2, "", {}, "0,16", "0,16", id="dual-socket-ht/reserve-2"),
        pytest.param("nps4-384", 4, "", {}, "0-1,192-193", "0-1,192-193", id="nps4-384/reserve-4"),
        # An explicit list wins; siblings of 1 and 2 are 5 and 6.
        pytest.param(
            "single-socket-ht", 2, "1-2", {}, "1-2", "1-2,5-6", id="single-socket-ht/explicit-1-2"
        ),
    ],
)
def test_reserved_cpus(
    *,
    machine_name: str,
    num_reserved: int,
    reserved: str,
    options: dict[str, bool],
    expected: str,
    expected_physical: str,
) -> None:
    """Reserved CPUs are picked by the policy's own allocator unless listed explicitly."""
    p = policy(machine_name, num_reserved, reserved, **options)
    assert str(p.reserved_cpus) == expected
    assert str(p.reserved_physical_cpus) == expected_physical


@pytest.mark.parametrize(
    ("num_reserved", "reserved", "message"),
    [
        pytest.param(
            3,
            "0-1",
            "[cpumanager] unable to reserve the required amount of CPUs "
            "(size of 0-1 did not equal 3)",
            id="explicit-list-of-wrong-size",
        ),
        # takeByTopology fails, its error is ignored and the empty set is compared.
        pytest.param(
            9,
            "",
            "[cpumanager] unable to reserve the required amount of CPUs (size of  did not equal 9)",
            id="more-than-the-machine",
        ),
    ],
)
def test_reservation_of_wrong_size(num_reserved: int, reserved: str, message: str) -> None:
    """A reservation whose size is not the requested count is refused with the kubelet's text."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        policy("single-socket-ht", num_reserved, reserved)


def test_available_and_allocatable_cpus() -> None:
    """Available = default - reserved; allocatable = all - reserved."""
    p = policy("single-socket-ht", 1)
    assert str(p.allocatable_cpus()) == "1-7"
    assert str(p.available_cpus(make_state("0-3"))) == "1-3"


# -- start / validateState ------------------------------------------------------------------

# fmt: off
START_OK = [
    pytest.param(1, False, "", {}, "0-7", id="single-socket-ht/empty-state/expect-all-cpus"),
    pytest.param(1, True, "", {}, "1-7",
        id="single-socket-ht/strict/empty-state/expect-all-but-reserved"),
    pytest.param(
        1, False, "0-1,4-5", {"p": {"c": "2-3,6-7"}}, "0-1,4-5",
        id="single-socket-ht/valid-state-kept"
    ),
    pytest.param(
        1, True, "1,4-5", {"p": {"c": "2-3,6-7"}}, "1,4-5",
        id="single-socket-ht/strict/valid-state-kept"
    ),
]
# fmt: on


@pytest.mark.parametrize(("num_reserved", "strict", "default", "assignments", "expected"), START_OK)
def test_start_accepts(
    num_reserved: int, strict: bool, default: str, assignments: Assignments, expected: str
) -> None:
    """Start initialises an empty state and keeps a consistent one."""
    p = policy("single-socket-ht", num_reserved, strict_cpu_reservation=strict)
    got = p.start(make_state(default, assignments))
    assert as_text(got) == (expected, {k: dict(v) for k, v in assignments.items()})


def test_start_without_state() -> None:
    """No state at all is a fresh state: every CPU in the default set, no assignments."""
    assert as_text(policy("single-socket-ht", 1).start(None)) == ("0-7", {})
    strict = policy("single-socket-ht", 1, strict_cpu_reservation=True)
    assert as_text(strict.start()) == ("1-7", {})


# fmt: off
START_ERRORS = [
    pytest.param(
        1, False, "", {"p": {"c": "1"}}, "default cpuset cannot be empty",
        id="empty-default-with-assignments",
    ),
    # Reserved {0,4}; CPU 4 is assigned -> the whole reserved set is printed.
    pytest.param(
        2, False, "0-3,5-7", {"p": {"c": "4"}},
        'not all reserved cpus: "0,4" are present in defaultCpuSet: "0-3,5-7"',
        id="reserved-not-in-default",
    ),
    # Strict: only the intersection reserved ∩ default is printed.
    pytest.param(
        2, True, "0-3,5-7", {"p": {"c": "4"}},
        'some of strictly reserved cpus: "0" are present in defaultCpuSet: "0-3,5-7"',
        id="strict/reserved-in-default",
    ),
    pytest.param(
        1, True, "0-7", {},
        'some of strictly reserved cpus: "0" are present in defaultCpuSet: "0-7"',
        id="strict/old-non-strict-state",
    ),
    pytest.param(
        1, False, "0-7", {"p": {"c": "1-2"}},
        'pod: p, container: c cpuset: "1-2" overlaps with default cpuset "0-7"',
        id="assignment-overlaps-default",
    ),
    pytest.param(
        1, False, "0-3", {"p": {"c": "4-5"}},
        'current set of available CPUs "0-7" doesn\'t match with CPUs in state "0-5"',
        id="cpus-missing-from-state",
    ),
    # CPUs 8, 9 were online when the state was written.
    pytest.param(
        1, False, "0-9", {},
        'current set of available CPUs "0-7" doesn\'t match with CPUs in state "0-9"',
        id="cpus-gone-offline",
    ),
    pytest.param(
        1, True, "1-6", {},
        'current set of available CPUs "1-7" doesn\'t match with CPUs in state "1-6"',
        id="strict/cpu-missing",
    ),
    pytest.param(
        1, True, "1-7", {"p": {"c": "0"}},
        'current set of available CPUs "1-7" doesn\'t match with CPUs in state "0-7"',
        id="strict/reserved-cpu-assigned",
    ),
    # Two faults: the reserved check comes before the overlap check.
    pytest.param(
        2, False, "1-7", {"p": {"c": "1"}},
        'not all reserved cpus: "0,4" are present in defaultCpuSet: "1-7"',
        id="reserved-check-before-overlap",
    ),
    # Two faults: overlap comes before the completeness check.
    pytest.param(
        1, False, "0-3", {"p": {"c": "3"}},
        'pod: p, container: c cpuset: "3" overlaps with default cpuset "0-3"',
        id="overlap-check-before-completeness",
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("num_reserved", "strict", "default", "assignments", "message"), START_ERRORS
)
def test_start_rejects(
    num_reserved: int, strict: bool, default: str, assignments: Assignments, message: str
) -> None:
    """validateState refuses an inconsistent state with the kubelet's first matching message."""
    p = policy("single-socket-ht", num_reserved, strict_cpu_reservation=strict)
    with pytest.raises(StateError, match=re.escape(message)):
        p.start(make_state(default, assignments))


# -- guaranteedCPUs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("the_pod", "expected"),
    [
        pytest.param(pod("p", [guaranteed("c", "2")]), 2, id="guaranteed-2"),
        pytest.param(pod("p", [guaranteed("c", "2000m")]), 2, id="guaranteed-2000m"),
        pytest.param(pod("p", [guaranteed("c", "1500m")]), 0, id="guaranteed-non-integer"),
        pytest.param(pod("p", [guaranteed("c", "977m")]), 0, id="guaranteed-977m"),
        pytest.param(pod("p", [burstable("c", "1", "2")]), 0, id="burstable"),
        pytest.param(pod("p", [container("c")]), 0, id="best-effort"),
        # Limits only: requests default to the limits -> Guaranteed.
        pytest.param(
            pod("p", [container("c", limits={"cpu": "3", "memory": "1Gi"})]), 3, id="limits-only"
        ),
        # No memory limit: not Guaranteed.
        pytest.param(
            pod("p", [container("c", requests={"cpu": "2"}, limits={"cpu": "2"})]),
            0,
            id="cpu-only-is-burstable",
        ),
        # A sibling that is Burstable makes the whole pod Burstable.
        pytest.param(
            pod("p", [guaranteed("c", "2"), burstable("d", "1", "2")]),
            0,
            id="sibling-burstable",
        ),
    ],
)
def test_guaranteed_cpus(the_pod: Any, expected: int) -> None:
    """Only integer CPU requests of Guaranteed pods get exclusive CPUs."""
    p = policy("single-socket-ht")
    assert p.guaranteed_cpus(the_pod, the_pod.containers[0]) == expected


@pytest.mark.parametrize(
    ("the_pod", "expected"),
    [
        # init 6 -> 6; sidecar 2 afterwards; apps 3 + sidecar 2 = 5 -> 6.
        pytest.param(
            pod(
                "p",
                [guaranteed("a", "3")],
                [guaranteed("i", "6"), guaranteed("s", "2", sidecar=True)],
            ),
            6,
            id="init-then-sidecar",
        ),
        # sidecar 2 runs under the init: 2 + 6 = 8 > 3 + 2.
        pytest.param(
            pod(
                "p",
                [guaranteed("a", "3")],
                [guaranteed("s", "2", sidecar=True), guaranteed("i", "6")],
            ),
            8,
            id="sidecar-then-init",
        ),
        pytest.param(
            pod("p", [guaranteed("a", "2"), guaranteed("b", "2")], [guaranteed("i", "4")]),
            4,
            id="init-4-apps-2-2",
        ),
        # Only sidecars: 1 + 2 + app 3 = 6.
        pytest.param(
            pod(
                "p",
                [guaranteed("a", "3")],
                [guaranteed("s", "1", sidecar=True), guaranteed("t", "2", sidecar=True)],
            ),
            6,
            id="two-sidecars",
        ),
        # init 2 -> 2; sidecar 1; init 4 -> 1 + 4 = 5; apps 1 + 1 = 2 -> 5.
        pytest.param(
            pod(
                "p",
                [guaranteed("a", "1")],
                [guaranteed("i", "2"), guaranteed("s", "1", sidecar=True), guaranteed("j", "4")],
            ),
            5,
            id="init-sidecar-init",
        ),
        pytest.param(pod("p", [burstable("a", "1", "2")]), 0, id="burstable"),
    ],
)
def test_pod_guaranteed_cpus(the_pod: Any, expected: int) -> None:
    """Pod-scope size = max(init peaks incl. earlier sidecars, apps + sidecars)."""
    assert policy("dual-socket-ht").pod_guaranteed_cpus(the_pod) == expected


# -- allocate ---------------------------------------------------------------------------------

# fmt: off
ALLOCATE_CASES = [
    # Upstream "GuPodSingleCore, SingleSocketHT, ExpectAllocOneCPU": reserved 0; the sibling of
    # the partly used core 0 comes first -> 4.
    pytest.param(
        "single-socket-ht", {}, "0-7", {}, "1", None, "4", "0-3,5-7",
        id="single-socket-ht/guaranteed-1cpu/expect-sibling-4",
    ),
    # Upstream "GuPodMultipleCores, SingleSocketHT, ExpectAllocOneCore": available 1,4,5 ->
    # whole core 1.
    pytest.param(
        "single-socket-ht", {}, "0-1,4-5", {"p": {"c100": "2-3,6-7"}}, "2", None, "1,5", "0,4",
        id="single-socket-ht/guaranteed-2cpu/expect-core-1",
    ),
    # Upstream "GuPodMultipleCores, DualSocketHT, ExpectAllocOneSocket": N1 is free -> whole N1.
    pytest.param(
        "topo-dual-socket-ht", {}, "0-1,3-11", {"p": {"c100": "2"}}, "6", None,
        "1,3,5,7,9,11", "0,4,6,8,10",
        id="topo-dual-socket-ht/guaranteed-6cpu/expect-one-socket",
    ),
    # Upstream "GuPodMultipleCores, DualSocketHT, ExpectAllocThreeCores".
    pytest.param(
        "topo-dual-socket-ht", {}, "0,2-4,6-11", {"p": {"c100": "1,5"}}, "6", None,
        "2-4,8-10", "0,6-7,11",
        id="topo-dual-socket-ht/guaranteed-6cpu/expect-three-cores",
    ),
    # Upstream "GuPodMultipleCores, DualSocketHT, ExpectAllocOneSocketOneCore": N1 whole, then
    # N0's only free core 4 (4,10).
    pytest.param(
        "topo-dual-socket-ht", {}, "0-1,3-11", {"p": {"c100": "2"}}, "8", None,
        "1,3-5,7,9-11", "0,6,8",
        id="topo-dual-socket-ht/guaranteed-8cpu/expect-one-socket-one-core",
    ),
    # Upstream "GuPodMultipleCores, DualSocketNoHT, ExpectAllocOneSocket".
    pytest.param(
        "dual-socket-no-ht", {}, "0-1,3-7", {"p": {"c100": "2"}}, "4", None, "4-7", "0-1,3",
        id="dual-socket-no-ht/guaranteed-4cpu/expect-one-socket",
    ),
    pytest.param(
        "dual-socket-no-ht", {}, "0-1,3,6-7", {"p": {"c100": "2,4-5"}}, "4", None, "1,3,6-7", "0",
        id="dual-socket-no-ht/guaranteed-4cpu/expect-four-cores",
    ),
    # NUMA hint {1}: 2 CPUs from N1 -> core 1.
    pytest.param(
        "topo-dual-socket-ht", {}, "0-11", {}, "2", "1", "1,7", "0,2-6,8-11",
        id="topo-dual-socket-ht/guaranteed-2cpu-hint-numa-1/expect-core-1",
    ),
    # Hint {0} holds only 5 allocatable CPUs (0 reserved): take those 5, then 3 more from the
    # rest: core 1 (1,7) and CPU 3.
    pytest.param(
        "topo-dual-socket-ht", {}, "0-11", {}, "8", "0", "1-4,6-8,10", "0,5,9,11",
        id="topo-dual-socket-ht/guaranteed-8cpu-hint-numa-0/expect-numa-0-then-rest",
    ),
    pytest.param(
        "dual-socket-ht", {}, "0-31", {}, "4", "1", "8-9,24-25", "0-7,10-23,26-31",
        id="dual-socket-ht/guaranteed-4cpu-hint-numa-1/expect-cores-8-9",
    ),
    # dual-socket-snc2, reserved 0,16 (num_reserved=2 set below by the machine row). Hint {0}
    # without align-by-socket: all of N0's 6 allocatable CPUs, then cores 4, 5 of N1.
    pytest.param(
        "dual-socket-snc2", {}, "0-31", {}, "10", "0", "1-5,17-21", "0,6-16,22-31",
        id="dual-socket-snc2/guaranteed-10cpu-hint-numa-0/expect-numa-0-then-cores-4-5",
    ),
    # With align-by-socket the hint becomes socket 0 (14 allocatable): whole N1, then core 1.
    pytest.param(
        "dual-socket-snc2", {"align_by_socket": True}, "0-31", {}, "10", "0",
        "1,4-7,17,20-23", "0,2-3,8-16,18-19,24-31",
        id="dual-socket-snc2/align-by-socket/guaranteed-10cpu-hint-numa-0/expect-socket-0",
    ),
    # distribute-cpus-across-numa: N0 (14 allocatable) vs N1 (16): [N0] after (10,16) sd 3,
    # [N1] after (14,12) sd 1 -> N1. Plain packing would take N0's cores 1, 2.
    pytest.param(
        "dual-socket-ht", {"distribute_cpus_across_numa": True}, "0-31", {}, "4", None,
        "8-9,24-25", "0-7,10-23,26-31",
        id="dual-socket-ht/distribute-across-numa/guaranteed-4cpu/expect-numa-1",
    ),
    pytest.param(
        "dual-socket-ht", {}, "0-31", {}, "4", None, "1-2,17-18", "0,3-16,19-31",
        id="dual-socket-ht/packed/guaranteed-4cpu/expect-cores-1-2",
    ),
    # full-pcpus-only + distribute-cpus-across-numa: cpuGroupSize 2. Available N0 = 15 (16 is
    # the reserved CPU's sibling but still available), N1 = 16. k=1: [N0] after (9,16) mean 12.5
    # sd 3.5; [N1] after (15,10) sd 2.5 -> N1, cores 8-10.
    pytest.param(
        "dual-socket-ht", {"full_pcpus_only": True, "distribute_cpus_across_numa": True},
        "0-31", {}, "6", None, "8-10,24-26", "0-7,11-23,27-31",
        id="dual-socket-ht/full-pcpus-distribute-across-numa/guaranteed-6cpu/expect-numa-1",
    ),
    # distribute-cpus-across-cores: spread order 1, 2 (reserved 0).
    pytest.param(
        "single-socket-ht", {"distribute_cpus_across_cores": True}, "0-7", {}, "2", None,
        "1-2", "0,3-7",
        id="single-socket-ht/distribute-across-cores/guaranteed-2cpu/expect-1-2",
    ),
    # prefer-align-cpus-by-uncorecache on amd-1s-4l3 (reserved 0): L3 0 has 7 free -> whole L3 1.
    pytest.param(
        "amd-1s-4l3", {"prefer_align_cpus_by_uncorecache": True}, "0-31", {}, "8", None,
        "4-7,20-23", "0-3,8-19,24-31",
        id="amd-1s-4l3/uncore/guaranteed-8cpu/expect-l3-1",
    ),
    pytest.param(
        "amd-1s-4l3", {}, "0-31", {}, "8", None, "1-4,17-20", "0,5-16,21-31",
        id="amd-1s-4l3/packed/guaranteed-8cpu/expect-cores-1-4",
    ),
    # full-pcpus-only: even request, reserved 0 -> whole core 1 (upstream expects 1,5 too).
    pytest.param(
        "single-socket-ht", {"full_pcpus_only": True}, "0-7", {}, "2", None, "1,5", "0,2-4,6-7",
        id="single-socket-ht/full-pcpus-only/guaranteed-2cpu/expect-core-1",
    ),
    # strict-cpu-reservation: default excludes 0; available 1-7 -> 4.
    pytest.param(
        "single-socket-ht", {"strict_cpu_reservation": True}, "1-7", {}, "1", None, "4", "1-3,5-7",
        id="single-socket-ht/strict/guaranteed-1cpu/expect-4",
    ),
]
# fmt: on

_RESERVED_FOR = {"dual-socket-snc2": 2, "dual-socket-ht": 1}


@pytest.mark.parametrize(
    (
        "machine_name",
        "options",
        "default",
        "assignments",
        "cpu",
        "hint",
        "expected",
        "expected_default",
    ),
    ALLOCATE_CASES,
)
def test_allocate(
    *,
    machine_name: str,
    options: dict[str, bool],
    default: str,
    assignments: Assignments,
    cpu: str,
    hint: str | None,
    expected: str,
    expected_default: str,
) -> None:
    """A Guaranteed container gets exactly the kubelet's CPUs, removed from the default set."""
    p = policy(machine_name, _RESERVED_FOR.get(machine_name, 1), **options)
    the_pod = pod("p", [guaranteed("c", cpu)])
    got = p.allocate(
        make_state(default, assignments),
        the_pod,
        the_pod.containers[0],
        None if hint is None else cpus(hint),
    )
    assert str(got.default_cpuset) == expected_default
    assert str(got.assignments["p"]["c"]) == expected
    for uid, conts in assignments.items():
        for name, cset in conts.items():
            assert str(got.assignments[uid][name]) == cset


def test_snc2_reserves_core_0() -> None:
    """dual-socket-snc2 reserves core 0 (0,16) for the allocation table above."""
    assert str(policy("dual-socket-snc2", 2).reserved_cpus) == "0,16"


@pytest.mark.parametrize(
    "the_pod",
    [
        pytest.param(pod("p", [burstable("c", "1", "2")]), id="burstable"),
        pytest.param(pod("p", [guaranteed("c", "1500m")]), id="guaranteed-non-integer"),
        pytest.param(pod("p", [guaranteed("c", "977m")]), id="guaranteed-977m"),
        pytest.param(pod("p", [container("c")]), id="best-effort"),
    ],
)
def test_allocate_shared_pool_containers_change_nothing(the_pod: Any) -> None:
    """Containers without integer Guaranteed CPUs stay in the shared pool: state unchanged."""
    p = policy("single-socket-ht")
    before = make_state("0-7")
    after = p.allocate(before, the_pod, the_pod.containers[0])
    assert as_text(after) == ("0-7", {})


def test_allocate_already_allocated_is_a_no_op() -> None:
    """Upstream "ExpectSameAllocation": a container already in the state keeps its CPUs."""
    p = policy("single-socket-ht")
    the_pod = pod("p", [guaranteed("c", "4")])
    before = make_state("0-1,4-5", {"p": {"c": "2-3,6-7"}})
    after = p.allocate(before, the_pod, the_pod.containers[0])
    assert as_text(after) == ("0-1,4-5", {"p": {"c": "2-3,6-7"}})


def test_allocate_not_enough_cpus() -> None:
    """Upstream "NoAllocExpectError": only CPU 7 is available for a 2-CPU request."""
    p = policy("single-socket-ht")
    the_pod = pod("p", [guaranteed("c", "2")])
    with pytest.raises(NotEnoughCPUsError) as err:
        p.allocate(make_state("0,7", {"p": {"c100": "1-6"}}), the_pod, the_pod.containers[0])
    assert (err.value.requested, err.value.available) == (2, 1)


@pytest.mark.parametrize(
    ("reserved", "cpu", "fields"),
    [
        # Odd requests on an SMT-2 machine.
        pytest.param("", "1", (1, 2, 0, False), id="single-socket-ht/request-1/not-multiple"),
        pytest.param("", "3", (3, 2, 0, False), id="single-socket-ht/request-3/not-multiple"),
        # Reserved 0 and 1 on different cores: default - reservedPhysical = 2,3,6,7 (4) < 6,
        # although default - reserved has 6 CPUs.
        pytest.param("0-1", "6", (6, 2, 4, True), id="single-socket-ht/reserved-0-1/request-6"),
    ],
)
def test_full_pcpus_only_smt_alignment_errors(
    reserved: str, cpu: str, fields: tuple[int, int, int, bool]
) -> None:
    """full-pcpus-only refuses odd requests and requests beyond whole free cores."""
    p = policy("single-socket-ht", 2 if reserved else 1, reserved, full_pcpus_only=True)
    the_pod = pod("p", [guaranteed("c", cpu)])
    with pytest.raises(SMTAlignmentError) as err:
        p.allocate(p.start(), the_pod, the_pod.containers[0])
    e = err.value
    assert (
        e.requested_cpus,
        e.cpus_per_core,
        e.available_physical_cpus,
        e.caused_by_physical_cpus,
    ) == fields
    assert e.reason == "SMTAlignmentError"


def test_full_pcpus_only_avoids_cores_of_reserved_cpus() -> None:
    """With 0 and 1 reserved, 4 CPUs come from the two whole cores 2 and 3."""
    p = policy("single-socket-ht", 2, "0-1", full_pcpus_only=True)
    the_pod = pod("p", [guaranteed("c", "4")])
    got = p.allocate(p.start(), the_pod, the_pod.containers[0])
    assert str(got.assignments["p"]["c"]) == "2-3,6-7"


# -- init containers, sidecars, removal -------------------------------------------------------


def test_init_container_cpus_reused_doc_vector() -> None:
    """The doc's vector (§1.10): init 4 -> 0,1,4,5; app 2 -> 0,4; removing init returns 1,5."""
    p = policy("single-socket-ht", 0)
    the_pod = pod("p", [guaranteed("app", "2")], [guaranteed("init", "4")])
    s = p.start()
    s = p.allocate(s, the_pod, the_pod.init_containers[0])
    assert as_text(s) == ("2-3,6-7", {"p": {"init": "0-1,4-5"}})
    assert str(s.reusable["p"]) == "0-1,4-5"
    s = p.allocate(s, the_pod, the_pod.containers[0])
    assert as_text(s) == ("2-3,6-7", {"p": {"init": "0-1,4-5", "app": "0,4"}})
    assert str(s.reusable["p"]) == "1,5"
    s = p.remove_container(s, "p", "init")
    assert as_text(s) == ("1-3,5-7", {"p": {"app": "0,4"}})
    s = p.remove_container(s, "p", "app")
    assert as_text(s) == ("0-7", {})


def test_init_container_cpus_reused_with_reservation() -> None:
    """dual-socket-ht, reserved 0: init 4 -> 1,2,17,18; app 2 reuses 1,17."""
    p = policy("dual-socket-ht", 1)
    the_pod = pod("p", [guaranteed("app", "2")], [guaranteed("init", "4")])
    s = p.allocate(p.start(), the_pod, the_pod.init_containers[0])
    assert str(s.assignments["p"]["init"]) == "1-2,17-18"
    s = p.allocate(s, the_pod, the_pod.containers[0])
    assert str(s.assignments["p"]["app"]) == "1,17"
    assert str(s.default_cpuset) == "0,3-16,19-31"
    assert str(s.reusable["p"]) == "2,18"
    s = p.remove_container(s, "p", "init")
    # Only 2 and 18 go back: 1 and 17 are still the app container's.
    assert as_text(s) == ("0,2-16,18-31", {"p": {"app": "1,17"}})


@pytest.mark.parametrize(
    ("sidecar", "expected_app"),
    [
        pytest.param(False, "1,17", id="regular-init/app-reuses-1-17"),
        # The sidecar keeps running: its CPUs are not reusable; next whole core is 2.
        pytest.param(True, "2,18", id="sidecar/app-gets-2-18"),
    ],
)
def test_sidecar_cpus_not_reused(sidecar: bool, expected_app: str) -> None:
    """Restartable init containers are treated like app containers, not reused."""
    p = policy("dual-socket-ht", 1)
    the_pod = pod("p", [guaranteed("app", "2")], [guaranteed("init", "2", sidecar=sidecar)])
    s = p.allocate(p.start(), the_pod, the_pod.init_containers[0])
    assert str(s.assignments["p"]["init"]) == "1,17"
    s = p.allocate(s, the_pod, the_pod.containers[0])
    assert str(s.assignments["p"]["app"]) == expected_app


def test_reuse_of_other_pods_dropped() -> None:
    """Allocating for another pod forgets the first pod's reusable CPUs."""
    p = policy("dual-socket-ht", 1)
    a = pod("a", [guaranteed("app", "2")], [guaranteed("init", "2")])
    b = pod("b", [guaranteed("app", "2")])
    s = p.allocate(p.start(), a, a.init_containers[0])
    assert str(s.reusable["a"]) == "1,17"
    s = p.allocate(s, b, b.containers[0])
    assert str(s.assignments["b"]["app"]) == "2,18"
    assert "a" not in s.reusable
    assert s.reusable.get("b", CPUSet()) == CPUSet()


def test_remove_unknown_container_changes_nothing() -> None:
    """Removing a container that holds no CPUs is a no-op."""
    p = policy("single-socket-ht")
    s = make_state("0-1,4-5", {"p": {"c": "2-3,6-7"}})
    assert as_text(p.remove_container(s, "p", "other")) == ("0-1,4-5", {"p": {"c": "2-3,6-7"}})
    assert as_text(p.remove_container(s, "q", "c")) == ("0-1,4-5", {"p": {"c": "2-3,6-7"}})


def test_remove_returns_cpus() -> None:
    """Removing a container returns its CPUs to the default set."""
    p = policy("single-socket-ht")
    s = make_state("0-1,4-5", {"p": {"c": "2-3", "d": "6-7"}})
    s = p.remove_container(s, "p", "c")
    assert as_text(s) == ("0-5", {"p": {"d": "6-7"}})


# -- policy options ---------------------------------------------------------------------------

GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"]
GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [pytest.param(v, True, id=f"true-{v}") for v in GO_TRUE]
    + [pytest.param(v, False, id=f"false-{v}") for v in GO_FALSE],
)
def test_option_values_parsed_like_go_parsebool(value: str, expected: bool) -> None:
    """Option values accept exactly strconv.ParseBool's spellings."""
    opts = parse_static_policy_options({"full-pcpus-only": value})
    assert opts.full_pcpus_only is expected


@pytest.mark.parametrize("value", ["yes", "no", "TRue", "", "2", " true", "on"])
def test_option_bad_value(value: str) -> None:
    """Anything else is a bad value, named in the kubelet's words."""
    text = 'bad value for option "full-pcpus-only"'
    with pytest.raises(PolicyOptionError, match=re.escape(text)):
        parse_static_policy_options({"full-pcpus-only": value})


def test_options_default_and_each_field() -> None:
    """Each option name sets its own field; no options is all defaults."""
    assert parse_static_policy_options({}) == StaticPolicyOptions()
    names = {
        "full-pcpus-only": "full_pcpus_only",
        "distribute-cpus-across-numa": "distribute_cpus_across_numa",
        "align-by-socket": "align_by_socket",
        "distribute-cpus-across-cores": "distribute_cpus_across_cores",
        "strict-cpu-reservation": "strict_cpu_reservation",
        "prefer-align-cpus-by-uncorecache": "prefer_align_cpus_by_uncorecache",
    }
    for name, field_name in names.items():
        opts = parse_static_policy_options({name: "true"}, alpha_options=True)
        assert opts == StaticPolicyOptions(**{field_name: True}), name


def test_option_unknown() -> None:
    """An unknown option name is refused."""
    with pytest.raises(
        PolicyOptionError, match=re.escape('unknown CPU Manager Policy option: "foo"')
    ):
        parse_static_policy_options({"foo": "true"}, alpha_options=True)


@pytest.mark.parametrize("name", ["align-by-socket", "distribute-cpus-across-cores"])
def test_alpha_option_needs_the_gate(name: str) -> None:
    """Alpha options need CPUManagerPolicyAlphaOptions (off by default), even with a bad value."""
    text = f'CPU Manager Policy Alpha-level Options not enabled, but option "{name}" provided'
    for value in ("true", "maybe"):
        with pytest.raises(PolicyOptionError, match=re.escape(text)):
            parse_static_policy_options({name: value})
    assert parse_static_policy_options({name: "true"}, alpha_options=True) != StaticPolicyOptions()


@pytest.mark.parametrize(
    "name",
    [
        "full-pcpus-only",
        "strict-cpu-reservation",
        "prefer-align-cpus-by-uncorecache",
        "distribute-cpus-across-numa",
    ],
)
def test_ga_options_need_no_gate(name: str) -> None:
    """At v1.36 levels these options are GA: accepted with both gates off.

    (full-pcpus-only GA 1.33, strict-cpu-reservation GA 1.35, prefer-align-cpus-by-uncorecache
    GA 1.36, distribute-cpus-across-numa GA targeted 1.35; no CPU option is beta any more.)
    """
    opts = parse_static_policy_options({name: "true"}, alpha_options=False, beta_options=False)
    assert opts != StaticPolicyOptions()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("full-pcpus-only", "distribute-cpus-across-cores"),
        ("distribute-cpus-across-numa", "distribute-cpus-across-cores"),
        ("prefer-align-cpus-by-uncorecache", "distribute-cpus-across-cores"),
        ("prefer-align-cpus-by-uncorecache", "distribute-cpus-across-numa"),
    ],
)
def test_incompatible_options(first: str, second: str) -> None:
    """Each incompatible pair is refused, named in the kubelet's order; false values are fine."""
    text = f"static policy options {first} and {second} can not be used at the same time"
    for raw in ({first: "true", second: "true"}, {second: "true", first: "true"}):
        with pytest.raises(PolicyOptionError, match=re.escape(text)):
            parse_static_policy_options(raw, alpha_options=True)
    parse_static_policy_options({first: "true", second: "false"}, alpha_options=True)
    parse_static_policy_options({first: "false", second: "true"}, alpha_options=True)


@pytest.mark.parametrize(
    ("machine_name", "tm_policy", "ok"),
    [
        pytest.param("topo-dual-socket-ht", "single-numa-node", False, id="single-numa-node"),
        pytest.param("dual-socket-one-numa", "none", False, id="sockets-more-than-numa"),
        pytest.param("topo-dual-socket-ht", "restricted", True, id="restricted-ok"),
        pytest.param("dual-socket-snc2", "best-effort", True, id="numa-more-than-sockets-ok"),
    ],
)
def test_align_by_socket_validation(machine_name: str, tm_policy: str, ok: bool) -> None:
    """align-by-socket is refused with single-numa-node and where sockets outnumber NUMA nodes."""
    if ok:
        policy(machine_name, 1, topology_manager_policy=tm_policy, align_by_socket=True)
    else:
        with pytest.raises(ConfigError):
            policy(machine_name, 1, topology_manager_policy=tm_policy, align_by_socket=True)
