"""SQL values with SQLite's semantics.

Values are SQLite's storage classes only: ``None`` (NULL), ``int`` (signed 64-bit), ``float``, ``str``
and ``bytes``; booleans are the ints 0 and 1. This module holds the rules every layer shares: ordering
(NULL < numbers < text < blob, ints and floats compared numerically), SQLite's text/number conversions
(exactly as SQLite computes them: see :mod:`rome.sql.semantics.floats`), column affinity on store, CAST, and truth.
"""
import datetime
import decimal
import re
from operator import itemgetter

from rome.errors import DataError, ProgrammingError
from rome.sql.catalog import affinity as type_affinity
from rome.sql.semantics.floats import atof, real_to_text, sqlite_float_format, sqlite_round  # noqa: F401 (re-exported)

INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1
_NONE = type(None)
_RANK = {_NONE: 0, int: 1, float: 1, bool: 1, str: 2, bytes: 3}
_INF = float("inf")

# ---------------------------------------------------------------------------------------------------
# ordering


def sort_key(v):
    """Key ordering values as SQLite does: NULL < numbers (int/float numerically) < text < blob."""
    return (_RANK[type(v)], v)


_FOLD = {c: c + 32 for c in range(65, 91)}


def fold_nocase(v):
    """SQLite's NOCASE collation applied to a value (ASCII letters only are folded)."""
    return v.translate(_FOLD) if type(v) is str else v


def fold_rtrim(v):
    """SQLite's RTRIM collation applied to a value (trailing spaces ignored)."""
    return v.rstrip(" ") if type(v) is str else v


COLLATIONS = ("BINARY", "NOCASE", "RTRIM")
_FOLDS = {None: None, "BINARY": None, "NOCASE": fold_nocase, "RTRIM": fold_rtrim}


def collation_name(name):
    """The canonical name of a collation (None for BINARY); ProgrammingError for an unknown one."""
    c = (name or "BINARY").upper()
    if c not in COLLATIONS:
        raise ProgrammingError("no such collation sequence: %s" % name)
    return None if c == "BINARY" else c


def collation_fold(name):
    """The function that maps a value to its representative under a collation: two values are equal
    under it exactly when their folds are equal, and ordered as their folds are (None for BINARY)."""
    return _FOLDS[name]


def collation_folds(collations):
    """Per value of a row or key, the fold of its collation; None when all are BINARY (no work)."""
    folds = [_FOLDS[c] for c in collations]
    return folds if any(folds) else None


def fold_values(folds, values):
    """values with each folded by its collation (``folds`` from :func:`collation_folds`)."""
    return tuple([v if f is None else f(v) for f, v in zip(folds, values)])


_LAST = {**_RANK, _NONE: 4}


def _key_function(desc, nulls_first, collation):
    c = collation_name(collation)
    flip = nulls_first is not None and bool(nulls_first) == bool(desc)   # NULLs away from SQLite's default
    rank = _LAST if flip else _RANK
    if c == "NOCASE":
        return lambda v: (rank[type(v)], v.translate(_FOLD) if type(v) is str else v)
    if c == "RTRIM":
        return lambda v: (rank[type(v)], v.rstrip(" ") if type(v) is str else v)
    return sort_key if not flip else (lambda v: (rank[type(v)], v))


def order_rows(rows, keys):
    """Sort rows (stable) by ``keys``: a list of ``(getter, desc[, nulls_first[, collation]])``, where
    a getter is a function of the row or the position of the value in the row.

    NULLs come first ascending and last descending (SQLite's default) unless nulls_first says
    otherwise (True: NULLS FIRST, False: NULLS LAST, None: default). Returns a list.
    """
    rows = rows if type(rows) is list else list(rows)
    if not keys:
        return rows
    positions = [k[0] for k in keys if type(k[0]) is int]
    keys = [(itemgetter(k[0]) if type(k[0]) is int else k[0], bool(k[1]),
             _key_function(k[1], k[2] if len(k) > 2 else None, k[3] if len(k) > 3 else None)) for k in keys]
    if len({d for _, d, _ in keys}) == 1 and all(sk is sort_key for _, _, sk in keys):
        # Python orders these values as SQLite does as long as no NULL meets another value and no
        # two storage classes meet (ints and floats compare as numbers in both); such a comparison
        # raises TypeError, and the ranked sort below starts again from the rows as they came.
        gs = [g for g, _, _ in keys]
        key = itemgetter(*positions) if len(positions) == len(keys) else \
            gs[0] if len(gs) == 1 else (lambda r: tuple([g(r) for g in gs]))
        try:
            return sorted(rows, key=key, reverse=keys[0][1])
        except TypeError:
            pass
    if len(keys) == 1:
        g, desc, sk = keys[0]
        rows.sort(key=lambda r: sk(g(r)), reverse=desc)
    elif len({d for _, d, _ in keys}) == 1:
        ks = [(g, sk) for g, _, sk in keys]
        rows.sort(key=lambda r: [sk(g(r)) for g, sk in ks], reverse=keys[0][1])
    else:
        for g, desc, sk in reversed(keys):
            rows.sort(key=lambda r, g=g, sk=sk: sk(g(r)), reverse=desc)
    return rows


