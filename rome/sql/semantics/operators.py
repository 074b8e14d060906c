"""SQL operators with SQLite's semantics, as called by compiled expressions.

Comparison affinity, three-valued logic helpers, subquery results, arithmetic (64-bit ints overflowing
to floats, text operands converted as SQLite does), bitwise operators, ``||``, and LIKE (ASCII
case-insensitive, ESCAPE), GLOB and REGEXP with compiled-pattern caches.
"""
import re

from rome.errors import DataError
from rome.sql.semantics import values as V
from rome.sql.semantics.values import INT_MAX, INT_MIN, to_int, to_number, to_real, to_text

ASCII_LOWER = {c: c + 32 for c in range(65, 91)}

# ---------------------------------------------------------------------------------------------------
# affinity and logic helpers used by compiled expressions


def numeric_affinity(v):
    """NUMERIC affinity applied for a comparison: well-formed numeric text becomes a number."""
    if type(v) is str:
        n = V.numeric_text(v)
        return v if n is None else n
    return v


def text_affinity(v):
    t = type(v)
    return to_text(v) if t is int or t is float else v


def membership_set(v, convert, fold):
    """The set of a list parameter's values (``v``: an InList, or one value bound by name), each
    converted and folded as a comparison with the left operand would; NULL stays in as None."""
    vals = v if type(v) is V.InList else (v,)
    if convert is not None:
        vals = map(convert, vals)
    if fold is not None:
        vals = map(fold, vals)
    return frozenset(vals)


def bool3(v):
    return None if v is None else (1 if V.truthy(v) else 0)


def first_value(rows):
    for r in rows:
        return r[0]
    return None


def exists(rows):
    for _ in rows:
        return 1
    return 0


_IN_MEMO = (None, None, None)


def in_rows(v, rows):
    """v IN (subquery rows), with SQL NULL semantics."""
    global _IN_MEMO
    memo = _IN_MEMO
    if memo[0] is rows:
        s, hasnull = memo[1], memo[2]
    else:
        if not isinstance(rows, (list, tuple)):
            rows = list(rows)
        s = {r[0] for r in rows}
        hasnull = None in s
        s.discard(None)
        if len(rows) > 8:
            _IN_MEMO = (rows, s, hasnull)
    if not s and not hasnull:
        return 0
    if v is None:
        return None
    return 1 if v in s else (None if hasnull else 0)


def row_in(vals, rows):
    """(a, b, ...) IN (rows): 1 if some row equals, else NULL if some row might, else 0."""
    maybe = False
    for r in rows:
        null = False
        for a, b in zip(vals, r):
            if a is None or b is None:
                null = True
            elif a != b:
                break
        else:
            if not null:
                return 1
            maybe = True
    return None if maybe else 0


# ---------------------------------------------------------------------------------------------------
# arithmetic


def _fp(r):
    return None if r != r else r


def add(a, b):
    if type(a) is int and type(b) is int:
        r = a + b
        return r if INT_MIN <= r <= INT_MAX else float(a) + float(b)
    if a is None or b is None:
        return None
    na, nb = to_number(a), to_number(b)
    if type(na) is int and type(nb) is int:
        return add(na, nb)
    return _fp(to_real(a) + to_real(b))


def sub(a, b):
    if type(a) is int and type(b) is int:
        r = a - b
        return r if INT_MIN <= r <= INT_MAX else float(a) - float(b)
    if a is None or b is None:
        return None
    na, nb = to_number(a), to_number(b)
    if type(na) is int and type(nb) is int:
        return sub(na, nb)
    return _fp(to_real(a) - to_real(b))


def mul(a, b):
    if type(a) is int and type(b) is int:
        r = a * b
        return r if INT_MIN <= r <= INT_MAX else float(a) * float(b)
    if a is None or b is None:
        return None
    na, nb = to_number(a), to_number(b)
    if type(na) is int and type(nb) is int:
        return mul(na, nb)
    return _fp(to_real(a) * to_real(b))


def div(a, b):
    if a is None or b is None:
        return None
    na, nb = to_number(a), to_number(b)
    if type(na) is int and type(nb) is int:
        if nb == 0:
            return None
        if nb == -1 and na == INT_MIN:
            return float(na) / -1.0
        q = na // nb
        if q < 0 and q * nb != na:
            q += 1
        return q
    rb = to_real(b)
    if rb == 0:
        return None
    return _fp(to_real(a) / rb)


