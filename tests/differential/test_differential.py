"""Differential test: the engine under test against sqlite3, on random schemas, rows, queries and writes.

Hypothesis generates 2-3 tables (integer PK, nullable and NOT NULL int/float/text columns, server
defaults, UNIQUE constraints, single and multi-column indexes, unique or not, a foreign key with or
without ON DELETE CASCADE / SET NULL), rows with NULLs and duplicates, then SELECTs (joins, subqueries,
grouping, unions, ...) and write sequences (including PK/UNIQUE/NOT NULL/FK violations), all as SQL text
from SQLAlchemy's SQLite compiler. Each runs on sqlite3 (in memory) and on the engine under test through
its PEP 249 module; results, rowcounts, errors and table contents must match.

Environment:
  ROME_TEST_URL        engine under test (default rome+memory://; sqlite:// checks the harness itself;
                       {tmp} is replaced by a temporary folder: rome+lmdb:///{tmp}/diff)
  ROME_DIFF_EXAMPLES   Hypothesis examples per test (default 60)
  ROME_DIFF_QUERIES    queries per generated database (default 6)
  ROME_DIFF_OPS        max writes per generated database (default 12)
  ROME_DIFF_RANDOM=1   explore new examples (default: derandomized, the same examples every run)
  ROME_DIFF_SHRINK=1   shrink a failure to a minimal example (off by default: on ROME shrinking can take
                       Hypothesis's full 5 minutes; the failure message already names the query)
"""
import os
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import note as _note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from .generators import compile_stmt, dml_ops, queries, schemas, table_rows, value_pool
from .harness import DIALECT, open_reference, open_under_test, rows_equal, show_rows, url_under_test

pytestmark = pytest.mark.differential

EXAMPLES = int(os.environ.get("ROME_DIFF_EXAMPLES", "60"))
QUERIES = int(os.environ.get("ROME_DIFF_QUERIES", "6"))
OPS = int(os.environ.get("ROME_DIFF_OPS", "12"))
RANDOM = os.environ.get("ROME_DIFF_RANDOM") == "1"

SHRINK = os.environ.get("ROME_DIFF_SHRINK") == "1"
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if SHRINK else [])

SETTINGS = settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    derandomize=not RANDOM,
    database=None if not RANDOM else settings.default.database,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def note(msg):
    if currently_in_test_context():
        _note(msg)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    return url_under_test(tmp_path_factory.mktemp("rome-diff"))


