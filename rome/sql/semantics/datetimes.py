"""SQLite's date and time functions: date, time, datetime, julianday, unixepoch, strftime.

A port of SQLite 3.40's date.c: times are julian days in milliseconds (``jd``), text is parsed as
YYYY-MM-DD[ HH:MM[:SS[.SSS]]][±HH:MM|Z], HH:MM[:SS[.SSS]], 'now' (the statement's ``ctx.now``, UTC)
or a number, and the modifiers are SQLite's (±N days/hours/minutes/seconds/months/years, ±HH:MM[:SS],
start of day/month/year, weekday N, unixepoch, julianday, auto, localtime, utc).
"""
import datetime as _dt
import re
import struct
import time

from rome.sql.semantics import values as V

_EPOCH_JD = 210866760000000          # unix epoch as a julian day in ms
_UNIX = _dt.datetime(1970, 1, 1)
_MAX_JD = 464269060799999


def _cdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


_XFORM = [("second", _f32(4.6427e14), 1.0), ("minute", _f32(7.7379e12), 60.0), ("hour", _f32(1.2897e11), 3600.0),
          ("day", _f32(5373485.0), 86400.0), ("month", _f32(176546.0), 2592000.0),
          ("year", _f32(14713.0), 31536000.0)]


class DT:
    __slots__ = ("jd", "Y", "M", "D", "h", "m", "s", "tz", "valid_jd", "valid_ymd", "valid_hms", "valid_tz",
                 "raw_s", "tz_set", "error")

    def __init__(self):
        self.jd = self.Y = self.M = self.D = self.h = self.m = self.tz = 0
        self.s = 0.0
        self.valid_jd = self.valid_ymd = self.valid_hms = self.valid_tz = self.raw_s = self.tz_set = False
        self.error = False

    def copy(self):
        d = DT()
        for k in DT.__slots__:
            setattr(d, k, getattr(self, k))
        return d

    def compute_jd(self):
        if self.valid_jd:
            return
        if self.valid_ymd:
            Y, M, D = self.Y, self.M, self.D
        else:
            Y, M, D = 2000, 1, 1
        if Y < -4713 or Y > 9999 or self.raw_s:
            self.error = True
            return
        if M <= 2:
            Y -= 1
            M += 12
        A = _cdiv(Y, 100)
        B = 2 - A + _cdiv(A, 4)
        X1 = _cdiv(36525 * (Y + 4716), 100)
        X2 = _cdiv(306001 * (M + 1), 10000)
        self.jd = int((X1 + X2 + D + B - 1524.5) * 86400000)
        self.valid_jd = True
        if self.valid_hms:
            self.jd += self.h * 3600000 + self.m * 60000 + int(self.s * 1000 + 0.5)
            if self.valid_tz:
                self.jd -= self.tz * 60000
                self.valid_ymd = self.valid_hms = self.valid_tz = False

    def compute_ymd(self):
        if self.valid_ymd:
            return
        if not self.valid_jd:
            self.Y, self.M, self.D = 2000, 1, 1
        elif not 0 <= self.jd <= _MAX_JD:
            self.error = True
            return
        else:
            Z = (self.jd + 43200000) // 86400000
            A = int((Z - 1867216.25) / 36524.25)
            A = Z + 1 + A - _cdiv(A, 4)
            B = A + 1524
            C = int((B - 122.1) / 365.25)
            D = (36525 * (C & 32767)) // 100
            E = int((B - D) / 30.6001)
            X1 = int(30.6001 * E)
            self.D = B - D - X1
            self.M = E - 1 if E < 14 else E - 13
            self.Y = C - 4716 if self.M > 2 else C - 4715
        self.valid_ymd = True

    def compute_hms(self):
        if self.valid_hms:
            return
        self.compute_jd()
        s = (self.jd + 43200000) % 86400000
        self.s = s / 1000.0
        s = int(self.s)
        self.s -= s
        self.h = s // 3600
        s -= self.h * 3600
        self.m = s // 60
        self.s += s - self.m * 60
        self.raw_s = False
        self.valid_hms = True

    def compute_all(self):
        self.compute_ymd()
        self.compute_hms()

    def clear(self):
        self.valid_ymd = self.valid_hms = self.valid_tz = False


