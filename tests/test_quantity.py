"""Kubernetes quantities: parsing, rounding, canonical text and arithmetic."""

from __future__ import annotations

import copy
import math
import pickle
import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinlet.server.quantity import (
    MAX_MILLI_VALUE,
    MAX_VALUE,
    ZERO,
    Quantity,
    QuantityError,
    QuantityFormat,
)

DEC = QuantityFormat.DECIMAL_SI
BIN = QuantityFormat.BINARY_SI
EXP = QuantityFormat.DECIMAL_EXPONENT
F = Fraction

VALID = [
    pytest.param("0", F(0), DEC, id="zero"),
    pytest.param("00", F(0), DEC, id="zero-leading-zeros"),
    pytest.param("-0", F(0), DEC, id="negative-zero"),
    pytest.param("0Gi", F(0), BIN, id="zero-binary"),
    pytest.param("0e5", F(0), EXP, id="zero-exponent"),
    pytest.param("1", F(1), DEC, id="one"),
    pytest.param("+1", F(1), DEC, id="explicit-plus"),
    pytest.param("-1", F(-1), DEC, id="negative"),
    pytest.param("007", F(7), DEC, id="leading-zeros"),
    pytest.param("1.5", F(3, 2), DEC, id="fraction"),
    pytest.param("0.1", F(1, 10), DEC, id="tenth"),
    pytest.param(".5", F(1, 2), DEC, id="no-integer-part"),
    pytest.param("5.", F(5), DEC, id="trailing-point"),
    pytest.param("1.G", F(10**9), DEC, id="trailing-point-before-suffix"),
    pytest.param("-1.5", F(-3, 2), DEC, id="negative-fraction"),
    pytest.param("128974848", F(128974848), DEC, id="bytes"),
    pytest.param("9223372036854775807", F(MAX_VALUE), DEC, id="max-int64"),
    pytest.param("500m", F(1, 2), DEC, id="milli"),
    pytest.param("1001m", F(1001, 1000), DEC, id="milli-above-one"),
    pytest.param("1n", F(1, 10**9), DEC, id="nano"),
    pytest.param("1u", F(1, 10**6), DEC, id="micro"),
    pytest.param("1k", F(1000), DEC, id="kilo"),
    pytest.param("1M", F(10**6), DEC, id="mega"),
    pytest.param("1G", F(10**9), DEC, id="giga"),
    pytest.param("1T", F(10**12), DEC, id="tera"),
    pytest.param("1P", F(10**15), DEC, id="peta"),
    pytest.param("1E", F(10**18), DEC, id="exa-is-a-suffix"),
    pytest.param("2.5M", F(2_500_000), DEC, id="fractional-mega"),
    pytest.param("1Ki", F(1024), BIN, id="kibi"),
    pytest.param("123Mi", F(128974848), BIN, id="mebi"),
    pytest.param("16Gi", F(16 * 2**30), BIN, id="gibi"),
    pytest.param("1Ti", F(2**40), BIN, id="tebi"),
    pytest.param("1Pi", F(2**50), BIN, id="pebi"),
    pytest.param("7Ei", F(7 * 2**60), BIN, id="exbi-below-max"),
    pytest.param("1.5Gi", F(3 * 2**29), BIN, id="fractional-gibi"),
    pytest.param("0.1Ki", F(512, 5), BIN, id="fractional-kibi-not-integer"),
    pytest.param("-2Mi", F(-2 * 2**20), BIN, id="negative-binary"),
    pytest.param("1e3", F(1000), EXP, id="exponent"),
    pytest.param("129e6", F(129_000_000), EXP, id="exponent-bytes"),
    pytest.param("1E-2", F(1, 100), EXP, id="capital-negative-exponent"),
    pytest.param("1e+3", F(1000), EXP, id="plus-exponent"),
    pytest.param("1e0003", F(1000), EXP, id="exponent-leading-zeros"),
    pytest.param("1.5e3", F(1500), EXP, id="fraction-with-exponent"),
    pytest.param("1e-9", F(1, 10**9), EXP, id="exponent-nano"),
    pytest.param("0.0000000001", F(1, 10**9), DEC, id="below-nano-rounds-up"),
    pytest.param("-0.0000000001", F(-1, 10**9), DEC, id="below-nano-rounds-away-from-zero"),
    pytest.param("1.0000000001", F(10**9 + 1, 10**9), DEC, id="nano-tail-rounds-up"),
    pytest.param("0.1n", F(1, 10**9), DEC, id="tenth-of-nano"),
    pytest.param("1e-99999999999999999", F(1, 10**9), EXP, id="tiny-exponent-rounds-to-nano"),
    pytest.param("0.0009765625Ki", F(1), BIN, id="binary-fraction-exact"),
    pytest.param("1.0000000000001Ki", F(1024_000_000_001, 10**9), BIN, id="binary-rounds-up"),
]


