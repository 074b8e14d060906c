"""rome.dialect.oslo_db: ROME's driver errors through oslo.db's real exception filters.

The engine is made by oslo.db's own ``engines.create_engine`` (which registers ``exc_filters.handler`` on
it and turns on ``pool_pre_ping``), over a dialect named ``rome`` whose PEP 249 module is a stub that
raises the exceptions of ``rome.dbapi`` with the messages ROME's engine produces. Nothing of oslo.db or
SQLAlchemy is mocked: the errors travel SQLAlchemy's wrapping (``DBAPIError.instance``) and oslo.db's
handler exactly as the real driver's will.

When the real ``rome+memory://`` dialect works, the last tests check real constraint violations too.
"""
import types

import pytest

pytest.importorskip("oslo_db")

import sqlalchemy as sa  # noqa: E402
from oslo_db import api as oslo_api  # noqa: E402
from oslo_db import exception as db_exc  # noqa: E402
from oslo_db.sqlalchemy import engines  # noqa: E402
from sqlalchemy.dialects import registry  # noqa: E402
from sqlalchemy.engine import default  # noqa: E402

import rome.dbapi as rome_dbapi  # noqa: E402
from rome.dialect import oslo_db as rome_oslo_db  # noqa: E402


# --- a PEP 249 stub raising rome.dbapi's exceptions -----------------------------------------------

class _State:
    errors = []       # exceptions the next cursor.execute calls raise, in order
    connects = 0
    executed = []


class _Cursor:
    def __init__(self, conn):
        self.conn = conn
        self.description = None
        self.rowcount = -1
        self.lastrowid = None
        self._rows = []
        self.arraysize = 1

    def execute(self, sql, params=()):
        _State.executed.append(sql)
        if self.conn.closed:
            raise rome_dbapi.OperationalError("store unavailable: connection closed")
        if _State.errors:
            raise _State.errors.pop(0)
        if sql.lstrip().upper().startswith("SELECT"):
            self.description = [("x", None, None, None, None, None, None)]
            self._rows = [(1,)]
        else:
            self.description = None
            self._rows = []
        self.rowcount = 1

    def executemany(self, sql, seq):
        for p in seq:
            self.execute(sql, p)

    def fetchone(self):
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size=None):
        out, self._rows = self._rows[:size or 1], self._rows[size or 1:]
        return out

    def fetchall(self):
        out, self._rows = self._rows, []
        return out

    def close(self):
        pass


class _Connection:
    def __init__(self):
        _State.connects += 1
        self.closed = False

    def cursor(self):
        return _Cursor(self)

    def commit(self):
        pass

    def rollback(self):
        pass

    def close(self):
        self.closed = True


stub_dbapi = types.ModuleType("rome_stub_dbapi")
for _name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
              "ConflictError", "IntegrityError", "InternalError", "ProgrammingError",
              "NotSupportedError", "apilevel", "threadsafety", "paramstyle"):
    setattr(stub_dbapi, _name, getattr(rome_dbapi, _name))
stub_dbapi.connect = lambda *a, **kw: _Connection()


class StubRomeDialect(default.DefaultDialect):
    """Named like ROME's dialect, so oslo.db picks the filters registered for "rome"."""
    name = "rome"
    driver = "stub"
    paramstyle = "qmark"
    supports_statement_cache = True
    supports_native_boolean = True

    @classmethod
    def import_dbapi(cls):
        return stub_dbapi

    def get_isolation_level(self, dbapi_connection):
        return "SERIALIZABLE"

    def set_isolation_level(self, dbapi_connection, level):
        pass

    def get_default_isolation_level(self, dbapi_conn):
        return "SERIALIZABLE"

    def do_rollback(self, dbapi_connection):
        pass

    def do_commit(self, dbapi_connection):
        pass


registry.register("rome.stubtest", __name__, "StubRomeDialect")


