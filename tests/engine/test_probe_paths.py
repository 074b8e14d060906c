"""The short read paths a join's probes and a Glance list take, compared with sqlite3 on every store:
a unique-key probe (two gets), an equality-prefix probe (one range), index ranges over long keys
(LMDB buckets), nested UNIONs deduplicated with one set, and ORDER BY on values whose storage
classes mix (the sort by the values themselves gives way to the ranked one)."""
import pytest

SCHEMA = [
    "CREATE TABLE img (id TEXT PRIMARY KEY, created INTEGER, owner TEXT, vis TEXT)",
    "CREATE TABLE prop (id INTEGER PRIMARY KEY, img_id TEXT, name TEXT, value TEXT, deleted INTEGER)",
    "CREATE UNIQUE INDEX ix_prop_img_name ON prop (img_id, name)",
    "CREATE INDEX ix_prop_img ON prop (img_id)",
    "CREATE INDEX ix_prop_deleted_value ON prop (deleted, value)",
    "CREATE TABLE loc (id INTEGER PRIMARY KEY, img_id TEXT, value TEXT)",
    "CREATE INDEX ix_loc_img ON loc (img_id)",
]
LONG = "x" * 600   # index keys past LMDB's 511 bytes live in buckets


def _fill(both):
    for sql in SCHEMA:
        both.run(sql)
    imgs = [("i%02d" % i, i % 5, "p%d" % (i % 3), ["public", "private", "shared"][i % 3]) for i in range(30)]
    imgs += [(LONG + "a", 7, "p1", "public"), (LONG + "b", 7, "p1", "private"), (LONG, 8, "p2", "public")]
    for row in imgs:
        both.run("INSERT INTO img VALUES (?, ?, ?, ?)", row)
    n = 0
    for i, (iid, *_rest) in enumerate(imgs):
        for j in range(i % 4):
            n += 1
            both.run("INSERT INTO prop VALUES (?, ?, ?, ?, ?)", (n, iid, "k%d" % j, (LONG if i % 5 == 0 else "") + "v%d" % (i % 3), i % 2))
        if i % 3 == 0:
            both.run("INSERT INTO loc VALUES (?, ?, ?)", (i, iid, "file://%d" % i))
    both.run("INSERT INTO prop VALUES (999, NULL, 'k0', 'v0', 0)")
    both.rome.commit()   # the reads below come from the store, not from the transaction's writes


@pytest.mark.parametrize("sql", [
    # unique-key probes: the primary key from a NULL outer value; (img_id, name) fixed, often absent
    "SELECT p.id, img.owner FROM prop AS p LEFT JOIN img ON img.id = p.img_id ORDER BY p.id",
    "SELECT img.id, p.value FROM img JOIN prop AS p ON p.img_id = img.id AND p.name = 'k1' "
    "WHERE p.value = 'v1' ORDER BY img.created DESC, img.id DESC",
    "SELECT img.id, p.value FROM img LEFT JOIN prop AS p ON p.img_id = img.id AND p.name = 'k2' "
    "ORDER BY img.id",
    # equality-prefix probes under a LEFT JOIN, nested as an ORM's joined eager load writes them
    "SELECT a.id, p.name, l.value FROM (SELECT * FROM img ORDER BY created DESC, id DESC LIMIT 12) AS a "
    "LEFT JOIN prop AS p ON a.id = p.img_id LEFT JOIN loc AS l ON a.id = l.img_id "
    "ORDER BY a.created DESC, a.id DESC, p.id, l.id",
    # long keys: the probe's range holds bucketed entries and ends just past them
    "SELECT p.img_id, p.name FROM prop AS p WHERE p.img_id = '%s' ORDER BY p.name" % (LONG + "a"),
    "SELECT p.img_id, p.name FROM prop AS p WHERE p.img_id >= '%s' AND p.img_id < '%s' ORDER BY 1, 2"
    % (LONG, LONG + "b"),
    "SELECT img.id, p.name FROM img JOIN prop AS p ON p.img_id = img.id WHERE img.created >= 7 ORDER BY 1, 2",
    # a short prefix whose entries are long (bucketed): the scan unfolds them whole
    "SELECT id, length(value), img_id FROM prop WHERE deleted = 1",
    "SELECT img.id, p.id, length(p.value) FROM img JOIN prop AS p ON p.deleted = img.created "
    "AND p.value > 'v' ORDER BY 1, 2",
])
def test_probes_like_sqlite(both, sql):
    _fill(both)
    assert both.same(sql) is not None


@pytest.mark.parametrize("sql, ordered", [
    ("SELECT id, owner FROM img WHERE vis = 'public' UNION ALL SELECT id, owner FROM img WHERE owner = 'p1' "
     "UNION SELECT id, owner FROM img WHERE created = 3", False),
    ("SELECT owner FROM img WHERE vis = 'public' UNION SELECT owner FROM img UNION ALL SELECT vis FROM img", False),
    ("SELECT id, created FROM img WHERE vis = 'public' UNION SELECT id, created FROM img WHERE owner = 'p1' "
     "UNION SELECT id, created FROM img WHERE created = 3 ORDER BY 2 DESC, 1 DESC LIMIT 9", True),
    ("SELECT * FROM (SELECT id FROM img WHERE vis = 'public' UNION SELECT id FROM img WHERE owner = 'p1' "
     "ORDER BY 1 LIMIT 4) UNION SELECT id FROM img WHERE created = 3 ORDER BY 1", True),
    ("SELECT owner FROM img UNION SELECT owner FROM img WHERE vis = 'shared' INTERSECT SELECT owner FROM img "
     "WHERE created = 1", False),
    ("SELECT owner FROM img UNION SELECT vis FROM img EXCEPT SELECT owner FROM img WHERE created = 1", False),
])
def test_nested_unions_like_sqlite(both, sql, ordered):
    _fill(both)
    assert both.same(sql, ordered=ordered)


