"""Scalar SQL functions with SQLite's semantics, and the registry the expression compiler uses.

Functions take already-evaluated SQL values. :func:`lookup` finds one by its SQLite name
(ProgrammingError for an unknown name or a wrong number of arguments); the date/time and JSON functions
live in :mod:`rome.sql.semantics.datetimes` and :mod:`rome.sql.semantics.jsonfuncs`, operators in :mod:`rome.sql.semantics.operators`.
:func:`make_aggregate` (from :mod:`rome.sql.semantics.aggregates`) gives the planner aggregate accumulators.
"""
import math
import os
import random as _random
import re

from rome.errors import DataError, OperationalError, ProgrammingError
from rome.sql.semantics import datetimes, jsonfuncs
from rome.sql.semantics import values as V
from rome.sql.semantics.aggregates import make_aggregate  # noqa: F401 (the planner imports it from here)
from rome.sql.semantics.operators import ASCII_LOWER
from rome.sql.semantics.values import INT_MAX, INT_MIN, to_int, to_real, to_text

_MISSING = object()
_INF = float("inf")

# ---------------------------------------------------------------------------------------------------
# scalar functions

_UPPER = {c + 32: c for c in range(65, 91)}


def f_lower(v):
    if v is None:
        return None
    s = v if type(v) is str else to_text(v)
    return s.lower() if s.isascii() else s.translate(ASCII_LOWER)


def f_upper(v):
    if v is None:
        return None
    s = v if type(v) is str else to_text(v)
    return s.upper() if s.isascii() else s.translate(_UPPER)


def f_length(v):
    t = type(v)
    if t is str:
        i = v.find("\x00")
        return len(v) if i < 0 else i
    if v is None:
        return None
    return len(v) if t is bytes else len(to_text(v))


def f_octet_length(v):
    if v is None:
        return None
    return len(v) if type(v) is bytes else len(to_text(v).encode("utf-8"))


def f_abs(v):
    t = type(v)
    if t is int:
        if v == INT_MIN:
            raise OperationalError("integer overflow")
        return -v if v < 0 else v
    if v is None:
        return None
    r = to_real(v)
    return -r if r < 0 else r


def f_hex(v):
    if v is None:
        return ""
    return (v if type(v) is bytes else to_text(v).encode("utf-8")).hex().upper()


def f_unhex(v, ignore=None):
    if v is None:
        return None
    s = to_text(v)
    if ignore is not None:
        s = "".join(c for c in s if c not in to_text(ignore))
    try:
        return bytes.fromhex(s) if " " not in s else None
    except ValueError:
        return None


def f_instr(a, b):
    if a is None or b is None:
        return None
    if type(a) is bytes and type(b) is bytes:
        return a.find(b) + 1
    return to_text(a).find(to_text(b)) + 1


def f_replace(x, y, z):
    if x is None or y is None:
        return None
    y = to_text(y)
    if y == "":
        return to_text(x) if type(x) is bytes else x
    return None if z is None else to_text(x).replace(y, to_text(z))


def f_round(x, n=0):
    if n is None or x is None:
        return None
    n = to_int(n)
    return V.sqlite_round(to_real(x), 30 if n > 30 else 0 if n < 0 else n)


