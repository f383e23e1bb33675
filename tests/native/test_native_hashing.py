"""The crypto core's SHA-256 and RFC-6962 Merkle entry points against independent references:
hashlib, the RFC 6962 definition written out in Python, and CometBFT's published vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sultan.kernel.crypto import merkle, native


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(items: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash, straight from the definition."""
    n = len(items)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + items[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + mth(items[:k]) + mth(items[k:]))


def root_from_aunts(index: int, total: int, leaf: bytes, aunts: tuple[bytes, ...]) -> bytes:
    """CometBFT `computeHashFromAunts` (crypto/merkle/proof.go)."""
    if total == 1:
        assert not aunts
        return leaf
    assert aunts
    k = 1
    while k * 2 < total:
        k *= 2
    if index < k:
        return sha(b"\x01" + root_from_aunts(index, k, leaf, aunts[:-1]) + aunts[-1])
    return sha(b"\x01" + aunts[-1] + root_from_aunts(index - k, total - k, leaf, aunts[:-1]))


def test_sha256_fips_vectors() -> None:
    digests = native.sha256_many(
        [b"abc", b"", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"]
    )
    assert [d.hex() for d in digests] == [
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ]


@given(st.lists(st.binary(max_size=300), max_size=60), st.sampled_from([0, 1, 2, 3]))
@settings(max_examples=200, deadline=None)
def test_sha256_many_matches_hashlib(items: list[bytes], threads: int) -> None:
    assert native.sha256_many(items, threads=threads) == [sha(x) for x in items]


def test_sha256_many_big_batches_agree_across_thread_counts() -> None:
    items = [bytes([i % 251]) * (i % 700) for i in range(20_000)]
    want = [sha(x) for x in items]
    assert native.sha256_many(items, threads=1) == want
    assert native.sha256_many(items, threads=2) == want
    assert native.sha256_many(items, threads=0) == want


def test_sha256_accepts_bytearray_and_memoryview() -> None:
    assert native.sha256_many([bytearray(b"ab"), memoryview(b"cd")]) == [sha(b"ab"), sha(b"cd")]
    assert native.sha256(b"x" * 1_000_000) == sha(b"x" * 1_000_000)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ([b""], "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        ([bytes([1, 2, 3])], "054edec1d0211f624fed0cbca9d4f9400b0e491c43742af2c5b0abebf0c990d8"),
        (
            [bytes([1, 2, 3]), bytes([4, 5, 6])],
            "82e6cfce00453804379b53962939eaa7906b39904be0813fcadd31b100773c4b",
        ),
        (
            [bytes([1, 2]), bytes([3, 4]), bytes([5, 6]), bytes([7, 8]), bytes([9, 10])],
            "f326493eceab4f2d9ffbc78c59432a0a005d6ea98392045c74df5d14a113be18",
        ),
    ],
)
def test_merkle_root_cometbft_vectors(items: list[bytes], expected: str) -> None:
    assert native.merkle_root(items).hex() == expected
    root, proofs = native.merkle_proofs(items)
    assert root.hex() == expected
    assert len(proofs) == len(items)


@given(st.lists(st.binary(max_size=40), max_size=80), st.sampled_from([0, 1, 2]))
@settings(max_examples=150, deadline=None)
def test_merkle_root_and_proofs_match_rfc6962(items: list[bytes], threads: int) -> None:
    want = mth(items)
    assert native.merkle_root(items, threads=threads) == want
    leaf_hashes = [sha(b"\x00" + x) for x in items]
    assert native.merkle_root_from_leaf_hashes(leaf_hashes) == want
    root, proofs = native.merkle_proofs(items, threads=threads)
    assert root == want
    for i, proof in enumerate(proofs):
        assert (proof.total, proof.index, proof.leaf_hash) == (len(items), i, leaf_hashes[i])
        assert root_from_aunts(i, len(items), proof.leaf_hash, proof.aunts) == want


def test_proofs_match_cometbft_aunt_order_on_a_five_leaf_tree() -> None:
    items = [bytes([i]) for i in range(5)]
    la, lb, lc, ld, le = (sha(b"\x00" + x) for x in items)

    def node(left: bytes, right: bytes) -> bytes:
        return sha(b"\x01" + left + right)

    _root, proofs = native.merkle_proofs(items)
    assert proofs[0].aunts == (lb, node(lc, ld), le)
    assert proofs[3].aunts == (lc, node(la, lb), le)
    assert proofs[4].aunts == (node(node(la, lb), node(lc, ld)),)


def test_big_merkle_tree_agrees_across_thread_counts() -> None:
    items = [i.to_bytes(4, "big") * 24 for i in range(40_001)]  # ~4 MiB: big enough for 2
    one = native.merkle_root(items, threads=1)
    assert native.merkle_root(items, threads=2) == one
    assert native.merkle_root_from_leaf_hashes([sha(b"\x00" + x) for x in items]) == one


def test_kernel_merkle_module_goes_through_the_core() -> None:
    items = [b"a", b"bc", b""]
    assert merkle.hash_from_byte_slices(items) == mth(items)
    assert merkle.root_from_leaf_hashes([]) == sha(b"")
    entries = {b"bank": b"r1" * 16, b"auth": b"r2" * 16, b"acc": b""}
    leaves = [merkle.kv_leaf(k, entries[k]) for k in sorted(entries)]
    assert merkle.hash_from_map(entries) == mth(leaves)
    root, proofs = merkle.proofs_from_byte_slices(items)
    assert root == mth(items) and len(proofs) == 3
