"""The PEP 249 exception classes, as the driver module exposes them (they live in :mod:`rome.errors`,
at the bottom of the layers, so that the engine raises them without importing the driver)."""
from rome.errors import (  # noqa: F401
    ConflictError, DatabaseError, DataError, Error, IntegrityError, InterfaceError, InternalError,
    NotSupportedError, OperationalError, ProgrammingError, Warning)
