"""Committed, versioned state: latest values, recent versions for queries, the commitment.

Layout (column families of the node's RocksDB):
- `state`:    key -> value, the last committed version.
- `history`:  esc(key) + be64(version) -> 0x01 value | 0x00 (deleted); esc() keeps byte order
              and makes keys prefix-free, so ranges at an old version are ordered scans.
- `obsolete`: be64(V) + history key -> "" : that history entry is unreadable once every
              retained version is >= V (pruning deletes it then).
- `meta`:     commit info (height, app hash, earliest retained version, module roots).

The app hash is the root of `merkle.hash_from_map({store_key: module_root})`; each module
root is an RFC-6962 tree over that module's key/value leaves. Recomputing a written
module's root scans that module (a simple, correct commitment; an incremental tree replaces
it later without changing this interface).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from sultan.kernel.crypto import merkle
from sultan.kernel.store.branch import prefix_end
from sultan.kernel.store.db import Database, WriteOp

_BE64 = struct.Struct(">Q")
META_HEIGHT = b"height"
META_APP_HASH = b"app_hash"
META_EARLIEST = b"earliest"
META_ROOT = b"root/"


class VersionUnavailableError(LookupError):
    """The requested version is pruned or not yet committed."""


def escape_key(key: bytes) -> bytes:
    return key.replace(b"\x00", b"\x00\xff") + b"\x00\x00"


def unescape_key(esc: bytes) -> bytes:
    return esc[:-2].replace(b"\x00\xff", b"\x00")


def store_prefix(store_key: str) -> bytes:
    return store_key.encode() + b"/"


class LatestReader:
    """Reads the last committed version straight from the `state` column family."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: bytes) -> bytes | None:
        return self.db.get("state", key)

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return self.db.iterate("state", start, end, reverse)


class VersionReader:
    """Reads state exactly as it was committed at `version` (stable while commits go on)."""

    def __init__(self, db: Database, version: int) -> None:
        self.db = db
        self.version = version

    def get(self, key: bytes) -> bytes | None:
        esc = escape_key(key)
        found = self.db.seek_prev("history", esc + _BE64.pack(self.version))
        if found is None or len(found[0]) != len(esc) + 8 or not found[0].startswith(esc):
            return None
        value = found[1]
        return value[1:] if value[:1] == b"\x01" else None

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        lo = escape_key(start) if start is not None else None
        hi = escape_key(end) if end is not None else None
        current: bytes | None = None
        best_version = -1
        best: bytes | None = None
        for hkey, hval in self.db.iterate("history", lo, hi, reverse):
            esc, version = hkey[:-8], _BE64.unpack(hkey[-8:])[0]
            if esc != current:
                if current is not None and best is not None:
                    yield unescape_key(current), best
                current, best_version, best = esc, -1, None
            if best_version < version <= self.version:
                best_version = version
                best = hval[1:] if hval[:1] == b"\x01" else None
        if current is not None and best is not None:
            yield unescape_key(current), best