def cross_lt(a, b):
    """a < b for two non-NULL values of any storage classes (SQLite order)."""
    try:
        return a < b
    except TypeError:
        return _RANK[type(a)] < _RANK[type(b)]


def compare(a, b):
    """-1, 0 or 1 comparing two values in SQLite order; None if either is NULL."""
    if a is None or b is None:
        return None
    if a == b:
        return 0
    try:
        return -1 if a < b else 1
    except TypeError:
        return -1 if _RANK[type(a)] < _RANK[type(b)] else 1


# ---------------------------------------------------------------------------------------------------
# text -> number (sqlite3AtoF / sqlite3Atoi64)

_WS = " \t\n\v\f\r"
_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]*)")


def atoi(s):
    """sqlite3Atoi64 of the integer prefix: ``(value clamped to 64 bits, overflowed)``."""
    sign, d = _INT.match(s).groups()
    if not d:
        return 0, False
    v = int(d)
    if sign == "-":
        v = -v
    if v > INT_MAX:
        return INT_MAX, True
    if v < INT_MIN:
        return INT_MIN, True
    return v, False


def _btext(b):
    return b.decode("latin-1")


def text_to_number(s):
    """The number SQLite's arithmetic uses for a text (longest numeric prefix; 'abc' -> 0)."""
    rc, r = atof(s)
    if rc >= 2 or rc == -1:
        return r
    v, ovf = atoi(s)
    return r if ovf else v


def numeric_twin(v):
    """The other representation of an integral number (1 for 1.0, 1.0 for 1), which encodes to a
    key of its own; None for anything else."""
    t = type(v)
    if t is int:
        f = float(v)
        return f if f == v else None
    if t is float and v.is_integer() and -2 ** 63 <= v < 2 ** 63:
        return int(v)
    return None


def to_number(v):
    """Operand of arithmetic: int or float (text/blob converted as SQLite does); None stays None."""
    t = type(v)
    if t is int or t is float or v is None:
        return v
    if t is str:
        return text_to_number(v)
    if t is bytes:
        return text_to_number(_btext(v))
    return to_number(adapt(v))


def to_int(v):
    """sqlite3VdbeIntValue: floats truncated and clamped, text by its integer prefix; None stays."""
    t = type(v)
    if t is int or v is None:
        return v
    if t is float:
        return real_to_int(v)
    if t is bytes:
        v = _btext(v)
    return atoi(v)[0]


def real_to_int(r):
    if r != r:
        return 0
    if r <= -9.223372036854775808e18:
        return INT_MIN
    if r >= 9.223372036854775807e18:
        return INT_MAX
    return int(r)


def to_real(v):
    """sqlite3VdbeRealValue: a float (text by its numeric prefix); None stays None."""
    t = type(v)
    if t is float or v is None:
        return v
    if t is int:
        return float(v)
    if t is bytes:
        v = _btext(v)
    return atof(v)[1]


def truthy(v):
    """SQL truth of a value for WHERE / CASE / AND: NULL is false, text by its numeric prefix."""
    t = type(v)
    if t is int or t is float:
        return v != 0
    if v is None:
        return False
    if t is bytes:
        v = _btext(v)
    if not v or v[0] not in _NUM_START:
        return False
    return atof(v)[1] != 0.0


_NUM_START = frozenset("0123456789+-." + _WS)


def to_text(v):
    """Text of a value as SQLite converts it (numbers formatted, blobs decoded as UTF-8)."""
    t = type(v)
    if t is str or v is None:
        return v
    if t is int:
        return str(v)
    if t is float:
        return real_to_text(v)
    if t is bytes:
        return v.decode("utf-8", "replace")
    return to_text(adapt(v))


def to_blob(v):
    t = type(v)
    if t is bytes or v is None:
        return v
    return to_text(v).encode("utf-8")


# ---------------------------------------------------------------------------------------------------
# Python values -> storage classes, affinity, CAST


