"""SHA-256 for the state commitment: the one place the Merkle code gets its hashing from.

Every hash of the state tree that is not a node (key and value prehashes, proof checks) and
of the multistore's simple Merkle tree goes through these functions, which call the C crypto
core (`native/`); the state tree's nodes are hashed by the core's node-hash programs
(`native.smt_nodes`, one call per commit of a store).
"""

from __future__ import annotations

from collections.abc import Sequence

from sultan.kernel.crypto import native

DIGEST_SIZE = 32


def sha256(data: bytes) -> bytes:
    """SHA-256 of `data` (32 bytes)."""
    return native.sha256(data)


def sha256_many(items: Sequence[bytes]) -> list[bytes]:
    """SHA-256 of each item, in order, in one call of the crypto core."""
    return native.sha256_many(items)