class CommittedState:
    """The committed versions of all module state and the commitment over them."""

    def __init__(self, db: Database, store_keys: Sequence[str]) -> None:
        self.db = db
        self.store_keys = sorted(store_keys)
        raw = db.get("meta", META_HEIGHT)
        self.height = _BE64.unpack(raw)[0] if raw else 0
        self.app_hash = db.get("meta", META_APP_HASH) or b""
        raw = db.get("meta", META_EARLIEST)
        self.earliest = _BE64.unpack(raw)[0] if raw else 0
        self.module_roots = {
            k: db.get("meta", META_ROOT + k.encode()) or merkle.EMPTY_HASH for k in self.store_keys
        }
        if self.height == 0:
            self.app_hash = self.compute_app_hash(self.module_roots)

    def latest(self) -> LatestReader:
        return LatestReader(self.db)

    def at(self, version: int) -> VersionReader:
        if version > self.height or version < max(self.earliest, 1) and version != self.height:
            raise VersionUnavailableError(
                f"version {version} is not available (have {max(self.earliest, 1)}..{self.height})"
            )
        return VersionReader(self.db, version)

    def compute_app_hash(self, roots: dict[str, bytes]) -> bytes:
        return merkle.hash_from_map({k.encode(): roots[k] for k in self.store_keys})

    def _module_root(self, store_key: str, changes: dict[bytes, bytes | None]) -> bytes:
        prefix = store_prefix(store_key)
        end = prefix_end(prefix)
        leaves = []
        pending = sorted(k for k in changes if k.startswith(prefix))
        pi = 0
        for key, value in self.db.iterate("state", prefix, end):
            while pi < len(pending) and pending[pi] < key:
                new = changes[pending[pi]]
                if new is not None:
                    leaves.append(merkle.kv_leaf(pending[pi], new))
                pi += 1
            if pi < len(pending) and pending[pi] == key:
                new = changes[key]
                pi += 1
                if new is not None:
                    leaves.append(merkle.kv_leaf(key, new))
                continue
            leaves.append(merkle.kv_leaf(key, value))
        for k in pending[pi:]:
            new = changes[k]
            if new is not None:
                leaves.append(merkle.kv_leaf(k, new))
        return merkle.hash_from_byte_slices(leaves)

    def prepare_commit(
        self, changes: Sequence[tuple[bytes, bytes | None]], version: int, keep_recent: int = 0
    ) -> tuple[list[WriteOp], bytes, dict[str, bytes]]:
        """Write ops that commit `changes` as `version`, plus the resulting app hash.

        keep_recent=0 keeps every version; otherwise versions older than
        `version - keep_recent + 1` are pruned in the same batch.
        """
        # The first commit may be at a genesis `initial_height` > 1; later ones follow on.
        if version < 1 or (self.height and version != self.height + 1):
            raise ValueError(f"commit of version {version} after {self.height}")
        change_map = dict(changes)
        touched = {
            k for k in self.store_keys if any(c.startswith(store_prefix(k)) for c in change_map)
        }
        unknown = [
            c for c in change_map if not any(c.startswith(store_prefix(k)) for k in self.store_keys)
        ]
        if unknown:
            raise ValueError(f"write outside any module store: {unknown[0]!r}")
        roots = dict(self.module_roots)
        for store_key in touched:
            roots[store_key] = self._module_root(store_key, change_map)
        app_hash = self.compute_app_hash(roots)
        ver = _BE64.pack(version)
        ops: list[WriteOp] = []
        for key, value in sorted(change_map.items()):
            esc = escape_key(key)
            prev = self.db.seek_prev(
                "history", esc + _BE64.pack(version - 1) if version > 0 else esc
            )
            if prev is not None and len(prev[0]) == len(esc) + 8 and prev[0].startswith(esc):
                ops.append(("obsolete", ver + prev[0], b""))
            ops.append(("state", key, value))
            ops.append(("history", esc + ver, b"\x00" if value is None else b"\x01" + value))
            if value is None:
                ops.append(("obsolete", ver + esc + ver, b""))
        earliest = self.earliest or version
        if keep_recent > 0 and version - keep_recent + 1 > earliest:
            new_earliest = version - keep_recent + 1
            for okey, _ in self.db.iterate("obsolete", None, _BE64.pack(new_earliest + 1)):
                ops.append(("history", okey[8:], None))
                ops.append(("obsolete", okey, None))
            earliest = new_earliest
        for store_key in touched:
            ops.append(("meta", META_ROOT + store_key.encode(), roots[store_key]))
        ops.append(("meta", META_HEIGHT, ver))
        ops.append(("meta", META_APP_HASH, app_hash))
        ops.append(("meta", META_EARLIEST, _BE64.pack(earliest)))
        return ops, app_hash, roots

    def apply_commit(
        self, version: int, app_hash: bytes, roots: dict[str, bytes], keep_recent: int
    ) -> None:
        """Update the in-memory view after the batch from `prepare_commit` was written."""
        self.height = version
        self.app_hash = app_hash
        self.module_roots = roots
        if not self.earliest:
            self.earliest = version
        if keep_recent > 0 and version - keep_recent + 1 > self.earliest:
            self.earliest = version - keep_recent + 1
