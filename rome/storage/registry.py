"""Which store a (kind, location) names, and one shared Store object per store per process.

A kind is a Store class named by ``"module:Class"`` in ``KINDS`` (imported on first use, so a store's
client library is only needed when that kind is opened). The class is built as ``Class(location)``,
``location`` as its ``normalize_location`` spells it (see rome.storage.base, LOCATIONS), and may define

    destroy(location)                      delete the store's data, for drop_store; default: nothing

Adding a store (say ``"redis"``, location ``host:port/db``) is one module and one line in KINDS.
"""
import importlib
import threading

import urllib.parse

from rome.storage.base import BadLocation

KINDS = {
    "memory": "rome.storage.memory:MemoryStore",
    "lmdb": "rome.storage.lmdb:LmdbStore",
    "redis": "rome.storage.redis:RedisStore",
    "rediss": "rome.storage.redis:RedissStore",
    "etcd": "rome.storage.etcd:EtcdStore",
    "etcds": "rome.storage.etcd:EtcdsStore",
}

_stores = {}  # (kind, normalized location) -> Store
_lock = threading.Lock()


def store_class(kind):
    try:
        target = KINDS[kind]
    except KeyError:
        raise BadLocation("unknown store kind %r (known: %s)" % (kind, ", ".join(sorted(KINDS)))) from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def location_of_url(url):
    """'rome+KIND://REST' (or 'KIND://REST'; 'rome://' is memory) -> (kind, normalized location).
    Raises BadLocation."""
    u = url[5:] if url.startswith("rome+") else ("memory" + url[4:] if url.startswith("rome://") else url)
    kind, sep, rest = u.partition("://")
    if not sep:
        raise BadLocation("not a ROME URL: %r" % url)
    cls = store_class(kind)
    return kind, _normalize(cls, cls.url_location(rest))


def _normalize(cls, location, options=None):
    if options:
        name, sep, query = location.partition("?")
        extra = urllib.parse.urlencode([(k, str(v)) for k, v in options.items()])
        location = name + "?" + (query + "&" + extra if query else extra)
    try:
        return cls.normalize_location(location)
    except BadLocation:
        raise
    except ValueError as e:
        raise BadLocation(str(e)) from None


def _key(cls, kind, location, options=None):
    return kind, _normalize(cls, location, options)


def open_store(kind, location="", **options):
    """The process's Store for (kind, location), created on first use. ``options`` join the
    location's query (?name=value): one path for a store's options, checked by the store."""
    cls = store_class(kind)
    key = _key(cls, kind, location or "", options)
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
