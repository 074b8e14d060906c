"""The SQLAlchemy dialect without a database: URLs, compiled SQL, flags, reflection from a catalog,
alembic wiring and the requirements/limitations bookkeeping. Nothing here connects."""
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKey, Integer, MetaData,
                        String, Table, create_engine, exc, func, insert, select)
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable, Index

import rome.dialect  # noqa: F401  (registers the dialects in a source checkout)
from rome.dialect.base import RomeDialect
from rome.dialect.lmdb import RomeDialect_lmdb
from rome.dialect.memory import RomeDialect_memory
from rome.sql import catalog as cat

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def engine():
    return create_engine("rome+memory://")


def sql(stmt, engine):
    return re.sub(r"\s+", " ", str(stmt.compile(engine))).strip()


# -- URLs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, cls", [
    ("rome+memory://", RomeDialect_memory), ("rome://", RomeDialect_memory),
    ("rome+memory:///x", RomeDialect_memory), ("rome+lmdb:////tmp/x", RomeDialect_lmdb)])
def test_urls_load_the_dialects(url, cls):
    e = create_engine(url)
    assert type(e.dialect) is cls
    assert e.dialect.name == "rome"


def connect_args(url):
    return create_engine(url).dialect.create_connect_args(make_url(url))


def test_memory_urls():
    assert connect_args("rome+memory://") == ([], {"kind": "memory", "location": ""})
    assert connect_args("rome+memory:///shared") == ([], {"kind": "memory", "location": "shared"})


def test_lmdb_absolute_and_relative_paths(tmp_path, monkeypatch):
    assert connect_args("rome+lmdb:////var/lib/x") == ([], {"kind": "lmdb", "location": "/var/lib/x"})
    monkeypatch.chdir(tmp_path)
    args = connect_args("rome+lmdb:///data/db")
    assert args == ([], {"kind": "lmdb", "location": os.path.join(str(tmp_path), "data", "db")})


def test_url_query_options_are_passed_on():
    assert connect_args("rome+lmdb:////d?map_size=1048576")[1]["location"] == "/d?map_size=1048576"


@pytest.mark.parametrize("url", ["rome+lmdb://", "rome+memory://host/x", "rome+lmdb://u:p@h/x"])
def test_bad_urls(url):
    with pytest.raises(exc.ArgumentError):
        connect_args(url)


# -- compiled SQL -------------------------------------------------------------------------------

def test_create_table_with_bigint_primary_key(engine):
    m = MetaData()
    t = Table("t", m, Column("id", BigInteger, primary_key=True), Column("name", String(36), unique=True),
              Column("created", DateTime, server_default=func.now()), Column("flag", Boolean))
    assert sql(CreateTable(t), engine) == (
        "CREATE TABLE t ( id BIGINT NOT NULL, name VARCHAR(36), created DATETIME DEFAULT "
        "CURRENT_TIMESTAMP, flag BOOLEAN, PRIMARY KEY (id), UNIQUE (name) )")
    # SQLAlchemy treats the BIGINT key as the autoincrement column: INSERTs leave it out and read
    # cursor.lastrowid back, and ROME fills it (SQLite would only do so for INTEGER)
    assert t.autoincrement_column is t.c.id
    assert sql(insert(t).values(name="x"), engine) == "INSERT INTO t (name) VALUES (?)"


def test_autoincrement_keyword_only_when_asked(engine):
    t = Table("t", MetaData(), Column("id", BigInteger, primary_key=True), sqlite_autoincrement=True)
    assert sql(CreateTable(t), engine) == "CREATE TABLE t ( id BIGINT NOT NULL PRIMARY KEY AUTOINCREMENT )"


def test_cyclic_foreign_keys_stay_inline(engine):
    # supports_alter is False: no ALTER TABLE ADD CONSTRAINT, every FK is in CREATE TABLE
    m = MetaData()
    a = Table("a", m, Column("id", Integer, primary_key=True),
              Column("b_id", ForeignKey("b.id", use_alter=True, name="fk_a_b")))
    Table("b", m, Column("id", Integer, primary_key=True), Column("a_id", ForeignKey("a.id")))
    assert "CONSTRAINT fk_a_b FOREIGN KEY(b_id) REFERENCES b (id)" in sql(CreateTable(a), engine)


def test_inserts(engine):
    t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(10)))
    assert sql(insert(t).values([{"name": "a"}, {"name": "b"}]), engine) == (
        "INSERT INTO t (name) VALUES (?), (?)")
    assert str(insert(t).compile(engine, column_keys=[])) == "INSERT INTO t DEFAULT VALUES"


