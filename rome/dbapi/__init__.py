"""The PEP 249 module."""
from rome.dbapi.exceptions import (  # noqa: F401
    ConflictError, DatabaseError, DataError, Error, IntegrityError, InterfaceError, InternalError,
    NotSupportedError, OperationalError, ProgrammingError, Warning)

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"

__all__ = ["apilevel", "threadsafety", "paramstyle", "Warning", "Error", "InterfaceError",
           "DatabaseError", "DataError", "OperationalError", "ConflictError", "IntegrityError",
           "InternalError", "ProgrammingError", "NotSupportedError"]
