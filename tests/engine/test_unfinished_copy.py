"""The mark of an unfinished copy in the catalog (rome.sql.copymark), through the driver: every other
connection is refused until it is cleared, DDL keeps it, a rolled-back mark never existed."""
import pytest

import rome

URL = "rome+memory:///unfinished-copy-%s"


@pytest.fixture
def url(request):
    u = URL % request.node.name
    c = rome.connect(u)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.execute("INSERT INTO t VALUES (1, 'a')")
    c.commit()
    c.close()
    return u


def test_marked_database_is_refused_to_others_until_cleared(url):
    copier = rome.connect(url)
    copier.execute("PRAGMA rome_unfinished_copy = 'rome copy from x'")
    copier.execute("CREATE TABLE u (id INTEGER PRIMARY KEY)")   # DDL keeps the mark
    copier.execute("INSERT INTO t VALUES (2, 'b')")
    copier.commit()
    other = rome.connect(url)
    for sql in ("SELECT * FROM t", "INSERT INTO t VALUES (3, 'c')", "DELETE FROM t",
                "CREATE TABLE w (id INTEGER)", "DROP TABLE u"):
        with pytest.raises(rome.OperationalError, match=r"unfinished copy \(rome copy from x\).*--resume"):
            other.execute(sql)
        other.rollback()
    assert other.execute("PRAGMA rome_unfinished_copy").fetchall() == [("rome copy from x",)]
    other.rollback()
    copier.execute("PRAGMA rome_unfinished_copy = ''")
    copier.commit()
    assert other.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,)]
    assert other.execute("PRAGMA rome_unfinished_copy").fetchall() == []


def test_open_unfinished_lets_a_connection_in(url):
    copier = rome.connect(url)
    copier.execute("PRAGMA rome_unfinished_copy = 'm'")
    copier.commit()
    c = rome.connect(url)
    c.execute("PRAGMA rome_open_unfinished = ON")
    assert c.execute("SELECT count(*) FROM t").fetchone() == (1,)
    c.execute("PRAGMA rome_open_unfinished = OFF")
    with pytest.raises(rome.OperationalError):
        c.execute("SELECT count(*) FROM t")
    with pytest.raises(rome.ProgrammingError):
        c.execute("PRAGMA rome_open_unfinished = maybe")


def test_rolled_back_mark_never_existed(url):
    c = rome.connect(url)
    c.execute("PRAGMA rome_unfinished_copy = 'm'")
    c.rollback()
    other = rome.connect(url)
    assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)