def test_order_by_mixed_storage_classes(both):
    """NULLs, numbers, text and blobs in one ORDER BY column, with ties broken by a second key and
    by the input order: the result is SQLite's, ascending and descending."""
    both.run("CREATE TABLE m (id INTEGER PRIMARY KEY, a, b)")
    vals = [None, 3, 2.5, "b", b"\x01", "a", 3, None, 2, "b", 2.0, b"\x00"]
    for i, v in enumerate(vals):
        both.run("INSERT INTO m VALUES (?, ?, ?)", (i, v, i % 3))
    for order in ("a, b", "a DESC, b DESC", "a, id", "a DESC, id DESC", "b, a", "b DESC, a DESC, id DESC"):
        both.same("SELECT id, a, b FROM m ORDER BY %s" % order)
    rows = both.rome.cursor().execute("SELECT id FROM m ORDER BY b").fetchall()
    assert [r[0] for r in rows] == sorted(range(len(vals)), key=lambda i: i % 3)   # ties in scan order


def test_repeated_probes_like_sqlite(both):
    """Outer rows that probe one key in turn (each image's properties before its locations) take
    the rows of the probe before, also past the rows kept (MEMO_ROWS) and after a write."""
    both.run("CREATE TABLE a (id INTEGER PRIMARY KEY, k INTEGER)")
    both.run("CREATE TABLE b (id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")
    both.run("CREATE INDEX ix_b_k ON b (k)")
    both.run("CREATE TABLE c (k INTEGER PRIMARY KEY, name TEXT)")
    for i in range(6):
        both.run("INSERT INTO a VALUES (?, ?)", (i, i % 3))
        both.run("INSERT INTO c VALUES (?, ?)", (i, "c%d" % i))
    for i in range(150):
        both.run("INSERT INTO b VALUES (?, ?, ?)", (i, 0 if i < 70 else i % 3, "v%d" % i))
    both.rome.commit()
    for sql in ["SELECT a.id, b.id, c.name FROM a LEFT JOIN b ON b.k = a.k LEFT JOIN c ON c.k = a.k "
                "ORDER BY a.id, b.id",
                "SELECT a.id, x.id, y.id FROM a JOIN b AS x ON x.k = a.k JOIN b AS y ON y.k = a.k "
                "WHERE x.id % 7 = 0 AND y.id % 11 = 0 ORDER BY 1, 2, 3",
                "SELECT count(*), sum(y.id) FROM a JOIN b AS x ON x.k = a.k JOIN b AS y ON y.k = a.k"]:
        both.same(sql)
    both.run("UPDATE b SET k = 1 WHERE id < 40")
    both.run("DELETE FROM c WHERE k = 2")
    both.same("SELECT a.id, b.id, c.name FROM a LEFT JOIN b ON b.k = a.k LEFT JOIN c ON c.k = a.k "
              "ORDER BY a.id, b.id")
    both.same("SELECT a.id, (SELECT count(*) FROM b AS x JOIN c ON c.k = x.k WHERE x.k = a.k) FROM a ORDER BY 1")
    both.run("UPDATE a SET k = (SELECT count(*) % 3 FROM b AS x JOIN b AS y ON y.k = x.k WHERE x.k = a.k "
             "AND y.id < 45)")
    both.same("SELECT a.id, a.k, b.id FROM a LEFT JOIN b ON b.k = a.k ORDER BY 1, 3")


@pytest.mark.parametrize("name", ["k1", "k0", None, 1, "absent"])
def test_probe_fixed_and_joined_columns_like_sqlite(both, name):
    """A unique-key probe whose key is an outer row's column and a statement parameter
    (image_id = images.id AND name = ?): the parameter's part of the key is the same for every
    outer row, NULL on either side matches nothing (also on the statement's first probe), and a
    number probes the TEXT column as its text."""
    _fill(both)
    both.run("INSERT INTO prop VALUES (1000, 'i01', '1', 'one', 0)")
    both.rome.commit()
    for sql in [
        # pk descending: the first outer row (id 1000, then 999 with img_id NULL) probes first
        "SELECT p.id, q.id, q.value FROM prop AS p LEFT JOIN prop AS q ON q.img_id = p.img_id AND q.name = ? "
        "ORDER BY p.id DESC",
        "SELECT img.id, p.value FROM img JOIN prop AS p ON p.img_id = img.id WHERE p.name = ? "
        "ORDER BY img.created DESC, img.id DESC LIMIT 7",
        "SELECT img.id, (SELECT value FROM prop WHERE img_id = img.id AND name = ?) FROM img ORDER BY img.id",
    ]:
        both.same(sql, (name,))
