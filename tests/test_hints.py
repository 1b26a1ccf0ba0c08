"""NUMA masks: enumeration order and the kubelet's notion of narrower."""

from __future__ import annotations

import pytest

from pinlet.server.cpuset import CPUSet
from pinlet.server.hints import TopologyHint, is_narrower, iterate_masks


def test_iterate_masks_by_size_then_lexicographic() -> None:
    """Masks come by size, then in lexicographic order, like bitmask.IterateBitMasks."""
    got = [str(m) for m in iterate_masks([2, 0, 1])]
    assert got == ["0", "1", "2", "0-1", "0,2", "1-2", "0-2"]


def test_iterate_masks_count() -> None:
    """n nodes give 2**n - 1 masks."""
    assert sum(1 for _ in iterate_masks(range(8))) == 255


@pytest.mark.parametrize(
    ("a", "b", "narrower"),
    [
        pytest.param("0", "0-1", True, id="fewer-bits"),
        pytest.param("0-2", "3", False, id="more-bits"),
        pytest.param("1-2", "0,3", True, id="equal-width-smaller-value"),
        pytest.param("0,3", "1-2", False, id="equal-width-larger-value"),
        pytest.param("1", "1", False, id="identical"),
    ],
)
def test_is_narrower(a: str, b: str, narrower: bool) -> None:
    """Narrower means fewer nodes, ties broken by the smaller unsigned value."""
    assert is_narrower(CPUSet.parse(a), CPUSet.parse(b)) is narrower


def test_mask_value_and_str() -> None:
    """A mask's integer has bit i for node i; hints print readably."""
    assert CPUSet.parse("0,3").bits == 9
    assert str(TopologyHint(CPUSet.parse("0-1"), preferred=True)) == "{0-1} preferred"
    assert str(TopologyHint(None, preferred=False)) == "any"
