"""PEP 249 exception hierarchy, at the bottom of the layers: the engine (rome.sql) raises these, the
driver (rome.dbapi) re-exports them.

SQLAlchemy maps driver exceptions to its own classes by these names (walking the MRO), and oslo.db's
filters key on the messages, so the class a failure raises is part of ROME's contract:

- IntegrityError: PRIMARY KEY, UNIQUE, NOT NULL, FOREIGN KEY and CHECK violations.
- ProgrammingError: syntax errors (sqlite3 raises OperationalError; here OperationalError means a store
  or a conflict, which callers retry), unknown tables/columns, wrong parameter counts.
- DataError: a value that does not fit its column; text that is not valid Unicode (a lone surrogate).
- OperationalError: the store failed or went away; a transaction lost a write conflict
  (:class:`ConflictError`, a subclass, so callers may retry it specifically).
- NotSupportedError: valid SQL that ROME does not implement.
"""


class Warning(Exception):  # noqa: A001 - the name is fixed by PEP 249
    pass


class Error(Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class ConflictError(OperationalError):
    """A write conflict with a concurrent transaction; the transaction was rolled back. Retry it."""


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass
