"""Access paths: how one table's rows are read, and how the planner chooses among them.

The planner hands each table the conjuncts of the WHERE/ON clause that mention it and are otherwise
constant for one probe (parameters, literals, columns of tables joined before it, outer columns). Each
candidate key (the primary key, then every index) is scored by the longest prefix of its columns fixed by
equality (`=`, `IS NULL`, or an `IN` list on the first column), plus a range (`<`, `<=`, `>`, `>=`,
BETWEEN) on the next column, SQLite-style:

    PRIMARY KEY fully fixed           one get                               SEARCH t USING PRIMARY KEY
    UNIQUE index fully fixed          one get (its entry carries the row)   SEARCH t USING INDEX ix
    prefix / range                    one range scan                        SEARCH t USING INDEX ix (a=? b>?)
    nothing                           full scan of the table's rows         SCAN t

An index whose remaining columns match the ORDER BY (all ascending or all descending) returns rows
already ordered, so the sort disappears and LIMIT stops the scan early; the planner asks for that with
`order`. An index that holds every column the query needs answers without fetching rows (a covering
index). Conjuncts a path uses are not re-checked; the rest stay as a filter.

An entry that does not carry its row (a row too large, an index of an earlier version: see
rome.sql.keys) costs a get of the row too, batched over a range's entries.

There are no statistics, so equalities are weighed by what the schema says of them: an IN list costs
more the longer it is (one probe per value; a list parameter, whose length the shared plan does not
know, as a list of four), an equality on a BOOLEAN column selects about half the
table, and an index that returns rows in ORDER BY order beats both when a LIMIT stops the scan early.
``a = x OR a = y`` is read as ``a IN (x, y)``.
"""
from itertools import chain, islice, product
from operator import itemgetter

from sqlglot import exp

from rome.encoding.entrycode import MARK, entry_pk, entry_row
from rome.encoding.keycode import decode_tuple, encode_tuple, encode_value, prefix_end
from rome.encoding.rowcode import decode_row
from rome.sql.expressions import NOT_LITERAL, is_constant, literal_value
from rome.sql.parse import is_list_parameter
from rome.sql.semantics.values import InList, collation_fold, numeric_text, numeric_twin, to_text
from rome.sql.tree import collation_of

_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}
FETCH_BATCH = 64


class Bound:
    """A conjunct's contribution to a key: column position in the table, the constant side(s), and
    the collation the comparison uses (None: BINARY; ANY for IS NULL), which a key must be kept in
    for the bound to be read from it."""
    __slots__ = ("col", "op", "value", "value2", "node", "coll")

    def __init__(self, col, op, value, node, value2=None, coll=None):
        self.col, self.op, self.value, self.node, self.value2, self.coll = col, op, value, node, value2, coll


ANY = "ANY"
NOT_NULL = "NOT NULL"   # the op of a ``column IS NOT NULL`` bound: a range that starts past the NULLs


