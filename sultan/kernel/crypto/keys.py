"""Ed25519 validator and node keys, stored exactly as CometBFT stores them.

Keeping CometBFT's file formats (`priv_validator_key.json`, `node_key.json`,
`data/priv_validator_state.json`) lets an operator move keys between a Sultan home and a
CometBFT home, and lets an external CometBFT node (socket mode) use the keys `sultan init`
made. Private files are written 0600 and atomically: a crash never leaves half a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

import attrs

from sultan.kernel.crypto import native

PUBKEY_TYPE = "tendermint/PubKeyEd25519"
PRIVKEY_TYPE = "tendermint/PrivKeyEd25519"
SEED_SIZE = 32
PUBKEY_SIZE = 32
PRIVKEY_SIZE = 64  # CometBFT's form: seed || pubkey
SIGNATURE_SIZE = 64
ADDRESS_SIZE = 20
PRIVATE_FILE_MODE = 0o600


class KeyFileError(ValueError):
    """A key or signing-state file is missing, malformed or inconsistent."""


# --- primitives ------------------------------------------------------------------------------


def pubkey_address(pub_key: bytes) -> bytes:
    """CometBFT address of an ed25519 public key: the first 20 bytes of its SHA-256."""
    _check_len(pub_key, PUBKEY_SIZE, "ed25519 public key")
    return hashlib.sha256(pub_key).digest()[:ADDRESS_SIZE]


def node_id_from_pubkey(pub_key: bytes) -> str:
    """P2P node id (the `<id>@host:port` part): lowercase hex of the key's address."""
    return pubkey_address(pub_key).hex()


def ed25519_verify(pub_key: bytes, msg: bytes, sig: bytes) -> bool:
    """True iff `sig` is a valid ed25519 signature of `msg` by `pub_key`; never raises.

    Verified by the C crypto core (OpenSSL's RFC 8032 ed25519, as `cryptography` uses).
    """
    return native.ed25519_verify_many([(pub_key, msg, sig)], threads=1)[0]


def _check_len(data: bytes, size: int, what: str) -> None:
    if not isinstance(data, bytes | bytearray) or len(data) != size:
        got = len(data) if isinstance(data, bytes | bytearray) else type(data).__name__
        raise ValueError(f"{what} must be {size} bytes, got {got}")


