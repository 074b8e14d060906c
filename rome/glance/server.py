"""``rome glance serve``: Glance's real v2 API (its paste pipeline and WSGI app) under gunicorn.

Start-up, in the master process:

1. lay out the data folder and write Glance's configuration (:mod:`rome.glance.config`);
2. create or upgrade the schema with Glance's own alembic migrations, exactly as
   ``glance-manage --config-file DIR/etc/glance-api.conf db sync`` does (it runs in a child process, so
   the master never opens the database: no store handle is inherited across gunicorn's fork);
3. run gunicorn; each worker, after the fork, builds the app with
   ``glance.common.wsgi_app.init_app()`` (what ``glance.wsgi.api:application`` does) with
   ``OS_GLANCE_CONFIG_DIR`` pointing at DIR/etc.
"""
import logging
import os
import subprocess
import sys

from rome.glance.config import ServeConfig, write_config  # noqa: F401

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
            "rome glance serve needs %s: pip install 'rome[glance]' (glance==33.0.0, gunicorn)"
            % " and ".join(missing))


def manage(conf_file, *args, check=True):
    """Run ``glance-manage --config-file CONF ARGS...`` in a child process; returns its CompletedProcess."""
    cmd = [sys.executable, "-c", _MANAGE, "--config-file", conf_file] + list(args)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError("glance-manage %s failed (exit %d):\n%s"
                           % (" ".join(args), proc.returncode, proc.stdout))
    return proc


def db_sync(c):
    """Create or upgrade the schema as ``glance-manage db sync`` does; returns glance-manage's output."""
    out = manage(c.api_conf, "db", "sync").stdout
    # glance-manage logs every revision at INFO; keep its own closing words
    summary = [line for line in out.splitlines() if "alembic.runtime.migration" not in line]
    return "\n".join(summary).strip()


def _gunicorn_app_class():
    from gunicorn.app.base import BaseApplication

    class GlanceAPI(BaseApplication):
        def __init__(self, conf_dir, options):
            self.conf_dir = conf_dir
            self.options = options
            super().__init__()

        def load_config(self):
            for key, value in self.options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)
            # gunicorn >= 25.1 opens a control socket under $XDG_RUNTIME_DIR or $HOME by default:
            # one per server, clashing between servers of one user; we do not use it
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            # in each worker, after the fork
            os.environ["OS_GLANCE_CONFIG_DIR"] = self.conf_dir
            import rome.dialect  # noqa: F401 (see _MANAGE)
            from glance.common import wsgi_app
            return wsgi_app.init_app()

    return GlanceAPI


def gunicorn_options(c):
    return {
        "bind": "%s:%d" % (("[%s]" % c.host) if ":" in c.host else c.host, c.port),
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
    conf_dir = write_config(c)
    echo("rome glance serve: data in %s, database %s" % (c.data_dir, c.connection))
    summary = db_sync(c)
    if summary:
        echo(summary)
    echo("rome glance serve: Glance v2 API on http://%s:%d/ (%d worker%s, auth: %s)"
         % (c.host, c.port, c.workers, "s" if c.workers != 1 else "",
            "X-Auth-Token user:project:role[,role]" if c.auth == "token" else "keystone"))
    os.environ["OS_GLANCE_CONFIG_DIR"] = conf_dir
    app = _gunicorn_app_class()(conf_dir, gunicorn_options(c))
    sys.argv = sys.argv[:1]  # gunicorn's BaseApplication must not parse our command line
    app.run()