def classify(conjunct, table_col, is_const, column_collation=lambda node: None):
    """Bound for a conjunct of the form <column of this table> op <constant>, or None.
    table_col(node) -> column position or None; is_const(node) -> bool; column_collation(node) -> the
    declared collation of any column reference (for the comparison's collation)."""
    c = conjunct
    if type(c) in _FLIP:
        for a, b, flip in ((c.this, c.expression, False), (c.expression, c.this, True)):
            a = _collated(a)
            col = table_col(a) if a is not None else None
            if col is not None and is_const(b):
                op = _FLIP[type(c)] if flip else type(c)
                return Bound(col, op, b, c, coll=collation_of((c.this, c.expression), column_collation))
        return None
    if isinstance(c, exp.Is) and isinstance(c.expression, exp.Null) and isinstance(c.this, exp.Column):
        col = table_col(c.this)
        if col is not None:
            return Bound(col, exp.Is, None, c, coll=ANY)
    if isinstance(c, exp.Not) and isinstance(c.this, exp.Is) and isinstance(c.this.expression, exp.Null) \
            and isinstance(c.this.this, exp.Column):
        col = table_col(c.this.this)
        if col is not None:
            return Bound(col, NOT_NULL, None, c, coll=ANY)
    if isinstance(c, exp.Between) and isinstance(c.this, exp.Column) and not c.args.get("symmetric"):
        col = table_col(c.this)
        if col is not None and is_const(c.args["low"]) and is_const(c.args["high"]):
            return Bound(col, exp.Between, c.args["low"], c, c.args["high"], column_collation(c.this))
    if isinstance(c, exp.In) and isinstance(c.this, exp.Column) and c.expressions and not c.args.get("query"):
        col = table_col(c.this)
        if col is not None and all(literal_value(e) is not NOT_LITERAL or is_const(e) for e in c.expressions):
            return Bound(col, exp.In, c.expressions, c, coll=column_collation(c.this))
    if isinstance(c, exp.Or):
        col, values, colls = None, [], set()
        for alt in _disjuncts(c):
            b = classify(alt, table_col, is_const, column_collation) if isinstance(alt, exp.EQ) else None
            if b is None or (col is not None and b.col != col):
                return None
            col = b.col
            values.append(b.value)
            colls.add(b.coll)
        if len(colls) != 1:
            return None
        return Bound(col, exp.In, values, c, coll=colls.pop())
    return None


def _collated(node):
    """The column of ``column`` or ``column COLLATE x`` (the comparison's collation says which)."""
    if isinstance(node, exp.Collate):
        node = node.this
    return node if isinstance(node, exp.Column) else None


def _disjuncts(node):
    if isinstance(node, exp.Paren):
        return _disjuncts(node.this)
    if isinstance(node, exp.Or):
        return _disjuncts(node.this) + _disjuncts(node.expression)
    return [node]


class Path:
    """A chosen way to read a table: key columns, equality prefix, optional range, direction."""

    def __init__(self, kind, columns, index=None):
        self.kind = kind            # "pk", "index" or "scan"
        self.columns = columns      # key column positions (pk or index columns)
        self.index = index
        self.eq = []                # Bounds fixing columns[0..len(eq)) (EQ, Is, or one In first)
        self.lo = self.hi = None    # Bounds on columns[len(eq)] (op, value) pairs
        self.reverse = False
        self.ordered = False        # rows come out in the ORDER BY order
        self.covering = False
        self.needed = None          # column positions the query reads (for covering scans)
        self.used = []              # conjunct nodes consumed
        self.weight = 0             # what the equalities are worth (see the module docstring)
        self.limited = False        # a LIMIT stops the scan: rows in order are worth more

    @property
    def point(self):
        """All key columns fixed on a unique key: at most one row per probe."""
        return (self.kind == "pk" or (self.index is not None and self.index.unique)) and \
            len(self.eq) == len(self.columns) and all(b.op is not exp.Is for b in self.eq)

    def score(self):
        if self.kind == "scan":
            return 0
        s = self.weight + (4 if self.lo or self.hi else 0)
        if self.point:
            s += 100 if self.kind == "pk" else 90
        if self.kind == "pk":
            s += 1
        if self.ordered:
            s += 8 if self.limited else 3
        return s

    def describe(self, table, names):
        if self.kind == "scan":
            return "SCAN %s" % table
        parts = []
        for b in self.eq:
            op = {exp.EQ: "=?", exp.Is: " IS NULL", exp.In: " IN (...)"}[b.op]
            parts.append(names[b.col] + op)
        for b in (self.lo, self.hi):
            if b is not None:
                parts.append(names[b[0].col] + {exp.GT: ">?", exp.GTE: ">=?", exp.LT: "<?", exp.LTE: "<=?",
                                                NOT_NULL: " IS NOT NULL"}[b[1]])
        what = "PRIMARY KEY" if self.kind == "pk" else \
            ("COVERING INDEX %s" if self.covering else "INDEX %s") % self.index.name
        s = "SEARCH %s USING %s" % (table, what) if parts else "SCAN %s USING %s" % (table, what)
        if parts:
            s += " (%s)" % " AND ".join(parts)
        if self.reverse:
            s += " DESC"
        return s


