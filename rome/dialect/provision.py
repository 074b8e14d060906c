"""Test provisioning for SQLAlchemy's and alembic's suites (loaded by ``dialect.load_provisioning()``).

Every pytest-xdist worker gets its own database, derived from the main URL and the worker's ident:

- ``rome+memory://`` -> ``rome+memory:///<ident>`` (a store of its own; workers are processes anyway);
- ``rome+lmdb:///dir`` -> ``rome+lmdb:///<dir>_<ident>``, a fresh directory next to the main one,
  removed when the worker is done;
- ``rome+redis://host/db`` -> the same server and database with ``?prefix=<ident>`` (its keys are
  not removed here: that needs the Redis store's own cleanup).

An LMDB test directory is emptied before the run uses it (so a crashed earlier run cannot leave
tables behind) and removed when the process exits; as a guard against pointing the suite at real
data, this is only done for directories whose name contains "test".
"""
import atexit
import os
import shutil

from sqlalchemy.engine import url as sa_url
from sqlalchemy.testing.provision import create_db
from sqlalchemy.testing.provision import drop_db
from sqlalchemy.testing.provision import follower_url_from_main
from sqlalchemy.testing.provision import log
from sqlalchemy.testing.provision import post_configure_engine
from sqlalchemy.testing.provision import temp_table_keyword_args


def _lmdb_dir(url):
    url = sa_url.make_url(url)
    if url.get_driver_name() != "lmdb" or not url.database:
        return None
    return os.path.abspath(url.database)


def _follower_lmdb_dir(main_url, ident):
    return "%s_%s" % (_lmdb_dir(main_url).rstrip(os.sep), ident)


def _wipe(path):
    if path and os.path.isdir(path) and "test" in os.path.basename(path).lower():
        log.info("removing ROME test database %s", path)
        shutil.rmtree(path, ignore_errors=True)


@follower_url_from_main.for_db("rome")
def _rome_follower_url_from_main(url, ident):
    url = sa_url.make_url(url)
    driver = url.get_driver_name()
    if driver == "lmdb":
        return url.set(database=_follower_lmdb_dir(url, ident))
    if driver in ("redis", "rediss"):
        return url.update_query_dict({"prefix": ident})
    return url.set(database=ident)


@create_db.for_db("rome")
def _rome_create_db(cfg, eng, ident):
    # runs in the main process, before the worker starts; the worker's store is created on first
    # connect, so only make sure a stale LMDB directory of the same name is gone
    if _lmdb_dir(eng.url):
        _wipe(_follower_lmdb_dir(eng.url, ident))


@drop_db.for_db("rome")
def _rome_drop_db(cfg, eng, ident):
    # runs in the main process after the worker exited: memory stores died with it
    if _lmdb_dir(eng.url):
        _wipe(_follower_lmdb_dir(eng.url, ident))


@post_configure_engine.for_db("rome")
def _rome_post_configure_engine(url, engine, follower_ident):
    # called before the engine's first connection: start from an empty LMDB directory, and leave
    # none behind (a worker's directory is also removed by drop_db, from the main process)
    path = _lmdb_dir(url)
    if path:
        _wipe(path)
        atexit.register(_wipe, path)


@temp_table_keyword_args.for_db("rome")
def _rome_temp_table_keyword_args(cfg, eng):
    # ROME has no temporary tables (the requirements close them); SQLite's spelling for completeness
    return {"prefixes": ["TEMPORARY"]}
