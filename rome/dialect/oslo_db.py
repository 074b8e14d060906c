"""oslo.db integration for the ``rome`` dialect: exception filters, and foreign keys as for sqlite.

oslo.db's ``create_engine(url, sqlite_fk=...)`` sends ``PRAGMA foreign_keys=ON`` on each new sqlite
connection when a service asks for it (Glance and Keystone do, Nova does not: its tests insert
children without parents). For a ``rome`` URL the same flag sends ``PRAGMA foreign_keys`` ON or OFF,
so that a service sees on ROME the foreign keys it sees on sqlite (ROME's own default is ON).

oslo.db turns driver errors into its own exceptions (``DBDuplicateEntry``, ``DBReferenceError``,
``DBDeadlock``, ``DBConnectionError``...) with filters registered per dialect *name* in
``oslo_db.sqlalchemy.exc_filters`` (``@filters("sqlite", sqla_exc.IntegrityError, regex)``). A dialect
named ``rome`` gets none of sqlite's filters, so this module registers ROME's own.

The filter machinery (``exc_filters.handler``) tries, for the dialect's registry and then the ``"*"``
one, each class in the MRO of the SQLAlchemy exception and then of the driver's exception, and matches
each registered regex (``re.DOTALL``) against ``exc.args[0]``. For the SQLAlchemy exception that is
``"(rome.dbapi.exceptions.IntegrityError) <driver message>"``; for the driver's, the bare message. The
first filter that raises an oslo.db exception wins.

ROME's driver messages are SQLite-compatible, and map as follows:

=============================================================  =========================================
driver error                                                   oslo.db exception
=============================================================  =========================================
IntegrityError ``UNIQUE constraint failed: t.c1, t.c2``        ``DBDuplicateEntry(columns=['c1', 'c2'])``
IntegrityError ``PRIMARY KEY must be unique``                  ``DBDuplicateEntry(columns=[])``
IntegrityError ``FOREIGN KEY constraint failed``               ``DBReferenceError`` (as on sqlite:
                                                               table/constraint/key/key_table None)
IntegrityError ``NOT NULL constraint failed: t.c`` (or CHECK)  ``DBError`` (as on sqlite: no filter)
ConflictError (OperationalError) ``write conflict: ...``       ``DBDeadlock`` (``wrap_db_retry(
                                                               retry_on_deadlock=True)`` retries it)
OperationalError ``store unavailable: ...``                    ``DBConnectionError``; the connection is
                                                               marked disconnected, so the pool drops it
                                                               and a pre-ping reconnects
OperationalError/ProgrammingError ``no such table: t``         ``DBNonExistentTable('t')``
DataError (a value that does not fit its column)               ``DBDataError``
=============================================================  =========================================

Anything else falls through to oslo.db's generic ``"*"`` filters (OperationalError re-raised as is,
other DBAPI errors wrapped in ``DBError``, NotSupportedError as ``DBNotSupportedError``).

The dialect calls :func:`register` at import; calling it again is harmless.
"""

DIALECT_NAME = "rome"

_registered = False

# Regexes, matched with re.DOTALL against exc.args[0] ("(module.Class) message" for SQLAlchemy's
# wrapper, the bare message for the driver's exception). Each stops at the end of the line so that
# nothing a wrapper appends can leak into the captured groups.
DUPLICATE_PATTERNS = (
    r"^.*UNIQUE\s+constraint\s+failed:\s+(?P<columns>[^\n]+?)\s*(?:\n.*)?$",
    r"^.*PRIMARY\s+KEY\s+must\s+be\s+unique.*$",
)
FOREIGN_KEY_PATTERN = r"(?i)^.*foreign\s+key\s+constraint\s+failed.*$"
WRITE_CONFLICT_PATTERN = r"^.*write\s+conflict:.*$"
STORE_UNAVAILABLE_PATTERN = r"^.*store\s+unavailable:.*$"
NO_SUCH_TABLE_PATTERN = r"^.*\bno\s+such\s+table:\s+(?P<table>[^\s]+).*$"


