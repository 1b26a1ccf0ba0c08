"""Kubernetes resource quantities (``k8s.io/apimachinery/pkg/api/resource``), exactly.

``Quantity.parse`` follows ``resource.ParseQuantity``: the grammar is
``<sign>? <digits> (. <digits>)? <suffix>`` where the suffix is a decimal SI suffix
(``n u m "" k M G T P E``), a binary suffix (``Ki Mi Gi Ti Pi Ei``) or a decimal exponent
(``e3``, ``E-2``). The value is kept as an exact :class:`fractions.Fraction`, rounded the way
Kubernetes rounds it: away from zero to a whole number of nano-units (``0.1n`` is ``1n``,
because "if you want some resources, you should get some").

Where Kubernetes is lax or broken we refuse instead, and say so:

* a number without any digit (``"Gi"``, ``"."``, ``"-"``): Go's scanner reads these as zero;
* a magnitude above ``MAX_VALUE`` (2^63-1): Go silently caps some of these and lets others
  through unbounded (``1e1000`` is accepted and then overflows ``Value()``); no real resource
  amount is that large, so a request that big is a typo;
* exponents beyond int32 are not truncated modulo 2^32 as Go does (``1e4294967296`` is
  not ``1``): they are out of range or round to ``1n`` (beyond int64 they are a bad suffix,
  as in Go).

Arithmetic on parsed quantities is exact and unbounded, like ``Quantity.Add`` falling back to
``inf.Dec`` on int64 overflow.
"""

from __future__ import annotations

import enum
import json
import math
import re
from fractions import Fraction
from typing import Final

# resource.maxAllowed: the largest magnitude ParseQuantity keeps (2^63-1) ...
MAX_VALUE: Final = (1 << 63) - 1
# ... and resource.MaxMilliValue, the largest quantity whose MilliValue() fits an int64. The
# kubelet takes MilliValue() of every cpu amount; ``milli_value()`` here is exact regardless.
MAX_MILLI_VALUE: Final = MAX_VALUE // 1000

_NANO: Final = 10**9

# The quantity grammar as Go's hand-written scanner accepts it (parseQuantityString), as one
# regular expression: sign, integer digits, optional fraction, then suffix characters, an optional
# sign and digits. The suffix text is interpreted afterwards, as Go does. [0-9] rather than \d so
# that non-ASCII digits are refused, and fullmatch so that a trailing newline is too.
_GRAMMAR: Final = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?P<suffix>[eEinumkKMGTP]*[+-]?[0-9]*)"
)
_EXPONENT: Final = re.compile(r"[+-]?[0-9]+")

