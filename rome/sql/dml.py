"""INSERT, UPDATE and DELETE.

Each statement is planned once per SQL text (values and SET expressions compiled, the WHERE clause
turned into an access path exactly as a SELECT's), then run against the session's transaction. UPDATE
and DELETE first collect the matching rows, then change them, so a change never feeds back into the
scan that finds rows (the Halloween problem). ``rowcount`` is the number of rows matched, as SQLite and
SQLAlchemy expect.
"""
from sqlglot import exp

from rome.errors import Error, IntegrityError, NotSupportedError, ProgrammingError
from rome.sql.expressions import compile_expr
from rome.sql.parse import table_name
from rome.sql.scope import Scope
from rome.sql.context import Result
from rome.sql.select import SelectPlan
from rome.sql.semantics.values import INT_MAX, INT_MIN, apply_affinity
from rome.sql.upsert import Upsert


_ATTEMPTS = 8   # draws of a generated key that others keep taking before the PK error stands


def execute(session, sql, stmt, ctx):
    planner = session.planner()
    if isinstance(stmt, exp.Insert):
        n, last = insert_plan(session, sql, stmt).run(session, ctx)
        return Result(rowcount=n, lastrowid=last)
    if isinstance(stmt, exp.Update):
        plan = planner.cached(sql, lambda: UpdatePlan(planner, stmt))
    else:
        plan = planner.cached(sql, lambda: DeletePlan(planner, stmt))
    return Result(rowcount=plan.run(session, ctx))


def insert_plan(session, sql, stmt):
    planner = session.planner()
    return planner.cached(sql, lambda: InsertPlan(planner, stmt))


def _table_node(node):
    t = node.this if isinstance(node, exp.Schema) else node
    if not isinstance(t, exp.Table):
        raise ProgrammingError("unsupported target: %s" % node.sql(dialect="sqlite"))
    return t


def _param_name(node):
    """The name of a parameter node, None for any other expression."""
    if isinstance(node, exp.Placeholder):
        return node.name
    return node.this.name if isinstance(node, exp.Parameter) else None