class Pair:
    """sqlite3 and the engine under test, each on its own fresh database, driven in lock step."""

    def __init__(self, url, schema):
        self.schema = schema
        self.ref = open_reference()
        self.sut = None
        try:
            self.sut = open_under_test(url)
            self.sut.reset()
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.sut is not None:
            try:
                self.sut.reset()
            finally:
                self.sut.close()
        self.ref.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- set-up ----------------------------------------------------------------------------------
    def create(self):
        for sql in self.schema.ddl():
            note(sql)
            self.ref.execute(sql)
            try:
                self.sut.execute(sql)
            except Exception as e:
                raise AssertionError("DDL failed on %s: %r\n  %s" % (self.sut.name, e, sql)) from e
        self.ref.commit()
        self.sut.commit()

    def load(self, data):
        """Rows for each table: sqlite decides which rows are valid (one INSERT each), the engine under
        test gets the accepted ones in one executemany, one multi-VALUES INSERT or row by row."""
        ids = {}
        for info in self.schema.tables:
            rows = data.draw(table_rows(info, ids), label="rows of " + info.name)
            names = ["id"] + [c.name for c in info.cols]
            ins = info.table.insert().compile(column_keys=names, dialect=DIALECT)
            ins_sql, order = str(ins), ins.positiontup
            accepted = []
            for r in rows:
                params = tuple(r[n] for n in order)
                try:
                    self.ref.execute(ins_sql, params)
                    accepted.append(params)
                except self.ref.module.IntegrityError:
                    pass
            note("%s rows: %r" % (info.name, accepted))
            how = data.draw(st.sampled_from(["executemany", "multi-values", "one by one"]),
                            label="load " + info.name)
            if accepted:
                if how == "executemany":
                    self.sut.executemany(ins_sql, accepted)
                elif how == "multi-values":
                    sql, params = compile_stmt(info.table.insert().values(
                        [dict(zip(order, p)) for p in accepted]))
                    self.sut.execute(sql, params)
                else:
                    for p in accepted:
                        self.sut.execute(ins_sql, p)
            ids[info.name] = {p[order.index("id")] for p in accepted}
        self.ref.commit()
        self.sut.commit()
        self.compare_tables("after loading")

    # -- comparisons -----------------------------------------------------------------------------
    def compare_tables(self, when):
        for info in self.schema.tables:
            exp = self.ref.table_rows(info.name)
            try:
                got = self.sut.table_rows(info.name)
            except Exception as e:
                raise AssertionError("%s: SELECT * FROM %s failed on %s: %r"
                                     % (when, info.name, self.sut.name, e)) from e
            assert rows_equal(exp, got, ordered=True), (
                "%s: table %s differs\n  sqlite3:\n%s\n  %s:\n%s"
                % (when, info.name, show_rows(exp), self.sut.name, show_rows(got)))

    def pool(self):
        return value_pool({info: self.ref.table_rows(info.name) for info in self.schema.tables})

    def ids(self):
        return {info.name: {r[0] for r in self.ref.execute("SELECT id FROM %s" % info.name)[0]}
                for info in self.schema.tables}

    def compare_query(self, sql, params, ordered):
        note("query: %s  params=%r" % (sql, params))
        try:
            exp, _, exp_names = self.ref.execute(sql, params)
        except Exception as e:  # the generator must only produce SQL that sqlite accepts
            raise RuntimeError("harness bug: sqlite3 rejected %s %r: %r" % (sql, params, e)) from e
        try:
            got, _, got_names = self.sut.execute(sql, params)
        except Exception as e:
            raise AssertionError("%s raised %r on\n  %s\n  params=%r\n  sqlite3 gave:\n%s"
                                 % (self.sut.name, e, sql, params, show_rows(exp))) from e
        ctx = "\n  %s\n  params=%r\n  ordered=%s" % (sql, params, ordered)
        assert got_names == exp_names, "column names differ: sqlite3 %r, %s %r%s" % (
            exp_names, self.sut.name, got_names, ctx)
        assert rows_equal(exp, got, ordered), "results differ%s\n  sqlite3:\n%s\n  %s:\n%s" % (
            ctx, show_rows(exp), self.sut.name, show_rows(got))

    def apply(self, op):
        """Run one write on both; outcomes (rowcount, or IntegrityError) and contents must match."""
        kind = op[0]
        if kind in ("commit", "rollback"):
            note(kind.upper())
            getattr(self.ref, kind)()
            getattr(self.sut, kind)()
            self.compare_tables("after " + kind.upper())
            return
        sql, params = op[1], op[2]
        note("%s: %s  params=%r" % (kind, sql, params))
        if kind == "syntax":   # sqlite3's class is OperationalError, ROME's ProgrammingError (see rome.errors)
            with pytest.raises(self.ref.module.OperationalError, match="syntax error|incomplete input"):
                self.ref.execute(sql, params)
            with pytest.raises(self.sut.module.ProgrammingError if self.sut.module is not self.ref.module
                               else self.ref.module.OperationalError, match="syntax error"):
                self.sut.execute(sql, params)
            self.compare_tables("after " + sql)
            return
        run = (lambda side: side.execute(sql, params)[1]) if kind == "sql" else \
            (lambda side: side.executemany(sql, params))
        exp = got = None
        exp_err = got_err = None
        try:
            exp = run(self.ref)
        except self.ref.module.IntegrityError as e:
            exp_err = e
        except Exception as e:
            raise RuntimeError("harness bug: sqlite3 rejected %s %r: %r" % (sql, params, e)) from e
        try:
            got = run(self.sut)
        except self.sut.module.IntegrityError as e:
            got_err = e
        except Exception as e:
            raise AssertionError("%s raised %r (sqlite3: %r) on\n  %s\n  params=%r"
                                 % (self.sut.name, e, exp_err or "rowcount %s" % exp, sql, params)) from e
        ctx = "\n  %s\n  params=%r" % (sql, params)
        if exp_err is not None:
            assert got_err is not None, "sqlite3 raised IntegrityError (%s); %s did not (rowcount %s)%s" % (
                exp_err, self.sut.name, got, ctx)
        else:
            assert got_err is None, "%s raised %r; sqlite3 did not (rowcount %s)%s" % (
                self.sut.name, got_err, exp, ctx)
            assert got == exp, "rowcount differs: sqlite3 %s, %s %s%s" % (exp, self.sut.name, got, ctx)
        if exp_err is not None and kind == "many":
            # how much of a failed executemany stays is driver-specific: do what applications do
            self.ref.rollback()
            self.sut.rollback()
            note("ROLLBACK (after the failed executemany)")
        self.compare_tables("after " + sql)


