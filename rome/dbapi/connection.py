"""PEP 249 Connection: a Session over a store, opened from a URL or (kind, location)."""
import threading

from rome.dbapi.cursor import Cursor
from rome.dbapi.exceptions import InterfaceError, OperationalError, ProgrammingError
from rome.sql.dump import dump
from rome.sql.script import split_script
from rome.sql.parse import Control, parse
from rome.sql.session import Session
from rome.storage.base import StoreError


def parse_url(url):
    """'rome+KIND://REST' -> (kind, location as the store spells it): 'rome+lmdb:////abs/path',
    'rome+memory:///name', 'rome+redis://host:port/db?prefix=NAME', ... Each store parses its own
    (rome.storage.base, LOCATIONS); a malformed URL or an unknown option is an InterfaceError."""
    from rome.storage.base import BadLocation
    from rome.storage.registry import location_of_url
    try:
        return location_of_url(url)
    except BadLocation as e:
        raise InterfaceError("bad ROME URL: %s" % e) from None


def _without_credentials(location):
    """A store location as error messages may show it: without user:password@."""
    location = location or ""
    return location.rsplit("@", 1)[-1] if "@" in location.split("?", 1)[0] else location


def connect(url=None, kind=None, location=None, autocommit=False, **options):
    """Open a connection. ``connect("rome+lmdb:////var/lib/x")`` or ``connect(kind="lmdb", location=path)``;
    ``options`` are the store's (as ``?name=value`` in the URL, e.g. ``map_size=`` on LMDB)."""
    if url is not None:
        kind, location = parse_url(url)
    if kind is None:
        raise InterfaceError("connect() needs a URL or kind=")
    from rome.storage.base import BadLocation
    from rome.storage.registry import open_store
    try:
        store = open_store(kind, location or "", **options)
    except (InterfaceError, OperationalError):
        raise
    except BadLocation as e:
        raise InterfaceError("bad %s location: %s" % (kind, e)) from None
    except StoreError as e:
        if type(e) is not StoreError:  # what is wrong with the store, named by its own class
            raise e.to_dbapi() from None
        raise OperationalError("store unavailable: cannot open %s store %r: %s"
                               % (kind, _without_credentials(location), e)) from None
    except Exception as e:
        raise OperationalError("store unavailable: cannot open %s store %r: %s"
                               % (kind, _without_credentials(location), e)) from None
    return Connection(store, autocommit=autocommit)


class Connection:
    def __init__(self, store, autocommit=False):
        self.store = store
        self.session = Session(store)
        self.session.autocommit = autocommit
        self.closed = False
        self.lock = threading.RLock()

    # PEP 249 extension used by SQLAlchemy's AUTOCOMMIT isolation level
    @property
    def autocommit(self):
        return self.session.autocommit

    @autocommit.setter
    def autocommit(self, value):
        self._check()
        if value and self.session.in_transaction:
            self.session.commit()
        self.session.autocommit = bool(value)

    @property
    def in_transaction(self):
        return self.session.in_transaction

    def _check(self):
        if self.closed:
            raise ProgrammingError("Cannot operate on a closed connection.")

    def cursor(self):
        self._check()
        return Cursor(self)

    def execute(self, sql, params=None):
        """Shortcut (as sqlite3's): a new cursor, executed."""
        return self.cursor().execute(sql, params)

    def executemany(self, sql, seq_of_params):
        return self.cursor().executemany(sql, seq_of_params)

    def executescript(self, sql_script):
        """Run an SQL script (statements separated by ``;``), as sqlite3's ``executescript``: a pending
        transaction is committed first; each statement outside an explicit BEGIN ... COMMIT commits
        on its own. If a statement fails, the open transaction (an explicit one included) is rolled
        back and the error raised: statements committed before it stay. Returns a cursor."""
        self._check()
        if not isinstance(sql_script, str):
            raise TypeError("executescript() argument must be str, not %s" % type(sql_script).__name__)
        session = self.session
        with self.lock:
            if session.in_transaction:
                session.commit()
            explicit = False
            try:
                for sql in split_script(sql_script):
                    stmt, _ = parse(sql)
                    session.execute(sql)
                    if isinstance(stmt, Control) and stmt.kind in ("begin", "commit", "rollback"):
                        explicit = stmt.kind == "begin"
                    if not explicit and session.in_transaction and not session.savepoints:
                        session.commit()
            except BaseException:
                if session.in_transaction:
                    session.rollback()
                raise
        return self.cursor()

    def iterdump(self):
        """The database as SQL statements that ROME and SQLite both replay (see rome.sql.dump), read
        in one transaction; as sqlite3's ``iterdump``, each item is one statement ending with ``;``.
        A transaction of this connection that has written is dumped as it sees the data; one that
        has only read is ended first, so that the dump shows what is committed now (as sqlite3, where
        reads do not open a transaction)."""
        self._check()
        session = self.session
        with self.lock:
            if session.in_transaction and not session.txn.has_writes and not session.savepoints:
                session.rollback()
            began = not session.in_transaction
            if began:
                session.begin()
            try:
                def select(sql):
                    result = session.execute(sql)
                    return result.columns, result.rows
                lines = list(dump(session.catalog, select))
            finally:
                if began:
                    session.rollback()
        return iter(lines)

    def commit(self):
        self._check()
        with self.lock:
            self.session.commit()

    def rollback(self):
        self._check()
        with self.lock:
            self.session.rollback()

    def close(self):
        if not self.closed:
            self.session.rollback()
            self.closed = True

    def catalog(self):
        """The schema as this connection's transaction sees it (read-only; used for reflection)."""
        self._check()
        with self.lock:
            if not self.session.in_transaction:
                self.session.begin()
            return self.session.catalog

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.commit()
        else:
            self.rollback()