_DIGITS = re.compile(r"(\d{2}):(\d{2})")
_SPACE = " \t\n\v\f\r"


def _parse_tz(z, p):
    z = z.lstrip(_SPACE)
    p.tz = 0
    if not z:
        return True
    c = z[0]
    if c in "Zz":
        z = z[1:]
    elif c in "+-":
        m = _DIGITS.match(z, 1)
        if not m or int(m.group(1)) > 14 or int(m.group(2)) > 59:
            return False
        p.tz = (-1 if c == "-" else 1) * (int(m.group(2)) + int(m.group(1)) * 60)
        z = z[6:]
    else:
        return False
    p.tz_set = True
    return not z.lstrip(_SPACE)


_HMS = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?")


def _parse_hms(z, p):
    m = _HMS.match(z)
    if not m:
        return False
    h, mi = int(m.group(1)), int(m.group(2))
    if h > 24 or mi > 59:
        return False
    s = 0.0
    if m.group(3) is not None:
        if int(m.group(3)) > 59:
            return False
        s = float(int(m.group(3)))
        if m.group(4):
            ms, scale = 0.0, 1.0
            for ch in m.group(4):
                ms = ms * 10.0 + (ord(ch) - 48)
                scale *= 10.0
            s += ms / scale
    elif z[5:6] == ":":
        return False
    p.valid_jd = False
    p.raw_s = False
    p.valid_hms = True
    p.h, p.m, p.s = h, mi, s
    if not _parse_tz(z[m.end():], p):
        return False
    p.valid_tz = p.tz != 0
    return True


_YMD = re.compile(r"(-?)(\d{4})-(\d{2})-(\d{2})")


def _parse_ymd(z, p):
    m = _YMD.match(z)
    if not m:
        return False
    Y, M, D = int(m.group(2)), int(m.group(3)), int(m.group(4))
    if not 1 <= M <= 12 or not 1 <= D <= 31:
        return False
    rest = z[m.end():]
    i = 0
    while i < len(rest) and (rest[i] in _SPACE or rest[i] == "T"):
        i += 1
    rest = rest[i:]
    if _parse_hms(rest, p):
        pass
    elif not rest:
        p.valid_hms = False
    else:
        return False
    p.valid_jd = False
    p.valid_ymd = True
    p.Y, p.M, p.D = (-Y if m.group(1) else Y), M, D
    if p.valid_tz:
        p.compute_jd()
    return True


def _set_now(p, ctx):
    now = ctx.now
    if now.tzinfo is not None:
        now = now.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    d = now - _UNIX
    p.jd = _EPOCH_JD + d.days * 86400000 + d.seconds * 1000 + d.microseconds // 1000
    p.valid_jd = True
    return True


def _set_raw(p, r):
    p.s = r
    p.raw_s = True
    if 0.0 <= r < 5373484.5:
        p.jd = int(r * 86400000.0 + 0.5)
        p.valid_jd = True


def _parse(z, p, ctx):
    if _parse_ymd(z, p) or _parse_hms(z, p):
        return True
    if z.lower() == "now":
        return _set_now(p, ctx)
    rc, r = V.atof(z)
    if rc > 0:
        _set_raw(p, r)
        return True
    return False


def _local_offset_ms(p):
    """Offset of local time from UTC (ms) at the instant p."""
    p.compute_jd()
    secs = (p.jd - _EPOCH_JD) // 1000
    secs = min(max(secs, 0), 2 ** 31 - 1)
    return time.localtime(secs).tm_gmtoff * 1000


