"""Alembic support: :class:`RomeImpl`, found by alembic through the dialect name ``rome``.

ROME runs SQLite's DDL, so the implementation starts from alembic's ``SQLiteImpl`` (server default
comparison, parenthesised expression defaults, casts when batch mode copies a column to a new type,
refusal of ALTER on constraints with a pointer to batch mode) and differs where ROME does more:

- DDL is transactional (``transactional_ddl = True``): a failed migration leaves nothing behind;
- ALTER TABLE ... RENAME COLUMN / RENAME TO / ADD COLUMN / DROP COLUMN and CREATE/DROP INDEX run in
  place, also inside ``batch_alter_table()`` (recreate="auto"): a batch is only turned into SQLite's
  "create a copy, move the rows, drop, rename" when it holds something ROME cannot ALTER:
  a column's type, nullability or server default, constraints, an ADD COLUMN whose default is a SQL
  expression, or a DROP COLUMN of a column that a key, index, foreign key or CHECK uses;
- outside batch mode, ALTER COLUMN of type/nullability/default fails at compile time with a message
  pointing to ``batch_alter_table()`` rather than sending SQL the engine would reject.
"""
import re

from alembic.ddl.base import alter_table
from alembic.ddl.base import ColumnDefault
from alembic.ddl.base import ColumnName
from alembic.ddl.base import ColumnNullable
from alembic.ddl.base import ColumnType
from alembic.ddl.base import format_column_name
from alembic.ddl.base import format_table_name
from alembic.ddl.base import RenameTable
from alembic.ddl.sqlite import SQLiteImpl
from sqlalchemy import Computed
from sqlalchemy import exc
from sqlalchemy import schema as sa_schema
from sqlalchemy import sql
from sqlalchemy.ext.compiler import compiles

_IN_PLACE = {"create_index", "drop_index", "rename_table"}


class RomeImpl(SQLiteImpl):
    __dialect__ = "rome"

    transactional_ddl = True

    def requires_recreate_in_batch(self, batch_op):
        for opname, args, kw in batch_op.batch:
            if opname in _IN_PLACE:
                continue
            if opname == "add_column":
                col = args[1]
                if isinstance(col.server_default, sa_schema.DefaultClause) and isinstance(
                        col.server_default.arg, sql.ClauseElement):
                    return True  # an expression default cannot be filled into existing rows
                if isinstance(col.server_default, Computed) or col.primary_key:
                    return True
                if "insert_before" in kw or "insert_after" in kw:
                    return True
                continue
            if opname == "drop_column":
                if self._column_in_use(batch_op, args[1].name):
                    return True
                continue
            if opname == "alter_column" and _only_renames(kw):
                continue
            return True
        return False

    def _column_in_use(self, batch_op, column_name):
        """True if a key, index, foreign key or CHECK of the table names the column (or we cannot
        tell): DROP COLUMN would then need the table rebuilt, as SQLite does."""
        conn = self.connection
        if conn is None:  # offline (--sql): no catalog to look at
            return False
        try:
            catalog = conn.connection.dbapi_connection.catalog()
        except AttributeError:
            return True
        table = catalog.table(batch_op.table_name)
        if table is None:
            return True
        name = column_name.lower()
        if name in (c.lower() for c in table.primary_key):
            return True
        for ix in table.indexes:
            if name in (c.lower() for c in ix.columns):
                return True
        for fk in table.foreign_keys:
            if name in (c.lower() for c in fk.columns):
                return True
        for ref in catalog.tables.values():  # other tables' foreign keys pointing at this column
            for fk in ref.foreign_keys:
                if fk.ref_table.lower() == table.name.lower() and name in (
                        c.lower() for c in (fk.ref_columns or table.primary_key)):
                    return True
        word = re.compile(r"(?<![\w$])[\"`\[]?%s[\"`\]]?(?![\w$])" % re.escape(name), re.I)
        return any(word.search(ck.sql or "") for ck in table.checks)


def _only_renames(kw):
    """An alter_column that changes nothing but the name."""
    return (kw.get("nullable") is None and kw.get("server_default", False) is False
            and kw.get("type_") is None and kw.get("comment", False) is False
            and kw.get("autoincrement") is None)


@compiles(RenameTable, "rome")
def _rename_table(element, compiler, **kw):
    return "%s RENAME TO %s" % (
        alter_table(compiler, element.table_name, element.schema),
        format_table_name(compiler, element.new_table_name, None),
    )


@compiles(ColumnName, "rome")
def _rename_column(element, compiler, **kw):
    return "%s RENAME COLUMN %s TO %s" % (
        alter_table(compiler, element.table_name, element.schema),
        format_column_name(compiler, element.column_name),
        format_column_name(compiler, element.newname),
    )


def _no_alter_column(what):
    def visit(element, compiler, **kw):
        raise exc.CompileError(
            "ROME cannot ALTER the %s of column %s.%s in place; use "
            "op.batch_alter_table(%r), which rebuilds the table"
            % (what, element.table_name, element.column_name, element.table_name))
    return visit


compiles(ColumnNullable, "rome")(_no_alter_column("nullability"))
compiles(ColumnType, "rome")(_no_alter_column("type"))
compiles(ColumnDefault, "rome")(_no_alter_column("server default"))
