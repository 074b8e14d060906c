"""`rome copy SRC DST`: schema by reflection, rows in FK order and batches, counts verified, refusal of a
non-empty destination. sqlite file -> ROME's LMDB here (an existing database moved onto ROME; no Glance
needed); the destination URL can be switched with ROME_COPY_TEST_DST (a template with {dir} and
{name}, e.g. 'sqlite:///{dir}/{name}.db' for comparison, or 'rome+memory://', made a store per test).
"""
import datetime
import decimal
import os
import sqlite3

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from rome.cli import main
from rome.cli.copy import CopyError, copy_database

DEFAULT_DST = "rome+lmdb:///{dir}/{name}"


def dst_url(tmp_path, name="dst"):
    template = os.environ.get("ROME_COPY_TEST_DST") or DEFAULT_DST
    if template == "rome+memory://":
        # one store per process: a named one per test and name
        return "rome+memory:///%s-%s" % (os.path.basename(str(tmp_path)), name)
    return template.format(dir=str(tmp_path), name=name)


def make_source(url, parents=120, children_per=20):
    """A schema with what Glance's has: FKs, composite unique, indexes, CHECK, booleans, datetimes,
    text, BIGINT/Integer autoincrement, server defaults, and an alembic_version table."""
    eng = sa.create_engine(url)
    md = sa.MetaData()
    sa.Table("alembic_version", md, sa.Column("version_num", sa.String(32), primary_key=True))
    sa.Table("images", md,
             sa.Column("id", sa.String(36), primary_key=True),
             sa.Column("name", sa.String(255)),
             sa.Column("size", sa.BigInteger().with_variant(sa.Integer, "sqlite")),
             sa.Column("status", sa.String(30), nullable=False),
             sa.Column("protected", sa.Boolean, nullable=False, server_default=sa.text("0")),
             sa.Column("visibility", sa.String(9), nullable=False, server_default="shared"),
             sa.Column("created_at", sa.DateTime, nullable=False),
             sa.Column("deleted", sa.Boolean(create_constraint=True, name="ck_deleted"), nullable=False),
             sa.Column("ratio", sa.Numeric(10, 3)),
             sa.Index("ix_images_status", "status"))
    sa.Table("image_properties", md,
             sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"), nullable=False),
             sa.Column("name", sa.String(255), nullable=False),
             sa.Column("value", sa.Text),
             sa.UniqueConstraint("image_id", "name", name="ix_image_properties_image_id_name"))
    sa.Table("image_tags", md,
             sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"), nullable=False),
             sa.Column("value", sa.String(255), nullable=False))
    sa.Table("unrelated", md, sa.Column("k", sa.Integer, primary_key=True), sa.Column("blob", sa.LargeBinary))
    md.create_all(eng)
    t0 = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901)
    with eng.begin() as c:
        c.execute(md.tables["alembic_version"].insert(), {"version_num": "2024_1_contract01"})
        c.execute(md.tables["images"].insert(), [
            {"id": "img-%05d" % i, "name": "n%d" % i if i % 3 else None, "size": i * 2**20,
             "status": "active", "protected": bool(i % 2), "created_at": t0 + datetime.timedelta(seconds=i),
             "deleted": False, "ratio": decimal.Decimal("%d.125" % i)} for i in range(parents)])
        c.execute(md.tables["image_properties"].insert(), [
            {"image_id": "img-%05d" % i, "name": "k%d" % j, "value": "v%d\u00e9" % j}
            for i in range(parents) for j in range(children_per)])
        c.execute(md.tables["image_tags"].insert(), [
            {"image_id": "img-%05d" % i, "value": "t"} for i in range(0, parents, 2)])
        c.execute(md.tables["unrelated"].insert(), [{"k": 1, "blob": b"\x00\x01\xff"}])
    eng.dispose()
    return md


def rows(url, table):
    eng = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table(table, md, autoload_with=eng)
    with eng.connect() as c:
        out = [tuple(r) for r in c.execute(sa.select(t).order_by(*t.primary_key.columns))]
    eng.dispose()
    return out


