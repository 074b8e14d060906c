"""``SELECT min(c) FROM t [WHERE ...]`` (or max) read as the first row of an ordered scan.

The query is planned as ``SELECT c FROM t WHERE (...) AND c IS NOT NULL ORDER BY c [DESC] LIMIT 1``:
when the primary key or an index starts with ``c`` (in c's collation), the access path returns rows
in that order and the scan stops at the first one, one read instead of the whole table; otherwise it
is a scan and a sort, which is what the aggregate would have cost. min/max ignore NULLs and compare
as ORDER BY does (SQLite's cross-type order, the column's collation), so both give the same value.
"""
from sqlglot import exp

from rome.sql.select import Plan, SelectPlan


def min_max_shape(node):
    """(column node, desc) when node is such a query, else None: one item, min(col) or max(col) on a
    plain column, one table, no join, GROUP BY, HAVING, DISTINCT, ORDER BY, LIMIT or OFFSET."""
    if len(node.expressions) != 1 or any(node.args.get(a) for a in (
            "joins", "group", "having", "distinct", "order", "limit", "offset", "with_")):
        return None
    frm = node.args.get("from_")
    if frm is None or not isinstance(frm.this, exp.Table):
        return None
    item = node.expressions[0]
    agg = item.this if isinstance(item, exp.Alias) else item
    if not isinstance(agg, (exp.Min, exp.Max)) or agg.expressions or not isinstance(agg.this, exp.Column):
        return None
    return agg.this, isinstance(agg, exp.Max)


class MinMaxPlan(Plan):
    def __init__(self, planner, node, outer, shape):
        col, desc = shape
        q = exp.select(col.copy()).from_(node.args["from_"].this.copy())
        cond = exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null()))
        where = node.args.get("where")
        q = q.where(exp.and_(exp.Paren(this=where.this.copy()), cond) if where is not None else cond)
        q = q.order_by(exp.Ordered(this=col.copy(), desc=desc)).limit(1)
        self.inner = SelectPlan(planner, q, outer)
        self.scope = self.inner.scope
        item = node.expressions[0]
        self.columns = [item.alias if isinstance(item, exp.Alias) else self.inner._name(item)]

    def first_reads(self, ctx):
        return self.inner.first_reads(ctx)

    def outer_refs(self):
        return self.inner.outer_refs()

    def run(self, ctx):
        for row in self.inner.run(ctx):
            return iter([row])
        return iter([(None,)])

    def explain(self, depth=0):
        return ["  " * depth + "MIN/MAX FROM THE FIRST ROW OF"] + self.inner.explain(depth + 1)
