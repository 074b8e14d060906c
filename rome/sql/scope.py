"""Name resolution: which position of the current row a column reference reads.

A query block's rows are the concatenation of its FROM sources' rows, in FROM order. A Scope knows each
source's alias, column names and offset, and resolves `alias.column` or a bare `column` (ambiguous if two
sources have it) to an offset. Expressions that the planner computes ahead (aggregates, GROUP BY keys)
are registered as extra slots past the sources. A column that is not found here but is found in an
enclosing query (a correlated subquery) becomes a parameter of the subquery: the subquery's executor
sets `ctx.params["__oN"]` from the outer row before running it, so inside the subquery an outer column
is a constant, which lets the planner use it in index lookups.
"""
from sqlglot import exp

from rome.errors import ProgrammingError


class Source:
    __slots__ = ("alias", "columns", "offset", "table", "_names")

    def __init__(self, alias, columns, offset, table=None):
        self.alias = alias
        self.columns = columns
        self.offset = offset
        self.table = table
        self._names = {}
        for i, c in enumerate(columns):
            self._names.setdefault(c.lower(), i)

    def find(self, name):
        return self._names.get(name.lower())


class Scope:
    def __init__(self, sources=(), outer=None, planner=None):
        self.sources = list(sources)
        self.outer = outer
        self.planner = planner
        self.width = sum(len(s.columns) for s in self.sources)
        self.slots = {}          # expression -> position (aggregates, group keys)
        self.outer_refs = []     # (param name, compiled getter in the outer scope)
        self._outer_names = {}
        self.subqueries = []     # the subqueries compiled in this scope, for EXPLAIN (run functions)
        self.aliases = {}        # select-list alias -> expression (for ORDER BY/GROUP BY/HAVING)

    def add_source(self, source):
        self.sources.append(source)
        self.width += len(source.columns)

    def source(self, alias):
        a = alias.lower()
        for s in self.sources:
            if s.alias.lower() == a:
                return s
        return None

    def resolve(self, node):
        """Position of column node in this scope's rows, or None if not found here."""
        name, table = node.name, node.table
        found = None
        if table:   # two sources may have the same alias (t, t): the column must be in one only
            a = table.lower()
            for s in self.sources:
                i = s.find(name) if s.alias.lower() == a else None
                if i is not None:
                    if found is not None:
                        raise ProgrammingError("ambiguous column name: %s.%s" % (table, name))
                    found = s.offset + i
            return found
        for s in self.sources:
            i = s.find(name)
            if i is not None:
                if found is not None:
                    raise ProgrammingError("ambiguous column name: %s" % name)
                found = s.offset + i
        return found

    # -- the protocol of rome.sql.expressions.compile_expr --------------------------------------
    def slot(self, node):
        if self.slots:
            i = self.slots.get(node)
            if i is not None:
                return i
        if isinstance(node, exp.Column) and self.resolve(node) is None:
            alias = self.aliases.get(node.name.lower()) if not node.table else None
            if alias is not None:
                from rome.sql.expressions import compile_expr
                return compile_expr(alias, self)
            return self._outer(node)
        return None

    def column(self, node):
        i = self.resolve(node)
        if i is None:
            raise ProgrammingError("no such column: %s" % node.sql(dialect="sqlite"))
        return i

    def subquery(self, node):
        run = self.planner.plan_subquery(node, self)
        self.subqueries.append(run)
        return run

    def _outer(self, node):
        if self.outer is None or not self.outer.can_resolve(node):
            raise ProgrammingError("no such column: %s" % node.sql(dialect="sqlite"))
        key = node.sql()
        name = self._outer_names.get(key)
        if name is None:
            from rome.sql.expressions import compile_expr
            name = "__o%d_%d" % (id(self), len(self.outer_refs))
            self._outer_names[key] = name
            self.outer_refs.append((name, compile_expr(node, self.outer)))
        return lambda row, ctx, _n=name: ctx.params[_n]

    def table_column(self, node):
        """The catalog Column a column reference reads (None for derived columns and outer ones)."""
        try:
            pos = self.resolve(node)
        except ProgrammingError:
            return None
        if pos is None:
            return None
        for s in self.sources:
            if s.offset <= pos < s.offset + len(s.columns):
                return s.table.columns[pos - s.offset] if s.table is not None else None
        return None

    def affinity(self, node):
        """The column affinity of a column reference, so that comparisons follow SQLite's affinity
        rules (None: no affinity)."""
        c = self.table_column(node)
        return None if c is None else c.affinity

    def collation(self, node):
        """The declared collation of a column reference (None: BINARY), for comparisons, ORDER BY,
        GROUP BY and DISTINCT."""
        c = self.table_column(node)
        return None if c is None else c.collation

    def can_resolve(self, node):
        if self.resolve(node) is not None:
            return True
        return self.outer is not None and self.outer.can_resolve(node)
