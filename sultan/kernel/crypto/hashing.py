"""SHA-256 for the state commitment: the one place the Merkle code gets its hashing from.

Every hash of the state tree (SMT leaves and inner nodes, key and value prehashes, the
multistore's simple Merkle tree) goes through these functions, so swapping the backend
(e.g. for the batch entry points of the C crypto core in `native/`) is a change here only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

DIGEST_SIZE = 32
_sha256 = hashlib.sha256


def sha256(data: bytes) -> bytes:
    """SHA-256 of `data` (32 bytes)."""
    return _sha256(data).digest()


def sha256_many(items: Iterable[bytes]) -> list[bytes]:
    """SHA-256 of each item, in order (the batch shape the crypto core exposes)."""
    return [_sha256(item).digest() for item in items]
