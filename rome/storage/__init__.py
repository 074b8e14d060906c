"""Storage: one ordered key/value interface (base) and one module per store."""
from rome.storage.base import Conflict, ReadSet, Snapshot, Store, StoreError  # noqa: F401
from rome.storage.registry import drop_store, open_store  # noqa: F401
from rome.storage.transaction import Transaction  # noqa: F401
