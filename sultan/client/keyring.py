"""A local keyring of secp256k1 account keys derived from BIP-39 mnemonics.

Keys come from a BIP-39 mnemonic (24 words when generated; 12–24 accepted) through BIP-32
along the Cosmos path `m/44'/118'/0'/0/0`, so the same words give the same `sultan1…`
address in `sultan keys`, cosmpy (`LocalWallet.from_mnemonic(..., prefix="sultan")`),
CosmJS (`DirectSecp256k1HdWallet.fromMnemonic(..., {prefix: "sultan"})`) and Keplr.

A keyring lives in `<home>/keyring-<backend>/`, one `<name>.json` file per key (directory
mode 0700, files 0600). The mnemonic itself is never stored.

- backend **file** (the default): the private key is encrypted with AES-256-GCM under a key
  derived from the keyring passphrase by scrypt (N=2^15, r=8, p=1, random salt per key);
  name, address and public key stay readable, so `keys list`/`show` need no passphrase.
  All keys of one keyring share its passphrase (checked when a key is added).
- backend **test**: the private key is stored UNENCRYPTED. Only for throw-away keys on
  local development and test chains; never for anything of value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from sultan.client.errors import (
    DuplicateKeyError,
    InvalidMnemonicError,
    KeyNotFoundError,
    KeyringError,
    WrongPassphraseError,
)
from sultan.kernel.address import ACCOUNT_CODEC, pubkey_to_address
from sultan.kernel.crypto import secp256k1
from sultan.kernel.crypto.keys import write_file_atomic

COSMOS_HD_PATH = "m/44'/118'/0'/0/0"
BACKENDS = ("file", "test")
DEFAULT_BACKEND = "file"
MNEMONIC_WORD_COUNTS = (12, 15, 18, 21, 24)
DEFAULT_MNEMONIC_WORDS = 24
MIN_PASSPHRASE_LENGTH = 8
PUBKEY_TYPE_URL = "/cosmos.crypto.secp256k1.PubKey"
RECORD_VERSION = 1

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1

_HARDENED = 0x80000000
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
_TEST_WARNING = "UNENCRYPTED test keyring: anyone who can read this file controls the account"

# Called with new=True when the keyring has no key yet (the prompt should confirm).
PassphraseProvider = Callable[[bool], str]


# -- BIP-39 / BIP-32 ------------------------------------------------------------------------


def _wordlist() -> Any:
    from mnemonic import Mnemonic  # PyPI `mnemonic`, Trezor's BIP-39 reference code

    return Mnemonic("english")


def normalize_mnemonic(text: str) -> str:
    """Lower-case, NFKD, single spaces: the form BIP-39 hashes."""
    text = unicodedata.normalize("NFKD", text)
    return " ".join(text.lower().split())


def validate_mnemonic(text: str) -> str:
    """The normalized mnemonic, or InvalidMnemonicError saying what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidMnemonicError("invalid mnemonic: it is empty")
    words = normalize_mnemonic(text).split(" ")
    if len(words) not in MNEMONIC_WORD_COUNTS:
        raise InvalidMnemonicError(
            f"invalid mnemonic: expected 12, 15, 18, 21 or 24 words, got {len(words)}"
        )
    bip39 = _wordlist()
    known = set(bip39.wordlist)
    unknown = [f"{w!r} (word {i + 1})" for i, w in enumerate(words) if w not in known]
    if unknown:
        raise InvalidMnemonicError(
            f"invalid mnemonic: not in the BIP-39 English word list: {', '.join(unknown)}"
        )
    normalized = " ".join(words)
    if not bip39.check(normalized):
        raise InvalidMnemonicError(
            "invalid mnemonic: checksum mismatch (a word is wrong or the words are out of order)"
        )
    return normalized


