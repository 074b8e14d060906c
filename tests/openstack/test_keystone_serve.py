"""``rome keystone serve``, and Glance on ROME behind it: openstacksdk with a password.

Keystone's own WSGI application runs on ROME (LMDB by default, or Redis), bootstrapped at first start;
`rome glance serve --auth keystone` validates tokens against it (keystonemiddleware, a service user).
A user gets a token from Keystone with a password and uses Glance with it, exactly as against any
cloud: the image service is found in Keystone's catalog.
"""
import os
import secrets
import stat

import pytest

pytest.importorskip("keystone.server.wsgi", reason="Keystone is not installed (scripts/openstack_suites.sh)")
pytest.importorskip("glance.common.wsgi_app", reason="Glance is not installed")

import openstack  # noqa: E402
from openstack import exceptions as sdk_exc  # noqa: E402

from glance_helpers import GlanceServer  # noqa: E402

pytestmark = pytest.mark.glance


class KeystoneServer(GlanceServer):
    """`rome keystone serve` in its own process group (start, stop, logs: as GlanceServer)."""

    def command(self):
        return super().command()[:3] + ["keystone"] + super().command()[4:]

    def clouds_yaml(self):
        return os.path.join(self.data_dir, "clouds.yaml")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def connect(keystone, username, password, project):
    return openstack.connect(auth_url=keystone.url + "/v3", username=username, password=password,
                             project_name=project, user_domain_name="Default",
                             project_domain_name="Default", region_name="RegionOne",
                             identity_api_version="3")


def set_up_cloud(admin, glance_url):
    """What an operator does once: Glance's service user, the image endpoint, a project with a user."""
    service = admin.identity.create_project(name="service", domain_id="default")
    glance_password = secrets.token_urlsafe(16)
    glance = admin.identity.create_user(name="glance", password=glance_password, domain_id="default")
    roles = {r.name: r for r in admin.identity.roles()}
    admin.identity.assign_project_role_to_user(service, glance, roles["admin"])
    image = admin.identity.create_service(type="image", name="glance")
    admin.identity.create_endpoint(service_id=image.id, interface="public", url=glance_url,
                                   region_id="RegionOne")
    demo = admin.identity.create_project(name="demo", domain_id="default")
    alice_password = secrets.token_urlsafe(16)
    alice = admin.identity.create_user(name="alice", password=alice_password, domain_id="default")
    admin.identity.assign_project_role_to_user(demo, alice, roles["member"])
    return glance_password, alice_password, demo


def authtoken_config(path, keystone, glance_password):
    path.write_text("[keystone_authtoken]\nwww_authenticate_uri = {k}/v3\nauth_url = {k}/v3\n"
                    "auth_type = password\nusername = glance\npassword = {p}\nproject_name = service\n"
                    "user_domain_name = Default\nproject_domain_name = Default\n"
                    .format(k=keystone.url, p=glance_password))
    path.chmod(0o600)
    return str(path)


@pytest.fixture(params=["lmdb", "redis"])
def connections(request, tmp_path):
    """(keystone URL, glance URL): None for LMDB (the default of both commands), else Redis."""
    if request.param == "lmdb":
        return None, None
    server = request.getfixturevalue("redis_server")
    tag = os.urandom(3).hex()
    return server.url(prefix="ks-" + tag), server.url(prefix="glance-" + tag)


def test_password_token_from_keystone_on_rome_used_on_glance_on_rome(tmp_path, connections):
    ks_url, glance_db = connections
    keystone = KeystoneServer(tmp_path / "keystone", connection=ks_url)
    keystone.start()
    glance = None
    try:
        # the first start bootstrapped: the admin's credentials in a private clouds.yaml only
        assert mode(keystone.data_dir) == 0o700
        assert mode(keystone.clouds_yaml()) == 0o600
        assert mode(os.path.join(keystone.data_dir, "etc", "keystone.conf")) == 0o600
        config = openstack.config.OpenStackConfig(config_files=[keystone.clouds_yaml()])
        admin_password = config.get_one(cloud="rome-keystone").auth["password"]
        assert len(admin_password) >= 20
        admin = openstack.connection.Connection(config=config.get_one(cloud="rome-keystone"))
        assert admin.authorize()
        if ks_url is None:
            assert os.path.isfile(os.path.join(keystone.data_dir, "rome", "data.mdb"))

        glance = GlanceServer(tmp_path / "glance", connection=glance_db)
        glance_password, alice_password, demo = set_up_cloud(admin, glance.url)
        glance.extra_args = ["--auth", "keystone", "--glance-config",
                             authtoken_config(tmp_path / "authtoken.conf", keystone, glance_password)]
        glance.start()
        # a new token: its catalog has the image service now
        admin = openstack.connection.Connection(config=config.get_one(cloud="rome-keystone"))

        alice = connect(keystone, "alice", alice_password, "demo")
        data = os.urandom(4096)
        image = alice.image.create_image(name="cirros", data=data, disk_format="raw",
                                         container_format="bare")
        assert image.owner == demo.id
        assert [i.name for i in alice.image.images()] == ["cirros"]
        assert alice.image.download_image(image).content == data
        assert "cirros" in [i.name for i in admin.image.images()]

        # no token, or a wrong one: Glance refuses; a wrong password: Keystone refuses
        import requests
        assert requests.get(glance.url + "/v2/images", timeout=30).status_code == 401
        assert requests.get(glance.url + "/v2/images", headers={"X-Auth-Token": "gAAAAAnot-a-token"},
                            timeout=30).status_code == 401
        with pytest.raises(sdk_exc.SDKException, match="HTTP 401"):
            connect(keystone, "alice", "wrong-" + alice_password, "demo").authorize()

        # Keystone restarted: users, roles, catalog and keys survive; no second bootstrap
        keystone.restart()
        alice = connect(keystone, "alice", alice_password, "demo")
        assert [i.name for i in alice.image.images()] == ["cirros"]
        alice.image.delete_image(image)
        assert list(alice.image.images()) == []

        # the admin password never reached the output
        assert admin_password not in open(keystone.log_path).read()
        assert glance_password not in open(glance.log_path).read()
        assert open(keystone.log_path).read().count("bootstrapped") == 1
    finally:
        if glance is not None:
            glance.stop()
        keystone.stop()
