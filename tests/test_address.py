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
