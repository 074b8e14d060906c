"""One path for a store's options: the URL's query (or rome.connect's keywords) reaches the store, and
an option the store does not know is an error naming it, through the DBAPI and through SQLAlchemy."""
import pytest
import sqlalchemy as sa

import rome


def test_lmdb_map_size_reaches_lmdb(tmp_path):
    engine = sa.create_engine("rome+lmdb:///%s?map_size=1048576" % (tmp_path / "db"))
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"))
        conn.commit()
        with pytest.raises(sa.exc.OperationalError, match="1048576 bytes"):
            for i in range(8):   # 2 MB into a 1 MB map
                conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), {"v": b"x" * 262144})
                conn.commit()
    engine.dispose()


def test_lmdb_map_size_through_connect_keyword(tmp_path):
    conn = rome.connect(kind="lmdb", location=str(tmp_path / "db"), map_size=1048576)
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    conn.commit()
    cur.execute("INSERT INTO t (v) VALUES (?)", (b"x" * 2000000,))
    with pytest.raises(rome.OperationalError, match="1048576 bytes"):
        conn.commit()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(0,)]
    conn.close()


@pytest.mark.parametrize("url, option", [
    ("rome+lmdb:///{tmp}/db?map_sise=1048576", "map_sise"),
    ("rome+memory:///opts?nope=1", "nope"),
    ("rome+redis://127.0.0.1:1/0?prefx=a", "prefx"),
])
def test_unknown_option_is_named(tmp_path, url, option):
    url = url.replace("{tmp}", str(tmp_path))
    with pytest.raises(sa.exc.ArgumentError, match="unknown .*option %r" % option):
        with sa.create_engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    with pytest.raises(rome.InterfaceError, match=repr(option)):
        rome.connect(url)
    assert not (tmp_path / "db").exists()


def test_bad_map_size(tmp_path):
    with pytest.raises(rome.InterfaceError, match="map_size must be a number"):
        rome.connect("rome+lmdb:///%s?map_size=big" % (tmp_path / "db"))