class InsertPlan:
    def __init__(self, planner, stmt):
        if stmt.args.get("returning"):
            raise NotSupportedError("RETURNING is not supported")
        alt = (stmt.args.get("alternative") or "").upper()
        if alt not in ("", "ABORT", "FAIL", "ROLLBACK", "IGNORE", "REPLACE"):
            raise NotSupportedError("INSERT OR %s is not supported" % alt)
        self.mode = alt
        target = stmt.this
        self.table = t = planner.table(table_name(_table_node(target)))
        conflict = stmt.args.get("conflict")
        self.upsert = Upsert(planner, t, _table_node(target).alias, conflict) if conflict else None
        names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) else \
            [c.name for c in t.columns]
        self.positions = []
        for n in names:
            i = t.column_index(n)
            if i is None:
                raise ProgrammingError("table %s has no column named %s" % (t.name, n))
            self.positions.append(i)
        self.defaults = planner.defaults(t)
        self.affinities = [c.affinity for c in t.columns]
        self.names = [c.name for c in t.columns]
        auto = [i for i, c in enumerate(t.columns) if c.autoincrement]
        self.auto = auto[0] if auto else None
        self.alias = t.rowid_alias
        self.self_referencing = any(fk.ref_table.lower() == t.name.lower() for fk in t.foreign_keys)
        src = stmt.expression
        self.rows = None
        self.query = None
        self._param_names = []
        if stmt.args.get("default") or src is None:
            self.rows = [[]]
            self.positions = []
        elif isinstance(src, exp.Values):
            scope = Scope(planner=planner)
            self.rows = []
            for tup in src.expressions:
                vals = tup.expressions if isinstance(tup, exp.Tuple) else [tup]
                if len(vals) != len(self.positions):
                    raise ProgrammingError("%d values for %d columns" % (len(vals), len(self.positions)))
                self.rows.append([compile_expr(v, scope) for v in vals])
            self._param_names = [_param_name(v) for v in vals]  # of the last row (see param_order)
        else:
            self.query = planner.plan_query(src, None)
            if len(self.query.columns) != len(self.positions):
                raise ProgrammingError("table %s has %d columns but %d values were supplied"
                                       % (t.name, len(self.positions), len(self.query.columns)))
        self._fill()   # here, not on first use: plans are shared by sessions in other threads

    def _value_rows(self, ctx):
        if self.query is not None:
            return list(self.query.run(ctx))   # read everything first: INSERT INTO t SELECT … FROM t
        return [[f((), ctx) for f in fs] for fs in self.rows]

    def _fill(self):
        """Per-column work decided once: which given values need affinity, which defaults apply."""
        given = set(self.positions)
        self._given = [(i, self.affinities[i], self.names[i]) for i in self.positions]
        self._defaulted = [(i, d, self.affinities[i], self.names[i]) for i, d in enumerate(self.defaults)
                           if d is not None and i not in given]
        return self._given, self._defaulted

    def param_order(self, n):
        """For VALUES that is one row of positional parameters only (what SQLAlchemy's executemany
        sends): the position in a parameter set of each value, so that sets need not be bound to
        names and evaluated. None otherwise."""
        if self.query is not None or len(self.rows) != 1 or not n:
            return None
        names = ["p%d" % (i + 1) for i in range(n)]
        order = [names.index(name) if name in names else None for name in self._param_names]
        return None if None in order else order

    def run(self, session, ctx, many=False):
        """Insert the rows; -> (count, lastrowid). ``many``: one of the parameter sets of an
        executemany (a single-row INSERT alone prefetches its children, see TableRows.insert)."""
        value_rows = self._value_rows(ctx)
        return self.insert_values(session, ctx, value_rows, not many and len(value_rows) == 1)

    def _one_row(self, session, ctx, vals):
        """(row, generated) for one row of given values: the row as a tuple, affinity applied,
        defaults filled, an AUTOINCREMENT value drawn when none is given (generated: it was)."""
        row = [None] * len(self.table.columns)
        for (i, aff, name), v in zip(self._given, vals):
            if v is not None:
                row[i] = v if (aff == "TEXT" and type(v) is str and v.isascii()) else apply_affinity(v, aff, name)
        for i, d, aff, name in self._defaulted:
            v = d((), ctx)
            if v is not None:
                row[i] = apply_affinity(v, aff, name)
        return self._numbered(session, row)

    def _numbered(self, session, row):
        """(row as a tuple, whether its AUTOINCREMENT value was drawn here)."""
        a = self.auto
        if a is not None:
            if row[a] is None:
                row[a] = session.next_id(self.table)
                return tuple(row), True
            if a == self.alias:
                integer_key(row[a])
            session.saw_id(self.table, row[a])
        return tuple(row), False

    def _by_columns(self, session, ctx, value_rows):
        """_one_row for many rows, a column at a time (a comprehension per column rather than a
        Python loop per value): (rows, generated flags)."""
        n = len(value_rows)
        cols = [None] * len(self.table.columns)
        for (i, aff, name), col in zip(self._given, zip(*value_rows)):
            cols[i] = _converted(col, aff, name)
        for i, d, aff, name in self._defaulted:
            cols[i] = _converted([d((), ctx) for _ in range(n)], aff, name)
        nulls = [None] * n
        rows = zip(*[nulls if c is None else c for c in cols])
        if self.auto is None:
            return list(rows), [False] * n
        numbered = [self._numbered(session, list(r)) for r in rows]
        return [r for r, _g in numbered], [g for _r, g in numbered]

    def insert_values(self, session, ctx, value_rows, alone=False):
        """Insert rows of values, given in self.positions' order: (count, last row id)."""
        t = self.table
        rows = session.rows(t)
        count, last = 0, None
        if self.upsert is not None:
            return self.upsert.insert_values(self, session, ctx, value_rows)
        value_rows = value_rows if isinstance(value_rows, list) else list(value_rows)
        batch = None
        if len(value_rows) > 1:
            try:
                batch, generated = self._by_columns(session, ctx, value_rows)
            except Error:   # built and inserted row by row below, the error is the first failing row's
                pass
        a = self.auto
        if batch is not None and not self.mode:
            done = rows.insert_batch(batch, generated)
            if done is not None:
                last = batch[-1][a] if a is not None else \
                    (rows.pk_from_key(done[-1])[0] if rows.rowid else None)
                return len(done), last
        each = zip(batch, generated) if batch is not None else (self._one_row(session, ctx, v) for v in value_rows)
        for tup, gen in each:
            for attempt in range(_ATTEMPTS):
                try:
                    if self.mode == "REPLACE":
                        tup = _defaults_for_nulls(session, t, tup, ctx)
                        _remove_conflicts(rows, tup)
                    key = rows.insert(tup, gen, alone)
                    break
                except IntegrityError as e:
                    if gen and rows.is_pk_error(e) and rows.get(rows.pk_of(tup)) is not None \
                            and attempt + 1 < _ATTEMPTS:
                        row = list(tup)
                        row[a] = session.next_id(t, resync=True)   # taken by an insert elsewhere
                        tup = tuple(row)
                        continue
                    if self.mode == "IGNORE":
                        key = None
                        break
                    raise
            if key is None:
                continue
            count += 1
            if a is not None:
                last = tup[a]
            elif rows.rowid:
                last = rows.pk_from_key(key)[0]
        return count, last



def _defaults_for_nulls(session, table, tup, ctx):
    """OR REPLACE and a NULL in a NOT NULL column that has a default: the default instead, as SQLite
    (a column without one still fails its NOT NULL constraint)."""
    if None not in tup:
        return tup
    row = list(tup)
    for i, (c, d) in enumerate(zip(table.columns, session.planner().defaults(table))):
        if row[i] is None and not c.nullable and d is not None:
            v = d((), ctx)
            row[i] = None if v is None else apply_affinity(v, c.affinity, c.name)
    return tuple(row)


