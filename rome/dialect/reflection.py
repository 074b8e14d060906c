"""Reflection for SQLAlchemy's Inspector (and so alembic and oslo.db), read from ROME's catalog.

The DBAPI connection's ``catalog()`` returns the :class:`rome.sql.catalog.Catalog` as the current
transaction sees it; every method here turns part of it into the dictionaries SQLAlchemy expects,
the way SQLite's dialect reports the same schema (so reflected metadata matches sqlite's):

- column types are the declared type text, resolved through ``ischema_names`` with SQLite's affinity
  rules (``VARCHAR(36)`` -> VARCHAR(36), ``BIGINT`` -> BIGINT, ``""`` -> NullType);
- a column default is the catalog's text, which is what SQLite's PRAGMA table_info reports
  (``DEFAULT (1 + 2)`` -> ``1 + 2``, ``DEFAULT 'x'`` -> ``'x'``);
- a table without a primary key (``["_rowid_"]``) reflects as having none;
- UNIQUE constraints (``Index.constraint``) are reported by get_unique_constraints, never as indexes;
  unnamed ones carry SQLite's generated name ``sqlite_autoindex_<table>_<n>`` and reflect as None;
- one schema, "main"; no views, no temporary tables, no sequences.

The catalog is read-only here: it may be the engine's own object.
"""
from sqlalchemy import exc
from sqlalchemy.engine import reflection
from sqlalchemy.engine.reflection import ReflectionDefaults

from rome.sql.catalog import ROWID

UNNAMED_INDEX_PREFIX = "sqlite_autoindex_"
MAIN = "main"


def _constraint_name(name):
    if not name or name.startswith(UNNAMED_INDEX_PREFIX):
        return None
    return name


class RomeReflectionMixin:
    """Reflection methods of :class:`rome.dialect.base.RomeDialect`."""

    # -- access to the catalog ------------------------------------------------------------------
    def _catalog(self, connection):
        return connection.connection.dbapi_connection.catalog()

    def _known_schema(self, schema):
        return schema is None or schema == MAIN

    def _table(self, connection, table_name, schema=None):
        table = None
        if self._known_schema(schema):
            table = self._catalog(connection).table(table_name)
        if table is None:
            raise exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
        return table

    # -- names ----------------------------------------------------------------------------------
    def _get_default_schema_name(self, connection):
        return MAIN

    @reflection.cache
    def get_schema_names(self, connection, **kw):
        return [MAIN]

    @reflection.cache
    def get_table_names(self, connection, schema=None, **kw):
        if not self._known_schema(schema):
            return []
        return sorted(t.name for t in self._catalog(connection).tables.values())

    @reflection.cache
    def get_temp_table_names(self, connection, **kw):
        return []

    @reflection.cache
    def get_view_names(self, connection, schema=None, **kw):
        return []

    @reflection.cache
    def get_temp_view_names(self, connection, **kw):
        return []

    @reflection.cache
    def get_view_definition(self, connection, view_name, schema=None, **kw):
        raise exc.NoSuchTableError(f"{schema}.{view_name}" if schema else view_name)

    @reflection.cache
    def get_sequence_names(self, connection, schema=None, **kw):
        return []

    def has_sequence(self, connection, sequence_name, schema=None, **kw):
        return False

    @reflection.cache
    def has_table(self, connection, table_name, schema=None, **kw):
        self._ensure_has_table_connection(connection)
        if not self._known_schema(schema):
            return False
        return self._catalog(connection).table(table_name) is not None

    @reflection.cache
    def has_index(self, connection, table_name, index_name, schema=None, **kw):
        table = self._catalog(connection).table(table_name) if self._known_schema(schema) else None
        ix = table.index(index_name) if table is not None else None
        return ix is not None and not ix.constraint

    def get_table_options(self, connection, table_name, schema=None, **kw):
        # no table options (SQLite's WITHOUT ROWID / STRICT are not kept); NotImplementedError is
        # how a dialect says so, and what SQLAlchemy's reflection expects then
        raise NotImplementedError()

    # -- columns and constraints ----------------------------------------------------------------
    @reflection.cache
    def get_columns(self, connection, table_name, schema=None, **kw):
        table = self._table(connection, table_name, schema)
        pk = [] if table.primary_key == [ROWID] else [c.lower() for c in table.primary_key]
        columns = []
        for col in table.columns:
            if col.name == ROWID:
                continue
            info = {
                "name": col.name,
                "type": self._resolve_type_affinity((col.type or "").upper()),
                "nullable": bool(col.nullable),
                "default": None if col.default is None else str(col.default),
                "primary_key": pk.index(col.name.lower()) + 1 if col.name.lower() in pk else 0,
            }
            if col.autoincrement:
                # only ever True: "auto" (the key left out) is SQLAlchemy's policy otherwise
                info["autoincrement"] = True
            columns.append(info)
        return columns if columns else ReflectionDefaults.columns()

    @reflection.cache
    def get_pk_constraint(self, connection, table_name, schema=None, **kw):
        table = self._table(connection, table_name, schema)
        if not table.primary_key or table.primary_key == [ROWID]:
            return ReflectionDefaults.pk_constraint()
        return {"constrained_columns": list(table.primary_key), "name": table.pk_name}

    @reflection.cache
    def get_foreign_keys(self, connection, table_name, schema=None, **kw):
        table = self._table(connection, table_name, schema)
        catalog = self._catalog(connection)
        fks = []
        for fk in table.foreign_keys:
            referred_columns = list(fk.ref_columns or [])
            if not referred_columns:
                # REFERENCES t without columns: t's primary key
                ref = catalog.table(fk.ref_table)
                if ref is not None and ref.primary_key != [ROWID]:
                    referred_columns = list(ref.primary_key)
            options = {}
            if fk.on_delete and fk.on_delete.upper() != "NO ACTION":
                options["ondelete"] = fk.on_delete.upper()
            if fk.on_update and fk.on_update.upper() != "NO ACTION":
                options["onupdate"] = fk.on_update.upper()
            fks.append({
                "name": fk.name,
                "constrained_columns": list(fk.columns),
                "referred_schema": schema,
                "referred_table": fk.ref_table,
                "referred_columns": referred_columns,
                "options": options,
            })
        return fks if fks else ReflectionDefaults.foreign_keys()

    @reflection.cache
    def get_indexes(self, connection, table_name, schema=None, **kw):
        table = self._table(connection, table_name, schema)
        indexes = [
            {"name": ix.name, "column_names": list(ix.columns), "unique": bool(ix.unique),
             "dialect_options": {}}
            for ix in table.indexes if not ix.constraint]
        indexes.sort(key=lambda d: d["name"] or "~")
        return indexes if indexes else ReflectionDefaults.indexes()

    @reflection.cache
    def get_unique_constraints(self, connection, table_name, schema=None, **kw):
        table = self._table(connection, table_name, schema)
        uqs = [{"name": _constraint_name(ix.name), "column_names": list(ix.columns)}
               for ix in table.indexes if ix.constraint]
        return uqs if uqs else ReflectionDefaults.unique_constraints()

    @reflection.cache
    def get_check_constraints(self, connection, table_name, schema=None, **kw):
        table = self._table(connection, table_name, schema)
        cks = [{"sqltext": ck.sql, "name": ck.name} for ck in table.checks]
        cks.sort(key=lambda d: d["name"] or "~")
        return cks if cks else ReflectionDefaults.check_constraints()
