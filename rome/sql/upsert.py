"""INSERT ... ON CONFLICT (upsert), as SQLite does it.

    INSERT INTO t (...) VALUES (...) ON CONFLICT [(columns)] DO NOTHING
    INSERT INTO t (...) VALUES (...) ON CONFLICT (columns) DO UPDATE SET c = expr, ... [WHERE cond]

Rows are taken one at a time (a later row of the same statement sees the earlier ones). For each, the
row that holds the same key is looked up: the key named by the conflict target (the primary key or a
UNIQUE index on exactly those columns), or, without a target, any of them. No such row: the row is
inserted as by a plain INSERT (a conflict on another key is the usual IntegrityError). Otherwise DO
NOTHING skips it, and DO UPDATE updates the existing row, where ``excluded.c`` is the value the
insert would have written and a bare ``c`` (or ``t.c``) the existing one; a false WHERE skips it.
Inserted and updated rows both count in rowcount; lastrowid is the last inserted row's.
"""
from sqlglot import exp

from rome.errors import ProgrammingError
from rome.sql.expressions import compile_expr
from rome.sql.scope import Scope, Source
from rome.sql.semantics.values import apply_affinity


class _UpsertScope(Scope):
    """The existing row (under the table's name or alias) then ``excluded``: a bare column name is
    the existing row's, as in SQLite."""

    def resolve(self, node):
        if not node.table:
            i = self.sources[0].find(node.name)
            return None if i is None else i
        return super().resolve(node)


class Upsert:
    def __init__(self, planner, table, alias, node):
        self.table = t = table
        action = node.args.get("action")
        self.nothing = action is not None and action.name.upper() == "DO NOTHING"
        if node.args.get("index_predicate") is not None:
            raise ProgrammingError("ON CONFLICT ... WHERE (a partial index target) is not supported")
        self.keys = self._targets(node.args.get("conflict_keys"))
        names = [c.name for c in t.columns]
        scope = _UpsertScope([Source(alias or t.name, names, 0, t), Source("excluded", names, len(names), t)],
                             planner=planner)
        self.sets = []
        for e in node.expressions or []:
            if not isinstance(e, exp.EQ) or not isinstance(e.this, exp.Column):
                raise ProgrammingError("DO UPDATE SET needs column = expression")
            i = t.column_index(e.this.name)
            if i is None:
                raise ProgrammingError("no such column: %s" % e.this.name)
            self.sets.append((i, compile_expr(e.expression, scope), t.columns[i].affinity, t.columns[i].name))
        if not self.nothing and not self.sets:
            raise ProgrammingError("DO UPDATE needs SET")
        where = node.args.get("where")
        self.where = planner.compile_predicate([where.this], scope) if where is not None else None

    def _targets(self, conflict_keys):
        """The keys a conflict is looked for on: [index or None (primary key), ...]."""
        t = self.table
        every = ([] if t.has_rowid else [None]) + [ix for ix in t.indexes if ix.unique]
        if not conflict_keys:
            if not self.nothing:
                raise ProgrammingError("ON CONFLICT DO UPDATE needs a conflict target")
            return every
        want = set()
        for o in conflict_keys:
            c = o.this if isinstance(o, exp.Ordered) else o
            col = t.column(c.name) if isinstance(c, exp.Column) else None
            if col is None:
                raise ProgrammingError("ON CONFLICT target is not a column of %s" % t.name)
            want.add(col.name.lower())
        for ix in every:
            cols = t.primary_key if ix is None else ix.columns
            if {c.lower() for c in cols} == want:
                return [ix]
        raise ProgrammingError("ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint")

    def insert_values(self, plan, session, ctx, value_rows):
        """Insert or update each row of values (plan: the InsertPlan). -> (count, lastrowid)."""
        t = self.table
        rows = session.rows(t)
        count, last = 0, None
        for vals in value_rows:
            tup, generated = plan._one_row(session, ctx, vals)
            found = self._existing(rows, tup)
            if found is None:
                key = rows.insert(tup, generated)
                count += 1
                last = tup[plan.auto] if plan.auto is not None else \
                    (rows.pk_from_key(key)[0] if rows.rowid else last)
                continue
            if self.nothing:
                continue
            key, old = found
            both = old + tup
            if self.where is not None and not self.where(both, ctx):
                continue
            new = list(old)
            for i, f, aff, name in self.sets:
                v = f(both, ctx)
                new[i] = None if v is None else apply_affinity(v, aff, name)
            rows.update(key, old, tuple(new))
            count += 1
        return count, last

    def _existing(self, rows, tup):
        """(key, row) of the row that holds one of tup's conflict keys, or None."""
        t = self.table
        for ix in self.keys:
            cols = t.primary_key if ix is None else ix.columns
            vals = [tup[t.column_index(c)] for c in cols]
            if None in vals:
                continue   # NULLs are distinct: no conflict
            found = rows.find_by_key(ix, vals)
            if found is not None:
                return found
        return None
