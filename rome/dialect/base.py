"""The SQLAlchemy dialect shared by every ROME store (``rome+memory``, ``rome+lmdb``).

ROME's SQL is SQLite's: the engine parses what SQLAlchemy's SQLite compiler writes, and values cross
the DBAPI boundary as SQLite's do (None, int, float, str, bytes). So the dialect is SQLite's with the
driver-specific parts replaced:

- compilers, type compiler, identifier preparer, execution context, ``colspecs`` and ``ischema_names``
  are SQLite's (DATETIME kept as ISO text, Boolean as 0/1, Numeric as float, exactly as on sqlite);
- the connection, URL, pool and isolation hooks speak to :mod:`rome.dbapi`;
- reflection reads the engine's catalog (:mod:`rome.dialect.reflection`), never PRAGMA/sqlite_master;
- capability flags describe ROME, not SQLite (see the notes next to each flag).

NB: ``supports_alter`` is False on purpose. In SQLAlchemy the flag means "can ALTER TABLE ADD/DROP
CONSTRAINT" (it is only consulted for foreign keys that form cycles, ``use_alter=True``); ROME has
ADD/DROP/RENAME COLUMN and RENAME TABLE but no ALTER of constraints, so with the flag False SQLAlchemy
keeps every foreign key inline in CREATE TABLE and never tries to drop one by ALTER, as on SQLite.
Alembic uses its own impl (:mod:`rome.dialect.alembic_impl`) for column-level ALTERs.
"""
from sqlalchemy import exc
from sqlalchemy import pool
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.dialects.sqlite.base import SQLiteDDLCompiler
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.dialects.sqlite.base import SQLiteExecutionContext
from sqlalchemy.dialects.sqlite.base import SQLiteIdentifierPreparer
from sqlalchemy.dialects.sqlite.base import SQLiteTypeCompiler
from sqlalchemy.dialects.sqlite.base import colspecs as sqlite_colspecs
from sqlalchemy.dialects.sqlite.base import ischema_names as sqlite_ischema_names
from sqlalchemy.engine import default

from rome.dialect.reflection import RomeReflectionMixin

#: the message prefix the DBAPI uses when the store itself has gone away
STORE_UNAVAILABLE = "store unavailable:"
#: the DBAPI's message for any use of a closed connection (pysqlite: "...closed database.")
CLOSED_CONNECTION = "Cannot operate on a closed connection"


class RomeCompiler(SQLiteCompiler):
    """SQLite's SQL compiler: ROME parses SQLite's SQL."""


class RomeDDLCompiler(SQLiteDDLCompiler):
    """SQLite's DDL compiler.

    Integer primary keys need nothing special: ROME autoincrements any single integer-affinity
    primary key column (INTEGER, BIGINT, SMALLINT...) when it is omitted or NULL, so a ``BigInteger``
    primary key gets ``id BIGINT NOT NULL, PRIMARY KEY (id)`` exactly as on SQLite and, unlike SQLite,
    works. ``AUTOINCREMENT`` is written only for ``sqlite_autoincrement=True`` tables, as SQLite does.
    """


class RomeTypeCompiler(SQLiteTypeCompiler):
    pass


class RomeIdentifierPreparer(SQLiteIdentifierPreparer):
    pass


class RomeExecutionContext(SQLiteExecutionContext):
    pass


