"""The schema PRAGMAs (table_info, index_list, index_info, foreign_key_list) answer as sqlite3's on a
schema as SQLAlchemy writes it; they answered nothing at all (an empty result, as for a table that
does not exist)."""
import sqlite3

import pytest

import rome

SCHEMA = [
    "CREATE TABLE p (id INTEGER NOT NULL, name VARCHAR(64) NOT NULL DEFAULT 'x', code TEXT COLLATE NOCASE, "
    "PRIMARY KEY (id), UNIQUE (name))",
    "CREATE TABLE c (id INTEGER NOT NULL, p_id INTEGER, p_name VARCHAR(64), size BIGINT DEFAULT (0), "
    "PRIMARY KEY (id), FOREIGN KEY(p_id) REFERENCES p (id) ON DELETE CASCADE, "
    "FOREIGN KEY(p_name) REFERENCES p (name) ON UPDATE SET NULL)",
    "CREATE INDEX ix_c_p ON c (p_id, size)",
    "CREATE UNIQUE INDEX ux_c_name ON c (p_name)",
]


@pytest.mark.parametrize("pragma", [
    "table_info(p)", "table_info(c)", "table_info(\"C\")", "table_info('nope')", "index_list(p)",
    "index_list(c)", "index_info(ix_c_p)", "index_info(ux_c_name)", "index_info(nope)",
    "foreign_key_list(c)", "foreign_key_list(p)", "main.table_info(c)"])
def test_schema_pragmas_as_sqlite(db, pragma):
    ref = sqlite3.connect(":memory:")
    for sql in SCHEMA:
        ref.execute(sql)
        db.execute(sql)
    want = ref.execute("PRAGMA " + pragma)
    got = db.execute("PRAGMA " + pragma)
    assert [d[0] for d in got.description] == [d[0] for d in want.description]
    assert got.fetchall() == want.fetchall()
