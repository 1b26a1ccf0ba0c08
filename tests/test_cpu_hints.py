"""The static CPU policy's topology hints, against lists worked out by hand.

Rules: kubelet-algorithms.md §1.9. Masks are enumerated by size, then lexicographically; a
mask is listed when |reusable| + available CPUs inside it cover the request (and no reusable
CPU lies outside it); preferred = its width equals minAffinitySize, the narrowest width whose
*total* (machine) CPUs cover the request. Hints are written "{0,1}P" (preferred) / "{0,1}-".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from machines import burstable, cpus, guaranteed, machine, pod

from pinlet.server.cpu_policy import CPUState, StaticPolicy, StaticPolicyOptions
from pinlet.server.cpuset import CPUSet
from pinlet.server.hints import TopologyHint


def hints(text: str) -> list[TopologyHint]:
    """Parse "{0}P {0,1}-" into hints."""
    out = []
    for token in text.split():
        mask, flag = token[1:-2], token[-1]
        out.append(TopologyHint(CPUSet.parse(mask), flag == "P"))
    return out


def make_state(
    default: str, assignments: Mapping[str, Mapping[str, str]] | None = None
) -> CPUState:
    return CPUState(
        default_cpuset=cpus(default),
        assignments={
            p: {c: cpus(s) for c, s in conts.items()} for p, conts in (assignments or {}).items()
        },
    )


def policy(machine_name: str, num_reserved: int = 1, **options: bool) -> StaticPolicy:
    return StaticPolicy(
        machine(machine_name), num_reserved=num_reserved, options=StaticPolicyOptions(**options)
    )


# fmt: off
CONTAINER_CASES = [
    # topo-dual-socket-ht, reserved 0: N0 has 5 available, N1 6. Request 2: every node alone
    # covers it (min 1).
    pytest.param(
        "topo-dual-socket-ht", {}, "0-11", {}, "2", "{0}P {1}P {0,1}-",
        id="topo-dual-socket-ht/request-2/expect-both-nodes-preferred",
    ),
    # Request 6: a node has 6 CPUs (min 1) but N0 has only 5 available -> {0} not listed.
    pytest.param(
        "topo-dual-socket-ht", {}, "0-11", {}, "6", "{1}P {0,1}-",
        id="topo-dual-socket-ht/request-6/expect-numa-1-preferred",
    ),
    # Request 7 > 6 per node: min 2, {0,1} preferred.
    pytest.param(
        "topo-dual-socket-ht", {}, "0-11", {}, "7", "{0,1}P",
        id="topo-dual-socket-ht/request-7/expect-both-nodes-preferred-together",
    ),
    # Preferred width comes from the machine, not from free CPUs: 2 and 3 taken, N0 has 4
    # available, N1 5; only {0,1} can hold 6, and it is not preferred (min stays 1).
    pytest.param(
        "topo-dual-socket-ht", {}, "0-1,4-11", {"q": {"c100": "2-3"}}, "6", "{0,1}-",
        id="topo-dual-socket-ht/request-6-both-nodes-used/expect-wide-not-preferred",
    ),
    # Request 13 > 12 CPUs: nothing can hold it -> empty list.
    pytest.param(
        "topo-dual-socket-ht", {}, "0-11", {}, "13", "",
        id="topo-dual-socket-ht/request-13/expect-no-hints",
    ),
    pytest.param(
        "dual-socket-ht", {}, "0-31", {}, "16", "{1}P {0,1}-",
        id="dual-socket-ht/request-16/expect-numa-1-preferred",
    ),
    # dual-socket-snc2, reserved 0,16 (num_reserved 2 below). Request 4: min 1, so minSockets =
    # ceil(1/2) = 1; with align-by-socket every mask inside one socket is preferred too.
    pytest.param(
        "dual-socket-snc2", {"align_by_socket": True}, "0-31", {}, "4",
        "{0}P {1}P {2}P {3}P {0,1}P {0,2}- {0,3}- {1,2}- {1,3}- {2,3}P "
        "{0,1,2}- {0,1,3}- {0,2,3}- {1,2,3}- {0,1,2,3}-",
        id="dual-socket-snc2/align-by-socket/request-4/expect-socket-masks-preferred",
    ),
    pytest.param(
        "dual-socket-snc2", {}, "0-31", {}, "4",
        "{0}P {1}P {2}P {3}P {0,1}- {0,2}- {0,3}- {1,2}- {1,3}- {2,3}- "
        "{0,1,2}- {0,1,3}- {0,2,3}- {1,2,3}- {0,1,2,3}-",
        id="dual-socket-snc2/request-4/expect-single-nodes-preferred",
    ),
    # Request 20: min 3 (pairs hold 16); minSockets = ceil(3/2) = 2 -> the full mask (2 sockets)
    # is preferred with align-by-socket, not without.
    pytest.param(
        "dual-socket-snc2", {"align_by_socket": True}, "0-31", {}, "20",
        "{0,1,2}P {0,1,3}P {0,2,3}P {1,2,3}P {0,1,2,3}P",
        id="dual-socket-snc2/align-by-socket/request-20/expect-all-preferred",
    ),
    pytest.param(
        "dual-socket-snc2", {}, "0-31", {}, "20",
        "{0,1,2}P {0,1,3}P {0,2,3}P {1,2,3}P {0,1,2,3}-",
        id="dual-socket-snc2/request-20/expect-triples-preferred",
    ),
]
# fmt: on

_RESERVED_FOR = {"dual-socket-snc2": 2}


@pytest.mark.parametrize(
    ("machine_name", "options", "default", "assignments", "cpu", "expected"), CONTAINER_CASES
)
def test_container_hints(
    *,
    machine_name: str,
    options: dict[str, bool],
    default: str,
    assignments: Mapping[str, Mapping[str, str]],
    cpu: str,
    expected: str,
) -> None:
    """Container-scope hints list the masks that can hold the request, narrowest preferred."""
    p = policy(machine_name, _RESERVED_FOR.get(machine_name, 1), **options)
    the_pod = pod("p", [guaranteed("c", cpu)])
    got = p.get_topology_hints(make_state(default, assignments), the_pod, the_pod.containers[0])
    assert got == hints(expected)


@pytest.mark.parametrize(
    ("allocated", "default", "expected"),
    [
        # Regenerated from the allocated CPUs only: both on N1.
        pytest.param("1,3", "0,2,4-11", "{1}P {0,1}-", id="same-size-on-numa-1"),
        # 1 on N1, 2 on N0: only the full mask holds both; min is still 1.
        pytest.param("1-2", "0,3-11", "{0,1}-", id="same-size-across-nodes"),
        # Wrong size: the empty list (cannot be satisfied).
        pytest.param("1,3,5", "0,2,4,6-11", "", id="different-size/expect-empty-list"),
    ],
)
def test_hints_of_already_allocated_container(allocated: str, default: str, expected: str) -> None:
    """A container already holding CPUs gets hints regenerated from them, or [] if sizes differ."""
    p = policy("topo-dual-socket-ht")
    the_pod = pod("p", [guaranteed("c", "2")])
    got = p.get_topology_hints(
        make_state(default, {"p": {"c": allocated}}), the_pod, the_pod.containers[0]
    )
    assert got == hints(expected)


@pytest.mark.parametrize(
    "the_pod",
    [
        pytest.param(pod("p", [burstable("c", "1", "2")]), id="burstable"),
        pytest.param(pod("p", [guaranteed("c", "1500m")]), id="non-integer"),
    ],
)
def test_no_preference_without_exclusive_cpus(the_pod: Any) -> None:
    """0 requested CPUs means no preference (None), at container and pod scope."""
    p = policy("topo-dual-socket-ht")
    s = p.start()
    assert p.get_topology_hints(s, the_pod, the_pod.containers[0]) is None
    assert p.get_pod_topology_hints(s, the_pod) is None


def test_reusable_cpus_outside_mask_exclude_it() -> None:
    """Init CPUs on N0 (core 2: 2,8) rule out {1} for the app container."""
    p = policy("topo-dual-socket-ht")
    the_pod = pod("p", [guaranteed("app", "2")], [guaranteed("init", "2")])
    s = p.allocate(p.start(), the_pod, the_pod.init_containers[0])
    assert str(s.assignments["p"]["init"]) == "2,8"
    got = p.get_topology_hints(s, the_pod, the_pod.containers[0])
    assert got == hints("{0}P {0,1}-")


def test_preferred_width_on_a_big_machine() -> None:
    """nps4-384, reserved 0, request 48: every node but N0 alone is preferred; 254 masks listed."""
    p = policy("nps4-384")
    the_pod = pod("p", [guaranteed("c", "48")])
    got = p.get_topology_hints(p.start(), the_pod, the_pod.containers[0])
    assert got is not None
    assert len(got) == 254
    assert [h for h in got if h.preferred] == hints(" ".join(f"{{{n}}}P" for n in range(1, 8)))
    assert got[:7] == hints(" ".join(f"{{{n}}}P" for n in range(1, 8)))
    assert got[7] == TopologyHint(cpus("0-1"), False)


# fmt: off
POD_CASES = [
    # Pod size = max(init 6, app 3 + sidecar 2) = 6 -> like a 6-CPU container.
    pytest.param(
        pod("p", [guaranteed("a", "3")],
            [guaranteed("i", "6"), guaranteed("s", "2", sidecar=True)]),
        "0-11", {}, "{1}P {0,1}-",
        id="topo-dual-socket-ht/init-6-then-sidecar-2-app-3/expect-size-6",
    ),
    # Sidecar first: 2 + 6 = 8 -> only {0,1}.
    pytest.param(
        pod("p", [guaranteed("a", "3")],
            [guaranteed("s", "2", sidecar=True), guaranteed("i", "6")]),
        "0-11", {}, "{0,1}P",
        id="topo-dual-socket-ht/sidecar-2-then-init-6-app-3/expect-size-8",
    ),
    # Both apps hold their CPUs (4 = request): regenerated from 1,3,7,9 (all N1).
    pytest.param(
        pod("p", [guaranteed("a", "2"), guaranteed("b", "2")]),
        "0,2,4-6,8,10-11", {"p": {"a": "1,7", "b": "3,9"}}, "{1}P {0,1}-",
        id="topo-dual-socket-ht/all-allocated/expect-regenerated",
    ),
    # Only a holds 1,7 (N1): they count as reusable, so {0} (5 available there) is excluded.
    pytest.param(
        pod("p", [guaranteed("a", "2"), guaranteed("b", "2")]),
        "0,2-6,8-11", {"p": {"a": "1,7"}}, "{1}P {0,1}-",
        id="topo-dual-socket-ht/one-allocated/expect-its-node-only",
    ),
    # a holds 1 CPU but requests 2 -> cannot be satisfied.
    pytest.param(
        pod("p", [guaranteed("a", "2"), guaranteed("b", "2")]),
        "0,2-11", {"p": {"a": "1"}}, "",
        id="topo-dual-socket-ht/wrong-size-allocated/expect-empty-list",
    ),
]
# fmt: on


@pytest.mark.parametrize(("the_pod", "default", "assignments", "expected"), POD_CASES)
def test_pod_hints(
    the_pod: Any, default: str, assignments: Mapping[str, Mapping[str, str]], expected: str
) -> None:
    """Pod-scope hints size the pod like the kubelet and count CPUs it already holds."""
    p = policy("topo-dual-socket-ht")
    got = p.get_pod_topology_hints(make_state(default, assignments), the_pod)
    assert got == hints(expected)