class Ed25519PrivKey:
    """An ed25519 signing key (RFC 8032, signed by the C crypto core); `repr` never shows
    secret material."""

    __slots__ = ("_seed", "_pub")

    def __init__(self, seed: bytes) -> None:
        _check_len(seed, SEED_SIZE, "ed25519 seed")
        self._seed = bytes(seed)
        self._pub = native.ed25519_public_key(self._seed)

    @classmethod
    def generate(cls) -> Ed25519PrivKey:
        return cls(secrets.token_bytes(SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519PrivKey:
        return cls(seed)

    @classmethod
    def from_bytes(cls, data: bytes) -> Ed25519PrivKey:
        """Load CometBFT's 64-byte form (seed || pubkey), checking the two halves agree."""
        _check_len(data, PRIVKEY_SIZE, "ed25519 private key")
        key = cls(bytes(data[:SEED_SIZE]))
        if not hmac.compare_digest(key.pub_key, bytes(data[SEED_SIZE:])):
            raise ValueError("ed25519 private key: public half does not match the seed")
        return key

    @property
    def seed(self) -> bytes:
        return self._seed

    @property
    def pub_key(self) -> bytes:
        return self._pub

    @property
    def address(self) -> bytes:
        return pubkey_address(self._pub)

    @property
    def address_hex(self) -> str:
        """Upper-case hex address, as genesis.json and priv_validator_key.json show it."""
        return self.address.hex().upper()

    @property
    def node_id(self) -> str:
        return node_id_from_pubkey(self._pub)

    def to_bytes(self) -> bytes:
        """CometBFT's 64-byte private key form: seed || pubkey."""
        return self._seed + self._pub

    def sign(self, msg: bytes) -> bytes:
        return native.ed25519_sign(self._seed, bytes(msg))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ed25519PrivKey):
            return NotImplemented
        return hmac.compare_digest(self._seed, other._seed)

    def __hash__(self) -> int:
        return hash(self._pub)

    def __repr__(self) -> str:
        return f"Ed25519PrivKey(address={self.address_hex})"


# --- JSON helpers ----------------------------------------------------------------------------


def pubkey_to_json(pub_key: bytes) -> dict[str, str]:
    _check_len(pub_key, PUBKEY_SIZE, "ed25519 public key")
    return {"type": PUBKEY_TYPE, "value": base64.b64encode(pub_key).decode()}


def pubkey_from_json(obj: Any, where: str = "pub_key") -> bytes:
    """Decode `{"type": "tendermint/PubKeyEd25519", "value": b64}`; ValueError names `where`."""
    return _typed_b64(obj, PUBKEY_TYPE, PUBKEY_SIZE, where)


def privkey_to_json(key: Ed25519PrivKey) -> dict[str, str]:
    return {"type": PRIVKEY_TYPE, "value": base64.b64encode(key.to_bytes()).decode()}


def _typed_b64(obj: Any, type_name: str, size: int, where: str) -> bytes:
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected an object with 'type' and 'value'")
    if obj.get("type") != type_name:
        raise ValueError(f"{where}: type must be {type_name!r}, got {obj.get('type')!r}")
    value = obj.get("value")
    if not isinstance(value, str):
        raise ValueError(f"{where}: 'value' must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{where}: 'value' is not valid base64 ({exc})") from None
    if len(raw) != size:
        raise ValueError(f"{where}: expected {size} bytes, got {len(raw)}")
    return raw


# --- files -----------------------------------------------------------------------------------


def write_file_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int = PRIVATE_FILE_MODE,
    exclusive: bool = False,
) -> None:
    """Write `data` to `path` via a synced temp file, so readers see old or new, never half.

    With `exclusive=True` the file must not exist yet (the final step is a hard link, which
    fails atomically if another writer got there first) and FileExistsError is raised.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    renamed = False
    try:
        _write_fd(fd, data, mode)
        if exclusive:
            try:
                os.link(tmp, target)
            except FileExistsError:
                msg = f"{target} already exists; refusing to overwrite it"
                raise FileExistsError(msg) from None
            except OSError:  # no hard links on this filesystem: exclusive create instead
                _write_exclusive(target, data, mode)
        else:
            os.replace(tmp, target)
            renamed = True
    finally:
        if not renamed:
            tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def _write_exclusive(target: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise FileExistsError(f"{target} already exists; refusing to overwrite it") from None
    _write_fd(fd, data, mode)


def _write_fd(fd: int, data: bytes, mode: int) -> None:
    """Write all of `data`, set exactly `mode` (the umask may have narrowed it), sync, close."""
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _dump(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode()


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: {what} not found: run `sultan init`") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read {what}: {exc.strerror}") from None
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: {what} is not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise KeyFileError(f"{path}: {what} must be a JSON object")
    return obj


def _privkey_from_json(obj: Any, path: Path) -> Ed25519PrivKey:
    try:
        raw = _typed_b64(obj, PRIVKEY_TYPE, PRIVKEY_SIZE, "priv_key")
        return Ed25519PrivKey.from_bytes(raw)
    except ValueError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def save_priv_validator_key(
    path: str | os.PathLike[str], key: Ed25519PrivKey, *, overwrite: bool = False
) -> None:
    """Write `priv_validator_key.json` (0600); refuses to replace one unless `overwrite`."""
    doc = {
        "address": key.address_hex,
        "pub_key": pubkey_to_json(key.pub_key),
        "priv_key": privkey_to_json(key),
    }
    write_file_atomic(path, _dump(doc), exclusive=not overwrite)


def load_priv_validator_key(path: str | os.PathLike[str]) -> Ed25519PrivKey:
    """Read and cross-check `priv_validator_key.json` (private, public and address agree)."""
    p = Path(path)
    obj = _read_json_object(p, "validator key file")
    key = _privkey_from_json(obj.get("priv_key"), p)
    try:
        pub = pubkey_from_json(obj.get("pub_key"), "pub_key")
    except ValueError as exc:
        raise KeyFileError(f"{p}: {exc}") from None
    if pub != key.pub_key:
        raise KeyFileError(f"{p}: pub_key does not match priv_key")
    address = obj.get("address")
    if not isinstance(address, str) or address.upper() != key.address_hex:
        raise KeyFileError(
            f"{p}: address {address!r} does not match the public key (expected {key.address_hex})"
        )
    return key


def save_node_key(
    path: str | os.PathLike[str], key: Ed25519PrivKey, *, overwrite: bool = False
) -> None:
    """Write `node_key.json` (0600); refuses to replace one unless `overwrite`."""
    write_file_atomic(path, _dump({"priv_key": privkey_to_json(key)}), exclusive=not overwrite)


def load_node_key(path: str | os.PathLike[str]) -> Ed25519PrivKey:
    p = Path(path)
    obj = _read_json_object(p, "node key file")
    return _privkey_from_json(obj.get("priv_key"), p)


# --- double-sign protection state ------------------------------------------------------------

MAX_INT64 = 2**63 - 1
MAX_INT32 = 2**31 - 1
STEP_NONE, STEP_PROPOSE, STEP_PREVOTE, STEP_PRECOMMIT = 0, 1, 2, 3


@attrs.frozen
class PrivValidatorState:
    """The last height/round/step this validator signed; it must never sign below it."""

    height: int = 0
    round: int = 0
    step: int = STEP_NONE
    signature: bytes = b""
    sign_bytes: bytes = b""

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"height": str(self.height), "round": self.round, "step": self.step}
        if self.signature:
            doc["signature"] = base64.b64encode(self.signature).decode()
        if self.sign_bytes:
            doc["signbytes"] = self.sign_bytes.hex().upper()
        return doc


def save_priv_validator_state(path: str | os.PathLike[str], state: PrivValidatorState) -> None:
    """Atomically replace `priv_validator_state.json` (0600)."""
    write_file_atomic(path, _dump(state.to_json()))


def load_priv_validator_state(path: str | os.PathLike[str]) -> PrivValidatorState:
    p = Path(path)
    obj = _read_json_object(p, "validator state file")
    height = obj.get("height")
    if not isinstance(height, str) or not height.isdigit() or int(height) > MAX_INT64:
        raise KeyFileError(f"{p}: 'height' must be a non-negative integer string like \"0\"")
    rnd, step = obj.get("round"), obj.get("step")
    if isinstance(rnd, bool) or not isinstance(rnd, int) or not 0 <= rnd <= MAX_INT32:
        raise KeyFileError(f"{p}: 'round' must be a non-negative int32, got {rnd!r}")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= STEP_PRECOMMIT:
        raise KeyFileError(f"{p}: 'step' must be 0..3, got {step!r}")
    try:
        signature = base64.b64decode(obj.get("signature") or "", validate=True)
        sign_bytes = bytes.fromhex(obj.get("signbytes") or "")
    except (binascii.Error, ValueError, TypeError) as exc:
        raise KeyFileError(f"{p}: bad 'signature'/'signbytes' encoding ({exc})") from None
    return PrivValidatorState(int(height), rnd, step, signature, sign_bytes)
