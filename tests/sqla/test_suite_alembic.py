"""Alembic's dialect compliance suite on ROME (``pytest tests/sqla``)."""
from alembic.testing.suite import *  # noqa: F401,F403
