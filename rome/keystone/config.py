"""The data folder of ``rome keystone serve`` and the ``keystone.conf`` written into it.

Layout of DIR (created 0700; the configuration and the credentials 0600, as they hold secrets: the
database URL may carry a Redis password, clouds.yaml the admin password)::

    DIR/rome/              the database (embedded LMDB) unless --connection names another
    DIR/etc/keystone.conf  regenerated at every start
    DIR/fernet-keys/       token keys (keystone-manage fernet_setup at first start)
    DIR/receipt-keys/      receipt keys (for multi-factor auth rules)
    DIR/credential-keys/   keys encrypting stored credentials (keystone-manage credential_setup)
    DIR/clouds.yaml        the admin's credentials for openstacksdk / the openstack CLI
    DIR/etc/bootstrapped   written once keystone-manage bootstrap has succeeded
"""
import os
from dataclasses import dataclass

from rome.serving import default_section, ini_value, write_private

ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"
REGION = "RegionOne"


@dataclass
class KeystoneConfig:
    data_dir: str
    connection: str = None          # default: rome+lmdb:////<data_dir>/rome
    host: str = "127.0.0.1"
    port: int = 5000
    public_url: str = None          # default: http://HOST:PORT (the identity endpoint in the catalog)
    workers: int = 1
    threads: int = 8
    debug: bool = False
    log_file: str = None
    access_log: bool = False

    def __post_init__(self):
        self.data_dir = os.path.abspath(self.data_dir)
        if not self.connection:
            self.connection = "rome+lmdb:///" + os.path.join(self.data_dir, "rome")
        if not self.public_url:
            host = "[%s]" % self.host if ":" in self.host else self.host
            self.public_url = "http://%s:%d" % (host, self.port)

    def path(self, *parts):
        return os.path.join(self.data_dir, *parts)

    @property
    def etc_dir(self):
        return self.path("etc")

    @property
    def conf_file(self):
        return self.path("etc", "keystone.conf")

    @property
    def clouds_yaml(self):
        return self.path("clouds.yaml")

    @property
    def bootstrapped_marker(self):
        return self.path("etc", "bootstrapped")

    @property
    def key_dirs(self):
        return {"fernet_tokens": self.path("fernet-keys"), "fernet_receipts": self.path("receipt-keys"),
                "credential": self.path("credential-keys")}


def render_conf(c):
    lines = default_section(["# Written by `rome keystone serve` at every start; edits are lost."],
                            c.debug, c.log_file)
    lines += ["", "[database]", "connection = %s" % ini_value(c.connection), "",
              "[token]", "provider = fernet", ""]
    for section, path in c.key_dirs.items():
        lines += ["[%s]" % section, "key_repository = %s" % ini_value(path), ""]
    return "\n".join(lines)


def write_config(c):
    """Create DIR (0700) and DIR/etc, and write DIR/etc/keystone.conf (0600)."""
    for d in (c.data_dir, c.etc_dir):
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
    write_private(c.conf_file, render_conf(c))


def render_clouds_yaml(c, password, cloud="rome-keystone"):
    import json
    auth = {"auth_url": c.public_url + "/v3", "username": ADMIN_USER, "password": password,
            "project_name": ADMIN_PROJECT, "user_domain_name": "Default",
            "project_domain_name": "Default"}
    # JSON is YAML: every value quoted, whatever characters a password has
    return ("# Written by `rome keystone serve` at first start: the admin's credentials.\n"
            "clouds:\n  %s:\n    auth: %s\n    region_name: %s\n    identity_api_version: 3\n"
            % (json.dumps(cloud), json.dumps(auth), json.dumps(REGION)))
