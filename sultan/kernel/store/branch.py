"""Key-value views: read-only readers, writable nested branches and per-module prefix views.

A `Branch` buffers writes over a parent; `write()` pushes them one level up, so a failing
message can discard its branch while the transaction's fee and sequence bump survive.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Protocol


class KVReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]: ...


class KVStore(KVReader, Protocol):
    def set(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with `prefix` (None: no bound)."""
    raw = bytearray(prefix)
    while raw:
        if raw[-1] != 0xFF:
            raw[-1] += 1
            return bytes(raw)
        raw.pop()
    return None


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or not key:
        raise ValueError("store keys must be non-empty bytes")


class Branch:
    """A write buffer over a parent reader; reads see buffered writes first."""

    def __init__(self, parent: KVReader) -> None:
        self.parent = parent
        self._writes: dict[bytes, bytes | None] = {}
        self._sorted: list[bytes] | None = None

    def get(self, key: bytes) -> bytes | None:
        if key in self._writes:
            return self._writes[key]
        return self.parent.get(key)

    def has(self, key: bytes) -> bool:
        return self.get(key) is not None

    def set(self, key: bytes, value: bytes) -> None:
        _check_key(key)
        if not isinstance(value, bytes):
            raise TypeError("store values must be bytes")
        if key not in self._writes:
            self._sorted = None
        self._writes[key] = value

    def delete(self, key: bytes) -> None:
        _check_key(key)
        if key not in self._writes:
            self._sorted = None
        self._writes[key] = None

    def _dirty_keys(self) -> list[bytes]:
        if self._sorted is None:
            self._sorted = sorted(self._writes)
        return self._sorted

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Merge the parent's keys with buffered writes, in byte order (deletes hidden)."""
        dirty = self._dirty_keys()
        lo = 0 if start is None else bisect.bisect_left(dirty, start)
        hi = len(dirty) if end is None else bisect.bisect_left(dirty, end)
        mine = dirty[lo:hi]
        if reverse:
            mine.reverse()
        writes = dict(self._writes)  # snapshot: callers may write while iterating
        parent = self.parent.iterate(start, end, reverse)
        before = (lambda a, b: a > b) if reverse else (lambda a, b: a < b)
        i = 0
        nxt = next(parent, None)
        while nxt is not None or i < len(mine):
            if i < len(mine) and (nxt is None or not before(nxt[0], mine[i])):
                key = mine[i]
                i += 1
                if nxt is not None and nxt[0] == key:
                    nxt = next(parent, None)
                value = writes[key]
                if value is not None:
                    yield key, value
            else:
                assert nxt is not None
                yield nxt
                nxt = next(parent, None)

    def branch(self) -> Branch:
        return Branch(self)

    def changes(self) -> list[tuple[bytes, bytes | None]]:
        """Buffered writes in key order (None = delete)."""
        return [(k, self._writes[k]) for k in self._dirty_keys()]

    def write(self) -> None:
        """Push buffered writes into the parent branch and clear this one."""
        parent = self.parent
        if not isinstance(parent, Branch):
            raise TypeError("only a nested branch can be written into its parent")
        for key, value in self.changes():
            if value is None:
                parent.delete(key)
            else:
                parent.set(key, value)
        self.discard()

    def discard(self) -> None:
        self._writes.clear()
        self._sorted = None

    def __len__(self) -> int:
        return len(self._writes)


class PrefixStore:
    """A view of `parent` restricted to keys under `prefix`, with the prefix stripped."""

    def __init__(self, parent: KVStore, prefix: bytes, end: bytes | None = None) -> None:
        """`end` may pass `prefix_end(prefix)` precomputed (views are made per store access)."""
        if not prefix:
            raise ValueError("prefix must be non-empty")
        self.parent = parent
        self.prefix = prefix
        self._end = end if end is not None else prefix_end(prefix)

    def get(self, key: bytes) -> bytes | None:
        _check_key(key)
        return self.parent.get(self.prefix + key)

    def has(self, key: bytes) -> bool:
        return self.get(key) is not None

    def set(self, key: bytes, value: bytes) -> None:
        _check_key(key)
        self.parent.set(self.prefix + key, value)

    def delete(self, key: bytes) -> None:
        _check_key(key)
        self.parent.delete(self.prefix + key)

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        lo = self.prefix + start if start else self.prefix
        hi = self.prefix + end if end else self._end
        cut = len(self.prefix)
        for key, value in self.parent.iterate(lo, hi, reverse):
            yield key[cut:], value

    def iterate_prefix(self, prefix: bytes, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        return self.iterate(prefix or None, prefix_end(prefix) if prefix else None, reverse)
