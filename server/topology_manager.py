"""The kubelet's topology manager: hint normalisation, the merge, the policies' admit rules.

The kubelet (``topologymanager/policy.go``) walks the cross-product of every provider's hint
list, ANDs each permutation's masks, and keeps the best merged hint under a total order:

* a merged hint with an empty mask is ignored;
* preferred beats non-preferred (a permutation is preferred when every hint in it is
  preferred and all its non-nil masks are identical);
* among preferred hints, the better mask wins: narrower, then the numerically smaller mask
  (or, with ``prefer-closest-numa-nodes``, equal widths compare by average NUMA distance);
* among non-preferred hints, with B the largest of the lists' narrowest non-nil mask sizes:
  width B first, then widths below B (wider first), then widths above B (narrower first);
  ties by the better mask;
* nothing left → ``{all nodes, non-preferred}``.

Because that order is total, the answer is simply the maximum over the *set* of merged hints
that some permutation produces (kubelet-algorithms §5). The cross-product has up to
``hints^providers`` permutations (users report 21 minutes for one admission at 8 NUMA nodes),
but the set of distinct partial results is small: a partial permutation is fully described by
its AND-ed mask and whether it can still be preferred (and if so, the one mask all its non-nil
hints share, which then equals the AND). :func:`merge` folds the lists one at a time over that
state set, at most ``3 · 2^nodes`` states, and :func:`merge_brute_force` keeps the kubelet's
walk as the reference the property tests compare against.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from .cpuset import CPUSet
from .errors import ConfigError
from .hints import TopologyHint, is_narrower

NONE: Final = "none"
BEST_EFFORT: Final = "best-effort"
RESTRICTED: Final = "restricted"
SINGLE_NUMA_NODE: Final = "single-numa-node"
POLICIES: Final = (NONE, BEST_EFFORT, RESTRICTED, SINGLE_NUMA_NODE)

SCOPE_CONTAINER: Final = "container"
SCOPE_POD: Final = "pod"
SCOPES: Final = (SCOPE_CONTAINER, SCOPE_POD)

# A provider's answer: resource name → hints, where None means "no preference" and [] means
# "cannot be satisfied". A provider that returns None or {} has no preference at all.
ProviderHints = Mapping[str, Sequence[TopologyHint] | None] | None

# (current, candidate) → the better of two masks of a comparison.
BetterMask = Callable[[CPUSet, CPUSet], CPUSet]


@dataclass(frozen=True)
class TopologyManagerPolicy:
    """A topology manager policy over one machine's NUMA nodes."""

    name: str
    numa_nodes: CPUSet
    """Every NUMA node of the machine (the default affinity)."""
    distances: Mapping[int, Mapping[int, int]] | None = None
    """Set to enable ``prefer-closest-numa-nodes``."""

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ConfigError("topologyManagerPolicy", f'unknown policy: "{self.name}"')

    @property
    def prefer_closest(self) -> bool:
        # single-numa-node never widens, so distances cannot matter there.
        return self.distances is not None and self.name != SINGLE_NUMA_NODE

    def merge(self, providers: Sequence[ProviderHints]) -> tuple[TopologyHint, bool]:
        """The merged hint and whether the policy admits it."""
        if self.name == NONE:
            return TopologyHint(None, preferred=False), True
        lists = filter_provider_hints(providers)
        if self.name == SINGLE_NUMA_NODE:
            lists = [
                [h for h in hl if h.preferred and (h.affinity is None or len(h.affinity) == 1)]
                for hl in lists
            ]
        distance_of = self._avg_distance_of_value if self.prefer_closest else None
        best = merge(lists, self.numa_nodes, distance_of=distance_of)
        if self.name == SINGLE_NUMA_NODE and best.affinity == self.numa_nodes:
            best = TopologyHint(None, best.preferred)
        admit = self.name == BEST_EFFORT or best.preferred
        return best, admit

    def _better_mask(self, current: CPUSet, candidate: CPUSet) -> CPUSet:
        if current == candidate:
            return current
        if len(current) != len(candidate):
            return current if len(current) < len(candidate) else candidate
        if self.prefer_closest:
            dc, dn = self._avg_distance(current), self._avg_distance(candidate)
            if dc != dn:
                return current if dc < dn else candidate
        return _narrowest(current, candidate)

    def _avg_distance_of_value(self, mask: int) -> float:
        return self._avg_distance(_from_value(mask))

    def _avg_distance(self, mask: CPUSet) -> float:
        assert self.distances is not None
        pairs = [self.distances[a][b] for a in mask for b in mask]
        return sum(pairs) / len(pairs)


