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
import sys

from sqlglot import exp

from rome.errors import IntegrityError, NotSupportedError, ProgrammingError
from rome.sql import prefetch
from rome.sql.access import Access, choose, classify
from rome.sql.expressions import compile_expr, expr_name
from rome.sql.semantics.functions import make_aggregate
from rome.sql.parse import table_name
from rome.sql.tree import collation_of, columns_in, conjuncts, find_aggregates, has_subquery
from rome.sql.scope import Scope, Source
from rome.sql.semantics.values import (INT_MAX, INT_MIN, collation_folds, fold_values, numeric_text,
                                       order_rows)

JOIN_CHUNK = 256  # outer rows whose inner probes are sent to the store together
FIRST_CHUNK = 64  # the first chunk: a store's first scan batch (a LIMIT may need no more)
MEMO_ROWS = 64    # a join probe's rows kept for the next outer row that probes the same key
_PARAM = re.compile(r":p(\d+)\b")   # positional parameters as parse() renamed them


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
        self.hash_on = None       # the conjunct the hash join consumes
        self.warm_at = None       # the level whose chunks send this level's probes (0: at the start)
        self.chained = None       # when the store runs its probes (rome.sql.prefetch): whether each is a point
        self.probe_nodes = []     # the constant sides of the conjuncts its access path uses
        self.filter = None
        self.post_filter = None
        self.describe = ""
        self.group_end = None     # a LEFT joined (b JOIN c ...): the index of the group's last level
        self.group_on = []        # its ON conjuncts on a level LEFT joined inside the group
        self.group_filter = None


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
        """Plan the block in one pass, each decision a function of its own:

        1. join order: ``_reorder`` (inner joins over tables only; else the written order);
        2. the FROM sources become levels: ``_add_source`` (a subquery is planned here, recursively);
        3. filter placement: ``_place`` puts each WHERE conjunct at the first level that has its columns;
        4. per level, ``_plan_levels``: the usable bounds (``_bounds``), the access path
           (``_plan_table``) or a hash join (``_hash_join``, ``_plan_derived``), the leftover filter;
           then the networked-store prefetch bookkeeping (rome.sql.prefetch);
        5. output: ``_plan_output`` (grouping and aggregates, projection, the sort unless the first
           level's path already returns rows in ORDER BY order), then LIMIT / OFFSET.
        """
        node, scope, planner = self.node, self.scope, self.planner
        if node.args.get("with_"):
            raise ProgrammingError("WITH (common table expressions) is not supported")
        frm = node.args.get("from_")
        joins = node.args.get("joins") or []
        self.late = []   # ON conjuncts of inner joins that must wait as WHERE's do (see _add_joined)
        reordered = frm is not None and self._reorder(frm, joins)
        if reordered:
            for src in reordered:
                self._add_source(src, "inner")
        elif frm is not None:
            self._add_joined(frm.this, "inner", None)
            for j in joins:
                self._add_joined(j.this, _join_kind(j), j)
        self.items, self.columns = self._expand_select()
        where = (conjuncts(node.args["where"].this) if node.args.get("where") else []) + self.late
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
        if node.args.get("offset") and not node.args.get("limit"):
            raise ProgrammingError('near "OFFSET": syntax error (OFFSET needs a LIMIT; LIMIT -1 for none)')
        self.limit = planner.compile_const(node.args["limit"].expression) if node.args.get("limit") else None
        self.offset = planner.compile_const(node.args["offset"].expression) if node.args.get("offset") else None
        self.distinct = bool(node.args.get("distinct"))

    def _reorder(self, frm, joins):
        """For a FROM of inner joins over tables only, the order to join them in (or None to keep
        the written one). For each table as the first, a greedy order as SQLite's planner builds for
        small joins: then, each time, the table best reached from those already placed (an index on
        the join key beats a scan); the order whose steps score best in sum wins (with a LIMIT, only
        the table best reached from the constants is tried first). Ties keep the written order; the
        output columns of * keep it too."""
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

        def score(i, placed):
            """Table i's best access score once the tables in ``placed`` are joined before it."""
            return path(i, placed).score()

        def path(i, placed):
            """Table i's best access path once the tables in ``placed`` are joined before it."""
            def table_col(node):
                return tmp.resolve(node) - tmp.sources[i].offset if owner(node) == i else None

            def is_const(node):
                if has_subquery(node) or find_aggregates(node):
                    return False
                return all(owner(c) in placed or owner(c) == -1 for c in columns_in(node))
            bounds = [b for b in (classify(c, table_col, is_const, tmp.collation) for c in conds) if b is not None]
            return choose(tables[i], planner.layout(tables[i]), bounds)

        def greedy(first):
            """The order that starts with ``first`` and then takes, each time, the table best reached
            from those placed; with the sum of the scores of its steps."""
            order = [first]
            total = head = score(first, set())
            while len(order) < len(srcs):
                placed = set(order)
                s, i = max((score(i, placed), -i) for i in range(len(srcs)) if i not in placed)
                order.append(-i)
                total += s
            return (total, head), order
        # every table tried first (joins here are small): the best sum of steps wins, then the best
        # first step, then the written order. One look past the first step is what puts a
        # selective-looking table that must then be probed per row (visibility = ? on images, then image_members per image) after
        # a table whose rows each reach the other by its primary key.
        # A table that the constants reach by no key is never tried first when another is: a scan
        # of all its rows costs what no later primary-key step wins back on a large table.
        firsts = [i for i in range(len(srcs)) if path(i, set()).used] or range(len(srcs))
        if self.node.args.get("limit") is not None:
            # with a LIMIT the first table stays the one best reached from the constants alone: its
            # path may return rows in ORDER BY order and stop early, which the sum does not weigh
            firsts = [-max((score(i, set()), -i) for i in firsts)[1]]
        order = max((greedy(i) for i in firsts), key=lambda t: t[0])[1]
        if order == list(range(len(srcs))):
            return None
        return [srcs[i] for i in order]

    def _add_joined(self, src, kind, join):
        """Add a FROM item joined by ``join`` (None for the first): a source, or a parenthesised
        join ``(b JOIN c ON ...)`` whose tables become levels like any others. A group LEFT joined
        is marked on its first level (Level.group_end): it is null-extended as a whole, and its
        levels read through their own access paths. The join's ON conjuncts go to the level where
        their columns are, never before the item's first level."""
        first = len(self.levels)
        nested = _nested_join(src)
        if nested is None:
            self._add_source(src, kind)
        else:
            head, inner = nested
            self._add_joined(head, "inner", None)
            for j in inner:
                self._add_joined(j.this, _join_kind(j), j)
            if kind == "left" and len(self.levels) - 1 > first:
                self.levels[first].group_end = len(self.levels) - 1
            self.levels[first].kind = kind
        if join is None:
            return
        conds = []
        for ident in join.args.get("using") or []:
            prev = self._find_earlier(ident.name, first)
            mine = self._find_in(ident.name, first, len(self.levels))
            conds.append(exp.EQ(this=exp.column(ident.name, table=prev),
                                expression=exp.column(ident.name, table=mine)))
        for c in conds + conjuncts(join.args.get("on")):
            at = max(first, self._level_of(c))
            if not any(lv.kind == "left" for lv in self.levels[first + 1:at + 1]):
                self.levels[at].conds.append(c)
            elif kind == "left":   # on a LEFT level inside the group: checked on the group's rows
                self.levels[first].group_on.append(c)
            else:                  # an inner join's ON is a WHERE conjunct
                self.late.append(c)

    def _find_in(self, name, start, end):
        for lvl in self.levels[start:end]:
            if lvl.source.find(name) is not None:
                return lvl.source.alias
        raise ProgrammingError("cannot join using column %s" % name)

    def _find_earlier(self, name, upto):
        return self._find_in(name, 0, upto)

    def _add_source(self, src, kind):
        scope, planner = self.scope, self.planner
        if isinstance(src, exp.Table) and not isinstance(src.this, exp.Anonymous):
            table = planner.table(table_name(src))
            alias = src.alias_or_name
            source = Source(alias, [c.name for c in table.columns], scope.width, table)
        elif isinstance(src, exp.Subquery):
            if isinstance(src.this, exp.Table) or (isinstance(src.this, exp.Subquery) and src.this.args.get("joins")):
                raise NotSupportedError("a parenthesised join with an alias is not supported: %s"
                                        % src.sql(dialect="sqlite")[:80])
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
        meta = e.root().meta
        numbered = meta.get("rome_numbered", ())
        return _PARAM.sub(lambda m: "?" + m.group(1) if int(m.group(1)) in numbered else "?",
                          expr_name(e, meta.get("rome_sql")))

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

    def _group_heads(self):
        """Per level: the first level of the outermost LEFT joined group it belongs to, or None."""
        heads = [None] * len(self.levels)
        for h, lvl in enumerate(self.levels):
            if lvl.group_end is not None:
                for k in range(h, lvl.group_end + 1):
                    if heads[k] is None:
                        heads[k] = h
        return heads

    def _place(self, where):
        self.pre = []   # conjuncts that need no source: checked once per row of the first level
        heads = self._group_heads()
        for c in where:
            i = self._level_of(c)
            if i < 0:
                self.pre.append(c)
                continue
            if heads[i] is not None:   # checked once the group is joined or null-extended
                self.levels[heads[i]].post.append(c)
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
        nodes = list(self.items) + list(rest) + list(self.pre) + self.levels[i].post + self.levels[i].group_on
        for j, lvl in enumerate(self.levels):
            if j != i:
                nodes += lvl.conds + lvl.post + lvl.group_on
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
        """Per level, in one pass: the bounds its conjuncts give (_bounds), then its access path or
        hash join (_plan_table / _plan_derived), then the filter of the conjuncts left; at the end the
        networked-store prefetch bookkeeping (rome.sql.prefetch)."""
        scope, planner = self.scope, self.planner
        for i, lvl in enumerate(self.levels):
            bounds = self._bounds(lvl)
            if lvl.source.table is not None:
                rest = self._plan_table(i, lvl, bounds, order_cols if i == 0 else None)
            else:
                rest = self._plan_derived(lvl, bounds)
            lvl.filter = planner.compile_predicate(rest, scope)
            lvl.post_filter = planner.compile_predicate(lvl.post, scope)
            lvl.group_filter = planner.compile_predicate(lvl.group_on, scope)
        self.pre_filter = planner.compile_predicate(self.pre, scope)
        prefetch.plan_start_reads(self)
        prefetch.plan_chains(self)
        prefetch.plan_derived_chains(self)

    def _bounds(self, lvl):
        """The conjuncts placed at this level that an access path can use: <column of its source> op
        <something known before its rows are read> (constants, parameters, earlier levels)."""
        scope = self.scope
        s = lvl.source
        lo, hi = s.offset, s.offset + len(s.columns)

        def table_col(node):
            pos = scope.resolve(node)
            return pos - lo if pos is not None and lo <= pos < hi else None

        def is_const(node):
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
        return [b for b in (classify(c, table_col, is_const, scope.collation) for c in lvl.conds)
                if b is not None]

    def _compile_probe(self, node):
        """A probe value: compiled in this block's scope, as it reads earlier levels' columns."""
        return compile_expr(node, self.scope)

    def _plan_table(self, i, lvl, bounds, order_cols):
        """A table level: its access path (rome.sql.access.choose), or a hash join when the path would
        read the whole table (a scan, or a primary key or index read end to end) once per outer row. Returns the conjuncts the path does not consume."""
        s = lvl.source
        rows = self.planner.layout(s.table)
        path = choose(s.table, rows, bounds, order_cols, self._needed(s), self.node.args.get("limit") is not None)
        if i == 0 and order_cols and path.ordered:
            self.ordered_by_path = True
        lvl.access = Access(rows, path, self._compile_probe)
        whole = not path.eq and path.lo is None and path.hi is None   # every row, once per outer row
        if i > 0 and whole and self._hash_join(lvl, bounds):
            return [c for c in lvl.conds if c is not lvl.hash_on]
        lvl.describe = path.describe(s.alias if s.alias == s.table.name else "%s AS %s" % (s.table.name, s.alias),
                                     s.columns)
        used = {id(n) for n in path.used}
        rest = [c for c in lvl.conds if id(c) not in used]
        lvl.probe_nodes = prefetch.path_values(path)
        if i > 0 and path.kind != "scan":
            # the level after the last one its probes read (the path's values: a bound the path does
            # not use, or its own column in ``x IN (...)``, does not delay it)
            lvl.warm_at = max([self._level_of(n) for n in lvl.probe_nodes] + [0]) + 1
        if path.covering:
            path.needed = self._decode_needed(i, s, rest)
        return rest

    def _plan_derived(self, lvl, bounds):
        """A subquery level: run once per statement, then probed through a hash table on an equality
        with earlier levels when there is one. Returns the conjuncts left to filter."""
        s = lvl.source
        if not self._hash_join(lvl, bounds):
            lvl.describe = "SCAN SUBQUERY %s" % s.alias
            return lvl.conds
        lvl.describe = "SCAN SUBQUERY %s (HASH JOIN ON %s)" % (s.alias, s.columns[lvl.hash_key[0]])
        return [c for c in lvl.conds if c is not lvl.hash_on]

    def _hash_join(self, lvl, bounds):
        """Read the level's rows once and probe them through a hash table keyed on the first equality
        with an earlier level (lvl.hash_key: column position, compiled probe). False when there is no
        equality to key it on."""
        eqs = [b for b in bounds if b.op is exp.EQ and b.coll is None]   # hash tables compare as BINARY
        if not eqs:
            return False
        b = eqs[0]
        lvl.hash_key, lvl.hash_on = (b.col, self._compile_probe(b.value)), b.node
        if lvl.source.table is not None:
            lvl.describe = "SCAN %s (HASH JOIN ON %s)" % (lvl.source.alias, lvl.source.columns[b.col])
        return True

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
                    i = _term_position(g, len(self.items), "GROUP BY")
                    if i is not None:
                        g = self.items[i]
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
        i = _term_position(e, len(self.items), "ORDER BY")
        if i is not None:
            e = self.items[i]
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
        i = _term_position(e, len(self.items), "ORDER BY")
        if i is not None:
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
        return self._through(0, len(self.levels), iter(((),)), ctx, warm)

    def _through(self, start, end, rows, ctx, warm, group=False):
        """rows extended by levels start..end-1; ``group``: those of a LEFT joined group, whose
        first level is then joined as an inner one (the group is null-extended as a whole)."""
        i = start
        while i < end:
            lvl = self.levels[i]
            w = warm and i > 0 and any(lv.warm_at == i for lv in self.levels[i:])
            if lvl.group_end is not None and not (group and i == start):
                rows = self._extend_group(i, rows, ctx, w)
                i = lvl.group_end + 1
            else:
                rows = self._extend(i, rows, ctx, w, inner=group and i == start)
                i += 1
        return rows

    def _extend_group(self, h, lefts, ctx, warm):
        """A LEFT JOIN (b JOIN c ...): each row joined through the group's levels, or null-extended
        over all of them when none match; then the WHERE conjuncts on the group's columns."""
        head = self.levels[h]
        levels = self.levels[h:head.group_end + 1]
        post, on = head.post_filter, head.group_filter
        nulls = (None,) * sum(len(lv.source.columns) for lv in levels)
        size = FIRST_CHUNK
        while True:
            chunk = list(itertools.islice(lefts, size)) if warm else lefts
            if warm:
                if not chunk:
                    return
                size = JOIN_CHUNK
                prefetch.warm(self, h, chunk, ctx)
            for left in chunk:
                matched = False
                for row in self._through(h, head.group_end + 1, iter((left,)), ctx, False, group=True):
                    if on is not None and not on(row, ctx):
                        continue
                    matched = True
                    if post is None or post(row, ctx):
                        yield row
                if not matched:
                    row = left + nulls
                    if post is None or post(row, ctx):
                        yield row
            if not warm:
                return

    def _extend(self, i, lefts, ctx, warm, inner=False):
        lvl = self.levels[i]
        flt, post, left_join = lvl.filter, lvl.post_filter, lvl.kind == "left"
        if inner:   # the first level of a group: its WHERE conjuncts wait for the whole group
            post, left_join = None, False
        nulls = (None,) * len(lvl.source.columns)
        size = FIRST_CHUNK
        # A keyed probe repeating the one before (the outer rows of one image under a LEFT JOIN
        # before this one) takes that probe's rows again, while the transaction has not written.
        access = lvl.access if lvl.derived is None and lvl.hash_key is None else None
        keyed = access is not None and access.keyed
        point = keyed and access.point_probe   # at most one row a probe: read directly (point_at)
        last, last_rows, at, txn = None, (), None, ctx.session.txn
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
                if keyed:
                    key = access.probe_key(left, ctx)
                    if key is None:
                        probe = ()
                    elif key == last and txn.changes == at:
                        probe = last_rows
                    elif point:
                        probe = access.point_at(key, ctx)
                        last, last_rows, at = key, probe, txn.changes
                    else:
                        probe, whole = access.rows_at(key, ctx, MEMO_ROWS)
                        last, last_rows, at = (key, probe, txn.changes) if whole else (None, (), None)
                else:
                    probe = self._probe(lvl, left, ctx)
                for r in probe:
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
        limit, offset = limit_offset(self, ctx)
        if self.grouped:
            rows = self._grouped_rows(ctx)
        else:
            streaming = limit is not None and self.sort is None and not self.distinct
            rows = self.source_rows(ctx, offset + limit if streaming else None)
        if self.having is not None:
            having = self.having
            rows = (r for r in rows if having(r, ctx))
        project, pr = self.project, self.project_row
        projected = map(pr, rows) if pr is not None else (tuple([f(r, ctx) for f in project]) for r in rows)
        if self.sort is None and not self.distinct:
            out = projected
        elif self.sort is None:
            out = _distinct(projected, self.distinct_folds)
        else:
            decorated = []
            row_keys = [(i, k[1]) for i, (k, _d, _n, _c) in enumerate(self.sort) if k[0] == "row"]
            seen = set() if self.distinct else None
            folds = self.distinct_folds
            for r in rows:
                o = pr(r) if pr is not None else tuple([f(r, ctx) for f in project])
                if seen is not None:
                    d = o if folds is None else fold_values(folds, o)
                    if d in seen:
                        continue
                    seen.add(d)
                # the values of sort keys that are not output columns ride at the row's end
                decorated.append(o + tuple([f(r, ctx) for _i, f in row_keys]) if row_keys else o)
            keys = []
            j = -len(row_keys)
            for kind_val, desc, nulls_first, coll in self.sort:
                if kind_val[0] == "out":
                    keys.append((kind_val[1], desc, nulls_first, coll))
                else:
                    keys.append((j, desc, nulls_first, coll))
                    j += 1
            out = order_rows(decorated, keys)
            if row_keys:
                out = (d[:-len(row_keys)] for d in out)
        if offset or limit is not None:
            out = _window(out, offset, limit)
        return out

    def explain(self, depth=0):
        pad = "  " * depth
        lines = []
        ends = []   # the last levels of the LEFT joined groups open at this line
        for i, lvl in enumerate(self.levels):
            inset = pad + "  " * len(ends)
            if lvl.group_end is not None:
                lines.append(inset + "LEFT JOIN (")
                ends.append(lvl.group_end)
                lines.append(inset + "  " + lvl.describe)
            else:
                lines.append(inset + ("LEFT JOIN " if lvl.kind == "left" else "") + lvl.describe)
            if lvl.derived is not None:
                lines += lvl.derived.explain(depth + 1 + len(ends))
            while ends and ends[-1] == i:
                ends.pop()
                lines.append(pad + "  " * len(ends) + ")")
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
        return lines + self._explain_subqueries(depth)

    def _explain_subqueries(self, depth):
        """The plans of the subqueries in expressions (WHERE, ON, the select list, HAVING, ...)."""
        lines, seen = [], set()
        for scope in (self.scope, self.out_scope):
            for run in scope.subqueries:
                if id(run.plan) in seen:
                    continue
                seen.add(id(run.plan))
                lines.append("  " * depth + ("CORRELATED SUBQUERY" if run.correlated else "SUBQUERY"))
                lines += run.plan.explain(depth + 1)
        return lines


