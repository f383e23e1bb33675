"""Account, validator and consensus addresses: bech32 text over 20- (or 32-) byte values.

Account address = ripemd160(sha256(33-byte compressed secp256k1 public key)), the Cosmos
SDK's `secp256k1.PubKey.Address()`. Module accounts have no key: their address is
sha256(module name)[:20] (`authtypes.NewModuleAddress`). Text forms use the chain's
prefixes: `sultan1…` accounts, `sultanvaloper1…` validator operators, `sultanvalcons1…`
consensus keys, and the `…pub` variants for bech32 public keys.

Decoding errors are `ErrInvalidAddress` with the SDK's wording ("decoding bech32 failed:
…", "invalid Bech32 prefix; expected sultan, got cosmos") because clients show them as is.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sultan.kernel.errors import ErrInvalidAddress, QueryError, SdkError

ACCOUNT_PREFIX = "sultan"
ACCOUNT_PUB_PREFIX = "sultanpub"
VALIDATOR_PREFIX = "sultanvaloper"
VALIDATOR_PUB_PREFIX = "sultanvaloperpub"
CONSENSUS_PREFIX = "sultanvalcons"
CONSENSUS_PUB_PREFIX = "sultanvalconspub"

ADDRESS_LENGTH = 20
# Module-derived addresses (ADR-028, e.g. ICA or group policy accounts) are 32 bytes.
DERIVED_ADDRESS_LENGTH = 32
ACCEPTED_LENGTHS = (ADDRESS_LENGTH, DERIVED_ADDRESS_LENGTH)
# Longer than BIP-173's 90 characters, as the SDK allows (32-byte addresses, long prefixes).
MAX_BECH32_LENGTH = 1023

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {c: i for i, c in enumerate(_CHARSET)}
# A bank send converts the same few addresses several times (signer, fee payer, events),
# so conversions are memoized. Both directions are pure functions of their input; failures
# raise and are never cached.
_CACHE_SIZE = 1 << 16
# Longer strings (up to MAX_BECH32_LENGTH) decode uncached, so clients cannot fill the
# cache with kilobyte keys: 32-byte addresses with the longest prefixes fit in 128.
_CACHED_TEXT_LENGTH = 128

# BIP-173's checksum, one table lookup per character instead of the reference code's five
# conditional XORs (the `bech32` package, 4-5x slower, is the oracle in tests/test_address.py):
# _POLYMOD_TABLE[top] is the XOR of the generators selected by the 5 bits shifted out.
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _table_entry(top: int) -> int:
    entry = 0
    for bit, generator in enumerate(_GENERATORS):
        if top >> bit & 1:
            entry ^= generator
    return entry


_POLYMOD_TABLE = tuple(_table_entry(top) for top in range(32))


def _polymod(values: list[int] | tuple[int, ...], chk: int = 1) -> int:
    table = _POLYMOD_TABLE
    for value in values:
        chk = table[chk >> 25] ^ ((chk & 0x1FFFFFF) << 5) ^ value
    return chk


@lru_cache(maxsize=64)
def _hrp_state(hrp: str) -> int:
    """The checksum state after the expanded human-readable part (a handful of prefixes)."""
    return _polymod([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp])


def _ripemd160(data: bytes) -> bytes:
    try:
        h = hashlib.new("ripemd160")
    except ValueError:  # pragma: no cover - OpenSSL built without RIPEMD-160
        raise RuntimeError(
            "this Python's OpenSSL has no RIPEMD-160, needed for Cosmos account addresses"
        ) from None
    h.update(data)
    return h.digest()


def pubkey_to_address(pub_key: bytes) -> bytes:
    """The 20-byte account address of a 33-byte compressed secp256k1 public key."""
    if len(pub_key) != 33:
        raise ErrInvalidAddress(f"secp256k1 public key must be 33 bytes, got {len(pub_key)}")
    return _key_address(bytes(pub_key))


@lru_cache(maxsize=1 << 14)  # every tx a key signs derives its address again
def _key_address(pub_key: bytes) -> bytes:
    return _ripemd160(hashlib.sha256(pub_key).digest())


@lru_cache(maxsize=256)
def module_address(name: str) -> bytes:
    """The address of module `name`'s account: sha256(name)[:20], as the SDK derives it."""
    return hashlib.sha256(name.encode()).digest()[:ADDRESS_LENGTH]


def encode(prefix: str, data: bytes) -> str:
    return _encode(prefix, bytes(data))


@lru_cache(maxsize=_CACHE_SIZE)
def _encode(prefix: str, data: bytes) -> str:
    # 8-bit groups -> 5-bit groups, zero-padded at the end (BIP-173 convertbits, pad=True).
    bits = len(data) * 8
    pad = -bits % 5
    number = int.from_bytes(data, "big") << pad
    count = (bits + pad) // 5
    five = [(number >> (5 * (count - 1 - i))) & 31 for i in range(count)]
    chk = _polymod(five + [0] * 6, _hrp_state(prefix)) ^ 1
    checksum = [(chk >> (5 * (5 - i))) & 31 for i in range(6)]
    return prefix + "1" + "".join(_CHARSET[v] for v in five + checksum)


