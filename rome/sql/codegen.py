"""The expression code generator: builds the source of one Python function per expression.

A subexpression compiles to an :class:`E`: Python source for its value and, where cheaper, for its SQL
truth, with ``:=`` temporaries for NULL tests. Nesting deeper than ``_LIMIT`` moves a subexpression into
a function of its own; compiled sources are cached by text. Node handlers live in
:mod:`rome.sql.expressions` (a subclass); this module has the plumbing and SQLite's comparison rules
(affinity, collation, cross-type order) and three-valued logic.
"""
from sqlglot import exp

from rome.errors import ProgrammingError
from rome.sql.semantics import operators as O
from rome.sql.semantics import values as V
from rome.sql.tree import collation_of

_LIMIT = 40               # nesting depth after which a subexpression becomes its own function
_CODE_CACHE = {}


class E:
    """A compiled subexpression: Python source of its value (and optionally of its truth)."""
    __slots__ = ("code", "pred", "isbool", "const", "value", "depth", "free")

    def __init__(self, code, pred=None, isbool=False, depth=1, free=(), const=False, value=None):
        self.code, self.pred, self.isbool, self.depth = code, pred, isbool, depth
        self.free, self.const, self.value = free, const, value

    def truth(self):
        """Source whose Python truth is the SQL truth of the value."""
        if self.pred is not None:
            return self.pred
        if self.const:
            return "True" if V.truthy(self.value) else "False"
        return self.code if self.isbool else "_truthy(%s)" % self.code


def _free(*es):
    out = ()
    for e in es:
        if e.free:
            out += tuple(x for x in e.free if x not in out)
    return out


def _depth(*es):
    return 1 + max((e.depth for e in es), default=0)


class NoScope:
    """A scope without columns or subqueries (constant expressions)."""

    def slot(self, node):
        return None

    def column(self, node):
        raise ProgrammingError("no such column: %s" % node.sql(dialect="sqlite"))

    def subquery(self, node):
        raise ProgrammingError("subqueries are not allowed here")


def _raise_missing(e, ctx):
    key = e.args[0] if e.args else None
    if isinstance(key, str) and key not in ctx.params:
        raise ProgrammingError("You did not supply a value for binding parameter :%s." % key) from None
    raise e


_BASE_NS = {
    "_truthy": V.truthy, "_xlt": V.cross_lt, "_naff": O.numeric_affinity, "_taff": O.text_affinity,
    "_b3": O.bool3, "_raise_missing": _raise_missing, "_fold": V.fold_nocase, "_rtrim": V.fold_rtrim,
    "_first": O.first_value, "_exists": O.exists, "_in_rows": O.in_rows,
    "_row_in": O.row_in, "_txt": V.to_text, "_LIKE0": O._LIKE0, "_likem": O.like_matcher,
}


