"""`glance-manage db ...` (Glance 33's own command, unmodified) on ROME behaves as on sqlite.

One scenario runs on ROME (ROME_GLANCE_URL, LMDB by default) and on a sqlite file side by side, and
everything it prints and leaves behind is compared:

1. ``db version`` on an empty database; ``db upgrade --version mitaka02`` (Glance's Mitaka schema);
2. rows written as a Mitaka Glance wrote them (``is_public``, members, properties, tags, locations);
3. ``db upgrade --version ocata_expand01`` (adds ``visibility``), then the visibility filled in by SQL as
   Glance's Ocata data migration means to (that migration runs, but under SQLAlchemy 2 its
   ``engine.connect()`` block is never committed: on sqlite as on ROME, a pre-Ocata database holding
   images then fails the contract step with "NOT NULL constraint failed: _alembic_tmp_images.visibility";
   a Glance bug, the same on both);
4. ``db sync`` (expand, migrate, contract: batch-mode table rebuilds that drop ``is_public`` and its
   index and make ``visibility`` NOT NULL, with the rows copied), ``db version``, ``db upgrade``;
5. ``db check``, ``db expand``, ``db migrate``, ``db contract``: Glance itself refuses these on any engine
   but MySQL and SQLite (``DbCommands._validate_engine``: "Rolling upgrades are currently supported only
   for MySQL and Sqlite", exit status 1; PostgreSQL gets the same answer). ``db sync`` runs the same
   three phases without that check, so on ROME (as on PostgreSQL) the schema is upgraded with
   ``db sync`` / ``db upgrade``.
"""
import concurrent.futures
import datetime
import os
import subprocess
import sys

import pytest

pytest.importorskip("glance.cmd.manage", reason="Glance is not installed (build the peers venv: "
                                                "bash ../shared/checks/peers-venv.sh)")

import sqlalchemy as sa  # noqa: E402

from glance_helpers import glance_url  # noqa: E402

pytestmark = [pytest.mark.glance, pytest.mark.filterwarnings("ignore")]

_MANAGE = "import sys; from glance.cmd.manage import main; sys.exit(main())"
REFUSAL = "Rolling upgrades are currently supported only for MySQL and Sqlite"
HEAD = "2024_1_contract01"
T0 = datetime.datetime(2016, 3, 1, 12, 0, 0)


