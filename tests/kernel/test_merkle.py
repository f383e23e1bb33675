"""RFC-6962 Merkle roots as CometBFT computes them (crypto/merkle), checked independently."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sultan.kernel.crypto import merkle


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_root(items: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, written out directly: split at the largest power of two < n."""
    n = len(items)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + items[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + reference_root(items[:k]) + reference_root(items[k:]))


def varint(n: int) -> bytes:
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if n == 0:
            return out + bytes([low])
        out += bytes([low | 0x80])


# Vectors from CometBFT's crypto/merkle tests (rfc6962_test.go, tree_test.go).
def test_rfc6962_vectors() -> None:
    assert merkle.EMPTY_HASH == sha(b"")
    assert merkle.EMPTY_HASH.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert merkle.inner_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


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
def test_hash_from_byte_slices_cometbft_vectors(items: list[bytes], expected: str) -> None:
    assert merkle.hash_from_byte_slices(items).hex() == expected


def test_small_trees_by_hand() -> None:
    a, b, c, d, e = (bytes([i]) for i in range(5))
    la, lb, lc, ld, le = (sha(b"\x00" + x) for x in (a, b, c, d, e))

    def node(left: bytes, right: bytes) -> bytes:
        return sha(b"\x01" + left + right)

    assert merkle.hash_from_byte_slices([a]) == la
    assert merkle.hash_from_byte_slices([a, b]) == node(la, lb)
    # n=3 splits 2|1, n=5 splits 4|1 (not balanced halves).
    assert merkle.hash_from_byte_slices([a, b, c]) == node(node(la, lb), lc)
    assert merkle.hash_from_byte_slices([a, b, c, d]) == node(node(la, lb), node(lc, ld))
    assert merkle.hash_from_byte_slices([a, b, c, d, e]) == node(
        node(node(la, lb), node(lc, ld)), le
    )


@given(st.lists(st.binary(max_size=8), max_size=40))
@settings(max_examples=150, deadline=None)
def test_matches_reference_definition(items: list[bytes]) -> None:
    assert merkle.hash_from_byte_slices(items) == reference_root(items)
    leaf_hashes = [sha(b"\x00" + x) for x in items]
    assert merkle.root_from_leaf_hashes(leaf_hashes) == reference_root(items)


def test_leaf_and_inner_domains_are_separated() -> None:
    # A leaf whose bytes look like an inner node must not hash like that inner node.
    left, right = sha(b"l"), sha(b"r")
    assert merkle.leaf_hash(left + right) != merkle.inner_hash(left, right)
    assert merkle.hash_from_byte_slices([left + right]) != merkle.hash_from_byte_slices(
        [left, right]
    )


def test_uvarint_and_kv_leaf() -> None:
    for n in (0, 1, 127, 128, 255, 300, 16383, 16384, 2**32, 2**63):
        assert merkle.uvarint(n) == varint(n)
    assert merkle.uvarint(300) == b"\xac\x02"
    with pytest.raises(ValueError):
        merkle.uvarint(-1)
    key, value = b"bank", b"root-bytes"
    assert merkle.kv_leaf(key, value) == b"\x04bank" + b"\x20" + sha(value)
    long_key = b"k" * 200
    assert merkle.kv_leaf(long_key, b"").startswith(b"\xc8\x01" + long_key + b"\x20")


@given(st.dictionaries(st.binary(min_size=1, max_size=6), st.binary(max_size=6), max_size=12))
@settings(max_examples=100, deadline=None)
def test_hash_from_map_is_sorted_and_order_independent(entries: dict[bytes, bytes]) -> None:
    expected = reference_root(
        [varint(len(k)) + k + varint(32) + sha(entries[k]) for k in sorted(entries)]
    )
    assert merkle.hash_from_map(entries) == expected
    reversed_insertion = dict(reversed(list(entries.items())))
    assert merkle.hash_from_map(reversed_insertion) == expected


def test_hash_from_map_sorts_bytewise() -> None:
    # Byte order, not length or text order: b"b" < b"ba" < b"\xff".
    entries = {b"\xff": b"3", b"ba": b"2", b"b": b"1"}
    leaves = [merkle.kv_leaf(k, entries[k]) for k in (b"b", b"ba", b"\xff")]
    assert merkle.hash_from_map(entries) == merkle.hash_from_byte_slices(leaves)
    assert merkle.hash_from_map({}) == sha(b"")
    assert merkle.hash_from_map({b"a": b"1"}) != merkle.hash_from_map({b"a": b"2"})
