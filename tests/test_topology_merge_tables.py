"""Topology manager merge tables per policy, and the merge identity property.

Layout follows the kubelet's ``topologymanager/policy_test.go``: a shared case list
(``commonPolicyMergeTestCases``, same merged hint under best-effort, restricted and
single-numa-node) plus per-policy lists. Cases marked "upstream" are the kubelet's own, as
recalled (names and hints); every other case is ours, with its expected result derived by hand
from kubelet-algorithms §3/§5 in a comment.

Each case carries the merged hint and ``admit``, the admission under restricted and
single-numa-node (whichever of the two the list runs under); best-effort and none always admit,
and none always merges to ``{nil, non-preferred}``. Prefer-closest runs use a realistic distance
table for the case's machine size; ``closest`` holds the answer where distances change it
(they never change whether the winner is preferred, so ``admit`` holds there too).

Notation: ``h("0,2", True)`` is a hint on nodes 0 and 2, preferred; ``h(None, False)`` is a
don't-care hint. Average distance "avg{0,2}" is the mean over all ordered pairs incl. self.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinlet.server.cpuset import CPUSet
from pinlet.server.hints import TopologyHint
from pinlet.server.topology_manager import (
    ProviderHints,
    TopologyManagerPolicy,
    merge_brute_force,
)

T = True
F = False


def h(mask: str | None, preferred: bool) -> TopologyHint:
    """A hint from a cpulist ("0,2-3") or None for don't-care."""
    return TopologyHint(None if mask is None else CPUSet.parse(mask), preferred)


NIL_PREFERRED = h(None, T)
NIL_NOT_PREFERRED = h(None, F)

# -- machines and their NUMA distances ------------------------------------------------------------

# Two sockets, one node pair each (0-1 | 2-3); the cross-socket links differ: 0↔2 and 1↔3 are
# the near ones (21), 0↔3 and 1↔2 the far ones (32). Averages: {0,1} = {2,3} = 11,
# {0,2} = {1,3} = 15.5, {0,3} = {1,2} = 21; every 3-node mask 160/9; all four 18.75.
DIST_4 = {
    0: {0: 10, 1: 12, 2: 21, 3: 32},
    1: {0: 12, 1: 10, 2: 32, 3: 21},
    2: {0: 21, 1: 32, 2: 10, 3: 12},
    3: {0: 32, 1: 21, 2: 12, 3: 10},
}

# Two sockets of four nodes (0-3 | 4-7, NPS4-like): 11 within a node pair, 12 within the socket,
# 21 to the "same half" of the other socket (0-1 ↔ 4-5, 2-3 ↔ 6-7), 32 otherwise.
_ROWS_8 = [
    [10, 11, 12, 12, 21, 21, 32, 32],
    [11, 10, 12, 12, 21, 21, 32, 32],
    [12, 12, 10, 11, 32, 32, 21, 21],
    [12, 12, 11, 10, 32, 32, 21, 21],
    [21, 21, 32, 32, 10, 11, 12, 12],
    [21, 21, 32, 32, 11, 10, 12, 12],
    [32, 32, 21, 21, 12, 12, 10, 11],
    [32, 32, 21, 21, 12, 12, 11, 10],
]
DIST_8 = {a: dict(enumerate(row)) for a, row in enumerate(_ROWS_8)}

DIST_2 = {0: {0: 10, 1: 21}, 1: {0: 21, 1: 10}}

DISTANCES: Mapping[int, Mapping[int, Mapping[int, int]]] = {2: DIST_2, 4: DIST_4, 8: DIST_8}


@dataclass(frozen=True)
class Case:
    """One merge case: the providers' answers on a machine, and the expected outcome."""

    name: str
    providers: Sequence[ProviderHints]
    expected: TopologyHint
    admit: bool
    nodes: str = "0-3"
    closest: TopologyHint | None = None

    @property
    def machine(self) -> CPUSet:
        return CPUSet.parse(self.nodes)

    @property
    def expected_closest(self) -> TopologyHint:
        return self.expected if self.closest is None else self.closest


def _params(cases: Sequence[Case]) -> list[object]:
    return [pytest.param(c, id=f"{len(c.machine)}-nodes/{c.name}") for c in cases]


# -- shared cases (best-effort, restricted and single-numa-node agree) ---------------------------

