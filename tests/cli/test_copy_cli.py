"""`rome copy` at the command line: bad source and destination paths, and a copy killed with SIGKILL
half-way, which must never look complete (ROME, `rome copy` and SQLAlchemy refuse it) until it is
finished with --resume or redone with --force."""
import os
import sqlite3
import subprocess

import pytest
import sqlalchemy as sa

import copy_kill
from shell_pty import rome_argv

# enough children that the copy (a commit per 5 rows) outlasts the poll that stops it on a busy machine
PARENTS, CHILDREN = 300, 30000


def rome_copy(*args):
    return subprocess.run(rome_argv("copy", *args), capture_output=True, text=True, timeout=300)


def make_source(path):
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);
        CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id),
                            value TEXT);
        CREATE TABLE tag (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id),
                          value TEXT);
        INSERT INTO alembic_version VALUES ('head01');
    """)
    db.executemany("INSERT INTO parent VALUES (?, ?)", [(i, "p%d" % i) for i in range(PARENTS)])
    db.executemany("INSERT INTO child VALUES (?, ?, ?)",
                   [(i, i % PARENTS, "v%d" % i) for i in range(CHILDREN)])
    db.executemany("INSERT INTO tag VALUES (?, ?, ?)", [(i, i, "t%d" % i) for i in range(PARENTS)])
    db.commit()
    db.close()
    return "sqlite:///" + path


def table_rows(url, table):
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(sa.text("SELECT * FROM %s ORDER BY 1" % table)).fetchall()
    finally:
        eng.dispose()


def kill_mid_copy(src, dst):
    copy_kill.kill_mid_copy(src, dst, "child", CHILDREN)


@pytest.fixture(params=["lmdb", "sqlite"])
def dst(request, tmp_path):
    if request.param == "lmdb":
        return "rome+lmdb:///" + str(tmp_path / "dst")
    return "sqlite:///" + str(tmp_path / "dst.db")


def test_killed_copy_is_refused_then_resumed(tmp_path, dst):
    src = make_source(str(tmp_path / "src.db"))
    kill_mid_copy(src, dst)

    r = rome_copy(src, dst, "--no-progress")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "unfinished copy" in r.stderr and "--resume" in r.stderr and "--force" in r.stderr
    if dst.startswith("rome+"):
        # the engine itself refuses it: the shell, and SQLAlchemy (any application, Glance too)
        r = subprocess.run(rome_argv("sql", dst, "-c", "SELECT count(*) FROM parent"),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "OperationalError: this database is an unfinished copy" in r.stderr
        eng = sa.create_engine(dst)
        with pytest.raises(sa.exc.OperationalError, match="rome copy --resume"):
            with eng.connect() as c:
                c.execute(sa.text("SELECT version_num FROM alembic_version")).fetchall()
        eng.dispose()

    r = rome_copy(src, dst, "--resume", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "row counts verified" in r.stderr
    for t in ("alembic_version", "parent", "child", "tag"):
        assert table_rows(dst, t) == table_rows(src, t), t
    r = rome_copy(src, dst, "--resume", "--no-progress")
    assert r.returncode == 1 and "nothing to resume" in r.stderr
    if dst.startswith("sqlite"):
        assert "rome_unfinished_copy" not in sa.inspect(sa.create_engine(dst)).get_table_names()


def test_killed_copy_started_over_with_force(tmp_path, dst):
    src = make_source(str(tmp_path / "src.db"))
    kill_mid_copy(src, dst)
    r = rome_copy(src, dst, "--force", "--no-progress")
    assert r.returncode == 0, r.stderr
    for t in ("parent", "child", "tag"):
        assert table_rows(dst, t) == table_rows(src, t), t


def test_missing_sqlite_source_is_one_line_and_creates_nothing(tmp_path):
    r = rome_copy("sqlite:///" + str(tmp_path / "nope.db"), "rome+lmdb:///" + str(tmp_path / "dst"))
    assert r.returncode == 1
    assert r.stderr == "Error: no database at %s (the source sqlite:///%s)\n" % (
        tmp_path / "nope.db", tmp_path / "nope.db")
    assert os.listdir(tmp_path) == []


def test_lmdb_destination_that_is_a_file_is_one_line(tmp_path):
    src = make_source(str(tmp_path / "src.db"))
    (tmp_path / "afile").write_bytes(b"keep me")
    r = rome_copy(src, "rome+lmdb:///" + str(tmp_path / "afile"), "--no-progress")
    assert r.returncode == 1
    assert r.stderr == "Error: the destination: %s is a file, not an LMDB database folder\n" % (tmp_path / "afile")
    assert (tmp_path / "afile").read_bytes() == b"keep me"
    assert sorted(os.listdir(tmp_path)) == ["afile", "src.db"]


def _raw_rows(url, table):
    """The rows as the driver stores them, without SQLAlchemy's type processing."""
    import rome
    path = url.split(":///", 1)[1]
    conn = sqlite3.connect(path) if url.startswith("sqlite") else rome.connect(url)
    try:
        return conn.execute("SELECT * FROM %s ORDER BY id" % table).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("source", ["sqlite", "lmdb"])
def test_copy_keeps_values_as_stored_whatever_the_declared_type(tmp_path, dst, source):
    """SQLite (and ROME) keep any value in any column: an integer in a BLOB column, text in a
    NUMERIC or DATETIME one. The copy moves each value as stored (bytes(1) is b'\\x00': an integer
    through LargeBinary arrived as zero bytes)."""
    rows = [(1, 1, 7, "2020-01-02 03:04:05.000006", b"\x00\xff"),
            (2, 2.5, "not a number", "not a date", "text in a blob"),
            (3, b"\x00\xff", -0.0, None, 2 ** 62),
            (4, "\x00", 1e308, "2020-01-02", -1),
            (5, None, None, None, None)]
    schema = ("CREATE TABLE v (id INTEGER PRIMARY KEY, b BLOB, n NUMERIC, d DATETIME, k BLOB UNIQUE)")
    if source == "sqlite":
        src = "sqlite:///" + str(tmp_path / "src.db")
        conn = sqlite3.connect(str(tmp_path / "src.db"))
    else:
        import rome
        src = "rome+lmdb:///" + str(tmp_path / "src")
        conn = rome.connect(src)
    conn.execute(schema)
    conn.executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    r = rome_copy(src, dst, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert _raw_rows(dst, "v") == _raw_rows(src, "v") == rows


def test_copy_of_a_column_declared_without_a_type(tmp_path, dst):
    """SQLite takes a column with no type (any value, no affinity): the copy creates it with the
    same affinity (BLOB) and moves its values as stored; it failed ("Can't generate DDL for
    NullType") and left an unfinished copy."""
    rows = [(1, 1, "a"), (2, "text", 2.5), (3, b"\x01", None), (4, None, 7)]
    src = str(tmp_path / "src.db")
    conn = sqlite3.connect(src)
    conn.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, x, y)")
    conn.executemany("INSERT INTO u VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    r = rome_copy("sqlite:///" + src, dst, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert _raw_rows(dst, "u") == rows
