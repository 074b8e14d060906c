"""Installs SQLAlchemy's test plugin for the compliance suites in this directory.

Run as its own pytest session (see setup.cfg): ``pytest tests/sqla [-n auto] [--db lmdb]``.
"""
import pytest
from sqlalchemy.dialects import registry

# the entry points do this for an installed package; a source checkout needs it here
registry.register("rome", "rome.dialect.memory", "RomeDialect_memory")
registry.register("rome.memory", "rome.dialect.memory", "RomeDialect_memory")
registry.register("rome.lmdb", "rome.dialect.lmdb", "RomeDialect_lmdb")
registry.register("rome.redis", "rome.dialect.redis", "RomeDialect_redis")
registry.register("rome.rediss", "rome.dialect.redis", "RomeDialect_rediss")
registry.register("rome.etcd", "rome.dialect.etcd", "RomeDialect_etcd")
registry.register("rome.etcds", "rome.dialect.etcd", "RomeDialect_etcds")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F401,F403
from sqlalchemy.testing.plugin.pytestplugin import pytest_sessionstart as _sqla_sessionstart  # noqa: E402


def pytest_sessionstart(session):
    _sqla_sessionstart(session)
    # alembic's warning filters, as alembic's own conftest installs them
    from alembic.testing import warnings

    warnings.setup_filters()
