"""Compile sqlglot expressions into Python functions ``f(row, ctx) -> value`` with SQLite's semantics.

Each expression is translated into the source of one Python function (NULL checks, three-valued logic
and cross-type comparisons inlined with ``:=`` temporaries; everything else calls helpers from
:mod:`rome.sql.semantics.operators` and :mod:`rome.sql.semantics.functions`), compiled once per
distinct source text (the generator is :mod:`rome.sql.codegen`; this module has the node handlers and
the public API). The
scope (provided by the planner) maps nodes to row positions: ``slot(node)`` first (an int, or a
compiled function), then ``column(node)`` and ``subquery(node)``; an optional ``affinity(column)``
lets comparisons apply SQLite's column-affinity rules.

Results are SQL values (None/int/float/str/bytes); boolean operators give 0, 1 or None.
:func:`compile_predicate` gives a function whose Python truth is the SQL truth (for WHERE).
"""
import re

from sqlglot import exp

from rome.errors import NotSupportedError, ProgrammingError
from rome.sql.semantics import functions as F
from rome.sql.semantics import operators as O
from rome.sql.semantics import values as V
from rome.sql.codegen import _LIMIT, E, Compiler, NoScope, _depth, _free, type_name
from rome.sql.parse import is_list_parameter

_AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.GroupConcat, exp.Min, exp.Max)