def test_copy_everything(tmp_path):
    src = "sqlite:///%s/src.db" % tmp_path
    make_source(src)
    dst = dst_url(tmp_path)
    counts = copy_database(src, dst, batch_size=333, progress=False, echo=lambda m: None)
    assert counts == {"alembic_version": 1, "images": 120, "image_properties": 2400, "image_tags": 60,
                      "unrelated": 1}
    for t in counts:
        assert rows(dst, t) == rows(src, t), t
    insp = sa.inspect(sa.create_engine(dst))
    assert sorted(insp.get_table_names()) == sorted(counts)
    assert {fk["referred_table"] for fk in insp.get_foreign_keys("image_properties")} == {"images"}
    uniques = insp.get_unique_constraints("image_properties")
    assert [u["column_names"] for u in uniques] == [["image_id", "name"]]
    assert "ix_images_status" in {i["name"] for i in insp.get_indexes("images")}
    cols = {c["name"]: c for c in insp.get_columns("images")}
    assert cols["status"]["nullable"] is False
    assert "shared" in str(cols["visibility"]["default"])
    # autoincrement goes on after the copied ids
    eng = sa.create_engine(dst)
    with eng.begin() as c:
        c.execute(sa.text("INSERT INTO image_properties (image_id, name, value) VALUES ('img-00001', 'new', 'x')"))
        assert c.execute(sa.text("SELECT max(id) FROM image_properties")).scalar() == 2401
    eng.dispose()


def test_refuses_non_empty_destination_unless_forced(tmp_path):
    src = "sqlite:///%s/src.db" % tmp_path
    make_source(src, parents=5, children_per=2)
    dst = dst_url(tmp_path)
    copy_database(src, dst, progress=False, echo=lambda m: None)
    with pytest.raises(CopyError, match="not empty"):
        copy_database(src, dst, progress=False, echo=lambda m: None)
    # a destination with data in another table is refused too
    other = dst_url(tmp_path, "other")
    eng = sa.create_engine(other)
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE keepme (x INTEGER)"))
        c.execute(sa.text("INSERT INTO keepme VALUES (7)"))
    with pytest.raises(CopyError, match="keepme"):
        copy_database(src, other, progress=False, echo=lambda m: None)
    # --force replaces the copied tables and leaves the others alone
    copy_database(src, other, force=True, progress=False, echo=lambda m: None)
    assert rows(other, "images") == rows(src, "images")
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT x FROM keepme")).scalar() == 7
    # forcing over a destination that already has the tables (and rows) gives the same result
    copy_database(src, dst, force=True, progress=False, echo=lambda m: None)
    assert rows(dst, "image_properties") == rows(src, "image_properties")
    eng.dispose()


def test_tables_subset_brings_fk_parents(tmp_path):
    src = "sqlite:///%s/src.db" % tmp_path
    make_source(src, parents=10, children_per=3)
    dst = dst_url(tmp_path)
    said = []
    counts = copy_database(src, dst, tables=["image_tags"], progress=False, echo=said.append)
    assert set(counts) == {"image_tags", "images"}
    assert any("images" in m and "foreign keys" in m for m in said)
    with pytest.raises(CopyError, match="no such table"):
        copy_database(src, dst_url(tmp_path, "x"), tables=["nope"], progress=False, echo=said.append)


def test_cli(tmp_path):
    src = "sqlite:///%s/src.db" % tmp_path
    make_source(src, parents=30, children_per=5)
    dst = dst_url(tmp_path)
    r = CliRunner().invoke(main, ["copy", src, dst, "--batch-size", "7"])
    assert r.exit_code == 0, r.output
    assert "row counts verified" in r.output
    assert rows(dst, "image_properties") == rows(src, "image_properties")
    r = CliRunner().invoke(main, ["copy", src, dst])
    assert r.exit_code == 1 and "--force" in r.output
    # replacing images would orphan the destination's image_properties (not named): refused up front,
    # on every engine (ROME would refuse the DROP half-way, sqlite would leave dangling rows)
    r = CliRunner().invoke(main, ["copy", src, dst, "--force", "--no-progress", "-t", "images,image_tags"])
    assert r.exit_code == 1 and "image_properties -> images" in r.output, r.output
    assert rows(dst, "image_properties") == rows(src, "image_properties")  # nothing was dropped
    r = CliRunner().invoke(main, ["copy", src, dst, "--force", "--no-progress",
                                  "-t", "images,image_tags", "-t", "image_properties"])
    assert r.exit_code == 0, r.output
    assert rows(dst, "images") == rows(src, "images")
    r = CliRunner().invoke(main, ["copy", "nosuchdialect://x", dst])
    assert r.exit_code == 1 and "cannot open" in r.output


def test_empty_source_is_an_error(tmp_path):
    sqlite3.connect(str(tmp_path / "empty.db")).close()
    with pytest.raises(CopyError, match="no tables"):
        copy_database("sqlite:///%s/empty.db" % tmp_path, dst_url(tmp_path), progress=False,
                      echo=lambda m: None)
