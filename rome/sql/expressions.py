"""Compile sqlglot expressions into Python functions ``f(row, ctx) -> value`` with SQLite's semantics.

Each expression is translated into the source of one Python function (NULL checks, three-valued logic
and cross-type comparisons inlined with ``:=`` temporaries; everything else calls helpers from
:mod:`rome.sql.values` and :mod:`rome.sql.functions`), compiled once per distinct source text. The
scope (provided by the planner) maps nodes to row positions: ``slot(node)`` first (an int, or a
compiled function), then ``column(node)`` and ``subquery(node)``; an optional ``affinity(column)``
lets comparisons apply SQLite's column-affinity rules.

Results are SQL values (None/int/float/str/bytes); boolean operators give 0, 1 or None.
:func:`compile_predicate` gives a function whose Python truth is the SQL truth (for WHERE).
"""
import re

from sqlglot import exp

from rome.dbapi.exceptions import DataError, ProgrammingError
from rome.sql import functions as F
from rome.sql import values as V

_LIMIT = 40               # nesting depth after which a subexpression becomes its own function
_CODE_CACHE = {}
_AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.GroupConcat, exp.Min, exp.Max)


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


class _NoScope:
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
    "_truthy": V.truthy, "_xlt": V.cross_lt, "_naff": F.numeric_affinity, "_taff": F.text_affinity,
    "_b3": F.bool3, "_raise_missing": _raise_missing, "_fold": V.fold_nocase, "_rtrim": F.rtrim_coll,
    "_first": F.first_value, "_exists": F.exists, "_in_rows": F.in_rows,
    "_row_in": F.row_in, "_txt": V.to_text, "_LIKE0": F._LIKE0, "_likem": F.like_matcher,
}


