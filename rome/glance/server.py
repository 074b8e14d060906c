"""``rome glance serve``: Glance's real v2 API (its paste pipeline and WSGI app) under gunicorn.

Start-up, in the master process:

1. lay out the data folder and write Glance's configuration (:mod:`rome.glance.config`);
2. create or upgrade the schema with Glance's own alembic migrations, exactly as
   ``glance-manage --config-file DIR/etc/glance-api.conf db sync`` does (it runs in a child process, so
   the master never opens the database: no store handle is inherited across gunicorn's fork);
3. run gunicorn; each worker, after the fork, builds the app with
   ``glance.common.wsgi_app.init_app()`` (what ``glance.wsgi.api:application`` does) with
   ``OS_GLANCE_CONFIG_DIR`` pointing at DIR/etc., behind :class:`rome.glance.unicode_guard.UnicodeGuard`.
"""
import logging
import os
import subprocess
import sys
import warnings

from rome.dialect.urls import safe_url, scrub
from rome.glance.config import AUTH_TOKEN, ServeConfig, write_config  # noqa: F401
from rome.serving import bind_address, gunicorn_app, is_loopback

LOG = logging.getLogger("rome.glance")

# What `glance-manage` runs, without depending on its console script being on PATH.
# rome.dialect registers ROME's dialects by import too: a source checkout works without installed entry points
_MANAGE = "import sys, rome.dialect; from glance.cmd.manage import main; sys.exit(main())"


class GlanceNotInstalled(RuntimeError):
    pass


def check_installed():
    """Raise GlanceNotInstalled (with the pip command to fix it) unless Glance and gunicorn import."""
    missing = []
    for mod in ("glance", "gunicorn"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise GlanceNotInstalled(
            "rome glance serve needs %s: pip install 'rome-sql[glance]' (glance==33.0.0, gunicorn)"
            % " and ".join(missing))


# Run in a child (the master never opens the database): the URL comes on stdin, not in the command
# line that `ps` shows; exit status 3 and the mark on stdout when the database is an unfinished copy.
_CHECK_COPY = ("import sys; from sqlalchemy import create_engine; "
               "from rome.dialect.unfinished_copy import read_mark; "
               "e = create_engine(sys.stdin.read()); m = read_mark(e); e.dispose(); "
               "m is None or print(m); sys.exit(0 if m is None else 3)")


class UnfinishedCopy(RuntimeError):
    pass


def _child_env(debug):
    env = dict(os.environ)
    if not debug:
        env["PYTHONWARNINGS"] = "ignore"   # Glance's dependencies' deprecation warnings, migrations'
    return env


def manage(conf_file, *args, check=True, debug=False, url=None):
    """Run ``glance-manage --config-file CONF ARGS...`` in a child process; returns its CompletedProcess
    (output scrubbed of the password of ``url``)."""
    cmd = [sys.executable, "-c", _MANAGE, "--config-file", conf_file] + list(args)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=_child_env(debug))
    if url:
        proc.stdout = scrub(proc.stdout, url)
    if check and proc.returncode != 0:
        raise RuntimeError("glance-manage %s failed (exit %d):\n%s"
                           % (" ".join(args), proc.returncode, proc.stdout))
    return proc


def check_not_unfinished_copy(c):
    """Refuse (UnfinishedCopy) a database that `rome copy` has not finished."""
    proc = subprocess.run([sys.executable, "-c", _CHECK_COPY], input=c.connection, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env(c.debug))
    if proc.returncode == 3:
        raise UnfinishedCopy("%s is an unfinished copy (%s): finish it with `rome copy --resume SRC DST`, "
                             "or start over with `rome copy --force SRC DST`"
                             % (safe_url(c.connection), proc.stdout.strip()))
    # any other failure to open the database is glance-manage's to report


def check_exposure(c):
    """Token auth lets any caller name any user: refuse it on a reachable address unless asked."""
    if c.auth != AUTH_TOKEN or is_loopback(c.host):
        return None
    if not c.insecure_token_auth:
        raise RuntimeError(
            "refusing token auth on %s: anyone who can reach it can claim any user and the admin role; "
            "use --auth keystone, listen on 127.0.0.1, or pass --insecure-token-auth" % c.host)
    return ("WARNING: INSECURE: token auth on %s, which other machines can reach: ANY CALLER CAN CLAIM "
            "ANY USER AND THE ADMIN ROLE. Use --auth keystone for a real deployment." % c.host)


def quiet_warnings():
    """Keep Glance's dependencies' deprecation warnings (eventlet, oslo) out of the operator's way."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


class _UnusedStoreDrivers(logging.Filter):
    """glance_store loads every store driver it knows of; cinder's needs os_brick. Its failure to load
    says nothing when no cinder store is configured."""

    def filter(self, record):
        return "os_brick" not in record.getMessage()


def _uses_cinder(c):
    texts = []
    for path in c.extra_config_files:
        with open(path) as f:
            texts.append(f.read())
    return "cinder" in "".join(texts).lower()


def db_sync(c):
    """Create or upgrade the schema as ``glance-manage db sync`` does; returns glance-manage's output."""
    out = manage(c.api_conf, "db", "sync", debug=c.debug, url=c.connection).stdout
    # glance-manage logs every revision at INFO; keep its own closing words
    summary = [line for line in out.splitlines() if "alembic.runtime.migration" not in line]
    return "\n".join(summary).strip()


def _load_app(conf_dir, hide_unused_drivers):
    """Build Glance's WSGI app (in each worker, after the fork)."""
    os.environ["OS_GLANCE_CONFIG_DIR"] = conf_dir
    import rome.dialect  # noqa: F401 (see _MANAGE)
    if hide_unused_drivers:
        logging.getLogger("stevedore.extension").addFilter(_UnusedStoreDrivers())
    from glance.common import wsgi_app

    from rome.glance.unicode_guard import UnicodeGuard
    return UnicodeGuard(wsgi_app.init_app())


def gunicorn_options(c):
    return {
        "bind": bind_address(c.host, c.port),
        "workers": c.workers,
        "worker_class": "gthread",
        "threads": c.threads,
        "timeout": 300,          # a worker stuck this long is restarted (uploads are streamed)
        "graceful_timeout": 20,
        "keepalive": 5,
        "preload_app": False,    # each worker builds Glance (and opens the database) itself
        "proc_name": "rome-glance",
        "accesslog": "-" if c.access_log else None,
        "errorlog": "-",
        "loglevel": "debug" if c.debug else "info",
    }


def serve(c, echo=print):
    """Prepare DIR, migrate the schema, and serve until stopped (SIGTERM/SIGINT)."""
    check_installed()
    warning = check_exposure(c)
    if warning:
        echo(warning)
    if not c.debug:
        quiet_warnings()
    conf_dir = write_config(c)
    echo("rome glance serve: data in %s, database %s" % (c.data_dir, safe_url(c.connection)))
    check_not_unfinished_copy(c)
    summary = db_sync(c)
    if summary:
        echo(summary)
    echo("rome glance serve: Glance v2 API on http://%s:%d/ (%d worker%s, auth: %s)"
         % (c.host, c.port, c.workers, "s" if c.workers != 1 else "",
            "X-Auth-Token user:project:role[,role]" if c.auth == "token" else "keystone"))
    if warning:
        echo(warning)
    os.environ["OS_GLANCE_CONFIG_DIR"] = conf_dir
    hide = not _uses_cinder(c)
    app = gunicorn_app(gunicorn_options(c), lambda: _load_app(conf_dir, hide))
    sys.argv = sys.argv[:1]  # gunicorn's BaseApplication must not parse our command line
    app.run()
