"""SQLite's conversions between text and floating point, bit for bit.

SQLite (3.40, as the sqlite3 module ships it) parses decimal text (``sqlite3AtoF``) and prints floats
(``printf``: ``%!.15g`` for CAST(x AS TEXT), ``%.*f`` for round()) computing in the x87 80-bit long
double. Python's float() and '%g' are correctly rounded and differ in the last bit or digit for a few
values in a thousand, so the long double arithmetic is emulated here exactly with integers: a long
double is a pair ``(n, e)`` standing for n * 2**e with n < 2**64.
"""
import math
import re

INT_MAX = (1 << 63) - 1
_INF = float("inf")

# ---------------------------------------------------------------------------------------------------
# long double arithmetic (values >= 0)


def _rnd(n, e, bits=64):
    """Round n * 2**e to ``bits`` significant bits, ties to even (n may carry a sticky low bit)."""
    b = n.bit_length()
    if b <= bits:
        return n, e
    sh = b - bits
    q = n >> sh
    rem = n - (q << sh)
    half = 1 << (sh - 1)
    if rem > half or (rem == half and q & 1):
        q += 1
        if q.bit_length() > bits:
            q >>= 1
            sh += 1
    return q, e + sh


def _ld(x):
    n, d = x.as_integer_ratio()
    return n, 1 - d.bit_length()


def _mul(a, b):
    return _rnd(a[0] * b[0], a[1] + b[1])


def _add(a, b):
    (n1, e1), (n2, e2) = a, b
    if e1 > e2:
        return _rnd((n1 << (e1 - e2)) + n2, e2)
    return _rnd(n1 + (n2 << (e2 - e1)), e1)


def _sub(a, b):                     # a >= b
    (n1, e1), (n2, e2) = a, b
    if e1 > e2:
        return _rnd((n1 << (e1 - e2)) - n2, e2)
    return _rnd(n1 - (n2 << (e2 - e1)), e1)


def _div(a, b):
    (n1, e1), (n2, e2) = a, b
    k = max(0, 67 - n1.bit_length() + n2.bit_length())
    q, r = divmod(n1 << k, n2)
    return _rnd(q * 2 + (1 if r else 0), e1 - e2 - k - 1)


def _ge(a, b):
    (n1, e1), (n2, e2) = a, b
    if e1 > e2:
        return (n1 << (e1 - e2)) >= n2
    return n1 >= (n2 << (e2 - e1))


def _trunc(a):
    n, e = a
    return n << e if e >= 0 else n >> -e


def _dbl(a):
    """Round a long double (n, e) to a double, as the FPU does (subnormals and overflow included)."""
    n, e = a
    if not n:
        return 0.0
    msb = n.bit_length() + e - 1
    bits = 53 if msb >= -1022 else 53 - (-1022 - msb)
    if bits < 1:
        return 5e-324 if bits == 0 and n > (1 << (n.bit_length() - 1)) else 0.0
    n, e = _rnd(n, e, bits)
    try:
        return math.ldexp(n, e)
    except OverflowError:
        return _INF


_C = {x: _ld(x) for x in (1e100, 1e10, 10.0, 1e-8, 1e8, 1.0, 0.1, 3e-16, 1e22)}
_ROUND = (5.0e-01, 5.0e-02, 5.0e-03, 5.0e-04, 5.0e-05, 5.0e-06, 5.0e-07, 5.0e-08, 5.0e-09, 5.0e-10)


def sqlite_float_format(r, precision, kind="g", alt2=False):
    """SQLite's printf of a float for ``%.<precision>f`` (kind "f"), ``%e`` ("e") or ``%g`` ("g"),
    with the "!" flag when alt2; inf prints as Inf."""
    if r != r:
        return "NaN"
    prefix = "-" if r < 0 else ""
    a = -r if r < 0 else r
    if kind == "g" and precision > 0:
        precision -= 1
    idx = precision & 0xfff
    rounder = _ROUND[idx % 10]
    while idx >= 10:
        rounder *= 1.0e-10
        idx -= 10
    v = _ld(a) if a != _INF else None
    if v is None:
        return prefix + "Inf"
    if kind == "f":
        ex = (math.frexp(a)[1] - 1) if a else -1023
        if precision + int(ex / 3) < 15:
            rounder = _dbl(_add(_ld(rounder), _mul(v, _C[3e-16])))
        v = _add(v, _ld(rounder))
    exp = 0
    if v[0]:
        scale = _C[1.0]
        while _ge(v, _mul(_C[1e100], scale)) and exp <= 350:
            scale = _mul(scale, _C[1e100])
            exp += 100
        while _ge(v, _mul(_C[1e10], scale)) and exp <= 350:
            scale = _mul(scale, _C[1e10])
            exp += 10
        while _ge(v, _mul(_C[10.0], scale)) and exp <= 350:
            scale = _mul(scale, _C[10.0])
            exp += 1
        v = _div(v, scale)
        while not _ge(v, _C[1e-8]):
            v = _mul(v, _C[1e8])
            exp -= 8
        while not _ge(v, _C[1.0]):
            v = _mul(v, _C[10.0])
            exp -= 1
        if exp > 350:
            return prefix + "Inf"
    if kind != "f":
        v = _add(v, _ld(rounder))
        if _ge(v, _C[10.0]):
            v = _mul(v, _C[0.1])
            exp += 1
    rtz = kind == "g" and alt2 or kind == "g"
    if kind == "g":
        if exp < -4 or exp > precision:
            kind = "e"
        else:
            precision -= exp
            kind = "f"
    elif kind == "f":
        rtz = alt2
    e2 = 0 if kind == "e" else exp
    nsd = [16 + alt2 * 10]

    def digit():
        nonlocal v
        if nsd[0] <= 0:
            return "0"
        nsd[0] -= 1
        d = _trunc(v)
        if v[0]:
            v = _mul(_sub(v, (d, 0)) if d else v, _C[10.0])
        return chr(48 + d)

    out = []
    if e2 < 0:
        out.append("0")
    else:
        for _ in range(e2 + 1):
            out.append(digit())
    dp = precision > 0 or alt2
    if dp:
        out.append(".")
    e2 = (e2 if e2 < 0 else -1) + 1
    while e2 < 0:
        out.append("0")
        precision -= 1
        e2 += 1
    for _ in range(max(precision, 0)):
        out.append(digit())
    s = "".join(out)
    if rtz and dp:
        s = s.rstrip("0")
        if s.endswith("."):
            s = s + "0" if alt2 else s[:-1]
    if kind == "e":
        s += "e%s%02d" % ("-" if exp < 0 else "+", abs(exp))
    return prefix + s