def _crem(a, b):
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def mod(a, b):
    if a is None or b is None:
        return None
    na, nb = to_number(a), to_number(b)
    if type(na) is int and type(nb) is int:
        if nb == 0:
            return None
        return 0 if nb == -1 else _crem(na, nb)
    ia, ib = to_int(a), to_int(b)
    if ib == 0:
        return None
    return float(_crem(ia, 1 if ib == -1 else ib))


def negate(v):
    return sub(0, v)


def _wrap64(x):
    x &= 0xFFFFFFFFFFFFFFFF
    return x - (1 << 64) if x >= 1 << 63 else x


def bit_and(a, b):
    return None if a is None or b is None else to_int(a) & to_int(b)


def bit_or(a, b):
    return None if a is None or b is None else to_int(a) | to_int(b)


def bit_not(a):
    return None if a is None else ~to_int(a)


def _shift(a, b, left):
    if a is None or b is None:
        return None
    a, b = to_int(a), to_int(b)
    if b == 0:
        return a
    if b < 0:
        left = not left
        b = -b if b > -64 else 64
    if b >= 64:
        return 0 if a >= 0 or left else -1
    return _wrap64(a << b) if left else a >> b


def shift_left(a, b):
    return _shift(a, b, True)


def shift_right(a, b):
    return _shift(a, b, False)


def concat_op(a, b):
    if type(a) is str and type(b) is str:
        return a + b
    if a is None or b is None:
        return None
    if type(a) is bytes or type(b) is bytes:     # SQLite joins the bytes, then reads them as UTF-8
        return (utf8(a) + utf8(b)).decode("utf-8", "replace")
    return to_text(a) + to_text(b)


def utf8(v):
    return v if type(v) is bytes else to_text(v).encode("utf-8")


CASTS = {"INTEGER": to_int, "TEXT": to_text, "REAL": to_real, "BLOB": V.to_blob, "NUMERIC": V.numerify}

# ---------------------------------------------------------------------------------------------------
# LIKE / GLOB / REGEXP

_RX_CACHE = {}
_NEVER = re.compile(r"(?!)").fullmatch


def _fold(s):
    return s.lower() if s.isascii() else s.translate(ASCII_LOWER)


def _like_rx(pattern, esc):
    """A function text -> truth for LIKE pattern with escape esc (ASCII case-insensitive)."""
    key = ("l", pattern, esc)
    rx = _RX_CACHE.get(key)
    if rx is None:
        out, lits, i, n = [], [], 0, len(pattern)
        while i < n:
            c = pattern[i]
            if c == "%":
                out.append(".*")
                lits.append(None)
            elif c == esc:
                i += 1
                if i >= n:
                    out = None
                    break
                out.append(re.escape(pattern[i]))
                lits.append(pattern[i])
            elif c == "_":
                out.append(".")
                lits.append(0)
            else:
                out.append(re.escape(c))
                lits.append(c)
            i += 1
        rx = _NEVER if out is None else _fast_like(lits) or re.compile("".join(out), re.S | re.I | re.A).fullmatch
        _remember(key, rx)
        if esc is None:
            _LIKE0[pattern] = rx
    return rx


def _fast_like(lits):
    """Plain string tests for the patterns 'lit', 'lit%', '%lit' and '%lit%'."""
    if 0 in lits:
        return None
    lead = bool(lits) and lits[0] is None
    trail = len(lits) > 1 and lits[-1] is None
    core = lits[lead:len(lits) - trail]
    if None in core:
        return None
    lit = _fold("".join(core))
    low = ASCII_LOWER
    if lead and trail:
        return lambda s: lit in (s.lower() if s.isascii() else s.translate(low))
    if lead:
        return lambda s: (s.lower() if s.isascii() else s.translate(low)).endswith(lit)
    if trail:
        return lambda s: (s.lower() if s.isascii() else s.translate(low)).startswith(lit)
    return lambda s: (s.lower() if s.isascii() else s.translate(low)) == lit