@SETTINGS
@given(data=st.data())
def test_queries_match_sqlite(url, data):
    schema = data.draw(schemas(), label="schema")
    with Pair(url, schema) as pair:
        pair.create()
        pair.load(data)
        pool = pair.pool()
        for i in range(QUERIES):
            sql, params, ordered = data.draw(queries(schema, pool), label="query %d" % i)
            pair.compare_query(sql, params, ordered)


@SETTINGS
@given(data=st.data())
def test_writes_match_sqlite(url, data):
    schema = data.draw(schemas(), label="schema")
    with Pair(url, schema) as pair:
        pair.create()
        pair.load(data)
        for i in range(data.draw(st.integers(1, OPS), label="number of writes")):
            pair.apply(data.draw(dml_ops(schema, pair.ids(), pair.pool()), label="write %d" % i))
        pair.apply(("commit",))


# A few fixed cases: readable first failures when something basic is broken, and a check that the
# comparisons themselves work (an empty result never passes for a non-empty one, and so on).
FIXED_DDL = [
    "CREATE TABLE t0 (id INTEGER NOT NULL, a INTEGER, f FLOAT, s VARCHAR, PRIMARY KEY (id))",
    "CREATE INDEX ix_t0_a ON t0 (a, s)",
    "CREATE TABLE t1 (id INTEGER NOT NULL, pid INTEGER, b INTEGER DEFAULT '3' NOT NULL, PRIMARY KEY (id), "
    "UNIQUE (b), FOREIGN KEY(pid) REFERENCES t0 (id) ON DELETE CASCADE)",
]
FIXED_ROWS = [
    ("INSERT INTO t0 (id, a, f, s) VALUES (?, ?, ?, ?)",
     [(1, 1, 0.5, "a"), (2, None, -1.25, "B"), (3, 1, None, None), (4, -7, 2.5, "a_b"), (5, 2, 0.0, ""),
      (6, 2 ** 53 + 1, 2.0 ** 53, "big"), (7, -2 ** 62, -0.0, "min")]),
    ("INSERT INTO t1 (id, pid, b) VALUES (?, ?, ?)", [(10, 1, 1), (11, 1, 2), (12, 4, 3), (13, None, 4)]),
]
FIXED_QUERIES = [
    ("SELECT ? AS anon_1", (1,), True),
    ("SELECT t0.id, t0.a, t0.f, t0.s FROM t0 ORDER BY t0.id", (), True),
    ("SELECT t0.a / ? AS c0, t0.a % ? AS c1, t0.s || ? AS c2 FROM t0 ORDER BY t0.id", (2, 2, "x"), True),
    ("SELECT t0.id FROM t0 WHERE t0.a IS NULL OR t0.a NOT IN (?, ?)", (1, None), False),
    ("SELECT t0.id FROM t0 ORDER BY t0.a DESC, t0.id LIMIT ? OFFSET ?", (2, 1), True),
    ("SELECT t0.id FROM t0 ORDER BY t0.f LIMIT ? OFFSET ?", (-1, 1), True),
    ("SELECT t0.s FROM t0 WHERE t0.s LIKE ?", ("a%",), False),
    ("SELECT t0.id FROM t0 WHERE t0.a = ?", (2.0 ** 53,), False),     # 2**53 + 1 is not 2.0**53
    ("SELECT t0.id FROM t0 WHERE t0.a > t0.f", (), False),
    ("SELECT t0.id FROM t0 WHERE t0.a >= ? ORDER BY t0.a", (2 ** 53,), True),
    ("SELECT t0.id FROM t0 WHERE t0.f = ?", (0,), False),             # -0.0 = 0
    ("SELECT t0.id FROM t0 WHERE t0.a < ? ORDER BY t0.a", (-2 ** 61,), True),
    ("SELECT count(*) AS n, count(t0.a) AS c, count(DISTINCT t0.a) AS d, sum(t0.a) AS s, avg(t0.a) AS a "
     "FROM t0", (), True),
    ("SELECT t0.a, count(*) AS n FROM t0 GROUP BY t0.a HAVING count(*) > ? ORDER BY t0.a", (0,), True),
    ("SELECT t0.id, t1.id AS id_1 FROM t0 LEFT OUTER JOIN t1 ON t1.pid = t0.id ORDER BY t0.id, t1.id", (),
     True),
    ("SELECT t0.id, (SELECT max(t1.b) AS max_1 FROM t1 WHERE t1.pid = t0.id) AS anon_1 FROM t0", (), False),
    ("SELECT t0.id FROM t0 WHERE EXISTS (SELECT * FROM t1 WHERE t1.pid = t0.id)", (), False),
    ("SELECT t0.a AS c0 FROM t0 UNION SELECT t1.b AS c0 FROM t1 ORDER BY c0", (), True),
    ("SELECT CASE WHEN (t0.a > ?) THEN ? ELSE coalesce(t0.s, ?) END AS c0 FROM t0", (0, "pos", "?"), False),
]
FIXED_WRITES = [
    ("INSERT INTO t0 (id, a) VALUES (?, ?)", (1, 5)),            # duplicate PK
    ("INSERT INTO t1 (id, pid) VALUES (?, ?), (?, ?)", (20, 2, 21, 2)),  # default b=3 twice: UNIQUE
    ("INSERT INTO t1 (id, pid, b) VALUES (?, ?, ?)", (22, 99, 9)),  # FK
    ("UPDATE t0 SET a=(t0.a + ?) WHERE t0.a IS NOT NULL", (1,)),
    ("DELETE FROM t0 WHERE t0.id = ?", (1,)),                   # cascades to t1 10, 11
    ("UPDATE t1 SET b=? WHERE t1.id = ?", (None, 12)),          # NOT NULL
]


