"""SELECT: planning a query block into a pipeline of compiled steps, and running it.

    FROM/JOIN   nested loops over the sources in FROM order; each table read through the access path
                chosen for it (rome.sql.access), probed with the columns of the sources before it, so a
                join on an indexed column is one lookup per outer row. A derived table, or a table with
                no usable index on the join key, is read once and probed through a hash table.
                Each WHERE/ON conjunct is checked at the first level where its columns exist.
    GROUP BY    hash aggregation; aggregates and group keys become slots of a second scope.
    SELECT      projection; DISTINCT keeps the first row of each distinct output.
    ORDER BY    a sort, unless the first source's path already returns rows in that order; then
                LIMIT/OFFSET stop the pipeline as soon as enough rows came out.

Plans hold compiled closures and no transaction state: a plan is cached per SQL string and catalog
version (rome.sql.session) and runs against any transaction through ``ctx``.
"""
import itertools
import operator
import re

from sqlglot import exp

from rome.errors import ProgrammingError
from rome.sql import prefetch
from rome.sql.access import Access, choose, classify
from rome.sql.expressions import compile_expr, expr_name
from rome.sql.semantics.functions import make_aggregate
from rome.sql.parse import table_name
from rome.sql.tree import collation_of, columns_in, conjuncts, find_aggregates, has_subquery
from rome.sql.scope import Scope, Source
from rome.sql.semantics.values import collation_folds, fold_values, order_rows

JOIN_CHUNK = 256  # outer rows whose inner probes are sent to the store together
FIRST_CHUNK = 64  # the first chunk: a store's first scan batch (a LIMIT may need no more)
_PARAM = re.compile(r":p\d+\b")   # positional parameters as parse() renamed them


class Plan:
    """A runnable query: ``columns`` (output names) and ``run(ctx)`` yielding tuples."""
    columns = ()

    def first_reads(self, ctx):
        return [], []

    def outer_refs(self):
        """(parameter name, getter in the outer scope) of each outer column the plan reads: none
        for an uncorrelated query, whose result is then computed once per statement."""
        return []

    def explain(self, depth=0):
        return []


class Level:
    """One FROM source in the nested loop."""

    def __init__(self, source, kind):
        self.source = source      # scope.Source
        self.kind = kind          # "inner" or "left"
        self.conds = []           # conjunct nodes checked when the row is joined
        self.post = []            # WHERE conjuncts for a LEFT level: checked after null-extension
        self.access = None
        self.derived = None
        self.hash_key = None      # (column position in source, compiled probe) for hash joins
        self.probe_depth = 0      # the last earlier level its probe values read
        self.warm_at = None       # the level whose chunks send this level's probes (0: at the start)
        self.chained = None       # when the store runs its probes (rome.sql.prefetch): whether each is a point
        self.probe_nodes = []     # the constant sides of the conjuncts its access path uses
        self.filter = None
        self.post_filter = None
        self.describe = ""


