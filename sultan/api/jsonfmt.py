"""CometBFT v0.38 JSON encodings of blocks, commits, validators and ABCI results.

CometBFT writes RPC results with its `libs/json` package, which differs from both
encoding/json and protobuf JSON, and clients (CosmJS above all) check the types:

- int64/uint64/int are JSON *strings*; uint32/int32 (`code`, `index`, `round`,
  `block_id_flag`, `parts.total`) are JSON *numbers*;
- hashes and addresses (`HexBytes`) are UPPERCASE hex, "" when empty;
- other byte slices (txs, signatures, data) are base64, `null` when nil;
- times are RFC3339 with up to 9 fraction digits, trailing zeros trimmed, always "Z";
  Go's zero time is "0001-01-01T00:00:00Z";
- public keys use amino names: {"type": "tendermint/PubKeyEd25519", "value": <b64>}.

ABCI `ResponseCheckTx`, `ExecTxResult`, `ResponseQuery` and `EventAttribute` are the
exception: CometBFT renders them with gogo jsonpb (EmitDefaults, enums as ints), so every
field is present and byte fields that are empty are `null`. `ResponseInfo` and `Event`
use libs/json with `omitempty` tags, so their zero fields are left out.

Every function here takes protobuf messages from `sultan.pb` and returns plain
JSON-ready Python values; the field order matches CometBFT's output.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from sultan.kernel.crypto import merkle
from sultan.kernel.timeutil import format_rfc3339_nano

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
ED25519_AMINO = "tendermint/PubKeyEd25519"
SECP256K1_AMINO = "tendermint/PubKeySecp256k1"
# The libs/json names CometBFT registers for the `tendermint.crypto.PublicKey` oneof; it
# renders ValidatorUpdate.pub_key as {"Sum": {"type": <name>, "value": {<algo>: <b64>}}}.
_PUBLIC_KEY_SUM = {
    "ed25519": "tendermint.crypto.PublicKey_Ed25519",
    "secp256k1": "tendermint.crypto.PublicKey_Secp256k1",
}


# -- scalars ------------------------------------------------------------------------------


def hexu(data: bytes) -> str:
    """`HexBytes`: uppercase hex, "" for empty."""
    return bytes(data).hex().upper()


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def b64_or_null(data: bytes) -> str | None:
    """A Go `[]byte` that is nil when empty (what proto decoding leaves for empty bytes)."""
    return b64(data) if data else None


def i64(value: int) -> str:
    return str(int(value))


def timestamp_ns(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


def time_str(ts: Any, present: bool = True) -> str:
    """A `google.protobuf.Timestamp` as Go's RFC3339Nano; unset → Go's zero time."""
    if ts is None or not present:
        return GO_ZERO_TIME
    return format_rfc3339_nano(timestamp_ns(ts))


def time_field(msg: Any, name: str) -> str:
    return time_str(getattr(msg, name), msg.HasField(name))


# -- keys and validators --------------------------------------------------------------------


def pub_key(pk: Any) -> dict[str, str] | None:
    """`tendermint.crypto.PublicKey` → amino JSON {"type", "value"}."""
    which = pk.WhichOneof("sum")
    if which == "ed25519":
        return {"type": ED25519_AMINO, "value": b64(pk.ed25519)}
    if which == "secp256k1":
        return {"type": SECP256K1_AMINO, "value": b64(pk.secp256k1)}
    return None


def validator(v: Any) -> dict[str, Any]:
    """`types.Validator` (validators, status.validator_info without priority)."""
    return {
        "address": hexu(v.address),
        "pub_key": pub_key(v.pub_key),
        "voting_power": i64(v.voting_power),
        "proposer_priority": i64(v.proposer_priority),
    }


def validator_update(u: Any) -> dict[str, Any]:
    """`abci.ValidatorUpdate` as libs/json renders it (block_results.validator_updates)."""
    which = u.pub_key.WhichOneof("sum")
    out: dict[str, Any] = {"pub_key": None}
    if which is not None:
        out["pub_key"] = {
            "Sum": {
                "type": _PUBLIC_KEY_SUM[which],
                "value": {which: b64(getattr(u.pub_key, which))},
            }
        }
    if u.power:  # `json:"power,omitempty"`
        out["power"] = i64(u.power)
    return out


# -- blocks -----------------------------------------------------------------------------------


def block_id(bid: Any) -> dict[str, Any]:
    return {
        "hash": hexu(bid.hash),
        "parts": {"total": int(bid.part_set_header.total), "hash": hexu(bid.part_set_header.hash)},
    }


def header(h: Any) -> dict[str, Any]:
    return {
        "version": {"block": i64(h.version.block), "app": i64(h.version.app)},
        "chain_id": h.chain_id,
        "height": i64(h.height),
        "time": time_field(h, "time"),
        "last_block_id": block_id(h.last_block_id),
        "last_commit_hash": hexu(h.last_commit_hash),
        "data_hash": hexu(h.data_hash),
        "validators_hash": hexu(h.validators_hash),
        "next_validators_hash": hexu(h.next_validators_hash),
        "consensus_hash": hexu(h.consensus_hash),
        "app_hash": hexu(h.app_hash),
        "last_results_hash": hexu(h.last_results_hash),
        "evidence_hash": hexu(h.evidence_hash),
        "proposer_address": hexu(h.proposer_address),
    }


def commit_sig(sig: Any) -> dict[str, Any]:
    return {
        "block_id_flag": int(sig.block_id_flag),
        "validator_address": hexu(sig.validator_address),
        "timestamp": time_field(sig, "timestamp"),
        "signature": b64_or_null(sig.signature),
    }


def commit(c: Any) -> dict[str, Any]:
    return {
        "height": i64(c.height),
        "round": int(c.round),
        "block_id": block_id(c.block_id),
        "signatures": [commit_sig(s) for s in c.signatures],
    }


def block(b: Any) -> dict[str, Any]:
    return {
        "header": header(b.header),
        "data": {"txs": [b64(tx) for tx in b.data.txs]},
        "evidence": {"evidence": []},  # the embedded engine never carries evidence
        "last_commit": commit(b.last_commit),
    }


def block_meta(bid: Any, size: int, b: Any) -> dict[str, Any]:
    return {
        "block_id": block_id(bid),
        "block_size": i64(size),
        "header": header(b.header),
        "num_txs": i64(len(b.data.txs)),
    }


# -- ABCI results -----------------------------------------------------------------------------


def event_attribute(a: Any) -> dict[str, Any]:
    return {"key": a.key, "value": a.value, "index": bool(a.index)}


def event(e: Any, *, jsonpb: bool = True) -> dict[str, Any]:
    """An ABCI event: inside tx results (jsonpb) every key is present; at block level
    (libs/json, `omitempty`) an empty type or attribute list is left out."""
    attrs = [event_attribute(a) for a in e.attributes]
    if jsonpb:
        return {"type": e.type, "attributes": attrs}
    out: dict[str, Any] = {}
    if e.type:
        out["type"] = e.type
    if attrs:
        out["attributes"] = attrs
    return out


def exec_tx_result(r: Any) -> dict[str, Any]:
    """`ExecTxResult` (tx_result, txs_results[]) and `ResponseCheckTx` (same fields)."""
    return {
        "code": int(r.code),
        "data": b64_or_null(r.data),
        "log": r.log,
        "info": r.info,
        "gas_wanted": i64(r.gas_wanted),
        "gas_used": i64(r.gas_used),
        "events": [event(e) for e in r.events],
        "codespace": r.codespace,
    }


check_tx_result = exec_tx_result


def response_query(r: Any) -> dict[str, Any]:
    proof = None
    if r.HasField("proof_ops"):
        proof = {
            "ops": [
                {"type": op.type, "key": b64_or_null(op.key), "data": b64_or_null(op.data)}
                for op in r.proof_ops.ops
            ]
        }
    return {
        "code": int(r.code),
        "log": r.log,
        "info": r.info,
        "index": i64(r.index),
        "key": b64_or_null(r.key),
        "value": b64_or_null(r.value),
        "proofOps": proof,
        "height": i64(r.height),
        "codespace": r.codespace,
    }


def response_info(r: Any) -> dict[str, Any]:
    """`ResponseInfo` through libs/json: every field is `omitempty`."""
    out: dict[str, Any] = {}
    if r.data:
        out["data"] = r.data
    if r.version:
        out["version"] = r.version
    if r.app_version:
        out["app_version"] = i64(r.app_version)
    if r.last_block_height:
        out["last_block_height"] = i64(r.last_block_height)
    if r.last_block_app_hash:
        out["last_block_app_hash"] = b64(r.last_block_app_hash)
    return out


def _duration_ns(d: Any) -> int:
    return int(d.seconds) * 1_000_000_000 + int(d.nanos)


def consensus_params(p: Any) -> dict[str, Any]:
    """`types.ConsensusParams` (genesis, consensus_params): every section, all present."""
    return {
        "block": {"max_bytes": i64(p.block.max_bytes), "max_gas": i64(p.block.max_gas)},
        "evidence": {
            "max_age_num_blocks": i64(p.evidence.max_age_num_blocks),
            "max_age_duration": i64(_duration_ns(p.evidence.max_age_duration)),
            "max_bytes": i64(p.evidence.max_bytes),
        },
        "validator": {"pub_key_types": list(p.validator.pub_key_types)},
        "version": {"app": i64(p.version.app)},
        "abci": {"vote_extensions_enable_height": i64(p.abci.vote_extensions_enable_height)},
    }


def consensus_param_updates(p: Any) -> dict[str, Any]:
    """The proto `ConsensusParams` of block_results: libs/json with `omitempty` tags."""

    def nonzero(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        return {k: v for k, v in pairs if v not in ("0", [], None)}

    out: dict[str, Any] = {}
    if p.HasField("block"):
        out["block"] = nonzero(
            [("max_bytes", i64(p.block.max_bytes)), ("max_gas", i64(p.block.max_gas))]
        )
    if p.HasField("evidence"):
        e = p.evidence
        out["evidence"] = nonzero(
            [
                ("max_age_num_blocks", i64(e.max_age_num_blocks)),
                ("max_age_duration", i64(_duration_ns(e.max_age_duration))),
                ("max_bytes", i64(e.max_bytes)),
            ]
        )
    if p.HasField("validator"):
        out["validator"] = nonzero([("pub_key_types", list(p.validator.pub_key_types))])
    if p.HasField("version"):
        out["version"] = nonzero([("app", i64(p.version.app))])
    if p.HasField("abci"):
        out["abci"] = nonzero(
            [("vote_extensions_enable_height", i64(p.abci.vote_extensions_enable_height))]
        )
    return out


def block_results(height: int, results: Any) -> dict[str, Any]:
    """`block_results`: repeated fields decoded from protobuf are nil (→ null) when empty."""
    return {
        "height": i64(height),
        "txs_results": [exec_tx_result(r) for r in results.tx_results] or None,
        "finalize_block_events": [event(e, jsonpb=False) for e in results.events] or None,
        "validator_updates": [validator_update(u) for u in results.validator_updates] or None,
        "consensus_param_updates": (
            consensus_param_updates(results.consensus_param_updates)
            if results.HasField("consensus_param_updates")
            else None
        ),
        "app_hash": b64(results.app_hash),
    }


# -- transactions -----------------------------------------------------------------------------


def tx_hash(tx: bytes) -> bytes:
    return hashlib.sha256(tx).digest()


def tx_proof(txs: Sequence[bytes], index: int) -> dict[str, Any]:
    """`types.TxProof` for txs[index] against the block's data hash (leaves: the tx hashes)."""
    root, proofs = merkle.proofs_from_byte_slices([tx_hash(tx) for tx in txs])
    proof = proofs[index]
    return {
        "root_hash": hexu(root),
        "data": b64(txs[index]),
        "proof": {
            "total": i64(proof.total),
            "index": i64(proof.index),
            "leaf_hash": b64(proof.leaf_hash),
            "aunts": [b64(a) for a in proof.aunts],
        },
    }


def result_tx(record: Any, *, block_txs: Sequence[bytes] | None = None) -> dict[str, Any]:
    """`ResultTx` from an indexed `abci.TxResult`; with `block_txs`, adds the inclusion proof."""
    out: dict[str, Any] = {
        "hash": hexu(tx_hash(record.tx)),
        "height": i64(record.height),
        "index": int(record.index),
        "tx_result": exec_tx_result(record.result),
        "tx": b64(record.tx),
    }
    if block_txs is not None and record.index < len(block_txs):
        out["proof"] = tx_proof(block_txs, record.index)
    return out