@pytest.fixture
def engine():
    assert rome_oslo_db.register() is True
    assert rome_oslo_db.register() is True  # idempotent
    _State.errors.clear()
    eng = engines.create_engine("rome+stubtest://", max_retries=1, retry_interval=0)
    assert eng.dialect.name == "rome"
    yield eng
    _State.errors.clear()
    eng.dispose()


def _run(engine, error, sql="INSERT INTO images (id, name) VALUES (:id, :name)"):
    _State.errors.append(error)
    with engine.connect() as conn:
        conn.execute(sa.text(sql), {"id": "i1", "name": "n1"})


# --- the mapping ----------------------------------------------------------------------------------

def test_unique_violation_is_duplicate_entry_with_columns(engine):
    with pytest.raises(db_exc.DBDuplicateEntry) as e:
        _run(engine, rome_dbapi.IntegrityError("UNIQUE constraint failed: images.id, images.name"))
    assert e.value.columns == ["id", "name"]
    assert isinstance(e.value.inner_exception, sa.exc.IntegrityError)
    assert isinstance(e.value.inner_exception.orig, rome_dbapi.IntegrityError)


def test_single_column_unique_violation(engine):
    with pytest.raises(db_exc.DBDuplicateEntry) as e:
        _run(engine, rome_dbapi.IntegrityError("UNIQUE constraint failed: image_tags.id"))
    assert e.value.columns == ["id"]


def test_primary_key_form_is_duplicate_without_columns(engine):
    with pytest.raises(db_exc.DBDuplicateEntry) as e:
        _run(engine, rome_dbapi.IntegrityError("PRIMARY KEY must be unique"))
    assert e.value.columns == []


def test_missing_parent_is_reference_error(engine):
    with pytest.raises(db_exc.DBReferenceError) as e:
        _run(engine, rome_dbapi.IntegrityError("FOREIGN KEY constraint failed"))
    # as on sqlite: the message names nothing
    assert (e.value.table, e.value.constraint, e.value.key, e.value.key_table) == (None, None, None, None)


def test_not_null_is_plain_db_error_as_on_sqlite(engine):
    with pytest.raises(db_exc.DBError) as e:
        _run(engine, rome_dbapi.IntegrityError("NOT NULL constraint failed: images.status"))
    assert type(e.value) is db_exc.DBError
    assert isinstance(e.value.inner_exception, sa.exc.IntegrityError)


def test_write_conflict_is_deadlock(engine):
    with pytest.raises(db_exc.DBDeadlock) as e:
        _run(engine, rome_dbapi.ConflictError("write conflict: images row changed by another transaction"))
    assert isinstance(e.value.inner_exception, sa.exc.OperationalError)


def test_conflict_error_with_any_message_is_deadlock(engine):
    with pytest.raises(db_exc.DBDeadlock):
        _run(engine, rome_dbapi.ConflictError("transaction aborted"))


def test_write_conflict_message_on_plain_operational_error_is_deadlock(engine):
    with pytest.raises(db_exc.DBDeadlock):
        _run(engine, rome_dbapi.OperationalError("write conflict: key locked"))


def test_store_unavailable_is_connection_error_and_invalidates(engine):
    conn = engine.connect()  # (its checkout pre-ping runs here)
    _State.errors.append(rome_dbapi.OperationalError("store unavailable: connection refused"))
    try:
        with pytest.raises(db_exc.DBConnectionError):
            conn.execute(sa.text("SELECT 1"))
        assert conn.invalidated  # the handler marked it a disconnect: the pool drops it
    finally:
        conn.close()
    before = _State.connects
    with engine.connect() as c2:  # a fresh DBAPI connection
        assert c2.execute(sa.text("SELECT 1")).scalar() == 1
    assert _State.connects == before + 1


def test_pre_ping_failure_reconnects_transparently(engine):
    with engine.connect() as c:
        c.execute(sa.text("SELECT 1"))
    before = _State.connects
    # the next statement is oslo.db's/SQLAlchemy's pre-ping on checkout
    _State.errors.append(rome_dbapi.OperationalError("store unavailable: server went away"))
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT 1")).scalar() == 1
    assert _State.connects == before + 1