def manage(conf, *args):
    proc = subprocess.run([sys.executable, "-c", _MANAGE, "--config-file", conf] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    # stdout holds glance-manage's answers; stderr its log and sys.exit() messages: keep the latter
    said = [line for line in (proc.stdout + proc.stderr).splitlines()
            if line.strip() and " INFO " not in line and "Warning" not in line and "warn(" not in line
            and not line.startswith((" ", "\t")) and "ventlet" not in line and "framework" not in line
            and "If you are already" not in line and "we strongly recommend" not in line]
    return proc.returncode, said


def write_mitaka_rows(url):
    eng = sa.create_engine(url)
    with eng.begin() as c:
        for i, public in enumerate([True, False, False, True, False, False]):
            c.execute(sa.text(
                "INSERT INTO images (id, name, size, status, created_at, deleted, is_public, min_disk, "
                "min_ram, protected, checksum) VALUES (:id, :name, :size, 'active', :t, :deleted, :pub, "
                "0, 0, :prot, :ck)"),
                {"id": "img-%d" % i, "name": "n%d" % i, "size": 2 ** 33 + i, "t": T0, "pub": public,
                 "deleted": i == 5, "prot": i == 1, "ck": "%032x" % i})
        c.execute(sa.text("INSERT INTO image_members (image_id, member, can_share, status, created_at, "
                          "deleted) VALUES ('img-2', 'proj-x', 0, 'accepted', :t, 0)"), {"t": T0})
        for i in range(4):
            c.execute(sa.text("INSERT INTO image_properties (image_id, name, value, created_at, deleted) "
                              "VALUES (:id, 'os_distro', :v, :t, 0)"), {"id": "img-%d" % i, "v": "d%d" % i,
                                                                         "t": T0})
            c.execute(sa.text("INSERT INTO image_tags (image_id, value, created_at, deleted) "
                              "VALUES (:id, 'tag', :t, 0)"), {"id": "img-%d" % i, "t": T0})
        c.execute(sa.text("INSERT INTO image_locations (image_id, value, meta_data, status, created_at, "
                          "deleted) VALUES ('img-0', 'file:///x', '{}', 'active', :t, 0)"), {"t": T0})
    eng.dispose()


def fill_visibility(url):
    """What ocata_migrate01_community_images means to do (see the module's docstring)."""
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE images SET visibility = 'public' WHERE is_public = 1"))
        c.execute(sa.text("UPDATE images SET visibility = 'private' WHERE is_public = 0"))
        c.execute(sa.text("UPDATE images SET visibility = 'shared' WHERE visibility = 'private' AND id IN "
                          "(SELECT image_id FROM image_members WHERE deleted = 0)"))
    eng.dispose()


def state(url):
    """Rows and schema, engine-neutral (types by their generic class)."""
    eng = sa.create_engine(url)
    insp = sa.inspect(eng)
    out = {"tables": sorted(insp.get_table_names())}
    cols = insp.get_columns("images")
    out["images.columns"] = [(c["name"], c["nullable"]) for c in cols]
    out["images.indexes"] = sorted(i["name"] for i in insp.get_indexes("images"))
    out["visibility.default"] = [str(c["default"]).strip("'\"") for c in cols if c["name"] == "visibility"]
    with eng.connect() as c:
        for sql in ("SELECT id, name, size, status, created_at, deleted, visibility, protected, checksum "
                    "FROM images ORDER BY id",
                    "SELECT image_id, member, status FROM image_members ORDER BY id",
                    "SELECT image_id, name, value FROM image_properties ORDER BY id",
                    "SELECT image_id, value FROM image_tags ORDER BY id",
                    "SELECT image_id, value, meta_data FROM image_locations ORDER BY id",
                    "SELECT version_num FROM alembic_version"):
            out[sql] = [tuple(r) for r in c.execute(sa.text(sql))]
    eng.dispose()
    return out


def scenario(url, folder):
    os.makedirs(folder, exist_ok=True)
    conf = os.path.join(folder, "glance.conf")
    with open(conf, "w") as f:
        f.write("[database]\nconnection = %s\n" % url.replace("$", "$$"))
    said = {}
    said["version0"] = manage(conf, "db", "version")
    said["upgrade-mitaka"] = manage(conf, "db", "upgrade", "--version", "mitaka02")
    write_mitaka_rows(url)
    said["upgrade-ocata-expand"] = manage(conf, "db", "upgrade", "--version", "ocata_expand01")
    fill_visibility(url)
    said["check-before"] = manage(conf, "db", "check")
    said["sync"] = manage(conf, "db", "sync")
    said["version"] = manage(conf, "db", "version")
    said["upgrade"] = manage(conf, "db", "upgrade")
    for phase in ("check", "expand", "migrate", "contract"):
        said[phase] = manage(conf, "db", phase)
    return said, state(url)


def test_glance_manage_as_on_sqlite(tmp_path):
    rome_url = glance_url(tmp_path / "rome")
    if not rome_url.startswith("rome+"):
        pytest.skip("compares ROME with sqlite: ROME_GLANCE_URL names %s" % rome_url)
    sqlite_url = "sqlite:///%s" % (tmp_path / "sqlite" / "glance.db")
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        on_rome = ex.submit(scenario, rome_url, str(tmp_path / "rome"))
        on_sqlite = ex.submit(scenario, sqlite_url, str(tmp_path / "sqlite"))
        (rome_said, rome_state), (sqlite_said, sqlite_state) = on_rome.result(), on_sqlite.result()

    # what each command answered, on sqlite
    assert "not under migration control" in " ".join(sqlite_said["version0"][1])
    assert sqlite_said["upgrade-mitaka"] == (0, ["Upgraded database to: mitaka02, current revision(s): "
                                                 "mitaka02"])
    assert sqlite_said["check-before"][0] == 3  # "run db expand first"
    assert sqlite_said["sync"][0] == 0 and "Database is synced successfully." in sqlite_said["sync"][1]
    assert sqlite_said["version"] == (0, [HEAD])
    assert sqlite_said["upgrade"] == (0, ["Upgraded database, current revision(s): " + HEAD])
    assert sqlite_said["check"] == (0, ["Database is up to date. No upgrades needed."])
    for phase in ("expand", "migrate", "contract"):
        assert sqlite_said[phase] == (0, ["Database is up to date. No migrations needed."]), phase

    # ROME answers the same, except where Glance refuses any engine but MySQL and SQLite
    for step in sqlite_said:
        if step in ("check-before", "check", "expand", "migrate", "contract"):
            assert rome_said[step] == (1, [REFUSAL]), (step, rome_said[step])
        else:
            assert rome_said[step] == sqlite_said[step], (step, rome_said[step], sqlite_said[step])

    # and leaves the same rows and schema behind
    assert rome_state == sqlite_state
    images = rome_state["SELECT id, name, size, status, created_at, deleted, visibility, protected, checksum "
                        "FROM images ORDER BY id"]
    assert [r[6] for r in images] == ["public", "private", "shared", "public", "private", "private"]
    assert images[0][2] == 2 ** 33 and str(images[0][4]).startswith("2016-03-01 12:00:00")
    assert "is_public" not in [c for c, _ in rome_state["images.columns"]]
    assert ("visibility", False) in rome_state["images.columns"]
    assert rome_state["visibility.default"] == ["shared"]
    assert "ix_images_is_public" not in rome_state["images.indexes"]