def check_text(s):
    """s, if it can be stored as UTF-8 text; DataError for a lone UTF-16 surrogate (which sqlite3 and
    the MySQL drivers refuse too: stored, it could never be read back as text)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise DataError("text with a lone UTF-16 surrogate (U+%04X at position %d) is not valid "
                        "Unicode: store it as a BLOB or repair it" % (ord(s[e.start]), e.start)) from None
    return s


class InList(tuple):
    """The value of a list parameter (see rome.sql.parse.collapse_lists): the values of one
    ``IN (?, ?, ...)`` run."""
    __slots__ = ()


def adapt(v):
    """Convert a Python parameter value to a storage class, as sqlite3's default adapters do."""
    t = type(v)
    if t is str:
        return v if v.isascii() else check_text(v)
    if t is int:
        if not INT_MIN <= v <= INT_MAX:   # sqlite3 refuses to bind it (OverflowError)
            raise DataError("parameter %d is out of the 64-bit integer range" % v)
        return v
    if v is None or t is bytes:
        return v
    if t is float:
        return None if v != v else v
    if t is bool:
        return int(v)
    if isinstance(v, datetime.datetime):
        return v.isoformat(" ")
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            return None if v.is_nan() else float(v)
        return int(v) if v == v.to_integral_value() and INT_MIN <= v <= INT_MAX else float(v)
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, int):          # int subclasses (IntEnum, numpy ints registering as int)
        return adapt(int(v))
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return check_text(str(v))
    raise ProgrammingError("type %r is not supported as an SQL value" % type(v).__name__)


def _int_affinity(r):
    """sqlite3VdbeIntegerAffinity: a float that is exactly an int (not the extremes) becomes it."""
    if -9.223372036854775808e18 < r < 9.223372036854775807e18 and r == int(r):
        return int(r)
    return r


_MAYBE_NUMBER = re.compile(r"[\s+\-.\d]*[\d.][\s+\-.\deE]*\Z")


def numeric_text(s):
    """applyNumericAffinity: the number a well-formed numeric text stands for, else None."""
    if ":" in s or not _MAYBE_NUMBER.match(s):
        return None   # cheap rejection of what cannot be numeric (times, dates, names)
    rc, r = atof(s)
    if rc <= 0:
        return None
    if rc == 1:
        v, ovf = atoi(s)
        if not ovf:
            return v
    return r


def apply_affinity(value, affinity, column="?"):
    """The value SQLite stores for ``value`` in a column of ``affinity`` (INTEGER, TEXT, BLOB, REAL,
    NUMERIC): text that is not a well-formed number stays text whatever the affinity, as in SQLite
    (a rowid alias refuses it: see :func:`rowid_value`). Ints beyond 64 bits raise DataError."""
    t = type(value)
    if t is not int and t is not str and t is not float and t is not bytes and value is not None:
        if isinstance(value, decimal.Decimal) and affinity == "TEXT":
            return str(value)
        value = adapt(value)
        t = type(value)
    if t is int:
        if not INT_MIN <= value <= INT_MAX:
            raise DataError("integer %d out of 64-bit range for column %s" % (value, column))
        if affinity == "REAL":
            return float(value)
        if affinity == "TEXT":
            return str(value)
        return value
    if t is float:
        if value != value:
            return None
        if affinity == "INTEGER" or affinity == "NUMERIC":
            return _int_affinity(value)
        if affinity == "TEXT":
            return real_to_text(value)
        if affinity == "REAL" and value == 0:
            return 0.0                              # SQLite stores integral reals as integers
        return value
    if t is str:
        if not value.isascii():
            check_text(value)
        if affinity == "TEXT" or affinity == "BLOB":
            return value
        n = numeric_text(value)
        if n is None:
            return value
        if affinity == "REAL":
            return float(n) if n else 0.0
        return _int_affinity(n) if type(n) is float else n
    return value                                    # None, bytes


def affinity_of_type(type_name):
    """Affinity of a type name, as for a declared column type (CAST uses the same rules)."""
    t = (type_name or "").upper()
    if t in ("INTEGER", "TEXT", "BLOB", "REAL", "NUMERIC"):
        return t
    return type_affinity(t)


def numerify(v):
    """CAST(v AS NUMERIC)."""
    t = type(v)
    if t is int or t is float or v is None:
        return v
    s = v if t is str else _btext(v)
    rc, r = atof(s)
    if rc == 0 or rc == 1:
        i, ovf = atoi(s)
        if not ovf:
            return i
    if r == 0.0 or (r == int(r) and -2251799813685248 <= int(r) < 2251799813685248
                    if r == r and r not in (_INF, -_INF) else False):
        return int(r)
    return r


def cast(v, type_name):
    """SQLite ``CAST(v AS type_name)``; type_name may also be an affinity name."""
    if v is None:
        return None
    aff = affinity_of_type(type_name)
    if aff == "INTEGER":
        return to_int(v)
    if aff == "TEXT":
        return to_text(v)
    if aff == "REAL":
        return to_real(v)
    if aff == "BLOB":
        return to_blob(v)
    return numerify(v)


def typeof(v):
    return ("null", "integer", "real", "text", "blob")[
        0 if v is None else 1 if type(v) is int else 2 if type(v) is float else 3 if type(v) is str else 4]
