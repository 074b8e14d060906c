"""``rome+memory://`` — a store held in this process's memory.

URL forms (as sqlite's ``sqlite://`` / ``sqlite:///name``):

- ``rome+memory://`` — the default store (location ``""``);
- ``rome+memory:///name`` — the store called ``name``.

A store lives as long as the process and is shared by every engine and connection that names it, so
an ordinary connection pool is right (unlike sqlite's ``:memory:``, where each connection is its own
database).
"""
from rome.dialect.base import RomeDialect


class RomeDialect_memory(RomeDialect):
    driver = "memory"
    supports_statement_cache = True

    def create_connect_args(self, url):
        forms = ["rome+memory://", "rome+memory:///name"]
        self._check_url_has_no_server(url, forms)
        return self._connect_args(url, forms)


dialect = RomeDialect_memory