def columns_of(columns_text):
    """``"images.id, images.name"`` -> ``["id", "name"]`` (what oslo.db's sqlite filter gives)."""
    return [c.strip().split(".")[-1] for c in columns_text.strip().split(",") if c.strip()]


def register():
    """Register oslo.db exception filters for the ``rome`` dialect, if oslo.db is importable.

    Returns True when the filters are (or already were) registered, False without oslo.db.
    """
    global _registered
    if _registered:
        return True
    try:
        from oslo_db import exception
        from oslo_db.sqlalchemy import exc_filters
    except ImportError:
        return False
    from sqlalchemy import exc as sqla_exc

    from rome.dbapi import exceptions as rome_exc

    filters = exc_filters.filters

    @filters(DIALECT_NAME, sqla_exc.IntegrityError, DUPLICATE_PATTERNS)
    def _rome_duplicate_entry(integrity_error, match, engine_name, is_disconnect):
        try:
            columns = columns_of(match.group("columns"))
        except IndexError:  # the PRIMARY KEY form has no group
            columns = []
        raise exception.DBDuplicateEntry(columns, integrity_error)

    @filters(DIALECT_NAME, sqla_exc.IntegrityError, FOREIGN_KEY_PATTERN)
    def _rome_foreign_key_error(integrity_error, match, engine_name, is_disconnect):
        raise exception.DBReferenceError(None, None, None, None, integrity_error)

    # A write conflict by message, and any ConflictError whatever its message (the handler tries the
    # driver exception's MRO after SQLAlchemy's).
    @filters(DIALECT_NAME, sqla_exc.OperationalError, WRITE_CONFLICT_PATTERN)
    @filters(DIALECT_NAME, sqla_exc.DBAPIError, WRITE_CONFLICT_PATTERN)
    @filters(DIALECT_NAME, rome_exc.ConflictError, r".*")
    def _rome_deadlock(operational_error, match, engine_name, is_disconnect):
        raise exception.DBDeadlock(operational_error)

    @filters(DIALECT_NAME, sqla_exc.OperationalError, STORE_UNAVAILABLE_PATTERN)
    @filters(DIALECT_NAME, sqla_exc.DBAPIError, STORE_UNAVAILABLE_PATTERN)
    def _rome_connection_error(operational_error, match, engine_name, is_disconnect):
        # the handler marks the context as a disconnect on DBConnectionError, so SQLAlchemy
        # invalidates the connection (and a pre-ping on checkout reconnects)
        raise exception.DBConnectionError(operational_error)

    @filters(DIALECT_NAME, sqla_exc.OperationalError, NO_SUCH_TABLE_PATTERN)
    @filters(DIALECT_NAME, sqla_exc.ProgrammingError, NO_SUCH_TABLE_PATTERN)
    def _rome_no_such_table(error, match, engine_name, is_disconnect):
        raise exception.DBNonExistentTable(match.group("table"), error)

    @filters(DIALECT_NAME, sqla_exc.DataError, r".*")
    def _rome_data_error(error, match, engine_name, is_disconnect):
        raise exception.DBDataError(error)

    _register_engine_events()
    _registered = True
    return True


def _register_engine_events():
    """``sqlite_fk`` of oslo.db's create_engine, followed for a rome engine as for a sqlite one."""
    import sqlalchemy
    from oslo_db.sqlalchemy import engines

    @engines._init_events.dispatch_for(DIALECT_NAME)
    def _rome_init_events(engine, sqlite_fk=False, **kw):
        pragma = "PRAGMA foreign_keys = %s" % ("ON" if sqlite_fk else "OFF")

        @sqlalchemy.event.listens_for(engine, "connect")
        def _rome_connect(dbapi_con, con_record):
            dbapi_con.cursor().execute(pragma)
