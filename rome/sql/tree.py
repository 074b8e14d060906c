"""Questions about a parsed statement's tree (sqlglot nodes) that the planner asks."""
from sqlglot import exp

from rome.sql.semantics.values import collation_name

AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.GroupConcat)


def is_aggregate(node):
    if isinstance(node, (exp.Min, exp.Max)) and node.expressions:
        return False  # min(a, b): SQLite's scalar form
    return isinstance(node, AGGREGATES) or (isinstance(node, exp.Anonymous) and node.name.lower() == "total")


def find_aggregates(node):
    """Aggregate calls in node, not descending into subqueries."""
    out = []

    def walk(n):
        if isinstance(n, (exp.Select, exp.Subquery, exp.SetOperation)):
            return
        if is_aggregate(n):
            out.append(n)
            return
        for child in n.iter_expressions():
            walk(child)
    walk(node)
    return out


def conjuncts(node):
    if node is None:
        return []
    if isinstance(node, exp.Paren):
        return conjuncts(node.this)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def columns_in(node):
    """Column references in node, including those inside subqueries (they may be correlated)."""
    return [c for c in node.find_all(exp.Column) if not isinstance(c.this, exp.Star)]


def has_subquery(node):
    return any(True for _ in node.find_all(exp.Select))


def collation_of(nodes, column_collation):
    """The collation SQLite applies to a comparison of ``nodes`` (its operands, left first), or to one
    expression (ORDER BY, GROUP BY, DISTINCT, min/max): an explicit ``COLLATE`` on an operand, the left
    one first; else the declared collation of the first operand that is a column
    (``column_collation(node)``); else BINARY. None stands for BINARY."""
    nodes = [_unparen(n) for n in nodes]
    for n in nodes:
        if isinstance(n, exp.Collate):
            return collation_name(n.expression.name)
    for n in nodes:
        if isinstance(n, exp.Column):
            return column_collation(n)
    return None


def _unparen(node):
    while isinstance(node, exp.Paren):
        node = node.this
    return node
