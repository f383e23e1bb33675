"""The node's single RocksDB: column families, an exclusive lock and atomic write batches."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from rocksdict import (
    AccessType,
    BlockBasedOptions,
    Cache,
    Options,
    Rdict,
    WriteBatch,
    WriteOptions,
)

# state: latest committed module state; history: versioned copies for recent-height reads;
# meta: commit info (height, app hash, module roots); smt/smt_stale: each module store's
# versioned sparse Merkle tree and its replaced nodes awaiting pruning (docs/state.md);
# blocks/txindex: the embedded engine's block store. All live in one DB so a block commits
# in one atomic write batch.
COLUMN_FAMILIES = (
    "state",
    "history",
    "obsolete",
    "meta",
    "blocks",
    "txindex",
    "smt",
    "smt_stale",
)

# (column family, key, value or None for delete)
WriteOp = tuple[str, bytes, bytes | None]


class DatabaseLockedError(RuntimeError):
    """Another process holds this node's data directory."""


# Column families read by point lookups on every commit and proof (tree nodes, latest
# values): whole-key Bloom filters spare the reads of SST files that lack the key, and one
# shared block cache keeps the hot part of the tree in memory.
POINT_LOOKUP_FAMILIES = ("smt", "state")
BLOCK_CACHE_BYTES = 256 << 20
BLOOM_BITS_PER_KEY = 10


def _cf_options(name: str, cache: Cache) -> Options:
    opts = Options(raw_mode=True)
    if name in POINT_LOOKUP_FAMILIES:
        table = BlockBasedOptions()
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, False)
        table.set_block_cache(cache)
        opts.set_block_based_table_factory(table)
    return opts


def _options() -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.create_missing_column_families(True)
    return opts


class ReadOnlyDatabaseError(RuntimeError):
    """A write was attempted through a read-only (secondary) view of the database."""


class Database:
    """Owns `<home>/data/application.db`; one writer process at a time (file lock)."""

    def __init__(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        self.path = path
        self._lock_file: IO[str] | None = open(os.path.join(path, "SULTAN.lock"), "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise DatabaseLockedError(
                f"{path} is in use by another sultan process (stop it first, or use another --home)"
            ) from None
        self._open_rdict(_options(), BLOCK_CACHE_BYTES)
        self._sync = WriteOptions()
        self._sync.sync = True

    def _open_rdict(self, options: Options, cache_bytes: int, access: Any = None) -> None:
        cache = Cache(cache_bytes)
        cf_opts = {name: _cf_options(name, cache) for name in COLUMN_FAMILIES}
        extra = {} if access is None else {"access_type": access}
        self._db = Rdict(self.path, options=options, column_families=cf_opts, **extra)
        self._cfs = {name: self._db.get_column_family(name) for name in COLUMN_FAMILIES}
        self._handles: dict[str, Any] = {}
        self._closed = False

    def cf(self, name: str) -> Rdict:
        return self._cfs[name]

    def get(self, cf: str, key: bytes) -> bytes | None:
        value = self._cfs[cf].get(key)
        return None if value is None else bytes(value)

    def iterate(
        self, cf: str, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Keys in [start, end) in byte order (or reversed)."""
        it = self._cfs[cf].iter()
        if not reverse:
            it.seek(start) if start is not None else it.seek_to_first()
            while it.valid():
                key = bytes(it.key())
                if end is not None and key >= end:
                    return
                yield key, bytes(it.value())
                it.next()
        else:
            if end is None:
                it.seek_to_last()
            else:
                it.seek_for_prev(end)
                if it.valid() and bytes(it.key()) >= end:
                    it.prev()
            while it.valid():
                key = bytes(it.key())
                if start is not None and key < start:
                    return
                yield key, bytes(it.value())
                it.prev()

    def seek_prev(self, cf: str, key: bytes) -> tuple[bytes, bytes] | None:
        """The greatest entry with key <= `key`."""
        it = self._cfs[cf].iter()
        it.seek_for_prev(key)
        if not it.valid():
            return None
        return bytes(it.key()), bytes(it.value())

    def seek_prev_many(self, cf: str, keys: Iterable[bytes]) -> list[tuple[bytes, bytes] | None]:
        """`seek_prev` of each key, through one iterator (making one costs more than a seek)."""
        it = self._cfs[cf].iter()
        found: list[tuple[bytes, bytes] | None] = []
        for key in keys:
            it.seek_for_prev(key)
            found.append((bytes(it.key()), bytes(it.value())) if it.valid() else None)
        return found

    def write(self, ops: Iterable[WriteOp], sync: bool = True) -> None:
        """Apply all ops atomically; with sync the WAL is fsynced before returning."""
        batch = WriteBatch(raw_mode=True)
        handles = self._handles
        for cf, key, value in ops:
            handle = handles.get(cf)
            if handle is None:  # a block writes ~100k ops: look each family up once
                handle = handles[cf] = self._db.get_column_family_handle(cf)
            if value is None:
                batch.delete(key, handle)
            else:
                batch.put(key, value, handle)
        if sync:
            self._db.write(batch, self._sync)
        else:
            self._db.write(batch)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cfs.clear()
        self._handles.clear()
        self._db.close()
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SecondaryDatabase(Database):
    """A read-only view of a database another process owns and writes (RocksDB's
    "secondary instance"): it sees what the owner had written when it opened, and more
    after each `catch_up()`. API worker processes read through one (`sultan.api.replica`).

    Takes no lock and never writes; `secondary_dir` holds this view's own RocksDB info log.
    """

    def __init__(self, path: str, secondary_dir: str) -> None:
        if not os.path.isdir(path):
            raise FileNotFoundError(f"{path}: no database to read")
        os.makedirs(secondary_dir, exist_ok=True)
        self.path = path
        self._lock_file = None
        opts = Options(raw_mode=True)
        opts.set_max_open_files(-1)  # RocksDB requires it of a secondary instance
        # Catching up opens the owner's new table files; with the default 16 opener threads
        # each catch-up started (and joined) a thread pool: ~6 ms instead of ~30 µs.
        opts.set_max_file_opening_threads(1)
        self._open_rdict(opts, BLOCK_CACHE_BYTES // 4, AccessType.secondary(secondary_dir))

    def catch_up(self) -> None:
        """See everything the owning process has written so far."""
        self._db.try_catch_up_with_primary()

    def write(self, ops: Iterable[WriteOp], sync: bool = True) -> None:
        raise ReadOnlyDatabaseError(f"{self.path} is open read-only in this process")
