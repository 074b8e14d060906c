"""Points OpenStack services' tests at ROME through oslo.db only (used by scripts/openstack_suites.sh).

On a PYTHONPATH with ``ROME_OSLO_DB_URL`` set, this file (imported by Python at start-up, as every
``sitecustomize`` is) wraps ``oslo_db.sqlalchemy.engines.create_engine`` when oslo.db is first imported,
so that every engine a service or its test fixtures create for a ``sqlite`` URL is a ROME engine instead;
no file of the service is touched. As sqlite's, each in-memory database is new:

================================  =========================================  =========================
sqlite URL                        ROME_OSLO_DB_URL=rome+memory://            ROME_OSLO_DB_URL=
                                                                             rome+lmdb:///BASE
================================  =========================================  =========================
``sqlite://`` (memory)            a fresh named memory store per engine      a fresh folder BASE/N
``sqlite:////abs/file.db``        one memory store per file path             BASE/file-<hash> per path
================================  =========================================  =========================

Without ``ROME_OSLO_DB_URL`` nothing is changed (the sqlite run of the same suite).
"""
import hashlib
import importlib.abc
import itertools
import os
import sys

TARGET = "oslo_db.sqlalchemy.engines"
_counter = itertools.count(1)


def rome_url_for(sqlite_url, base):
    """The ROME URL an engine for ``sqlite_url`` (a SQLAlchemy URL) gets under ``base``; None if not sqlite."""
    if not sqlite_url.drivername.startswith("sqlite"):
        return None
    path = sqlite_url.database
    memory = not path or path == ":memory:" or path.startswith("file::memory:")
    if memory:
        name = "e%d-%d" % (os.getpid(), next(_counter))
    else:
        name = "file-" + hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:16]
    if base.startswith("rome+memory"):
        return "rome+memory:///oslo-%s" % name
    if base.startswith("rome+lmdb:///"):
        return "rome+lmdb:///%s/%s" % (base[len("rome+lmdb:///"):].rstrip("/"), name)
    raise ValueError("ROME_OSLO_DB_URL must be rome+memory:// or rome+lmdb:///BASE, not %r" % base)


def _wrap(engines, base):
    original = engines.create_engine

    def create_engine(sql_connection, *args, **kwargs):
        from oslo_db.sqlalchemy import utils
        target = rome_url_for(utils.make_url(sql_connection), base)
        return original(target or sql_connection, *args, **kwargs)

    create_engine.__wrapped__ = original
    engines.create_engine = create_engine


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps ``create_engine`` right after oslo.db's engines module is executed."""

    def __init__(self, base):
        self.base = base

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader, base = spec.loader, self.base
        exec_module = loader.exec_module

        def exec_and_wrap(module):
            exec_module(module)
            _wrap(module, base)

        loader.exec_module = exec_and_wrap
        return spec


if os.environ.get("ROME_OSLO_DB_URL"):
    sys.meta_path.insert(0, _Finder(os.environ["ROME_OSLO_DB_URL"]))
