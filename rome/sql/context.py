"""What one statement carries while it runs (:class:`Ctx`) and what it hands back (:class:`Result`).

A module of its own so that the statement modules (select, dml, ddl) and the session that dispatches to
them import it without importing each other.
"""
import datetime


class Result:
    __slots__ = ("columns", "rows", "rowcount", "lastrowid")

    def __init__(self, columns=None, rows=None, rowcount=-1, lastrowid=None):
        self.columns, self.rows, self.rowcount, self.lastrowid = columns, rows, rowcount, lastrowid


class Ctx:
    """What a running plan needs: the session (transaction, rows), parameters, the statement's clock,
    and a per-statement cache (uncorrelated subquery results, hash-join tables)."""
    __slots__ = ("session", "params", "_now", "cache")

    def __init__(self, session, params, now=None, cache=None):
        self.session = session
        self.params = params
        self._now = now
        self.cache = {} if cache is None else cache

    @property
    def now(self):
        """The statement's clock (UTC), read once, on first use."""
        if self._now is None:
            self._now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        return self._now

    def child(self, params):
        return Ctx(self.session, params, self._now, self.cache)
