"""rome.encoding.keycode: round trips, and byte order == SQLite value order."""
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rome.encoding.keycode import (decode_tuple, decode_value, encode_tuple, encode_value,
                                   prefix_end)

INT64 = st.integers(-(1 << 63), (1 << 63) - 1)
BIG = st.integers(-(1 << 63), (1 << 63) - 1).filter(lambda v: abs(v) >= 1 << 53)
NEAR = st.integers(-64, 64).flatmap(lambda d: st.sampled_from(
    [(1 << 53) + d, -(1 << 53) + d, (1 << 63) - 1 + min(d, 0), -(1 << 63) + max(d, 0)]))
FLOATS = st.floats(allow_nan=False)
ROUNDED = NEAR.map(float)  # doubles right next to large integers
VALUES = st.one_of(st.none(), st.booleans(), INT64, BIG, NEAR, FLOATS, ROUNDED, st.text(), st.binary())
EXACT_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 53) + 1, (1 << 53) - 1), FLOATS,
                         st.text(), st.binary())


def sqlite_key(v):
    """SQLite's order: NULL < numbers (compared numerically, exactly) < text (code points) < blob."""
    if v is None:
        return (0, 0)
    if isinstance(v, (bool, int, float)):
        return (1, v)  # Python compares int and float exactly
    if isinstance(v, str):
        return (2, v)
    return (3, bytes(v))


def check_order(a, b):
    ka, kb = sqlite_key(a), sqlite_key(b)
    ea, eb = encode_value(a), encode_value(b)
    if ka < kb:
        assert ea < eb, (a, b)
    elif kb < ka:
        assert eb < ea, (a, b)
    elif type(a) is type(b) or {type(a), type(b)} == {int, bool}:
        assert ea == eb, (a, b)
    else:  # an int equal to a float: distinct keys, but adjacent (same double)
        assert ea[:9] == eb[:9]


@given(VALUES)
def test_round_trip(v):
    enc = encode_value(v)
    out, end = decode_value(enc)
    assert end == len(enc)
    expected = int(v) if type(v) is bool else v
    assert out == expected and type(out) is type(expected)
    if type(v) is float:
        assert math.copysign(1, out) == math.copysign(1, v + 0.0)


@given(st.lists(VALUES, max_size=5))
def test_tuple_round_trip(values):
    expected = tuple(int(v) if type(v) is bool else v for v in values)
    assert decode_tuple(encode_tuple(values)) == expected


@given(EXACT_VALUES, EXACT_VALUES)
def test_order_matches_sqlite(a, b):
    check_order(a, b)


@settings(max_examples=500)
@given(VALUES, VALUES)
@example(2**53 + 3, float(2**53 + 4))
@example(-(2**53 + 5), -float(2**53 + 4))
@example(2**63 - 1, float(2**63))
def test_order_matches_sqlite_large_integers(a, b):
    check_order(a, b)


@given(st.lists(EXACT_VALUES, min_size=1, max_size=3), st.lists(EXACT_VALUES, min_size=1, max_size=3))
def test_tuples_compare_column_by_column(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    # An integer and a float of equal value encode differently (the type is kept), so a tuple that
    # differs only after such a pair orders by the type: the engine never stores both in one column
    # of an index, since probes and stored values take the column's affinity.
    for x, y in zip(a, b):
        if sqlite_key(x) == sqlite_key(y) and type(x) is not type(y) and float in (type(x), type(y)):
            return
    ka, kb = [sqlite_key(v) for v in a], [sqlite_key(v) for v in b]
    ea, eb = encode_tuple(a), encode_tuple(b)
    if ka < kb:
        assert ea < eb
    elif kb < ka:
        assert eb < ea


@given(st.binary(min_size=1), st.binary())
def test_prefix_end(prefix, suffix):
    end = prefix_end(prefix)
    if end is None:
        assert set(prefix) == {0xFF}
    else:
        assert prefix + suffix < end and end > prefix


def test_text_and_blob_escapes():
    for v in ["", "a", "a\x00", "a\x00b", "\x00", "\U0010ffff"]:
        assert decode_value(encode_value(v))[0] == v
    assert encode_value("a") < encode_value("a\x00") < encode_value("a\x01") < encode_value("b")
    assert encode_value(b"") < encode_value(b"\x00") < encode_value(b"\x00\x00") < encode_value(b"\x01")
    # a value is never a prefix of another: tuples order by their first column first
    assert encode_tuple(["a", "z"]) < encode_tuple(["a\x00", ""])


def test_rejects():
    with pytest.raises(ValueError):
        encode_value(float("nan"))
    with pytest.raises(OverflowError):
        encode_value(1 << 63)
    with pytest.raises(TypeError):
        encode_value(object())