def generate_mnemonic(words: int = DEFAULT_MNEMONIC_WORDS) -> str:
    """A fresh random BIP-39 mnemonic (256 bits of entropy for 24 words)."""
    if words not in MNEMONIC_WORD_COUNTS:
        raise InvalidMnemonicError(f"mnemonic length must be one of {MNEMONIC_WORD_COUNTS}")
    return str(_wordlist().generate(strength=words * 32 // 3))


def mnemonic_to_seed(mnemonic: str, bip39_passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed (PBKDF2-HMAC-SHA512, 2048 rounds) of a valid mnemonic."""
    from mnemonic import Mnemonic

    return bytes(Mnemonic.to_seed(validate_mnemonic(mnemonic), passphrase=bip39_passphrase))


def parse_hd_path(path: str) -> list[int]:
    """ "m/44'/118'/0'/0/0" → child indexes (hardened ones with bit 31 set)."""
    parts = path.strip().split("/")
    if not parts or parts[0] != "m":
        raise KeyringError(f"invalid HD path {path!r}: must start with m/")
    indexes = []
    for part in parts[1:]:
        hardened = part[-1:] in ("'", "h", "H")
        digits = part[:-1] if hardened else part
        if not digits.isdigit() or int(digits) >= _HARDENED:
            raise KeyringError(f"invalid HD path {path!r}: bad component {part!r}")
        indexes.append(int(digits) + (_HARDENED if hardened else 0))
    return indexes


def derive_private_key(seed: bytes, path: str = COSMOS_HD_PATH) -> bytes:
    """BIP-32 private key derivation (secp256k1) of `seed` along `path`."""
    order = secp256k1.ORDER
    digest = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
    key, chain = int.from_bytes(digest[:32], "big"), digest[32:]
    if not 0 < key < order:
        raise KeyringError("this seed gives an invalid BIP-32 master key; use another mnemonic")
    for index in parse_hd_path(path):
        key_bytes = key.to_bytes(32, "big")
        if index & _HARDENED:
            data = b"\x00" + key_bytes + index.to_bytes(4, "big")
        else:
            data = secp256k1.public_key(key_bytes) + index.to_bytes(4, "big")
        digest = hmac.new(chain, data, hashlib.sha512).digest()
        tweak = int.from_bytes(digest[:32], "big")
        key = (tweak + key) % order
        if tweak >= order or key == 0:  # probability ~2^-127; BIP-32 says skip the index
            raise KeyringError(f"HD path {path!r} gives an invalid key for this seed")
        chain = digest[32:]
    return key.to_bytes(32, "big")


def private_key_from_mnemonic(
    mnemonic: str, bip39_passphrase: str = "", path: str = COSMOS_HD_PATH
) -> bytes:
    return derive_private_key(mnemonic_to_seed(mnemonic, bip39_passphrase), path)


def address_of(public_key: bytes) -> str:
    return ACCOUNT_CODEC.to_string(pubkey_to_address(public_key))


# -- records --------------------------------------------------------------------------------


@attrs.frozen
class KeyInfo:
    """The public part of a keyring entry."""

    name: str
    address: str
    public_key: bytes
    hd_path: str = COSMOS_HD_PATH

    def pub_key_json(self) -> dict[str, str]:
        return {"@type": PUBKEY_TYPE_URL, "key": base64.b64encode(self.public_key).decode()}

    def to_json(self) -> dict[str, str]:
        """The shape `keys list/show --output json` prints (the Cosmos SDK's)."""
        return {
            "name": self.name,
            "type": "local",
            "address": self.address,
            "pubkey": json.dumps(self.pub_key_json(), separators=(",", ":")),
        }


def validate_key_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise KeyringError(
            f"invalid key name {name!r}: use 1-64 letters, digits and . _ - @ + "
            "(starting with a letter or digit)"
        )
    return name


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, where: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise KeyringError(f"{where}: not valid base64") from None


def _scrypt_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _aad(name: str, address: str) -> bytes:
    # Binds the ciphertext to its record: it cannot be moved under another name/address.
    return f"sultan-keyring-v{RECORD_VERSION}|{name}|{address}".encode()


def encrypt_private_key(
    private_key: bytes, passphrase: str, name: str, address: str
) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    key = _scrypt_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, private_key, _aad(name, address))
    return {
        "cipher": "aes-256-gcm",
        "ciphertext": _b64(ciphertext),
        "nonce": _b64(nonce),
        "kdf": "scrypt",
        "kdfparams": {"n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
    }


def decrypt_private_key(crypto: Any, passphrase: str, name: str, address: str, where: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        params = crypto["kdfparams"]
        if crypto["cipher"] != "aes-256-gcm" or crypto["kdf"] != "scrypt":
            raise KeyringError(
                f"{where}: unsupported cipher/kdf {crypto['cipher']}/{crypto['kdf']}"
            )
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
        salt = _unb64(params["salt"], where)
        nonce = _unb64(crypto["nonce"], where)
        ciphertext = _unb64(crypto["ciphertext"], where)
    except (KeyError, TypeError, ValueError):
        raise KeyringError(f"{where}: malformed encrypted key") from None
    try:
        key = _scrypt_key(passphrase, salt, n, r, p)
        return bytes(AESGCM(key).decrypt(nonce, ciphertext, _aad(name, address)))
    except InvalidTag:
        raise WrongPassphraseError(
            f"wrong keyring passphrase for key {name!r} (or its file {where} was altered)"
        ) from None
    except ValueError as exc:
        raise KeyringError(f"{where}: cannot decrypt: {exc}") from None


# -- the keyring ----------------------------------------------------------------------------


class Keyring:
    """Keys in `<home>/keyring-<backend>/`. `passphrase` is a string or a provider callback
    (asked at most once, only when a private key is stored or used with backend "file")."""

    def __init__(
        self,
        home: str | os.PathLike[str],
        backend: str = DEFAULT_BACKEND,
        passphrase: str | PassphraseProvider | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise KeyringError(
                f"unknown keyring backend {backend!r} (choose one of: {', '.join(BACKENDS)})"
            )
        self.home = Path(home)
        self.backend = backend
        self.dir = self.home / f"keyring-{backend}"
        self._passphrase = passphrase
        self._cached_passphrase: str | None = None

    def __repr__(self) -> str:
        return f"Keyring({str(self.dir)!r})"

    # -- paths and files --------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.dir / f"{validate_key_name(name)}.json"

    def _ensure_dir(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise KeyNotFoundError(self._not_found_message(path.stem)) from None
        except (OSError, ValueError) as exc:
            raise KeyringError(f"{path}: cannot read key file: {exc}") from None
        if not isinstance(data, dict):
            raise KeyringError(f"{path}: not a key record")
        return data

    def _info(self, data: dict[str, Any], path: Path) -> KeyInfo:
        try:
            pub = data["pub_key"]
            if pub.get("@type") != PUBKEY_TYPE_URL:
                raise KeyringError(f"{path}: unsupported key type {pub.get('@type')!r}")
            info = KeyInfo(
                name=str(data["name"]),
                address=str(data["address"]),
                public_key=_unb64(pub["key"], str(path)),
                hd_path=str(data.get("hd_path", COSMOS_HD_PATH)),
            )
        except (KeyError, AttributeError, TypeError):
            raise KeyringError(f"{path}: malformed key record") from None
        if info.name != path.stem:
            raise KeyringError(f"{path}: records key {info.name!r}, not {path.stem!r}")
        return info

    def _not_found_message(self, name: str) -> str:
        message = f"key {name!r} not found in keyring {self.dir} (backend {self.backend})"
        for other in BACKENDS:
            if (
                other != self.backend
                and (self.home / f"keyring-{other}" / f"{name}.json").is_file()
            ):
                message += f"; it exists in the {other!r} backend: add --keyring-backend {other}"
        return message

    # -- passphrase -------------------------------------------------------------------------

    def _get_passphrase(self, new: bool) -> str:
        if self._cached_passphrase is not None:
            return self._cached_passphrase
        source = self._passphrase
        if source is None:
            raise WrongPassphraseError(
                f"keyring {self.dir} (backend file) needs a passphrase: give it at the prompt, "
                "with --keyring-passphrase-file or in $SULTAN_KEYRING_PASSPHRASE "
                "(or use --keyring-backend test for throw-away keys)"
            )
        value = source if isinstance(source, str) else source(new)
        if new and len(value) < MIN_PASSPHRASE_LENGTH:
            raise KeyringError(
                f"keyring passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters"
            )
        if not value:
            raise WrongPassphraseError("empty keyring passphrase")
        self._cached_passphrase = value
        return value

    def _check_passphrase_against_existing(self, passphrase: str) -> None:
        """All keys of a file keyring share one passphrase: prove it opens an existing key."""
        for path in sorted(self.dir.glob("*.json")):
            data = self._read(path)
            if "crypto" in data:
                decrypt_private_key(
                    data["crypto"], passphrase, str(data["name"]), str(data["address"]), str(path)
                )
                return

    # -- queries ----------------------------------------------------------------------------

    def list_keys(self) -> list[KeyInfo]:
        if not self.dir.is_dir():
            return []
        return [
            self._info(self._read(path), path)
            for path in sorted(self.dir.glob("*.json"))
            if not path.name.startswith(".")
        ]

    def get(self, name: str) -> KeyInfo:
        path = self._path(name)
        return self._info(self._read(path), path)

    def has(self, name: str) -> bool:
        return self._path(name).is_file()

    def find(self, name_or_address: str) -> KeyInfo:
        """A key by name, or by its `sultan1…` address."""
        if _NAME_RE.fullmatch(name_or_address) and self.has(name_or_address):
            return self.get(name_or_address)
        if ACCOUNT_CODEC.is_valid(name_or_address):
            for info in self.list_keys():
                if info.address == name_or_address:
                    return info
            raise KeyNotFoundError(
                f"no key with address {name_or_address} in keyring {self.dir} "
                f"(backend {self.backend})"
            )
        validate_key_name(name_or_address)
        raise KeyNotFoundError(self._not_found_message(name_or_address))

    def private_key(self, name: str) -> bytes:
        """The raw 32-byte private key (asks for the passphrase with backend "file")."""
        path = self._path(name)
        data = self._read(path)
        info = self._info(data, path)
        if self.backend == "test":
            try:
                raw = _unb64(data["private_key"]["key"], str(path))
            except (KeyError, TypeError):
                raise KeyringError(f"{path}: malformed key record") from None
        else:
            if "crypto" not in data:
                raise KeyringError(f"{path}: no encrypted key in this record")
            raw = decrypt_private_key(
                data["crypto"], self._get_passphrase(False), info.name, info.address, str(path)
            )
        if len(raw) != 32 or secp256k1.public_key(raw) != info.public_key:
            raise KeyringError(f"{path}: private key does not match the stored public key")
        return raw

    def signer(self, name_or_address: str) -> Any:
        """A `PrivateKeySigner` for the key (by name or address)."""
        from sultan.client.signing import PrivateKeySigner

        info = self.find(name_or_address)
        return PrivateKeySigner(self.private_key(info.name))

    # -- changes ----------------------------------------------------------------------------

    def add(
        self,
        name: str,
        mnemonic: str | None = None,
        *,
        bip39_passphrase: str = "",
        hd_path: str = COSMOS_HD_PATH,
        words: int = DEFAULT_MNEMONIC_WORDS,
    ) -> tuple[KeyInfo, str]:
        """Store a key from `mnemonic` (a new random one if None); returns (info, mnemonic)."""
        path = self._path(name)
        if path.exists():
            raise DuplicateKeyError(
                f"a key named {name!r} already exists in keyring {self.dir}; "
                "choose another name or delete it first"
            )
        phrase = validate_mnemonic(mnemonic) if mnemonic is not None else generate_mnemonic(words)
        private = private_key_from_mnemonic(phrase, bip39_passphrase, hd_path)
        public = secp256k1.public_key(private)
        info = KeyInfo(name=name, address=address_of(public), public_key=public, hd_path=hd_path)
        for existing in self.list_keys():
            if existing.address == info.address:
                raise DuplicateKeyError(
                    f"this mnemonic's key is already in the keyring as {existing.name!r} "
                    f"({existing.address})"
                )
        record: dict[str, Any] = {
            "version": RECORD_VERSION,
            "name": name,
            "type": "local",
            "algo": "secp256k1",
            "address": info.address,
            "pub_key": info.pub_key_json(),
            "hd_path": hd_path,
        }
        if self.backend == "test":
            record["WARNING"] = _TEST_WARNING
            record["private_key"] = {"type": "secp256k1", "key": _b64(private)}
        else:
            is_new = not any(self.dir.glob("*.json")) if self.dir.is_dir() else True
            passphrase = self._get_passphrase(is_new)
            if not is_new:
                self._check_passphrase_against_existing(passphrase)
            record["crypto"] = encrypt_private_key(private, passphrase, name, info.address)
        self._ensure_dir()
        data = (json.dumps(record, indent=2) + "\n").encode()
        try:
            write_file_atomic(path, data, mode=0o600, exclusive=True)
        except FileExistsError:
            raise DuplicateKeyError(f"a key named {name!r} already exists in {self.dir}") from None
        return info, phrase

    def delete(self, name: str) -> KeyInfo:
        info = self.get(name)
        self._path(name).unlink()
        return info
