"""ROME's SQLAlchemy dialect: ``rome+memory://``, ``rome+lmdb:///path``, ``rome+redis://host:port/db``.

The dialects are registered through the ``sqlalchemy.dialects`` entry points of the installed package;
importing this package registers them as well, so a source checkout works without installing.
"""
from sqlalchemy.dialects import registry as _registry

from rome.dialect.base import RomeDialect  # noqa: F401
from rome.dialect.lmdb import RomeDialect_lmdb  # noqa: F401
from rome.dialect.memory import RomeDialect_memory  # noqa: F401

_registry.register("rome", "rome.dialect.memory", "RomeDialect_memory")
_registry.register("rome.memory", "rome.dialect.memory", "RomeDialect_memory")
_registry.register("rome.lmdb", "rome.dialect.lmdb", "RomeDialect_lmdb")
_registry.register("rome.redis", "rome.dialect.redis", "RomeDialect_redis")
_registry.register("rome.rediss", "rome.dialect.redis", "RomeDialect_rediss")
_registry.register("rome.etcd", "rome.dialect.etcd", "RomeDialect_etcd")
_registry.register("rome.etcds", "rome.dialect.etcd", "RomeDialect_etcds")

try:  # oslo.db integration (exception filters, ...), when oslo.db is installed
    from rome.dialect import oslo_db as _oslo_db

    _oslo_db.register()
except ImportError:
    pass
try:  # oslo.db test provisioning (provision.BackendImpl for rome), when oslo.db's test extras are there
    from rome.dialect import oslo_provision as _oslo_provision

    _oslo_provision.register()
except ImportError:
    pass

__all__ = ["RomeDialect", "RomeDialect_memory", "RomeDialect_lmdb"]