def test_select_limit_offset_are_parameters(engine):
    t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(10)))
    c = select(t).where(t.c.name == "x").order_by(t.c.id.desc()).limit(25).offset(50).compile(engine)
    assert re.sub(r"\s+", " ", str(c)) == (
        "SELECT t.id, t.name FROM t WHERE t.name = ? ORDER BY t.id DESC LIMIT ? OFFSET ?")
    assert list(c.construct_params().values()) == ["x", 25, 50]


def test_create_index(engine):
    t = Table("t", MetaData(), Column("a", Integer), Column("b", Integer))
    assert sql(CreateIndex(Index("ix_ab", t.c.a, t.c.b.desc(), unique=True)), engine) == (
        "CREATE UNIQUE INDEX ix_ab ON t (a, b DESC)")


# -- flags --------------------------------------------------------------------------------------

def test_statement_cache_declared_on_every_class():
    for cls in (RomeDialect, RomeDialect_memory, RomeDialect_lmdb):
        assert cls.__dict__.get("supports_statement_cache") is True


def test_capabilities(engine):
    d = engine.dialect
    assert d.paramstyle == "qmark"
    assert not (d.insert_returning or d.update_returning or d.delete_returning)
    assert not d.supports_sequences and not d.supports_native_boolean and not d.supports_alter
    assert d.supports_multivalues_insert and d.supports_default_values and d.postfetch_lastrowid
    assert d.supports_sane_rowcount and d.supports_sane_multi_rowcount


def test_isolation_levels():
    d = RomeDialect_memory()

    class Conn:
        autocommit = False

    conn = Conn()
    assert d.get_isolation_level_values(conn) == ["SERIALIZABLE", "AUTOCOMMIT"]
    assert d.get_isolation_level_values(object()) == ["SERIALIZABLE"]
    d.set_isolation_level(conn, "AUTOCOMMIT")
    assert conn.autocommit is True and d.detect_autocommit_setting(conn)
    d.set_isolation_level(conn, "SERIALIZABLE")
    assert conn.autocommit is False and d.get_isolation_level(conn) == "SERIALIZABLE"


def test_disconnect_detection():
    from rome.dbapi import exceptions as dbx

    d = create_engine("rome+memory://").dialect
    assert d.is_disconnect(dbx.OperationalError("store unavailable: gone"), None, None)
    assert d.is_disconnect(dbx.ProgrammingError("Cannot operate on a closed connection."), None, None)
    assert not d.is_disconnect(dbx.OperationalError("write conflict"), None, None)


# -- reflection from a catalog ------------------------------------------------------------------

class FakeConnection:
    """What reflection reaches: connection.connection.dbapi_connection.catalog()."""

    def __init__(self, catalog):
        self.connection = self
        self.dbapi_connection = self
        self._cat = catalog

    def catalog(self):
        return self._cat


@pytest.fixture
def reflected():
    parent = cat.Table("parent", 1, columns=[cat.Column("id", "INTEGER", False, autoincrement=True)],
                       primary_key=["id"], pk_name="pk_parent")
    child = cat.Table(
        "Child", 2,
        columns=[cat.Column("id", "BIGINT", False, autoincrement=True), cat.Column("pid", "INTEGER"),
                 cat.Column("name", "VARCHAR(36)", False, default="'x'"),
                 cat.Column("amount", "NUMERIC(10, 2)"), cat.Column("blob", "")],
        primary_key=["id"],
        indexes=[cat.Index("ix_child_pid", ["pid"]),
                 cat.Index("sqlite_autoindex_Child_1", ["name"], unique=True, constraint=True),
                 cat.Index("uq_child_name_pid", ["name", "pid"], unique=True, constraint=True)],
        foreign_keys=[cat.ForeignKey(["pid"], "parent", [], name="fk_child_parent", on_delete="CASCADE",
                                     on_update="NO ACTION")],
        checks=[cat.Check("amount > 0", "ck_amount")])
    rowid = cat.Table("plain", 3, columns=[cat.Column("q", "TEXT")], primary_key=[cat.ROWID])
    catalog = cat.Catalog(tables={"parent": parent, "child": child, "plain": rowid})
    return RomeDialect_memory(), FakeConnection(catalog)


