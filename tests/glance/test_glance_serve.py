"""`rome glance serve` driven by real clients: openstacksdk, the `glance` CLI (python-glanceclient) and
raw HTTP, then a restart that must find everything intact, then `rome copy` of the live database.

The database URL comes from ROME_GLANCE_URL (see glance_helpers.py): ROME's LMDB by default,
``ROME_GLANCE_URL='sqlite:///{dir}/glance.db'`` runs the same tests on sqlite for comparison.
The ``step_*`` functions run in order inside ``test_image_lifecycle``, on one server.
"""
import concurrent.futures
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time

import pytest

pytest.importorskip("glance.common.wsgi_app", reason="Glance is not installed (build the peers venv: "
                                     "bash ../shared/checks/peers-venv.sh)")

import openstack  # noqa: E402
import requests  # noqa: E402

from glance_helpers import GlanceServer, copy_dst_url, glance_url  # noqa: E402

pytestmark = [pytest.mark.glance, pytest.mark.filterwarnings("ignore")]

ADMIN = "root:admin:admin"
ALICE = "alice:proj-a:member"      # owns the images
BOB = "bob:proj-b:member"          # the project they are shared with
CAROL = "carol:proj-c:reader"      # sees only public ones

MB = 1024 * 1024


def sdk(server, token):
    return openstack.connect(auth_type="admin_token",
                             auth={"endpoint": server.url + "/v2", "token": token},
                             image_api_version="2")