class ExprCompiler(Compiler):
    """The node handlers: one method per kind of sqlglot node (see ``_HANDLERS``)."""

    def unknown(self, node):
        if isinstance(node, _AGGREGATES) or (isinstance(node, exp.Anonymous)
                                             and node.name.lower() in F.AGGREGATE_NAMES):
            raise ProgrammingError("misuse of aggregate function %s()" % _fname(node))
        if isinstance(node, exp.Func) and not isinstance(node, exp.Window):
            return self.function(node)
        raise NotSupportedError("unsupported expression: %s" % node.sql(dialect="sqlite")[:80])

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
        return self.call(O.negate, self.expr(node.this))

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
        if len(items) == 1 and is_list_parameter(items[0]):
            return self.in_list_parameter(lhs, a, items[0])
        if len(items) == 1 and isinstance(items[0], (exp.Subquery, exp.Select)):
            return self.in_(exp.In(this=lhs, query=items[0]))
        known = [literal_value(n) for n in items]
        if any(v is NOT_LITERAL for v in known):
            es = [self.operands(lhs, n, le=E(t, free=(t,)))[1] for n in items]
        else:   # constants only: their values converted and folded as operands() would, no E each
            es = None
            conv = self.conversions(lhs, items[0])[1]
            convert = O.numeric_affinity if conv == "num" else O.text_affinity if conv == "text" else None
            fold = V.collation_fold(self.collation(lhs, items[0]))
            known = [fold(v) if fold else v for v in (map(convert, known) if convert else known)]
        coll = self.collation(lhs)
        if coll:
            a = E("%s(%s)" % ("_fold" if coll == "NOCASE" else "_rtrim", a.code), depth=a.depth + 1, free=a.free)
        if es is None or all(e.const for e in es):
            vals = known if es is None else [e.value for e in es]
            s = self.name("_set", frozenset(v for v in vals if v is not None))
            miss = "None" if None in vals else "0"
            return self.fold(E("(None if (%s := %s) is None else (1 if %s in %s else %s))" % (
                t, a.code, t, s, miss), pred="(%s in %s)" % (a.code, s), isbool=True,
                depth=a.depth + 2, free=a.free))
        es = [self.sub(e) for e in es]
        lt = self.tmp()
        tup = "(%s,)" % ", ".join(e.code for e in es)
        free = tuple(f for f in _free(*es) if f != t) + a.free
        if all(_per_statement(e) for e in es):
            # the list reads parameters only: built once per statement (ctx.cache), not once per row
            k = self.name("_inkey", object())
            tup = "(%s if (%s := ctx.cache.get(%s)) is not None else ctx.cache.setdefault(%s, %s))" % (
                lt, lt, k, k, tup)
        return E("(None if (%s := %s) is None else (1 if %s in (%s := %s) else (None if None in %s else 0)))" % (
            t, a.code, t, lt, tup, lt), pred="((%s := %s) is not None and %s in %s)" % (t, a.code, t, tup),
            isbool=True, depth=_depth(a, *es) + 2, free=free)

    def in_list_parameter(self, lhs, a, item):
        """``lhs IN (list parameter)``: one set, built once per statement from the list's values
        converted and folded as each ``lhs = value`` would convert and fold them (SQLite's rules:
        Python's equality on the converted values is SQL's, 1 = 1.0, text never equals a blob)."""
        conv = self.conversions(lhs, item)[1]
        convert = None if conv is None else O.numeric_affinity if conv == "num" else O.text_affinity
        fold = V.collation_fold(self.collation(lhs, item))
        if fold is not None:
            a = E("%s(%s)" % ("_fold" if fold is V.fold_nocase else "_rtrim", a.code), depth=a.depth + 1,
                  free=a.free)
        k = self.name("_inkey", object())
        make = self.name("_f", lambda v: O.membership_set(v, convert, fold))
        t, st = self.tmp(), self.tmp()
        s = "(%s if (%s := ctx.cache.get(%s)) is not None else ctx.cache.setdefault(%s, %s(P[%r])))" % (
            st, st, k, k, make, item.name)
        return E("(None if (%s := %s) is None else (1 if %s in (%s := %s) else (None if None in %s else 0)))" % (
            t, a.code, t, st, s, st), pred="((%s := %s) is not None and %s in %s)" % (t, a.code, t, s),
            isbool=True, depth=a.depth + 2, free=a.free)

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

    def like(self, node, escape=None, negate=False):
        if isinstance(node, exp.Escape):
            return self.like(node.this, node.expression, negate)
        negate = negate != bool(node.args.get("negate"))
        kind = {exp.Like: "like", exp.Glob: "glob", exp.RegexpLike: "regexp"}[type(node)]
        s, p = self.sub(self.expr(node.this)), self.sub(self.expr(node.expression))
        esc = self.sub(self.expr(escape)) if escape is not None else None
        if p.const and (esc is None or esc.const):
            m = O.pattern_matcher(kind, p.value, esc.value if esc is not None else None, esc is not None)
            e = self.const(None) if m is None else self.call(m, s, isbool=True)
        elif esc is not None:
            e = self.call(O.like_escape, s, p, esc, isbool=True)
        elif kind == "like":
            ts, tp = self.tmp(), self.tmp()
            e = E("(0 if type(%s := %s) is bytes or type(%s := %s) is bytes else None if %s is None or %s is None "
                  "else 1 if (_LIKE0.get(%s) or _likem(%s))(%s if type(%s) is str else _txt(%s)) else 0)" % (
                      ts, s.code, tp, p.code, ts, tp, tp, tp, ts, ts, ts), isbool=True, depth=_depth(s, p) + 2,
                  free=_free(s, p))
        else:
            e = self.call(O.MATCHERS[kind], s, p, isbool=True)
        return self.negate(e) if negate else e

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
            return self.call(O.concat_op, a, b)
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
        aff = V.affinity_of_type(type_name(node.to))
        return self.call(O.CASTS[aff], self.expr(node.this))

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


