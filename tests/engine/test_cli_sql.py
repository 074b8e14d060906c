"""`rome sql URL -c SQL`: one statement per call, committed, plans shown by EXPLAIN."""
import subprocess
import sys


def rome_sql(url, sql, *options):
    return subprocess.run([sys.executable, "-m", "rome.cli", "sql", url, "-c", sql, *options],
                          capture_output=True, text=True, timeout=60)


def test_sql_command_runs_and_commits(tmp_path):
    url = "rome+lmdb:///" + str(tmp_path / "db")
    assert rome_sql(url, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", "--create").returncode == 0
    r = rome_sql(url, "INSERT INTO t (name) VALUES ('alpha'), ('beta')")
    assert r.returncode == 0 and "2 rows affected" in r.stdout
    r = rome_sql(url, "SELECT id, name FROM t ORDER BY id")
    assert "alpha" in r.stdout and "beta" in r.stdout and "(2 rows)" in r.stdout
    r = rome_sql(url, "EXPLAIN SELECT name FROM t WHERE id = 2")
    assert "SEARCH t USING PRIMARY KEY (id=?)" in r.stdout
    r = rome_sql(url, "SELECT nope FROM t")
    assert r.returncode == 1 and "ProgrammingError" in r.stderr