def filter_provider_hints(providers: Iterable[ProviderHints]) -> list[list[TopologyHint]]:
    """``filterProvidersHints``: one hint list per resource, nil/empty normalised."""
    out: list[list[TopologyHint]] = []
    for provider in providers:
        if not provider:
            out.append([TopologyHint(None, preferred=True)])
            continue
        for hints in provider.values():
            if hints is None:
                out.append([TopologyHint(None, preferred=True)])
            elif len(hints) == 0:
                out.append([TopologyHint(None, preferred=False)])
            else:
                out.append(list(hints))
    return out


def best_non_preferred_affinity_count(lists: Sequence[Sequence[TopologyHint]]) -> int:
    """The largest, over lists, of each list's narrowest non-nil mask size (0 if none)."""
    best = 0
    for hints in lists:
        sizes = [h.affinity.bits.bit_count() for h in hints if h.affinity is not None]
        if sizes:
            best = max(best, min(sizes))
    return best


class _Ranker:
    """The kubelet's ``compare`` as a key over merged hints."""

    def __init__(self, b: int, better_mask: BetterMask) -> None:
        self.b = b
        self.better_mask = better_mask

    def better(self, current: TopologyHint | None, candidate: TopologyHint) -> TopologyHint:
        assert candidate.affinity is not None
        if not candidate.affinity:
            return current if current is not None else candidate
        if current is None:
            return candidate
        assert current.affinity is not None
        if current.preferred != candidate.preferred:
            return current if current.preferred else candidate
        if current.preferred:
            return self._by_mask(current, candidate)
        b = self.b
        cur, cand = len(current.affinity), len(candidate.affinity)
        if cur > b:
            return self._by_mask(current, candidate)
        if cur == b:
            return current if cand != b else self._by_mask(current, candidate)
        # cur < b
        if cand > b:
            return current
        if cand == b:
            return candidate
        if cand > cur:
            return candidate
        if cand < cur:
            return current
        return self._by_mask(current, candidate)

    def _by_mask(self, current: TopologyHint, candidate: TopologyHint) -> TopologyHint:
        assert current.affinity is not None
        assert candidate.affinity is not None
        chosen = self.better_mask(current.affinity, candidate.affinity)
        return current if chosen == current.affinity else candidate


def _narrowest(current: CPUSet, candidate: CPUSet) -> CPUSet:
    # bitmask.Narrowest: the candidate only replaces a strictly narrower-ranked current.
    return candidate if is_narrower(candidate, current) else current


def preferred_masks(lists: Sequence[Sequence[TopologyHint]], all_nodes: CPUSet) -> set[int]:
    """Every mask that some *preferred* permutation merges to.

    A permutation is preferred when every hint in it is preferred and all its non-nil masks
    are the same mask M; it then merges to M (or, if every hint is nil, to all nodes). So M is
    reachable exactly when every list has a preferred hint that is M or nil - no
    cross-product needed.
    """
    default = all_nodes.bits
    masks_per_list: list[set[int]] = []
    nil_per_list: list[bool] = []
    for hints in lists:
        masks = {h.affinity.bits for h in hints if h.preferred and h.affinity is not None}
        has_nil = any(h.preferred and h.affinity is None for h in hints)
        if not masks and not has_nil:
            return set()
        masks_per_list.append(masks)
        nil_per_list.append(has_nil)
    found = {default} if all(nil_per_list) else set()
    candidates = set().union(*masks_per_list) if masks_per_list else set()
    for m in candidates:
        if all(m in ms or nil for ms, nil in zip(masks_per_list, nil_per_list, strict=True)):
            found.add(m & default)
    return found


def _minimal(values: Iterable[int]) -> list[int]:
    """The minimal elements (as bit sets) of ``values``: a superset can never do better."""
    kept: list[int] = []
    for x in sorted(set(values), key=int.bit_count):
        if not any(y & x == y for y in kept):
            kept.append(x)
    return kept


