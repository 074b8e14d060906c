"""Which store a (kind, location) names, and one shared Store object per store per process.

A kind is a Store class named by ``"module:Class"`` in ``KINDS`` (imported on first use, so a store's
client library is only needed when that kind is opened). The class is built as ``Class(location)`` and
may define two static methods:

    normalize_location(location) -> str   one spelling per store (e.g. a real path); default: as given
    destroy(location)                      delete the store's data, for drop_store; default: nothing

Adding a store (say ``"redis"``, location ``host:port/db``) is one module and one line in KINDS.
"""
import importlib
import threading

from rome.storage.base import StoreError

KINDS = {
    "memory": "rome.storage.memory:MemoryStore",
    "lmdb": "rome.storage.lmdb:LmdbStore",
    "redis": "rome.storage.redis:RedisStore",
    "rediss": "rome.storage.redis:RedissStore",
}

_stores = {}  # (kind, normalized location) -> Store
_lock = threading.Lock()


def store_class(kind):
    try:
        target = KINDS[kind]
    except KeyError:
        raise StoreError("unknown store kind %r (known: %s)" % (kind, ", ".join(sorted(KINDS)))) from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _key(cls, kind, location):
    normalize = getattr(cls, "normalize_location", None)
    return kind, (normalize(location) if normalize else location)


def open_store(kind, location=""):
    """The process's Store for (kind, location), created on first use."""
    cls = store_class(kind)
    key = _key(cls, kind, location or "")
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = cls(key[1])
        return store


def drop_store(kind, location=""):
    """Forget the store and delete its data (tests and provisioning). Objects still holding the
    store may fail afterwards (LMDB) or keep a detached copy (memory)."""
    cls = store_class(kind)
    key = _key(cls, kind, location or "")
    with _lock:
        store = _stores.pop(key, None)
    if store is not None:
        store.close()
    destroy = getattr(cls, "destroy", None)
    if destroy:
        destroy(key[1])