def candidates(table, rows):
    """(kind, key column positions, index) for the primary key and every index."""
    out = []
    if not table.has_rowid:
        out.append(("pk", list(rows.pk_idx), None))
    for ix, idx, _prefix in rows.index_info:
        out.append(("index", idx, ix))
    return out


def _weight(table, b):
    """What an equality bound is worth to a path (see the module docstring)."""
    if b.op is exp.In:
        if any(is_list_parameter(v) for v in b.value):
            return 5     # a list of unknown length: one plan serves every length
        return 9 - min(len(b.value), 8)
    return 3 if "BOOL" in table.columns[b.col].type.upper() else 10


def choose(table, rows, bounds, order=None, needed=None, limited=False):
    """The best Path for bounds (list of Bound). order: list of (column position, desc, collation)
    the caller would like rows in, or None; limited: a LIMIT applies to them. needed: set of column
    positions the query reads (None: all). A key serves a bound, or an ORDER BY term, only when it
    is kept in the collation the comparison or the term uses."""
    by_col = {}
    for b in bounds:
        by_col.setdefault(b.col, []).append(b)
    best = Path("scan", [])
    pk_colls = table.key_collations(rows.pk_idx)
    for kind, cols, ix in candidates(table, rows):
        p = Path(kind, cols, ix)
        p.limited = limited
        colls = table.key_collations(cols, ix)
        for i, c in enumerate(cols):
            bs = [b for b in by_col.get(c, ()) if b.coll is ANY or b.coll == colls[i]]
            eq = next((b for b in bs if b.op in (exp.EQ, exp.Is)), None)
            if eq is None and i == 0:
                eq = next((b for b in bs if b.op is exp.In), None)
            if eq is not None:
                p.eq.append(eq)
                p.used.append(eq.node)
                p.weight += _weight(table, eq)
                continue
            for b in bs:
                if b.op is exp.Between:
                    p.lo, p.hi = (b, exp.GTE), (b, exp.LTE)
                    p.used.append(b.node)
                    break
                if b.op in (exp.GT, exp.GTE) and p.lo is None:
                    p.lo = (b, b.op)
                    p.used.append(b.node)
                elif b.op in (exp.LT, exp.LTE) and p.hi is None:
                    p.hi = (b, b.op)
                    p.used.append(b.node)
            nn = next((b for b in bs if b.op is NOT_NULL), None)
            if nn is not None and p.lo is None and p.hi is None:
                p.lo = (nn, NOT_NULL)
                p.used.append(nn.node)
            break
        if order:
            # an index entry's key ends with the primary key: its order continues with it
            rest = list(zip(cols, colls))[len(p.eq):] + \
                (list(zip(rows.pk_idx, pk_colls)) if kind == "index" else [])
            descs = {d for _, d, _c in order}
            # an IN list, or an integral number on a column without affinity (stored as 1 or as 1.0),
            # reads several key prefixes one after the other: ordered within each, not across them
            several = any(b.op is exp.In or (b.op is exp.EQ and table.columns[c].affinity == "BLOB")
                          for c, b in zip(cols, p.eq))
            if len(descs) == 1 and len(order) <= len(rest) and \
                    [(c, k) for c, _, k in order] == rest[:len(order)] and not several:
                p.ordered = True
                p.reverse = descs == {True}
        if needed is not None and kind == "index":
            p.covering = needed <= set(cols) | set(rows.pk_idx) and not rows.rowid and \
                not any(colls) and not any(pk_colls)   # folded keys do not hold the values
            p.needed = needed
        if p.score() > best.score() or (p.score() == best.score() and p.covering and not best.covering):
            best = p
    return best


