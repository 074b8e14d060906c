"""Storage: one ordered key/value interface (base) and one module per store."""
from rome.storage.base import Conflict, ReadSet, Snapshot, Store, StoreError  # noqa: F401
