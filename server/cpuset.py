"""An immutable set of CPU (or NUMA node) ids in the Linux cpulist format.

Modelled on ``k8s.io/utils/cpuset``: ``CPUSet.parse("0-3,8,10-11")`` and ``str()`` round-trip
exactly (``str`` is canonical: ascending, ranges of three or more ids collapsed, pairs written
as ranges too, like the kernel's ``%*pbl``), and every set operation returns a new set. The
same type serves for NUMA node lists (``cpuset.mems``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

# The kernel caps CPU ids at NR_CPUS (CONFIG_NR_CPUS_RANGE_END is 8192 on x86_64) and NUMA
# node ids at MAX_NUMNODES (1 << NODES_SHIFT, NODES_SHIFT at most 10). A cpulist naming an id
# at or above the limit can never be written to a cgroup, so it is refused at parse time.
MAX_CPUS: Final = 8192
MAX_NUMA_NODES: Final = 1024


class CpuListError(ValueError):
    """A cpulist string could not be parsed.

    ``text`` is the whole input, ``token`` the comma-separated piece that failed and
    ``reason`` a short machine-readable cause (``empty-element``, ``not-a-number``,
    ``negative``, ``reversed-range``, ``beyond-limit``).
    """

    def __init__(self, text: str, token: str, reason: str, detail: str) -> None:
        super().__init__(f"invalid cpulist {text!r}: element {token!r}: {detail}")
        self.text = text
        self.token = token
        self.reason = reason


def _parse_id(text: str, token: str, part: str, limit: int) -> int:
    part = part.strip()
    if part.startswith("-") and part[1:].isdigit():
        raise CpuListError(text, token, "negative", "ids cannot be negative")
    # isdigit() alone accepts non-ASCII digits such as "²"; the kernel only takes 0-9.
    if not part or not part.isascii() or not part.isdigit():
        raise CpuListError(text, token, "not-a-number", f"{part!r} is not a decimal id")
    value = int(part)
    if value >= limit:
        raise CpuListError(
            text, token, "beyond-limit", f"id {value} is beyond the kernel's limit of {limit - 1}"
        )
    return value


class CPUSet:
    """A frozen, hashable set of non-negative ids with cpulist text form."""

    __slots__ = ("_bits", "_ids", "_sorted")

    _ids: frozenset[int]
    _sorted: tuple[int, ...] | None
    _bits: int | None

    def __init__(self, ids: Iterable[int] = ()) -> None:
        frozen = frozenset(ids)
        for i in frozen:
            if not isinstance(i, int) or isinstance(i, bool) or i < 0:
                raise ValueError(f"CPU ids must be non-negative integers, got {i!r}")
        object.__setattr__(self, "_ids", frozen)
        object.__setattr__(self, "_sorted", None)
        object.__setattr__(self, "_bits", None)

    @classmethod
    def _of(cls, ids: frozenset[int]) -> CPUSet:
        # Internal constructor for results of set algebra: the ids are already validated.
        obj = object.__new__(cls)
        object.__setattr__(obj, "_ids", ids)
        object.__setattr__(obj, "_sorted", None)
        object.__setattr__(obj, "_bits", None)
        return obj

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CPUSet is immutable")

    @classmethod
    def parse(cls, text: str, *, limit: int = MAX_CPUS) -> CPUSet:
        """Parse a Linux cpulist such as ``"0-3,8,10-11"``; the empty string is the empty set.

        Surrounding white space and one trailing newline (as sysfs files have) are accepted.
        """
        stripped = text.strip()
        if not stripped:
            return cls._of(frozenset())
        ids: set[int] = set()
        for token in stripped.split(","):
            if not token.strip():
                raise CpuListError(text, token, "empty-element", "empty element")
            body = token.strip()
            # A leading "-" is a sign, not a range: "-1" is a negative id.
            dash = body.find("-", 1)
            if dash < 0:
                ids.add(_parse_id(text, token, body, limit))
                continue
            low = _parse_id(text, token, body[:dash], limit)
            high = _parse_id(text, token, body[dash + 1 :], limit)
            if high < low:
                raise CpuListError(
                    text, token, "reversed-range", f"range end {high} is below its start {low}"
                )
            ids.update(range(low, high + 1))
        return cls._of(frozenset(ids))

    # -- views ---------------------------------------------------------------------------------

    def sorted(self) -> tuple[int, ...]:
        """The ids in ascending order (cached)."""
        if self._sorted is None:
            object.__setattr__(self, "_sorted", tuple(sorted(self._ids)))
        assert self._sorted is not None
        return self._sorted

    @property
    def bits(self) -> int:
        """The set as an integer bitmask (bit i = id i), cached: NUMA masks are compared and
        ANDed as integers, as the kubelet's ``bitmask.BitMask`` does."""
        if self._bits is None:
            value = 0
            for i in self._ids:
                value |= 1 << i
            object.__setattr__(self, "_bits", value)
        assert self._bits is not None
        return self._bits

    def as_frozenset(self) -> frozenset[int]:
        return self._ids

    def __iter__(self) -> Iterator[int]:
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self._ids)

    def __bool__(self) -> bool:
        return bool(self._ids)

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CPUSet):
            return self._ids == other._ids
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._ids)

    def __repr__(self) -> str:
        return f'CPUSet("{self}")'

    def __str__(self) -> str:
        parts: list[str] = []
        ids = self.sorted()
        i = 0
        while i < len(ids):
            j = i
            while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
                j += 1
            parts.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
            i = j + 1
        return ",".join(parts)

    # -- algebra -------------------------------------------------------------------------------

    def union(self, *others: CPUSet) -> CPUSet:
        ids = self._ids
        for o in others:
            ids = ids | o._ids
        return CPUSet._of(ids)

    def intersection(self, other: CPUSet) -> CPUSet:
        return CPUSet._of(self._ids & other._ids)

    def difference(self, other: CPUSet) -> CPUSet:
        return CPUSet._of(self._ids - other._ids)

    def symmetric_difference(self, other: CPUSet) -> CPUSet:
        return CPUSet._of(self._ids ^ other._ids)

    def issubset(self, other: CPUSet) -> bool:
        return self._ids <= other._ids

    def issuperset(self, other: CPUSet) -> bool:
        return self._ids >= other._ids

    def isdisjoint(self, other: CPUSet) -> bool:
        return self._ids.isdisjoint(other._ids)

    __or__ = union
    __and__ = intersection
    __sub__ = difference
    __xor__ = symmetric_difference
    __le__ = issubset
    __ge__ = issuperset

    def __lt__(self, other: CPUSet) -> bool:
        return self._ids < other._ids

    def __gt__(self, other: CPUSet) -> bool:
        return self._ids > other._ids

    def min(self) -> int:
        """The lowest id; ``ValueError`` on the empty set."""
        if not self._ids:
            raise ValueError("empty CPUSet has no minimum")
        return self.sorted()[0]

    def max(self) -> int:
        if not self._ids:
            raise ValueError("empty CPUSet has no maximum")
        return self.sorted()[-1]


EMPTY: Final = CPUSet()
