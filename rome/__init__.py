"""ROME: a SQL engine over ordered key/value stores, as a PEP 249 driver and a SQLAlchemy dialect.

This module is the PEP 249 entry point: ``rome.connect(url)``.
"""
from rome.dbapi import *  # noqa: F401,F403
from rome.dbapi import __all__  # noqa: F401