class SelectPlan(Plan):
    def __init__(self, planner, node, outer):
        self.planner = planner
        self.node = node
        self.scope = Scope(outer=outer, planner=planner)
        self.levels = []
        self.textual = []
        self.sort = None
        self.ordered_by_path = False
        self._build()

    # -- planning -------------------------------------------------------------------------------
    def _build(self):
        node, scope, planner = self.node, self.scope, self.planner
        if node.args.get("with_"):
            raise ProgrammingError("WITH (common table expressions) is not supported")
        frm = node.args.get("from_")
        joins = node.args.get("joins") or []
        reordered = frm is not None and self._reorder(frm, joins)
        if reordered:
            for src in reordered:
                self._add_source(src, "inner")
        elif frm is not None:
            self._add_source(frm.this, "inner")
            for j in joins:
                side = (j.side or "").upper()
                kind = "left" if side == "LEFT" else "inner"
                if side in ("RIGHT", "FULL"):
                    raise ProgrammingError("%s JOIN is not supported" % side)
                lvl = self._add_source(j.this, kind)
                if j.args.get("using"):
                    for ident in j.args["using"]:
                        prev = self._find_earlier(ident.name, len(self.levels) - 1)
                        lvl.conds.append(exp.EQ(this=exp.column(ident.name, table=prev),
                                                expression=exp.column(ident.name, table=lvl.source.alias)))
                lvl.conds.extend(conjuncts(j.args.get("on")))
        self.items, self.columns = self._expand_select()
        where = conjuncts(node.args["where"].this) if node.args.get("where") else []
        if reordered:
            for j in joins:
                where += conjuncts(j.args.get("on"))
        self._place(where)
        self.aggs = []
        group = node.args.get("group")
        having = node.args.get("having")
        order = node.args.get("order")
        for e in self.items:
            self.aggs += find_aggregates(e)
        if having is not None:
            self.aggs += find_aggregates(having.this)
        if order is not None:
            for o in order.expressions:
                self.aggs += find_aggregates(o.this)
        self.grouped = bool(self.aggs) or group is not None
        scope.aliases = {}
        for item in node.expressions:
            if isinstance(item, exp.Alias):
                scope.aliases[item.alias.lower()] = item.this
        order_cols = self._order_columns(order) if (order is not None and not self.grouped) else None
        self._plan_levels(order_cols)
        self._plan_output(group, having, order)
        self.limit = planner.compile_const(node.args["limit"].expression) if node.args.get("limit") else None
        self.offset = planner.compile_const(node.args["offset"].expression) if node.args.get("offset") else None
        self.distinct = bool(node.args.get("distinct"))

    def _reorder(self, frm, joins):
        """For a FROM of inner joins over tables only, the order to join them in (or None to keep
        the written one). Greedy, as SQLite's planner does for small joins: first the table with
        the best access path given the constants alone, then, each time, the one best reached from
        the tables already placed (an index on the join key beats a scan). Ties keep the written
        order; the output columns of * keep it too."""
        srcs = [frm.this] + [j.this for j in joins]
        self.textual = [s.alias_or_name.lower() for s in srcs]
        if len(srcs) < 2 or not all(isinstance(s, exp.Table) and not isinstance(s.this, exp.Anonymous)
                                    for s in srcs):
            return None
        for j in joins:
            if (j.side or "").upper() or (j.kind or "").upper() not in ("", "INNER", "CROSS") \
                    or j.args.get("using"):
                return None
        planner = self.planner
        tables = [planner.table(table_name(s)) for s in srcs]
        tmp = Scope(outer=self.scope.outer, planner=planner)
        for s, t in zip(srcs, tables):
            tmp.add_source(Source(s.alias_or_name, [c.name for c in t.columns], tmp.width, t))
        conds = conjuncts(self.node.args["where"].this) if self.node.args.get("where") else []
        for j in joins:
            conds += conjuncts(j.args.get("on"))

        def owner(c):
            try:
                pos = tmp.resolve(c)
            except ProgrammingError:
                return -2
            if pos is None:
                return -1
            return next(i for i, s in enumerate(tmp.sources) if s.offset <= pos < s.offset + len(s.columns))
        order, placed = [], set()
        while len(order) < len(srcs):
            best = None
            for i, t in enumerate(tables):
                if i in placed:
                    continue

                def table_col(node, i=i):
                    return tmp.resolve(node) - tmp.sources[i].offset if owner(node) == i else None

                def is_const(node):
                    if has_subquery(node) or find_aggregates(node):
                        return False
                    return all(owner(c) in placed or owner(c) == -1 for c in columns_in(node))
                bounds = [b for b in (classify(c, table_col, is_const, tmp.collation) for c in conds) if b is not None]
                score = choose(t, planner.layout(t), bounds).score()
                if best is None or score > best[0]:
                    best = (score, i)
            order.append(best[1])
            placed.add(best[1])
        if order == list(range(len(srcs))):
            return None
        return [srcs[i] for i in order]

    def _find_earlier(self, name, upto):
        for lvl in self.levels[:upto]:
            if lvl.source.find(name) is not None:
                return lvl.source.alias
        raise ProgrammingError("cannot join using column %s" % name)

    def _add_source(self, src, kind):
        scope, planner = self.scope, self.planner
        if isinstance(src, exp.Table) and not isinstance(src.this, exp.Anonymous):
            table = planner.table(table_name(src))
            alias = src.alias_or_name
            source = Source(alias, [c.name for c in table.columns], scope.width, table)
        elif isinstance(src, exp.Subquery):
            sub = planner.plan_query(src.this, None)
            alias = src.alias_or_name or "subquery_%d" % len(self.levels)
            source = Source(alias, list(sub.columns), scope.width)
        else:
            raise ProgrammingError("unsupported FROM item: %s" % src.sql(dialect="sqlite"))
        scope.add_source(source)
        lvl = Level(source, kind)
        if source.table is None:
            lvl.derived = sub
        self.levels.append(lvl)
        return lvl

    def _expand_select(self):
        items, names = [], []
        for e in self.node.expressions:
            star = e if isinstance(e, exp.Star) else (e.this if isinstance(e, exp.Column) and isinstance(e.this, exp.Star) else None)
            if star is not None:
                table = e.table if isinstance(e, exp.Column) else None
                written = {a: i for i, a in enumerate(self.textual)}
                srcs = [self.scope.source(table)] if table else \
                    sorted((lv.source for lv in self.levels), key=lambda s: written.get(s.alias.lower(), 0))
                if table and srcs[0] is None:
                    raise ProgrammingError("no such table: %s" % table)
                if not srcs:
                    raise ProgrammingError("no tables specified")
                for s in srcs:
                    for c in s.columns:
                        items.append(exp.column(c, table=s.alias, quoted=True))
                        names.append(c)
                continue
            items.append(e.this if isinstance(e, exp.Alias) else e)
            names.append(self._name(e))
        return items, names

    def _name(self, e):
        """SQLite's result-column name: the alias, the declared name of a bare column, else the
        expression as written."""
        if isinstance(e, exp.Column) and not isinstance(e.this, exp.Star):
            try:
                pos = self.scope.resolve(e)
            except ProgrammingError:
                pos = None
            if pos is not None:
                for lvl in self.levels:
                    s = lvl.source
                    if s.offset <= pos < s.offset + len(s.columns):
                        return s.columns[pos - s.offset]
        return _PARAM.sub("?", expr_name(e, self.planner.sql_text))

    def _position(self, node):
        """The position of column node in this block's rows, or None (an outer column, or an
        unqualified name inside a subquery, resolved there)."""
        try:
            return self.scope.resolve(node)
        except ProgrammingError:
            return None

    def _level_of(self, node):
        """Index of the last level a node's columns need (-1: none / only outer)."""
        last = -1
        for c in columns_in(node):
            pos = self._position(c)
            if pos is None:
                continue
            for i, lvl in enumerate(self.levels):
                s = lvl.source
                if s.offset <= pos < s.offset + len(s.columns):
                    last = max(last, i)
        return last

    def _place(self, where):
        self.pre = []   # conjuncts that need no source: checked once per row of the first level
        for c in where:
            i = self._level_of(c)
            if i < 0:
                self.pre.append(c)
                continue
            lvl = self.levels[i]
            # A WHERE conjunct on a LEFT level must see the null-extended row; when an earlier-level
            # row exists, any LEFT level >= i would also need post-checking, handled by placing at i.
            if lvl.kind == "left" or any(lv.kind == "left" for lv in self.levels[:i + 1][1:]):
                (lvl.post if lvl.kind == "left" else lvl.conds).append(c)
            else:
                lvl.conds.append(c)
        # ON conjuncts that only mention earlier levels stay at their own level (they gate the join).

    def _order_columns(self, order):
        """[(position in the first source, desc, collation)] if ORDER BY is only plain columns of the
        first source (each maybe with a COLLATE)."""
        if not self.levels or self.levels[0].source.table is None:
            return None
        first = self.levels[0].source
        out = []
        for o in order.expressions:
            e = o.this
            if isinstance(e, exp.Column) and not e.table and e.name.lower() in self.scope.aliases:
                e = self.scope.aliases[e.name.lower()]
            coll = collation_of([e], self.scope.collation)
            if isinstance(e, exp.Collate):
                e = e.this
            if not isinstance(e, exp.Column):
                return None
            pos = self.scope.resolve(e)
            if pos is None or not first.offset <= pos < first.offset + len(first.columns):
                return None
            desc = bool(o.args.get("desc"))
            nulls_first = o.args.get("nulls_first")
            if nulls_first is not None and bool(nulls_first) == desc:
                return None  # explicit NULLS placement opposite to the index order
            out.append((pos - first.offset, desc, coll))
        return out

    def _needed(self, source):
        if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
               for e in self.node.expressions):
            return None
        names = {c.name.lower() for c in columns_in(self.node)}
        return {i for i, c in enumerate(source.columns) if c.lower() in names}

    def _decode_needed(self, i, source, rest):
        """Columns of level i's source that the query still reads once its access path has done its
        part (consumed conjuncts and an ORDER BY the path satisfies need no decoding)."""
        nodes = list(self.items) + list(rest) + list(self.pre) + list(self.levels[i].post)
        for j, lvl in enumerate(self.levels):
            if j != i:
                nodes += lvl.conds + lvl.post
        for arg in ("group", "having"):
            if self.node.args.get(arg) is not None:
                nodes.append(self.node.args[arg])
        order = self.node.args.get("order")
        if order is not None and not (i == 0 and self.ordered_by_path):
            nodes.append(order)
        names = {c.name.lower() for n in nodes for c in ([n] if isinstance(n, exp.Column) else columns_in(n))}
        return {k for k, c in enumerate(source.columns) if c.lower() in names}

    def _uncorrelated(self, node):
        """Whether a subquery reads nothing of this query or its outer ones (its value is the same
        for every row, so an index can be probed with it)."""
        return not self.planner.plan_query(node, self.scope).outer_refs()

    def _plan_levels(self, order_cols):
        scope, planner = self.scope, self.planner
        for i, lvl in enumerate(self.levels):
            s = lvl.source
            lo, hi = s.offset, s.offset + len(s.columns)

            def table_col(node, lo=lo, hi=hi):
                pos = scope.resolve(node)
                return pos - lo if pos is not None and lo <= pos < hi else None

            def is_const(node, lo=lo):
                if isinstance(node, exp.Subquery) and self._uncorrelated(node):
                    return True   # a scalar subquery: one value per statement (cached in ctx)
                if has_subquery(node) or find_aggregates(node):
                    return False
                for c in columns_in(node):
                    try:
                        pos = scope.resolve(c)
                    except ProgrammingError:
                        return False
                    if pos is not None and pos >= lo:
                        return False
                return True
            bounds = [b for b in (classify(c, table_col, is_const, scope.collation) for c in lvl.conds)
                      if b is not None]
            lvl.probe_depth = max([self._level_of(b.node if b.op is not exp.EQ else b.value)
                                   for b in bounds] + [0])
            compile_const = lambda n: compile_expr(n, scope)  # noqa: E731 - probes read earlier levels
            if s.table is not None:
                rows = planner.layout(s.table)
                path = choose(s.table, rows, bounds, order_cols if i == 0 else None, self._needed(s),
                              self.node.args.get("limit") is not None)
                if i == 0 and order_cols and path.ordered:
                    self.ordered_by_path = True
                eqs = [b for b in bounds if b.op is exp.EQ and b.coll is None]   # hash tables compare as BINARY
                if path.kind == "scan" and i > 0 and eqs:
                    b = eqs[0]
                    lvl.hash_key = (b.col, compile_const(b.value))
                    rest = [c for c in lvl.conds if c is not b.node]
                    lvl.describe = "SCAN %s (HASH JOIN ON %s)" % (s.alias, s.columns[b.col])
                    lvl.access = Access(rows, path, compile_const)
                else:
                    lvl.access = Access(rows, path, compile_const)
                    lvl.describe = path.describe(s.alias if s.alias == s.table.name else "%s AS %s" % (s.table.name, s.alias), s.columns)
                    used = {id(n) for n in path.used}
                    rest = [c for c in lvl.conds if id(c) not in used]
                    lvl.probe_nodes = prefetch.path_values(path)
                    if i > 0 and path.kind != "scan":
                        lvl.warm_at = lvl.probe_depth + 1
                    if path.covering:
                        path.needed = self._decode_needed(i, s, rest)
            else:
                eqs = [b for b in bounds if b.op is exp.EQ and b.coll is None]   # hash tables compare as BINARY
                rest = lvl.conds
                if eqs:
                    b = eqs[0]
                    lvl.hash_key = (b.col, compile_const(b.value))
                    rest = [c for c in lvl.conds if c is not b.node]
                lvl.describe = "SCAN SUBQUERY %s%s" % (s.alias, " (HASH JOIN ON %s)" % s.columns[lvl.hash_key[0]] if lvl.hash_key else "")
            lvl.filter = planner.compile_predicate(rest, scope)
            lvl.post_filter = planner.compile_predicate(lvl.post, scope)
        self.pre_filter = planner.compile_predicate(self.pre, scope)
        prefetch.plan_start_reads(self)
        prefetch.plan_chains(self)

    def _plan_output(self, group, having, order):
        scope, planner = self.scope, self.planner
        if self.grouped:
            gscope = Scope(scope.sources, outer=scope.outer, planner=planner)
            gscope.outer_refs = scope.outer_refs
            gscope._outer_names = scope._outer_names
            gscope.aliases = scope.aliases
            keys = []
            if group is not None:
                for g in group.expressions:
                    if isinstance(g, exp.Literal) and not g.is_string:
                        g = self.items[int(g.this) - 1]
                    elif isinstance(g, exp.Column) and not g.table and scope.resolve(g) is None \
                            and g.name.lower() in scope.aliases:
                        g = scope.aliases[g.name.lower()]
                    if g not in keys:
                        keys.append(g)
            self.group_keys = [compile_expr(k, scope) for k in keys]
            self.group_folds = collation_folds(collation_of([k], scope.collation) for k in keys)
            for k in keys:
                gscope.slots.setdefault(k, gscope.width + len(gscope.slots))
            self.agg_specs = []
            seen = {}
            for a in self.aggs:
                if a in seen:
                    continue
                seen[a] = True
                gscope.slots[a] = gscope.width + len(gscope.slots)
                self.agg_specs.append(self._agg_spec(a))
            out_scope = gscope
            self.having = planner.compile_predicate(conjuncts(having.this), gscope) if having is not None else None
        else:
            out_scope = scope
            self.having = None
        self.out_scope = out_scope
        self.project = [compile_expr(e, out_scope) for e in self.items]
        self.distinct_folds = collation_folds(collation_of([e], scope.collation) for e in self.items)
        self.project_row = self._projection(out_scope)
        self.sort = None
        if order is not None and not self.ordered_by_path:
            keys = []
            for o in order.expressions:
                keys.append((self._order_key(o.this, out_scope), bool(o.args.get("desc")), o.args.get("nulls_first"),
                             self._term_collation(o.this)))
            self.sort = keys

    def _term_collation(self, e):
        """The collation an ORDER BY term sorts by: its own COLLATE, or that of the column it names
        (through an output alias or position too)."""
        if isinstance(e, exp.Literal) and not e.is_string and 0 < int(e.this) <= len(self.items):
            e = self.items[int(e.this) - 1]
        elif isinstance(e, exp.Column) and not e.table:
            e = self.scope.aliases.get(e.name.lower(), e)   # an output alias first, as _order_key
        return collation_of([e], self.scope.collation)

    def _projection(self, out_scope):
        """A fast row -> output function when every output is a plain column (None otherwise)."""
        idx = []
        for e in self.items:
            if not isinstance(e, exp.Column) or out_scope.slots.get(e) is not None:
                return None
            try:
                i = out_scope.resolve(e)
            except ProgrammingError:
                return None
            if i is None:
                return None
            idx.append(i)
        if idx == list(range(out_scope.width)):
            return tuple
        if len(idx) == 1:
            i = idx[0]
            return lambda r: (r[i],)
        return operator.itemgetter(*idx)

    def _order_key(self, e, out_scope):
        """ORDER BY term: a position, an output alias, or an expression over the sources.
        Returns ('out', i) to sort on output column i, or ('row', fn)."""
        if isinstance(e, exp.Literal) and not e.is_string:
            i = int(e.this) - 1
            if not 0 <= i < len(self.items):
                raise ProgrammingError("ORDER BY term out of range: %s" % e.this)
            return ("out", i)
        if isinstance(e, exp.Column) and not e.table:
            for i, item in enumerate(self.node.expressions):
                if isinstance(item, exp.Alias) and item.alias.lower() == e.name.lower():
                    return ("out", self._item_index(item))
        for i, item in enumerate(self.items):
            if item == e:
                return ("out", i)
        return ("row", compile_expr(e, out_scope))

    def _item_index(self, item):
        target = item.this
        for i, it in enumerate(self.items):
            if it is target:
                return i
        return 0

    def _agg_spec(self, a):
        name = "total" if isinstance(a, exp.Anonymous) else a.key.lower()
        arg = a.this
        distinct = False
        sep = None
        if isinstance(a, exp.Anonymous):
            arg = a.expressions[0] if a.expressions else None
        if isinstance(arg, exp.Distinct):
            distinct = True
            arg = arg.expressions[0]
        if isinstance(a, exp.GroupConcat):
            sep = a.args.get("separator")
            if isinstance(arg, exp.Order):
                arg = arg.this
        if isinstance(arg, exp.Star) or (name == "count" and arg is None):
            fn = None
        else:
            fn = compile_expr(arg, self.scope)
        sep_fn = compile_expr(sep, self.scope) if sep is not None else None
        coll = collation_of([arg], self.scope.collation) if fn is not None else None
        return name, distinct, fn, sep_fn, coll

    def outer_refs(self):
        return self.scope.outer_refs

    # -- running ----------------------------------------------------------------------------------
    def source_rows(self, ctx, hint=None):
        """The joined rows (tuples over all sources) that pass WHERE, as an iterator. hint: how many
        rows the caller will take at most, when it knows (LIMIT on a single unfiltered table), so
        that index scans fetch no more rows than needed."""
        levels = self.levels
        pre = self.pre_filter
        if pre is not None and not pre((), ctx):
            return iter(())
        if not levels:
            return iter(((),))
        txn = ctx.session.txn
        if getattr(txn, "can_warm", False) and ctx.cache.pop((id(self), "started"), None) is None:
            keys, ranges = prefetch.start_reads(self, ctx)
            if keys or ranges:  # a join filters the first rows: read a chunk's worth at once
                txn.warm(keys, ranges, whole=hint is None, batch=JOIN_CHUNK if len(levels) > 1 else None)
        lvl = levels[0]
        if len(levels) == 1 and lvl.derived is None and lvl.hash_key is None and lvl.kind == "inner":
            flt = lvl.filter   # one table: no join bookkeeping
            if flt is None:
                return lvl.access.rows((), ctx, hint)
            return (r for r in lvl.access.rows((), ctx) if flt(r, ctx))
        return self._joined(ctx)

    def _probe(self, lvl, left, ctx):
        if lvl.derived is not None:
            rows = ctx.cache.get(id(lvl))
            if rows is None:
                rows = ctx.cache[id(lvl)] = list(lvl.derived.run(ctx))
                if lvl.hash_key is not None:
                    idx = {}
                    col = lvl.hash_key[0]
                    for r in rows:
                        if r[col] is not None:
                            idx.setdefault(r[col], []).append(r)
                    ctx.cache[id(lvl)] = rows = idx
            if lvl.hash_key is not None:
                return rows.get(lvl.hash_key[1](left, ctx), ())
            return rows
        if lvl.hash_key is not None:
            idx = ctx.cache.get(id(lvl))
            if idx is None:
                idx = {}
                col = lvl.hash_key[0]
                for _k, r in lvl.access.scan((), ctx):
                    if r[col] is not None:
                        idx.setdefault(r[col], []).append(r)
                ctx.cache[id(lvl)] = idx
            return idx.get(lvl.hash_key[1](left, ctx), ())
        return lvl.access.rows(left, ctx)

    def first_reads(self, ctx):
        """(keys, ranges) to send before running, when they need no outer row: a compound query
        sends those of all its branches in one round trip before running them."""
        if self.scope.outer_refs:
            return [], []
        ctx.cache[(id(self), "started")] = True   # sent by the caller: source_rows does not again
        return prefetch.start_reads(self, ctx)

    def _joined(self, ctx):
        """The nested loop as a pipeline of levels: each level takes the rows joined so far, in
        chunks, and extends them with its source's matching rows (null-extended for a LEFT join
        without a match). On a store with round trips, a chunk's probes are sent together first
        (Transaction.warm): one round trip per level per chunk instead of one per outer row."""
        warm = getattr(ctx.session.txn, "can_warm", False)
        rows = self._extend(0, iter(((),)), ctx, False)
        for i in range(1, len(self.levels)):
            rows = self._extend(i, rows, ctx, warm and any(lv.warm_at == i for lv in self.levels[i:]))
        return rows

    def _extend(self, i, lefts, ctx, warm):
        lvl = self.levels[i]
        flt, post, left_join = lvl.filter, lvl.post_filter, lvl.kind == "left"
        nulls = (None,) * len(lvl.source.columns)
        size = FIRST_CHUNK
        # Levels the store probes itself (chained) are warm already: small chunks then pull no more
        # outer rows than needed. Other levels' chunks grow, one round trip each.
        grow = any(lv.warm_at == i and lv.chained is None for lv in self.levels[i:])
        while True:
            chunk = list(itertools.islice(lefts, size)) if warm else lefts
            if grow:
                size = JOIN_CHUNK
            if warm:
                if not chunk:
                    return
                prefetch.warm(self, i, chunk, ctx)
            for left in chunk:
                matched = False
                for r in self._probe(lvl, left, ctx):
                    row = left + r
                    if flt is not None and not flt(row, ctx):
                        continue
                    matched = True
                    if post is None or post(row, ctx):
                        yield row
                if left_join and not matched:
                    row = left + nulls
                    if post is None or post(row, ctx):
                        yield row
            if not warm:
                return

    def _grouped_rows(self, ctx):
        groups = {}
        keys = self.group_keys
        specs = self.agg_specs
        folds = self.group_folds
        for row in self.source_rows(ctx):
            k = tuple([f(row, ctx) for f in keys])
            fk = k if folds is None else fold_values(folds, k)   # groups by collation; shows a row's values
            g = groups.get(fk)
            if g is None:
                g = groups[fk] = [row, [make_aggregate(n, d, c) for n, d, _f, _s, c in specs], k]
            else:
                g[0], g[2] = row, k
            for (name, _d, fn, sep, _c), acc in zip(specs, g[1]):
                if fn is None:
                    acc.step(1)
                elif sep is not None:
                    acc.step(fn(row, ctx), sep(row, ctx))
                else:
                    acc.step(fn(row, ctx))
        if not groups and not keys:
            groups[()] = [(None,) * self.scope.width, [make_aggregate(n, d, c) for n, d, _f, _s, c in specs], ()]
        for row, accs, k in groups.values():
            yield row + k + tuple(a.result() for a in accs)

    def run(self, ctx):
        limit = self.limit(None, ctx) if self.limit is not None else None
        offset = self.offset(None, ctx) if self.offset is not None else 0
        limit = None if limit is None or limit < 0 else int(limit)
        offset = 0 if offset is None or offset < 0 else int(offset)
        if self.grouped:
            rows = self._grouped_rows(ctx)
        else:
            streaming = limit is not None and self.sort is None and not self.distinct
            rows = self.source_rows(ctx, offset + limit if streaming else None)
        if self.having is not None:
            having = self.having
            rows = (r for r in rows if having(r, ctx))
        project = self.project
        if self.sort is None and not self.distinct:
            pr = self.project_row
            if pr is not None:
                out = map(pr, rows)
            else:
                out = (tuple([f(r, ctx) for f in project]) for r in rows)
        elif self.sort is None:
            out = _distinct((tuple([f(r, ctx) for f in project]) for r in rows), self.distinct_folds)
        else:
            decorated = []
            row_keys = [(i, k[1]) for i, (k, _d, _n, _c) in enumerate(self.sort) if k[0] == "row"]
            seen = set() if self.distinct else None
            folds = self.distinct_folds
            for r in rows:
                o = tuple([f(r, ctx) for f in project])
                if seen is not None:
                    d = o if folds is None else fold_values(folds, o)
                    if d in seen:
                        continue
                    seen.add(d)
                extra = tuple(f(r, ctx) for _i, f in row_keys)
                decorated.append((o, extra))
            keys = []
            j = 0
            for kind_val, desc, nulls_first, coll in self.sort:
                if kind_val[0] == "out":
                    keys.append(((lambda d, i=kind_val[1]: d[0][i]), desc, nulls_first, coll))
                else:
                    keys.append(((lambda d, i=j: d[1][i]), desc, nulls_first, coll))
                    j += 1
            out = (d[0] for d in order_rows(decorated, keys))
        if offset or limit is not None:
            out = itertools.islice(out, offset, None if limit is None else offset + limit)
        return out

    def explain(self, depth=0):
        pad = "  " * depth
        lines = []
        for lvl in self.levels:
            lines.append(pad + ("LEFT JOIN " if lvl.kind == "left" else "") + lvl.describe)
            if lvl.derived is not None:
                lines += lvl.derived.explain(depth + 1)
        if not self.levels:
            lines.append(pad + "SCAN CONSTANT ROW")
        if self.grouped:
            lines.append(pad + "AGGREGATE" + (" BY %d KEYS" % len(self.group_keys) if self.group_keys else ""))
        if self.distinct:
            lines.append(pad + "DISTINCT")
        if self.sort is not None:
            lines.append(pad + "USE TEMP B-TREE FOR ORDER BY")
        elif self.ordered_by_path:
            lines.append(pad + "ORDER BY FROM INDEX (no sort)")
        if self.limit is not None:
            lines.append(pad + "LIMIT")
        return lines