class Compiler:
    """Builds one function's source from a tree of nodes."""

    def __init__(self, scope):
        self.scope = scope
        self.ns = dict(_BASE_NS)
        self.defs = []
        self.n = 0
        self.affinity = getattr(scope, "affinity", None)

    # -- plumbing -------------------------------------------------------------------------------
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

    # -- entry ----------------------------------------------------------------------------------
    def expr(self, node):
        s = self.scope.slot(node)
        if s is not None:
            if isinstance(s, int):
                return E("row[%d]" % s)
            return E("%s(row, ctx)" % self.name("_s", s))
        h = _HANDLERS.get(type(node))
        if h is None:
            return self.unknown(node)
        return h(self, node)

    def unknown(self, node):
        if isinstance(node, _AGGREGATES) or (isinstance(node, exp.Anonymous)
                                             and node.name.lower() in F.AGGREGATE_NAMES):
            raise ProgrammingError("misuse of aggregate function %s()" % _fname(node))
        if isinstance(node, exp.Func):
            return self.function(node)
        raise ProgrammingError("unsupported expression: %s" % node.sql(dialect="sqlite")[:80])

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

    # -- leaves ---------------------------------------------------------------------------------
    def literal(self, node):
        if node.is_string:
            return self.const(node.this)
        return self.const(_number(node.this))

    def column(self, node):
        return E("row[%d]" % self.scope.column(node))

    def placeholder(self, node):
        name = node.name if isinstance(node, exp.Placeholder) else node.this.name
        if not name or name == "?":
            raise ProgrammingError("unnamed parameter: positional parameters must be numbered")
        return E("P[%r]" % name)

    def neg(self, node):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Literal) and not inner.is_string and self.scope.slot(inner) is None:
            v = _number(inner.this)                 # SQLite negates number literals directly
            return self.const(V.INT_MIN if inner.this.isdigit() and int(inner.this) == -V.INT_MIN else -v)
        return self.call(F.negate, self.expr(node.this))

    # -- comparisons ----------------------------------------------------------------------------
    def node_affinity(self, node):
        while isinstance(node, (exp.Paren, exp.Collate)):
            node = node.this
        if isinstance(node, exp.Cast):
            return V.affinity_of_type(_type_name(node.to))
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
        fn = F.numeric_affinity if conv == "num" else F.text_affinity
        if e.const:
            return self.const(fn(e.value))
        return E("%s(%s)" % ("_naff" if conv == "num" else "_taff", e.code), depth=e.depth + 1, free=e.free)

    def collation(self, *nodes):
        for n in nodes:
            while isinstance(n, exp.Paren):
                n = n.this
            if isinstance(n, exp.Collate):
                c = n.expression.name.upper()
                if c not in ("BINARY", "NOCASE", "RTRIM"):
                    raise ProgrammingError("no such collation sequence: %s" % n.expression.name)
                return None if c == "BINARY" else c
        f = getattr(self.scope, "collation", None)
        if f is not None:
            for n in nodes:
                if isinstance(n, exp.Column):
                    c = f(n)
                    if c and c.upper() != "BINARY":
                        return c.upper()
        return None

    def operands(self, ln, rn, le=None, re_=None, affinity=True):
        a = le if le is not None else self.expr(ln)
        b = re_ if re_ is not None else self.expr(rn)
        ca, cb = self.conversions(ln, rn) if affinity else (None, None)
        a, b = self.convert(self.sub(a), ca), self.convert(self.sub(b), cb)
        coll = self.collation(ln, rn)
        if coll:
            fn = "_fold" if coll == "NOCASE" else "_rtrim"
            a, b = (self.const(V.fold_nocase(x.value) if coll == "NOCASE" else F.rtrim_coll(x.value))
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

    def binary_compare(self, node):
        return self.compare(_OPS[type(node)], node.this, node.expression)

    def is_(self, node, negate=False):
        ln, rn = node.this, node.expression
        if isinstance(rn, exp.Null):
            a = self.sub(self.expr(ln))
            if negate:
                return self.fold(E("(0 if %s is None else 1)" % a.code, pred="(%s is not None)" % a.code,
                                   isbool=True, depth=a.depth + 1, free=a.free))
            return self.fold(E("(1 if %s is None else 0)" % a.code, pred="(%s is None)" % a.code,
                               isbool=True, depth=a.depth + 1, free=a.free))
        if isinstance(rn, exp.Boolean):
            a = self.sub(self.expr(ln))
            if rn.this:                             # IS TRUE: true and not NULL
                test = a.truth()
            else:                                   # IS FALSE: false and not NULL
                t = self.tmp()
                test = "((%s := %s) is not None and not %s)" % (t, a.code, E(t, isbool=a.isbool).truth())
            if negate:
                test = "(not %s)" % test
            return self.fold(E("(1 if %s else 0)" % test, pred="(%s)" % test, isbool=True,
                               depth=a.depth + 2, free=a.free))
        a, b = self.operands(ln, rn)
        op = "!=" if negate else "=="
        return self.fold(E("(1 if %s %s %s else 0)" % (a.code, op, b.code), pred="(%s %s %s)" % (
            a.code, op, b.code), isbool=True, depth=_depth(a, b), free=_free(a, b)))

    def between(self, node):
        x = self.sub(self.expr(node.this))
        t = x if x.const else self.temp_ref()
        lo = self.compare(">=", node.this, node.args["low"], le=t)
        hi = self.compare("<=", node.this, node.args["high"], le=t)
        both = self.logic([lo, hi], True)
        if x.const:
            return both
        free = tuple(f for f in _free(both) if f != t.code) + _free(x)
        v = "(%s if (%s := %s) is not ... else None)" % (both.code, t.code, x.code)
        p = "((%s := %s) is not None and %s)" % (t.code, x.code, both.truth())
        return E(v, pred=p, isbool=True, depth=both.depth + x.depth + 1, free=free)

    def temp_ref(self):
        t = self.tmp()
        return E(t, free=(t,))

    # -- logic ------------------------------------------------------------------------------------
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

    def flatten(self, node, cls):
        out = []
        stack = [node]
        while stack:
            n = stack.pop()
            while isinstance(n, exp.Paren):
                n = n.this
            if isinstance(n, cls) and self.scope.slot(n) is None:
                stack.append(n.expression)
                stack.append(n.this)
            else:
                out.append(n)
        return out

    def and_node(self, node):
        return self.logic([self.expr(n) for n in self.flatten(node, exp.And)], True)

    def or_node(self, node):
        return self.logic([self.expr(n) for n in self.flatten(node, exp.Or)], False)

    def not_(self, node):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Is):
            return self.is_(inner, negate=True)
        return self.negate(self.sub(self.expr(inner)))

    def negate(self, a):
        if a.const:
            return self.const(None if a.value is None else int(not V.truthy(a.value)))
        t = self.tmp()
        tt = E(t, isbool=a.isbool).truth()
        return E("(None if (%s := %s) is None else (0 if %s else 1))" % (t, a.code, tt),
                 pred="((%s := %s) is not None and not %s)" % (t, a.code, tt),
                 isbool=True, depth=a.depth + 2, free=a.free)

    # -- IN -----------------------------------------------------------------------------------------
    def in_(self, node):
        lhs = node.this
        query = node.args.get("query")
        if isinstance(lhs, exp.Tuple):
            return self.in_rows(node)
        a = self.sub(self.expr(lhs))
        t = self.tmp()
        if query is not None:
            _check_columns(query, 1)
            q = self.name("_q", self.scope.subquery(query))
            return E("_in_rows(%s, %s(row, ctx))" % (a.code, q), isbool=True, depth=a.depth + 1, free=a.free)
        items = node.expressions
        if not items:
            return self.const(0)
        if len(items) == 1 and isinstance(items[0], (exp.Subquery, exp.Select)):
            return self.in_(exp.In(this=lhs, query=items[0]))
        es = [self.operands(lhs, n, le=E(t, free=(t,)))[1] for n in items]
        coll = self.collation(lhs)
        if coll:
            a = E("%s(%s)" % ("_fold" if coll == "NOCASE" else "_rtrim", a.code), depth=a.depth + 1, free=a.free)
        if all(e.const for e in es):
            vals = [e.value for e in es]
            s = self.name("_set", frozenset(v for v in vals if v is not None))
            miss = "None" if None in vals else "0"
            return self.fold(E("(None if (%s := %s) is None else (1 if %s in %s else %s))" % (
                t, a.code, t, s, miss), pred="(%s in %s)" % (a.code, s), isbool=True,
                depth=a.depth + 2, free=a.free))
        es = [self.sub(e) for e in es]
        lt = self.tmp()
        tup = "(%s,)" % ", ".join(e.code for e in es)
        free = tuple(f for f in _free(*es) if f != t) + a.free
        return E("(None if (%s := %s) is None else (1 if %s in (%s := %s) else (None if None in %s else 0)))" % (
            t, a.code, t, lt, tup, lt), pred="((%s := %s) is not None and %s in %s)" % (t, a.code, t, tup),
            isbool=True, depth=_depth(a, *es) + 2, free=free)

    def in_rows(self, node):
        lhs = [self.sub(self.expr(n)) for n in node.this.expressions]
        vals = "(%s,)" % ", ".join(e.code for e in lhs)
        query = node.args.get("query")
        if query is None and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Values):
            rows = node.expressions[0].expressions
        elif query is None:
            rows = node.expressions
        else:
            rows = None
        if rows is None:
            _check_columns(query, len(lhs))
            q = self.name("_q", self.scope.subquery(query))
            src = "%s(row, ctx)" % q
            d = 1
        else:
            rs = []
            for r in rows:
                items = r.expressions if isinstance(r, exp.Tuple) else [r]
                if len(items) != len(lhs):
                    raise ProgrammingError("row value misused")
                rs.append([self.sub(self.expr(i)) for i in items])
            src = "(%s,)" % ", ".join("(%s,)" % ", ".join(e.code for e in r) for r in rs)
            d = _depth(*[e for r in rs for e in r])
        return E("_row_in(%s, %s)" % (vals, src), isbool=True, depth=max(d, _depth(*lhs)) + 2, free=_free(*lhs))

    def tuple_compare(self, node):
        a, b = node.this, node.expression
        if not (isinstance(a, exp.Tuple) and isinstance(b, exp.Tuple)) or len(a.expressions) != len(b.expressions):
            raise ProgrammingError("row value misused")
        op = _OPS[type(node)]
        if op not in ("==", "!="):
            raise ProgrammingError("row value comparison %s is not supported" % op)
        eqs = [self.compare("==", x, y) for x, y in zip(a.expressions, b.expressions)]
        e = self.logic(eqs, True)
        return self.negate(e) if op == "!=" else e

    # -- patterns -----------------------------------------------------------------------------------
    def like(self, node, escape=None, negate=False):
        if isinstance(node, exp.Escape):
            return self.like(node.this, node.expression, negate)
        negate = negate != bool(node.args.get("negate"))
        kind = {exp.Like: "like", exp.Glob: "glob", exp.RegexpLike: "regexp"}[type(node)]
        s, p = self.sub(self.expr(node.this)), self.sub(self.expr(node.expression))
        esc = self.sub(self.expr(escape)) if escape is not None else None
        if p.const and (esc is None or esc.const):
            m = F.pattern_matcher(kind, p.value, esc.value if esc is not None else None, esc is not None)
            e = self.const(None) if m is None else self.call(m, s, isbool=True)
        elif esc is not None:
            e = self.call(F.like_escape, s, p, esc, isbool=True)
        elif kind == "like":
            ts, tp = self.tmp(), self.tmp()
            e = E("(0 if type(%s := %s) is bytes or type(%s := %s) is bytes else None if %s is None or %s is None "
                  "else 1 if (_LIKE0.get(%s) or _likem(%s))(%s if type(%s) is str else _txt(%s)) else 0)" % (
                      ts, s.code, tp, p.code, ts, tp, tp, tp, ts, ts, ts), isbool=True, depth=_depth(s, p) + 2,
                  free=_free(s, p))
        else:
            e = self.call(F.MATCHERS[kind], s, p, isbool=True)
        return self.negate(e) if negate else e

    # -- other operators ----------------------------------------------------------------------------
    def chain(self, node):
        """Binary operators, compiled iteratively along the left spine (long a + b + c ... chains)."""
        spine, n = [node], node.this
        while type(n) in _CHAIN and self.scope.slot(n) is None:
            spine.append(n)
            n = n.this
        left = self.expr(n)
        for m in reversed(spine):
            left = self.binop(m, left, self.expr(m.expression))
        return left

    def binop(self, node, a, b):
        if type(node) is exp.DPipe:
            return self.call(F.concat_op, a, b)
        cls = type(node)
        a, b = self.sub(a), self.sub(b)
        op = _INLINE.get(cls)
        if op is None or (a.const and b.const):
            return self.call(_ARITH[cls], a, b)
        fn = self.name("_f", _ARITH[cls])
        ta, tb, tr = self.tmp(), self.tmp(), self.tmp()
        if b.const or a.const:                     # int fast path inline, helper otherwise
            if not isinstance(b.value if b.const else a.value, int):
                return self.call(_ARITH[cls], a, b)
            x, xa, xb = (a, ta, b.code) if b.const else (b, tb, a.code)
            test = "type(%s := %s) is int" % (xa, x.code)
            l, r = (xa, xb) if b.const else (xb, xa)
        else:
            test = "type(%s := %s) is type(%s := %s) is int" % (ta, a.code, tb, b.code)
            l, r = ta, tb
        code = "(%s if %s and -9223372036854775808 <= (%s := %s %s %s) <= 9223372036854775807 else %s(%s, %s))" % (
            tr, test, tr, l, op, r, fn, l, r)
        return E(code, depth=_depth(a, b) + 1, free=_free(a, b))

    def paren(self, node):
        return self.expr(node.this)

    def collate(self, node):
        self.collation(node)                        # validates the name
        return self.expr(node.this)

    def cast(self, node):
        aff = V.affinity_of_type(_type_name(node.to))
        return self.call(F.CASTS[aff], self.expr(node.this))

    def case(self, node):
        subject = node.this
        s = None
        if subject is not None:
            s = self.sub(self.expr(subject))
            st = self.temp_ref()
            t = st.code
        default = node.args.get("default")
        rest = self.sub(self.expr(default)) if default is not None else self.const(None)
        for cond in reversed(node.args["ifs"]):
            val = self.sub(self.expr(cond.args["true"]))
            if s is None:
                c = self.sub(self.expr(cond.this))
                test = c.truth()
            else:
                c = self.sub(self.compare("==", subject, cond.this, le=st))
                test = c.truth()
            rest = E("(%s if %s else %s)" % (val.code, test, rest.code), depth=_depth(val, c, rest),
                     free=_free(val, c, rest), isbool=val.isbool and rest.isbool)
            if rest.depth > _LIMIT:
                rest = self.materialize(rest)
        if s is None:
            return self.fold(rest)
        free = tuple(f for f in rest.free if f != t) + s.free
        return self.fold(E("(%s if (%s := %s) is not ... else None)" % (rest.code, t, s.code),
                           depth=rest.depth + s.depth, free=free, isbool=rest.isbool))

    def iif(self, node):
        c = self.sub(self.expr(node.this))
        a = self.sub(self.expr(node.args["true"]))
        f = node.args.get("false")
        b = self.sub(self.expr(f)) if f is not None else self.const(None)
        return self.fold(E("(%s if %s else %s)" % (a.code, c.truth(), b.code), depth=_depth(a, b, c),
                           free=_free(a, b, c), isbool=a.isbool and b.isbool))

    def coalesce(self, node):
        args = [node.this] + list(node.expressions)
        if len(args) < 2:
            raise ProgrammingError("wrong number of arguments to function coalesce()")
        rest = self.sub(self.expr(args[-1]))
        for n in reversed(args[:-1]):
            a = self.sub(self.expr(n))
            if a.const:
                rest = a if a.value is not None else rest
                continue
            t = self.tmp()
            rest = E("(%s if (%s := %s) is not None else %s)" % (t, t, a.code, rest.code),
                     depth=_depth(a, rest), free=_free(a, rest))
            if rest.depth > _LIMIT:
                rest = self.materialize(rest)
        return self.fold(rest)

    def nullif(self, node):                        # a function: collation but no affinity
        a, b = self.sub(self.expr(node.this)), self.sub(self.expr(node.expression))
        if self.collation(node.this, node.expression):
            a, b = self.operands(node.this, node.expression, a, b, affinity=False)
        t = self.tmp()
        return self.fold(E("(None if (%s := %s) == %s else %s)" % (t, a.code, b.code, t),
                           depth=_depth(a, b), free=_free(a, b)))

    def subquery(self, node):
        _check_columns(node, 1)
        q = self.name("_q", self.scope.subquery(node))
        return E("_first(%s(row, ctx))" % q)

    def exists(self, node):
        q = self.name("_q", self.scope.subquery(node.this))
        return E("_exists(%s(row, ctx))" % q, isbool=True)

    def now(self, node):
        kind = {exp.CurrentTimestamp: "datetime", exp.CurrentDate: "date", exp.CurrentTime: "time"}[type(node)]
        return E("%s(ctx)" % self.name("_now", F.CURRENT[kind]))

    # -- functions ------------------------------------------------------------------------------
    def function(self, node):
        name, args = _function_args(node)
        impl, needs_ctx, volatile = F.lookup(name, len(args))
        es = [self.sub(self.expr(a)) for a in args]
        if name in ("lower", "upper") and not es[0].const:
            t = self.tmp()
            return E("(%s.%s() if type(%s := %s) is str and %s.isascii() else %s(%s))" % (
                t, name, t, es[0].code, t, self.name("_f", impl), t), depth=es[0].depth + 1, free=es[0].free)
        fname = self.name("_f", impl)
        code = "%s(%s)" % (fname, ", ".join((["ctx"] if needs_ctx else []) + [e.code for e in es]))
        e = E(code, depth=_depth(*es), free=_free(*es))
        return e if needs_ctx or volatile else self.fold(e)

    def anonymous(self, node):
        name, args = _function_args(node)
        if name == "json_quote" and len(args) == 1 and _is_json_call(args[0]):
            _n, inner = _function_args(args[0])
            es = [self.sub(self.expr(a)) for a in inner]
            return self.fold(E("%s(%s)" % (self.name("_f", F.json_extract_quoted), ", ".join(e.code for e in es)),
                               depth=_depth(*es), free=_free(*es)))
        return self.function(node)


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
_OPS = {exp.EQ: "==", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
_ARITH = {exp.Add: F.add, exp.Sub: F.sub, exp.Mul: F.mul, exp.Div: F.div, exp.Mod: F.mod,
          exp.BitwiseAnd: F.bit_and, exp.BitwiseOr: F.bit_or, exp.BitwiseLeftShift: F.shift_left,
          exp.BitwiseRightShift: F.shift_right}
_INLINE = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*"}
_INT_RE = re.compile(r"[0-9]+")


def _number(text):
    if _INT_RE.fullmatch(text):
        v = int(text)
        if v <= V.INT_MAX:
            return v
    return V.atof(text)[1]


def _type_name(dt):
    if not isinstance(dt, exp.DataType):
        return dt.sql(dialect="sqlite") if dt is not None else ""
    t = dt.this
    if t == exp.DataType.Type.USERDEFINED:
        return dt.args.get("kind") or ""
    name = t.value if hasattr(t, "value") else str(t)
    if name in ("VARBINARY", "BLOB", "LONGBLOB", "MEDIUMBLOB", "TINYBLOB"):
        return "BLOB"
    return name


def _check_columns(query, n):
    q = query
    while isinstance(q, (exp.Subquery, exp.Paren)):
        q = q.this
    while isinstance(q, exp.SetOperation):
        q = q.this
        while isinstance(q, (exp.Subquery, exp.Paren)):
            q = q.this
    if isinstance(q, exp.Select):
        cols = q.expressions
        if any(isinstance(c, exp.Star) or (isinstance(c, exp.Column) and isinstance(c.this, exp.Star))
               for c in cols):
            return
        if len(cols) != n:
            raise ProgrammingError("sub-select returns %d columns - expected %d" % (len(cols), n))


def _fname(node):
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return F.CLASS_NAMES.get(type(node).__name__, type(node).__name__.lower())


def _is_json_call(node):
    return isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "json_extract")


