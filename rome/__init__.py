"""ROME: a SQL engine over ordered key/value stores, as a PEP 249 driver and a SQLAlchemy dialect.

This module is the PEP 249 entry point: ``rome.connect(url)``; and ``rome.retry(engine_or_sessionmaker,
fn)`` runs a transaction again when it loses a write conflict (rome.retrying).
"""
from rome.dbapi import *  # noqa: F401,F403
from rome.dbapi import __all__ as _dbapi_all
from rome.retrying import retry  # noqa: F401

__all__ = _dbapi_all + ["retry"]