def _distinct(rows, folds=None):
    """The first row of each distinct row; ``folds``: per column, the fold of its collation."""
    seen = set()
    for r in rows:
        d = r if folds is None else fold_values(folds, r)
        if d not in seen:
            seen.add(d)
            yield r



class CompoundPlan(Plan):
    """UNION [ALL] / INTERSECT / EXCEPT of two queries, then ORDER BY / LIMIT on the result."""

    def __init__(self, planner, node, outer):
        self.left = planner.plan_query(node.this, outer)
        self.right = planner.plan_query(node.expression, outer)
        if len(self.left.columns) != len(self.right.columns):
            raise ProgrammingError("SELECTs to the left and right of %s do not have the same number of "
                                   "result columns" % node.key.upper())
        self.columns = self.left.columns
        self.op = node.key
        self.all = not node.args.get("distinct", True)
        order = node.args.get("order")
        self.sort = None
        if order is not None:
            self.sort = []
            for o in order.expressions:
                e = o.this
                if isinstance(e, exp.Literal) and not e.is_string:
                    i = int(e.this) - 1
                else:
                    names = [c.lower() for c in self.columns]
                    name = e.name.lower() if isinstance(e, exp.Column) else e.sql().lower()
                    if name not in names:
                        raise ProgrammingError("ORDER BY term does not match any column in the result set")
                    i = names.index(name)
                self.sort.append((i, bool(o.args.get("desc")), o.args.get("nulls_first")))
        self.limit = planner.compile_const(node.args["limit"].expression) if node.args.get("limit") else None
        self.offset = planner.compile_const(node.args["offset"].expression) if node.args.get("offset") else None

    def outer_refs(self):
        return self.left.outer_refs() + self.right.outer_refs()

    def first_reads(self, ctx):
        lk, lr = self.left.first_reads(ctx)
        rk, rr = self.right.first_reads(ctx)
        return lk + rk, lr + rr

    def run(self, ctx):
        txn = ctx.session.txn
        if getattr(txn, "can_warm", False):
            keys, ranges = self.first_reads(ctx)
            if keys or ranges:
                txn.warm(keys, ranges, whole=self.limit is None or self.sort is not None)
        left, right = self.left.run(ctx), self.right.run(ctx)
        if self.op == "union":
            rows = itertools.chain(left, right)
            if not self.all:
                rows = _distinct(rows)
        elif self.op == "intersect":
            r = set(right)
            rows = _distinct(x for x in left if x in r)
        else:
            r = set(right)
            rows = _distinct(x for x in left if x not in r)
        if self.sort:
            rows = order_rows(list(rows), [((lambda t, i=i: t[i]), d, n) for i, d, n in self.sort])
        limit = self.limit(None, ctx) if self.limit is not None else None
        offset = self.offset(None, ctx) if self.offset is not None else 0
        limit = None if limit is None or limit < 0 else int(limit)
        offset = 0 if offset is None or offset < 0 else int(offset)
        if offset or limit is not None:
            rows = itertools.islice(rows, offset, None if limit is None else offset + limit)
        return rows

    def explain(self, depth=0):
        pad = "  " * depth
        return ([pad + "COMPOUND %s%s" % (self.op.upper(), " ALL" if self.all else "")]
                + self.left.explain(depth + 1) + self.right.explain(depth + 1))