class Compiler:
    """Builds one function's source from a tree of nodes (subclasses provide ``HANDLERS``)."""
    HANDLERS = {}

    def __init__(self, scope):
        self.scope = scope
        self.ns = dict(_BASE_NS)
        self.defs = []
        self.n = 0
        self.affinity = getattr(scope, "affinity", None)

    def tmp(self):
        self.n += 1
        return "_t%d" % self.n

    def name(self, prefix, obj):
        self.n += 1
        k = "%s%d" % (prefix, self.n)
        self.ns[k] = obj
        return k

    def const(self, v):
        if v is None:
            return E("None", "False", const=True, value=None, isbool=True)
        return E(self.name("_k", v), const=True, value=v, isbool=v in (0, 1) and type(v) is int)

    def materialize(self, e):
        """Move e's code into a function of its own, so that nesting stays shallow."""
        self.n += 1
        fname = "_g%d" % self.n
        args = "".join(", " + f for f in e.free)
        self.defs.append((fname, args, e.code))
        return E("%s(row, ctx%s)" % (fname, args), isbool=e.isbool, free=e.free)

    def sub(self, e):
        return self.materialize(e) if e.depth > _LIMIT else e

    def fold(self, e):
        """Evaluate a subexpression without row/ctx/param dependencies now."""
        if e.const or "row" in e.code or "ctx" in e.code or "P[" in e.code or e.free:
            return e
        try:
            v = eval(e.code, dict(self.ns))  # noqa: S307 - our own generated code
        except Exception:
            return e
        return self.const(v)

    def call(self, fn, *args, isbool=False):
        """E for fn(args...) with the helper fn."""
        args = [self.sub(a) for a in args]
        name = self.name("_f", fn)
        return self.fold(E("%s(%s)" % (name, ", ".join(a.code for a in args)), isbool=isbool,
                           depth=_depth(*args), free=_free(*args)))

    def expr(self, node):
        s = self.scope.slot(node)
        if s is not None:
            if isinstance(s, int):
                return E("row[%d]" % s)
            return E("%s(row, ctx)" % self.name("_s", s))
        h = self.HANDLERS.get(type(node))
        if h is None:
            return self.unknown(node)
        return h(self, node)

    def build(self, e, predicate=False):
        code = e.truth() if predicate else e.code
        e = E(code, free=e.free, depth=e.depth)
        if e.depth > 150:
            e = self.materialize(e)
        lines = []
        for fname, args, body in self.defs:
            lines.append("def %s(row, ctx%s):\n%s    return %s\n" % (fname, args, _pre(body), body))
        if "P[" in e.code:
            lines.append("def _main(row, ctx):\n    try:\n        P = ctx.params\n        return %s\n"
                         "    except KeyError as e:\n        _raise_missing(e, ctx)\n" % e.code)
        else:
            lines.append("def _main(row, ctx):\n    return %s\n" % e.code)
        src = "".join(lines)
        code = _CODE_CACHE.get(src)
        if code is None:
            if len(_CODE_CACHE) > 4096:
                _CODE_CACHE.clear()
            code = _CODE_CACHE[src] = compile(src, "<rome expression>", "exec")
        ns = self.ns
        exec(code, ns)  # noqa: S102 - our own generated code
        f = ns["_main"]
        f.source = src
        return f

    def node_affinity(self, node):
        while isinstance(node, (exp.Paren, exp.Collate)):
            node = node.this
        if isinstance(node, exp.Cast):
            return V.affinity_of_type(type_name(node.to))
        if isinstance(node, exp.Column) and self.affinity is not None:
            return self.affinity(node)
        return None

    def conversions(self, ln, rn):
        """SQLite's comparison affinity rules: which side(s) get converted, and how."""
        a1, a2 = self.node_affinity(ln), self.node_affinity(rn)
        num = ("INTEGER", "REAL", "NUMERIC")
        if a1 and a2:
            if a1 in num or a2 in num:
                return (None if a1 in num else "num"), (None if a2 in num else "num")
            return None, None
        a = a1 or a2
        conv = "num" if a in num else "text" if a == "TEXT" else None
        return (None, conv) if a1 else (conv, None)

    def convert(self, e, conv):
        if conv is None:
            return e
        fn = O.numeric_affinity if conv == "num" else O.text_affinity
        if e.const:
            return self.const(fn(e.value))
        return E("%s(%s)" % ("_naff" if conv == "num" else "_taff", e.code), depth=e.depth + 1, free=e.free)

    def collation(self, *nodes):
        return collation_of(nodes, getattr(self.scope, "collation", None) or _binary)

    def operands(self, ln, rn, le=None, re_=None, affinity=True):
        a = le if le is not None else self.expr(ln)
        b = re_ if re_ is not None else self.expr(rn)
        ca, cb = self.conversions(ln, rn) if affinity else (None, None)
        a, b = self.convert(self.sub(a), ca), self.convert(self.sub(b), cb)
        coll = self.collation(ln, rn)
        if coll:
            fn = "_fold" if coll == "NOCASE" else "_rtrim"
            a, b = (self.const(V.collation_fold(coll)(x.value))
                    if x.const else E("%s(%s)" % (fn, x.code), depth=x.depth + 1, free=x.free) for x in (a, b))
        return a, b

    def compare(self, op, ln, rn, le=None, re_=None):
        a, b = self.operands(ln, rn, le, re_)
        return self.fold(self.cmp_code(op, a, b))

    def cmp_code(self, op, a, b):
        d, free = _depth(a, b), _free(a, b)
        if a.const and b.const:
            c = V.compare(a.value, b.value)
            return self.const(None if c is None else int(_CMP[op](c)))
        if (a.const and a.value is None) or (b.const and b.value is None):
            return self.const(None)
        if op in ("==", "!=") and (a.const or b.const):
            x, k = (b, a) if a.const else (a, b)
            t = self.tmp()
            return E("(None if (%s := %s) is None else (1 if %s %s %s else 0))" % (t, x.code, t, op, k.code),
                     pred="(%s %s %s)" % (x.code, op, k.code) if op == "==" else
                     "((%s := %s) is not None and %s != %s)" % (t, x.code, t, k.code),
                     isbool=True, depth=d + 1, free=free)
        if a.const or b.const:                     # ordering against a constant: one NULL test
            x, k, op = (a, b, op) if b.const else (b, a, _MIRROR[op])
            t = self.tmp()
            test = _TEST[op].replace("type(%(b)s)", self.name("_T", type(k.value))) % {"a": t, "b": k.code}
            return E("(None if (%s := %s) is None else (1 if %s else 0))" % (t, x.code, test),
                     pred="((%s := %s) is not None and %s)" % (t, x.code, test), isbool=True, depth=d + 1,
                     free=free)
        ta, tb = self.tmp(), self.tmp()
        test = _TEST[op] % {"a": ta, "b": tb}
        value = "(None if (%s := %s) is None or (%s := %s) is None else (1 if %s else 0))" % (
            ta, a.code, tb, b.code, test)
        if op == "==":
            pred = "((%s := %s) is not None and %s == %s)" % (ta, a.code, ta, b.code)
        else:
            pred = "((%s := %s) is not None and (%s := %s) is not None and %s)" % (ta, a.code, tb, b.code, test)
        return E(value, pred=pred, isbool=True, depth=d + 1, free=free)

    def temp_ref(self):
        t = self.tmp()
        return E(t, free=(t,))

    def logic(self, es, is_and):
        es = [self.sub(e) for e in es]
        consts = [e for e in es if e.const]
        for e in consts:                           # FALSE AND x = FALSE, TRUE OR x = TRUE
            if e.value is not None and V.truthy(e.value) != is_and:
                return self.const(0 if is_and else 1)
        if len(es) > 4:
            h = len(es) // 2
            return self.logic([self.logic(es[:h], is_and), self.logic(es[h:], is_and)], is_and)
        stop = "0" if is_and else "1"
        ts, parts = [], []
        for e in es:
            t = self.tmp()
            ts.append(t)
            code = e.code if e.isbool else "_b3(%s)" % e.code
            parts.append("(%s if (%s := %s) == %s else " % (stop, t, code, stop))
        tail = "(None if %s else %s)" % (" or ".join("%s is None" % t for t in ts), "1" if is_and else "0")
        value = "".join(parts) + tail + ")" * len(parts)
        pred = "(%s)" % (" and " if is_and else " or ").join(e.truth() for e in es)
        return self.fold(E(value, pred=pred, isbool=True, depth=_depth(*es) + len(es), free=_free(*es)))

    def negate(self, a):
        if a.const:
            return self.const(None if a.value is None else int(not V.truthy(a.value)))
        t = self.tmp()
        tt = E(t, isbool=a.isbool).truth()
        return E("(None if (%s := %s) is None else (0 if %s else 1))" % (t, a.code, tt),
                 pred="((%s := %s) is not None and not %s)" % (t, a.code, tt),
                 isbool=True, depth=a.depth + 2, free=a.free)