def probe_value(v, affinity):
    """A probe value converted as SQLite converts the constant side of a comparison with a column
    (datatype3.html 4.2), so that it encodes like the stored values it must match: 0 probes a REAL
    column as 0.0, 5.0 an INTEGER column as 5, '7' a numeric column as 7."""
    t = type(v)
    if affinity == "REAL":   # an integer no REAL equals (beyond 2**53) stays as it is: it matches none
        if t is str:
            n = numeric_text(v)
            v, t = (v, t) if n is None else (n, type(n))
        return float(v) if t is int and float(v) == v else v
    elif affinity == "INTEGER" or affinity == "NUMERIC":
        if t is float:
            return int(v) if v.is_integer() and -2 ** 63 <= v < 2 ** 63 else v
        if t is str:
            n = numeric_text(v)
            if n is not None:
                return int(n) if type(n) is float and n.is_integer() and -2 ** 63 <= n < 2 ** 63 else n
    elif affinity == "TEXT":
        if t is int or t is float:
            return to_text(v)
    return v


def _converting(f, affinity):
    if affinity == "BLOB":
        return f
    return lambda row, ctx: probe_value(f(row, ctx), affinity)


def _in_values(nodes, compile_const, affinity, fold):
    """A function giving the probe values of an IN list's nodes (literals read once, the others
    compiled, a list parameter giving all of its values), converted and folded as probe values."""
    known = [literal_value(v) for v in nodes]
    fs = [compile_const(v) for v, k in zip(nodes, known) if k is NOT_LITERAL]
    known = [k for k in known if k is not NOT_LITERAL]

    def values(row, ctx):
        out = list(known)
        for f in fs:
            v = f(row, ctx)
            if type(v) is InList:
                out += v
            else:
                out.append(v)
        if affinity != "BLOB":
            out = [probe_value(v, affinity) for v in out]
        else:   # no affinity: 1 and 1.0 may both be stored, and both equal 1
            out += [t for t in map(numeric_twin, out) if t is not None]
        return out if fold is None else [fold(v) for v in out]
    return values


