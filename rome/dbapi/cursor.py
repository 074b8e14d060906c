"""PEP 249 Cursor. Results are materialised when the statement runs, so fetching never touches the
store and a cursor's rows stay valid after commit."""
from rome.dbapi.exceptions import ProgrammingError


class Cursor:
    arraysize = 1

    def __init__(self, connection):
        self.connection = connection
        self.description = None
        self.rowcount = -1
        self.lastrowid = None
        self._rows = []
        self._pos = 0
        self.closed = False

    def _check(self):
        if self.closed:
            raise ProgrammingError("Cannot operate on a closed cursor.")
        self.connection._check()

    def _load(self, result):
        if result.columns is not None:
            self.description = tuple((c, None, None, None, None, None, None) for c in result.columns)
            self._rows = result.rows
            self.rowcount = -1
        else:
            self.description = None
            self._rows = []
            self.rowcount = result.rowcount
        self._pos = 0
        if result.lastrowid is not None:
            self.lastrowid = result.lastrowid

    def execute(self, sql, params=None):
        self._check()
        with self.connection.lock:
            self._load(self.connection.session.execute(sql, params))
        return self

    def executemany(self, sql, seq_of_params):
        self._check()
        with self.connection.lock:
            self._load(self.connection.session.executemany(sql, seq_of_params))
        return self

    def fetchone(self):
        if self._pos < len(self._rows):
            r = self._rows[self._pos]
            self._pos += 1
            return r
        return None

    def fetchmany(self, size=None):
        n = self.arraysize if size is None else size
        out = self._rows[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    def fetchall(self):
        out = self._rows[self._pos:]
        self._pos = len(self._rows)
        return out

    def __iter__(self):
        while True:
            r = self.fetchone()
            if r is None:
                return
            yield r

    def close(self):
        self.closed = True
        self._rows = []

    def setinputsizes(self, sizes):
        pass

    def setoutputsize(self, size, column=None):
        pass
