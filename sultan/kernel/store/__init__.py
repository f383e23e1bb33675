"""State storage: one RocksDB, per-module prefix views, nested branches and the commitment."""

from sultan.kernel.store.branch import Branch, KVReader, KVStore, PrefixStore
from sultan.kernel.store.db import Database, DatabaseLockedError

__all__ = ["Branch", "Database", "DatabaseLockedError", "KVReader", "KVStore", "PrefixStore"]
