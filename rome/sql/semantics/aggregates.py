"""Aggregate accumulators with SQLite's semantics, for the planner: ``make_aggregate(name, distinct)``
gives an object with ``step(value[, separator])`` and ``result()``.
"""
from rome.errors import OperationalError, ProgrammingError
from rome.sql.semantics import values as V
from rome.sql.semantics.operators import utf8
from rome.sql.semantics.values import INT_MAX, INT_MIN, to_real, to_text


class _Count:
    __slots__ = ("n",)

    def __init__(self):
        self.n = 0

    def step(self, v, *_):
        if v is not None:
            self.n += 1

    def result(self):
        return self.n


class _Sum:
    """sum / total / avg: SQLite keeps an exact int sum and a float sum side by side."""
    __slots__ = ("kind", "cnt", "isum", "rsum", "approx", "overflow")

    def __init__(self, kind):
        self.kind, self.cnt, self.isum, self.rsum, self.approx, self.overflow = kind, 0, 0, 0.0, False, False

    def step(self, v, *_):
        if v is None:
            return
        self.cnt += 1
        if type(v) is str:                      # sqlite3_value_numeric_type: well-formed numbers count as such
            n = V.numeric_text(v)
            if type(n) is int:
                v = n
        if type(v) is int:
            self.rsum += v
            if not (self.approx or self.overflow):
                s = self.isum + v
                if INT_MIN <= s <= INT_MAX:
                    self.isum = s
                else:
                    self.approx = self.overflow = True
        else:
            self.rsum += to_real(v)
            self.approx = True

    def result(self):
        if self.kind == "total":
            return self.rsum
        if not self.cnt:
            return None
        if self.kind == "avg":
            return self.rsum / self.cnt
        if self.overflow:
            raise OperationalError("integer overflow")
        return self.rsum if self.approx else self.isum


class _MinMax:
    """min / max, comparing as the argument's collation does (``fold``: its fold, or None)."""
    __slots__ = ("best", "want_max", "fold")

    def __init__(self, want_max, fold=None):
        self.best, self.want_max, self.fold = None, want_max, fold

    def step(self, v, *_):
        if v is None:
            return
        b = self.best
        if b is None:
            self.best = v
            return
        f = self.fold
        c = V.compare(b, v) if f is None else V.compare(f(b), f(v))
        if c < 0 if self.want_max else c > 0:
            self.best = v

    def result(self):
        return self.best


class _GroupConcat:
    __slots__ = ("parts",)

    def __init__(self):
        self.parts = None

    def step(self, v, sep=","):
        if v is None:
            return
        t = type(v)
        if t is not str and t is not bytes:
            v = to_text(v)
        if self.parts is None:
            self.parts = [v]
        else:
            self.parts.append("" if sep is None else sep if type(sep) is str or type(sep) is bytes
                              else to_text(sep))
            self.parts.append(v)

    def result(self):
        parts = self.parts
        if parts is None:
            return None
        try:
            return "".join(parts)
        except TypeError:                       # blobs: join the bytes, then read them as UTF-8
            return b"".join(utf8(p) for p in parts).decode("utf-8", "replace")


class _Distinct:
    """DISTINCT inside an aggregate: each value once, as the argument's collation tells them apart."""
    __slots__ = ("inner", "seen", "fold")

    def __init__(self, inner, fold=None):
        self.inner, self.seen, self.fold = inner, set(), fold

    def step(self, v, *rest):
        if v is None:
            return
        d = v if self.fold is None else self.fold(v)
        if d in self.seen:
            return
        self.seen.add(d)
        self.inner.step(v, *rest)

    def result(self):
        return self.inner.result()


def make_aggregate(name, distinct=False, collation=None):
    """An accumulator for aggregate ``name`` (count, sum, total, avg, min, max, group_concat);
    ``collation``: the argument's (min, max and DISTINCT compare by it)."""
    n = name.lower()
    fold = V.collation_fold(collation)
    if n == "count":
        acc = _Count()
    elif n in ("sum", "total", "avg"):
        acc = _Sum(n)
    elif n in ("min", "max"):
        acc = _MinMax(n == "max", fold)
    elif n in ("group_concat", "groupconcat", "string_agg", "stringagg"):
        acc = _GroupConcat()
    else:
        raise ProgrammingError("no such aggregate function: %s" % name)
    return _Distinct(acc, fold) if distinct else acc