def _i32(v):
    return ((to_int(v) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def f_substr(x, y, z=_MISSING):
    if x is None or y is None or z is None:
        return None
    if x == b"":
        return None
    s = x if type(x) is bytes else to_text(x)
    p1 = _i32(y)
    neg = False
    if z is _MISSING:
        p2 = 1000000000
    else:
        p2 = _i32(z)
        if p2 < 0:
            p2, neg = -p2, True
    if p1 < 0:
        p1 += len(s)
        if p1 < 0:
            p2 = max(p2 + p1, 0)
            p1 = 0
    elif p1 > 0:
        p1 -= 1
    elif p2 > 0:
        p2 -= 1
    if neg:
        p1 -= p2
        if p1 < 0:
            p2 += p1
            p1 = 0
    return s[p1:p1 + p2]


def _trim(how):
    def trim(x, chars=" "):
        if x is None or chars is None:
            return None
        s, c = to_text(x), to_text(chars)
        return s.lstrip(c) if how == "l" else s.rstrip(c) if how == "r" else s.strip(c)
    return trim


def f_typeof(v):
    return V.typeof(v)


def _utf8_read(b):
    """sqlite3Utf8Read of the first character of b (bytes, possibly not valid UTF-8)."""
    c = b[0]
    if c < 0xC0:
        return c
    c = (c & 0x1F) if c < 0xE0 else (c & 0x0F) if c < 0xF0 else (c & 0x07) if c < 0xF8 else \
        (c & 0x03) if c < 0xFC else (c & 0x01) if c < 0xFE else 0
    for x in b[1:]:
        if x & 0xC0 != 0x80:
            break
        c = (c << 6) + (x & 0x3F)
    if c < 0x80 or (c & 0xFFFFF800) == 0xD800 or (c & 0xFFFFFFFE) == 0xFFFE:
        return 0xFFFD
    return c


def f_unicode(v):
    if v is None:
        return None
    if type(v) is bytes:
        return _utf8_read(v) if v and v[0] else None
    s = to_text(v)
    return ord(s[0]) if s and s[0] != "\x00" else None


def f_char(*args):
    out = []
    for a in args:
        c = to_int(a) or 0
        out.append(chr(c) if 0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF else "\ufffd")
    return "".join(out)


def _numeric_arg(v):
    t = type(v)
    if t is int or t is float:
        return v
    return V.numeric_text(v) if t is str else None


def f_sign(v):
    x = _numeric_arg(v)
    if x is None:
        return None
    return -1 if x < 0 else 1 if x > 0 else 0


def f_random():
    r = _random.getrandbits(64) - (1 << 63)
    return -(r & INT_MAX) if r < 0 else r


def f_randomblob(n):
    n = to_int(n) or 0
    return os.urandom(n if n > 0 else 1)


def f_zeroblob(n):
    n = to_int(n) or 0
    if n > 1000000000:
        raise DataError("string or blob too big")
    return bytes(n if n > 0 else 0)


def f_quote(v):
    t = type(v)
    if v is None:
        return "NULL"
    if t is int:
        return str(v)
    if t is float:
        s = V.real_to_text(v)
        return s if V.atof(s)[1] == v else V.sqlite_float_format(v, 20, "e", True)
    if t is bytes:
        return "X'%s'" % v.hex().upper()
    return "'%s'" % v.replace("'", "''")


def _minmax(want_max):
    def f(*args):
        best = args[0]
        if best is None:
            return None
        for v in args[1:]:
            if v is None:
                return None
            c = V.compare(best, v)
            if (c < 0) if want_max else (c >= 0):
                best = v
        return best
    return f


def f_concat(*args):
    return "".join(to_text(a) for a in args if a is not None)


def f_concat_ws(sep, *args):
    if sep is None:
        return None
    return to_text(sep).join(to_text(a) for a in args if a is not None)


def _first_arg(x, *_rest):
    return x


def _session_value(*names):
    def f(ctx):
        s = getattr(ctx, "session", None)
        for n in names:
            v = getattr(s, n, None)
            if v is not None:
                return v() if callable(v) else v
        return 0
    return f


_PRINTF = re.compile(r"%([-+ 0#,!]*)(\*|[0-9]*)(?:\.(\*|[0-9]*))?(l{0,2})([a-zA-Z%])")


def f_printf(fmt=None, *args):
    """SQLite's printf()/format() for the common conversions (d i u f e E g G x X o c s q Q w %)."""
    if fmt is None:
        return None
    fmt, args, out, pos = to_text(fmt), list(args), [], 0

    def arg():
        return args.pop(0) if args else None
    for m in _PRINTF.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, _l, conv = m.groups()
        width = to_int(arg()) or 0 if width == "*" else int(width or 0)
        if width < 0:
            flags, width = flags + "-", -width
        prec = (to_int(arg()) or 0) if prec == "*" else (int(prec) if prec else None if prec is None else 0)
        if conv == "%":
            out.append("%")
            continue
        if conv in "diu":
            v = to_int(arg()) or 0
            s = "{:,}".format(abs(v)) if "," in flags else str(abs(v))
            if prec is not None:
                s = s.rjust(prec, "0")
            sign = "-" if v < 0 else "+" if "+" in flags else " " if " " in flags else ""
        elif conv in "xXo":
            v = (to_int(arg()) or 0) & 0xFFFFFFFFFFFFFFFF
            s = format(v, {"x": "x", "X": "X", "o": "o"}[conv])
            if prec is not None:
                s = s.rjust(prec, "0")
            if "#" in flags and v:
                s = {"x": "0x", "X": "0X", "o": "0"}[conv] + s
            sign = ""
        elif conv in "feEgG":
            v = to_real(arg()) or 0.0
            s = V.sqlite_float_format(abs(v), 6 if prec is None else prec, conv.lower(), "!" in flags)
            if conv in "EG":
                s = s.upper().replace("INF", "Inf")
            sign = "-" if v < 0 or (v == 0 and math.copysign(1, v) < 0 and False) else \
                "+" if "+" in flags else " " if " " in flags else ""
        elif conv in "sz":
            v = arg()
            s = "" if v is None else to_text(v)
            if prec is not None:
                s = s[:prec]
            sign = ""
        elif conv == "c":
            v = arg()
            s = (to_text(v) or "")[:1] if v is not None else ""
            s = s * (prec if prec and prec > 1 else 1)
            sign = ""
        elif conv in "qQw":
            v = arg()
            q = '"' if conv == "w" else "'"
            if v is None:
                s = "NULL" if conv == "Q" else "(NULL)"
            else:
                s = to_text(v)
                if prec is not None:
                    s = s[:prec]
                s = s.replace(q, q + q)
                if conv == "Q":
                    s = "'" + s + "'"
            sign = ""
        else:
            break
        body = sign + s
        if len(body) < width:
            if "-" in flags:
                body = body.ljust(width)
            elif "0" in flags and conv not in "sqQwc":
                body = sign + s.rjust(width - len(sign), "0")
            else:
                body = body.rjust(width)
        out.append(body)
    else:
        out.append(fmt[pos:])
    return "".join(out)


# -- math functions (SQLITE_ENABLE_MATH_FUNCTIONS) ----------------------------------------------------

def _math1(fn, overflow=None):
    def f(x):
        x = _numeric_arg(x)
        if x is None:
            return None
        x = float(x)
        try:
            r = fn(x)
        except ValueError:
            return None
        except OverflowError:
            return overflow(x) if overflow else _INF
        return None if r != r else r
    return f


def _rounding(fn):
    def f(x):
        x = _numeric_arg(x)
        if x is None or type(x) is int:
            return x
        return float(fn(x)) if math.isfinite(x) else x
    return f


def f_log(a, b=_MISSING):
    x = _numeric_arg(a)
    if x is None or x <= 0:
        return None
    if b is _MISSING:
        return math.log10(x)
    base = math.log(x)
    y = _numeric_arg(b)
    if base <= 0 or y is None or y <= 0:
        return None
    return math.log(y) / base


def f_pow(a, b):
    x, y = _numeric_arg(a), _numeric_arg(b)
    if x is None or y is None:
        return None
    x, y = float(x), float(y)
    try:
        r = math.pow(x, y)
    except OverflowError:
        return -_INF if x < 0 and y == int(y) and int(y) % 2 else _INF
    except ValueError:
        return _INF if x == 0 and y < 0 else None
    return None if r != r else r


def f_atan2(a, b):
    y, x = _numeric_arg(a), _numeric_arg(b)
    return None if x is None or y is None else math.atan2(y, x)


def f_ln(a):
    x = _numeric_arg(a)
    return None if x is None or x <= 0 else math.log(x)


def _log_base(fn):
    def f(a):
        x = _numeric_arg(a)
        return None if x is None or x <= 0 else fn(x)
    return f


# name -> (impl, min args, max args, needs ctx, volatile)
_REGISTRY = {
    "lower": (f_lower, 1, 1), "upper": (f_upper, 1, 1), "length": (f_length, 1, 1),
    "octet_length": (f_octet_length, 1, 1), "abs": (f_abs, 1, 1), "hex": (f_hex, 1, 1),
    "unhex": (f_unhex, 1, 2), "instr": (f_instr, 2, 2), "replace": (f_replace, 3, 3),
    "round": (f_round, 1, 2), "substr": (f_substr, 2, 3), "substring": (f_substr, 2, 3),
    "trim": (_trim("b"), 1, 2), "ltrim": (_trim("l"), 1, 2), "rtrim": (_trim("r"), 1, 2),
    "typeof": (f_typeof, 1, 1), "unicode": (f_unicode, 1, 1), "char": (f_char, 0, 1000),
    "sign": (f_sign, 1, 1), "quote": (f_quote, 1, 1), "zeroblob": (f_zeroblob, 1, 1),
    "max": (_minmax(True), 2, 1000), "min": (_minmax(False), 2, 1000),
    "concat": (f_concat, 1, 1000), "concat_ws": (f_concat_ws, 2, 1000),
    "printf": (f_printf, 0, 1000), "format": (f_printf, 0, 1000),
    "likely": (_first_arg, 1, 1), "unlikely": (_first_arg, 1, 1), "likelihood": (_first_arg, 2, 2),
    "sqlite_version": (lambda: "3.40.1", 0, 0),
    "random": (f_random, 0, 0, False, True), "randomblob": (f_randomblob, 1, 1, False, True),
    "changes": (_session_value("changes", "rowcount"), 0, 0, True, True),
    "total_changes": (_session_value("total_changes"), 0, 0, True, True),
    "last_insert_rowid": (_session_value("last_insert_rowid", "lastrowid"), 0, 0, True, True),
    "pi": (lambda: math.pi, 0, 0), "sqrt": (_math1(math.sqrt), 1, 1),
    "exp": (_math1(math.exp), 1, 1), "ln": (f_ln, 1, 1), "log": (f_log, 1, 2),
    "log10": (_log_base(math.log10), 1, 1), "log2": (_log_base(math.log2), 1, 1),
    "pow": (f_pow, 2, 2), "power": (f_pow, 2, 2), "atan2": (f_atan2, 2, 2),
    "ceil": (_rounding(math.ceil), 1, 1), "ceiling": (_rounding(math.ceil), 1, 1),
    "floor": (_rounding(math.floor), 1, 1), "trunc": (_rounding(math.trunc), 1, 1),
    "degrees": (_math1(math.degrees), 1, 1), "radians": (_math1(math.radians), 1, 1),
    "sinh": (_math1(math.sinh, lambda x: math.copysign(_INF, x)), 1, 1),
    "cosh": (_math1(math.cosh), 1, 1),
}
for _n in ("acos", "asin", "atan", "cos", "sin", "tan", "tanh", "asinh", "acosh", "atanh"):
    _REGISTRY[_n] = (_math1(getattr(math, _n)), 1, 1)
_REGISTRY.update(datetimes.FUNCTIONS)
_REGISTRY.update(jsonfuncs.FUNCTIONS)
json_extract_quoted = jsonfuncs.json_extract_quoted
CURRENT = datetimes.CURRENT

AGGREGATE_NAMES = {"count", "sum", "avg", "total", "group_concat", "string_agg", "min", "max"}

# sqlglot node class -> SQLite function name (arguments taken in the class's arg_types order)
CLASS_NAMES = {
    "Abs": "abs", "Lower": "lower", "Upper": "upper", "Length": "length", "Hex": "hex", "Unhex": "unhex",
    "Typeof": "typeof", "Unicode": "unicode", "Sign": "sign", "Chr": "char", "Substring": "substr",
    "Replace": "replace", "StrPosition": "instr", "Round": "round", "Least": "min", "Greatest": "max",
    "Rand": "random", "CurrentVersion": "sqlite_version", "Concat": "concat", "ConcatWs": "concat_ws",
    "Format": "printf", "Date": "date", "Ceil": "ceil", "Floor": "floor", "Exp": "exp", "Ln": "ln",
    "Pow": "pow", "Sqrt": "sqrt", "Radians": "radians", "Degrees": "degrees", "Trunc": "trunc",
    "Pi": "pi", "Sin": "sin", "Cos": "cos", "Tan": "tan", "Asin": "asin", "Acos": "acos", "Atan": "atan",
    "Atan2": "atan2", "Sinh": "sinh", "Cosh": "cosh", "Tanh": "tanh", "Asinh": "asinh", "Acosh": "acosh",
    "Atanh": "atanh", "Soundex": "soundex", "JSONType": "json_type", "JSONArray": "json_array",
    "JSONValid": "json_valid", "Count": "count", "Sum": "sum", "Avg": "avg", "Max": "max", "Min": "min",
    "GroupConcat": "group_concat",
}
IGNORED_ARGS = frozenset()


def lookup(name, nargs):
    """(impl, needs_ctx, volatile) for the scalar function ``name`` called with nargs arguments."""
    spec = _REGISTRY.get(name)
    if spec is None:
        if name in AGGREGATE_NAMES:
            raise ProgrammingError("misuse of aggregate function %s()" % name)
        raise ProgrammingError("no such function: %s" % name)
    impl, lo, hi = spec[:3]
    if not lo <= nargs <= hi:
        raise ProgrammingError("wrong number of arguments to function %s()" % name)
    return impl, (spec[3] if len(spec) > 3 else False), (spec[4] if len(spec) > 4 else False)