_SIG = re.compile(r"[1-9][0-9]*")


def real_to_text(r):
    """A float as SQLite prints it (``%!.15g``): 1.0 -> '1.0', 1e20 -> '1.0e+20', inf -> 'Inf'."""
    if r == 0:
        return "0.0"
    rp = repr(r)
    sig = _SIG.search(rp.split("e")[0].replace(".", ""))
    if sig is None or len(sig.group().rstrip("0")) > 15:
        return sqlite_float_format(r, 15, "g", True)
    s = "%.15g" % r
    if "e" in s:
        m, e = s.split("e")
        return (m if "." in m else m + ".0") + "e" + e
    return s if "." in s else s + ".0"


def sqlite_round(r, n):
    """SQLite's round(r, n) for a float r and digits n (0..30): printf('%.*f') then AtoF."""
    if r < -4503599627370496.0 or r > 4503599627370496.0:
        return r
    if n == 0:
        return float(int(r + (-0.5 if r < 0 else 0.5)))
    return atof(sqlite_float_format(r, n, "f"))[1]


# ---------------------------------------------------------------------------------------------------
# text -> number

_NUM = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]*)(\.[0-9]*)?([eE][+-]?([0-9]*))?[ \t\n\v\f\r]*")


def atof(s):
    """sqlite3AtoF: ``(rc, value)``; rc 1 = pure integer text, 2+ = pure real text, -1 = a real
    prefix, 0 = no number (value is then the value of an integer prefix, possibly 0)."""
    m = _NUM.match(s)
    sign, ip, fp, ex, ed = m.groups()
    ndig = len(ip) + (len(fp) - 1 if fp else 0)
    if not ndig:
        return 0, (-0.0 if sign == "-" else 0.0)
    evalid = ex is None or bool(ed)
    etype = 1 + (fp is not None) + (ex is not None)
    r = _atof_value(sign, ip, fp[1:] if fp else "", ex[1:2] if ex else "", ed if ex and evalid else "")
    if m.end() == len(s) and evalid:
        return etype, r
    if etype >= 2 and (etype == 3 or evalid):
        return -1, r
    return 0, r


_SIG_LIM = (INT_MAX - 9) // 10


_POW10 = {}


def _pow10(e):
    """sqlite3Pow10: 10**e by repeated squaring in long double."""
    r = _POW10.get(e)
    if r is None:
        x, r, k = _C[10.0], _C[1.0], e
        while True:
            if k & 1:
                r = _mul(r, x)
            k >>= 1
            if k == 0:
                break
            x = _mul(x, x)
        _POW10[e] = r
    return r


def _atof_value(sign, ip, fp, esign_ch, ed):
    """The double sqlite3AtoF computes (in 80-bit long double) for a parsed decimal number."""
    sig, d = 0, 0
    for i, ch in enumerate(ip):
        sig = sig * 10 + ord(ch) - 48
        if sig >= _SIG_LIM:
            d += len(ip) - i - 1
            break
    for ch in fp:
        if sig < _SIG_LIM:
            sig = sig * 10 + ord(ch) - 48
            d -= 1
    e = (int(ed) if len(ed) <= 5 else 10000) if ed else 0
    e = (-e if esign_ch == "-" else e) + d
    neg = sign == "-"
    if sig == 0:
        return -0.0 if neg else 0.0
    esign = -1 if e < 0 else 1
    e = abs(e)
    while e > 0:
        if esign > 0:
            if sig >= INT_MAX // 10:
                break
            sig *= 10
        else:
            if sig % 10:
                break
            sig //= 10
        e -= 1
    if e == 0:
        r = float(sig)
    elif e > 307:
        if e < 342:
            scale = _pow10(e - 308)
            if esign < 0:
                r = _dbl(_div((sig, 0), scale)) / 1.0e308
            else:
                r = _dbl(_mul((sig, 0), scale)) * 1.0e308
        else:
            r = 0.0 if esign < 0 else _INF
    else:
        scale = _pow10(e)
        r = _dbl(_div((sig, 0), scale) if esign < 0 else _mul((sig, 0), scale))
    return -r if neg else r
