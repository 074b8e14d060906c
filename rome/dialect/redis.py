"""``rome+redis://`` and ``rome+rediss://`` — a ROME database in a Redis server, shared by every
process and host that opens the same URL.

URL forms (see :mod:`rome.storage.redis` for the options and what is stored where):

- ``rome+redis://host[:port][/db]`` — TCP, port 6379 and database 0 by default;
- ``rome+redis://:password@host:port/db``, ``rome+redis://user:password@host:port/db`` — AUTH
  (password only, or an ACL user);
- ``rome+rediss://host:port/db?ssl_ca_certs=/path/ca.crt`` — TLS (also ``ssl_certfile``,
  ``ssl_keyfile``, ``ssl_cert_reqs``, ``ssl_check_hostname``; ``?ssl=true`` on ``rome+redis`` is the
  same as ``rome+rediss``);
- ``rome+redis:///db?unix_socket=/run/redis/redis.sock`` — a unix socket (absolute path; the database
  number stays where it is in the TCP form);
- ``...?prefix=NAME`` on any form — the database's keys live under ``{NAME}:`` (default ``rome``), so
  several ROME databases share one Redis database.

Each process keeps one store (one connection pool) per URL and shares it between connections, so the
dialect uses an ordinary connection pool; a pooled DBAPI connection holds no server connection.
"""
from rome.dialect.base import RomeDialect


class RomeDialect_redis(RomeDialect):
    driver = "redis"
    supports_statement_cache = True
    _kind = "redis"

    def create_connect_args(self, url):
        return self._connect_args(url, [
            "rome+%s://host[:port][/db][?prefix=NAME]" % self._kind,
            "rome+%s://[user]:password@host:port/db" % self._kind,
            "rome+%s:///db?unix_socket=/path/redis.sock" % self._kind])


class RomeDialect_rediss(RomeDialect_redis):
    driver = "rediss"
    supports_statement_cache = True
    _kind = "rediss"


dialect = RomeDialect_redis
