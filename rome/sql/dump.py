"""SQL dumps and scripts: what ``Connection.iterdump()`` writes and ``executescript()`` reads.

A dump is SQL that both ROME and SQLite replay to the same schema and rows, one statement per item,
each ending with ``;`` (as ``sqlite3.Connection.iterdump`` yields them, so ``"".join(...)`` is a script):
``BEGIN TRANSACTION;``, then per table its ``CREATE TABLE`` (written from the catalog: columns with
their declared types, NOT NULL and DEFAULT; primary key, UNIQUE, FOREIGN KEY and CHECK constraints with
their names) and an ``INSERT`` per row, then the ``CREATE INDEX`` statements, then ``COMMIT;``.

Tables come parents first (then by name) and the rows of a table referencing itself parents first, so
that a replay with foreign keys enforced never inserts a child before its parent (except across a
cycle of tables, which needs the replaying side to defer or disable foreign keys).
"""
import math
import re


# defaults SQLite takes without parentheses: numbers, strings, NULL, CURRENT_TIME/DATE/TIMESTAMP
_SIMPLE_DEFAULT = re.compile(r"^([+-]?\d+(\.\d*)?([eE][+-]?\d+)?|'([^']|'')*'|NULL|TRUE|FALSE|"
                             r"CURRENT_(TIME|DATE|TIMESTAMP))$", re.I)


def quote_ident(name):
    return '"%s"' % name.replace('"', '""')


def literal(value):
    """An SQL literal that reads back as ``value`` in ROME and SQLite (as sqlite's quote())."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NULL"
        if math.isinf(value):
            return "9.0e+999" if value > 0 else "-9.0e+999"
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "X'%s'" % bytes(value).hex().upper()
    if isinstance(value, str):
        if "\x00" in value:  # a NUL ends a string literal in SQLite: spell the text as bytes
            return "CAST(X'%s' AS TEXT)" % value.encode("utf-8").hex().upper()
        return "'%s'" % value.replace("'", "''")
    raise TypeError("cannot write %r as an SQL literal" % (value,))


def _columns(names):
    return "(%s)" % ", ".join(quote_ident(n) for n in names)


def _named(name):
    return "CONSTRAINT %s " % quote_ident(name) if name else ""


def create_table_sql(table):
    """``CREATE TABLE`` for a catalog Table (what ``sqlite_master.sql`` would hold for it)."""
    parts = []
    for c in table.columns:
        text = quote_ident(c.name)
        if c.type:
            text += " " + c.type
        if not c.nullable:
            text += " NOT NULL"
        if c.default is not None:
            simple = _SIMPLE_DEFAULT.match(c.default)
            text += (" DEFAULT %s" if simple else " DEFAULT (%s)") % c.default
        parts.append(text)
    if not table.has_rowid:
        parts.append("%sPRIMARY KEY %s" % (_named(table.pk_name), _columns(table.primary_key)))
    for ix in table.indexes:
        if ix.constraint:
            name = None if ix.name.startswith("sqlite_autoindex_") else ix.name
            parts.append("%sUNIQUE %s" % (_named(name), _columns(ix.columns)))
    for fk in table.foreign_keys:
        text = "%sFOREIGN KEY %s REFERENCES %s %s" % (
            _named(fk.name), _columns(fk.columns), quote_ident(fk.ref_table), _columns(fk.ref_columns))
        if fk.on_delete:
            text += " ON DELETE " + fk.on_delete
        if fk.on_update:
            text += " ON UPDATE " + fk.on_update
        parts.append(text)
    for ck in table.checks:
        parts.append("%sCHECK (%s)" % (_named(ck.name), ck.sql))
    return "CREATE TABLE %s (\n\t%s\n);" % (quote_ident(table.name), ",\n\t".join(parts))


def create_index_sql(table, ix):
    return "CREATE %sINDEX %s ON %s %s;" % ("UNIQUE " if ix.unique else "", quote_ident(ix.name),
                                           quote_ident(table.name), _columns(ix.columns))


def tables_in_order(catalog):
    """The catalog's tables, every table after the tables it references (by name otherwise)."""
    tables = sorted(catalog.tables.values(), key=lambda t: t.name.lower())
    done, order = set(), []

    def visit(t, path):
        key = t.name.lower()
        if key in done or key in path:
            return
        path.add(key)
        for fk in t.foreign_keys:
            parent = catalog.table(fk.ref_table)
            if parent is not None:
                visit(parent, path)
        path.discard(key)
        done.add(key)
        order.append(t)

    for t in tables:
        visit(t, set())
    return order


def parents_first(table, columns, rows):
    """``rows`` of ``table`` reordered so that a row referenced by another row of the same table
    through a foreign key comes before it; other tables' references do not matter here."""
    self_fks = [fk for fk in table.foreign_keys if fk.ref_table.lower() == table.name.lower()]
    if not self_fks or len(rows) < 2:
        return rows
    pos = {c.lower(): i for i, c in enumerate(columns)}
    links = [([pos[c.lower()] for c in fk.columns], [pos[c.lower()] for c in fk.ref_columns])
             for fk in self_fks]
    by_key = [{tuple(r[i] for i in ref): n for n, r in enumerate(rows)} for _, ref in links]
    out, state = [], [0] * len(rows)  # 0 new, 1 being placed, 2 placed
    for start in range(len(rows)):
        stack = [start]
        while stack:
            n = stack[-1]
            if state[n] == 2:
                stack.pop()
                continue
            state[n] = 1
            pending = []
            for (child, _), keys in zip(links, by_key):
                value = tuple(rows[n][i] for i in child)
                parent = keys.get(value) if None not in value else None
                if parent is not None and state[parent] == 0:
                    pending.append(parent)
            if pending:
                stack.extend(pending)
            else:
                state[n] = 2
                out.append(rows[n])
                stack.pop()
    return out


def dump(catalog, select):
    """The dump's statements; ``select(sql)`` returns (column names, rows) of a query."""
    yield "BEGIN TRANSACTION;"
    tables = tables_in_order(catalog)
    for t in tables:
        yield create_table_sql(t)
        names = [c.name for c in t.columns]
        _, rows = select("SELECT * FROM %s" % quote_ident(t.name))   # in primary key (or rowid) order
        for row in parents_first(t, names, rows):
            yield "INSERT INTO %s VALUES(%s);" % (quote_ident(t.name), ",".join(literal(v) for v in row))
    for t in tables:
        for ix in t.indexes:
            if not ix.constraint:
                yield create_index_sql(t, ix)
    yield "COMMIT;"