def _modifier(z, p, idx):
    lz = z.lower()
    c = lz[:1]
    if lz == "auto":
        if idx > 1:
            return False
        if not p.raw_s or p.valid_jd:
            p.raw_s = False
            return True
        if -210866760000 <= p.s <= 253402300799:
            r = p.s * 1000.0 + 210866760000000.0
            p.clear()
            p.jd, p.valid_jd, p.raw_s = int(r + 0.5), True, False
            return True
        return False
    if lz == "julianday":
        if idx > 1:
            return False
        if p.valid_jd and p.raw_s:
            p.raw_s = False
            return True
        return False
    if lz == "localtime":
        p.compute_jd()
        p.jd += _local_offset_ms(p)
        p.clear()
        return True
    if lz == "unixepoch" and p.raw_s:
        if idx > 1:
            return False
        r = p.s * 1000.0 + 210866760000000.0
        if 0.0 <= r < 464269060800000.0:
            p.clear()
            p.jd, p.valid_jd, p.raw_s = int(r + 0.5), True, False
            return True
        return False
    if lz == "utc":
        if not p.tz_set:
            p.compute_jd()
            c1 = _local_offset_ms(p)
            p.jd -= c1
            p.clear()
            p.jd += c1 - _local_offset_ms(p)
            p.tz_set = True
        return True
    if lz.startswith("weekday "):
        rc, r = V.atof(z[8:])
        if rc > 0 and r == int(r) and 0 <= r < 7:
            n = int(r)
            p.compute_all()
            p.valid_tz = p.valid_jd = False
            p.compute_jd()
            Z = ((p.jd + 129600000) // 86400000) % 7
            if Z > n:
                Z -= 7
            p.jd += (n - Z) * 86400000
            p.clear()
            return True
        return False
    if lz.startswith("start of "):
        if not (p.valid_jd or p.valid_ymd or p.valid_hms):
            return False
        p.compute_ymd()
        p.valid_hms = True
        p.h = p.m = 0
        p.s = 0.0
        p.raw_s = p.valid_tz = p.valid_jd = False
        what = lz[9:]
        if what == "month":
            p.D = 1
        elif what == "year":
            p.M = p.D = 1
        elif what != "day":
            return False
        return True
    if c and c in "+-0123456789":
        n = 1
        while n < len(z) and z[n] != ":" and z[n] not in _SPACE:
            n += 1
        rc, r = V.atof(z[:n])
        if rc <= 0:
            return False
        if z[n:n + 1] == ":":
            z2 = z if z[0].isdigit() else z[1:]
            tx = DT()
            if not _parse_hms(z2, tx):
                return False
            tx.compute_jd()
            tx.jd -= 43200000
            day = _cdiv(tx.jd, 86400000)
            tx.jd -= day * 86400000
            if z[0] == "-":
                tx.jd = -tx.jd
            p.compute_jd()
            p.clear()
            p.jd += tx.jd
            return True
        unit = z[n:].lstrip(_SPACE)
        if len(unit) > 10 or len(unit) < 3:
            return False
        if unit[-1] in "sS":
            unit = unit[:-1]
        p.compute_jd()
        ok = False
        rounder = -0.5 if r < 0 else 0.5
        for i, (name, limit, xform) in enumerate(_XFORM):
            if unit.lower() == name and -limit < r < limit:
                if i == 4:
                    p.compute_all()
                    p.M += int(r)
                    x = _cdiv(p.M - 1, 12) if p.M > 0 else _cdiv(p.M - 12, 12)
                    p.Y += x
                    p.M -= x * 12
                    p.valid_jd = False
                    r -= int(r)
                elif i == 5:
                    p.compute_all()
                    p.Y += int(r)
                    p.valid_jd = False
                    r -= int(r)
                p.compute_jd()
                p.jd += int(r * 1000.0 * xform + rounder)
                ok = True
                break
        p.clear()
        return ok
    return False


def _arg_text(v):
    return v if type(v) is str else V.to_text(v)


def parse_args(ctx, args):
    """The DT for a date function's arguments (value, modifiers...), or None (the result is NULL)."""
    p = DT()
    if not args:
        _set_now(p, ctx)
    else:
        v = args[0]
        if type(v) is int or type(v) is float:
            _set_raw(p, float(v))
        elif v is None or not _parse(_arg_text(v), p, ctx):
            return None
        for i, m in enumerate(args[1:], 1):
            if m is None or not _modifier(_arg_text(m), p, i):
                return None
    p.compute_jd()
    if p.error or not 0 <= p.jd <= _MAX_JD:
        return None
    return p


def _ymd(p):
    return "%s%04d-%02d-%02d" % ("-" if p.Y < 0 else "", abs(p.Y), p.M, p.D)


def f_date(ctx, *args):
    p = parse_args(ctx, args)
    if p is None:
        return None
    p.compute_ymd()
    return _ymd(p)


def f_time(ctx, *args):
    p = parse_args(ctx, args)
    if p is None:
        return None
    p.compute_hms()
    return "%02d:%02d:%02d" % (p.h, p.m, int(p.s))


def f_datetime(ctx, *args):
    p = parse_args(ctx, args)
    if p is None:
        return None
    p.compute_all()
    return "%s %02d:%02d:%02d" % (_ymd(p), p.h, p.m, int(p.s))


def f_julianday(ctx, *args):
    p = parse_args(ctx, args)
    return None if p is None else p.jd / 86400000.0


def f_unixepoch(ctx, *args):
    p = parse_args(ctx, args)
    return None if p is None else p.jd // 1000 - 210866760000


def f_strftime(ctx, fmt, *args):
    if fmt is None:
        return None
    p = parse_args(ctx, args)
    if p is None:
        return None
    p.compute_jd()
    p.compute_all()
    fmt = _arg_text(fmt)
    out, i, n = [], 0, len(fmt)
    while i < n:
        ch = fmt[i]
        i += 1
        if ch != "%":
            out.append(ch)
            continue
        if i >= n:
            return None
        c = fmt[i]
        i += 1
        if c == "d":
            out.append("%02d" % p.D)
        elif c == "f":
            out.append(V.sqlite_float_format(min(p.s, 59.999), 3, "f").rjust(6, "0"))
        elif c == "H":
            out.append("%02d" % p.h)
        elif c in "Wj":
            y = p.copy()
            y.valid_jd = False
            y.M = y.D = 1
            y.compute_jd()
            nday = (p.jd - y.jd + 43200000) // 86400000
            if c == "W":
                wd = ((p.jd + 43200000) // 86400000) % 7
                out.append("%02d" % ((nday + 7 - wd) // 7))
            else:
                out.append("%03d" % (nday + 1))
        elif c == "J":
            out.append(V.sqlite_float_format(p.jd / 86400000.0, 16, "g"))
        elif c == "m":
            out.append("%02d" % p.M)
        elif c == "M":
            out.append("%02d" % p.m)
        elif c == "s":
            out.append("%d" % (p.jd // 1000 - 210866760000))
        elif c == "S":
            out.append("%02d" % int(p.s))
        elif c == "w":
            out.append(str(((p.jd + 129600000) // 86400000) % 7))
        elif c == "Y":
            out.append("%04d" % p.Y)
        elif c == "%":
            out.append("%")
        else:
            return None
    return "".join(out)


def _current(kind):
    def f(ctx):
        now = ctx.now
        if now.tzinfo is not None:
            now = now.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        if kind == "date":
            return now.strftime("%Y-%m-%d")
        if kind == "time":
            return now.strftime("%H:%M:%S")
        return now.strftime("%Y-%m-%d %H:%M:%S")
    return f


CURRENT = {k: _current(k) for k in ("datetime", "date", "time")}
FUNCTIONS = {
    "date": (f_date, 0, 1000, True, False), "time": (f_time, 0, 1000, True, False),
    "datetime": (f_datetime, 0, 1000, True, False), "julianday": (f_julianday, 0, 1000, True, False),
    "unixepoch": (f_unixepoch, 0, 1000, True, False), "strftime": (f_strftime, 1, 1000, True, False),
}
