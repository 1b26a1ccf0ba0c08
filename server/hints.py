"""Topology hints: a NUMA affinity plus whether the provider prefers it.

A hint's affinity is a set of NUMA node ids (the kubelet's ``bitmask.BitMask``); ``None`` means
"no NUMA preference". Masks are enumerated the way ``bitmask.IterateBitMasks`` does: by size,
then lexicographically over the ascending node ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .cpuset import CPUSet


@dataclass(frozen=True, slots=True)
class TopologyHint:
    """One placement a hint provider can live with."""

    affinity: CPUSet | None
    """NUMA node ids, or ``None`` for no preference."""
    preferred: bool

    def __str__(self) -> str:
        mask = "any" if self.affinity is None else f"{{{self.affinity}}}"
        return f"{mask}{' preferred' if self.preferred else ''}"


def iterate_masks(node_ids: Sequence[int]) -> Iterator[CPUSet]:
    """Every non-empty subset of ``node_ids``: size 1 first, each size in lexicographic order."""
    ids = sorted(node_ids)
    for size in range(1, len(ids) + 1):
        for combo in itertools.combinations(ids, size):
            yield CPUSet(combo)


def is_narrower(a: CPUSet, b: CPUSet) -> bool:
    """``bitmask.IsNarrowerThan``: fewer nodes, ties broken by the smaller integer value."""
    if len(a) != len(b):
        return len(a) < len(b)
    return a.bits < b.bits