COMMON_CASES = [
    # upstream commonPolicyMergeTestCases (four-node machine).
    Case(
        "Two providers, 1 hint each, same mask, both preferred 1/2",
        [{"resource1": [h("0", T)]}, {"resource2": [h("0", T)]}],
        h("0", T),
        admit=T,
    ),
    Case(
        "Two providers, 1 hint each, same mask, both preferred 2/2",
        [{"resource1": [h("1", T)]}, {"resource2": [h("1", T)]}],
        h("1", T),
        admit=T,
    ),
    Case(
        "Two providers, 1 no hints, 1 single hint preferred 1/2",
        [None, {"resource": [h("0", T)]}],
        h("0", T),
        admit=T,
    ),
    Case(
        "Two providers, 1 no hints, 1 single hint preferred 2/2",
        [None, {"resource": [h("1", T)]}],
        h("1", T),
        admit=T,
    ),
    Case(
        "Two providers, 1 with 2 hints, 1 with single hint matching 1/2",
        [{"resource1": [h("0", T), h("1", T)]}, {"resource2": [h("0", T)]}],
        h("0", T),
        admit=T,
    ),
    Case(
        "Two providers, 1 with 2 hints, 1 with single hint matching 2/2",
        [{"resource1": [h("0", T), h("1", T)]}, {"resource2": [h("1", T)]}],
        h("1", T),
        admit=T,
    ),
    Case(
        "Two providers, both with 2 hints, matching narrower preferred hint from both",
        [{"resource1": [h("0", T), h("1", T)]}, {"resource2": [h("0", T), h("0-1", F)]}],
        h("0", T),
        admit=T,
    ),
    Case(
        "Ensure less narrow preferred hints are chosen over narrower non-preferred hints",
        [
            {"resource1": [h("1", T), h("0-1", F)]},
            {"resource2": [h("0", T), h("1", T), h("0-1", F)]},
        ],
        h("1", T),
        admit=T,
    ),
    Case(
        "Multiple resources, same provider",
        [
            {
                "resource1": [h("1", T), h("0-1", F)],
                "resource2": [h("0", T), h("1", T), h("0-1", F)],
            }
        ],
        h("1", T),
        admit=T,
    ),
    # ours.
    # Lists: [nil T] x3 (None, {}, cpu: None), [{1} T] → one permutation, masks {1} only,
    # all preferred → {1} preferred.
    Case(
        "Four providers, three without any preference, one single preferred hint",
        [None, {}, {"cpu": None}, {"memory": [h("1", T)]}],
        h("1", T),
        admit=T,
        nodes="0-1",
    ),
    # Preferred permutations need one common mask and all hints preferred: {6} from every list
    # works; {2} is missing from the device list; {2,3} is non-preferred in the cpu list.
    # Preferred beats everything else → {6} (although node 2 has the lower id). The
    # single-numa-node filter leaves [2,6], [6,2], [6] → again {6}.
    Case(
        "Three providers, the only node all agree on wins over a lower node id",
        [
            {"cpu": [h("2", T), h("6", T), h("2-3", F)]},
            {"memory": [h("6", T), h("2", T), h("2-3", T)]},
            {"device": [h("2-3", T), h("6", T)]},
        ],
        h("6", T),
        admit=T,
        nodes="0-7",
    ),
    # Lists: cpu [nil T, {3} T], memory [{3} T, nil T], gpu [nil T]. Permutations:
    # nil·nil·nil → all nodes preferred (no mask at all); any with {3} → {3} preferred.
    # Both preferred → narrower {3}.
    Case(
        "Don't-care hints alongside a single preferred node",
        [{"cpu": [h(None, T), h("3", T)], "memory": [h("3", T), h(None, T)], "gpu": None}],
        h("3", T),
        admit=T,
    ),
    # Lists: cpu [{5} T, {6} T, {4-7} F], memory [{6} T, {5} T], [nil T], hugepages
    # [nil F, {6} T]. Only {6}·{6}·nil·{6} is all preferred with one mask; {5} needs the
    # hugepages nil F hint → non-preferred. Preferred {6} wins. single-numa-node drops {4-7} F
    # and nil F, same answer.
    Case(
        "Four providers, a non-preferred don't-care hint cannot make node 5 preferred",
        [
            {"cpu": [h("5", T), h("6", T), h("4-7", F)]},
            {"memory": [h("6", T), h("5", T)]},
            None,
            {"hugepages-2Mi": [h(None, F), h("6", T)]},
        ],
        h("6", T),
        admit=T,
        nodes="0-7",
    ),
]

# -- best-effort and restricted (same merge; restricted admits only preferred) -------------------

