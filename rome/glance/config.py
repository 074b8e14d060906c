"""The configuration ``rome glance serve`` writes for Glance: ``DIR/etc/glance-api.conf`` and
``DIR/etc/glance-api-paste.ini``, regenerated at every start.

Glance 33's WSGI entry point (``glance.common.wsgi_app.init_app``) reads ``glance-api.conf`` from the
folder named by ``OS_GLANCE_CONFIG_DIR``; the paste file is Glance's shipped pipeline plus one flavour,
``rometoken``, whose token filter (:mod:`rome.glance.auth`) stands before Glance's ContextMiddleware
where keystonemiddleware's ``authtoken`` would be.
"""
import os
from dataclasses import dataclass, field

from rome.serving import default_section, ini_value, write_private

AUTH_TOKEN = "token"
AUTH_KEYSTONE = "keystone"

PASTE_INI = """\
# Written by `rome glance serve` at every start; edits are lost. Glance 33's glance-api-paste.ini plus
# the 'rometoken' flavour (X-Auth-Token: user:project:role[,role], no Keystone).
[composite:glance-api]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:glance-api-rometoken]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:glance-api-keystone]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:api]
paste.composite_factory = glance.api:pipeline_factory
default = cors http_proxy_to_wsgi versionnegotiation osprofiler unauthenticated-context rootapp
rometoken = cors http_proxy_to_wsgi versionnegotiation osprofiler rometoken context rootapp
keystone = cors http_proxy_to_wsgi versionnegotiation osprofiler authtoken context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory
backends = disable_by_file
disable_by_file_path = {healthcheck_disable}

[filter:rometoken]
paste.filter_factory = rome.glance.auth:filter_factory

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:unauthenticated-context]
paste.filter_factory = glance.api.middleware.context:UnauthenticatedContextMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
delay_auth_decision = true

[filter:osprofiler]
paste.filter_factory = osprofiler.web:WsgiMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = glance
oslo_config_program = glance-api

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"""


@dataclass
class ServeConfig:
    """Everything ``rome glance serve`` needs to lay out a data folder and configure Glance."""
    data_dir: str
    connection: str = None          # default: rome+lmdb:////<data_dir>/rome
    host: str = "127.0.0.1"
    port: int = 9292
    workers: int = 1
    threads: int = 8
    auth: str = AUTH_TOKEN
    extra_config_files: list = field(default_factory=list)  # appended to glance-api.conf
    debug: bool = False
    log_file: str = None
    access_log: bool = False
    insecure_token_auth: bool = False   # token auth on an address other machines can reach

    def __post_init__(self):
        self.data_dir = os.path.abspath(self.data_dir)
        if not self.connection:
            self.connection = default_connection(self.data_dir)
        if self.auth not in (AUTH_TOKEN, AUTH_KEYSTONE):
            raise ValueError("auth must be %r or %r" % (AUTH_TOKEN, AUTH_KEYSTONE))

    # the layout of DIR
    @property
    def etc_dir(self):
        return os.path.join(self.data_dir, "etc")

    @property
    def images_dir(self):
        return os.path.join(self.data_dir, "images")

    @property
    def staging_dir(self):
        return os.path.join(self.data_dir, "staging")

    @property
    def tasks_dir(self):
        return os.path.join(self.data_dir, "tasks")

    @property
    def api_conf(self):
        return os.path.join(self.etc_dir, "glance-api.conf")

    @property
    def paste_ini(self):
        return os.path.join(self.etc_dir, "glance-api-paste.ini")

    @property
    def flavor(self):
        return "rometoken" if self.auth == AUTH_TOKEN else "keystone"


def default_data_dir():
    """Where ``rome glance serve`` keeps its data unless told: ``$XDG_DATA_HOME/rome/glance``
    (``~/.local/share/rome/glance``), outside whatever folder it is started from."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "rome", "glance")


def default_connection(data_dir):
    """The embedded LMDB database of a data folder: ``rome+lmdb:////abs/DIR/rome``."""
    return "rome+lmdb:///" + os.path.join(os.path.abspath(data_dir), "rome")


def render_api_conf(c):
    lines = default_section([
        "# Written by `rome glance serve` at every start; edits are lost. Pass your own settings with",
        "# --glance-config FILE (appended below, so they override these).",
    ], c.debug, c.log_file)
    lines += [
        "enabled_backends = fs:file",
        # a ListOpt: oslo.config wants the brackets, or every POST fails at request time
        "enabled_import_methods = [glance-direct,web-download,copy-image]",
        "",
        "[database]",
        "connection = %s" % ini_value(c.connection),
        "",
        "[glance_store]",
        "default_backend = fs",
        "",
        "[fs]",
        "filesystem_store_datadir = %s" % ini_value(c.images_dir),
        "",
        "[os_glance_staging_store]",
        "filesystem_store_datadir = %s" % ini_value(c.staging_dir),
        "",
        "[os_glance_tasks_store]",
        "filesystem_store_datadir = %s" % ini_value(c.tasks_dir),
        "",
        "[paste_deploy]",
        "flavor = %s" % c.flavor,
        "config_file = %s" % ini_value(c.paste_ini),
        "",
        "[wsgi]",
        "task_pool_threads = %d" % max(4, c.threads),
        "",
    ]
    text = "\n".join(lines)
    for path in c.extra_config_files:
        with open(path) as f:
            text += "\n# --- from %s ---\n" % path + f.read() + "\n"
    return text


# Glance warns at every request that lists images when its config folder has no schema-image.json
# (custom image properties); this one declares none, which is what Glance assumes without the file.
SCHEMA_IMAGE = "{}\n"


def write_config(c):
    """Create DIR's folders and write Glance's configuration into DIR/etc (readable by the owner
    only: glance-api.conf holds the database URL and its password); returns DIR/etc."""
    try:
        for d in (c.data_dir, c.images_dir, c.staging_dir, c.tasks_dir):
            os.makedirs(d, exist_ok=True)
        os.makedirs(c.etc_dir, mode=0o700, exist_ok=True)
    except OSError as e:   # the command line turns RuntimeError into one line
        raise RuntimeError("cannot use the data folder %s: %s" % (c.data_dir, e.strerror or e)) from None
    os.chmod(c.etc_dir, 0o700)
    write_private(c.paste_ini,
                   PASTE_INI.format(healthcheck_disable=os.path.join(c.data_dir, "healthcheck_disable")))
    write_private(c.api_conf, render_api_conf(c))
    schema = os.path.join(c.etc_dir, "schema-image.json")
    if not os.path.exists(schema):   # kept if the operator wrote their own
        write_private(schema, SCHEMA_IMAGE)
    return c.etc_dir