def _failure_reason(text: str) -> str:
    """Why bech32 decoding failed, in the words of the Go bech32 library the SDK uses."""
    if len(text) > MAX_BECH32_LENGTH:
        return f"invalid bech32 string length {len(text)}"
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        return "invalid character in string: non-printable or non-ASCII"
    if text.lower() != text and text.upper() != text:
        return "string not all lowercase or all uppercase"
    lowered = text.lower()
    sep = lowered.rfind("1")
    if sep < 1 or sep + 7 > len(lowered):
        return f"invalid separator index {sep}"
    for c in lowered[sep + 1 :]:
        if c not in _CHARSET:
            return f"invalid character not part of charset: {ord(c)}"
    return "invalid checksum"


def decode_any(text: str) -> tuple[str, bytes]:
    """(prefix, bytes) of any bech32 string; raises ErrInvalidAddress."""
    if not isinstance(text, str) or not text.strip():
        raise ErrInvalidAddress("empty address string is not allowed")
    if len(text) > _CACHED_TEXT_LENGTH:  # valid but unusual: not worth a cache slot
        return _decode_any.__wrapped__(text)  # type: ignore[no-any-return]
    return _decode_any(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _decode_any(text: str) -> tuple[str, bytes]:
    hrp, five = None, None
    if len(text) <= MAX_BECH32_LENGTH:
        hrp, five = _bech32_decode_long(text)
    if hrp is None or five is None:
        raise ErrInvalidAddress(f"decoding bech32 failed: {_failure_reason(text)}")
    # 5-bit groups -> bytes (convertbits, pad=False): at most 4 padding bits, all zero.
    bits = len(five) * 5
    spare = bits % 8
    number = 0
    for value in five:
        number = number << 5 | value
    if spare > 4 or number & ((1 << spare) - 1):
        raise ErrInvalidAddress("decoding bech32 failed: invalid padding")
    return hrp, (number >> spare).to_bytes(bits // 8, "big")


def _bech32_decode_long(text: str) -> tuple[str | None, list[int] | None]:
    """bech32.bech32_decode without BIP-173's 90-character cap."""
    if text.lower() != text and text.upper() != text:
        return None, None
    # Only printable ASCII other than space (33..126), as BIP-173 requires.
    if not (text.isascii() and text.isprintable()) or " " in text:
        return None, None
    lowered = text.lower()
    pos = lowered.rfind("1")
    if pos < 1 or pos + 7 > len(lowered):
        return None, None
    try:
        data = [_CHARSET_INDEX[c] for c in lowered[pos + 1 :]]
    except KeyError:
        return None, None
    hrp = lowered[:pos]
    if _polymod(data, _hrp_state(hrp)) != 1:
        return None, None
    return hrp, data[:-6]


def decode(text: str, prefix: str = ACCOUNT_PREFIX) -> bytes:
    """The bytes of a bech32 address with `prefix`, 20 or 32 bytes long."""
    hrp, data = decode_any(text)
    if hrp != prefix:
        raise ErrInvalidAddress(f"invalid Bech32 prefix; expected {prefix}, got {hrp}")
    verify_length(data)
    return data


def verify_length(data: bytes) -> None:
    if not data:
        raise ErrInvalidAddress("addresses cannot be empty")
    if len(data) not in ACCEPTED_LENGTHS:
        raise ErrInvalidAddress(
            f"address length must be {ADDRESS_LENGTH} or {DERIVED_ADDRESS_LENGTH} bytes, "
            f"got {len(data)}"
        )


class AddressCodec:
    """Bytes ⇄ text for one prefix (the SDK's `address.Codec`)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def to_string(self, data: bytes) -> str:
        verify_length(data)
        return encode(self.prefix, data)

    def to_bytes(self, text: str) -> bytes:
        return decode(text, self.prefix)

    def parse(self, text: str, what: str) -> bytes:
        """`to_bytes` for a message field: ErrInvalidAddress naming the field (`what`)."""
        try:
            return self.to_bytes(text)
        except SdkError as exc:
            raise ErrInvalidAddress(f"invalid {what} address: {exc.message}") from None

    def parse_query(self, text: str, what: str, *, empty: str) -> bytes:
        """`to_bytes` for a query field: InvalidArgument, `empty` if `text` is empty."""
        if not text:
            raise QueryError("InvalidArgument", empty)
        try:
            return self.to_bytes(text)
        except SdkError as exc:
            raise QueryError("InvalidArgument", f"invalid {what} address: {exc.message}") from None

    def is_valid(self, text: str) -> bool:
        try:
            self.to_bytes(text)
        except ErrInvalidAddress:
            return False
        return True


ACCOUNT_CODEC = AddressCodec(ACCOUNT_PREFIX)
VALIDATOR_CODEC = AddressCodec(VALIDATOR_PREFIX)
CONSENSUS_CODEC = AddressCodec(CONSENSUS_PREFIX)


def account_string(data: bytes) -> str:
    return ACCOUNT_CODEC.to_string(data)


def account_bytes(text: str) -> bytes:
    return ACCOUNT_CODEC.to_bytes(text)
