"""Unit tests of `rome glance serve`'s pieces that need no server: the token filter and the generated
configuration (parsed by oslo.config, as Glance parses it)."""
import pytest

from rome.glance import auth
from rome.glance.config import PASTE_INI, ServeConfig, default_connection, render_api_conf, write_config


def test_parse_token():
    assert auth.parse_token("alice:demo:member") == ("alice", "demo", ["member", "reader"])
    assert auth.parse_token("root:admin:Admin,observer") == ("root", "admin",
                                                            ["admin", "observer", "member", "reader"])
    assert auth.parse_token("u%3Ap%3Areader") == ("u", "p", ["reader"])  # glanceclient's encoding
    for bad in (None, "", "x", "a:b", "a:b:c:d", ":b:c", "a::c", "a:b:", "a:b: ", "a b:c:d", "a:b:,"):
        assert auth.parse_token(bad) is None, bad


def _call(app, headers):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v2/images"}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    seen, status = {}, []

    def inner(env, start_response):
        seen.update(env)
        start_response("200 OK", [])
        return [b"ok"]

    body = app(inner)(environ, lambda s, h: status.append(s))
    return status[0], b"".join(body), seen


def test_middleware_sets_identity_and_drops_forged_headers():
    app = auth.filter_factory({})
    status, _, env = _call(app, {"X-Auth-Token": "alice:demo:admin", "X-Roles": "forged",
                                 "X-Service-Roles": "service", "X-Is-Admin-Project": "False",
                                 "X-Tenant-Id": "evil", "X-User": "mallory"})
    assert status == "200 OK"
    assert env["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert env["HTTP_X_USER_ID"] == "alice" and env["HTTP_X_PROJECT_ID"] == "demo"
    assert env["HTTP_X_ROLES"] == "admin,member,reader"
    for forged in ("HTTP_X_SERVICE_ROLES", "HTTP_X_IS_ADMIN_PROJECT", "HTTP_X_TENANT_ID", "HTTP_X_USER"):
        assert forged not in env


def test_middleware_rejects_missing_or_malformed_tokens():
    app = auth.filter_factory({})
    for headers in ({}, {"X-Auth-Token": "gAAAAABkeystone-like"},
                    {"X-Identity-Status": "Confirmed", "X-User-Id": "u", "X-Roles": "admin"}):
        status, body, env = _call(app, headers)
        assert status.startswith("401"), headers
        assert b"USER:PROJECT:ROLE" in body
        assert env == {}  # never reached Glance


def test_layout_and_default_connection(tmp_path):
    c = ServeConfig(data_dir=str(tmp_path / "d"))
    assert c.connection == "rome+lmdb:///" + str(tmp_path / "d" / "rome")
    assert c.connection.startswith("rome+lmdb:////")  # absolute path: four slashes
    assert default_connection("rel") .endswith("/rel/rome")
    etc = write_config(c)
    for sub in ("etc", "images", "staging", "tasks"):
        assert (tmp_path / "d" / sub).is_dir()
    assert (tmp_path / "d" / "etc" / "glance-api-paste.ini").read_text().startswith("# Written by")
    assert etc == str(tmp_path / "d" / "etc")
    with pytest.raises(ValueError):
        ServeConfig(data_dir=str(tmp_path), auth="none")


def test_paste_flavours():
    assert "rometoken = cors http_proxy_to_wsgi versionnegotiation osprofiler rometoken context rootapp" \
        in PASTE_INI
    assert "[composite:glance-api-rometoken]" in PASTE_INI and "[composite:glance-api-keystone]" in PASTE_INI


def test_api_conf_parses_as_glance_reads_it(tmp_path):
    cfg = pytest.importorskip("oslo_config.cfg")
    extra = tmp_path / "extra.conf"
    extra.write_text("[DEFAULT]\ndebug = true\n[database]\nmax_pool_size = 7\n")
    c = ServeConfig(data_dir=str(tmp_path / "d"), connection="sqlite:////x/$weird.db",
                    extra_config_files=[str(extra)])
    write_config(c)
    conf = cfg.ConfigOpts()
    # enabled_import_methods as Glance 33 declares it: bounds=True wants the brackets
    methods = cfg.ListOpt("enabled_import_methods", item_type=cfg.types.String(
        choices=["glance-direct", "web-download", "copy-image", "glance-download"], quotes=True), bounds=True)
    conf.register_opts([methods, cfg.DictOpt("enabled_backends"),
                        cfg.BoolOpt("debug"), cfg.BoolOpt("use_stderr")])
    conf.register_opts([cfg.StrOpt("connection"), cfg.IntOpt("max_pool_size")], group="database")
    conf.register_opts([cfg.StrOpt("flavor"), cfg.StrOpt("config_file")], group="paste_deploy")
    conf.register_opts([cfg.StrOpt("filesystem_store_datadir")], group="fs")
    conf([], default_config_files=[c.api_conf])
    assert conf.enabled_import_methods == ["glance-direct", "web-download", "copy-image"]
    assert conf.enabled_backends == {"fs": "file"}
    assert conf.database.connection == "sqlite:////x/$weird.db"  # '$' escaped for oslo.config
    assert conf.database.max_pool_size == 7
    assert conf.debug is True  # the appended file overrides the generated value
    assert conf.paste_deploy.flavor == "rometoken"
    assert conf.paste_deploy.config_file == c.paste_ini
    assert conf.fs.filesystem_store_datadir == c.images_dir
    assert "debug = false" in render_api_conf(ServeConfig(data_dir=str(tmp_path / "e")))
