"""Golden-shape checks: exact key sets and the JSON type of every value."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

_I64 = re.compile(r"^-?[0-9]+$")
_HEX = re.compile(r"^[0-9A-F]*$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def i64(v: Any) -> bool:
    """int64/uint64/int: a JSON string of digits."""
    return isinstance(v, str) and bool(_I64.match(v))


def num(v: Any) -> bool:
    """uint32/int32: a JSON number."""
    return isinstance(v, int) and not isinstance(v, bool)


def text(v: Any) -> bool:
    return isinstance(v, str)


def flag(v: Any) -> bool:
    return isinstance(v, bool)


def hexs(v: Any) -> bool:
    """HexBytes: uppercase hex (may be empty)."""
    return isinstance(v, str) and bool(_HEX.match(v)) and len(v) % 2 == 0


def hex32(v: Any) -> bool:
    return hexs(v) and len(v) == 64


def addr(v: Any) -> bool:
    return hexs(v) and len(v) == 40


def b64(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def b64_or_null(v: Any) -> bool:
    return v is None or b64(v)


def time(v: Any) -> bool:
    return isinstance(v, str) and bool(_TIME.match(v))


def null(v: Any) -> bool:
    return v is None


def obj(v: Any) -> bool:
    return isinstance(v, dict)


def one_of(*checks: Any) -> Any:
    def check(v: Any) -> bool:
        return any(c(v) for c in checks)

    check.__name__ = "|".join(c.__name__ for c in checks)
    return check


def check(value: Any, schema: Any, path: str = "$") -> None:
    """dict schema = exact key set; [schema] = list of items; callable = type predicate."""
    if isinstance(schema, dict):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        assert set(value) == set(schema), (
            f"{path}: keys {sorted(value)} != expected {sorted(schema)}"
        )
        for key, sub in schema.items():
            check(value[key], sub, f"{path}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        for i, item in enumerate(value):
            check(item, schema[0], f"{path}[{i}]")
    else:
        assert schema(value), f"{path}: {value!r} is not {schema.__name__}"


PUB_KEY = {"type": lambda v: v == "tendermint/PubKeyEd25519", "value": b64}
BLOCK_ID = {"hash": hexs, "parts": {"total": num, "hash": hexs}}
HEADER = {
    "version": {"block": i64, "app": i64},
    "chain_id": text,
    "height": i64,
    "time": time,
    "last_block_id": BLOCK_ID,
    "last_commit_hash": hexs,
    "data_hash": hexs,
    "validators_hash": hex32,
    "next_validators_hash": hex32,
    "consensus_hash": hex32,
    "app_hash": hexs,
    "last_results_hash": hexs,
    "evidence_hash": hexs,
    "proposer_address": addr,
}
COMMIT = {
    "height": i64,
    "round": num,
    "block_id": BLOCK_ID,
    "signatures": [
        {
            "block_id_flag": num,
            "validator_address": hexs,
            "timestamp": time,
            "signature": b64_or_null,
        }
    ],
}
BLOCK = {
    "header": HEADER,
    "data": {"txs": [b64]},
    "evidence": {"evidence": [obj]},
    "last_commit": COMMIT,
}
EVENT = {"type": text, "attributes": [{"key": text, "value": text, "index": flag}]}
TX_RESULT = {
    "code": num,
    "data": b64_or_null,
    "log": text,
    "info": text,
    "gas_wanted": i64,
    "gas_used": i64,
    "events": [EVENT],
    "codespace": text,
}
RESULT_TX = {"hash": hex32, "height": i64, "index": num, "tx_result": TX_RESULT, "tx": b64}
VALIDATOR = {"address": addr, "pub_key": PUB_KEY, "voting_power": i64, "proposer_priority": i64}
CONSENSUS_PARAMS = {
    "block": {"max_bytes": i64, "max_gas": i64},
    "evidence": {"max_age_num_blocks": i64, "max_age_duration": i64, "max_bytes": i64},
    "validator": {"pub_key_types": [text]},
    "version": {"app": i64},
    "abci": {"vote_extensions_enable_height": i64},
}
