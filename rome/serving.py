"""What ``rome glance serve`` and ``rome keystone serve`` share: private files, oslo.config values,
and the gunicorn application that loads a service's WSGI app in each worker."""
import os


def ini_value(value):
    """A value for an oslo.config file: oslo.config interpolates $name and ${name}, so a literal $ is
    written $$."""
    return str(value).replace("$", "$$")


def default_section(first_lines, debug, log_file):
    """The ``[DEFAULT]`` section of a service's generated configuration, after ``first_lines`` (its
    header comments): debug, and logging to stderr or to ``log_file``."""
    lines = list(first_lines) + ["[DEFAULT]", "debug = %s" % ("true" if debug else "false"),
                                 "use_stderr = %s" % ("false" if log_file else "true")]
    if log_file:
        lines.append("log_file = %s" % ini_value(os.path.abspath(log_file)))
    return lines


def write_private(path, text):
    """Write ``text`` to ``path`` readable by the owner only (whatever mode an older copy had),
    replacing it atomically: a reader sees the old file or the new one, never half of it."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def is_loopback(host):
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_address(host, port):
    """gunicorn's ``bind``: an IPv6 address in brackets."""
    return "%s:%d" % (("[%s]" % host) if ":" in host else host, port)


def gunicorn_app(options, load):
    """A gunicorn application with ``options`` (None values left at gunicorn's defaults) whose
    workers each call ``load()`` after the fork to build the WSGI app."""
    from gunicorn.app.base import BaseApplication

    class ServiceApp(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key, value)
            # gunicorn >= 25.1 opens a control socket under $XDG_RUNTIME_DIR or $HOME by default:
            # one per server, clashing between servers of one user; none is used
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return load()

    return ServiceApp()
