"""genesis.json model: CometBFT format, validation messages, canonical bytes and hash."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from sultan.kernel.crypto.keys import Ed25519PrivKey
from sultan.kernel.genesis import (
    ConsensusParams,
    GenesisDoc,
    GenesisError,
    GenesisValidator,
    genesis_doc_hash,
    genesis_from_json,
    genesis_to_bytes,
    load_genesis,
    write_genesis,
)
from sultan.kernel.timeutil import format_rfc3339_nano, parse_rfc3339_nano

KEY = Ed25519PrivKey.from_seed(bytes(range(32)))
KEY2 = Ed25519PrivKey.from_seed(bytes(range(1, 33)))
T0 = parse_rfc3339_nano("2026-11-27T10:00:00.123456789Z")


def cometbft_genesis() -> dict[str, Any]:
    """A genesis.json as CometBFT v0.38 `init` writes it (field order and string int64s)."""
    return {
        "genesis_time": "2026-11-27T10:00:00.123456789Z",
        "chain_id": "sultan-test-1",
        "initial_height": "1",
        "consensus_params": {
            "block": {"max_bytes": "22020096", "max_gas": "-1"},
            "evidence": {
                "max_age_num_blocks": "100000",
                "max_age_duration": "172800000000000",
                "max_bytes": "1048576",
            },
            "validator": {"pub_key_types": ["ed25519"]},
            "version": {"app": "0"},
            "abci": {"vote_extensions_enable_height": "0"},
        },
        "validators": [
            {
                "address": KEY.address_hex,
                "pub_key": {
                    "type": "tendermint/PubKeyEd25519",
                    "value": base64.b64encode(KEY.pub_key).decode(),
                },
                "power": "10",
                "name": "node0",
            }
        ],
        "app_hash": "",
        "app_state": {"bank": {"balances": []}},
    }


def write_json(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(data, indent=2))
    return path


# --- RFC3339Nano -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.000000001Z"),
        (100_000_000, "1970-01-01T00:00:00.1Z"),
        (T0, "2026-11-27T10:00:00.123456789Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (951_782_400 * 10**9, "2000-02-29T00:00:00Z"),
    ],
)
def test_rfc3339_nano_like_go(ns: int, text: str) -> None:
    assert format_rfc3339_nano(ns) == text
    assert parse_rfc3339_nano(text) == ns


def test_rfc3339_matches_datetime_for_random_instants() -> None:
    rng = random.Random(7)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for _ in range(500):
        secs = rng.randrange(-62_135_596_800, 253_402_300_799)
        frac = rng.randrange(10**9)
        when = epoch + dt.timedelta(seconds=secs)
        expected = when.isoformat()[:19]  # strftime does not zero-pad years < 1000
        text = format_rfc3339_nano(secs * 10**9 + frac)
        assert text.startswith(expected)
        assert parse_rfc3339_nano(text) == secs * 10**9 + frac


def test_rfc3339_offsets_and_short_fractions() -> None:
    assert parse_rfc3339_nano("2026-11-27T12:00:00+02:00") == parse_rfc3339_nano(
        "2026-11-27T10:00:00Z"
    )
    assert parse_rfc3339_nano("2026-11-27T10:00:00.5Z") == parse_rfc3339_nano(
        "2026-11-27T10:00:00.500000000Z"
    )


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00Z",
        "2026-11-27 10:00:00Z",
        "2026-11-27T10:00:00",
        "2026-11-27T10:00:00.1234567891Z",
        "2026-11-27T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "",
    ],
)
def test_rfc3339_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339_nano(text)


# --- load / write ----------------------------------------------------------------------------


def test_loads_a_cometbft_genesis(tmp_path: Path) -> None:
    doc = load_genesis(write_json(tmp_path, cometbft_genesis()))
    assert doc.chain_id == "sultan-test-1" and doc.initial_height == 1
    assert doc.genesis_time_ns == T0 and doc.genesis_time == "2026-11-27T10:00:00.123456789Z"
    assert doc.consensus_params == ConsensusParams()
    assert doc.consensus_params.evidence.max_age_duration_ns == 48 * 3600 * 10**9
    (val,) = doc.validators
    assert val.pub_key == KEY.pub_key and val.address == KEY.address and val.power == 10
    assert doc.app_hash == b"" and doc.app_state == {"bank": {"balances": []}}


def test_write_is_canonical_and_round_trips(tmp_path: Path) -> None:
    doc = GenesisDoc(
        genesis_time_ns=T0,
        chain_id="sultan-test-1",
        validators=(GenesisValidator.from_pub_key(KEY.pub_key, 10, "node0"),),
        app_state={"zeta": {"b": 1, "a": 2}, "alpha": {}},
    )
    path = tmp_path / "genesis.json"
    digest = write_genesis(path, doc)
    raw = path.read_bytes()
    assert raw == genesis_to_bytes(doc)
    assert raw == (json.dumps(json.loads(raw), sort_keys=True, indent=2) + "\n").encode()
    assert digest == genesis_doc_hash(path) == genesis_doc_hash(raw) == hashlib.sha256(raw).digest()
    loaded = load_genesis(path)
    assert loaded == doc
    assert genesis_to_bytes(loaded) == raw
    assert json.loads(raw)["initial_height"] == "1"  # int64s are JSON strings
    assert json.loads(raw)["validators"][0]["power"] == "10"


def test_same_doc_same_hash_different_doc_different_hash(tmp_path: Path) -> None:
    data = cometbft_genesis()
    a = genesis_from_json(data)
    b = genesis_from_json(copy.deepcopy(data))
    assert genesis_to_bytes(a) == genesis_to_bytes(b)
    data["chain_id"] = "sultan-test-2"
    assert genesis_doc_hash(genesis_to_bytes(genesis_from_json(data))) != genesis_doc_hash(
        genesis_to_bytes(a)
    )


def test_cometbft_lenient_forms(tmp_path: Path) -> None:
    data = cometbft_genesis()
    data["initial_height"] = "0"  # CometBFT treats 0 as 1
    data["validators"][0]["address"] = ""  # CometBFT derives it from the key
    del data["consensus_params"]
    del data["app_state"]
    doc = genesis_from_json(data)
    assert doc.initial_height == 1 and doc.validators[0].address == KEY.address
    assert doc.consensus_params == ConsensusParams() and doc.app_state == {}


def test_validators_optional_when_app_state_provides_them() -> None:
    data = cometbft_genesis()
    data["validators"] = []
    with pytest.raises(GenesisError, match="at least one is required"):
        genesis_from_json(data)
    assert genesis_from_json(data, require_validators=False).validators == ()


def _set(path: str, value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = d
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return mutate


_DELETE = object()
_OTHER_PUB = base64.b64encode(KEY2.pub_key).decode()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_set("chain_id", ""), "chain_id must be a non-empty string"),
        (_set("chain_id", "c" * 51), "too long (51 > 50 chars)"),
        (_set("chain_id", "bad chain!"), "invalid characters"),
        (_set("chain_id", _DELETE), "chain_id is missing"),
        (_set("initial_height", "-1"), "initial_height must be >= 1"),
        (_set("initial_height", 1), "initial_height must be an integer encoded as a JSON string"),
        (_set("genesis_time", "yesterday"), "genesis_time: invalid RFC3339 timestamp"),
        (_set("genesis_time", _DELETE), "genesis_time is missing"),
        (_set("validators.0.power", "0"), "validators[0].power must be > 0"),
        (_set("validators.0.power", "-5"), "validators[0].power must be > 0"),
        (_set("validators.0.power", 10), "validators[0].power must be an integer encoded"),
        (_set("validators.0.power", _DELETE), "validators[0].power is missing"),
        (_set("validators.0.address", "00" * 20), "validators[0].address 0000"),
        (_set("validators.0.address", "xyz"), "validators[0].address 'xyz' is not hex"),
        (_set("validators.0.pub_key.type", "tendermint/PubKeySecp256k1"), "unsupported key type"),
        (_set("validators.0.pub_key.value", "!!!"), "not valid base64"),
        (_set("validators.0.pub_key.value", "AAAA"), "expected 32 bytes, got 3"),
        (_set("validators.0.pub_key", _DELETE), "validators[0].pub_key: expected an object"),
        (_set("validators.0.extra", 1), "validators[0]: unknown key 'extra'"),
        (_set("validators", {}), "validators must be a JSON array"),
        (_set("consensus_params.block.max_bytes", "0"), "block.max_bytes must be -1 or > 0"),
        (_set("consensus_params.block.max_bytes", "104857601"), "block.max_bytes is too big"),
        (_set("consensus_params.block.max_gas", "-2"), "block.max_gas must be >= -1"),
        (_set("consensus_params.evidence.max_bytes", "30000000"), "exceeds block.max_bytes"),
        (_set("consensus_params.evidence.max_age_num_blocks", "0"), "max_age_num_blocks must"),
        (_set("consensus_params.validator.pub_key_types", ["rsa"]), "unknown key type 'rsa'"),
        (_set("consensus_params.validator.pub_key_types", []), "must not be empty"),
        (_set("consensus_params.validator.pub_key_types", ["secp256k1"]), "forbids"),
        (_set("consensus_params.abci.vote_extensions_enable_height", "-1"), "must be >= 0"),
        (_set("consensus_params.version.app", "-1"), "version.app is out of range"),
        (_set("consensus_params.synchrony", {}), "unknown key 'synchrony'"),
        (_set("validator", []), "genesis: unknown key 'validator'"),
        (_set("app_state", []), "app_state must be a JSON object"),
        (_set("app_hash", "zz"), "app_hash must be a hex string"),
    ],
)
def test_invalid_genesis_messages(tmp_path: Path, mutate: Any, message: str) -> None:
    data = cometbft_genesis()
    mutate(data)
    path = write_json(tmp_path, data)
    with pytest.raises(GenesisError) as err:
        load_genesis(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_duplicate_validators_are_rejected() -> None:
    data = cometbft_genesis()
    data["validators"].append(copy.deepcopy(data["validators"][0]))
    with pytest.raises(GenesisError, match=r"validators\[1\] duplicates validators\[0\]"):
        genesis_from_json(data)
    data["validators"][1]["pub_key"]["value"] = _OTHER_PUB
    data["validators"][1]["address"] = KEY2.address_hex
    assert len(genesis_from_json(data).validators) == 2


def test_total_power_is_bounded() -> None:
    data = cometbft_genesis()
    data["validators"][0]["power"] = str(2**63 - 1)
    with pytest.raises(GenesisError, match="total validator power exceeds"):
        genesis_from_json(data)


def test_cosmos_app_genesis_gets_a_helpful_error() -> None:
    data = {"app_name": "simd", "chain_id": "x", "consensus": {"validators": []}}
    with pytest.raises(GenesisError, match="AppGenesis"):
        genesis_from_json(data)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="genesis file not found: run `sultan init`"):
        load_genesis(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GenesisError, match=r"bad\.json: not valid JSON"):
        load_genesis(bad)
    arr = tmp_path / "arr.json"
    arr.write_text("[]")
    with pytest.raises(GenesisError, match="genesis must be a JSON object"):
        load_genesis(arr)


def test_write_refuses_invalid_docs(tmp_path: Path) -> None:
    doc = GenesisDoc(genesis_time_ns=T0, chain_id="ok")
    with pytest.raises(GenesisError, match="no validators"):
        write_genesis(tmp_path / "g.json", doc)
    assert not (tmp_path / "g.json").exists()
    write_genesis(tmp_path / "g.json", doc, require_validators=False)
    bad_state = GenesisDoc(
        genesis_time_ns=T0,
        chain_id="ok",
        app_state={"m": {1.5}},  # a set is not JSON
    )
    with pytest.raises(GenesisError, match="not JSON-serialisable"):
        write_genesis(tmp_path / "h.json", bad_state, require_validators=False)
