"""``rome+lmdb://`` — an embedded LMDB environment in a directory.

URL forms (paths as sqlite's):

- ``rome+lmdb:////var/lib/x`` — the absolute directory ``/var/lib/x``;
- ``rome+lmdb:///x`` — ``x`` relative to the current directory, made absolute when the engine is
  created, so a later ``chdir`` does not move the database;
- ``...?map_size=BYTES`` — LMDB's map size (see rome.storage.lmdb).

LMDB refuses to open one environment twice in a process; the DBAPI keeps one environment per path and
shares it between connections, so the dialect uses an ordinary connection pool. Several processes may
open the same path at once.
"""
from sqlalchemy import exc

from rome.dialect.base import RomeDialect


class RomeDialect_lmdb(RomeDialect):
    driver = "lmdb"
    supports_statement_cache = True

    def create_connect_args(self, url):
        forms = ["rome+lmdb:////absolute/path", "rome+lmdb:///relative/path"]
        self._check_url_has_no_server(url, forms)
        if not url.database:
            raise exc.ArgumentError(
                "A rome+lmdb URL needs a directory: %s\nValid forms are:\n%s"
                % (url, "\n".join(" " + f for f in forms)))
        return self._connect_args(url, forms)


dialect = RomeDialect_lmdb