def glance_cli(server, token, *args, check=True):
    exe = os.path.join(os.path.dirname(sys.executable), "glance")
    # stdin closed: glanceclient would otherwise upload whatever a non-tty stdin holds
    proc = subprocess.run([exe, "--os-image-url", server.url, "--os-auth-token", token] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                          preexec_fn=lambda: os.close(0))
    if check and proc.returncode != 0:
        raise AssertionError("glance %s failed (%d):\n%s\n%s"
                             % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def table_props(output):
    """A glanceclient property table -> {property: value} (wrapped values joined)."""
    props, last = {}, None
    for line in output.splitlines():
        m = re.match(r"^\|\s*(\S*)\s*\|\s*(.*?)\s*\|$", line)
        if not m or m.group(1) == "Property":
            continue
        key, value = m.groups()
        if key:
            props[key], last = value, key
        elif last:
            props[last] += value
    return props


def table_ids(output):
    return re.findall(r"^\|\s*([0-9a-f-]{36})\s*\|", output, re.M)


def http(server, method, path, token=None, **kw):
    headers = kw.pop("headers", {})
    if token:
        headers["X-Auth-Token"] = token
    return requests.request(method, server.url + path, headers=headers, timeout=60, **kw)


def digests(data):
    return hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


class State:
    """What the tests created, checked again after the restart."""
    images = {}  # id -> (md5, sha512, size)


# --- authentication -------------------------------------------------------------------------------

def test_token_auth(glance_server):
    assert http(glance_server, "GET", "/v2/images").status_code == 401
    for bad in ("nonsense", "a:b", "a:b:c:d", "a::member", ":p:admin"):
        assert http(glance_server, "GET", "/v2/images", bad).status_code == 401, bad
    assert http(glance_server, "GET", "/v2/images", ALICE).status_code == 200
    # client-sent identity headers are not trusted
    r = http(glance_server, "GET", "/v2/images",
             headers={"X-Identity-Status": "Confirmed", "X-Roles": "admin", "X-Project-Id": "x"})
    assert r.status_code == 401
    # the versions document needs no token (clients discover the API with it)
    assert http(glance_server, "GET", "/versions").status_code in (200, 300)


def test_roles_imply_reader(glance_server):
    """Glance's default policies check 'reader': a member (and an admin) must pass them."""
    for token in (ALICE, ADMIN, CAROL):
        assert http(glance_server, "GET", "/v2/images", token).status_code == 200, token
    # a reader may not create
    r = http(glance_server, "POST", "/v2/images", CAROL, json={"name": "x"})
    assert r.status_code == 403


# --- openstacksdk ---------------------------------------------------------------------------------

def step_sdk_create_upload_download(glance_server, tmp_path):
    conn = sdk(glance_server, ALICE)
    data = os.urandom(4 * MB + 123)
    md5, sha512 = digests(data)
    img = conn.image.create_image(name="sdk-4mb", disk_format="raw", container_format="bare",
                                  data=io.BytesIO(data), validate_checksum=False,
                                  visibility="private", tags=["sdk", "big"], os_distro="cirros")
    img = conn.image.get_image(img.id)
    assert img.status == "active"
    assert img.size == len(data)
    assert img.checksum == md5
    assert img.hash_algo == "sha512" and img.hash_value == sha512
    assert img.owner == "proj-a"
    out = io.BytesIO()
    conn.image.download_image(img, stream=True, output=out)
    assert hashlib.sha512(out.getvalue()).hexdigest() == sha512
    State.images[img.id] = (md5, sha512, len(data))
    # another project cannot see a private image
    assert [i.id for i in sdk(glance_server, BOB).image.images()] == []
    assert http(glance_server, "GET", "/v2/images/" + img.id, BOB).status_code == 404


def step_sdk_update_properties_and_tags(glance_server, tmp_path):
    conn = sdk(glance_server, ALICE)
    img = next(conn.image.images(name="sdk-4mb"))
    conn.image.update_image(img, min_ram=512, hw_disk_bus="virtio")
    conn.image.add_tag(img, "updated")
    img = conn.image.get_image(img.id)
    assert img.min_ram == 512
    assert http(glance_server, "GET", "/v2/images/" + img.id, ALICE).json()["hw_disk_bus"] == "virtio"
    assert set(img.tags) == {"sdk", "big", "updated"}
    conn.image.remove_tag(img, "big")
    assert set(conn.image.get_image(img.id).tags) == {"sdk", "updated"}


# --- the glance CLI -------------------------------------------------------------------------------

def step_cli_create_and_upload(glance_server, tmp_path):
    data = os.urandom(3 * MB)
    path = tmp_path / "disk.raw"
    path.write_bytes(data)
    out = glance_cli(glance_server, ALICE, "image-create", "--name", "cli-3mb", "--disk-format", "raw",
                     "--container-format", "bare", "--file", str(path), "--property", "flavour=cli",
                     "--visibility", "shared").stdout
    props = table_props(out)
    md5, sha512 = digests(data)
    assert props["status"] == "active"
    assert props["checksum"] == md5
    assert props["os_hash_value"] == sha512
    assert props["size"] == str(len(data))
    assert props["flavour"] == "cli"
    State.images[props["id"]] = (md5, sha512, len(data))
    dl = tmp_path / "back.raw"
    glance_cli(glance_server, ALICE, "image-download", "--file", str(dl), props["id"])
    assert hashlib.sha512(dl.read_bytes()).hexdigest() == sha512


def step_cli_list_filters_and_pagination(glance_server, tmp_path):
    made = []
    for i in range(7):
        props = table_props(glance_cli(
            glance_server, ALICE, "image-create", "--name", "page-%02d" % i, "--disk-format", "qcow2",
            "--container-format", "bare", "--property", "batch=paging",
            "--property", "parity=%s" % ("even" if i % 2 == 0 else "odd")).stdout)
        assert props["status"] == "queued"
        made.append(props["id"])
    # property filter
    even = table_ids(glance_cli(glance_server, ALICE, "image-list", "--property-filter", "parity=even").stdout)
    assert sorted(even) == sorted(made[0::2])
    # field filters
    qcow = table_ids(glance_cli(glance_server, ALICE, "image-list", "--property-filter",
                                "disk_format=qcow2").stdout)
    assert sorted(qcow) == sorted(made)
    by_checksum = table_ids(glance_cli(glance_server, ALICE, "image-list", "--checksum",
                                       next(v[0] for v in State.images.values() if v[2] == 3 * MB)).stdout)
    assert len(by_checksum) == 1
    queued = table_ids(glance_cli(glance_server, ALICE, "image-list", "--property-filter", "status=queued",
                                  "--property-filter", "batch=paging").stdout)
    assert sorted(queued) == sorted(made)
    tagged = table_ids(glance_cli(glance_server, ALICE, "image-list", "--tag", "sdk").stdout)
    assert len(tagged) == 1
    # the CLI follows the next links, page by page
    paged = table_ids(glance_cli(glance_server, ALICE, "image-list", "--page-size", "2", "--sort-key",
                                 "name", "--sort-dir", "asc", "--property-filter", "batch=paging").stdout)
    assert paged == made  # names page-00..06 sorted ascending
    # raw HTTP: limit + marker via the 'next' links
    seen, path, pages = [], "/v2/images?limit=3&sort_key=name&sort_dir=desc&batch=paging", 0
    while path:
        body = http(glance_server, "GET", path, ALICE).json()
        assert len(body["images"]) <= 3
        seen += [i["id"] for i in body["images"]]
        path, pages = body.get("next"), pages + 1
    assert seen == list(reversed(made)) and pages == 3
    # openstacksdk paginates too
    conn = sdk(glance_server, ALICE)
    names = [i.name for i in conn.image.images(limit=2, sort_key="name", sort_dir="asc")]
    assert names == sorted(names) and len(names) == len(set(names)) >= 9
    assert [n for n in names if n.startswith("page-")] == ["page-%02d" % i for i in range(7)]
    # clean up the queued ones but one
    for image_id in made[1:]:
        glance_cli(glance_server, ALICE, "image-delete", image_id)
    left = table_ids(glance_cli(glance_server, ALICE, "image-list", "--property-filter", "batch=paging").stdout)
    assert left == made[:1]


# --- sharing --------------------------------------------------------------------------------------

def step_share_with_another_project(glance_server, tmp_path):
    image_id = next(i for i, v in State.images.items() if v[2] == 3 * MB)  # the CLI's shared image
    md5, sha512, _ = State.images[image_id]
    out = glance_cli(glance_server, ALICE, "member-create", image_id, "proj-b").stdout
    assert "pending" in out
    # pending: Bob can fetch it by id, but it is not in his list
    assert http(glance_server, "GET", "/v2/images/" + image_id, BOB).status_code == 200
    assert image_id not in table_ids(glance_cli(glance_server, BOB, "image-list").stdout)
    glance_cli(glance_server, BOB, "member-update", image_id, "proj-b", "accepted")
    assert image_id in table_ids(glance_cli(glance_server, BOB, "image-list").stdout)
    members = glance_cli(glance_server, ALICE, "member-list", "--image-id", image_id).stdout
    assert "proj-b" in members and "accepted" in members
    # Bob downloads it; Carol's project is not a member
    dl = tmp_path / "bob.raw"
    glance_cli(glance_server, BOB, "image-download", "--file", str(dl), image_id)
    assert hashlib.md5(dl.read_bytes()).hexdigest() == md5
    assert http(glance_server, "GET", "/v2/images/" + image_id, CAROL).status_code == 404
    # Bob may not change it
    r = http(glance_server, "PATCH", "/v2/images/" + image_id, BOB,
             headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
             json=[{"op": "replace", "path": "/name", "value": "mine"}])
    assert r.status_code == 403


# --- deactivation and deletion --------------------------------------------------------------------

def step_deactivate_and_reactivate(glance_server, tmp_path):
    image_id = next(i for i, v in State.images.items() if v[2] == 3 * MB)
    glance_cli(glance_server, ADMIN, "image-deactivate", image_id)
    assert http(glance_server, "GET", "/v2/images/" + image_id, ALICE).json()["status"] == "deactivated"
    assert http(glance_server, "GET", "/v2/images/%s/file" % image_id, BOB).status_code == 403
    assert http(glance_server, "GET", "/v2/images/%s/file" % image_id, ALICE).status_code == 403
    glance_cli(glance_server, ADMIN, "image-reactivate", image_id)
    r = http(glance_server, "GET", "/v2/images/%s/file" % image_id, BOB)
    assert r.status_code == 200 and hashlib.md5(r.content).hexdigest() == State.images[image_id][0]


def step_protected_and_delete(glance_server, tmp_path):
    conn = sdk(glance_server, ALICE)
    data = os.urandom(MB)
    img = conn.image.create_image(name="doomed", disk_format="raw", container_format="bare",
                                  data=io.BytesIO(data), validate_checksum=False, is_protected=True)
    img = conn.image.get_image(img.id)
    assert img.status == "active" and img.is_protected
    files = os.listdir(os.path.join(glance_server.data_dir, "images"))
    assert img.id in files
    assert http(glance_server, "DELETE", "/v2/images/" + img.id, ALICE).status_code == 403
    conn.image.update_image(img, is_protected=False)
    glance_cli(glance_server, ALICE, "image-delete", img.id)
    assert http(glance_server, "GET", "/v2/images/" + img.id, ALICE).status_code == 404
    assert img.id not in os.listdir(os.path.join(glance_server.data_dir, "images"))


def test_bad_input_is_rejected(glance_server):
    r = http(glance_server, "POST", "/v2/images", ALICE, json={"name": "x", "disk_format": "nope"})
    assert r.status_code == 400
    r = http(glance_server, "GET", "/v2/images/not-a-uuid", ALICE)
    assert r.status_code == 404
    r = http(glance_server, "POST", "/v2/images", ALICE, data="{not json",
             headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_long_non_ascii_tags(glance_server):
    """Tags of Glance's longest (255 characters) in scripts of 2 and 3 UTF-8 bytes per character:
    their image_tags index entries are far over LMDB's 511-byte key limit. (Sent in JSON bodies: a
    non-ASCII tag in the URL path reaches Glance's router as Latin-1, on any database.)"""
    tags = ["é" * 255, "東" * 255, "東" * 254 + "a", "東" * 254 + "b", "é" * 200 + "x" * 55]
    r = http(glance_server, "POST", "/v2/images", ALICE, json={"name": "tagged", "disk_format": "raw",
                                                               "container_format": "bare", "tags": tags[:2]})
    assert r.status_code == 201, r.text
    image = r.json()["id"]
    patch = {"headers": {"Content-Type": "application/openstack-images-v2.1-json-patch"}}
    r = http(glance_server, "PATCH", "/v2/images/" + image, ALICE,
             data=json.dumps([{"op": "replace", "path": "/tags", "value": tags}]), **patch)
    assert r.status_code == 200, r.text
    got = http(glance_server, "GET", "/v2/images/" + image, ALICE).json()["tags"]
    assert sorted(got) == sorted(tags)
    for tag in tags:
        found = http(glance_server, "GET", "/v2/images", ALICE, params={"tag": tag}).json()["images"]
        assert [i["id"] for i in found] == [image]
    r = http(glance_server, "PATCH", "/v2/images/" + image, ALICE,
             data=json.dumps([{"op": "replace", "path": "/tags", "value": tags[:1] + tags[2:]}]), **patch)
    assert r.status_code == 200, r.text
    got = http(glance_server, "GET", "/v2/images/" + image, ALICE).json()["tags"]
    assert sorted(got) == sorted(tags[:1] + tags[2:])
    assert http(glance_server, "GET", "/v2/images", ALICE, params={"tag": tags[1]}).json()["images"] == []
    assert http(glance_server, "DELETE", "/v2/images/" + image, ALICE).status_code == 204


def test_text_that_is_not_unicode_is_refused(glance_server):
    """A lone UTF-16 surrogate in a property: 400 and nothing stored; every listing keeps working."""
    r = http(glance_server, "POST", "/v2/images", ALICE, json={"name": "innocent", "x_note": "\ud800"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    r = http(glance_server, "POST", "/v2/images", ALICE, json={"name": "fine", "x_note": "ok \u00e9 \u2603"})
    assert r.status_code == 201
    image_id = r.json()["id"]
    r = http(glance_server, "PATCH", "/v2/images/" + image_id, ALICE,
             data='[{"op": "add", "path": "/x_other", "value": "\\udfff"}]',
             headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    for token in (ALICE, ADMIN):
        r = http(glance_server, "GET", "/v2/images", token)
        assert r.status_code == 200
        names = [i["name"] for i in r.json()["images"]]
        assert "innocent" not in names and "fine" in names
    img = http(glance_server, "GET", "/v2/images/" + image_id, ALICE).json()
    assert img["x_note"] == "ok \u00e9 \u2603" and "x_other" not in img


# --- restart --------------------------------------------------------------------------------------

def _snapshot(server):
    conn = sdk(server, ADMIN)
    return {i.id: (i.name, i.status, i.checksum, i.size, i.visibility, i.owner, tuple(sorted(i.tags)))
            for i in conn.image.images()}


def step_restart_keeps_everything(glance_server, tmp_path):
    before = _snapshot(glance_server)
    assert len(before) >= 3
    members_before = http(glance_server, "GET", "/v2/images/%s/members" % next(
        i for i, v in State.images.items() if v[2] == 3 * MB), ALICE).json()
    glance_server.restart()
    assert _snapshot(glance_server) == before
    image_id = next(i for i, v in State.images.items() if v[2] == 3 * MB)
    assert http(glance_server, "GET", "/v2/images/%s/members" % image_id, ALICE).json() == members_before
    for image_id, (md5, sha512, size) in State.images.items():
        r = http(glance_server, "GET", "/v2/images/%s/file" % image_id, ALICE)
        assert r.status_code == 200
        assert len(r.content) == size and hashlib.sha512(r.content).hexdigest() == sha512
    # and it still writes
    r = http(glance_server, "POST", "/v2/images", ALICE, json={"name": "after-restart"})
    assert r.status_code == 201


# --- rome copy of the live database, then served from the copy ------------------------------------

def step_copy_database_then_serve_the_copy(glance_server, tmp_path):
    from rome.cli.copy import copy_database
    src = glance_server.connection or glance_url(os.path.dirname(glance_server.data_dir))
    dst = copy_dst_url(tmp_path, src)
    counts = copy_database(src, dst, progress=False, echo=lambda m: None)
    assert counts["images"] >= 3 and counts["alembic_version"] == 1
    before = _snapshot(glance_server)
    copy_srv = GlanceServer(tmp_path / "data", connection=dst)
    copy_srv.start()  # finds the schema at head: no migration runs
    try:
        assert "up to date" in copy_srv.log_tail(200)
        assert _snapshot(copy_srv) == before
        image_id = next(i for i, v in State.images.items() if v[2] == 3 * MB)
        # the image files stay where the locations say (the first server's folder)
        r = http(copy_srv, "GET", "/v2/images/%s/file" % image_id, BOB)
        assert r.status_code == 200 and hashlib.md5(r.content).hexdigest() == State.images[image_id][0]
        # the first writes on the copy: properties and tags get keys above the copied ones
        for n in range(3):
            r = http(copy_srv, "POST", "/v2/images", ALICE, json={"name": "after-copy-%d" % n, "x_prop": "v"})
            assert r.status_code == 201, (r.status_code, r.text[:300])
            assert r.json()["x_prop"] == "v"
    finally:
        copy_srv.stop()


# --- the scenario, in order, on one server ---------------------------------------------------------

def test_image_lifecycle(glance_server, tmp_path):
    """create/upload (sdk, CLI), update, list/filter/paginate, share, deactivate, protect/delete, restart,
    then `rome copy` of the live database served by a second server. One test, since each step builds on
    the previous ones (and pytest-xdist may spread separate tests over processes)."""
    State.images = {}
    for step in (step_sdk_create_upload_download,
                 step_sdk_update_properties_and_tags,
                 step_cli_create_and_upload,
                 step_cli_list_filters_and_pagination,
                 step_share_with_another_project,
                 step_deactivate_and_reactivate,
                 step_protected_and_delete,
                 step_restart_keeps_everything,
                 step_copy_database_then_serve_the_copy):
        sub = tmp_path / step.__name__
        sub.mkdir()
        t0 = time.perf_counter()
        step(glance_server, sub)
        print("%-45s %6.1f s" % (step.__name__, time.perf_counter() - t0))


# --- several workers ------------------------------------------------------------------------------

def test_two_workers_concurrent_writes(tmp_path):
    url = glance_url(tmp_path)
    if url.startswith("sqlite"):
        pytest.skip("on sqlite concurrent writes fail with 'database is locked' (issue 3): "
                    "this test is for ROME")
    srv = GlanceServer(tmp_path / "data", connection=url, workers=2)
    srv.start()
    try:
        def create_and_patch(i):
            r = http(srv, "POST", "/v2/images", ALICE, json={"name": "c-%d" % i, "disk_format": "raw",
                                                              "container_format": "bare"})
            assert r.status_code == 201, r.text
            image_id = r.json()["id"]
            r = http(srv, "PATCH", "/v2/images/" + image_id, ALICE,
                     headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
                     json=[{"op": "add", "path": "/k%d" % i, "value": "v"}])
            assert r.status_code == 200, r.text
            return image_id

        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            ids = list(ex.map(create_and_patch, range(40)))
        listed = []
        path = "/v2/images?limit=25"
        while path:
            body = http(srv, "GET", path, ALICE).json()
            listed += [i["id"] for i in body["images"]]
            path = body.get("next")
        assert sorted(listed) == sorted(ids)
    finally:
        srv.stop()


def test_two_workers_serve_the_same_data(tmp_path):
    """Sequential requests spread over two workers see one database (any URL, sqlite included)."""
    srv = GlanceServer(tmp_path / "data", connection=glance_url(tmp_path), workers=2)
    srv.start()
    try:
        ids = []
        for i in range(10):
            r = http(srv, "POST", "/v2/images", ALICE, json={"name": "w-%d" % i})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for _ in range(3):  # new connections: the requests land on either worker
            got = [i["id"] for i in http(srv, "GET", "/v2/images?limit=100", ALICE,
                                         headers={"Connection": "close"}).json()["images"]]
            assert sorted(got) == sorted(ids)
    finally:
        srv.stop()


# --- keystone mode --------------------------------------------------------------------------------

def test_keystone_mode_uses_keystonemiddleware(tmp_path):
    ks = tmp_path / "keystone.conf"
    ks.write_text("[keystone_authtoken]\nwww_authenticate_uri = http://127.0.0.1:9/identity\n"
                  "auth_url = http://127.0.0.1:9/identity\nauth_type = password\nusername = glance\n"
                  "password = x\nproject_name = service\nhttp_connect_timeout = 1\n")
    srv = GlanceServer(tmp_path / "data", connection=glance_url(tmp_path),
                       extra_args=["--auth", "keystone", "--glance-config", str(ks)])
    srv.start()
    try:
        paste = open(os.path.join(srv.data_dir, "etc", "glance-api.conf")).read()
        assert "flavor = keystone" in paste
        r = http(srv, "GET", "/v2/images")
        assert r.status_code == 401
        assert "Keystone uri=" in r.headers.get("WWW-Authenticate", "")  # keystonemiddleware's answer
        # our token form means nothing to Keystone
        assert http(srv, "GET", "/v2/images", ALICE).status_code in (401, 503)
    finally:
        srv.stop()


# --- two servers on one Redis ---------------------------------------------------------------------

def test_two_servers_on_one_redis(tmp_path, redis_server):
    """Two `rome glance serve` processes on one rome+redis database serve the same images, for several
    projects: what one server does, the other shows (create, share, accept, update, delete)."""
    url = redis_server.url(prefix="glance-two-%d" % os.getpid())
    one = GlanceServer(tmp_path / "one", connection=url)
    two = GlanceServer(tmp_path / "two", connection=url)
    one.start()
    two.start()   # the schema is there already: its migrations find nothing to do
    try:
        r = http(one, "POST", "/v2/images", ALICE, json={"name": "shared-one", "disk_format": "raw",
                                                         "container_format": "bare", "visibility": "shared"})
        assert r.status_code == 201, r.text
        image_id = r.json()["id"]
        assert [i["id"] for i in http(two, "GET", "/v2/images", ALICE).json()["images"]] == [image_id]
        assert http(two, "GET", "/v2/images", BOB).json()["images"] == []       # not a member yet
        r = http(two, "POST", "/v2/images/%s/members" % image_id, ALICE, json={"member": "proj-b"})
        assert r.status_code == 200, r.text
        r = http(one, "PUT", "/v2/images/%s/members/proj-b" % image_id, BOB, json={"status": "accepted"})
        assert r.status_code == 200, r.text
        assert [i["id"] for i in http(two, "GET", "/v2/images", BOB).json()["images"]] == [image_id]
        assert http(one, "GET", "/v2/images", CAROL).json()["images"] == []     # another project
        r = http(two, "PATCH", "/v2/images/" + image_id, ALICE,
                 headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
                 json=[{"op": "replace", "path": "/name", "value": "renamed"},
                       {"op": "add", "path": "/site", "value": "two"}])
        assert r.status_code == 200, r.text
        got = http(one, "GET", "/v2/images/" + image_id, BOB).json()
        assert got["name"] == "renamed" and got["site"] == "two"
        assert http(one, "DELETE", "/v2/images/" + image_id, BOB).status_code == 403   # not the owner
        assert http(one, "DELETE", "/v2/images/" + image_id, ALICE).status_code == 204
        assert http(two, "GET", "/v2/images/" + image_id, ALICE).status_code == 404
        assert http(two, "GET", "/v2/images", BOB).json()["images"] == []
    finally:
        one.stop()
        two.stop()