def _pre(body):
    return "    P = ctx.params\n" if "P[" in body else ""


_CMP = {"==": lambda c: c == 0, "!=": lambda c: c != 0, "<": lambda c: c < 0, "<=": lambda c: c <= 0,
        ">": lambda c: c > 0, ">=": lambda c: c >= 0}


_TEST = {
    "==": "%(a)s == %(b)s", "!=": "%(a)s != %(b)s",
    "<": "(%(a)s < %(b)s if type(%(a)s) is type(%(b)s) else _xlt(%(a)s, %(b)s))",
    ">": "(%(a)s > %(b)s if type(%(a)s) is type(%(b)s) else _xlt(%(b)s, %(a)s))",
    "<=": "(%(a)s <= %(b)s if type(%(a)s) is type(%(b)s) else not _xlt(%(b)s, %(a)s))",
    ">=": "(%(a)s >= %(b)s if type(%(a)s) is type(%(b)s) else not _xlt(%(a)s, %(b)s))",
}


_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}

def type_name(dt):
    """The type name of a CAST target (for its affinity)."""
    if not isinstance(dt, exp.DataType):
        return dt.sql(dialect="sqlite") if dt is not None else ""
    t = dt.this
    if t == exp.DataType.Type.USERDEFINED:
        return dt.args.get("kind") or ""
    name = t.value if hasattr(t, "value") else str(t)
    if name in ("VARBINARY", "BLOB", "LONGBLOB", "MEDIUMBLOB", "TINYBLOB"):
        return "BLOB"
    return name


def _binary(_node):
    return None
