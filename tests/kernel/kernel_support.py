"""Helpers shared by the kernel tests (imported as a plain module: tests/kernel is on sys.path)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sultan.kernel.store.db import Database
from sultan.kernel.store.versioned import CommittedState


class MemReader:
    """A trivially correct KVReader over a dict (the reference the stores are checked against)."""

    def __init__(self, data: Mapping[bytes, bytes] | None = None) -> None:
        self.data: dict[bytes, bytes] = dict(data or {})

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return iter(model_range(self.data, start, end, reverse))


def model_range(
    data: Mapping[bytes, bytes],
    start: bytes | None = None,
    end: bytes | None = None,
    reverse: bool = False,
) -> list[tuple[bytes, bytes]]:
    """The items of `data` with start <= key < end, in byte order (or reversed)."""
    items = sorted(
        (k, v)
        for k, v in data.items()
        if (start is None or k >= start) and (end is None or k < end)
    )
    if reverse:
        items.reverse()
    return items


def commit(
    state: CommittedState, changes: list[tuple[bytes, bytes | None]], keep_recent: int = 0
) -> bytes:
    """Commit `changes` as the next version the way the Application does; returns the app hash."""
    version = state.height + 1
    ops, app_hash, roots = state.prepare_commit(changes, version, keep_recent)
    state.db.write(ops)
    state.apply_commit(version, app_hash, roots, keep_recent)
    return app_hash


@contextmanager
def temp_db() -> Iterator[Database]:
    """A fresh RocksDB (usable inside hypothesis examples, unlike tmp_path)."""
    with tempfile.TemporaryDirectory(prefix="sultan-test-") as tmp:
        db = Database(os.path.join(tmp, "application.db"))
        try:
            yield db
        finally:
            db.close()
