"""The crypto core's signature batches against independent implementations used only as
oracles: the pure-Python `ecdsa` package (secp256k1 and ed25519), RFC 8032's vectors, and
`cryptography` (the ed25519 the kernel used before, whose edge-case rules must be kept).
Malformed inputs follow Wycheproof's families: high-S, r or s zero or out of range, keys off
the curve or with a bad prefix, wrong lengths, non-canonical and small-order ed25519 values."""

from __future__ import annotations

import hashlib

import ecdsa
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ecdsa.util import sigdecode_string
from hypothesis import given, settings
from hypothesis import strategies as st

from sultan.kernel.crypto import keys, native, secp256k1

N = secp256k1.ORDER
P = 2**256 - 2**32 - 977
L = 2**252 + 27742317777372353535851937790883648493


def oracle_secp256k1(pub: bytes, msg: bytes, sig: bytes, *, low_s: bool = True) -> bool:
    """Cosmos secp256k1 rule, from the pure-Python implementation: compressed key, r‖s, low-S."""
    if len(pub) != 33 or pub[0] not in (2, 3) or len(sig) != 64:
        return False
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if not (0 < r < N and 0 < s < N) or (low_s and s > N // 2):
        return False
    try:
        vk = ecdsa.VerifyingKey.from_string(pub, curve=ecdsa.SECP256k1)
        return bool(vk.verify(sig, msg, hashfunc=hashlib.sha256, sigdecode=sigdecode_string))
    except (ecdsa.BadSignatureError, ecdsa.errors.MalformedPointError, AssertionError):
        return False


def key_of(secret: int) -> tuple[bytes, bytes]:
    priv = secret.to_bytes(32, "big")
    return priv, secp256k1.public_key(priv)


def with_s(sig: bytes, s: int) -> bytes:
    return sig[:32] + s.to_bytes(32, "big")


# --- secp256k1 ---------------------------------------------------------------------------------


@given(st.integers(1, N - 1), st.binary(max_size=200), st.integers(0, 511))
@settings(max_examples=60, deadline=None)
def test_secp256k1_agrees_with_pure_python_oracle(secret: int, msg: bytes, flip: int) -> None:
    priv, pub = key_of(secret)
    sig = secp256k1.sign(priv, msg)
    broken = bytearray(sig)
    broken[flip % 64] ^= 1 << (flip % 8)
    items = [(pub, msg, sig), (pub, msg + b"!", sig), (pub, msg, bytes(broken))]
    got = native.secp256k1_verify_many(items)
    assert got == [oracle_secp256k1(*item) for item in items]
    assert got[0] is True and got[1] is False


def test_high_s_is_rejected_or_normalized_as_asked() -> None:
    priv, pub = key_of(0x1234)
    sig = secp256k1.sign(priv, b"doc")
    high = with_s(sig, N - int.from_bytes(sig[32:], "big"))
    assert oracle_secp256k1(pub, b"doc", high, low_s=False)  # a real signature, just high-S
    assert native.secp256k1_verify_status([(pub, b"doc", high)]) == [native.VERIFY_HIGH_S]
    assert native.secp256k1_verify_many([(pub, b"doc", high)], normalize_s=True) == [True]
    assert secp256k1.verify(pub, b"doc", high) is False


def test_prehashed_messages() -> None:
    priv, pub = key_of(77)
    sig = secp256k1.sign(priv, b"payload")
    digest = hashlib.sha256(b"payload").digest()
    assert native.secp256k1_verify_many([(pub, digest, sig)], prehashed=True) == [True]
    with pytest.raises(native.InvalidParameterError):
        native.secp256k1_verify_many([(pub, b"payload", sig)], prehashed=True)


@pytest.mark.parametrize(
    ("r", "s", "status"),
    [
        (0, 1, native.VERIFY_BAD_SIGNATURE),
        (1, 0, native.VERIFY_BAD_SIGNATURE),
        (0, 0, native.VERIFY_BAD_SIGNATURE),
        (N, 1, native.VERIFY_BAD_SIGNATURE),
        (1, N, native.VERIFY_BAD_SIGNATURE),
        (2**256 - 1, 1, native.VERIFY_BAD_SIGNATURE),
        (1, N // 2 + 1, native.VERIFY_HIGH_S),
        (1, N - 1, native.VERIFY_HIGH_S),
        (1, 1, native.VERIFY_INVALID),
        (N - 1, N // 2, native.VERIFY_INVALID),
    ],
)
def test_signature_scalars_out_of_range(r: int, s: int, status: int) -> None:
    _priv, pub = key_of(5)
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert native.secp256k1_verify_status([(pub, b"m", sig)]) == [status]
    assert secp256k1.verify(pub, b"m", sig) is False


def _off_curve_key() -> bytes:
    for x in range(1, 100):
        candidate = b"\x02" + x.to_bytes(32, "big")
        if (pow(x, 3, P) + 7) % P and pow((pow(x, 3, P) + 7) % P, (P - 1) // 2, P) != 1:
            return candidate
    raise AssertionError("no off-curve x below 100")


@pytest.mark.parametrize(
    "pub",
    [
        b"",
        b"\x02" * 32,
        b"\x02" + b"\x01" * 33,
        b"\x04" + b"\x01" * 32,
        b"\x00" * 33,
        b"\x05" + b"\x01" * 32,
        b"\x02" + P.to_bytes(32, "big"),  # x = p: not a field element
        b"\x03" + (2**256 - 1).to_bytes(32, "big"),
        _off_curve_key(),
    ],
)
def test_malformed_public_keys_do_not_verify(pub: bytes) -> None:
    priv, good = key_of(9)
    sig = secp256k1.sign(priv, b"m")
    assert native.secp256k1_verify_status([(pub, b"m", sig)]) == [native.VERIFY_BAD_PUBKEY]
    assert oracle_secp256k1(pub, b"m", sig) is False


def test_uncompressed_keys_are_refused_like_the_sdk() -> None:
    priv, pub = key_of(11)
    sig = secp256k1.sign(priv, b"m")
    uncompressed = ecdsa.VerifyingKey.from_string(pub, curve=ecdsa.SECP256k1).to_string(
        "uncompressed"
    )
    assert native.secp256k1_verify_many([(uncompressed, b"m", sig), (pub, b"m", sig)]) == [
        False,
        True,
    ]


@pytest.mark.parametrize("sig", [b"", b"\x01" * 63, b"\x01" * 65, "not bytes", None])
def test_malformed_signature_encodings_do_not_verify(sig: object) -> None:
    _priv, pub = key_of(9)
    assert native.secp256k1_verify_many([(pub, b"m", sig)]) == [False]  # type: ignore[list-item]


def test_secp256k1_batches_agree_with_single_calls_and_across_threads() -> None:
    items = []
    for i in range(300):
        priv, pub = key_of(1000 + i)
        msg = i.to_bytes(2, "big") * (i % 50)
        sig = secp256k1.sign(priv, msg)
        if i % 5 == 0:
            sig = sig[:10] + bytes([sig[10] ^ 0x40]) + sig[11:]
        if i % 7 == 0:
            pub = b"\x04" + pub[1:]
        items.append((pub, msg, sig))
    want = [secp256k1.verify(*item) for item in items]
    assert native.secp256k1_verify_many(items, threads=1) == want
    assert native.secp256k1_verify_many(items, threads=2) == want
    assert secp256k1.verify_many(items) == want
    assert want.count(True) == len([i for i in range(300) if i % 5 and i % 7])


# --- ed25519 -----------------------------------------------------------------------------------

RFC8032 = [  # section 7.1, TEST 1, 2, 3 and TEST SHA(abc)
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]


def test_ed25519_rfc8032_vectors() -> None:
    items = [(bytes.fromhex(p), bytes.fromhex(m), bytes.fromhex(s)) for p, m, s in RFC8032]
    assert native.ed25519_verify_many(items) == [True] * len(items)
    tampered = [(p, m + b"\x00", s) for p, m, s in items]
    assert native.ed25519_verify_many(tampered) == [False] * len(items)


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=300), st.integers(0, 511))
@settings(max_examples=40, deadline=None)
def test_ed25519_agrees_with_pure_python_oracle(seed: bytes, msg: bytes, flip: int) -> None:
    sk = ecdsa.SigningKey.from_string(seed, curve=ecdsa.Ed25519)
    pub = sk.get_verifying_key().to_string()
    sig = sk.sign(msg)
    broken = bytearray(sig)
    broken[flip % 64] ^= 1 << (flip % 8)
    items = [(pub, msg, sig), (pub, msg + b"x", sig), (pub, msg, bytes(broken))]

    def oracle(p: bytes, m: bytes, s: bytes) -> bool:
        try:
            return bool(ecdsa.VerifyingKey.from_string(p, curve=ecdsa.Ed25519).verify(s, m))
        except (ecdsa.BadSignatureError, ecdsa.errors.MalformedPointError):
            return False

    got = native.ed25519_verify_many(items)
    assert got == [oracle(*i) for i in items]
    assert got[0] is True
    assert keys.ed25519_verify(pub, msg, sig) is True


def previous_ed25519_verify(pub: bytes, msg: bytes, sig: bytes) -> bool:
    """What `keys.ed25519_verify` did before the core (cryptography/OpenSSL)."""
    if len(pub) != 32 or len(sig) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def _edge_cases() -> list[tuple[bytes, bytes, bytes]]:
    pub, msg, sig = (bytes.fromhex(x) for x in RFC8032[1])
    s = int.from_bytes(sig[32:], "little")
    identity = (1).to_bytes(32, "little")  # small-order public key (the neutral element)
    order2 = (P - 1).to_bytes(32, "little")  # (0, -1): order 2
    noncanonical_y = (P + 1).to_bytes(32, "little")  # y >= p
    return [
        (pub, msg, sig),
        (pub, msg, sig[:32] + (s + L).to_bytes(32, "little")),  # non-canonical S
        (pub, msg, sig[:32] + (2**256 - 1).to_bytes(32, "little")),
        (identity, b"", identity + bytes(32)),  # small-order key, R = identity, S = 0
        (identity, msg, sig),
        (order2, msg, sig),
        (noncanonical_y, msg, sig),
        (pub, msg, noncanonical_y + sig[32:]),  # non-canonical R
        (b"\xff" * 32, msg, sig),
        (pub, msg, bytes(64)),
        (bytes(32), b"", bytes(64)),
        (pub[:31], msg, sig),
        (pub + b"\x00", msg, sig),
        (pub, msg, sig[:63]),
        (pub, msg, sig + b"\x00"),
    ]


@pytest.mark.parametrize("item", _edge_cases())
def test_ed25519_edge_cases_keep_the_previous_rules(item: tuple[bytes, bytes, bytes]) -> None:
    assert native.ed25519_verify_many([item]) == [previous_ed25519_verify(*item)]
    assert keys.ed25519_verify(*item) == previous_ed25519_verify(*item)


def test_ed25519_batches_agree_across_threads() -> None:
    items = []
    for i in range(200):
        sk = ecdsa.SigningKey.from_string(i.to_bytes(32, "big"), curve=ecdsa.Ed25519)
        msg = bytes([i]) * i
        sig = sk.sign(msg)
        if i % 3 == 0:
            msg += b"?"
        items.append((sk.get_verifying_key().to_string(), msg, sig))
    want = [i % 3 != 0 for i in range(200)]
    assert native.ed25519_verify_many(items, threads=1) == want
    assert native.ed25519_verify_many(items, threads=2) == want
