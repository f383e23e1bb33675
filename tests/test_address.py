"""sultan.kernel.address: bech32 account/validator addresses and their errors."""

from __future__ import annotations

import pytest

from sultan.kernel import address
from sultan.kernel.crypto import secp256k1
from sultan.kernel.errors import ErrInvalidAddress


def test_module_address_matches_the_sdk_derivation():
    # cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta is the SDK's fee collector (prefix cosmos).
    fee = address.module_address("fee_collector")
    assert address.encode("cosmos", fee) == "cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta"
    assert address.account_string(fee).startswith("sultan17xpfvakm2amg962yls6f84z3kell8c5l")


def test_pubkey_address_is_ripemd160_of_sha256():
    import hashlib

    pub = secp256k1.public_key(b"\x02" * 32)
    digest = hashlib.new("ripemd160", hashlib.sha256(pub).digest()).digest()
    assert address.pubkey_to_address(pub) == digest


def test_round_trip_for_20_and_32_bytes():
    for raw in (b"\x11" * 20, b"\x22" * 32):
        text = address.account_string(raw)
        assert address.account_bytes(text) == raw
        assert address.account_bytes(text.upper()) == raw


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty address string is not allowed"),
        ("sultan1", "decoding bech32 failed: invalid separator index"),
        ("Sultan1qqqqqqqqqqqq", "not all lowercase or all uppercase"),
        ("sultan1bbbbbbbbbbbb", "invalid character not part of charset: 98"),
        ("sultan1qqqqqqqqqqqqqqqqqqqq", "invalid checksum"),
    ],
)
def test_decoding_errors(text, message):
    with pytest.raises(ErrInvalidAddress, match=message) as err:
        address.account_bytes(text)
    assert err.value.code == 7


def test_wrong_prefix_and_length():
    other = address.encode("cosmos", b"\x01" * 20)
    with pytest.raises(
        ErrInvalidAddress, match="invalid Bech32 prefix; expected sultan, got cosmos"
    ):
        address.account_bytes(other)
    with pytest.raises(ErrInvalidAddress, match="length must be 20 or 32"):
        address.account_bytes(address.encode("sultan", b"\x01" * 21))
    valoper = address.VALIDATOR_CODEC.to_string(b"\x01" * 20)
    assert valoper.startswith("sultanvaloper1")


# -- the table-driven codec against the reference implementation (the `bech32` package) ----

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PREFIXES = st.sampled_from(["sultan", "sultanvaloper", "cosmos", "a", "osmo"])


@settings(max_examples=300, deadline=None)
@given(prefix=_PREFIXES, data=st.binary(min_size=0, max_size=64))
def test_encoding_matches_the_reference(prefix: str, data: bytes) -> None:
    import bech32

    assert address.encode(prefix, data) == bech32.bech32_encode(
        prefix, bech32.convertbits(list(data), 8, 5, True)
    )


@settings(max_examples=300, deadline=None)
@given(
    prefix=_PREFIXES,
    data=st.binary(min_size=0, max_size=40),
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from("qpzry9x8gf2tvdw0s3jn54kh1")), max_size=2
    ),
)
def test_decoding_matches_the_reference(prefix: str, data: bytes, edits: list) -> None:
    """Valid strings, and strings with characters changed (checksum or padding errors)."""
    import bech32

    text = address.encode(prefix, data)
    for at, char in edits:
        at %= len(text)
        text = text[:at] + char + text[at + 1 :]
    hrp, five = bech32.bech32_decode(text)
    expected = None if five is None else bech32.convertbits(five, 5, 8, False)
    if hrp is None or expected is None:
        with pytest.raises(ErrInvalidAddress):
            address.decode_any(text)
    else:
        assert address.decode_any(text) == (hrp, bytes(expected))


def test_non_zero_padding_and_too_much_padding_are_refused() -> None:
    import bech32

    # 1 byte = 8 bits -> two 5-bit groups with 2 padding bits; set one of them.
    bad_pad = bech32.bech32_encode("sultan", [0, 1])
    # three groups = 15 bits: 7 spare bits (> 4) cannot be padding of whole bytes.
    too_long = bech32.bech32_encode("sultan", [0, 0, 0])
    for text in (bad_pad, too_long):
        with pytest.raises(ErrInvalidAddress, match="invalid padding"):
            address.decode_any(text)


def test_long_strings_decode_without_taking_cache_slots() -> None:
    long_text = address.encode("x" * 20, bytes(range(200)))  # valid bech32, 347 chars
    before = address._decode_any.cache_info().currsize
    assert address.decode_any(long_text) == ("x" * 20, bytes(range(200)))
    assert address._decode_any.cache_info().currsize == before
    short = address.account_string(b"\x05" * 20)
    address.account_bytes(short)
    assert address._decode_any.cache_info().currsize <= before + 1
