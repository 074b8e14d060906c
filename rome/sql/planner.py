"""The planner: from a parsed statement to a cached, runnable plan, against one catalog version.

A Planner belongs to one Catalog object (rome.sql.session), so everything it caches (plans per SQL text,
table layouts, compiled CHECK constraints and defaults) is valid exactly as long as that schema. Every
session on that catalog, in any thread, shares it: a Planner and its plans keep no per-statement state
(what a statement needs while it runs lives in its Ctx, what planning needs is passed along).
"""
from sqlglot import exp

from rome.errors import ProgrammingError
from rome.sql.expressions import compile_expr, compile_predicate
from rome.sql.rows import TableRows
from rome.sql.scope import Scope
from rome.sql.minmax import MinMaxPlan, min_max_shape
from rome.sql.select import CompoundPlan, SelectPlan
from rome.sql.textcache import TextCache
from rome.sql.semantics.values import truthy

# A plan holds its statement's tree and compiled code: some 800 bytes per character of SQL text.
PLAN_BUDGET = 128 << 20


class Planner:
    def __init__(self, catalog):
        self.catalog = catalog
        self.plans = TextCache(PLAN_BUDGET, bytes_per_char=800)
        self._layouts = {}
        self._checks = {}
        self._defaults = {}
        self._referrers = None

    # -- cache ----------------------------------------------------------------------------------
    def cached(self, key, build):
        p = self.plans.get(key)
        if p is None:
            p = build()
            self.plans.put(key, p)
        return p

    def query(self, sql, stmt):
        return self.cached(sql, lambda: self.plan_query(stmt, None))

    # -- schema lookups -------------------------------------------------------------------------
    def table(self, name):
        t = self.catalog.table(name)
        if t is None:
            raise ProgrammingError("no such table: %s" % name)
        return t

    def layout(self, table):
        """A TableRows with no session: key prefixes, column positions and index positions."""
        r = self._layouts.get(table.id)
        if r is None:
            r = self._layouts[table.id] = TableRows(None, table)
        return r

    def referrers(self, table):
        """[(child table, foreign key)] of foreign keys that reference table."""
        if self._referrers is None:
            refs = {}
            for t in self.catalog.tables.values():
                for fk in t.foreign_keys:
                    refs.setdefault(fk.ref_table.lower(), []).append((t, fk))
            self._referrers = refs
        return self._referrers.get(table.name.lower(), ())

    def check_predicates(self, table):
        c = self._checks.get(table.id)
        if c is None:
            import sqlglot
            scope = Scope([_source(table)], planner=self)
            c = []
            for ck in table.checks:
                f = compile_expr(sqlglot.parse_one(ck.sql, read="sqlite"), scope)
                c.append((ck.name, _check_truth(f)))
            self._checks[table.id] = c
        return c

    def defaults(self, table):
        """Per column: None (no default) or a compiled constant expression."""
        d = self._defaults.get(table.id)
        if d is None:
            import sqlglot
            d = []
            for col in table.columns:
                if col.default is None:
                    d.append(None)
                else:
                    d.append(self.compile_const(sqlglot.parse_one(col.default, read="sqlite")))
            self._defaults[table.id] = d
        return d

    # -- planning -------------------------------------------------------------------------------
    def plan_query(self, node, outer):
        if isinstance(node, exp.Subquery):
            return self.plan_query(node.this, outer)
        if isinstance(node, exp.Select):
            shape = min_max_shape(node)
            return MinMaxPlan(self, node, outer, shape) if shape else SelectPlan(self, node, outer)
        if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            return CompoundPlan(self, node, outer)
        if isinstance(node, exp.Paren):
            return self.plan_query(node.this, outer)
        raise ProgrammingError("not a query: %s" % node.sql(dialect="sqlite")[:80])

    def plan_subquery(self, node, scope):
        """A correlated-or-not subquery: returns run(row, ctx) -> list of rows (its ``plan`` and
        whether it is ``correlated`` attached, for EXPLAIN). An uncorrelated one runs once per
        statement; a correlated one once per outer row, the outer columns as its parameters."""
        plan = self.plan_query(node, scope)
        refs = plan.outer_refs()
        if not refs:
            key = id(plan)

            def run(row, ctx):
                r = ctx.cache.get(key)
                if r is None:
                    r = ctx.cache[key] = list(plan.run(ctx))
                return r
        else:
            def run(row, ctx):
                params = dict(ctx.params)
                for name, f in refs:
                    params[name] = f(row, ctx)
                return list(plan.run(ctx.child(params)))
        run.plan, run.correlated = plan, bool(refs)
        return run

    def compile_const(self, node):
        return compile_expr(node, Scope(planner=self))

    def compile_predicate(self, nodes, scope):
        """One function row, ctx -> bool for the AND of nodes (None for no condition)."""
        if not nodes:
            return None
        if len(nodes) == 1:
            return compile_predicate(nodes[0], scope)
        conj = nodes[0]
        for n in nodes[1:]:
            conj = exp.And(this=conj, expression=n)
        return compile_predicate(conj, scope)


def _source(table):
    from rome.sql.scope import Source
    return Source(table.name, [c.name for c in table.columns], 0, table)


def _check_truth(f):
    """A CHECK expression as its constraint reads it: None when NULL (the row passes), else its SQL
    truth as a bool (text and blobs by their numeric prefix: CHECK (a) refuses a = 'z', as SQLite)."""
    def check(row, ctx):
        v = f(row, ctx)
        return None if v is None else truthy(v)
    return check