def _remove_conflicts(rows, tup, keep=None):
    """OR REPLACE: delete the rows that hold one of tup's primary or unique keys (but the row at
    ``keep``, the one being updated)."""
    keys = ([] if rows.rowid else [(None, rows.pk_idx)]) + \
        [(ix, idx) for ix, idx, _p in rows.index_info if ix.unique]
    for ix, idx in keys:
        vals = [tup[i] for i in idx]
        if None in vals:
            continue
        found = rows.find_by_key(ix, vals)
        if found is not None and found[0] != keep:
            rows.delete(*found)


def integer_key(value):
    """A value for an INTEGER PRIMARY KEY column (after affinity): an integer, else SQLite's error."""
    if type(value) is not int:
        raise IntegrityError("datatype mismatch")


def _converted(col, aff, name):
    """A column of given values with the column's affinity applied (NULLs kept)."""
    if aff == "TEXT":
        return [v if (type(v) is str and v.isascii()) or v is None else apply_affinity(v, aff, name) for v in col]
    if aff == "INTEGER":
        return [v if type(v) is int and INT_MIN <= v <= INT_MAX else apply_affinity(v, aff, name) for v in col]
    return [apply_affinity(v, aff, name) for v in col]


class _Targeted:
    """The rows of one table matched by a WHERE clause, through the best access path."""

    def __init__(self, planner, stmt):
        tnode = stmt.this
        if not isinstance(tnode, exp.Table):
            raise ProgrammingError("unsupported target: %s" % tnode.sql(dialect="sqlite")
                                   if isinstance(tnode, exp.Expression) else
                                   "syntax error: %s needs a table" % stmt.key.upper())
        self.table = planner.table(table_name(tnode))
        for arg in ("returning", "order", "limit", "from_", "joins"):
            if stmt.args.get(arg):
                raise NotSupportedError("%s in %s is not supported" % (arg.strip("_").upper(), stmt.key.upper()))
        q = exp.select("*").from_(tnode.copy())
        if stmt.args.get("where"):
            q.set("where", stmt.args["where"].copy())
        self.select = SelectPlan(planner, q, None)
        self.scope = self.select.scope

    def matched(self, ctx):
        lvl = self.select.levels[0]
        pre, flt = self.select.pre_filter, lvl.filter
        if pre is not None and not pre((), ctx):
            return []
        out = []
        for k, r in lvl.access.scan((), ctx):
            if flt is None or flt(r, ctx):
                out.append((k, r))
        return out


class UpdatePlan(_Targeted):
    """UPDATE [OR IGNORE | OR REPLACE]: OR IGNORE skips a row whose new values break a UNIQUE, NOT
    NULL or CHECK constraint; OR REPLACE first deletes the other rows holding its new unique keys.
    (OR ABORT and FAIL are the default: the statement fails and leaves no change; OR ROLLBACK
    then ends the transaction too, see Session._run.)"""

    def __init__(self, planner, stmt):
        if not stmt.expressions:
            raise ProgrammingError("syntax error: UPDATE needs SET column = value")
        super().__init__(planner, stmt)
        self.mode = stmt.meta.get("rome_conflict")
        t = self.table
        self.sets = []
        alias = t.rowid_alias
        for e in stmt.expressions:
            col = e.this
            i = t.column_index(col.name)
            if i is None:
                raise ProgrammingError("no such column: %s" % col.name)
            self.sets.append((i, compile_expr(e.expression, self.scope), t.columns[i].affinity, t.columns[i].name,
                              i == alias))

    def run(self, session, ctx):
        rows = session.rows(self.table)
        matched = self.matched(ctx)
        changes = []
        for k, r in matched:
            new = list(r)
            for i, f, aff, name, key in self.sets:
                v = f(r, ctx)
                new[i] = None if v is None else apply_affinity(v, aff, name)
                if key and v is not None:
                    integer_key(new[i])
            changes.append((k, r, tuple(new)))
        if self.mode not in ("IGNORE", "REPLACE"):
            for k, old, new in changes:
                rows.update(k, old, new)
            return len(changes)
        count = 0
        for k, old, new in changes:
            if rows.txn.get(k) is None:
                continue   # deleted by OR REPLACE for an earlier row
            if self.mode == "REPLACE":
                new = _defaults_for_nulls(session, self.table, new, ctx)
                _remove_conflicts(rows, new, keep=k)
            try:
                rows.update(k, old, new)
            except IntegrityError as e:
                if self.mode == "REPLACE" or str(e).startswith("FOREIGN KEY"):
                    raise
                continue   # checked before anything is written: the row is as it was
            count += 1
        return count


class DeletePlan(_Targeted):
    def run(self, session, ctx):
        rows = session.rows(self.table)
        matched = self.matched(ctx)
        for k, r in matched:
            if rows.txn.get(k) is None:
                continue  # already removed by a cascade from an earlier row
            rows.delete(k, r)
        return len(matched)
