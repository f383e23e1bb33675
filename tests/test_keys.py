"""ed25519 keys in CometBFT's file formats: signing, file modes, round trips, corrupt files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sultan.kernel.crypto.keys import (
    Ed25519PrivKey,
    KeyFileError,
    PrivValidatorState,
    ed25519_verify,
    load_node_key,
    load_priv_validator_key,
    load_priv_validator_state,
    node_id_from_pubkey,
    pubkey_address,
    save_node_key,
    save_priv_validator_key,
    save_priv_validator_state,
)

# RFC 8032, section 7.1, TEST 1 (empty message).
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUB = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIG = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065"
    "224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- primitives ------------------------------------------------------------------------------


def test_rfc8032_vector() -> None:
    key = Ed25519PrivKey.from_seed(RFC_SEED)
    assert key.pub_key == RFC_PUB
    assert key.sign(b"") == RFC_SIG
    assert ed25519_verify(RFC_PUB, b"", RFC_SIG)


def test_sign_verify_and_tampering() -> None:
    key = Ed25519PrivKey.generate()
    msg = b"block 42 precommit"
    sig = key.sign(msg)
    assert len(sig) == 64
    assert ed25519_verify(key.pub_key, msg, sig)
    # the signature is a standard one: cryptography's own verifier accepts it
    Ed25519PublicKey.from_public_bytes(key.pub_key).verify(sig, msg)
    assert not ed25519_verify(key.pub_key, msg + b"!", sig)
    assert not ed25519_verify(key.pub_key, msg, sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not ed25519_verify(Ed25519PrivKey.generate().pub_key, msg, sig)
    assert not ed25519_verify(key.pub_key[:31], msg, sig)
    assert not ed25519_verify(key.pub_key, msg, sig[:63])


def test_address_and_node_id() -> None:
    key = Ed25519PrivKey.from_seed(RFC_SEED)
    digest = hashlib.sha256(RFC_PUB).digest()[:20]
    assert key.address == pubkey_address(RFC_PUB) == digest
    assert key.address_hex == digest.hex().upper()
    assert key.node_id == node_id_from_pubkey(RFC_PUB) == digest.hex()
    assert key.to_bytes() == RFC_SEED + RFC_PUB
    assert Ed25519PrivKey.from_bytes(key.to_bytes()) == key


def test_repr_hides_secret() -> None:
    key = Ed25519PrivKey.from_seed(RFC_SEED)
    assert RFC_SEED.hex() not in repr(key) and key.address_hex in repr(key)


def test_bad_key_material() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Ed25519PrivKey.from_seed(b"short")
    with pytest.raises(ValueError, match="does not match the seed"):
        Ed25519PrivKey.from_bytes(RFC_SEED + bytes(32))


# --- priv_validator_key.json / node_key.json -------------------------------------------------


def test_priv_validator_key_file_format_and_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not widen the file mode
    try:
        key = Ed25519PrivKey.from_seed(RFC_SEED)
        path = tmp_path / "priv_validator_key.json"
        save_priv_validator_key(path, key)
    finally:
        os.umask(old_umask)
    assert mode_of(path) == 0o600
    doc = json.loads(path.read_text())
    assert doc == {
        "address": key.address_hex,
        "pub_key": {
            "type": "tendermint/PubKeyEd25519",
            "value": base64.b64encode(RFC_PUB).decode(),
        },
        "priv_key": {
            "type": "tendermint/PrivKeyEd25519",
            "value": base64.b64encode(RFC_SEED + RFC_PUB).decode(),
        },
    }
    assert load_priv_validator_key(path) == key
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_node_key_round_trip(tmp_path: Path) -> None:
    key = Ed25519PrivKey.generate()
    path = tmp_path / "node_key.json"
    save_node_key(path, key)
    assert mode_of(path) == 0o600
    assert set(json.loads(path.read_text())) == {"priv_key"}
    assert load_node_key(path) == key


def test_key_files_are_not_overwritten_by_default(tmp_path: Path) -> None:
    path = tmp_path / "priv_validator_key.json"
    first, second = Ed25519PrivKey.generate(), Ed25519PrivKey.generate()
    save_priv_validator_key(path, first)
    with pytest.raises(FileExistsError, match="already exists"):
        save_priv_validator_key(path, second)
    with pytest.raises(FileExistsError):
        save_node_key(path, second)
    assert load_priv_validator_key(path) == first
    save_priv_validator_key(path, second, overwrite=True)
    assert load_priv_validator_key(path) == second
    assert mode_of(path) == 0o600


def _valid_pv_doc() -> dict[str, Any]:
    key = Ed25519PrivKey.from_seed(RFC_SEED)
    return {
        "address": key.address_hex,
        "pub_key": {
            "type": "tendermint/PubKeyEd25519",
            "value": base64.b64encode(RFC_PUB).decode(),
        },
        "priv_key": {
            "type": "tendermint/PrivKeyEd25519",
            "value": base64.b64encode(RFC_SEED + RFC_PUB).decode(),
        },
    }


def _edit(fn: Callable[[dict[str, Any]], None]) -> str:
    doc = _valid_pv_doc()
    fn(doc)
    return json.dumps(doc)


_OTHER = Ed25519PrivKey.generate()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (
            _edit(lambda d: d["priv_key"].update(type="tendermint/PrivKeySecp256k1")),
            "type must be 'tendermint/PrivKeyEd25519'",
        ),
        (_edit(lambda d: d["priv_key"].update(value="%%%")), "not valid base64"),
        (
            _edit(lambda d: d["priv_key"].update(value=base64.b64encode(RFC_SEED).decode())),
            "expected 64 bytes, got 32",
        ),
        (
            _edit(
                lambda d: d["priv_key"].update(
                    value=base64.b64encode(RFC_SEED + bytes(32)).decode()
                )
            ),
            "does not match the seed",
        ),
        (_edit(lambda d: d.update(address="00" * 20)), "does not match the public key"),
        (
            _edit(lambda d: d["pub_key"].update(value=base64.b64encode(_OTHER.pub_key).decode())),
            "pub_key does not match priv_key",
        ),
        (_edit(lambda d: d.pop("pub_key")), "pub_key: expected an object"),
        (_edit(lambda d: d.pop("priv_key")), "priv_key: expected an object"),
    ],
)
def test_corrupt_validator_key_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "priv_validator_key.json"
    path.write_text(text)
    with pytest.raises(KeyFileError) as err:
        load_priv_validator_key(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_and_corrupt_node_key(tmp_path: Path) -> None:
    path = tmp_path / "node_key.json"
    with pytest.raises(KeyFileError, match="not found: run `sultan init`"):
        load_node_key(path)
    path.write_text('{"priv_key": {"type": "tendermint/PubKeyEd25519", "value": ""}}')
    with pytest.raises(KeyFileError, match="node_key.json: priv_key: type must be"):
        load_node_key(path)


# --- priv_validator_state.json ---------------------------------------------------------------


def test_priv_validator_state_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "priv_validator_state.json"
    save_priv_validator_state(path, PrivValidatorState())
    assert json.loads(path.read_text()) == {"height": "0", "round": 0, "step": 0}
    assert mode_of(path) == 0o600
    assert load_priv_validator_state(path) == PrivValidatorState()
    signed = PrivValidatorState(12, 1, 3, b"\x01" * 64, b"\xab\xcd")
    save_priv_validator_state(path, signed)  # replaces atomically
    doc = json.loads(path.read_text())
    assert doc["height"] == "12" and doc["signbytes"] == "ABCD"
    assert load_priv_validator_state(path) == signed


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"height": 0, "round": 0, "step": 0}, "'height' must be a non-negative integer string"),
        ({"height": "-1", "round": 0, "step": 0}, "'height'"),
        ({"height": "1", "round": -1, "step": 0}, "'round'"),
        ({"height": "1", "round": 0, "step": 7}, "'step' must be 0..3"),
        ({"height": "1", "round": 0, "step": 1, "signature": "%%"}, "bad 'signature'"),
    ],
)
def test_corrupt_priv_validator_state(tmp_path: Path, doc: Any, message: str) -> None:
    path = tmp_path / "priv_validator_state.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError) as err:
        load_priv_validator_state(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_exclusive_write_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    key = Ed25519PrivKey.generate()
    path = tmp_path / "priv_validator_key.json"
    save_priv_validator_key(path, key)
    assert load_priv_validator_key(path) == key and mode_of(path) == 0o600
    with pytest.raises(FileExistsError, match="already exists"):
        save_priv_validator_key(path, Ed25519PrivKey.generate())
    assert [p.name for p in tmp_path.iterdir()] == ["priv_validator_key.json"]