BEST_EFFORT_CASES = [
    # upstream bestEffortPolicy mergeTestCases (four-node machine).
    Case("TopologyHint not set", [], h("0-3", T), admit=T),
    Case(
        "HintProvider returns empty non-nil map[string][]TopologyHint",
        [{}],
        h("0-3", T),
        admit=T,
    ),
    Case(
        "HintProvider returns -nil map[string][]TopologyHint from provider",
        [{"resource": None}],
        h("0-3", T),
        admit=T,
    ),
    Case(
        "HintProvider returns empty non-nil map[string][]TopologyHint from provider",
        [{"resource": []}],
        h("0-3", F),
        admit=F,
    ),
    Case(
        "Single TopologyHint with Preferred as true and NUMANodeAffinity as nil",
        [{"resource": [h(None, T)]}],
        h("0-3", T),
        admit=T,
    ),
    Case(
        "Single TopologyHint with Preferred as false and NUMANodeAffinity as nil",
        [{"resource": [h(None, F)]}],
        h("0-3", F),
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, no common mask",
        [{"resource1": [h("0", T)]}, {"resource2": [h("1", T)]}],
        h("0-3", F),
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, same mask, 1 preferred, 1 not 1/2",
        [{"resource1": [h("0", T)]}, {"resource2": [h("0", F)]}],
        h("0", F),
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, same mask, 1 preferred, 1 not 2/2",
        [{"resource1": [h("1", T)]}, {"resource2": [h("1", F)]}],
        h("1", F),
        admit=F,
    ),
    # Candidates {0} F, {1} F; B = 2; both below B, same width → smaller mask {0}.
    Case(
        "Two providers, 1 with 2 hints, 1 with single non-preferred hint matching",
        [{"resource1": [h("0", T), h("1", T)]}, {"resource2": [h("0-1", F)]}],
        h("0", F),
        admit=F,
    ),
    # Candidates {0} F, {1} F (masks differ), {0,1} F (resource2's hint); B = 2 → {0,1}.
    Case(
        "Single NUMA hint generation",
        [{"resource1": [h("0-1", T)]}, {"resource2": [h("0", T), h("1", T), h("0-1", F)]}],
        h("0-1", F),
        admit=F,
    ),
    Case(
        "One no-preference provider",
        [{"resource1": [h("0", T), h("1", T), h("0-1", F)]}, None],
        h("0", T),
        admit=T,
    ),
    Case(
        "Two providers, 1 hint each, 1 wider mask, both preferred 1/2",
        [{"resource1": [h("0", T)]}, {"resource2": [h("0-1", T)]}],
        h("0", F),
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, 1 wider mask, both preferred 2/2",
        [{"resource1": [h("1", T)]}, {"resource2": [h("0-1", T)]}],
        h("1", F),
        admit=F,
    ),
    Case(
        "bestNonPreferredAffinityCount (1)",
        [{"resource1": [h("0-3", F), h("0-1", F)]}, {"resource2": [h("0-1", F)]}],
        h("0-1", F),
        admit=F,
    ),
    # Candidates {0,3} (width B = 2) then {0}: current at B, candidate not → keep {0,3}.
    Case(
        "bestNonPreferredAffinityCount (2)",
        [{"resource1": [h("0-3", F), h("0-1", F)]}, {"resource2": [h("0,3", F)]}],
        h("0,3", F),
        admit=F,
    ),
    Case(
        "bestNonPreferredAffinityCount (3)",
        [{"resource1": [h("0-3", F), h("0-1", F)]}, {"resource2": [h("1-2", F)]}],
        h("1-2", F),
        admit=F,
    ),
    Case(
        "bestNonPreferredAffinityCount (4)",
        [{"resource1": [h("0-3", F), h("0-1", F)]}, {"resource2": [h("2-3", F)]}],
        h("2-3", F),
        admit=F,
    ),
    # upstream mergeTestCasesNoPolicies: candidates {1,2}, {2,3}, {1}; B = 2 → {1,2} (6 < 12).
    # prefer-closest: avg{1,2} = 21, avg{2,3} = 11 → {2,3}.
    Case(
        "bestNonPreferredAffinityCount (5)",
        [
            {"resource1": [h("0-3", F), h("0-1", F)]},
            {"resource2": [h("1-2", F), h("2-3", F)]},
        ],
        h("1-2", F),
        admit=F,
        closest=h("2-3", F),
    ),
    # Candidates {1,2,3}, {1,2}, {1,3}, {2,3}, {1}; B = 2 → smallest width-2 mask {1,2}.
    # prefer-closest: avg {1,2} 21, {1,3} 15.5, {2,3} 11 → {2,3}.
    Case(
        "bestNonPreferredAffinityCount (6)",
        [
            {"resource1": [h("0-3", F), h("0-1", F)]},
            {"resource2": [h("1-3", F), h("1-2", F), h("1,3", F), h("2-3", F)]},
        ],
        h("1-2", F),
        admit=F,
        closest=h("2-3", F),
    ),
    # ours.
    # Permutations: all·all → {0-3} T; all·{1} → {1} F; {0}·all → {0} F; {0}·{1} → empty.
    # Preferred beats non-preferred → {0-3} preferred.
    Case(
        "Multiple hints with all-nodes masks",
        [{"resource1": [h("0-3", T), h("0", F)]}, {"resource2": [h("0-3", T), h("1", F)]}],
        h("0-3", T),
        admit=T,
    ),
    # Lists: [nil T], [nil T], cpu [{2} T, {3} T], memory [nil F] ("memory": []),
    # hugepages [nil T]. Every permutation holds nil F → non-preferred: {2} F, {3} F.
    # B = 1 → both at B → smaller mask {2}.
    Case(
        "Four providers, an unsatisfiable resource makes every candidate non-preferred",
        [None, {}, {"cpu": [h("2", T), h("3", T)]}, {"memory": [], "hugepages-2Mi": None}],
        h("2", F),
        admit=F,
    ),
    # The device list's masks {4,5} / {0,1} never equal gpu's {4} / {5}: nothing preferred.
    # Non-empty ANDs need gpu {4} (gpu {5} dies on memory {4} and {0,4}), then hugepages {4,5},
    # then any memory hint and cpu {4} or {0-7} → only {4} F.
    Case(
        "Four providers, a two-node-only resource keeps the agreed node non-preferred",
        [
            {"cpu": [h("0", T), h("4", T), h("0-7", F)]},
            {"memory": [h("4", T), h("0,4", F)], "hugepages-1Gi": [h("4-5", T), h("0-1", T)]},
            {"gpu": [h("4", T), h("5", T)]},
            None,
        ],
        h("4", F),
        admit=F,
        nodes="0-7",
    ),
    # Narrowest per list: cpu 2, memory 1, device 4 (nil skipped) → B = 4. Candidates (all
    # non-preferred, every cpu hint is): {0-3}, {0,1}, {1}, {0,1,2}. Width B exists → {0-3},
    # although narrower candidates exist.
    Case(
        "Non-preferred only, the widest list's narrowest mask sets the target width",
        [
            {"cpu": [h("0-3", F), h("0-1", F)]},
            {"memory": [h("0-7", F), h("1", F), h("0-2", F)]},
            {"device": [h(None, T), h("0-1,4-5", F)]},
        ],
        h("0-3", F),
        admit=F,
        nodes="0-7",
    ),
    # B = max(3, 1) = 3. Candidates {0}, {1,2}, {2}; none at B → widest below B → {1,2}.
    Case(
        "Non-preferred, no candidate at the target width, the widest below it wins",
        [{"cpu": [h("0-2", F)]}, {"memory": [h("0", F), h("1-2", F), h("2-3", F)]}],
        h("1-2", F),
        admit=F,
    ),
    # B = 2. cpu masks avoid {2,3}, memory masks avoid {0,1}: the only non-empty ANDs are
    # {0,1,4-7}·{2-7} = {4-7} (seen first) and {0,1,4-6}·{2-7} = {4,5,6}. Both above B →
    # narrower {4,5,6}.
    Case(
        "Non-preferred, every candidate wider than the target width, the narrowest wins",
        [
            {"cpu": [h("0-1,4-7", F), h("0-1", F), h("0-1,4-6", F)]},
            {"memory": [h("2-3", F), h("2-7", F)]},
        ],
        h("4-6", F),
        admit=F,
        nodes="0-7",
    ),
    # Preferred candidates {0,1} (both all-nodes) and {1}; non-preferred {1} (masks differ).
    # Narrower preferred → {1}.
    Case(
        "Two providers accepting all nodes or node 1, the narrower agreement wins",
        [{"cpu": [h("0-1", T), h("1", T)]}, {"memory": [h("1", T), h("0-1", T)]}],
        h("1", T),
        admit=T,
        nodes="0-1",
    ),
    # Preferred {2,3} and {0,1}; same width → smaller mask {0,1} (3 < 12).
    # prefer-closest: avg 11 both → smaller mask, also {0,1}.
    Case(
        "Two providers agree on two node pairs, the lower pair wins",
        [{"cpu": [h("2-3", T), h("0-1", T)]}, {"memory": [h("0-1", T), h("2-3", T)]}],
        h("0-1", T),
        admit=T,
    ),
    # §5: equal widths compare as unsigned integers, {1,2} = 6 beats {0,3} = 9.
    # prefer-closest: avg 21 both → {1,2} again.
    Case(
        "Equal-width preferred masks, the smaller integer wins, not the lower first node",
        [{"cpu": [h("0,3", T), h("1-2", T)]}],
        h("1-2", T),
        admit=T,
    ),
    # ours, prefer-closest-numa-nodes (DIST_4 / DIST_8 above).
    # plain: {0,2} (5) beats {2,3} (12); closest: avg{0,2} 15.5 > avg{2,3} 11 → {2,3}.
    Case(
        "Equal-width preferred candidates, the closer pair wins over the lower ids",
        [{"cpu": [h("0,2", T), h("2-3", T)]}],
        h("0,2", T),
        admit=T,
        closest=h("2-3", T),
    ),
    # avg{1,3} = avg{0,2} = 15.5 → tie → smaller mask {0,2}; plain also {0,2}.
    Case(
        "Equal average distance, the smaller mask wins",
        [{"cpu": [h("1,3", T), h("0,2", T)]}],
        h("0,2", T),
        admit=T,
    ),
    # Widths differ → narrower {0,3} (avg 21) under both, though avg{0,1,2} = 160/9 is lower.
    Case(
        "A narrower mask beats a closer wider one",
        [{"cpu": [h("0,3", T), h("0-2", T)]}],
        h("0,3", T),
        admit=T,
    ),
    # Narrowest per list: cpu 2, memory 8, device 2 → B = 8. Candidates {3,4} F, {4,5} F (the
    # device {1,2} hint empties both). Below B, same width → plain {3,4} (24 < 48);
    # closest: avg{3,4} = (10+32)/2 = 21, avg{4,5} = (10+11)/2 = 10.5 → {4,5}.
    Case(
        "Non-preferred candidates below a wide target width, decided by distance",
        [
            {"cpu": [h("3-4", F), h("4-5", F)]},
            {"memory": [h("0-7", T)]},
            {"device": [h(None, T), h("1-2", F)]},
        ],
        h("3-4", F),
        admit=F,
        nodes="0-7",
        closest=h("4-5", F),
    ),
    # plain: {1,2} (6); closest: avg{3,4} 21 (cross socket), avg{1,2} 11, avg{4,5} 10.5 → {4,5}.
    Case(
        "A node pair across the socket boundary loses to pairs within a socket",
        [{"cpu": [h("3-4", T), h("4-5", T), h("1-2", T)]}],
        h("1-2", T),
        admit=T,
        nodes="0-7",
        closest=h("4-5", T),
    ),
    # Preferred candidates {0,2} and {4,5} ({0-7} F only gives non-preferred ones).
    # plain: {0,2} (5 < 48); closest: avg{0,2} = 11 > avg{4,5} = 10.5 → {4,5}.
    Case(
        "Three providers agree on two pairs, the tighter pair beats the lower ids",
        [
            {"cpu": [h("0,2", T), h("4-5", T), h("0-7", F)]},
            {"memory": [h("4-5", T), h("0,2", T)]},
            None,
        ],
        h("0,2", T),
        admit=T,
        nodes="0-7",
        closest=h("4-5", T),
    ),
    # plain: {0,2,4} (21 < 112). closest: avg{0,2,4} = (30 + 2·(12+21+32))/9 = 160/9,
    # avg{4,5,6} = (30 + 2·(11+12+12))/9 = 100/9 → {4,5,6}.
    Case(
        "Three-node candidates, one socket beats a spread over both",
        [{"cpu": [h("0,2,4", T), h("4-6", T)]}],
        h("0,2,4", T),
        admit=T,
        nodes="0-7",
        closest=h("4-6", T),
    ),
    # avg{2,3,6} = (30 + 2·(11+21+21))/9 = 136/9 = avg{0,1,4} = (30 + 2·(11+21+21))/9 → tie →
    # smaller mask {0,1,4} (19 < 76); plain also {0,1,4}.
    Case(
        "Three-node candidates at equal distance, the smaller mask wins",
        [{"cpu": [h("2-3,6", T), h("0-1,4", T)]}],
        h("0-1,4", T),
        admit=T,
        nodes="0-7",
    ),
]