class Access:
    """Runs a Path: yields (key, row) for the current probe values."""

    def __init__(self, rows, path, compile_const):
        self.table = rows.table
        self.layout = rows
        self.path = path
        self._by_index = path.kind == "index"
        cols = rows.table.columns
        folds = dict(zip(path.columns, map(collation_fold, rows.table.key_collations(path.columns, path.index))))

        def conv(node, col):
            f = _converting(compile_const(node), cols[col].affinity)
            fold = folds.get(col)
            return f if fold is None else (lambda row, ctx: fold(f(row, ctx)))
        self.eq = [_in_values(b.value, compile_const, cols[b.col].affinity, folds.get(b.col))
                   if b.op is exp.In else
                   (lambda row, ctx: None) if b.op is exp.Is else conv(b.value, b.col)
                   for b in path.eq]
        self.eq_ops = [b.op for b in path.eq]
        untyped = [cols[c].affinity == "BLOB" for c in path.columns]   # 1 and 1.0 both stored
        self.twin_cols = [i for i, b in enumerate(path.eq) if b.op is exp.EQ and untyped[i]]
        self.range_twins = len(path.eq) < len(path.columns) and untyped[len(path.eq)]

        def bound(pair, second=False):
            if pair is None:
                return None
            b, op = pair
            if op is NOT_NULL:
                return None, op
            node = b.value2 if (b.op is exp.Between and second) else b.value
            return conv(node, b.col), op
        self.lo = bound(path.lo)
        self.hi = bound(path.hi, second=True)
        if path.kind == "index":
            self.prefix = rows.index_info[[i for i, _, _ in rows.index_info].index(path.index)][2]
            self.width = len(path.columns)
        else:
            self.prefix = rows.prefix
        # a probe by equalities alone (no IN list, no IS NULL, no column without affinity, whose
        # integral numbers have two keys): one key prefix, built directly
        self._plain_eq = bool(path.eq) and all(op is exp.EQ for op in self.eq_ops) and not self.twin_cols
        # at most one row per probe, read with one or two gets (not covering: its row is fetched)
        self.point_probe = path.kind != "scan" and path.point and self._plain_eq and not path.covering
        self._prefix_only = self._plain_eq and self.lo is None and self.hi is None
        self._single = self.eq[0] if self._plain_eq and len(self.eq) == 1 else None
        # a join's probe on several columns, some of them fixed for the statement (image_id = outer
        # column AND name = ?): the fixed ones are encoded once per statement, the others per row
        fixed = [is_constant(b.value) for b in path.eq] if self._plain_eq and len(self.eq) > 1 else []
        self._varying = [(i, f) for i, (f, c) in enumerate(zip(self.eq, fixed)) if not c] \
            if any(fixed) and not all(fixed) else None

    def prefixes(self, row, ctx):
        """Encoded equality prefixes for this probe (several for an IN list, or for an integral number
        on a column without affinity, stored as 1 or as 1.0); None values match nothing."""
        if self._plain_eq:
            key = self.probe_key(row, ctx)
            return [] if key is None else [key]
        vals = []
        first_in = None
        for f, op in zip(self.eq, self.eq_ops):
            if op is exp.In:
                first_in = f(row, ctx)
                vals.append(None)
                continue
            v = f(row, ctx)
            if v is None and op is not exp.Is:
                return []
            vals.append(v)
        twins = [i for i in self.twin_cols if numeric_twin(vals[i]) is not None] if self.twin_cols else ()
        if first_in is None and not twins:
            return [self.prefix + encode_tuple(vals)]
        choices = [[encode_value(v)] for v in vals]
        for i in twins:
            choices[i].append(encode_value(numeric_twin(vals[i])))
        if first_in is not None:
            choices[0] = {encode_value(v) for v in first_in if v is not None}
        # distinct keys, in key order
        return [self.prefix + b"".join(ks) for ks in sorted(set(product(*choices)))]

    def _bound_keys(self, v):
        """(first, last) encodings of a range bound's value: on a column without affinity an
        integral number is stored as 1 or as 1.0, two keys that both equal the bound."""
        e = encode_value(v)
        t = numeric_twin(v) if self.range_twins else None
        if t is None:
            return e, e
        return min(e, encode_value(t)), max(e, encode_value(t))

    def ranges(self, row, ctx):
        return [(a, b) for a, b, _p in self.prefixed_ranges(row, ctx)]

    def prefixed_ranges(self, row, ctx):
        """(start, end, equality prefix) of each key range to scan for this probe."""
        out = []
        for p in self.prefixes(row, ctx):
            start, end = p, prefix_end(p)
            if self.lo is not None and self.lo[1] is NOT_NULL:
                start = p + b"\x01"  # past NULLs
            elif self.lo is not None:
                v = self.lo[0](row, ctx)
                if v is None:
                    return []
                first, last = self._bound_keys(v)
                start = prefix_end(p + last) if self.lo[1] is exp.GT else p + first
            elif self.hi is not None:
                start = p + b"\x01"  # past NULLs
            if self.hi is not None:
                v = self.hi[0](row, ctx)
                if v is None:
                    return []
                first, last = self._bound_keys(v)
                end = p + first if self.hi[1] is exp.LT else prefix_end(p + last)
            if start < end:
                out.append((start, end, p))
        if self.path.reverse:
            out.reverse()
        return out

    def probes(self, lefts, ctx):
        """(keys, ranges) the probes of these outer rows will read."""
        path = self.path
        points, ranges = [], []
        if path.kind == "scan":
            return points, ranges
        for left in lefts:
            if path.point:
                points += self.prefixes(left, ctx)
            else:
                ranges += [(a, b, path.reverse) for a, b in self.ranges(left, ctx)]
        return points, ranges

    def rows(self, row, ctx, hint=None):
        """The rows for this probe (no keys): the read path of SELECT. hint: at most that many rows
        will be consumed, so the first batch of row fetches need not be larger. Returns an iterator
        (not a generator of its own: every layer a row passes through costs)."""
        if self.point_probe:
            return self._point_rows(row, ctx)
        path = self.path
        if path.kind == "index":
            rows = ctx.session.rows(self.table)
            if path.covering:
                return self._covering_scan(rows, row, ctx, False)
            if not path.point:
                return self._fetched_rows(rows, row, ctx, hint)
        elif path.kind == "scan":
            rows = ctx.session.rows(self.table)
            return rows.scan_rows([(rows.prefix, rows.end)], path.reverse)
        elif not path.point:
            return ctx.session.rows(self.table).scan_rows(self.ranges(row, ctx), path.reverse)
        return (r for _k, r in self.scan(row, ctx))

    @property
    def keyed(self):
        """Whether a probe is its key alone (probe_key, rows_at): equalities only, no range."""
        return self.point_probe or (self._prefix_only and self.path.kind == "index" and not self.path.covering)

    def probe_key(self, row, ctx):
        """The encoded key (or key prefix) a keyed probe reads; None when it matches nothing."""
        if self._single is not None:   # one column: no list, no join
            v = self._single(row, ctx)
            return None if v is None else self.prefix + encode_value(v)
        if self._varying is not None:
            return self._split_key(row, ctx)
        vals = [f(row, ctx) for f in self.eq]
        return None if None in vals else self.prefix + encode_tuple(vals)

    def _split_key(self, row, ctx):
        """probe_key from the fixed columns' encodings, made on the statement's first probe (kept in
        ctx.cache, which lives as long as the statement's parameters), and the varying ones'."""
        parts = ctx.cache.get(self)
        if parts is None:
            varying = {i for i, _f in self._varying}
            vals = [None if i in varying else f(row, ctx) for i, f in enumerate(self.eq)]
            fixed = [v for i, v in enumerate(vals) if i not in varying]
            parts = ctx.cache[self] = () if None in fixed else [encode_value(v) for v in vals]
        if not parts:   # a fixed column probed with NULL: nothing matches
            return None
        parts = parts[:]
        for i, f in self._varying:
            v = f(row, ctx)
            if v is None:
                return None
            parts[i] = encode_value(v)
        return self.prefix + b"".join(parts)

    def rows_at(self, key, ctx, keep):
        """(rows, whole) of a keyed probe: its rows as a list when there are at most ``keep`` (whole
        True), else an iterator over them all (whole False)."""
        if self.point_probe:
            return self.point_at(key, ctx), True
        rows = ctx.session.rows(self.table)
        entries = rows.txn.scan(key, prefix_end(key), self.path.reverse)
        first = [v for _k, v in islice(entries, keep + 1)]
        if len(first) <= keep:
            return rows.entry_rows(first), True
        return chain(rows.entry_rows(first), self._fetched(rows, entries, None)), False

    def _point_rows(self, row, ctx):
        """The row (a tuple of none or one) of a probe on a fully fixed unique key: a get of the
        row, after one of its index entry (no generators: this runs once per outer row)."""
        key = self.probe_key(row, ctx)
        return () if key is None else self.point_at(key, ctx)

    def point_at(self, key, ctx):
        """The row (none or one) at a unique key: the primary key, or a unique index's entry."""
        txn, layout = ctx.session.txn, self.layout   # the layout's key prefix and columns: no session
        if self._by_index:
            v = txn.get(key)
            if v is None:
                return ()
            if v[0] == MARK:   # the entry carries its row
                vals = decode_row(entry_row(v))
                return (tuple(vals) if len(vals) == layout.full else layout._complete(vals),)
            key = layout.prefix + v
        v = txn.get(key)
        if v is None:
            return ()
        vals = decode_row(v)
        return (tuple(vals) if len(vals) == layout.full else layout._complete(vals),)

    def _fetched_rows(self, rows, row, ctx, hint):
        """Index entries in range, then their rows fetched in batches (one get_many each)."""
        if self._prefix_only:   # a join's usual probe: the one range of an equality prefix
            key = self.probe_key(row, ctx)
            return iter(()) if key is None else self._fetched_at(rows, key, hint)
        txn, reverse = rows.txn, self.path.reverse
        return self._fetched(rows, chain.from_iterable(txn.scan(a, b, reverse) for a, b in self.ranges(row, ctx)),
                             hint)

    def _fetched_at(self, rows, p, hint):
        """The rows of the index entries under prefix p."""
        return self._fetched(rows, rows.txn.scan(p, prefix_end(p), self.path.reverse), hint)

    def _fetched(self, rows, entries, hint):
        """The rows of index entries: carried by the entries, or fetched in batches."""
        entry_rows = rows.entry_rows
        size = min(hint, FETCH_BATCH) if hint else 8
        while True:
            batch = [v for _k, v in islice(entries, size)]
            if not batch:
                return
            yield from entry_rows(batch)
            size = min(size * 2, FETCH_BATCH)

    def scan(self, row, ctx):
        """(key, row) pairs for this probe."""
        rows, path = ctx.session.rows(self.table), self.path
        if path.kind == "scan":
            yield from rows.scan(reverse=path.reverse)
            return
        if path.kind == "pk":
            if path.point:
                ks = self.prefixes(row, ctx)
                if len(ks) == 1:
                    v = rows.txn.get(ks[0])
                    if v is not None:
                        yield ks[0], rows.decode(v)
                else:
                    yield from rows.get_keys(ks)
                return
            for start, end in self.ranges(row, ctx):
                yield from rows.scan(start, end, path.reverse)
            return
        yield from self._index_scan(row, ctx)

    def _index_scan(self, row, ctx):
        rows, path = ctx.session.rows(self.table), self.path
        txn = rows.txn
        if path.covering:
            yield from self._covering_scan(rows, row, ctx, True)
            return
        if path.point:
            ks = self.prefixes(row, ctx)
            vs = [v for v in txn.get_many(ks) if v is not None] if len(ks) > 1 else \
                [v for v in (txn.get(ks[0]),) if v is not None] if ks else []
            yield from rows.entry_rows(vs, True)
            return
        batch = []
        size = 8
        for start, end in self.ranges(row, ctx):
            for _k, v in txn.scan(start, end, path.reverse):
                batch.append(v)
                if len(batch) >= size:
                    yield from rows.entry_rows(batch, True)
                    batch = []
                    size = min(size * 2, FETCH_BATCH)
        if batch:
            yield from rows.entry_rows(batch, True)

    def _covering_scan(self, rows, row, ctx, with_keys):
        """Rows built from index entries alone: the equality prefix is known from the probe, the rest
        of the index columns are decoded from the key, the primary key from the entry's value or, when
        every entry's key ends with it (a non-unique index), with the rest. Each row is gathered in one
        step from the probe's values and the entry's."""
        path, txn, rp, pk_idx = self.path, rows.txn, rows.prefix, rows.pk_idx
        neq = len(path.eq)
        rest = path.columns[neq:]
        base, nrest = len(self.prefix), len(rest)
        whole = not path.index.unique
        # only the primary key read (SELECT id ... ORDER BY indexed): the entry's value is all it takes
        pk_only = path.needed is not None and not path.needed & set(rest) - set(pk_idx)
        source = list(range(rows.width))  # where each column comes from in probe values + entry values
        for j, c in enumerate(pk_idx if pk_only else rest + pk_idx):
            source[c] = rows.width + j
        gather = itemgetter(*source) if len(source) > 1 else lambda t: (t[source[0]],)
        for start, end, p in self.prefixed_ranges(row, ctx):
            blank = [None] * rows.width
            for c, x in zip(path.columns, decode_tuple(p, base)):
                blank[c] = x
            blank, off = tuple(blank), len(p)
            if whole and not pk_only and not with_keys:   # the key holds it all: values unread
                for k, _v in txn.scan(start, end, path.reverse):
                    yield gather(blank + decode_tuple(k, off))
                continue
            for k, v in txn.scan(start, end, path.reverse):
                if v[0] == MARK:   # the primary key of an entry that carries its row
                    v = entry_pk(v)
                vals = decode_tuple(v) if pk_only else \
                    decode_tuple(k, off) if whole else decode_tuple(k, off)[:nrest] + decode_tuple(v)
                yield (rp + v, gather(blank + vals)) if with_keys else gather(blank + vals)
