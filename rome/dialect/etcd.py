"""``rome+etcd://`` and ``rome+etcds://`` — a ROME database in an etcd cluster, shared by every process
and site that opens it.

URL forms (see :mod:`rome.storage.etcd` for the options, the key layout and the isolation given):

- ``rome+etcd://host:port/?endpoint=host2:port2&endpoint=host3:port3`` — the host in the URL is the
  preferred member (the one at this site: reads are served there), each ``endpoint=`` another member
  for failover;
- ``rome+etcd://user:password@host:port/`` — etcd's auth;
- ``rome+etcds://host:port/?ssl_ca_certs=/path/ca.crt`` — TLS (also ``ssl_certfile``, ``ssl_keyfile``);
- ``...&prefix=NAME`` — several databases in one cluster.

Each process keeps one store per URL and shares it between connections, so the dialect uses an ordinary
connection pool.
"""
from rome.dialect.base import RomeDialect


class RomeDialect_etcd(RomeDialect):
    driver = "etcd"
    supports_statement_cache = True
    _kind = "etcd"

    def create_connect_args(self, url):
        return self._connect_args(url, [
            "rome+%s://host:port/?endpoint=host:port&endpoint=host:port&prefix=NAME" % self._kind,
            "rome+%s://user:password@host:port/" % self._kind])


class RomeDialect_etcds(RomeDialect_etcd):
    driver = "etcds"
    supports_statement_cache = True
    _kind = "etcds"


dialect = RomeDialect_etcd