# -- single-numa-node (filter to preferred nil/single-node hints; all nodes reported as nil) -----

SINGLE_NUMA_NODE_CASES = [
    # upstream singleNumaNodePolicy mergeTestCases (four-node machine).
    Case("TopologyHint not set", [], NIL_PREFERRED, admit=T),
    Case(
        "HintProvider returns empty non-nil map[string][]TopologyHint",
        [{}],
        NIL_PREFERRED,
        admit=T,
    ),
    Case(
        "HintProvider returns -nil map[string][]TopologyHint from provider",
        [{"resource": None}],
        NIL_PREFERRED,
        admit=T,
    ),
    # [nil F] is filtered away → no permutation → default all nodes, non-preferred → nil.
    Case(
        "HintProvider returns empty non-nil map[string][]TopologyHint from provider",
        [{"resource": []}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "Single TopologyHint with Preferred as true and NUMANodeAffinity as nil",
        [{"resource": [h(None, T)]}],
        NIL_PREFERRED,
        admit=T,
    ),
    Case(
        "Single TopologyHint with Preferred as false and NUMANodeAffinity as nil",
        [{"resource": [h(None, F)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, no common mask",
        [{"resource1": [h("0", T)]}, {"resource2": [h("1", T)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, same mask, 1 preferred, 1 not 1/2",
        [{"resource1": [h("0", T)]}, {"resource2": [h("0", F)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, same mask, 1 preferred, 1 not 2/2",
        [{"resource1": [h("1", T)]}, {"resource2": [h("1", F)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "Two providers, 1 with 2 hints, 1 with single non-preferred hint matching",
        [{"resource1": [h("0", T), h("1", T)]}, {"resource2": [h("0-1", F)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "Single NUMA hint generation",
        [{"resource1": [h("0-1", T)]}, {"resource2": [h("0", T), h("1", T), h("0-1", F)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "One no-preference provider",
        [{"resource1": [h("0", T), h("1", T), h("0-1", F)]}, None],
        h("0", T),
        admit=T,
    ),
    Case(
        "Two providers, 1 hint each, 1 wider mask, both preferred 1/2",
        [{"resource1": [h("0", T)]}, {"resource2": [h("0-1", T)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    Case(
        "Two providers, 1 hint each, 1 wider mask, both preferred 2/2",
        [{"resource1": [h("1", T)]}, {"resource2": [h("0-1", T)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    # ours.
    # Both lists lose every hint ({0-3} is 4 nodes wide, {0}/{1} are non-preferred) → no
    # permutation → default {0-3} F → reported as nil. (best-effort: {0-3} preferred.)
    Case(
        "Multiple hints with all-nodes masks",
        [{"resource1": [h("0-3", T), h("0", F)]}, {"resource2": [h("0-3", T), h("1", F)]}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    # Filtered lists: [nil T], [nil T] ({0} F, {1} F and the 2-node {0,1} are dropped) →
    # all nodes preferred → nil preferred. (best-effort: {0,1} preferred.)
    Case(
        "Only don't-care hints survive the filter, reported as nil and preferred",
        [{"cpu": [h(None, T), h("0", F), h("1", F)]}, {"memory": [h(None, T), h("0-1", T)]}],
        NIL_PREFERRED,
        admit=T,
        nodes="0-1",
    ),
    # Filtered: cpu [{3}, {1}], memory [{1}, {3}], device [nil, {3}] (all preferred) →
    # preferred candidates {3} and {1} → narrower tie → smaller mask {1}.
    Case(
        "Two single nodes all agree on, the lower id wins",
        [
            {"cpu": [h("3", T), h("1", T)]},
            {"memory": [h("1", T), h("3", T), h("0-3", F)]},
            {"device": [h(None, T), h("3", T)]},
        ],
        h("1", T),
        admit=T,
    ),
    # The gpu list keeps nothing ({0,1} is two nodes) → no permutation at all, although cpu and
    # memory agree on {0} → nil non-preferred. (best-effort: {0} F.)
    Case(
        "A resource with only multi-node hints rejects the pod",
        [
            {"cpu": [h("0", T), h("1", T)]},
            {"memory": [h("0", T), h("1", T)]},
            {"gpu": [h("0-1", T)]},
        ],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    # Lists: [nil T], [nil T], cpu [{2}, {3}], memory [] after dropping nil F → nothing.
    Case(
        "Four providers, an unsatisfiable resource rejects the pod",
        [None, {}, {"cpu": [h("2", T), h("3", T)]}, {"memory": [], "hugepages-2Mi": None}],
        NIL_NOT_PREFERRED,
        admit=F,
    ),
    # Filtered: cpu [{1}], memory [{1}], gpu [nil T] → {1} preferred; not all nodes, so it is
    # reported as itself.
    Case(
        "Three providers on two nodes agree on node 1",
        [{"cpu": [h("0", F), h("1", T)]}, {"memory": [h("1", T)]}, {"gpu": None}],
        h("1", T),
        admit=T,
        nodes="0-1",
    ),
]

# -- none ------------------------------------------------------------------------------------------

NONE_CASES = [
    # upstream policy_none_test.go TestPolicyNoneMerge.
    Case("merged empty providers hints", [], NIL_NOT_PREFERRED, admit=T),
    Case(
        "merge with a single provider with a single preferred resource",
        [{"resource": [h("0-1", T)]}],
        NIL_NOT_PREFERRED,
        admit=T,
    ),
    Case(
        "merge with a single provider with a single non-preferred resource",
        [{"resource": [h("0-1", F)]}],
        NIL_NOT_PREFERRED,
        admit=T,
    ),
]

ALL_CASES = COMMON_CASES + BEST_EFFORT_CASES + SINGLE_NUMA_NODE_CASES + NONE_CASES


def _policy(name: str, case: Case, *, closest: bool = False) -> TopologyManagerPolicy:
    distances = DISTANCES[len(case.machine)] if closest else None
    return TopologyManagerPolicy(name, case.machine, distances=distances)


@pytest.mark.parametrize("case", _params(COMMON_CASES + BEST_EFFORT_CASES))
def test_best_effort_merge(case: Case) -> None:
    """best-effort returns the kubelet's merged hint and always admits."""
    assert _policy("best-effort", case).merge(case.providers) == (case.expected, True)


@pytest.mark.parametrize("case", _params(COMMON_CASES + BEST_EFFORT_CASES))
def test_restricted_merge(case: Case) -> None:
    """restricted returns best-effort's merged hint and admits only a preferred one."""
    assert _policy("restricted", case).merge(case.providers) == (case.expected, case.admit)


@pytest.mark.parametrize("case", _params(COMMON_CASES + BEST_EFFORT_CASES))
def test_best_effort_merge_closest(case: Case) -> None:
    """best-effort with prefer-closest-numa-nodes breaks equal-width ties by distance."""
    policy = _policy("best-effort", case, closest=True)
    assert policy.merge(case.providers) == (case.expected_closest, True)


@pytest.mark.parametrize("case", _params(COMMON_CASES + BEST_EFFORT_CASES))
def test_restricted_merge_closest(case: Case) -> None:
    """restricted with prefer-closest-numa-nodes merges like best-effort, admits if preferred."""
    policy = _policy("restricted", case, closest=True)
    assert policy.merge(case.providers) == (case.expected_closest, case.admit)


@pytest.mark.parametrize("case", _params(COMMON_CASES + SINGLE_NUMA_NODE_CASES))
def test_single_numa_node_merge(case: Case) -> None:
    """single-numa-node merges only preferred single-node or nil hints, all nodes as nil."""
    assert _policy("single-numa-node", case).merge(case.providers) == (case.expected, case.admit)


@pytest.mark.parametrize("case", _params(COMMON_CASES + SINGLE_NUMA_NODE_CASES))
def test_single_numa_node_ignores_distances(case: Case) -> None:
    """single-numa-node given a distance table decides exactly as without one."""
    policy = _policy("single-numa-node", case, closest=True)
    assert policy.merge(case.providers) == (case.expected, case.admit)


def test_single_numa_node_ignores_odd_distances() -> None:
    """A self-distance that would flip best-effort's choice does not move single-numa-node."""
    # Deliberately odd diagonal: avg{0} = 30, avg{1} = 10, so only here can single-node masks
    # differ in distance. best-effort with prefer-closest takes node 1; single-numa-node keeps
    # the narrowest rule (equal widths → smaller mask) and takes node 0.
    nodes = CPUSet.parse("0-1")
    odd = {0: {0: 30, 1: 21}, 1: {0: 21, 1: 10}}
    providers: list[ProviderHints] = [{"cpu": [h("0", T), h("1", T)]}]
    closest = TopologyManagerPolicy("best-effort", nodes, distances=odd)
    assert closest.merge(providers) == (h("1", T), True)
    single = TopologyManagerPolicy("single-numa-node", nodes, distances=odd)
    assert single.merge(providers) == (h("0", T), True)


@pytest.mark.parametrize("case", _params(ALL_CASES))
def test_none_merge(case: Case) -> None:
    """none merges every input to {nil, non-preferred} and admits."""
    assert _policy("none", case).merge(case.providers) == (NIL_NOT_PREFERRED, True)


# -- the identity property: the policy's merge equals the kubelet's cross-product walk ------------


def _narrowest(current: CPUSet, candidate: CPUSet) -> CPUSet:
    """bitmask Narrowest: fewer nodes, then the smaller unsigned integer."""

    def key(mask: CPUSet) -> tuple[int, int]:
        return len(mask), sum(1 << i for i in mask)

    return current if key(current) <= key(candidate) else candidate


def _closest(distances: Mapping[int, Mapping[int, int]]) -> Callable[[CPUSet, CPUSet], CPUSet]:
    """NUMAInfo.Closest: narrower; equal widths by lower average distance, then smaller."""

    def average(mask: CPUSet) -> float:
        pairs = [distances[a][b] for a in mask for b in mask]
        return sum(pairs) / len(pairs)

    def better(current: CPUSet, candidate: CPUSet) -> CPUSet:
        if len(current) != len(candidate):
            return _narrowest(current, candidate)
        dc, dn = average(current), average(candidate)
        if dc == dn:
            return _narrowest(current, candidate)
        return current if dc < dn else candidate

    return better


def reference_merge(
    name: str,
    nodes: CPUSet,
    providers: Sequence[ProviderHints],
    distances: Mapping[int, Mapping[int, int]] | None,
) -> tuple[TopologyHint, bool]:
    """The doc's policy rules around the kubelet's own cross-product walk."""
    if name == "none":
        return TopologyHint(None, preferred=False), True
    # filterProvidersHints.
    lists: list[list[TopologyHint]] = []
    for provider in providers:
        if provider is None or len(provider) == 0:
            lists.append([TopologyHint(None, preferred=True)])
            continue
        for hints in provider.values():
            if hints is None:
                lists.append([TopologyHint(None, preferred=True)])
            elif len(hints) == 0:
                lists.append([TopologyHint(None, preferred=False)])
            else:
                lists.append(list(hints))
    single = name == "single-numa-node"
    if single:
        lists = [
            [x for x in hints if x.preferred and (x.affinity is None or len(x.affinity) == 1)]
            for hints in lists
        ]
    better = _closest(distances) if distances is not None and not single else _narrowest
    best = merge_brute_force(lists, nodes, better)
    if single and best.affinity == nodes:
        best = TopologyHint(None, best.preferred)
    return best, name == "best-effort" or best.preferred


RESOURCES = ("cpu", "memory", "nvidia.com/gpu")
# Keep every example's cross-product small enough for the brute-force walk.
MAX_PERMUTATIONS = 1024


@st.composite
def _machines(
    draw: st.DrawFn,
) -> tuple[CPUSet, list[ProviderHints], dict[int, dict[int, int]]]:
    n = draw(st.integers(1, 6))
    ids = list(range(n))
    masks = st.frozensets(st.sampled_from(ids), min_size=1).map(CPUSet)
    # Real providers offer masks from one enumeration, so lists often share masks (that is what
    # makes preferred hints and equal-width ties): most masks come from a small palette of one
    # width, mostly a width with several masks (2 .. n-1); some are arbitrary, some nil, and
    # rarely an empty non-nil mask a caller could still pass.
    width = draw(st.sampled_from([*range(2, n), *range(2, n), 1, n]))
    same_width = st.frozensets(st.sampled_from(ids), min_size=width, max_size=width).map(CPUSet)
    choices = math.comb(n, width)
    palette = st.sampled_from(
        draw(st.lists(same_width, min_size=min(2, choices), max_size=min(4, choices), unique=True))
    )
    # Weights as repeated labels (st.one_of drops repeated strategies).
    kinds = st.sampled_from(["palette"] * 7 + ["any"] * 2 + ["nil"] * 2 + ["empty"])
    mask_of = {"palette": palette, "any": masks, "nil": st.none(), "empty": st.just(CPUSet())}
    mask = kinds.flatmap(mask_of.__getitem__)
    hint = st.builds(TopologyHint, mask, st.booleans())
    permutations = 1
    providers: list[ProviderHints] = []
    # Weighted away from zero providers, which hypothesis would otherwise favour.
    for _ in range(draw(st.sampled_from([1, 2, 2, 3, 3, 4, 4, 0]))):
        kind = draw(st.sampled_from(["map"] * 4 + ["nil", "empty"]))
        if kind == "nil":
            providers.append(None)
            continue
        resources: dict[str, list[TopologyHint] | None] = {}
        if kind == "map":
            for resource in RESOURCES[: draw(st.integers(1, 3))]:
                value = draw(st.sampled_from(["hints"] * 4 + ["nil", "empty"]))
                if value == "nil":
                    resources[resource] = None
                elif value == "empty":
                    resources[resource] = []
                else:
                    cap = max(1, min(5, MAX_PERMUTATIONS // permutations))
                    hints = draw(st.lists(hint, min_size=1, max_size=cap))
                    permutations *= len(hints)
                    resources[resource] = hints
        providers.append(resources)
    # Symmetric, 10 on the diagonal. Node pairs get their distance by a shuffled rank: either
    # all distinct, or folded onto 11/12/21/32 so that average-distance ties also happen.
    # (Independent draws per pair tend to come out all equal, which hides the distance rule.)
    pairs = [(a, b) for a in ids for b in ids if a < b]
    ranked = draw(st.permutations(pairs))
    fold = draw(st.booleans())
    upper = {
        pair: (11, 12, 21, 32)[rank % 4] if fold else 11 + 2 * rank
        for rank, pair in enumerate(ranked)
    }
    distances = {a: {b: 10 if a == b else upper[min(a, b), max(a, b)] for b in ids} for a in ids}
    return CPUSet(ids), providers, distances


def _table_expectations() -> list[object]:
    rows: list[tuple[str, bool, Case, tuple[TopologyHint, bool]]] = []
    for case in COMMON_CASES + BEST_EFFORT_CASES:
        for closest in (False, True):
            hint = case.expected_closest if closest else case.expected
            rows.append(("best-effort", closest, case, (hint, True)))
            rows.append(("restricted", closest, case, (hint, case.admit)))
    for case in COMMON_CASES + SINGLE_NUMA_NODE_CASES:
        for closest in (False, True):
            rows.append(("single-numa-node", closest, case, (case.expected, case.admit)))
    rows.extend(("none", False, case, (NIL_NOT_PREFERRED, True)) for case in ALL_CASES)
    return [
        pytest.param(*row, id=f"{row[0]}{'+closest' if row[1] else ''}/{row[2].name}")
        for row in rows
    ]


@pytest.mark.parametrize(("name", "closest", "case", "expected"), _table_expectations())
def test_reference_agrees_with_tables(
    name: str, closest: bool, case: Case, expected: tuple[TopologyHint, bool]
) -> None:
    """The brute-force reference itself gives every hand-derived table answer."""
    distances = DISTANCES[len(case.machine)] if closest else None
    assert reference_merge(name, case.machine, case.providers, distances) == expected


@settings(max_examples=1500, deadline=None)
@given(_machines())
def test_policy_merge_equals_reference(
    machine: tuple[CPUSet, list[ProviderHints], dict[int, dict[int, int]]],
) -> None:
    """Every policy, with and without distances, decides as the kubelet's walk over all hints."""
    nodes, providers, distances = machine
    for name in ("none", "best-effort", "restricted", "single-numa-node"):
        for dist in (None, distances):
            policy = TopologyManagerPolicy(name, nodes, distances=dist)
            expected = reference_merge(name, nodes, providers, dist)
            assert policy.merge(providers) == expected, (name, dist)