def _function_args(node):
    """(SQLite function name, argument nodes) for a function-call node."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower(), list(node.expressions)
    cls = type(node)
    a = node.args
    if cls is exp.Trim:
        pos = (a.get("position") or "").upper()
        name = "ltrim" if pos == "LEADING" else "rtrim" if pos == "TRAILING" else "trim"
        return name, [x for x in (a.get("this"), a.get("expression")) if x is not None]
    if cls is exp.Log:
        if a.get("expression") is None:
            return "log", [a["this"]]
        return "log", [a["this"], a["expression"]]
    if cls is exp.Atan and a.get("expression") is not None:
        return "atan2", [a["this"], a["expression"]]
    if cls is exp.TimeToStr:
        src = a["this"]
        if isinstance(src, exp.TsOrDsToTimestamp):
            src = src.this
        if isinstance(src, exp.CurrentTimestamp):
            src = exp.Literal.string("now")
        return "strftime", [a["format"], src]
    if cls in (exp.JSONExtract, exp.JSONExtractScalar):
        path = a["expression"]
        if isinstance(path, exp.JSONPath):
            path = exp.Literal.string(path.sql(dialect="sqlite").strip("'").replace("''", "'"))
        return "json_extract", [a["this"], path] + list(a.get("expressions") or [])
    if cls is exp.JSONObject:
        out = []
        for kv in a.get("expressions") or []:
            out += [kv.this, kv.expression] if isinstance(kv, exp.JSONKeyValue) else [kv]
        return "json_object", out
    if cls is exp.Date and a.get("this") is None:
        return "date", list(a.get("expressions") or [])
    name = F.CLASS_NAMES.get(cls.__name__)
    if name is None:
        raise ProgrammingError("no such function: %s" % (node.sql_name() if hasattr(node, "sql_name")
                                                         else cls.__name__).lower())
    args = []
    for k in cls.arg_types:
        v = a.get(k)
        if k in F.IGNORED_ARGS or v is None or isinstance(v, bool):
            continue
        if isinstance(v, list):
            args.extend(v)
        elif isinstance(v, exp.Expression):
            args.append(v)
    return name, args


_HANDLERS = {
    exp.Literal: Compiler.literal, exp.Null: lambda c, n: c.const(None),
    exp.Boolean: lambda c, n: c.const(1 if n.this else 0),
    exp.HexString: lambda c, n: c.const(bytes.fromhex(n.this)),
    exp.Column: Compiler.column, exp.Placeholder: Compiler.placeholder, exp.Parameter: Compiler.placeholder,
    exp.Paren: Compiler.paren, exp.Alias: Compiler.paren, exp.Collate: Compiler.collate,
    exp.Neg: Compiler.neg, exp.BitwiseNot: lambda c, n: c.call(F.bit_not, c.expr(n.this)),
    exp.EQ: Compiler.binary_compare, exp.NEQ: Compiler.binary_compare, exp.LT: Compiler.binary_compare,
    exp.LTE: Compiler.binary_compare, exp.GT: Compiler.binary_compare, exp.GTE: Compiler.binary_compare,
    exp.Is: Compiler.is_,
    exp.NullSafeEQ: lambda c, n: c.is_(n), exp.NullSafeNEQ: lambda c, n: c.is_(n, negate=True),
    exp.Between: Compiler.between, exp.And: Compiler.and_node, exp.Or: Compiler.or_node,
    exp.Not: Compiler.not_, exp.In: Compiler.in_,
    exp.Like: Compiler.like, exp.Glob: Compiler.like, exp.RegexpLike: Compiler.like, exp.Escape: Compiler.like,
    exp.DPipe: Compiler.chain, exp.Cast: Compiler.cast, exp.TryCast: Compiler.cast, exp.Case: Compiler.case,
    exp.If: Compiler.iif, exp.Coalesce: Compiler.coalesce, exp.Nullif: Compiler.nullif,
    exp.Subquery: Compiler.subquery, exp.Exists: Compiler.exists,
    exp.CurrentTimestamp: Compiler.now, exp.CurrentDate: Compiler.now, exp.CurrentTime: Compiler.now,
    exp.Anonymous: Compiler.anonymous,
}
_CHAIN = set(_ARITH) | {exp.DPipe}
for _cls in _ARITH:
    _HANDLERS[_cls] = Compiler.chain
def _tuple_aware(h):
    def handler(c, n):
        if isinstance(n.this, exp.Tuple) or isinstance(n.expression, exp.Tuple):
            return c.tuple_compare(n)
        return h(c, n)
    return handler


for _cls in _OPS:
    _HANDLERS[_cls] = _tuple_aware(Compiler.binary_compare)


# ---------------------------------------------------------------------------------------------------
# public API


def compile_expr(node, scope):
    """A function ``f(row, ctx) -> value`` computing node (a sqlglot expression) for a row."""
    return _compile(node, scope, False)


def compile_predicate(node, scope):
    """A function ``f(row, ctx)`` whose Python truth is the SQL truth of node (NULL is false)."""
    return _compile(node, scope, True)


def _compile(node, scope, predicate):
    c = Compiler(scope)
    try:
        return c.build(c.expr(node), predicate)
    except RecursionError:
        raise ProgrammingError("expression tree is too large") from None


_VOLATILE = {"random", "randomblob", "changes", "total_changes", "last_insert_rowid"}


def is_constant(node):
    """True if node depends on no row: no columns, subqueries, aggregates or volatile functions
    (placeholders and CURRENT_TIMESTAMP count as constant: they are fixed for a statement)."""
    for n in node.walk():
        if isinstance(n, (exp.Column, exp.Subquery, exp.Select, exp.Exists, exp.SetOperation, exp.Star,
                          exp.Rand) + _AGGREGATES):
            return False
        if isinstance(n, exp.Anonymous) and n.name.lower() in _VOLATILE | F.AGGREGATE_NAMES:
            return False
    return True


def constant_value(node, ctx):
    """Evaluate a constant expression (see is_constant)."""
    return compile_expr(node, _NoScope())((), ctx)


_ENDS = {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW", "UNION", "INTERSECT", "EXCEPT",
         "AS"}


def expr_name(node, sql=None):
    """The result-column name SQLite gives a select-list item: its alias, a bare column's name, else
    the expression's text (taken from ``sql``, the statement text, when given)."""
    if isinstance(node, exp.Alias):
        return node.alias
    inner = node
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star):
        return inner.name
    if sql:
        text = _source_text(node, sql)
        if text:
            return text
    return node.sql(dialect="sqlite")


def _source_text(node, sql):
    starts = [n.meta["start"] for n in node.walk() if "start" in n.meta]
    if not starts:
        return None
    from sqlglot.dialects.sqlite import SQLite
    try:
        tokens = SQLite().tokenize(sql)
    except Exception:
        return None
    start = min(starts)
    idx = next((i for i, t in enumerate(tokens) if t.start == start), None)
    if idx is None:
        return None
    depth, i = 0, idx                   # back up over opening parens/unary signs of the projection
    while i > 0:
        t = tokens[i - 1]
        if t.text == "(" or (t.text in ("-", "+", "~") and i > 1 and tokens[i - 2].text in (",", "(", "SELECT")):
            i -= 1
            continue
        if t.text.upper() in ("NOT", "EXISTS", "CASE", "CAST"):
            i -= 1
            continue
        break
    first, j = i, i
    while j < len(tokens):
        t = tokens[j]
        up = t.text.upper()
        if depth == 0 and (t.text in (",", ";", ")") or up in _ENDS):
            break
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        j += 1
    if j == first:
        return None
    return sql[tokens[first].start:tokens[j - 1].end + 1].strip()


__all__ = ["compile_expr", "compile_predicate", "is_constant", "constant_value", "expr_name", "DataError"]
