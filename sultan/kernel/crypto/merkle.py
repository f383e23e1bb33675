"""RFC-6962 Merkle trees as CometBFT hashes them (`crypto/merkle`): leaf 0x00, inner 0x01."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
INNER_PREFIX = b"\x01"
EMPTY_HASH = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def inner_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(INNER_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 1:
        return hashes[0]
    k = _split_point(n)
    return inner_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return EMPTY_HASH
    return _root_of_hashes(hashes)


def hash_from_byte_slices(items: Sequence[bytes]) -> bytes:
    """CometBFT `merkle.HashFromByteSlices`: the root over leaves `items`."""
    return root_from_leaf_hashes([leaf_hash(item) for item in items])


def uvarint(n: int) -> bytes:
    if n < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_prefixed(data: bytes) -> bytes:
    return uvarint(len(data)) + data


def kv_leaf(key: bytes, value: bytes) -> bytes:
    """A key/value leaf as CometBFT's `merkle.HashFromMap` encodes it: both length-prefixed,
    the value replaced by its SHA-256."""
    return length_prefixed(key) + length_prefixed(hashlib.sha256(value).digest())


def hash_from_map(entries: dict[bytes, bytes]) -> bytes:
    """Root over key/value pairs sorted by key (how the Cosmos multistore commits stores)."""
    return hash_from_byte_slices([kv_leaf(k, entries[k]) for k in sorted(entries)])
