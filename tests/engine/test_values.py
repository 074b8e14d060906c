"""Every value a client can send is either stored so that it reads back, or refused as sqlite3 refuses
it, with a PEP 249 error and the data left as it was: on every store, through execute, executemany and
literals in the SQL text."""
import datetime
import decimal
import sqlite3

import pytest

import rome


class Text(str):
    pass


class Number(int):
    pass


VALUES = [
    "\ud800", "a\udfffb", "ok \U0001F600", Text("sub"), Text("x\ud800"),
    2 ** 63 - 1, -2 ** 63, 2 ** 63, -2 ** 63 - 1, 2 ** 64, Number(7),
    float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 1.7976931348623157e308,
    True, False, b"\xff\x00", bytearray(b"ab"), memoryview(b"cd"),
    datetime.date(2020, 1, 2), datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
]
COLUMNS = ("t", "b", "x")    # TEXT, BLOB, no type: where a value is stored as it comes


def _schema(conn):
    conn.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, t TEXT, b BLOB, x)")
    conn.execute("INSERT INTO v (id, t) VALUES (1, 'before')")
    conn.commit()


def _outcome(conn, module, sql, params, many=False):
    """('stored', rows read back) or ('refused', exception class name)."""
    cur = conn.cursor()
    try:
        (cur.executemany if many else cur.execute)(sql, params)
    except Exception as e:
        if module is rome:
            assert isinstance(e, rome.Error), "not a PEP 249 error: %r" % e
        conn.rollback()
        rows = cur.execute("SELECT id, t, b, x FROM v ORDER BY id").fetchall()
        assert [tuple(r) for r in rows] == [(1, "before", None, None)], "a refused value left data"
        return "refused", type(e).__name__
    conn.commit()
    return "stored", [tuple(r) for r in cur.execute("SELECT t, b, x FROM v WHERE id > 1 ORDER BY id")]


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    return a == b and type(a) is type(b)


def _id(v):
    return "memoryview(%r)" % bytes(v) if isinstance(v, memoryview) else repr(v)


@pytest.mark.parametrize("value", VALUES, ids=_id)
@pytest.mark.parametrize("how", ["execute", "executemany"])
def test_value_stored_or_refused_as_sqlite(db, value, how):
    ref = sqlite3.connect(":memory:")
    _schema(ref)
    _schema(db)
    sql = "INSERT INTO v (t, b, x) VALUES (?, ?, ?)"
    params = (value,) * 3
    args = ([params, params], True) if how == "executemany" else (params, False)
    want = _outcome(ref, sqlite3, sql, *args)
    got = _outcome(db, rome, sql, *args)
    assert got[0] == want[0], "sqlite3 %r, ROME %r" % (want, got)
    if want[0] == "stored":
        assert len(got[1]) == len(want[1])
        for r1, r2 in zip(want[1], got[1]):
            assert all(_same(a, b) for a, b in zip(r1, r2)), (want[1], got[1])
    else:
        assert got[1] == "DataError", got   # the class oslo.db turns into DBDataError


@pytest.mark.parametrize("sql", ["SELECT '\ud800'", "INSERT INTO v (t) VALUES ('\udc00')",
                                 "UPDATE v SET t = 'x\ud83d' WHERE id = 1"])
def test_lone_surrogate_in_sql_text_is_refused(db, sql):
    _schema(db)
    with pytest.raises(UnicodeEncodeError):     # sqlite3 refuses it too (not with a PEP 249 class)
        sqlite3.connect(":memory:").execute(sql)
    with pytest.raises(rome.DataError, match="surrogate"):
        db.cursor().execute(sql)
    db.rollback()
    assert db.cursor().execute("SELECT t FROM v").fetchall() == [("before",)]


def test_surrogate_parameter_in_update_and_where(db):
    _schema(db)
    cur = db.cursor()
    with pytest.raises(rome.DataError):
        cur.execute("UPDATE v SET t = ? WHERE id = 1", ("\ud800",))
    with pytest.raises(rome.DataError):
        cur.execute("SELECT id FROM v WHERE t = ?", ("\udfff",))
    db.rollback()
    assert cur.execute("SELECT t FROM v").fetchall() == [("before",)]


@pytest.mark.parametrize("value, stored", [(datetime.time(1, 2, 3), "01:02:03"),
                                           (decimal.Decimal("1.5"), 1.5), (decimal.Decimal("NaN"), None)])
def test_values_sqlite3_refuses_are_stored_readable(db, value, stored):
    """time and Decimal: sqlite3 has no adapter for them, ROME stores what SQLAlchemy would send."""
    _schema(db)
    assert _outcome(db, rome, "INSERT INTO v (x) VALUES (?)", (value,)) == ("stored", [(None, None, stored)])