_OPS = {exp.EQ: "==", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
_ARITH = {exp.Add: O.add, exp.Sub: O.sub, exp.Mul: O.mul, exp.Div: O.div, exp.Mod: O.mod,
          exp.BitwiseAnd: O.bit_and, exp.BitwiseOr: O.bit_or, exp.BitwiseLeftShift: O.shift_left,
          exp.BitwiseRightShift: O.shift_right}
_INLINE = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*"}
_INT_RE = re.compile(r"[0-9]+")


NOT_LITERAL = object()


def literal_value(node):
    """The value of a literal (a number, a string, NULL), else NOT_LITERAL: what a long list of
    constants is made of, read without compiling an expression per value."""
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    return None if isinstance(node, exp.Null) else NOT_LITERAL


def _number(text):
    if _INT_RE.fullmatch(text):
        v = int(text)
        if v <= V.INT_MAX:
            return v
    return V.atof(text)[1]




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


def _tuple_aware(h):
    def handler(c, n):
        if isinstance(n.this, exp.Tuple) or isinstance(n.expression, exp.Tuple):
            return c.tuple_compare(n)
        return h(c, n)
    return handler


_C = ExprCompiler
_HANDLERS = {
    exp.Literal: _C.literal, exp.Null: lambda c, n: c.const(None),
    exp.Boolean: lambda c, n: c.const(1 if n.this else 0),
    exp.HexString: lambda c, n: c.const(bytes.fromhex(n.this)),
    exp.Column: _C.column, exp.Placeholder: _C.placeholder, exp.Parameter: _C.placeholder,
    exp.Paren: _C.paren, exp.Alias: _C.paren, exp.Collate: _C.collate,
    exp.Neg: _C.neg, exp.BitwiseNot: lambda c, n: c.call(O.bit_not, c.expr(n.this)),
    exp.Is: _C.is_, exp.NullSafeEQ: lambda c, n: c.is_(n), exp.NullSafeNEQ: lambda c, n: c.is_(n, negate=True),
    exp.Between: _C.between, exp.And: _C.and_node, exp.Or: _C.or_node, exp.Not: _C.not_, exp.In: _C.in_,
    exp.Like: _C.like, exp.Glob: _C.like, exp.RegexpLike: _C.like, exp.Escape: _C.like,
    exp.DPipe: _C.chain, exp.Cast: _C.cast, exp.TryCast: _C.cast, exp.Case: _C.case,
    exp.If: _C.iif, exp.Coalesce: _C.coalesce, exp.Nullif: _C.nullif,
    exp.Subquery: _C.subquery, exp.Exists: _C.exists,
    exp.CurrentTimestamp: _C.now, exp.CurrentDate: _C.now, exp.CurrentTime: _C.now,
    exp.Anonymous: _C.anonymous,
}
_HANDLERS.update({cls: _C.chain for cls in _ARITH})
_HANDLERS.update({cls: _tuple_aware(_C.binary_compare) for cls in _OPS})
_CHAIN = set(_ARITH) | {exp.DPipe}
ExprCompiler.HANDLERS = _HANDLERS


# ---------------------------------------------------------------------------------------------------
# public API


def compile_expr(node, scope):
    """A function ``f(row, ctx) -> value`` computing node (a sqlglot expression) for a row."""
    return _compile(node, scope, False)


def compile_predicate(node, scope):
    """A function ``f(row, ctx)`` whose Python truth is the SQL truth of node (NULL is false)."""
    return _compile(node, scope, True)


def _compile(node, scope, predicate):
    c = ExprCompiler(scope)
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
    return compile_expr(node, NoScope())((), ctx)


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
    """The text of a select-list item as written: from the leaf with the first source position, back
    to the "," or SELECT before the item, then forward to the "," or keyword after it. A leaf inside
    a subquery (``(SELECT 1) + 1``, ``EXISTS (SELECT ...)``) first backs out of the subquery's
    parentheses, one per enclosing SELECT below ``node``."""
    leaves = [n for n in node.walk() if "start" in n.meta]
    if not leaves:
        return None
    leaf = min(leaves, key=lambda n: n.meta["start"])
    nested, p = 0, leaf
    while p is not node and p is not None:
        nested += isinstance(p, exp.Select)
        p = p.parent
    from rome.sql.parse import RomeSQLite
    try:
        tokens = RomeSQLite().tokenize(sql)
    except Exception:
        return None
    start = leaf.meta["start"]
    idx = next((i for i, t in enumerate(tokens) if t.start == start), None)
    if idx is None:
        return None
    depth, i = 0, idx    # back up to the delimiter before the projection: "," or SELECT at its depth
    while i > 0:
        t = tokens[i - 1]
        if depth == 0 and not nested and (t.text == "," or t.text.upper() in ("SELECT", "DISTINCT", "ALL")):
            break
        if t.text == ")":
            depth += 1
        elif t.text == "(":
            if depth > 0:
                depth -= 1
            elif nested:
                nested -= 1
        i -= 1
    depth = 0
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


__all__ = ["compile_expr", "compile_predicate", "is_constant", "constant_value", "expr_name"]


_PARAM_NAMES = re.compile(r"P\['([^']*)'\]")


def _per_statement(e):
    """True when a compiled subexpression has the same value for every row of a statement: it reads
    no column, no temporary, nothing of ctx but the statement's own parameters (not the outer-row
    parameters "__o..." of a correlated subquery, which change between runs sharing ctx.cache)."""
    return not e.free and "row" not in e.code and "ctx" not in e.code and \
        not any(n.startswith("__") for n in _PARAM_NAMES.findall(e.code))
