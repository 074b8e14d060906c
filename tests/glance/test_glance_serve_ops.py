"""`rome glance serve` as an operator meets it: no password in its output or in world-readable files,
token auth refused on a reachable address, a quiet start, the data folder outside the current one, the
client example of its help that works, and a database whose `rome copy` was killed refused until the
copy is finished (then Glance serves every image with its tags and properties)."""
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys

import pytest

pytest.importorskip("glance.common.wsgi_app", reason="Glance is not installed (build the peers venv: "
                                                     "bash ../shared/checks/peers-venv.sh)")

import requests  # noqa: E402

import copy_kill  # noqa: E402
from glance_helpers import GlanceServer, free_port  # noqa: E402

pytestmark = [pytest.mark.glance]

PASSWORD = "S3cretPW-9f1c"
ADMIN = "root:admin:admin"
SERVE = [sys.executable, "-m", "rome.cli", "glance", "serve"]


def http(server, method, path, token=ADMIN, **kw):
    return requests.request(method, server.url + path, headers={"X-Auth-Token": token}, timeout=60, **kw)


def create_image(server, name, tags=(), **props):
    body = dict({"name": name, "disk_format": "raw", "container_format": "bare", "tags": list(tags)}, **props)
    r = http(server, "POST", "/v2/images", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture(scope="module")
def redis_glance(tmp_path_factory):
    """`rome glance serve` on a Redis that wants a password, given in the --connection URL."""
    from redis_server import BINARY, RedisServer
    if BINARY is None:
        pytest.skip("redis-server is not installed")
    d = tmp_path_factory.mktemp("glance-redis")
    redis = RedisServer(d / "redis", extra=["--requirepass", PASSWORD]).start()
    srv = GlanceServer(d / "data", connection="rome+redis://:%s@127.0.0.1:%d/0?prefix=g" % (PASSWORD, redis.port))
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        redis.stop()


def test_password_is_never_shown_or_world_readable(redis_glance):
    image = create_image(redis_glance, "with-password")
    assert http(redis_glance, "GET", "/v2/images/" + image).status_code == 200
    log = redis_glance.log()
    assert PASSWORD not in log
    assert "rome+redis://:***@127.0.0.1" in log
    etc = os.path.join(redis_glance.data_dir, "etc")
    assert stat.S_IMODE(os.stat(etc).st_mode) == 0o700
    for name in os.listdir(etc):
        assert stat.S_IMODE(os.stat(os.path.join(etc, name)).st_mode) == 0o600, name
    assert PASSWORD in open(os.path.join(etc, "glance-api.conf")).read()   # Glance needs it there


def test_start_up_is_quiet(redis_glance):
    assert http(redis_glance, "GET", "/v2/images").status_code == 200   # Glance reads its image schema
    log = redis_glance.log()
    for noise in ("Eventlet is deprecated", "DeprecationWarning", "UserWarning", "os_brick",
                  "schema-image.json", "Traceback", " ERROR "):
        assert noise not in log, noise


def test_help_openstacksdk_example_works(redis_glance):
    help_text = subprocess.run(SERVE + ["-h"], capture_output=True, text=True, timeout=60).stdout
    start = help_text.index("openstack.connect(")
    example = help_text[start:help_text.index("\n\n", start)]
    example = " ".join(example.split()).replace("http://127.0.0.1:9292", redis_glance.url)
    image = create_image(redis_glance, "listed")
    code = "import openstack; print(sorted(i.id for i in %s))" % example
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert image in r.stdout


def test_token_auth_on_a_reachable_address_is_refused(tmp_path):
    r = subprocess.run(SERVE + ["--host", "0.0.0.0", "--port", str(free_port()), "--data-dir",
                                str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "refusing token auth on 0.0.0.0" in r.stderr
    assert "--insecure-token-auth" in r.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("where", ["under_a_file", "in_proc"])
def test_unusable_data_dir_is_one_line(tmp_path, where):
    """A --data-dir that cannot be created is a one-line error naming it (it was a traceback)."""
    (tmp_path / "afile").write_text("x")
    data = tmp_path / "afile" / "data" if where == "under_a_file" else "/proc/rome-no-such-dir"
    r = subprocess.run(SERVE + ["--port", str(free_port()), "--data-dir", str(data)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "cannot use the data folder %s" % data in r.stderr, r.stderr


def test_insecure_token_auth_warns_loudly(tmp_path):
    # an address of TEST-NET-1, on no interface here: the warning comes, then the bind fails
    p = subprocess.Popen(SERVE + ["--host", "192.0.2.1", "--port", str(free_port()), "--insecure-token-auth",
                                  "--data-dir", str(tmp_path / "data")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        first = p.stdout.readline()
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        p.stdout.close()
    assert first.startswith("WARNING: INSECURE: token auth on 192.0.2.1")
    assert "ANY CALLER CAN CLAIM ANY USER AND THE ADMIN ROLE" in first


def test_data_dir_defaults_under_the_users_data_folder(tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_DATA_HOME"}
    env["HOME"] = str(home)
    srv = GlanceServer(None, env=env, log_dir=cwd)
    try:
        srv.start()
        create_image(srv, "in-the-default-folder")
    finally:
        srv.stop()
    data = home / ".local" / "share" / "rome" / "glance"
    assert (data / "rome" / "data.mdb").exists()
    assert "data in %s," % data in srv.log()
    assert os.listdir(cwd) == ["serve.log"]


BULK = 6000


def test_killed_copy_is_refused_by_glance_until_resumed(tmp_path):
    """Glance on sqlite, its database copied onto ROME by a `rome copy` killed half-way through
    image_properties: `rome glance serve` refuses it; after `rome copy --resume` every image comes
    back with its tags and properties, as the original server showed it."""
    src_file = tmp_path / "src.db"
    src = "sqlite:///%s" % src_file
    original = GlanceServer(tmp_path / "src-data", connection=src)
    original.start()
    try:
        ids = [create_image(original, "img%d" % i, tags=["t%d" % i, "common"], os_distro="d%d" % i,
                            x_note="n%d" % i) for i in range(6)]
        before = {i: http(original, "GET", "/v2/images/" + i).json() for i in ids}
    finally:
        original.stop()
    # more property rows, so that the copy can be caught in the middle of the table
    db = sqlite3.connect(str(src_file))
    db.executemany("INSERT INTO image_properties (image_id, name, value, created_at, deleted) "
                   "VALUES (?, ?, ?, '2024-01-01 00:00:00', 0)",
                   [(ids[n % len(ids)], "bulk_%05d" % n, "v%d" % n) for n in range(BULK)])
    db.commit()
    total = db.execute("SELECT count(*) FROM image_properties").fetchone()[0]
    db.close()
    original.start()   # the same server again, to know how Glance shows the bulk properties
    try:
        before = {i: http(original, "GET", "/v2/images/" + i).json() for i in ids}
    finally:
        original.stop()

    dst = "rome+lmdb:///%s" % (tmp_path / "moved")
    copy_kill.kill_mid_copy(src, dst, "image_properties", total)
    r = subprocess.run(SERVE + ["--data-dir", str(tmp_path / "moved-data"), "--port", str(free_port()),
                                "--connection", dst], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert re.match(r"Error: rome\+lmdb:///\S+ is an unfinished copy \(rome copy from sqlite:///\S+, started ",
                    last), r.stderr
    assert "--resume" in last and "Traceback" not in r.stderr

    r = subprocess.run([sys.executable, "-m", "rome.cli", "copy", src, dst, "--resume", "--no-progress"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    moved = GlanceServer(tmp_path / "moved-data", connection=dst)
    moved.start()
    try:
        after = {i: http(moved, "GET", "/v2/images/" + i).json() for i in ids}
    finally:
        moved.stop()
    for img in list(before.values()) + list(after.values()):
        img["tags"] = sorted(img["tags"])    # a set: its order is the engine's (sqlite: rowid order)
    assert after == before
    assert all(len(img["tags"]) == 2 and img["os_distro"] for img in after.values())