def _remember(key, rx):
    if len(_RX_CACHE) > 2000:
        _RX_CACHE.clear()
        _LIKE0.clear()
    _RX_CACHE[key] = rx


def _glob_rx(pattern):
    key = ("g", pattern)
    rx = _RX_CACHE.get(key)
    if rx is None:
        out, i, n = [], 0, len(pattern)
        while i < n:
            c = pattern[i]
            i += 1
            if c == "*":
                out.append(".*")
            elif c == "?":
                out.append(".")
            elif c == "[":
                items, invert = [], False
                if i < n and pattern[i] == "^":
                    invert, i = True, i + 1
                if i < n and pattern[i] == "]":
                    items.append(re.escape("]"))
                    i += 1
                prior = None
                while i < n and pattern[i] != "]":
                    c2 = pattern[i]
                    if c2 == "-" and prior is not None and i + 1 < n and pattern[i + 1] != "]":
                        hi = pattern[i + 1]
                        if prior <= hi:
                            items.append("%s-%s" % (re.escape(prior), re.escape(hi)))
                        prior = None
                        i += 2
                        continue
                    items.append(re.escape(c2))
                    prior = c2
                    i += 1
                if i >= n:                          # unterminated set: matches nothing
                    out = None
                    break
                i += 1
                if items:
                    out.append("[%s%s]" % ("^" if invert else "", "".join(items)))
                else:
                    out.append("." if invert else "(?!)")
            else:
                out.append(re.escape(c))
        rx = _NEVER if out is None else re.compile("".join(out), re.S).fullmatch
        _remember(key, rx)
    return rx


def _regexp_rx(pattern):
    key = ("r", pattern)
    rx = _RX_CACHE.get(key)
    if rx is None:
        try:
            rx = re.compile(pattern).search
        except re.error as e:
            raise DataError("invalid regular expression %r: %s" % (pattern, e)) from None
        _remember(key, rx)
    return rx


def _escape_char(esc):
    esc = to_text(esc)
    if len(esc) != 1:
        raise DataError("ESCAPE expression must be a single character")
    return esc


def pattern_matcher(kind, pattern, esc=None, has_escape=False):
    """A function subject -> 0/1/None for a constant pattern (None when the result is always NULL).

    As SQLite built with SQLITE_LIKE_DOESNT_MATCH_BLOBS: LIKE and GLOB are false if either side is a blob."""
    if kind != "regexp" and type(pattern) is bytes:
        return lambda s: 0
    if pattern is None or (has_escape and esc is None):
        return None if kind == "regexp" else lambda s: 0 if type(s) is bytes else None
    p = pattern if type(pattern) is str else to_text(pattern)
    if kind == "like":
        rx = _like_rx(p, _escape_char(esc) if has_escape else None)
    elif kind == "glob":
        rx = _glob_rx(p)
    else:
        rx = _regexp_rx(p)

    def match(s):
        if s is None:
            return None
        if type(s) is bytes and kind != "regexp":
            return 0
        return 1 if rx(s if type(s) is str else to_text(s)) else 0
    return match


_LIKE0 = {}


def like_matcher(p):
    """The matcher of a LIKE pattern without ESCAPE (p not NULL)."""
    return _LIKE0.get(p) or _like_rx(p if type(p) is str else to_text(p), None)


def like(s, p):
    if type(s) is bytes or type(p) is bytes:
        return 0
    if s is None or p is None:
        return None
    rx = _LIKE0.get(p) or _like_rx(p if type(p) is str else to_text(p), None)
    return 1 if rx(s if type(s) is str else to_text(s)) else 0


def like_escape(s, p, esc):
    if type(s) is bytes or type(p) is bytes:
        return 0
    if s is None or p is None or esc is None:
        return None
    rx = _like_rx(to_text(p), _escape_char(esc))
    return 1 if rx(to_text(s)) else 0


def glob(s, p):
    if type(s) is bytes or type(p) is bytes:
        return 0
    if s is None or p is None:
        return None
    return 1 if _glob_rx(to_text(p))(to_text(s)) else 0


def regexp(s, p):
    if s is None or p is None:
        return None
    return 1 if _regexp_rx(to_text(p))(to_text(s)) else 0


MATCHERS = {"like": like, "glob": glob, "regexp": regexp}