class RomeDialect(RomeReflectionMixin, SQLiteDialect):
    """Base dialect; the store-specific subclasses set ``driver`` and ``create_connect_args``."""

    name = "rome"
    driver = "rome"
    supports_statement_cache = True

    default_paramstyle = "qmark"
    statement_compiler = RomeCompiler
    ddl_compiler = RomeDDLCompiler
    type_compiler_cls = RomeTypeCompiler
    preparer = RomeIdentifierPreparer
    execution_ctx_cls = RomeExecutionContext
    colspecs = dict(sqlite_colspecs)
    ischema_names = dict(sqlite_ischema_names)

    # -- DDL ------------------------------------------------------------------------------------
    supports_alter = False            # no ALTER ... ADD/DROP CONSTRAINT (see the module docstring)
    supports_sequences = False
    sequences_optional = False
    supports_schemas = False          # one namespace, reported as "main"
    supports_comments = False
    supports_identity_columns = False
    supports_native_boolean = False   # Boolean is 0/1, as on SQLite
    supports_native_decimal = False   # Numeric travels as float, converted by SQLite's processors
    supports_native_enum = False
    supports_server_side_cursors = False

    # -- INSERT ---------------------------------------------------------------------------------
    supports_default_values = True    # INSERT INTO t DEFAULT VALUES
    supports_default_metavalue = True  # VALUES (NULL) for the autoincrement column, as on SQLite
    default_metavalue_token = "NULL"
    supports_empty_insert = False     # no "INSERT INTO t () VALUES ()"; DEFAULT VALUES instead
    supports_multivalues_insert = True
    insert_null_pk_still_autoincrements = True
    postfetch_lastrowid = True        # cursor.lastrowid after an INSERT into an autoincrement table
    # RETURNING is not implemented by the engine yet. use_insertmanyvalues only matters together with
    # insert_returning (batched INSERT..RETURNING); it is left on so that turning RETURNING on is a
    # one-line change. Plain executemany() goes to cursor.executemany().
    insert_returning = False
    update_returning = False
    update_returning_multifrom = False
    delete_returning = False
    use_insertmanyvalues = True
    use_insertmanyvalues_wo_returning = False

    # -- results --------------------------------------------------------------------------------
    supports_sane_rowcount = True     # rowcount = rows matched
    supports_sane_multi_rowcount = True  # executemany rowcount = sum over parameter sets
    supports_sane_rowcount_returning = False
    returns_native_bytes = True       # BLOBs come back as bytes
    description_encoding = None
    tuple_in_values = True

    def __init__(self, native_datetime=False, json_serializer=None, json_deserializer=None, **kw):
        # SQLiteDialect.__init__ reads sqlite3's version off the DBAPI module; ROME has none.
        default.DefaultDialect.__init__(self, **kw)
        if native_datetime:
            raise exc.ArgumentError("ROME stores dates as text; native_datetime is not supported")
        self.native_datetime = False
        self._json_serializer = json_serializer
        self._json_deserializer = json_deserializer

    # -- DBAPI ----------------------------------------------------------------------------------
    @classmethod
    def import_dbapi(cls):
        import rome.dbapi

        return rome.dbapi

    @classmethod
    def get_pool_class(cls, url):
        # Every DBAPI connection is an independent session over a store shared by the whole
        # process (memory: by name; LMDB: one environment per path), so a normal pool is right.
        return pool.QueuePool

    def _get_server_version_info(self, connection):
        version = getattr(self.dbapi, "version_info", None)
        return tuple(version) if version else (0, 1, 0)

    def retrieve_dbapi_version(self, dbapi):
        return None

    def on_connect(self):
        return None

    def is_disconnect(self, e, connection, cursor):
        # the pool then discards the connection (and pool_pre_ping replaces it)
        if not isinstance(e, self.loaded_dbapi.Error):
            return False
        msg = str(e)
        return STORE_UNAVAILABLE in msg or CLOSED_CONNECTION in msg

    # -- transactions ---------------------------------------------------------------------------
    # Transactions are implicit in the DBAPI (begun by the first statement); do_begin is a no-op,
    # do_commit/do_rollback call the connection, savepoints go through SQL (SAVEPOINT x, ...), all
    # inherited from DefaultDialect.

    def get_isolation_level_values(self, dbapi_connection):
        levels = ["SERIALIZABLE"]
        if hasattr(dbapi_connection, "autocommit"):
            levels.append("AUTOCOMMIT")
        return levels

    def set_isolation_level(self, dbapi_connection, level):
        # the level was validated against get_isolation_level_values() by SQLAlchemy
        if hasattr(dbapi_connection, "autocommit"):
            dbapi_connection.autocommit = level == "AUTOCOMMIT"

    def get_isolation_level(self, dbapi_connection):
        return "SERIALIZABLE"

    def detect_autocommit_setting(self, dbapi_connection):
        return bool(getattr(dbapi_connection, "autocommit", False))

    # -- URL ------------------------------------------------------------------------------------
    @staticmethod
    def _check_url_has_no_server(url, forms):
        if url.username or url.password or url.host or url.port:
            raise exc.ArgumentError(
                "Invalid ROME URL: %s\nValid forms are:\n%s" % (url, "\n".join(" " + f for f in forms)))

    def _connect_args(self, url, forms):
        """The DBAPI's connect arguments for ``url``: the store parses its own location (options
        included); a malformed URL or an unknown option is an ArgumentError naming it."""
        from rome.storage.base import BadLocation
        from rome.storage.registry import location_of_url
        try:
            kind, location = location_of_url(url.render_as_string(hide_password=False))
        except BadLocation as e:
            raise exc.ArgumentError("Invalid %s URL %s: %s\nValid forms are:\n%s" % (
                url.drivername, url.render_as_string(hide_password=True), e,
                "\n".join(" " + f for f in forms))) from None
        return [], {"kind": kind, "location": location}


# Alembic finds its implementation by dialect name once the module defining it is imported.
try:
    from rome.dialect import alembic_impl  # noqa: F401,E402
except ImportError:  # alembic not installed
    pass
