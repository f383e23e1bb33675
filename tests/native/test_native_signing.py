"""Signing and key checks in the crypto core against independent implementations used only
as oracles: coincurve (libsecp256k1's own Python binding, RFC 6979) and `cryptography`
(ed25519), which must produce the very same deterministic signatures, public keys and
verdicts on malformed keys."""

from __future__ import annotations

import coincurve
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sultan.kernel.crypto import keys, native, secp256k1

ORDER = secp256k1.ORDER
secret_keys = st.integers(1, ORDER - 1).map(lambda k: k.to_bytes(32, "big"))


@settings(max_examples=150, deadline=None)
@given(secret_keys, st.binary(max_size=300))
def test_secp256k1_signatures_and_keys_match_coincurve(key: bytes, message: bytes) -> None:
    oracle = coincurve.PrivateKey(key)
    signature = native.secp256k1_sign(key, message)
    assert signature == oracle.sign_recoverable(message)[:64]
    assert native.secp256k1_public_key(key) == oracle.public_key.format(compressed=True)
    assert int.from_bytes(signature[32:], "big") <= secp256k1.HALF_ORDER  # low-S
    assert native.secp256k1_verify_many([(oracle.public_key.format(), message, signature)]) == [
        True
    ]
    digest = native.sha256(message)
    assert native.secp256k1_sign(key, digest, prehashed=True) == signature


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=300))
def test_ed25519_signatures_and_keys_match_cryptography(seed: bytes, message: bytes) -> None:
    oracle = Ed25519PrivateKey.from_private_bytes(seed)
    public = oracle.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert native.ed25519_public_key(seed) == public
    assert native.ed25519_sign(seed, message) == oracle.sign(message)
    key = keys.Ed25519PrivKey(seed)
    assert key.pub_key == public and key.sign(message) == oracle.sign(message)


@pytest.mark.parametrize(
    "key",
    [bytes(32), ORDER.to_bytes(32, "big"), (ORDER + 1).to_bytes(32, "big"), b"\xff" * 32],
    ids=["zero", "order", "order+1", "all-ones"],
)
def test_secp256k1_secret_keys_outside_the_group_are_refused(key: bytes) -> None:
    with pytest.raises(native.InvalidParameterError):
        native.secp256k1_sign(key, b"m")
    with pytest.raises(native.InvalidParameterError):
        native.secp256k1_public_key(key)
    with pytest.raises(ValueError):  # the kernel's wrapper: a ValueError, as before
        secp256k1.sign(key, b"m")


def test_bad_lengths_and_types_are_refused() -> None:
    with pytest.raises(native.InvalidParameterError):
        native.secp256k1_sign(b"\x01" * 31, b"m")
    with pytest.raises(native.InvalidParameterError):
        native.secp256k1_sign(b"\x01" * 32, b"short", prehashed=True)
    with pytest.raises(native.InvalidParameterError):
        native.ed25519_sign(b"\x01" * 33, b"m")
    with pytest.raises(native.InvalidParameterError):
        native.ed25519_public_key(b"")
    with pytest.raises(TypeError):
        native.ed25519_sign(b"\x01" * 32, "text")  # type: ignore[arg-type]


def _coincurve_parses(key: bytes) -> bool:
    try:
        coincurve.PublicKey(key)
    except (ValueError, TypeError):
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(min_size=33, max_size=33),
        st.tuples(
            st.sampled_from([b"\x02", b"\x03", b"\x04"]), st.binary(min_size=32, max_size=32)
        ).map(b"".join),
        secret_keys.map(lambda k: coincurve.PrivateKey(k).public_key.format()),
        st.binary(max_size=40),
    )
)
def test_public_key_checks_match_coincurve(key: bytes) -> None:
    want = len(key) == 33 and _coincurve_parses(key)
    assert native.secp256k1_check_pubkeys([key]) == [want]
    assert secp256k1.is_valid_public_key(key) is want
