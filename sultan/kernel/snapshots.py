"""State-sync snapshots of application state: taking, storing, serving and restoring them.

Format 1 (`FORMAT`): the payload is a header record (chain id, initial height, consensus
params, as JSON) followed by every (key, value) of module state committed at the snapshot
height, in key order, each record `be32 len | bytes`. The payload is cut into chunks of at
most `CHUNK_SIZE` bytes; each chunk is sha256-hashed and the snapshot hash is
`sha256("sultan-snapshot" | be32 format | be64 height | app hash | chunk hashes...)`, so
the hash binds the format, the height, the state commitment and every chunk. The ABCI
`Snapshot.metadata` carries the app hash and the chunk hashes (JSON), which lets a
restoring node check each chunk as it arrives.

On disk: `data/snapshots/<height>/` with `snapshot.json` and `chunk-00000`... Written to
a temporary directory `.tmp-*`, every file and the directory fsynced, then renamed: a
snapshot is there whole or not at all, even after a crash or power loss. Deleting renames
the directory to `.del-*` before removing its files, so a kill in the middle never leaves a
listed snapshot with missing chunks. `SnapshotStore.recover()` (at node start-up) removes
what a killed writer or deleter left behind and logs it; `list()` never shows a snapshot
whose chunk files are not all there with the sizes its description gives.

`sultan snapshot restore` marks a restore in progress (`restore-in-progress.json` in the
snapshot directory) before it writes the state and removes the mark once the state is
written; a node refuses to start while the mark is there (`SnapshotManager`), so a killed
restore is re-run to completion, never half-used.

Restore rebuilds the state (the sparse Merkle trees are history-independent, so the same
keys and values give the same roots) in memory first, compares the resulting app hash with
the snapshot's (and the trusted one CometBFT offers), and only then writes it, in one
batch, into the (empty) database. A bad chunk, a truncated payload or a different app hash
leaves the database untouched.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import os
import shutil
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
from prometheus_client.core import CounterMetricFamily, Metric

from sultan.kernel.store.db import Database, WriteOp
from sultan.kernel.store.versioned import META_EARLIEST, CommittedState, VersionReader

log = logging.getLogger("sultan.snapshots")

FORMAT = 1
CHUNK_SIZE = 4 << 20
_BE32 = struct.Struct(">I")
_BE64 = struct.Struct(">Q")
META_FILE = "snapshot.json"
TMP_PREFIX = ".tmp-"  # a snapshot being written
TRASH_PREFIX = ".del-"  # a snapshot being deleted
RESTORE_MARKER = "restore-in-progress.json"


class SnapshotError(RuntimeError):
    """A snapshot is missing, malformed or does not verify."""


@attrs.frozen
class SnapshotInfo:
    height: int
    format: int
    app_hash: bytes
    chunk_hashes: tuple[bytes, ...]
    size: int

    @property
    def chunks(self) -> int:
        return len(self.chunk_hashes)

    @property
    def hash(self) -> bytes:
        return snapshot_hash(self.format, self.height, self.app_hash, self.chunk_hashes)

    def metadata(self) -> bytes:
        return json.dumps(
            {
                "app_hash": self.app_hash.hex(),
                "chunk_hashes": [h.hex() for h in self.chunk_hashes],
                "size": self.size,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_abci(cls, snapshot: Any) -> SnapshotInfo:
        try:
            meta = json.loads(snapshot.metadata)
            info = cls(
                height=int(snapshot.height),
                format=int(snapshot.format),
                app_hash=bytes.fromhex(meta["app_hash"]),
                chunk_hashes=tuple(bytes.fromhex(h) for h in meta["chunk_hashes"]),
                size=int(meta["size"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotError(f"malformed snapshot metadata: {exc}") from None
        if info.chunks != snapshot.chunks or info.hash != bytes(snapshot.hash):
            raise SnapshotError("snapshot hash or chunk count does not match its metadata")
        return info

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "format": self.format,
            "app_hash": self.app_hash.hex().upper(),
            "hash": self.hash.hex().upper(),
            "chunks": self.chunks,
            "size": self.size,
            "chunk_hashes": [h.hex() for h in self.chunk_hashes],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SnapshotInfo:
        return cls(
            height=int(d["height"]),
            format=int(d["format"]),
            app_hash=bytes.fromhex(d["app_hash"]),
            chunk_hashes=tuple(bytes.fromhex(h) for h in d["chunk_hashes"]),
            size=int(d["size"]),
        )


def snapshot_hash(fmt: int, height: int, app_hash: bytes, chunk_hashes: tuple[bytes, ...]) -> bytes:
    h = hashlib.sha256(b"sultan-snapshot")
    h.update(_BE32.pack(fmt) + _BE64.pack(height) + app_hash)
    for chunk_hash in chunk_hashes:
        h.update(chunk_hash)
    return h.digest()


def _record(data: bytes) -> bytes:
    return _BE32.pack(len(data)) + data


def payload_records(db: Database, store_keys: list[str], height: int) -> Iterator[bytes]:
    """The format-1 payload of the state committed at `height`, as records."""
    header = {
        "chain_id": (db.get("meta", b"chain_id") or b"").decode(),
        "initial_height": int(db.get("meta", b"initial_height") or b"1"),
        "consensus_params": (db.get("meta", b"consensus_params") or b"").hex(),
        "store_keys": sorted(store_keys),
    }
    yield _record(json.dumps(header, sort_keys=True).encode())
    for key, value in VersionReader(db, height).iterate():
        yield _record(key) + _record(value)


def chunked(records: Iterator[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    buf = bytearray()
    for rec in records:
        buf += rec
        while len(buf) >= chunk_size:
            yield bytes(buf[:chunk_size])
            del buf[:chunk_size]
    if buf:
        yield bytes(buf)


def parse_payload(payload: bytes) -> tuple[dict[str, Any], list[tuple[bytes, bytes]]]:
    """(header, pairs) of a format-1 payload; SnapshotError if it is truncated or malformed."""
    pos = 0

    def take() -> bytes:
        nonlocal pos
        if pos + 4 > len(payload):
            raise SnapshotError("snapshot payload is truncated")
        (n,) = _BE32.unpack_from(payload, pos)
        if pos + 4 + n > len(payload):
            raise SnapshotError("snapshot payload is truncated")
        data = payload[pos + 4 : pos + 4 + n]
        pos += 4 + n
        return data

    try:
        header = json.loads(take())
    except ValueError as exc:
        raise SnapshotError(f"bad snapshot header: {exc}") from None
    pairs: list[tuple[bytes, bytes]] = []
    while pos < len(payload):
        key = take()
        pairs.append((key, take()))
    return header, pairs


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable (POSIX: fsync the directory)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotStore:
    """`data/snapshots/<height>/`: snapshots on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _read(self, d: Path) -> SnapshotInfo | None:
        """The description of the snapshot in `d` if it is complete, else None.

        Complete: `snapshot.json` parses, names the directory's height, and every chunk
        file is there with the sizes summing to the described size (the hashes are checked
        by whoever reads the chunks: the restoring node, `sultan snapshot restore`).
        """
        try:
            info = SnapshotInfo.from_json(json.loads((d / META_FILE).read_text()))
            if str(info.height) != d.name:
                return None
            size = sum((d / f"chunk-{i:05d}").stat().st_size for i in range(info.chunks))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return info if size == info.size else None

    def list(self) -> builtins.list[SnapshotInfo]:
        """Complete snapshots, newest first (an incomplete one is never listed or served)."""
        out = []
        if self.root.is_dir():
            for d in self.root.iterdir():
                if d.name.isdigit() and d.is_dir():
                    info = self._read(d)
                    if info is not None:
                        out.append(info)
        return sorted(out, key=lambda s: s.height, reverse=True)

    def get(self, height: int) -> SnapshotInfo:
        info = self._read(self.root / str(height))
        if info is None:
            raise SnapshotError(f"no snapshot at height {height}")
        return info

    def chunk(self, height: int, index: int) -> bytes:
        path = self.root / str(height) / f"chunk-{index:05d}"
        return path.read_bytes() if path.exists() else b""

    def save(
        self,
        height: int,
        app_hash: bytes,
        chunks: Iterator[bytes],
        progress: Callable[[int, int], None] | None = None,
    ) -> SnapshotInfo:
        final = self.root / str(height)
        if final.exists():
            existing = self._read(final)
            if existing is not None:
                return existing
            self._discard(final)  # incomplete (a crash of an older version): write anew
        tmp = self.root / f"{TMP_PREFIX}{height}-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        hashes: list[bytes] = []
        size = 0
        try:
            for i, chunk in enumerate(chunks):
                _write_synced(tmp / f"chunk-{i:05d}", chunk)
                hashes.append(hashlib.sha256(chunk).digest())
                size += len(chunk)
                if progress is not None:
                    progress(i + 1, size)
            info = SnapshotInfo(height, FORMAT, app_hash, tuple(hashes), size)
            _write_synced(tmp / META_FILE, json.dumps(info.to_json(), indent=1).encode())
            # Contents durable before the rename publishes them, and the rename durable.
            _fsync_dir(tmp)
            os.replace(tmp, final)
            _fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return info

    def _discard(self, path: Path) -> None:
        """Remove a snapshot directory: renamed away first (atomic), then its files."""
        trash = self.root / f"{TRASH_PREFIX}{path.name}-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(path, trash)
        _fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    def delete(self, height: int) -> None:
        path = self.root / str(height)
        if not path.is_dir():
            raise SnapshotError(f"no snapshot at height {height}")
        self._discard(path)

    def prune(self, keep_recent: int) -> builtins.list[int]:
        if keep_recent <= 0:
            return []
        removed = [s.height for s in self.list()[keep_recent:]]
        for height in removed:
            self.delete(height)
        return removed

    def recover(self) -> builtins.list[str]:
        """Remove what a killed writer or deleter left; the names removed (each logged).

        Only call it while no other process writes snapshots into this directory (the node
        and `sultan snapshot create` hold the database lock when they do).
        """
        removed: builtins.list[str] = []
        if not self.root.is_dir():
            return removed
        for d in sorted(self.root.iterdir()):
            if not d.is_dir():
                if d.name.startswith(TMP_PREFIX):  # a restore mark being written
                    d.unlink(missing_ok=True)
                continue
            if d.name.startswith(TMP_PREFIX):
                why = "a snapshot interrupted while being written"
            elif d.name.startswith(TRASH_PREFIX):
                why = "a snapshot interrupted while being deleted"
            elif d.name.isdigit() and self._read(d) is None:
                why = "an incomplete snapshot (missing or short files)"
            else:
                continue
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
            log.warning("snapshots: removed %s: %s", d, why)
        if removed:
            _fsync_dir(self.root)
        return removed

    # -- `sultan snapshot restore` in progress -------------------------------------------

    def begin_restore(self, info: SnapshotInfo, source: str) -> None:
        """Mark a restore of `info` from `source` as started (durably, before any write)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{TMP_PREFIX}{RESTORE_MARKER}"
        mark = {"height": info.height, "app_hash": info.app_hash.hex().upper(), "file": source}
        _write_synced(tmp, json.dumps(mark, sort_keys=True).encode())
        os.replace(tmp, self.root / RESTORE_MARKER)
        _fsync_dir(self.root)

    def end_restore(self) -> None:
        marker = self.root / RESTORE_MARKER
        if marker.exists():
            marker.unlink()
            _fsync_dir(self.root)

    def restore_in_progress(self) -> dict[str, Any] | None:
        """The mark of a restore that has not finished (killed), or None."""
        marker = self.root / RESTORE_MARKER
        try:
            mark = json.loads(marker.read_text())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ValueError:
            return {"height": "?", "app_hash": "?", "file": "?"}
        return mark if isinstance(mark, dict) else {"height": "?", "app_hash": "?", "file": "?"}


def create_snapshot(
    db: Database,
    store: SnapshotStore,
    height: int,
    store_keys: list[str],
    app_hash: bytes,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> SnapshotInfo:
    """Snapshot the state committed at `height` (readable while later blocks commit)."""
    info = store.save(
        height, app_hash, chunked(payload_records(db, store_keys, height), chunk_size), progress
    )
    raw = db.get("meta", META_EARLIEST)
    earliest = _BE64.unpack(raw)[0] if raw else 0
    if earliest > height:  # pruned while we read: what we wrote may mix versions
        store.delete(height)
        raise SnapshotError(
            f"height {height} was pruned while the snapshot was taken (raise pruning-keep-recent)"
        )
    return info


def restore_ops(
    payload: bytes, height: int, app_hash: bytes, store_keys: list[str]
) -> tuple[list[WriteOp], dict[str, Any]]:
    """Write ops that install `payload` as the committed state at `height` in an empty DB.

    The resulting app hash is computed first (on an in-memory copy) and must equal
    `app_hash`; otherwise SnapshotError and nothing is written.
    """
    header, pairs = parse_payload(payload)
    if sorted(header.get("store_keys", [])) != sorted(store_keys):
        raise SnapshotError(
            f"snapshot stores {header.get('store_keys')} differ from this node's {store_keys}"
        )
    mem = _MemoryDatabase()
    state = CommittedState(mem, store_keys)  # type: ignore[arg-type]
    ops, got, _roots = state.prepare_commit(pairs, height, 0)
    if got != app_hash:
        raise SnapshotError(
            f"restored state has app hash {got.hex().upper()}, "
            f"the snapshot promises {app_hash.hex().upper()}"
        )
    ops = [
        *ops,
        ("meta", b"chain_id", str(header["chain_id"]).encode()),
        ("meta", b"initial_height", str(header["initial_height"]).encode()),
        ("meta", b"consensus_params", bytes.fromhex(header["consensus_params"])),
        ("meta", META_EARLIEST, _BE64.pack(height)),
    ]
    return ops, header


class _MemoryDatabase:
    """The read side of `Database` over nothing (an empty store), for restore dry runs."""

    def get(self, cf: str, key: bytes) -> bytes | None:
        return None

    def iterate(self, cf: str, *args: Any, **kw: Any) -> Iterator[tuple[bytes, bytes]]:
        return iter(())

    def seek_prev(self, cf: str, key: bytes) -> tuple[bytes, bytes] | None:
        return None

    def seek_prev_many(self, cf: str, keys: Iterable[bytes]) -> list[tuple[bytes, bytes] | None]:
        return [None for _ in keys]


class RestoreSession:
    """One offered snapshot being received chunk by chunk (ABCI OfferSnapshot/Apply...)."""

    def __init__(self, info: SnapshotInfo, trusted_app_hash: bytes) -> None:
        self.info = info
        self.trusted_app_hash = trusted_app_hash
        self.chunks: dict[int, bytes] = {}

    def add(self, index: int, chunk: bytes) -> bool:
        """Keep chunk `index` if its hash matches; False if it does not."""
        if not 0 <= index < self.info.chunks:
            return False
        if hashlib.sha256(chunk).digest() != self.info.chunk_hashes[index]:
            return False
        self.chunks[index] = chunk
        return True

    @property
    def complete(self) -> bool:
        return len(self.chunks) == self.info.chunks

    def payload(self) -> bytes:
        return b"".join(self.chunks[i] for i in range(self.info.chunks))


class SnapshotManager:
    """Takes a snapshot every `interval` blocks in a background thread; keeps `keep_recent`."""

    def __init__(
        self,
        db: Database,
        store: SnapshotStore,
        store_keys: list[str],
        interval: int,
        keep_recent: int,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.db = db
        self.store = store
        self.store_keys = sorted(store_keys)
        self.interval = interval
        self.keep_recent = keep_recent
        self.chunk_size = chunk_size
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: BaseException | None = None
        self.taken = 0
        self.failures = 0
        mark = store.restore_in_progress()
        if mark is not None:
            raise SnapshotError(
                f"a `sultan snapshot restore` (height {mark.get('height')}, file "
                f"{mark.get('file')}) into this home was interrupted: run it again to complete "
                f"it, or `sultan unsafe-reset-all` to start over ({store.root / RESTORE_MARKER})"
            )
        # The node holds the database lock, so nothing else writes snapshots here now.
        store.recover()

    def on_commit(self, height: int, app_hash: bytes) -> None:
        """Called after each commit; starts a snapshot at multiples of the interval."""
        if self.interval <= 0 or height % self.interval != 0:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                log.warning("snapshot at height %d skipped: the previous one is running", height)
                return
            self._thread = threading.Thread(
                target=self._take, args=(height, app_hash), name="snapshot", daemon=True
            )
            self._thread.start()

    def _take(self, height: int, app_hash: bytes) -> None:
        try:
            info = create_snapshot(
                self.db, self.store, height, self.store_keys, app_hash, self.chunk_size
            )
            self.taken += 1
            self.store.prune(self.keep_recent)
            log.info(
                "snapshot height=%d chunks=%d hash=%s", height, info.chunks, info.hash.hex().upper()
            )
        except Exception as exc:  # a failed snapshot (disk full, I/O error) must not stop blocks
            self.last_error = exc
            self.failures += 1
            log.error("snapshot at height %d failed: %s", height, exc)

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector protocol (the node registers the manager in its registry)."""
        yield CounterMetricFamily(
            "sultan_snapshots_taken", "State-sync snapshots written", value=self.taken
        )
        yield CounterMetricFamily(
            "sultan_snapshot_failures",
            "State-sync snapshots that failed (disk full, I/O error, pruned height); "
            "block production goes on, the log says why",
            value=self.failures,
        )

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
