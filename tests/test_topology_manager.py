"""Topology manager: normalisation, merge, policies; the fast merge equals the kubelet's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinlet.server.cpuset import CPUSet
from pinlet.server.hints import TopologyHint
from pinlet.server.topology_manager import (
    TopologyManagerPolicy,
    filter_provider_hints,
    merge,
    merge_brute_force,
)


def h(mask: str | None, preferred: bool) -> TopologyHint:
    return TopologyHint(None if mask is None else CPUSet.parse(mask), preferred)


TWO = CPUSet.parse("0-1")


def test_filter_normalises_nil_and_empty() -> None:
    """A nil provider or resource means no preference; an empty list means unsatisfiable."""
    lists = filter_provider_hints(
        [None, {}, {"cpu": None}, {"memory": []}, {"gpu": [h("0", True)]}]
    )
    assert lists == [
        [h(None, True)],
        [h(None, True)],
        [h(None, True)],
        [h(None, False)],
        [h("0", True)],
    ]


@pytest.mark.parametrize(
    ("lists", "expected"),
    [
        pytest.param([], h("0-1", True), id="no-providers-all-nodes-preferred"),
        pytest.param([[h("0", True), h("0-1", False)]], h("0", True), id="single-provider"),
        pytest.param(
            [[h("0", True), h("1", True)], [h("1", True), h("0-1", False)]],
            h("1", True),
            id="common-preferred-node",
        ),
        pytest.param(
            [[h("0", True)], [h("1", True)]],
            h("0-1", False),
            id="disjoint-gives-default-non-preferred",
        ),
        pytest.param(
            [[h("0-1", True)], [h("0", True), h("0-1", False)]],
            h("0-1", False),
            id="different-masks-not-preferred",
        ),
        pytest.param([[h(None, False)]], h("0-1", False), id="unsatisfiable"),
    ],
)
def test_merge_table(lists: list[list[TopologyHint]], expected: TopologyHint) -> None:
    """The merge picks the kubelet's best hint."""
    assert merge(lists, TWO) == expected
    assert merge_brute_force(lists, TWO) == expected


def test_single_numa_node_drops_wide_hints_and_rejects() -> None:
    """single-numa-node keeps only preferred single-node hints and rejects otherwise."""
    policy = TopologyManagerPolicy("single-numa-node", TWO)
    best, admit = policy.merge([{"cpu": [h("0-1", True)]}])
    # Nothing survives the filter: the default all-nodes hint, reported as "any" (nil).
    assert (best, admit) == (h(None, False), False)
    best, admit = policy.merge([{"cpu": [h("1", True), h("0-1", False)]}])
    assert (best, admit) == (h("1", True), True)
    best, admit = policy.merge([{"cpu": None}])
    assert (best, admit) == (h(None, True), True)


def test_policies_admit() -> None:
    """best-effort always admits, restricted only preferred, none merges to nothing."""
    wide = [{"cpu": [h("0-1", False)]}]
    assert TopologyManagerPolicy("best-effort", TWO).merge(wide) == (h("0-1", False), True)
    assert TopologyManagerPolicy("restricted", TWO).merge(wide) == (h("0-1", False), False)
    assert TopologyManagerPolicy("none", TWO).merge(wide) == (h(None, False), True)


def test_prefer_closest_breaks_ties_by_distance() -> None:
    """With prefer-closest-numa-nodes, equal-width masks compare by average distance."""
    nodes = CPUSet.parse("0-3")
    dist = {
        a: {b: 10 if a == b else (11 if a // 2 == b // 2 else 30) for b in range(4)}
        for a in range(4)
    }
    hints = [{"cpu": [h("0,2", True), h("2-3", True)]}]
    assert TopologyManagerPolicy("best-effort", nodes).merge(hints)[0] == h("0,2", True)
    closest = TopologyManagerPolicy("best-effort", nodes, distances=dist)
    assert closest.merge(hints)[0] == h("2-3", True)


def _hint_lists(n: int) -> st.SearchStrategy[list[list[TopologyHint]]]:
    mask = st.one_of(st.none(), st.frozensets(st.integers(0, n - 1), min_size=1).map(CPUSet))
    hint = st.builds(TopologyHint, mask, st.booleans())
    return st.lists(st.lists(hint, min_size=0, max_size=6), min_size=0, max_size=4)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), _hint_lists(n))))
def test_fast_merge_equals_cross_product(case: tuple[int, list[list[TopologyHint]]]) -> None:
    """On random (non-monotone) hint lists the set-based merge equals the kubelet's walk."""
    n, lists = case
    nodes = CPUSet(range(n))
    assert merge(lists, nodes) == merge_brute_force(lists, nodes)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.just(n),
            _hint_lists(n),
            st.lists(st.integers(11, 40), min_size=n * n, max_size=n * n),
        )
    )
)
def test_fast_merge_equals_cross_product_with_closest(
    case: tuple[int, list[list[TopologyHint]], list[int]],
) -> None:
    """With prefer-closest-numa-nodes the fast merge still equals the kubelet's walk."""
    n, lists, raw = case
    dist = {
        a: {b: 10 if a == b else raw[min(a, b) * n + max(a, b)] for b in range(n)} for a in range(n)
    }
    nodes = CPUSet(range(n))
    policy = TopologyManagerPolicy("best-effort", nodes, distances=dist)
    fast = merge(lists, nodes, distance_of=policy._avg_distance_of_value)
    assert fast == merge_brute_force(lists, nodes, policy._better_mask)