def _join_kind(join):
    side = (join.side or "").upper()
    if side in ("RIGHT", "FULL"):
        raise ProgrammingError("%s JOIN is not supported" % side)
    return "left" if side == "LEFT" else "inner"


def _nested_join(src):
    """(first FROM item, its joins) of a parenthesised join ``(b JOIN c ON ...)`` written without
    an alias; None for any other FROM item (a table, a derived table)."""
    if not isinstance(src, exp.Subquery) or src.alias:
        return None
    inner = src.this
    if isinstance(inner, exp.Subquery) and not inner.args.get("joins"):
        return _nested_join(inner) if not inner.alias else (inner, [])
    if isinstance(inner, exp.Table) or (isinstance(inner, exp.Subquery) and inner.args.get("joins")):
        head = inner.copy()
        joins = head.args.get("joins") or []
        head.set("joins", None)
        return head, joins
    return None


def limit_offset(plan, ctx):
    """(limit or None, offset) of a plan's LIMIT/OFFSET, as SQLite takes them: integers, integral
    reals and numeric text; anything else (NULL, 2.5, 'a') is IntegrityError "datatype mismatch"."""
    limit = _count(plan.limit(None, ctx)) if plan.limit is not None else -1
    offset = _count(plan.offset(None, ctx)) if plan.offset is not None else 0
    return (None if limit < 0 else limit), max(offset, 0)


