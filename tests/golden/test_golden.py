"""Golden plan tests: each ``tests/golden/*.sql`` script holds statements and, under each query, what it
gives: its EXPLAIN lines, its result columns and rows.

    SELECT name FROM t WHERE id = 2;
    -- plan: SEARCH t USING PRIMARY KEY (id=?)
    -- columns: name
    -- row: 'b'

Lines starting ``-- plan:``, ``-- columns:``, ``-- row:``, ``-- rows: none`` and ``-- error:`` are
output, written by the runner; other ``--`` lines are comments and stay. A statement ends with a line
ending in ``;``. Each script runs on a fresh ``rome+memory`` store and, statement by statement, on
sqlite3: the columns and rows (in order when the query has ORDER BY, else as a multiset) and the
class of an error must match sqlite's, and the whole output must match the file.

To rewrite the files from what ROME does now (then read the diff):

    ROME_GOLDEN_UPDATE=1 python -m pytest tests/golden      # or: python tests/golden/test_golden.py --update
"""
import difflib
import glob
import os
import sqlite3
import sys
import uuid

import pytest

import rome

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = sorted(glob.glob(os.path.join(HERE, "*.sql")))
OUTPUT = ("-- plan:", "-- columns:", "-- row:", "-- rows: none", "-- error:")
QUERY_STARTS = ("SELECT", "VALUES", "(")


def updating():
    return os.environ.get("ROME_GOLDEN_UPDATE") == "1"


def _run(conn, sql):
    """(columns, rows) of a statement on a PEP 249 connection, committed; or the error's class name."""
    cur = conn.cursor()
    try:
        cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()] if cur.description else None
        cols = [d[0] for d in cur.description] if cur.description else None
        conn.commit()
        return cols, rows, None
    except (rome.Error, sqlite3.Error) as e:
        conn.rollback()
        return None, None, type(e).__name__


def _same_error(ours, theirs):
    # sqlite3 reports a failed CHECK/UNIQUE/NOT NULL as IntegrityError, syntax as OperationalError
    return ours == theirs or {ours, theirs} == {"ProgrammingError", "OperationalError"}


def render(text):
    """The script with its output lines written anew from ROME; and the differences from sqlite3."""
    db = rome.connect("rome+memory:///golden-%s" % uuid.uuid4().hex)
    ref = sqlite3.connect(":memory:")
    out, stmt, problems = [], [], []
    for line in text.splitlines():
        if line.startswith(OUTPUT):
            continue
        out.append(line)
        if line.strip() and not line.lstrip().startswith("--"):
            stmt.append(line)
        if not (stmt and line.rstrip().endswith(";")):
            continue
        sql = "\n".join(stmt).rstrip().rstrip(";")
        stmt = []
        cols, rows, err = _run(db, sql)
        ref_cols, ref_rows, ref_err = _run(ref, sql)
        where = sql.splitlines()[0][:70]
        if err or ref_err:
            if err:
                out.append("-- error: %s" % err)
            if not (err and ref_err and _same_error(err, ref_err)):
                problems.append("%s: ROME %s, sqlite3 %s" % (where, err or "succeeds", ref_err or "succeeds"))
            continue
        if rows is None:
            continue
        if sql.lstrip().upper().startswith(QUERY_STARTS):
            plan = _run(db, "EXPLAIN " + sql)[1]
            out += ["-- plan: %s" % r[0] for r in plan]
        out.append("-- columns: %s" % ", ".join(cols))
        out += ["-- row: %s" % ", ".join(map(repr, r)) for r in rows] or ["-- rows: none"]
        ordered = "ORDER BY" in sql.upper()
        if cols != ref_cols:
            problems.append("%s: columns %s, sqlite3 %s" % (where, cols, ref_cols))
        if (rows if ordered else sorted(rows, key=repr)) != (ref_rows if ordered else sorted(ref_rows, key=repr)):
            problems.append("%s: rows %s, sqlite3 %s" % (where, rows, ref_rows))
    db.close()
    ref.close()
    return "\n".join(out) + "\n", problems


@pytest.mark.parametrize("path", SCRIPTS, ids=[os.path.basename(p) for p in SCRIPTS])
def test_golden(path):
    with open(path) as f:
        text = f.read()
    got, problems = render(text)
    if updating() and got != text:
        with open(path, "w") as f:
            f.write(got)
    assert not problems, "differs from sqlite3:\n" + "\n".join(problems)
    if not updating() and got != text:
        diff = "".join(difflib.unified_diff(text.splitlines(True), got.splitlines(True), path, "now"))
        pytest.fail("output changed (ROME_GOLDEN_UPDATE=1 rewrites the file):\n" + diff, pytrace=False)


def test_scripts_exist():
    assert len(SCRIPTS) >= 4


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        os.environ["ROME_GOLDEN_UPDATE"] = "1"
    elif sys.argv[1:]:
        raise SystemExit("usage: python tests/golden/test_golden.py [--update]")
    sys.exit(pytest.main([__file__, "-q"]))
