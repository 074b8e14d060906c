"""What ROME does not implement (views, triggers, virtual and temporary tables, CREATE TABLE AS,
RETURNING, several ON CONFLICT clauses) is refused with NotSupportedError naming it, in the middle of a transaction as well:
the statement changes nothing and the transaction goes on with what it had written."""
import pytest

import rome

STATEMENTS = [
    ("CREATE VIEW v AS SELECT a FROM t", "CREATE VIEW"),
    ("CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO t VALUES (1); END", "CREATE TRIGGER"),
    ("create temp trigger tr before delete on t begin select 1; end", "CREATE TRIGGER"),
    ("CREATE VIRTUAL TABLE f USING fts5(a)", "CREATE VIRTUAL TABLE"),
    ("CREATE TEMP TABLE x (a)", "temporary tables"),
    ("CREATE TABLE s AS SELECT * FROM t", "CREATE TABLE ... AS SELECT"),
    ("INSERT INTO t VALUES (5) RETURNING a", "RETURNING"),
    ("UPDATE t SET a = 5 RETURNING a", "RETURNING"),
    ("DELETE FROM t RETURNING a", "RETURNING"),
    ("DROP VIEW v", "DROP VIEW"),
    ("DROP TRIGGER tr", "DROP TRIGGER"),
    ("INSERT INTO t VALUES (1) ON CONFLICT (a) DO NOTHING ON CONFLICT DO NOTHING", "several ON CONFLICT"),
]


@pytest.mark.parametrize("sql, what", STATEMENTS, ids=[s for s, _ in STATEMENTS])
def test_refused_as_not_supported(url, sql, what):
    conn = rome.connect(url)
    try:
        conn.execute("CREATE TABLE t (a)")
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(rome.NotSupportedError, match="^%s" % what.replace(".", r"\.")):
            conn.execute(sql)
        conn.commit()
        assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
        tables = {t.lower() for t in conn.catalog().tables}
        assert tables == {"t"}
    finally:
        conn.close()
