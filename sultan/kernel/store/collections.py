"""Typed collections over a module's store: Item, Map and Sequence with explicit codecs.

A module declares its state once, in `state.py`, as collections with one-byte prefixes and
names; a `Schema` rejects overlapping prefixes when it is built. Values that are records
are attrs classes encoded canonically with msgpack (fields in declaration order, no maps),
so the bytes — and the app hash — never depend on dict order.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar, cast

import attrs
import msgpack

from sultan.kernel.store.branch import KVReader, KVStore, prefix_end

K = TypeVar("K")
V = TypeVar("V")
_U64 = struct.Struct(">Q")


class Codec(Protocol[V]):
    def encode(self, value: V) -> bytes: ...

    def decode(self, data: bytes) -> V: ...


class U64Codec:
    """Big-endian, so numeric order is byte order (usable as a key)."""

    def encode(self, value: int) -> bytes:
        if not 0 <= value < 1 << 64:
            raise OverflowError(f"{value} does not fit in u64")
        return _U64.pack(value)

    def decode(self, data: bytes) -> int:
        return int(_U64.unpack(data)[0])


class StringKeyCodec:
    """UTF-8 with a one-byte length prefix, so composite keys stay unambiguous."""

    def encode(self, value: str) -> bytes:
        raw = value.encode()
        if len(raw) > 255:
            raise ValueError("string key longer than 255 bytes")
        return bytes([len(raw)]) + raw

    def decode(self, data: bytes) -> str:
        return data[1 : 1 + data[0]].decode()


class BytesKeyCodec:
    """Length-prefixed bytes (addresses are keyed this way, as in the Cosmos SDK)."""

    def encode(self, value: bytes) -> bytes:
        if len(value) > 255:
            raise ValueError("bytes key longer than 255 bytes")
        return bytes([len(value)]) + value

    def decode(self, data: bytes) -> bytes:
        return data[1 : 1 + data[0]]


class RecordCodec(Generic[V]):
    """An attrs record as a msgpack array of its fields, in declaration order.

    Field values must be ints, strs, bytes, bools, None or lists of those (no floats, no
    dicts): that keeps the encoding canonical.
    """

    # Decoded records by their bytes: a tx reads the same params and accounts several times.
    # Only for frozen classes whose decoded fields are all immutable, so sharing is safe.
    MEMO_SIZE = 4096
    MEMO_MAX_BYTES = 1024  # bigger ones are decoded each time: ~10 MiB per record type at most

    def __init__(self, cls: type[V]) -> None:
        if not attrs.has(cls):
            raise TypeError(f"{cls!r} is not an attrs class")
        self.cls = cls
        self.fields = [f.name for f in attrs.fields(cls)]  # type: ignore[arg-type]
        self._memo: dict[bytes, V] | None = {} if _is_frozen(cls) else None

    def encode(self, value: V) -> bytes:
        row = [getattr(value, name) for name in self.fields]
        for name, item in zip(self.fields, row, strict=True):
            _check_canonical(item, f"{self.cls.__name__}.{name}")
        return msgpack.packb(row, use_bin_type=True)

    def decode(self, data: bytes) -> V:
        memo = self._memo if len(data) <= self.MEMO_MAX_BYTES else None
        if memo is not None:
            found = memo.get(data)
            if found is not None:
                return found
        row = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
        if not isinstance(row, list) or len(row) != len(self.fields):
            raise ValueError(f"corrupt {self.cls.__name__} record")
        values = [tuple(v) if isinstance(v, list) else v for v in row]
        value = cast(V, self.cls(*values))
        if memo is not None and not any(
            isinstance(item, list) for v in values if isinstance(v, tuple) for item in v
        ):
            if len(memo) >= self.MEMO_SIZE:
                memo.clear()
            memo[bytes(data)] = value
        return value


def _is_frozen(cls: type) -> bool:
    """An attrs class made with `frozen=True` (attrs has no public test for it)."""
    try:
        from attr._make import _frozen_setattrs
    except ImportError:  # pragma: no cover - a future attrs: simply no memo
        return False
    return getattr(cls, "__setattr__", None) is _frozen_setattrs


def _check_canonical(value: Any, where: str) -> None:
    if isinstance(value, bool | int | str | bytes) or value is None:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not -(1 << 256) < value < 1 << 256
        ):
            raise OverflowError(f"{where}: integer out of 256-bit range")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_canonical(item, where)
        return
    raise TypeError(f"{where}: {type(value).__name__} values are not allowed in state records")


U64 = U64Codec()
STRING_KEY = StringKeyCodec()
BYTES_KEY = BytesKeyCodec()


@attrs.frozen
class Item(Generic[V]):
    """A single value under one prefix."""

    prefix: bytes
    name: str
    codec: Any

    def get(self, kv: KVReader, default: V | None = None) -> V | None:
        raw = kv.get(self.prefix)
        return default if raw is None else self.codec.decode(raw)

    def set(self, kv: KVStore, value: V) -> None:
        kv.set(self.prefix, self.codec.encode(value))

    def delete(self, kv: KVStore) -> None:
        kv.delete(self.prefix)


@attrs.frozen
class Map(Generic[K, V]):
    """Values keyed by `prefix + key_codec(key)`, iterable in key byte order."""

    prefix: bytes
    name: str
    key_codec: Any
    value_codec: Any

    def _key(self, key: K) -> bytes:
        return self.prefix + self.key_codec.encode(key)

    def get(self, kv: KVReader, key: K) -> V | None:
        raw = kv.get(self._key(key))
        return None if raw is None else self.value_codec.decode(raw)

    def has(self, kv: KVReader, key: K) -> bool:
        return kv.get(self._key(key)) is not None

    def set(self, kv: KVStore, key: K, value: V) -> None:
        kv.set(self._key(key), self.value_codec.encode(value))

    def delete(self, kv: KVStore, key: K) -> None:
        kv.delete(self._key(key))

    def items(
        self, kv: KVReader, start: K | None = None, reverse: bool = False
    ) -> Iterator[tuple[K, V]]:
        lo = self._key(start) if start is not None else self.prefix
        cut = len(self.prefix)
        for raw_key, raw_value in kv.iterate(lo, prefix_end(self.prefix), reverse):
            yield self.key_codec.decode(raw_key[cut:]), self.value_codec.decode(raw_value)


@attrs.frozen
class Sequence:
    """A monotonically increasing u64 counter (ids, account numbers)."""

    prefix: bytes
    name: str

    def peek(self, kv: KVReader) -> int:
        raw = kv.get(self.prefix)
        return 0 if raw is None else U64.decode(raw)

    def next(self, kv: KVStore) -> int:
        value = self.peek(kv)
        kv.set(self.prefix, U64.encode(value + 1))
        return value


class Schema:
    """A module's collections; overlapping prefixes or names are rejected here."""

    def __init__(self, *collections: Item[Any] | Map[Any, Any] | Sequence) -> None:
        seen: dict[bytes, str] = {}
        names: set[str] = set()
        for coll in collections:
            if not coll.prefix:
                raise ValueError(f"collection {coll.name!r} has an empty prefix")
            if coll.name in names:
                raise ValueError(f"duplicate collection name {coll.name!r}")
            names.add(coll.name)
            for prefix, other in seen.items():
                if prefix.startswith(coll.prefix) or coll.prefix.startswith(prefix):
                    raise ValueError(
                        f"collection {coll.name!r} prefix {coll.prefix!r} overlaps {other!r} prefix {prefix!r}"
                    )
            seen[coll.prefix] = coll.name
        self.collections = collections