def _count(v):
    if type(v) is str:
        v = numeric_text(v.strip())
    if type(v) is float and v.is_integer() and INT_MIN <= v <= INT_MAX:
        v = int(v)
    if type(v) is not int:
        raise IntegrityError("datatype mismatch")
    return v


def _distinct(rows, folds=None):
    """The first row of each distinct row; ``folds``: per column, the fold of its collation."""
    seen = set()
    add = seen.add
    if folds is None:
        for r in rows:
            if r not in seen:
                add(r)
                yield r
        return
    for r in rows:
        d = fold_values(folds, r)
        if d not in seen:
            add(d)
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
                i = _term_position(e, len(self.columns), "ORDER BY")
                if i is None:
                    names = [c.lower() for c in self.columns]
                    name = e.name.lower() if isinstance(e, exp.Column) else e.sql().lower()
                    if name not in names:
                        raise ProgrammingError("ORDER BY term does not match any column in the result set")
                    i = names.index(name)
                self.sort.append((i, bool(o.args.get("desc")), o.args.get("nulls_first")))
        if node.args.get("offset") and not node.args.get("limit"):
            raise ProgrammingError('near "OFFSET": syntax error (OFFSET needs a LIMIT; LIMIT -1 for none)')
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
        if self.op == "union" and not self.all:
            rows = _distinct(itertools.chain.from_iterable([b.run(ctx) for b in self._union_branches()]))
        elif self.op == "union":
            rows = itertools.chain(self.left.run(ctx), self.right.run(ctx))
        elif self.op == "intersect":
            left, r = self.left.run(ctx), set(self.right.run(ctx))
            rows = _distinct(x for x in left if x in r)
        else:
            left, r = self.left.run(ctx), set(self.right.run(ctx))
            rows = _distinct(x for x in left if x not in r)
        if self.sort:
            rows = order_rows(list(rows), list(self.sort))
        limit, offset = limit_offset(self, ctx)
        if offset or limit is not None:
            rows = _window(rows, offset, limit)
        return rows

    def _union_branches(self):
        """The queries whose rows a UNION (not ALL) deduplicates together: a UNION [ALL] under it
        without ORDER BY, LIMIT or OFFSET is opened up, since deduplicating the whole gives the
        same rows in the same order as deduplicating it first (one set, not one per level)."""
        out = []
        for b in (self.left, self.right):
            if isinstance(b, CompoundPlan) and b.op == "union" and not b.sort and b.limit is None \
                    and b.offset is None:
                out += b._union_branches()
            else:
                out.append(b)
        return out

    def explain(self, depth=0):
        pad = "  " * depth
        return ([pad + "COMPOUND %s%s" % (self.op.upper(), " ALL" if self.all else "")]
                + self.left.explain(depth + 1) + self.right.explain(depth + 1))


def _term_position(e, count, clause):
    """The 0-based output column an ORDER BY / GROUP BY term names by number (``ORDER BY 2``), None
    when the term is not an integer literal (an expression, 1.5 included); ProgrammingError out of
    range (GROUP BY 0 took the last column)."""
    if not (isinstance(e, exp.Literal) and not e.is_string and e.this.isdigit()):
        return None
    i = int(e.this) - 1
    if not 0 <= i < count:
        raise ProgrammingError("%s term out of range: %s" % (clause, e.this))
    return i


def _window(rows, offset, limit):
    """rows[offset:offset + limit] as an iterator (both may be up to 2**63 - 1: beyond what islice
    takes, which no iterator reaches anyway)."""
    stop = None if limit is None else min(offset + limit, sys.maxsize)
    return itertools.islice(rows, min(offset, sys.maxsize), stop)