def _reachable_exactly(target: int, supersets: Sequence[set[int]], default: int) -> bool:
    """Can one mask per list (each a superset of ``target``) AND to exactly ``target``?

    Only the bits outside ``target`` matter, and of those only the minimal sets: ANDing is
    monotone, so a choice that leaves more bits can never end better than one that leaves
    fewer. The answer is yes when some combination clears every bit outside ``target``.
    """
    outside = default & ~target
    rests = [_minimal(m & outside for m in masks) for masks in supersets]
    if any(0 in r for r in rests):
        return True  # one list holds target itself; every other list has a superset
    states = [outside]
    for r in sorted(rests, key=len):
        states = _minimal(x & m for x in states for m in r)
        if 0 in states:
            return True
    return False


def _from_value(value: int) -> CPUSet:
    return CPUSet(i for i in range(value.bit_length()) if value >> i & 1)


def merge(
    lists: Sequence[Sequence[TopologyHint]],
    all_nodes: CPUSet,
    distance_of: Callable[[int], float] | None = None,
) -> TopologyHint:
    """The kubelet's merged hint, without walking the cross-product.

    The kubelet's pairwise ``compare`` is a total order (kubelet-algorithms §5), so the winner
    is the best merged hint under a rank: preferred first; among preferred, narrower; among
    non-preferred, width B first, then widths below B (wider first), then widths above B
    (narrower first); equal widths by lower average distance (``distance_of``, only with
    prefer-closest-numa-nodes), then by the smaller mask value.

    Preferred merged hints are found directly (:func:`preferred_masks`). Otherwise candidate
    masks are tried in rank order, each checked for being exactly reachable by some
    permutation (:func:`_reachable_exactly`); the first one found wins. The cost depends on
    the number of hints and candidates, never on the product of the list lengths.
    """
    preferred = {m for m in preferred_masks(lists, all_nodes) if m}
    if preferred:
        best = max(preferred, key=lambda m: (-m.bit_count(), *_tie(m, distance_of)))
        return TopologyHint(_from_value(best), preferred=True)
    default = all_nodes.bits
    options = [
        {default if h.affinity is None else h.affinity.bits & default for h in hints}
        for hints in lists
    ]
    if not all(options):
        return TopologyHint(all_nodes, preferred=False)  # some list is empty: no permutation
    b = best_non_preferred_affinity_count(lists)
    nodes = [i for i in range(default.bit_length()) if default >> i & 1]
    widths = [b] if 1 <= b <= len(nodes) else []
    widths += list(range(min(b, len(nodes) + 1) - 1, 0, -1)) + list(range(b + 1, len(nodes) + 1))
    for width in widths:
        candidates = [sum(1 << i for i in combo) for combo in itertools.combinations(nodes, width)]
        candidates.sort(key=lambda m: _tie(m, distance_of), reverse=True)
        for target in candidates:
            supersets = [{m for m in masks if m & target == target} for masks in options]
            if all(supersets) and _reachable_exactly(target, supersets, default):
                return TopologyHint(_from_value(target), preferred=False)
    return TopologyHint(all_nodes, preferred=False)


def _tie(mask: int, distance_of: Callable[[int], float] | None) -> tuple[float, int]:
    return (-distance_of(mask) if distance_of else 0.0, -mask)


def merge_brute_force(
    lists: Sequence[Sequence[TopologyHint]],
    all_nodes: CPUSet,
    better_mask: BetterMask | None = None,
) -> TopologyHint:
    """The kubelet's own walk over the whole cross-product (reference for tests)."""
    ranker = _Ranker(best_non_preferred_affinity_count(lists), better_mask or _narrowest)
    best: TopologyHint | None = None
    for permutation in itertools.product(*lists):
        preferred = True
        masks: list[CPUSet] = []
        for hint in permutation:
            if hint.affinity is not None:
                masks.append(hint.affinity)
                if hint.affinity != masks[0]:
                    preferred = False
            if not hint.preferred:
                preferred = False
        merged = all_nodes
        for m in masks:
            merged = merged & m
        if not merged:
            continue
        best = ranker.better(best, TopologyHint(merged, preferred))
    if best is None:
        return TopologyHint(all_nodes, preferred=False)
    return best
