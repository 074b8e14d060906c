"""The PEP 249 module: ``rome.connect(url)``."""
from rome.dbapi.connection import Connection, connect  # noqa: F401
from rome.dbapi.cursor import Cursor  # noqa: F401
from rome.dbapi.exceptions import (  # noqa: F401
    ConflictError, DatabaseError, DataError, Error, IntegrityError, InterfaceError, InternalError,
    NotSupportedError, OperationalError, ProgrammingError, Warning)

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"
sqlite_version_info = (3, 45, 0)  # the SQL dialect ROME follows, for SQLAlchemy's SQLite compiler

Binary = bytes

__all__ = ["connect", "Connection", "Cursor", "apilevel", "threadsafety", "paramstyle", "Warning",
           "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError", "ConflictError",
           "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError", "Binary"]
