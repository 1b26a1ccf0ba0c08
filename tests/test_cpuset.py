"""CPUSet: the Linux cpulist value type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinlet.server.cpuset import MAX_CPUS, MAX_NUMA_NODES, CpuListError, CPUSet


@pytest.mark.parametrize(
    ("text", "ids", "canonical"),
    [
        pytest.param("", [], "", id="empty"),
        pytest.param("\n", [], "", id="empty-sysfs-file"),
        pytest.param("0", [0], "0", id="single"),
        pytest.param("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11], "0-3,8,10-11", id="mixed"),
        pytest.param("0-3,8,10-11\n", [0, 1, 2, 3, 8, 10, 11], "0-3,8,10-11", id="trailing-nl"),
        pytest.param("3,1,2", [1, 2, 3], "1-3", id="unsorted-collapses"),
        pytest.param("0,1", [0, 1], "0-1", id="pair-is-a-range"),
        pytest.param("5-5", [5], "5", id="degenerate-range"),
        pytest.param("0-2,1-4", [0, 1, 2, 3, 4], "0-4", id="overlapping-ranges"),
        pytest.param("8191", [8191], "8191", id="kernel-limit-minus-one"),
        pytest.param("0-1,16-17", [0, 1, 16, 17], "0-1,16-17", id="siblings"),
    ],
)
def test_parse_and_canonical_format(text: str, ids: list[int], canonical: str) -> None:
    """Parsing yields the ids and str() gives the kernel's canonical cpulist."""
    s = CPUSet.parse(text)
    assert list(s) == ids
    assert str(s) == canonical
    assert CPUSet.parse(str(s)) == s


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("3-1", "reversed-range", id="reversed"),
        pytest.param("-1", "negative", id="negative"),
        pytest.param("1--2", "negative", id="negative-range-end"),
        pytest.param("1.5", "not-a-number", id="decimal"),
        pytest.param("a", "not-a-number", id="letter"),
        pytest.param(",,", "empty-element", id="only-commas"),
        pytest.param("1,,2", "empty-element", id="double-comma"),
        pytest.param("1,", "empty-element", id="trailing-comma"),
        pytest.param("0-", "not-a-number", id="open-range"),
        pytest.param("8192", "beyond-limit", id="beyond-kernel-limit"),
        pytest.param("0-99999", "beyond-limit", id="range-beyond-limit"),
        pytest.param("0x10", "not-a-number", id="hex"),
        pytest.param("\u00b2", "not-a-number", id="unicode-digit"),
    ],
)
def test_parse_errors_are_typed(text: str, reason: str) -> None:
    """Malformed cpulists raise CpuListError with a machine-readable reason."""
    with pytest.raises(CpuListError) as info:
        CPUSet.parse(text)
    assert info.value.reason == reason
    assert info.value.text == text
    assert isinstance(info.value, ValueError)


def test_numa_limit_is_separate() -> None:
    """NUMA node lists use the kernel's MAX_NUMNODES limit, not NR_CPUS."""
    assert str(CPUSet.parse("1023", limit=MAX_NUMA_NODES)) == "1023"
    with pytest.raises(CpuListError):
        CPUSet.parse("1024", limit=MAX_NUMA_NODES)


def test_set_algebra_returns_new_sets() -> None:
    """Union, intersection, difference and subset tests behave like frozenset's."""
    a = CPUSet.parse("0-5")
    b = CPUSet.parse("4-9")
    assert str(a | b) == "0-9"
    assert str(a & b) == "4-5"
    assert str(a - b) == "0-3"
    assert str(a ^ b) == "0-3,6-9"
    assert CPUSet.parse("1-2") <= a
    assert not b.issubset(a)
    assert a.isdisjoint(CPUSet.parse("10"))
    assert str(a) == "0-5"  # unchanged
    assert a.union(b, CPUSet.parse("20")) == CPUSet.parse("0-9,20")


def test_immutable_and_hashable() -> None:
    """A CPUSet cannot be changed and works as a dict key."""
    s = CPUSet([1, 2])
    with pytest.raises(AttributeError):
        s._ids = frozenset()  # type: ignore[misc]
    assert {s: "x"}[CPUSet.parse("1-2")] == "x"


def test_constructor_rejects_bad_ids() -> None:
    """Negative or non-integer ids cannot be put in a set."""
    with pytest.raises(ValueError, match="non-negative"):
        CPUSet([-1])
    with pytest.raises(ValueError, match="non-negative"):
        CPUSet([True])


def test_min_max() -> None:
    """min/max give the extreme ids and refuse the empty set."""
    s = CPUSet.parse("3,7-9")
    assert (s.min(), s.max()) == (3, 9)
    with pytest.raises(ValueError, match="empty"):
        CPUSet().min()


@given(st.frozensets(st.integers(min_value=0, max_value=MAX_CPUS - 1), max_size=200))
def test_round_trip_property(ids: frozenset[int]) -> None:
    """Any set formats to a cpulist that parses back to the same set, canonically."""
    s = CPUSet(ids)
    text = str(s)
    assert CPUSet.parse(text) == s
    assert str(CPUSet.parse(text)) == text
    assert set(s) == set(ids)


@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 40)), max_size=20))
def test_parse_of_arbitrary_ranges(ranges: list[tuple[int, int]]) -> None:
    """Any list of well-formed ranges parses to the union of the ranges."""
    text = ",".join(f"{lo}-{lo + n}" if n else str(lo) for lo, n in ranges)
    expected = {i for lo, n in ranges for i in range(lo, lo + n + 1)}
    assert set(CPUSet.parse(text)) == expected