def test_fixed_cases(url):
    pair = Pair(url, FixedSchema)
    try:
        for sql in FIXED_DDL:
            pair.ref.execute(sql)
            pair.sut.execute(sql)
        for sql, rows in FIXED_ROWS:
            pair.ref.executemany(sql, rows)
            pair.sut.executemany(sql, rows)
        pair.ref.commit()
        pair.sut.commit()
        pair.compare_tables("after loading")
        for sql, params, ordered in FIXED_QUERIES:
            pair.compare_query(sql, params, ordered)
        for sql, params in FIXED_WRITES:
            pair.apply(("sql", sql, params))
        pair.apply(("commit",))
    finally:
        pair.close()


class FixedSchema:
    """What Pair.compare_tables needs of a schema: the tables' names."""
    tables = [SimpleNamespace(name="t0"), SimpleNamespace(name="t1")]


def test_comparison_is_strict():
    assert not rows_equal([(1,)], [], ordered=False)
    assert not rows_equal([(1, "a")], [(1, "b")], ordered=False)
    assert not rows_equal([(1,), (2,)], [(2,), (1,)], ordered=True)
    assert rows_equal([(1,), (2,)], [(2,), (1,)], ordered=False)
    assert not rows_equal([(None,)], [(0,)], ordered=True)
    assert not rows_equal([("1",)], [(1,)], ordered=True)
    assert rows_equal([(3, 0.1 + 0.2)], [(3.0, 0.3)], ordered=True)
