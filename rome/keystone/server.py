"""``rome keystone serve``: Keystone's own WSGI application under gunicorn, its database on ROME.

Start-up, in the master process (which never opens the database itself: keystone-manage runs in child
processes, and each gunicorn worker builds Keystone after the fork):

1. lay out DIR and write DIR/etc/keystone.conf (:mod:`rome.keystone.config`);
2. ``keystone-manage db_sync`` (creates or upgrades the schema; idempotent);
3. at first start, ``keystone-manage fernet_setup`` and ``credential_setup`` (keys in DIR), and
   ``keystone-manage bootstrap``: the admin user, project and role, the identity service and its
   endpoint. The admin password comes from ``OS_BOOTSTRAP_PASSWORD`` or is generated; it goes to
   DIR/clouds.yaml (0600) and to keystone-manage through its environment, never to the command line
   or the output;
4. gunicorn; each worker loads ``keystone.server.wsgi.initialize_public_application()`` (what
   ``keystone.wsgi.api:application`` is) with ``OS_KEYSTONE_CONFIG_DIR`` = DIR/etc.
"""
import os
import secrets
import subprocess
import sys

from rome.dialect.urls import safe_url
from rome.keystone.config import ADMIN_PROJECT, ADMIN_USER, REGION, render_clouds_yaml, write_config
from rome.serving import bind_address, gunicorn_app, write_private

_MANAGE = "import sys; from keystone.cmd.manage import main; sys.exit(main())"


class KeystoneNotInstalled(RuntimeError):
    pass


def check_installed():
    missing = []
    for mod in ("keystone", "gunicorn"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise KeystoneNotInstalled("rome keystone serve needs %s: pip install 'rome[keystone]' "
                                   "(keystone==30.0.0, gunicorn)" % " and ".join(missing))


def manage(c, *args, env=None):
    """``keystone-manage --config-file DIR/etc/keystone.conf ARGS...`` in a child process."""
    cmd = [sys.executable, "-c", _MANAGE, "--config-file", c.conf_file] + list(args)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, **(env or {})))
    if proc.returncode != 0:
        raise RuntimeError("keystone-manage %s failed (exit %d):\n%s"
                           % (args[0], proc.returncode, proc.stdout))
    return proc.stdout


def _has_keys(path):
    return os.path.isdir(path) and any(name.isdigit() for name in os.listdir(path))


def first_start(c, echo):
    """Keys and bootstrap, each only if not done yet (an interrupted first start is finished)."""
    import grp
    import pwd
    owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
             "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
    dirs = c.key_dirs
    if not _has_keys(dirs["fernet_tokens"]) or not _has_keys(dirs["fernet_receipts"]):
        manage(c, "fernet_setup", *owner)
    if not _has_keys(dirs["credential"]):
        manage(c, "credential_setup", *owner)
    if os.path.exists(c.bootstrapped_marker):
        return
    password = os.environ.get("OS_BOOTSTRAP_PASSWORD") or secrets.token_urlsafe(24)
    # the credentials are kept before Keystone learns them: a crash in between loses nothing
    write_private(c.clouds_yaml, render_clouds_yaml(c, password))
    manage(c, "bootstrap", "--bootstrap-username", ADMIN_USER, "--bootstrap-project-name", ADMIN_PROJECT,
           "--bootstrap-role-name", "admin", "--bootstrap-region-id", REGION,
           # one URL for the three interfaces (keystonemiddleware looks for the internal one)
           "--bootstrap-public-url", c.public_url, "--bootstrap-internal-url", c.public_url,
           "--bootstrap-admin-url", c.public_url,
           env={"OS_BOOTSTRAP_PASSWORD": password})
    write_private(c.bootstrapped_marker, "keystone-manage bootstrap done\n")
    echo("rome keystone serve: bootstrapped; admin credentials in %s (mode 600; cloud 'rome-keystone')"
         % c.clouds_yaml)


def _load_app(conf_dir):
    """Build Keystone's WSGI app (in each worker, after the fork)."""
    os.environ["OS_KEYSTONE_CONFIG_DIR"] = conf_dir
    from keystone.server import wsgi
    return wsgi.initialize_public_application()


def gunicorn_options(c):
    return {"bind": bind_address(c.host, c.port), "workers": c.workers, "worker_class": "gthread",
            "threads": c.threads, "timeout": 120, "graceful_timeout": 20, "keepalive": 5,
            "preload_app": False, "proc_name": "rome-keystone",
            "accesslog": "-" if c.access_log else None, "errorlog": "-",
            "loglevel": "debug" if c.debug else "info"}


def serve(c, echo=print):
    """Prepare DIR, migrate, bootstrap at first start, and serve until stopped (SIGTERM/SIGINT)."""
    check_installed()
    os.umask(0o077)  # key files, logs and LMDB files of this server: owner only
    write_config(c)
    echo("rome keystone serve: data in %s, database %s" % (c.data_dir, safe_url(c.connection)))
    manage(c, "db_sync")
    first_start(c, echo)
    echo("rome keystone serve: Keystone identity API v3 on %s/v3 (%d worker%s)"
         % (c.public_url, c.workers, "s" if c.workers != 1 else ""))
    os.environ["OS_KEYSTONE_CONFIG_DIR"] = c.etc_dir
    app = gunicorn_app(gunicorn_options(c), lambda: _load_app(c.etc_dir))
    sys.argv = sys.argv[:1]  # gunicorn's BaseApplication must not parse our command line
    app.run()
