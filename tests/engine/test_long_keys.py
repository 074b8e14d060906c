"""Index entries and primary keys longer than LMDB's 511-byte key limit: every store takes them, and
scans, ORDER BY and range predicates over them agree with sqlite3 (Glance's image_tags index on
(image_id, value) with a 255-character non-ASCII tag is such a key)."""
import rome

IMAGE = "0f6f3c6e-5b35-4a3d-9a8e-1c1b5f8c2d7e"
# UTF-8 lengths of 1, 2, 3 and 4 bytes: a 255-character tag is 255..1020 bytes
LETTERS = ["a", "é", "東", "😀"]


def tags():
    out = []
    for letter in LETTERS:
        for n in (120, 126, 127, 128, 129, 160, 170, 171, 172, 255):
            out.append(letter * n)
            out.append(letter * (n - 1) + "b")
            out.append(letter * (n - 1) + "\u00e0")
    out.append("é" * 200 + "a" * 55)
    out.append("é" * 200 + "a" * 54 + "\u00e0")
    return out


def test_long_index_entries_and_keys_match_sqlite(both):
    both.same("CREATE TABLE image_tags (id INTEGER PRIMARY KEY, image_id VARCHAR(36) NOT NULL, "
              "value VARCHAR(255) NOT NULL)")
    both.same("CREATE INDEX ix_image_tags_image_id_tag_value ON image_tags (image_id, value)")
    both.same("CREATE TABLE names (name TEXT PRIMARY KEY, n INTEGER)")
    values = tags()
    assert max(len((IMAGE + v).encode()) for v in values) > 1000
    for i, v in enumerate(values):
        both.same("INSERT INTO image_tags (image_id, value) VALUES (?, ?)", (IMAGE, v))
        both.same("INSERT INTO names VALUES (?, ?)", (v, i))
    both.rome.commit()
    both.ref.commit()
    both.same("SELECT value FROM image_tags WHERE image_id = ? ORDER BY value", (IMAGE,))
    both.same("SELECT value FROM image_tags WHERE image_id = ? ORDER BY value DESC", (IMAGE,))
    both.same("SELECT name, n FROM names ORDER BY name")
    both.same("SELECT name FROM names ORDER BY name DESC")
    for v in values[::5]:
        both.same("SELECT id FROM image_tags WHERE image_id = ? AND value = ?", (IMAGE, v))
        both.same("SELECT value FROM image_tags WHERE image_id = ? AND value > ? ORDER BY value LIMIT 7",
                  (IMAGE, v))
        both.same("SELECT value FROM image_tags WHERE image_id = ? AND value <= ? ORDER BY value DESC "
                  "LIMIT 7", (IMAGE, v))
        both.same("SELECT n FROM names WHERE name = ?", (v,))
        both.same("SELECT count(*) FROM names WHERE name >= ?", (v,))
    assert isinstance(both.run("INSERT INTO names VALUES (?, 0)", (values[7],)), rome.IntegrityError)
    both.same("UPDATE names SET name = name || 'z' WHERE length(name) > 170")
    both.same("DELETE FROM image_tags WHERE value LIKE '%b'")
    both.same("SELECT name FROM names ORDER BY name")
    both.same("SELECT value FROM image_tags WHERE image_id = ? ORDER BY value", (IMAGE,))
    both.rome.commit()
    both.ref.commit()


def test_long_keys_survive_reopen(tmp_path):
    url = "rome+lmdb:///" + str(tmp_path / "db")
    c = rome.connect(url)
    c.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    c.executemany("INSERT INTO t VALUES (?)", [(v,) for v in tags()])
    c.commit()
    c.close()
    c = rome.connect(url)
    assert [r[0] for r in c.execute("SELECT k FROM t ORDER BY k")] == sorted(tags())
    c.close()
