"""RFC-6962 Merkle trees as CometBFT hashes them (`crypto/merkle`): leaf 0x00, inner 0x01.

Whole trees (`hash_from_byte_slices`, `root_from_leaf_hashes`, `hash_from_map`, proofs) are
computed by the C crypto core in one call each (`native.py`); the single-node helpers stay
for callers that assemble proofs node by node.
"""

from __future__ import annotations

from collections.abc import Sequence

from sultan.kernel.crypto import native
from sultan.kernel.crypto.hashing import sha256

LEAF_PREFIX = b"\x00"
INNER_PREFIX = b"\x01"
EMPTY_HASH = sha256(b"")


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(LEAF_PREFIX + leaf)


def inner_hash(left: bytes, right: bytes) -> bytes:
    return sha256(INNER_PREFIX + left + right)


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
    """The root over precomputed 32-byte leaf hashes (crypto core)."""
    return native.merkle_root_from_leaf_hashes(hashes)


def hash_from_byte_slices(items: Sequence[bytes]) -> bytes:
    """CometBFT `merkle.HashFromByteSlices`: the root over leaves `items` (crypto core)."""
    return native.merkle_root(items)


def proofs_from_byte_slices(items: Sequence[bytes]) -> tuple[bytes, list[native.MerkleProof]]:
    """CometBFT `merkle.ProofsFromByteSlices`: the root and each item's proof (crypto core)."""
    return native.merkle_proofs(items)


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
    return length_prefixed(key) + length_prefixed(sha256(value))


def hash_from_map(entries: dict[bytes, bytes]) -> bytes:
    """Root over key/value pairs sorted by key (how the Cosmos multistore commits stores)."""
    keys = sorted(entries)
    value_hashes = native.sha256_many([entries[k] for k in keys])
    return native.merkle_root(
        [length_prefixed(k) + length_prefixed(h) for k, h in zip(keys, value_hashes, strict=True)]
    )


def audit_path(hashes: Sequence[bytes], index: int) -> list[tuple[bool, bytes]]:
    """The siblings of leaf `index` from the leaf up to the root, as (sibling_is_left, hash).

    This is CometBFT's `Proof.Aunts` with each aunt's side made explicit (what an ICS-23
    `InnerOp` needs): a left sibling goes into the op's prefix, a right one into its suffix.
    """
    if not 0 <= index < len(hashes):
        raise IndexError(f"leaf {index} of {len(hashes)}")
    path: list[tuple[bool, bytes]] = []
    lo, hi = 0, len(hashes)
    while hi - lo > 1:
        mid = lo + _split_point(hi - lo)
        if index < mid:
            path.append((False, _root_of_hashes(hashes[mid:hi])))
            hi = mid
        else:
            path.append((True, _root_of_hashes(hashes[lo:mid])))
            lo = mid
    path.reverse()
    return path


def map_proof(entries: dict[bytes, bytes], key: bytes) -> list[tuple[bool, bytes]]:
    """`audit_path` of `key`'s leaf in `hash_from_map(entries)`."""
    keys = sorted(entries)
    return audit_path([leaf_hash(kv_leaf(k, entries[k])) for k in keys], keys.index(key))


# -- the sparse Merkle tree of each module store (ICS-23 SmtSpec hashing) -----------------------
# Its leaves are sha256(0x00 || sha256(key) || sha256(value)) and its inner nodes
# sha256(0x01 || left || right); the crypto core hashes them (`native.smt_nodes`, from smt.py).

SMT_EMPTY = bytes(32)  # the hash of an empty subtree (SmtSpec's empty_child)