@pytest.mark.parametrize(("text", "expected", "fmt"), VALID)
def test_parse_valid(text: str, expected: Fraction, fmt: QuantityFormat) -> None:
    """A well-formed quantity parses to its exact (nano-rounded) value and remembers its format."""
    q = Quantity.parse(text)
    assert q.fraction == expected
    assert q.format is fmt


INVALID = [
    pytest.param("", "empty", id="empty"),
    pytest.param("1.2.3", "format", id="two-points"),
    pytest.param("Gi", "no-digits", id="suffix-only"),
    pytest.param(".", "no-digits", id="point-only"),
    pytest.param("-", "no-digits", id="sign-only"),
    pytest.param("--1", "no-digits", id="double-sign"),
    pytest.param("+-1", "no-digits", id="mixed-signs"),
    pytest.param("1 Gi", "format", id="inner-space"),
    pytest.param(" 1", "format", id="leading-space"),
    pytest.param("1 ", "format", id="trailing-space"),
    pytest.param("1\n", "format", id="trailing-newline"),
    pytest.param("1gi", "format", id="lowercase-binary"),
    pytest.param("1K", "suffix", id="capital-k"),
    pytest.param("1ki", "suffix", id="kilo-with-i"),
    pytest.param("1i", "suffix", id="bare-i"),
    pytest.param(".5i", "suffix", id="fraction-bare-i"),
    pytest.param("1mm", "suffix", id="doubled-suffix"),
    pytest.param("1e", "suffix", id="exponent-without-digits"),
    pytest.param("1e-", "suffix", id="exponent-sign-only"),
    pytest.param("1ee3", "suffix", id="doubled-e"),
    pytest.param("1Ee3", "suffix", id="exa-then-exponent"),
    pytest.param("1m3", "suffix", id="digits-after-suffix"),
    pytest.param("1Mi5", "suffix", id="digits-after-binary-suffix"),
    pytest.param("1-", "suffix", id="trailing-sign"),
    pytest.param("1e3m", "format", id="suffix-after-exponent"),
    pytest.param("1e3.5", "format", id="fractional-exponent"),
    pytest.param("0x10", "format", id="hex"),
    pytest.param("1_000", "format", id="underscore"),
    pytest.param("aoeu", "format", id="word"),
    pytest.param("\u0661", "format", id="arabic-indic-digit"),
    pytest.param("1e1000", "out-of-range", id="absurd-exponent"),
    pytest.param("1e19", "out-of-range", id="just-above-int64-exponent"),
    pytest.param("9223372036854775808", "out-of-range", id="max-plus-one"),
    pytest.param("-9223372036854775808", "out-of-range", id="min-int64"),
    pytest.param("8Ei", "out-of-range", id="8-exbi"),
    pytest.param("10E", "out-of-range", id="10-exa"),
    pytest.param("1e99999999999999999999", "suffix", id="exponent-beyond-int64"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_parse_invalid(text: str, reason: str) -> None:
    """Malformed or out-of-range text raises QuantityError carrying the text and the reason."""
    with pytest.raises(QuantityError) as caught:
        Quantity.parse(text)
    assert caught.value.text == text
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_parse_rejects_non_strings() -> None:
    """Only text is parsed; numbers go through the manifest reader, not Quantity.parse."""
    with pytest.raises(TypeError):
        Quantity.parse(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        pytest.param("1" + "0" * 100_000, "out-of-range", id="hundred-thousand-digit-integer"),
        pytest.param("1e999999999999999999", "out-of-range", id="huge-exponent"),
        pytest.param("0." + "0" * 100_000 + "1", Fraction(1, 10**9), id="long-fraction-tiny"),
        pytest.param(
            "0." + "1" * 100_000 + "Ei",
            Fraction(math.ceil(Fraction(2**60, 9) * 10**9), 10**9),
            id="long-fraction-times-exbi",
        ),
    ],
)
def test_absurd_inputs_finish_quickly(text: str, outcome: str | Fraction) -> None:
    """Huge digit strings and exponents are decided exactly without building giant numbers."""
    start = time.perf_counter()
    if isinstance(outcome, str):
        with pytest.raises(QuantityError) as caught:
            Quantity.parse(text)
        assert caught.value.reason == outcome
    else:
        assert Quantity.parse(text).fraction == outcome
    assert time.perf_counter() - start < 1.0


ROUNDING = [
    pytest.param("1.5", 2, 1500, id="one-and-a-half"),
    pytest.param("0.0001", 1, 1, id="tenth-of-a-milli"),
    pytest.param("1001m", 2, 1001, id="1001m"),
    pytest.param("1", 1, 1000, id="one"),
    pytest.param("0", 0, 0, id="zero"),
    pytest.param("100m", 1, 100, id="100m"),
    pytest.param("1n", 1, 1, id="one-nano"),
    pytest.param("1500u", 1, 2, id="micro-rounds-milli-up"),
    pytest.param("-1.5", -2, -1500, id="negative-away-from-zero"),
    pytest.param("-1n", -1, -1, id="negative-nano"),
    pytest.param("0.1Ki", 103, 102400, id="fractional-kibi"),
    pytest.param("9223372036854775807", MAX_VALUE, MAX_VALUE * 1000, id="max-exact-milli"),
]


@pytest.mark.parametrize(("text", "value", "milli"), ROUNDING)
def test_value_and_milli_value_round_away_from_zero(text: str, value: int, milli: int) -> None:
    """value() and milli_value() round away from zero, as Value() and MilliValue() do."""
    q = Quantity.parse(text)
    assert q.value() == value
    assert q.milli_value() == milli


CANONICAL = [
    pytest.param("0", "0", id="zero"),
    pytest.param("0Mi", "0", id="zero-binary"),
    pytest.param("1.5", "1500m", id="fraction-to-milli"),
    pytest.param("1.08", "1080m", id="1080m"),
    pytest.param("0.1m", "100u", id="to-micro"),
    pytest.param("1000000000", "1G", id="to-giga"),
    pytest.param("1000M", "1G", id="mega-to-giga"),
    pytest.param("1234567M", "1234567M", id="keeps-digits"),
    pytest.param("3000", "3k", id="to-kilo"),
    pytest.param("300M", "300M", id="already-canonical"),
    pytest.param("1024Mi", "1Gi", id="to-gibi"),
    pytest.param("1024", "1024", id="decimal-stays-decimal"),
    pytest.param("1.5Gi", "1536Mi", id="fractional-gibi"),
    pytest.param("1.5Ki", "1536", id="binary-without-factor"),
    pytest.param("0.5Ki", "512", id="binary-below-1ki-prints-decimal"),
    pytest.param("0.1Ki", "102400m", id="binary-fraction-prints-decimal"),
    pytest.param("6144", "6144", id="decimal-6144"),
    pytest.param("-2Ki", "-2Ki", id="negative-binary"),
    pytest.param("1e3", "1e3", id="exponent"),
    pytest.param("1.5e3", "1500", id="exponent-to-integer"),
    pytest.param("1E-2", "10e-3", id="exponent-multiple-of-three"),
    pytest.param("100e-3", "100e-3", id="exponent-keeps-trailing-zeros"),
    pytest.param("1000000e10", "10e15", id="large-exponent"),
    pytest.param("0.0000000001", "1n", id="rounded-up"),
    pytest.param("-1.5", "-1500m", id="negative-fraction"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_str_is_kubernetes_canonical_form(text: str, canonical: str) -> None:
    """str() prints the canonical form Kubernetes prints (Quantity.String)."""
    assert str(Quantity.parse(text)) == canonical


def test_repr_shows_canonical_text() -> None:
    """repr() names the type and the canonical text."""
    assert repr(Quantity.parse("1.5")) == 'Quantity("1500m")'


class TestValueSemantics:
    def test_equality_ignores_format(self) -> None:
        """1Ki equals 1024 and they hash alike, as Cmp compares values only."""
        assert Quantity.parse("1Ki") == Quantity.parse("1024")
        assert hash(Quantity.parse("1Ki")) == hash(Quantity.parse("1.024k"))
        assert len({Quantity.parse("1"), Quantity.parse("1000m"), Quantity.parse("1e0")}) == 1

    def test_ordering(self) -> None:
        """Quantities order by value across formats."""
        qs = [Quantity.parse(t) for t in ("1Gi", "500m", "-1", "1G", "0")]
        assert [str(q) for q in sorted(qs)] == ["-1", "0", "500m", "1G", "1Gi"]
        assert Quantity.parse("1") <= Quantity.parse("1000m") < Quantity.parse("1001m")
        assert Quantity.parse("2") > Quantity.parse("1") >= Quantity.parse("1")

    def test_not_equal_to_plain_numbers(self) -> None:
        """A quantity never equals an int: units must be explicit."""
        assert Quantity.parse("1") != 1

    def test_ordering_against_other_types_raises(self) -> None:
        """Ordering a quantity against a number is a TypeError, not a silent answer."""
        with pytest.raises(TypeError):
            _ = Quantity.parse("1") < 2  # type: ignore[operator]

    def test_immutable(self) -> None:
        """Attributes cannot be assigned."""
        q = Quantity.parse("1")
        with pytest.raises(AttributeError):
            q._value = Fraction(2)
        with pytest.raises(AttributeError):
            q.format = QuantityFormat.BINARY_SI  # type: ignore[misc]

    def test_copy_and_pickle_round_trip(self) -> None:
        """Copies and pickles give an equal quantity with the same format."""
        q = Quantity.parse("1.5Gi")
        for clone in (copy.copy(q), copy.deepcopy(q), pickle.loads(pickle.dumps(q))):
            assert clone == q
            assert str(clone) == "1536Mi"

    def test_addition_is_exact_and_keeps_left_format(self) -> None:
        """Sums are exact and take the left operand's format, as Quantity.Add does."""
        total = Quantity.parse("1Gi") + Quantity.parse("512Mi")
        assert total == Quantity.parse("1.5Gi")
        assert str(total) == "1536Mi"
        assert str(Quantity.parse("1") + Quantity.parse("1Ki")) == "1025"

    def test_addition_onto_zero_takes_right_format(self) -> None:
        """Accumulating from zero prints in the first term's format (2Gi, not 2147483648)."""
        assert str(ZERO + Quantity.parse("2Gi")) == "2Gi"

    def test_subtraction_and_negation(self) -> None:
        """Subtraction and negation are exact."""
        assert Quantity.parse("1") - Quantity.parse("250m") == Quantity.parse("750m")
        assert -Quantity.parse("1.5") == Quantity.parse("-1.5")

    def test_sums_beyond_the_parse_limit_stay_exact(self) -> None:
        """Arithmetic is not capped: the limit applies to parsed input only."""
        big = Quantity.parse("7Ei")
        total = big + big
        assert total.fraction == 14 * 2**60
        assert str(Quantity.parse("9E") + Quantity.parse("9E")) == "18E"

    def test_is_zero(self) -> None:
        """is_zero is true for any spelling of zero only."""
        assert Quantity.parse("0Mi").is_zero()
        assert not Quantity.parse("1n").is_zero()

    def test_constructor_takes_exact_values(self) -> None:
        """The constructor takes an int or Fraction with a format."""
        assert Quantity(1024, BIN) == Quantity.parse("1Ki")
        assert str(Quantity(2048, BIN)) == "2Ki"
        assert str(Quantity(Fraction(1, 2))) == "500m"

    def test_constructor_refuses_sub_nano_values(self) -> None:
        """A value finer than 1n cannot be built directly (parse would round, callers must not)."""
        with pytest.raises(QuantityError) as caught:
            Quantity(Fraction(1, 10**10))
        assert caught.value.reason == "precision"

    def test_max_milli_value_matches_kubernetes(self) -> None:
        """MAX_MILLI_VALUE is resource.MaxMilliValue, (2^63-1)/1000."""
        assert MAX_MILLI_VALUE == 9_223_372_036_854_775

    def test_error_message_names_text_and_reason(self) -> None:
        """The message quotes the text like Go's %q and carries the detail."""
        with pytest.raises(QuantityError) as caught:
            Quantity.parse("1K")
        assert str(caught.value) == 'invalid quantity "1K": unknown suffix "K"'
        assert caught.value.detail == 'unknown suffix "K"'


# -- properties --------------------------------------------------------------------------------

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_digits = st.text("0123456789", max_size=25)


@st.composite
def _suffixes(draw: st.DrawFn) -> tuple[str, Fraction]:
    kind = draw(st.sampled_from(["decimal", "binary", "exponent"]))
    if kind == "decimal":
        s = draw(st.sampled_from(sorted(_DECIMAL)))
        return s, Fraction(10) ** _DECIMAL[s]
    if kind == "binary":
        s = draw(st.sampled_from(sorted(_BINARY)))
        return s, Fraction(2) ** _BINARY[s]
    e = draw(st.integers(-40, 25))
    letter = draw(st.sampled_from("eE"))
    sign = "+" if e >= 0 and draw(st.booleans()) else ""
    return f"{letter}{sign}{e}", Fraction(10) ** e


@st.composite
def _quantity_texts(draw: st.DrawFn) -> tuple[str, Fraction | None]:
    """A grammatical quantity and its value by an independent oracle (None: out of range)."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(_digits)
    frac = draw(st.none() | st.text("0123456789", max_size=90))
    if not whole and not frac:
        whole = "0"
    suffix, multiplier = draw(_suffixes())
    text = f"{sign}{whole}" + ("" if frac is None else f".{frac}") + suffix
    magnitude = Fraction(f"{whole or '0'}.{frac or '0'}") * multiplier
    # Kubernetes' inf.RoundUp to nano-units, on the magnitude.
    rounded = Fraction(math.ceil(magnitude * 10**9), 10**9)
    if rounded > MAX_VALUE:
        return text, None
    return text, -rounded if sign == "-" else rounded


@given(_quantity_texts())
def test_parse_matches_an_exact_oracle(case: tuple[str, Fraction | None]) -> None:
    """Parsing agrees with exact rational arithmetic rounded up to 1n, or reports out-of-range."""
    text, expected = case
    if expected is None:
        with pytest.raises(QuantityError) as caught:
            Quantity.parse(text)
        assert caught.value.reason == "out-of-range"
    else:
        assert Quantity.parse(text).fraction == expected


@given(_quantity_texts())
def test_str_reparses_to_the_same_quantity(case: tuple[str, Fraction | None]) -> None:
    """str(q) parses back to q, and printing that again gives the same text."""
    text, expected = case
    if expected is None:
        return
    q = Quantity.parse(text)
    again = Quantity.parse(str(q))
    assert again == q
    assert str(again) == str(q)


@given(_quantity_texts(), _quantity_texts())
def test_addition_and_order_agree_with_fractions(
    a: tuple[str, Fraction | None], b: tuple[str, Fraction | None]
) -> None:
    """Sums and comparisons are those of the exact values."""
    if a[1] is None or b[1] is None:
        return
    qa, qb = Quantity.parse(a[0]), Quantity.parse(b[0])
    assert (qa + qb).fraction == a[1] + b[1]
    assert (qa < qb) == (a[1] < b[1])
    assert (qa == qb) == (a[1] == b[1])
