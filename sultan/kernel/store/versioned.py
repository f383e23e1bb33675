"""Committed, versioned state: latest values, recent versions for queries, the commitment.

Layout (column families of the node's RocksDB):
- `state`:    key -> value, the last committed version.
- `history`:  esc(key) + be64(version) -> 0x01 value | 0x00 (deleted); esc() keeps byte order
              and makes keys prefix-free, so ranges at an old version are ordered scans.
- `obsolete`: be64(V) + history key -> "" : that history entry is unreadable once every
              retained version is >= V (pruning deletes it then).
- `meta`:     commit info (height, app hash, earliest retained version, module roots).
- `smt`, `smt_stale`: each module store's sparse Merkle tree (`smt.py`), versioned the same
              way and pruned with the same `keep_recent`.

Each module root is the root of that store's sparse Merkle tree over its module-relative
keys (ICS-23 SmtSpec); the app hash is `merkle.hash_from_map({store_key: module_root})`,
the Cosmos multistore's simple Merkle tree (ICS-23 TendermintSpec). A commit updates only
the written paths: O(log n) per written key. docs/state.md has the byte layouts.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import Any

from sultan.kernel.crypto import merkle
from sultan.kernel.store import ics23
from sultan.kernel.store.db import Database, WriteOp
from sultan.kernel.store.smt import (
    NODES_CF,
    STALE_CF,
    CacheDelta,
    MissingNodeError,
    NodeCache,
    ProofUnavailableError,
    Ref,
    SparseMerkleTree,
)

_BE64 = struct.Struct(">Q")
META_HEIGHT = b"height"
META_APP_HASH = b"app_hash"
META_EARLIEST = b"earliest"
META_ROOT = b"root/"


class VersionUnavailableError(LookupError):
    """The requested version is pruned or not yet committed."""


__all__ = ["ProofUnavailableError", "VersionUnavailableError", "CommittedState"]


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

    def __init__(
        self, db: Database, store_keys: Sequence[str], node_cache: NodeCache | None = None
    ) -> None:
        self.db = db
        self.store_keys = sorted(store_keys)
        raw = db.get("meta", META_HEIGHT)
        self.height = _BE64.unpack(raw)[0] if raw else 0
        self.app_hash = db.get("meta", META_APP_HASH) or b""
        raw = db.get("meta", META_EARLIEST)
        self.earliest = _BE64.unpack(raw)[0] if raw else 0
        # Starts cold (e.g. after a restart) and fills as commits read and write the trees.
        self.node_cache = node_cache if node_cache is not None else NodeCache()
        self.trees = {k: SparseMerkleTree(db, k, self.node_cache) for k in self.store_keys}
        # (version, app hash, cache changes) of the last prepared commit, until it is applied.
        self._pending_cache: tuple[int, bytes, list[CacheDelta]] | None = None
        # Per store: (version of its root record in force at `height`, the root reference).
        self.tree_roots: dict[str, tuple[int | None, Ref]] = {
            k: tree.root_entry(self.height) for k, tree in self.trees.items()
        }
        self.module_roots = {k: self.tree_roots[k][1][2] for k in self.store_keys}
        self._latest_roots = (self.height, {k: e[1] for k, e in self.tree_roots.items()})
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
        per_store: dict[str, list[tuple[bytes, bytes | None]]] = {}
        prefixes = [(k, store_prefix(k)) for k in self.store_keys]
        for key, value in change_map.items():
            for store_key, prefix in prefixes:
                if key.startswith(prefix):
                    per_store.setdefault(store_key, []).append((key[len(prefix) :], value))
                    break
            else:
                raise ValueError(f"write outside any module store: {key!r}")
        roots = dict(self.module_roots)
        ops: list[WriteOp] = []
        deltas: list[CacheDelta] = []
        self._pending_cache = None
        for store_key in sorted(per_store):
            delta = CacheDelta()
            new_root, tree_ops = self.trees[store_key].update(
                self.tree_roots[store_key], per_store[store_key], version, delta
            )
            roots[store_key] = new_root[1][2]
            ops.extend(tree_ops)
            deltas.append(delta)
        app_hash = self.compute_app_hash(roots)
        ver = _BE64.pack(version)
        before = _BE64.pack(version - 1)
        written = sorted(change_map.items())
        escaped = [escape_key(key) for key, _ in written]
        prevs = self.db.seek_prev_many("history", [esc + before for esc in escaped])
        for (key, value), esc, prev in zip(written, escaped, prevs, strict=True):
            if prev is not None and len(prev[0]) == len(esc) + 8 and prev[0].startswith(esc):
                ops.append(("obsolete", ver + prev[0], b""))
            ops.append(("state", key, value))
            ops.append(("history", esc + ver, b"\x00" if value is None else b"\x01" + value))
            if value is None:
                ops.append(("obsolete", ver + esc + ver, b""))
        earliest = self.earliest or version
        if keep_recent > 0 and version - keep_recent + 1 > earliest:
            new_earliest = version - keep_recent + 1
            # Markers below the current earliest were deleted when it was reached.
            scan = (_BE64.pack(earliest), _BE64.pack(new_earliest + 1))
            for okey, _ in self.db.iterate("obsolete", *scan):
                ops.append(("history", okey[8:], None))
                ops.append(("obsolete", okey, None))
            for skey, _ in self.db.iterate(STALE_CF, *scan):
                ops.append((NODES_CF, skey[8:], None))
                ops.append((STALE_CF, skey, None))
            earliest = new_earliest
        for store_key in sorted(per_store):
            ops.append(("meta", META_ROOT + store_key.encode(), roots[store_key]))
        ops.append(("meta", META_HEIGHT, ver))
        ops.append(("meta", META_APP_HASH, app_hash))
        ops.append(("meta", META_EARLIEST, _BE64.pack(earliest)))
        self._pending_cache = (version, app_hash, deltas)
        return ops, app_hash, roots

    def apply_commit(
        self, version: int, app_hash: bytes, roots: dict[str, bytes], keep_recent: int
    ) -> None:
        """Update the in-memory view after the batch from `prepare_commit` was written."""
        pending, self._pending_cache = self._pending_cache, None
        if pending is not None and pending[:2] == (version, app_hash):
            # Only the last prepared commit's nodes, and only once written (NodeCache).
            for delta in pending[2]:
                self.node_cache.apply(delta)
        # Queries on other threads read these: the roots are in place before the height.
        tree_roots = {k: tree.root_entry(version) for k, tree in self.trees.items()}
        self._latest_roots = (version, {k: entry[1] for k, entry in tree_roots.items()})
        self.tree_roots = tree_roots
        self.module_roots = roots
        self.app_hash = app_hash
        self.height = version
        if not self.earliest:
            self.earliest = version
        if keep_recent > 0 and version - keep_recent + 1 > self.earliest:
            self.earliest = version - keep_recent + 1

    # -- proofs ---------------------------------------------------------------------------

    def roots_at(self, version: int) -> dict[str, Ref]:
        """Every module store's tree root as of a retained `version`."""
        latest_version, latest = self._latest_roots
        if version == latest_version:
            return dict(latest)
        return {k: tree.root_entry(version)[1] for k, tree in self.trees.items()}

    def pruned(self, version: int) -> bool:
        """Whether `version` is (being) pruned, checked after reading it.

        The batch that prunes a version deletes its data and raises the stored earliest
        version atomically, but `self.earliest` only follows in `apply_commit`, after the
        write: a reader that may have seen deleted data must look at the stored value.
        """
        if version < max(self.earliest, 1):
            return True
        raw = self.db.get("meta", META_EARLIEST)
        return raw is not None and version < _BE64.unpack(raw)[0]

    def prove(self, store_key: str, key: bytes, version: int) -> tuple[bytes | None, Any, Any]:
        """The value of a module-relative `key` at `version` with its two ICS-23 proofs.

        Returns (value or None, the store proof (SmtSpec) of key -> value or of absence
        against the store's root, the multistore proof (TendermintSpec) of store_key ->
        store root against the app hash of `version`), as `abci_query` with prove=true
        serves them. Raises VersionUnavailableError for a pruned or future version and
        ProofUnavailableError when ICS-23 cannot express the proof (empty store).
        """
        if version < 1:
            raise VersionUnavailableError("nothing is committed yet: no version to prove against")
        reader = self.at(version)
        prefix = store_prefix(store_key)
        try:
            roots = self.roots_at(version)
            store_proof = self.trees[store_key].prove(
                roots[store_key], key, lambda k: reader.get(prefix + k)
            )
            value = reader.get(prefix + key)
        except MissingNodeError as exc:
            raise VersionUnavailableError(f"version {version} was pruned: {exc}") from None
        except ProofUnavailableError:
            # A root record pruned while we read makes the store look empty.
            if self.pruned(version):
                raise VersionUnavailableError(
                    f"version {version} was pruned while proving"
                ) from None
            raise
        if self.pruned(version):
            raise VersionUnavailableError(f"version {version} was pruned while proving")
        hashes = {k.encode(): ref[2] for k, ref in roots.items()}
        top_proof = ics23.build_existence(
            store_key.encode(),
            hashes[store_key.encode()],
            ics23.TENDERMINT_SPEC,
            merkle.map_proof(hashes, store_key.encode()),
        )
        return (
            value,
            store_proof,
            ics23.pb.CommitmentProof(exist=top_proof),
        )
