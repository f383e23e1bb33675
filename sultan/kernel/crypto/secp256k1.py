"""secp256k1 ECDSA over SHA-256, as Cosmos account keys use it.

Signatures are 64 bytes r‖s. Verification enforces the low-S rule (s ≤ n/2), as the Cosmos
SDK does to make signatures non-malleable: the same tx cannot get a second valid encoding
and hash. `verify` never raises: malformed keys or signatures simply do not verify.

Verification, signing, public keys and key checks run in the C crypto core (`native.py`,
libsecp256k1); `verify_many` checks a batch in one call over all cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sultan.kernel.crypto import native

PUBKEY_SIZE = 33
PRIVKEY_SIZE = 32
SIGNATURE_SIZE = 64
# The group order n, and n/2: an s above it is "high" and rejected.
ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER = ORDER >> 1


def verify(pub_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff `signature` (r‖s, low-S) signs sha256(`message`) under the compressed key."""
    return native.secp256k1_verify_many([(pub_key, message, signature)], threads=1)[0]


def verify_many(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """`verify` of each (pub_key, message, signature), in one batch call over all cores."""
    return native.secp256k1_verify_many(items)


def sign(priv_key: bytes, message: bytes) -> bytes:
    """A deterministic (RFC 6979) low-S r‖s signature of sha256(`message`)."""
    if len(priv_key) != PRIVKEY_SIZE:
        raise ValueError(f"secp256k1 private key must be {PRIVKEY_SIZE} bytes")
    return native.secp256k1_sign(bytes(priv_key), bytes(message))


def public_key(priv_key: bytes) -> bytes:
    """The 33-byte compressed public key of a 32-byte private key."""
    if len(priv_key) != PRIVKEY_SIZE:
        raise ValueError(f"secp256k1 private key must be {PRIVKEY_SIZE} bytes")
    return native.secp256k1_public_key(bytes(priv_key))


def is_valid_public_key(pub_key: bytes) -> bool:
    if not isinstance(pub_key, bytes | bytearray) or len(pub_key) != PUBKEY_SIZE:
        return False
    return _parses(bytes(pub_key))


# A signer's key is checked by every tx it signs; parsing the point costs ~10 µs.
@lru_cache(maxsize=1 << 14)
def _parses(pub_key: bytes) -> bool:
    return native.secp256k1_check_pubkeys([pub_key])[0]