_DECIMAL_SUFFIXES: Final[dict[str, int]] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES: Final[dict[str, int]] = {
    "Ki": 10,
    "Mi": 20,
    "Gi": 30,
    "Ti": 40,
    "Pi": 50,
    "Ei": 60,
}
_DECIMAL_SUFFIX_BY_EXPONENT: Final = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIX_BY_POWER: Final = {p // 10: s for s, p in _BINARY_SUFFIXES.items()}

# How many fractional decimal digits are needed before the rest can be summarised as "something
# non-zero follows". The value is multiplied by at most 2^60 and then rounded up to 10^-9; with
# digits kept down to 10^-(9+60), every kept value times 2^k times 10^9 lies on a grid of step
# 2^k*10^(9-P) that contains the integers, and the dropped tail moves it by less than one step,
# so adding half a step reproduces exactly the ceiling of the full value. This bounds the work on
# absurdly long inputs (and stays clear of Python's 4300-digit int() limit).
_GUARD_DIGITS: Final = 9 + 60

# Go's error texts, so operators can search for them.
_FORMAT_TEXT: Final = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


class QuantityFormat(enum.Enum):
    """How a quantity was written, which decides how it is printed (``resource.Format``)."""

    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


class QuantityError(ValueError):
    """A quantity string could not be parsed.

    ``text`` is the whole input; ``reason`` a short machine-readable cause (``empty``,
    ``format``, ``no-digits``, ``suffix``, ``out-of-range``, and ``precision`` for a
    constructor value finer than 1n); ``detail`` the human explanation.
    """

    def __init__(self, text: str, reason: str, detail: str) -> None:
        super().__init__(f"invalid quantity {_quote(text)}: {detail}")
        self.text = text
        self.reason = reason
        self.detail = detail


def _quote(text: str) -> str:
    # Go's %q style (double quotes, control characters escaped) so messages read like the API
    # server's and a stray newline cannot split a log line.
    return json.dumps(text, ensure_ascii=False)


def _round_away_to_nano(magnitude: Fraction) -> Fraction:
    # inf.RoundUp on a non-negative amount: up to the next whole nano-unit.
    return Fraction(math.ceil(magnitude * _NANO), _NANO)


def _magnitude(text: str, digits: str, exp10: int, exp2: int) -> Fraction:
    """|value| of ``int(digits) * 10**exp10 * 2**exp2``, rounded up to nano-units, bounded."""
    digits = digits.lstrip("0")
    if not digits:
        return Fraction(0)
    significant = digits.rstrip("0")
    exp10 += len(digits) - len(significant)
    digits = significant
    # value >= 10**(len(digits)-1+exp10); 10**19 already exceeds MAX_VALUE. Checking before any
    # arithmetic keeps "1e1000000000" from building a billion-digit integer.
    if len(digits) - 1 + exp10 >= 19:
        raise QuantityError(text, "out-of-range", f"magnitude exceeds the maximum {MAX_VALUE}")
    keep = len(digits) + exp10 + _GUARD_DIGITS
    if keep <= 0:
        kept, low_exp, sticky = 0, 0, True
    else:
        kept = int(digits[:keep])
        low_exp = exp10 + len(digits) - min(keep, len(digits))
        sticky = keep < len(digits)
    exact = Fraction(kept) * Fraction(10) ** low_exp
    if sticky:
        # Half a step at the last kept place: see _GUARD_DIGITS.
        exact += Fraction(5, 10 ** (_GUARD_DIGITS + 1))
    value = _round_away_to_nano(exact * 2**exp2)
    if value > MAX_VALUE:
        raise QuantityError(text, "out-of-range", f"magnitude exceeds the maximum {MAX_VALUE}")
    return value


class Quantity:
    """An exact, immutable, hashable Kubernetes quantity.

    Equality, ordering and hashing look at the value only (``1Ki == 1024``), as
    ``Quantity.Cmp`` does; the format only affects ``str()``.
    """

    __slots__ = ("_format", "_value")

    _value: Fraction
    _format: QuantityFormat

    def __init__(
        self, value: int | Fraction = 0, fmt: QuantityFormat = QuantityFormat.DECIMAL_SI
    ) -> None:
        """Build a quantity from an exact value, which must be a whole number of nano-units."""
        exact = Fraction(value)
        if (exact * _NANO).denominator != 1:
            raise QuantityError(str(value), "precision", "finer than the 1n resolution")
        object.__setattr__(self, "_value", exact)
        object.__setattr__(self, "_format", fmt)

    @classmethod
    def _of(cls, value: Fraction, fmt: QuantityFormat) -> Quantity:
        # Internal constructor for values already known to be nano-aligned.
        obj = object.__new__(cls)
        object.__setattr__(obj, "_value", value)
        object.__setattr__(obj, "_format", fmt)
        return obj

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Quantity is immutable")

    def __reduce__(self) -> tuple[type[Quantity], tuple[Fraction, QuantityFormat]]:
        # pickle and copy would otherwise restore the slots through the refused __setattr__.
        return (Quantity, (self._value, self._format))

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """Parse ``text`` as ``resource.ParseQuantity`` does (no surrounding white space)."""
        if not isinstance(text, str):
            raise TypeError(f"a quantity is parsed from str, not {type(text).__name__}")
        if not text:
            raise QuantityError(text, "empty", "a quantity cannot be empty")
        match = _GRAMMAR.fullmatch(text)
        if match is None:
            raise QuantityError(text, "format", _FORMAT_TEXT)
        whole, frac = match["int"], match["frac"] or ""
        if not whole and not frac:
            raise QuantityError(text, "no-digits", "the number has no digits")
        suffix = match["suffix"]
        exp2 = 0
        if suffix in _DECIMAL_SUFFIXES:
            exp10, fmt = _DECIMAL_SUFFIXES[suffix], QuantityFormat.DECIMAL_SI
        elif suffix in _BINARY_SUFFIXES:
            exp10, exp2, fmt = 0, _BINARY_SUFFIXES[suffix], QuantityFormat.BINARY_SI
        elif len(suffix) > 1 and suffix[0] in "eE" and _EXPONENT.fullmatch(suffix[1:]):
            # Go reads the exponent with strconv.ParseInt(..., 64): beyond that is a bad suffix.
            # The length test comes first so that int() never sees thousands of digits.
            exponent = suffix[1:].lstrip("+-").lstrip("0")
            if len(exponent) > 19 or not -(1 << 63) <= int(suffix[1:]) < 1 << 63:
                raise QuantityError(text, "suffix", f"exponent {suffix[1:]} is out of range")
            exp10, fmt = int(suffix[1:]), QuantityFormat.DECIMAL_EXPONENT
        else:
            raise QuantityError(text, "suffix", f"unknown suffix {_quote(suffix)}")
        magnitude = _magnitude(text, whole + frac, exp10 - len(frac), exp2)
        return cls._of(-magnitude if match["sign"] == "-" else magnitude, fmt)

    # -- views -------------------------------------------------------------------------------

    @property
    def fraction(self) -> Fraction:
        """The exact value."""
        return self._value

    @property
    def format(self) -> QuantityFormat:
        """The format the quantity was written in; decides ``str()``."""
        return self._format

    def is_zero(self) -> bool:
        """True for zero in any spelling (``0``, ``0Mi``, ``0e3``)."""
        return self._value == 0

    def value(self) -> int:
        """``Quantity.Value()``: the value rounded to an integer away from zero (1.5 -> 2)."""
        return _ceil_away(self._value)

    def milli_value(self) -> int:
        """``Quantity.MilliValue()``: the value in thousandths, rounded away from zero."""
        return _ceil_away(self._value * 1000)

    # -- comparison and arithmetic -----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __lt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._value < other._value

    def __le__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._value <= other._value

    def __gt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._value > other._value

    def __ge__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self._value >= other._value

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity._of(self._value + other._value, self._sum_format(other))

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity._of(self._value - other._value, self._sum_format(other))

    def __neg__(self) -> Quantity:
        return Quantity._of(-self._value, self._format)

    def _sum_format(self, other: Quantity) -> QuantityFormat:
        # Quantity.Add keeps the receiver's format unless the receiver is zero, so summing into
        # an empty accumulator takes the format of the first real term (2Gi + 1Gi prints "3Gi").
        return other._format if self._value == 0 else self._format

    # -- text --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f'Quantity("{self}")'

    def __str__(self) -> str:
        """The canonical form Kubernetes prints (``Quantity.String``)."""
        if self._value == 0:
            return "0"
        if self._format is QuantityFormat.BINARY_SI:
            # Below 1Ki, and for values with a fraction, BinarySI would round: print DecimalSI.
            if abs(self._value) >= 1024 and self._value.denominator == 1:
                return _binary_text(self._value.numerator)
            return _decimal_text(self._value, QuantityFormat.DECIMAL_SI)
        return _decimal_text(self._value, self._format)


def _ceil_away(value: Fraction) -> int:
    return math.ceil(value) if value >= 0 else -math.ceil(-value)


def _binary_text(number: int) -> str:
    power = 0
    # Go would also strip a seventh factor of 1024 and then find no suffix for it; stop at Ei.
    while power < 6 and abs(number) >= 1024 and number % 1024 == 0:
        number //= 1024
        power += 1
    return f"{number}{_BINARY_SUFFIX_BY_POWER.get(power, '')}"


def _decimal_text(value: Fraction, fmt: QuantityFormat) -> str:
    # Canonical decimal form (AsCanonicalBytes): an integer mantissa and an exponent that is a
    # multiple of three, the largest such exponent that loses nothing.
    mantissa, exponent = (value * _NANO).numerator, -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    shift = exponent % 3
    mantissa *= 10**shift
    exponent -= shift
    if fmt is QuantityFormat.DECIMAL_EXPONENT:
        return str(mantissa) if exponent == 0 else f"{mantissa}e{exponent}"
    # Only sums beyond MAX_VALUE reach exponents past "E"; print them in exa-units.
    if exponent > 18:
        mantissa *= 10 ** (exponent - 18)
        exponent = 18
    return f"{mantissa}{_DECIMAL_SUFFIX_BY_EXPONENT[exponent]}"


ZERO: Final = Quantity()