def test_reflect_names(reflected):
    d, conn = reflected
    assert d.get_table_names(conn) == ["Child", "parent", "plain"]
    assert d.get_view_names(conn) == [] and d.get_temp_table_names(conn) == []
    assert d.get_schema_names(conn) == ["main"]
    assert d.has_index(conn, "child", "ix_child_pid") and not d.has_index(conn, "nope", "ix")
    with pytest.raises(exc.NoSuchTableError):
        d.get_columns(conn, "nope")


def test_reflect_columns(reflected):
    d, conn = reflected
    cols = {c["name"]: c for c in d.get_columns(conn, "child")}
    assert str(cols["id"]["type"]) == "BIGINT" and cols["id"]["autoincrement"] is True
    assert cols["id"]["primary_key"] == 1 and not cols["id"]["nullable"]
    assert str(cols["name"]["type"]) == "VARCHAR(36)" and cols["name"]["default"] == "'x'"
    assert "autoincrement" not in cols["name"]
    assert str(cols["amount"]["type"]) == "NUMERIC(10, 2)"
    assert type(cols["blob"]["type"]).__name__ == "NullType"


def test_reflect_constraints(reflected):
    d, conn = reflected
    assert d.get_pk_constraint(conn, "parent") == {"constrained_columns": ["id"], "name": "pk_parent"}
    assert d.get_pk_constraint(conn, "plain")["constrained_columns"] == []
    assert [c["primary_key"] for c in d.get_columns(conn, "plain")] == [0]
    assert d.get_foreign_keys(conn, "child") == [{
        "name": "fk_child_parent", "constrained_columns": ["pid"], "referred_schema": None,
        "referred_table": "parent", "referred_columns": ["id"], "options": {"ondelete": "CASCADE"}}]
    assert d.get_indexes(conn, "child") == [
        {"name": "ix_child_pid", "column_names": ["pid"], "unique": False, "dialect_options": {}}]
    assert d.get_unique_constraints(conn, "child") == [
        {"name": None, "column_names": ["name"]},
        {"name": "uq_child_name_pid", "column_names": ["name", "pid"]}]
    assert d.get_check_constraints(conn, "child") == [{"sqltext": "amount > 0", "name": "ck_amount"}]


# -- alembic ------------------------------------------------------------------------------------

def test_alembic_impl(engine):
    from alembic.ddl.base import ColumnName, ColumnType, RenameTable
    from alembic.ddl.impl import DefaultImpl

    from rome.dialect.alembic_impl import RomeImpl

    assert DefaultImpl.get_by_dialect(engine.dialect) is RomeImpl and RomeImpl.transactional_ddl
    assert str(ColumnName("t", "a", "b").compile(engine)) == "ALTER TABLE t RENAME COLUMN a TO b"
    assert str(RenameTable("t", "u").compile(engine)) == "ALTER TABLE t RENAME TO u"
    with pytest.raises(exc.CompileError, match="batch_alter_table"):
        ColumnType("t", "a", Integer()).compile(engine)


class FakeBatch:
    table_name = "t"

    def __init__(self, *ops):
        self.batch = list(ops)


@pytest.mark.parametrize("ops, recreate", [
    ([("add_column", ("t", Column("x", Integer)), {})], False),
    ([("add_column", ("t", Column("x", Integer, server_default=func.now())), {})], True),
    ([("alter_column", ("t", "a"), {"name": "b"})], False),
    ([("alter_column", ("t", "a"), {"type_": Integer()})], True),
    ([("alter_column", ("t", "a"), {"nullable": False})], True),
    ([("create_index", (Index("ix", "a"),), {}), ("rename_table", ("t", "u"), {})], False),
    ([("add_constraint", (None,), {})], True),
])
def test_alembic_batch_recreates_only_when_needed(engine, ops, recreate):
    from rome.dialect.alembic_impl import RomeImpl

    impl = RomeImpl(engine.dialect, None, True, None, None, {})
    assert impl.requires_recreate_in_batch(FakeBatch(*ops)) is recreate


# -- requirements and docs/limitations.md ------------------------------------------------------

def test_every_closed_requirement_is_documented():
    from rome.dialect.requirements import closed_requirements

    closed = closed_requirements()
    assert "window_functions" in closed and "ctes" in closed
    doc = (ROOT / "docs" / "limitations.md").read_text()
    missing = [name for name in closed if "`%s`" % name not in doc]
    assert not missing, "closed in rome/dialect/requirements.py but not in docs/limitations.md: %s" % missing
