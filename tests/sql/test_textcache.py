"""The parse and plan caches are bounded by bytes, not by count: many distinct long statements (as
SQLAlchemy's expanding IN makes) cannot make them hold more than their budget."""
import tracemalloc

import rome
from rome.sql import planner as planner_module
from rome.sql.parse import PARSED, _parse


def _in_list(n):
    return "SELECT id FROM t WHERE id IN (%s)" % ", ".join("?" * n)


def test_caches_stay_within_their_byte_budget(monkeypatch):
    monkeypatch.setattr(PARSED, "budget", 2 << 20)
    monkeypatch.setattr(planner_module, "PLAN_BUDGET", 8 << 20)
    PARSED.clear()
    conn = rome.connect("rome+memory:///textcache-test")
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    cur.executemany("INSERT INTO t (id) VALUES (?)", [(i,) for i in range(50)])
    conn.commit()
    for n in range(200, 260):
        assert cur.execute(_in_list(n), list(range(n))).fetchall() == [(i,) for i in range(50)]
    assert PARSED.used <= PARSED.budget and 0 < len(PARSED) < 60
    plans = conn.session.planner().plans
    assert plans.used <= plans.budget and 0 < len(plans) < 60
    conn.close()


def test_the_estimate_is_not_below_a_parsed_trees_size():
    sql = _in_list(2000)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    stmt = _parse(sql)
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert stmt is not None and size <= PARSED.cost(sql)


def test_a_text_with_list_parameters_is_scanned_once(monkeypatch):
    """collapse_lists reads the whole text (Glance's list statement is 6 kB): a text seen before is
    found in the caches without it, whatever its lists."""
    from rome.sql import parse as parse_module
    sql = "SELECT a FROM t WHERE a IN (?, ?, ?) AND b = ? AND c NOT IN (?, ?) -- %s" % ("x" * 4000)
    first = parse_module.parse(sql)
    plain = "SELECT a FROM t WHERE b = ? -- %s" % ("y" * 4000)
    parse_module.parse(plain)

    def scanned(_sql):
        raise AssertionError("scanned again")
    monkeypatch.setattr(parse_module, "collapse_lists", scanned)
    again = parse_module.parse(sql)
    assert again[0] is first[0] and again[1].slots == first[1].slots == (3, None, 2)
    assert parse_module.parse(plain)[1] == 1