def test_other_operational_error_is_reraised_as_is(engine):
    with pytest.raises(sa.exc.OperationalError):
        _run(engine, rome_dbapi.OperationalError("disk I/O error"))


def test_no_such_table(engine):
    for cls in (rome_dbapi.OperationalError, rome_dbapi.ProgrammingError):
        with pytest.raises(db_exc.DBNonExistentTable) as e:
            _run(engine, cls("no such table: images"))
        assert e.value.table == "images"


def test_data_error(engine):
    with pytest.raises(db_exc.DBDataError):
        _run(engine, rome_dbapi.DataError("value too long for images.name"))


def test_not_supported(engine):
    with pytest.raises(db_exc.DBNotSupportedError):
        _run(engine, rome_dbapi.NotSupportedError("WINDOW functions are not supported"))


def test_wrap_db_retry_retries_write_conflicts(engine):
    calls = []

    @oslo_api.wrap_db_retry(max_retries=3, retry_interval=0.01, retry_on_deadlock=True)
    def work():
        calls.append(1)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE images SET name = 'x'"))

    _State.errors.extend([rome_dbapi.ConflictError("write conflict: images"),
                          rome_dbapi.ConflictError("write conflict: images")])
    work()
    assert len(calls) == 3


def test_sqlite_filters_unchanged(tmp_path):
    """Registering for "rome" leaves sqlite's mapping alone (a real sqlite engine)."""
    rome_oslo_db.register()
    eng = engines.create_engine("sqlite:///%s/t.db" % tmp_path, sqlite_fk=True)
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE p (id INTEGER PRIMARY KEY, name VARCHAR(10) UNIQUE)"))
        c.execute(sa.text("CREATE TABLE ch (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id))"))
        c.execute(sa.text("INSERT INTO p VALUES (1, 'a')"))
    with pytest.raises(db_exc.DBDuplicateEntry) as e:
        with eng.begin() as c:
            c.execute(sa.text("INSERT INTO p VALUES (2, 'a')"))
    assert e.value.columns == ["name"]
    with pytest.raises(db_exc.DBReferenceError):
        with eng.begin() as c:
            c.execute(sa.text("INSERT INTO ch VALUES (1, 99)"))
    eng.dispose()


def test_columns_of():
    assert rome_oslo_db.columns_of("images.id, images.name") == ["id", "name"]
    assert rome_oslo_db.columns_of(" t.c ") == ["c"]


# --- with the real engine -------------------------------------------------------------------------

def _real_rome_engine():
    """oslo.db's own engine set-up (pool, ping on checkout) on a rome URL."""
    eng = engines.create_engine("rome+memory://", sqlite_fk=True, max_retries=1, retry_interval=0)
    with eng.connect() as c:
        c.execute(sa.text("SELECT 1"))
    return eng


def test_real_rome_duplicate_and_reference():
    eng = _real_rome_engine()
    md = sa.MetaData()
    p = sa.Table("p", md, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("a", sa.String(10)), sa.Column("b", sa.String(10)), sa.UniqueConstraint("a", "b"))
    ch = sa.Table("ch", md, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("pid", sa.Integer, sa.ForeignKey("p.id")))
    md.create_all(eng)
    with eng.begin() as c:
        c.execute(p.insert(), {"id": 1, "a": "x", "b": "y"})
    with pytest.raises(db_exc.DBDuplicateEntry) as e:
        with eng.begin() as c:
            c.execute(p.insert(), {"id": 2, "a": "x", "b": "y"})
    assert e.value.columns == ["a", "b"]
    with pytest.raises(db_exc.DBDuplicateEntry):
        with eng.begin() as c:
            c.execute(p.insert(), {"id": 1, "a": "z", "b": "z"})
    with pytest.raises(db_exc.DBReferenceError):
        with eng.begin() as c:
            c.execute(ch.insert(), {"id": 1, "pid": 42})
    eng.dispose()
