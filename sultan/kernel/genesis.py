"""CometBFT `genesis.json`: typed model, strict loader and canonical writer.

The file stays in CometBFT v0.38's own format (int64s as JSON strings, `tendermint/…`
key types) so an external CometBFT node in socket mode can start from the very same file.
Every node must agree on it bit for bit, so the loader refuses anything ambiguous (unknown
keys, numbers where CometBFT writes strings, mismatched addresses) with a message that
names the field, and the writer emits one canonical byte form whose SHA-256 identifies it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import attrs

from sultan.kernel.crypto.keys import (
    PUBKEY_TYPE,
    pubkey_address,
    pubkey_from_json,
    pubkey_to_json,
    write_file_atomic,
)
from sultan.kernel.timeutil import format_rfc3339_nano, parse_rfc3339_nano

MAX_CHAIN_ID_LEN = 50
MAX_BLOCK_SIZE_BYTES = 100 * 1024 * 1024  # CometBFT's types.MaxBlockSizeBytes
MAX_INT64 = 2**63 - 1
MAX_UINT64 = 2**64 - 1
MAX_TOTAL_VOTING_POWER = MAX_INT64 // 8  # CometBFT's types.MaxTotalVotingPower
KNOWN_PUBKEY_TYPES = ("ed25519", "secp256k1")
_CHAIN_ID_RE = re.compile(r"[A-Za-z0-9._-]+")
_INT_RE = re.compile(r"-?\d+")


class GenesisError(ValueError):
    """genesis.json is missing, malformed or fails CometBFT's validity rules."""


# --- model -----------------------------------------------------------------------------------


@attrs.frozen
class BlockParams:
    max_bytes: int = 22020096
    max_gas: int = -1


@attrs.frozen
class EvidenceParams:
    max_age_num_blocks: int = 100000
    max_age_duration_ns: int = 172800000000000  # 48h
    max_bytes: int = 1048576


@attrs.frozen
class ValidatorParams:
    pub_key_types: tuple[str, ...] = ("ed25519",)


@attrs.frozen
class VersionParams:
    app: int = 0


@attrs.frozen
class ABCIParams:
    vote_extensions_enable_height: int = 0


@attrs.frozen
class ConsensusParams:
    """CometBFT v0.38 consensus parameters (defaults are CometBFT's genesis defaults)."""

    block: BlockParams = attrs.field(factory=BlockParams)
    evidence: EvidenceParams = attrs.field(factory=EvidenceParams)
    validator: ValidatorParams = attrs.field(factory=ValidatorParams)
    version: VersionParams = attrs.field(factory=VersionParams)
    abci: ABCIParams = attrs.field(factory=ABCIParams)

    def validate(self) -> None:
        """Apply CometBFT's `ConsensusParams.ValidateBasic` rules; raise GenesisError."""
        b, e = self.block, self.evidence
        if b.max_bytes == 0 or b.max_bytes < -1:
            raise GenesisError(
                f"consensus_params.block.max_bytes must be -1 or > 0, got {b.max_bytes}"
            )
        if b.max_bytes > MAX_BLOCK_SIZE_BYTES:
            raise GenesisError(
                f"consensus_params.block.max_bytes is too big: "
                f"{b.max_bytes} > {MAX_BLOCK_SIZE_BYTES}"
            )
        if b.max_gas < -1:
            raise GenesisError(f"consensus_params.block.max_gas must be >= -1, got {b.max_gas}")
        if e.max_age_num_blocks <= 0:
            raise GenesisError("consensus_params.evidence.max_age_num_blocks must be > 0")
        if e.max_age_duration_ns <= 0:
            raise GenesisError("consensus_params.evidence.max_age_duration must be > 0")
        if e.max_bytes < 0:
            raise GenesisError("consensus_params.evidence.max_bytes must be >= 0")
        block_max = MAX_BLOCK_SIZE_BYTES if b.max_bytes == -1 else b.max_bytes
        if e.max_bytes > block_max:
            raise GenesisError(
                f"consensus_params.evidence.max_bytes ({e.max_bytes}) exceeds "
                f"block.max_bytes ({block_max})"
            )
        if not self.validator.pub_key_types:
            raise GenesisError("consensus_params.validator.pub_key_types must not be empty")
        for i, kt in enumerate(self.validator.pub_key_types):
            if kt not in KNOWN_PUBKEY_TYPES:
                raise GenesisError(
                    f"consensus_params.validator.pub_key_types[{i}]: unknown key type {kt!r}"
                )
        if self.abci.vote_extensions_enable_height < 0:
            raise GenesisError("consensus_params.abci.vote_extensions_enable_height must be >= 0")

    def to_json(self) -> dict[str, Any]:
        return {
            "block": {"max_bytes": str(self.block.max_bytes), "max_gas": str(self.block.max_gas)},
            "evidence": {
                "max_age_num_blocks": str(self.evidence.max_age_num_blocks),
                "max_age_duration": str(self.evidence.max_age_duration_ns),
                "max_bytes": str(self.evidence.max_bytes),
            },
            "validator": {"pub_key_types": list(self.validator.pub_key_types)},
            "version": {"app": str(self.version.app)},
            "abci": {"vote_extensions_enable_height": str(self.abci.vote_extensions_enable_height)},
        }


@attrs.frozen
class GenesisValidator:
    """A genesis validator; `address` is the 20-byte SHA-256 prefix of its ed25519 key."""

    address: bytes
    pub_key: bytes
    power: int
    name: str = ""

    @classmethod
    def from_pub_key(cls, pub_key: bytes, power: int, name: str = "") -> GenesisValidator:
        return cls(pubkey_address(pub_key), bytes(pub_key), power, name)

    @property
    def address_hex(self) -> str:
        return self.address.hex().upper()

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address_hex,
            "pub_key": pubkey_to_json(self.pub_key),
            "power": str(self.power),
            "name": self.name,
        }


@attrs.frozen
class GenesisDoc:
    """The chain's starting point. Times are integer ns since the epoch (UTC)."""

    genesis_time_ns: int
    chain_id: str
    initial_height: int = 1
    consensus_params: ConsensusParams = attrs.field(factory=ConsensusParams)
    validators: tuple[GenesisValidator, ...] = ()
    app_hash: bytes = b""
    app_state: dict[str, Any] = attrs.field(factory=dict, hash=False)

    @property
    def genesis_time(self) -> str:
        return format_rfc3339_nano(self.genesis_time_ns)

    def validate(self, *, require_validators: bool = True) -> None:
        """Check everything CometBFT checks (and a little more); raise GenesisError."""
        validate_chain_id(self.chain_id)
        if isinstance(self.initial_height, bool) or not isinstance(self.initial_height, int):
            raise GenesisError("initial_height must be an integer")
        if not 1 <= self.initial_height <= MAX_INT64:
            raise GenesisError(f"initial_height must be >= 1, got {self.initial_height}")
        try:
            format_rfc3339_nano(self.genesis_time_ns)
        except (TypeError, ValueError) as exc:
            raise GenesisError(f"genesis_time: {exc}") from None
        self.consensus_params.validate()
        if not isinstance(self.app_state, dict):
            raise GenesisError("app_state must be a JSON object (one key per module)")
        _validate_validators(self.validators, self.consensus_params, require_validators)

    def to_json(self) -> dict[str, Any]:
        return {
            "genesis_time": self.genesis_time,
            "chain_id": self.chain_id,
            "initial_height": str(self.initial_height),
            "consensus_params": self.consensus_params.to_json(),
            "validators": [v.to_json() for v in self.validators],
            "app_hash": self.app_hash.hex().upper(),
            "app_state": self.app_state,
        }


def validate_chain_id(chain_id: object) -> None:
    """Chain ids are non-empty, at most 50 chars (CometBFT's limit) of [A-Za-z0-9._-]."""
    if not isinstance(chain_id, str) or not chain_id:
        raise GenesisError("chain_id must be a non-empty string")
    if len(chain_id) > MAX_CHAIN_ID_LEN:
        raise GenesisError(
            f"chain_id {chain_id!r} is too long ({len(chain_id)} > {MAX_CHAIN_ID_LEN} chars)"
        )
    if not _CHAIN_ID_RE.fullmatch(chain_id):
        raise GenesisError(
            f"chain_id {chain_id!r} has invalid characters "
            "(allowed: letters, digits, '.', '_', '-')"
        )


def _validate_validators(
    validators: tuple[GenesisValidator, ...], params: ConsensusParams, require: bool
) -> None:
    if require and not validators:
        raise GenesisError("genesis has no validators (at least one is required)")
    if validators and "ed25519" not in params.validator.pub_key_types:
        raise GenesisError("validators use ed25519 keys, which consensus_params.validator forbids")
    seen: dict[bytes, int] = {}
    total = 0
    for i, v in enumerate(validators):
        where = f"validators[{i}]"
        if len(v.pub_key) != 32:
            raise GenesisError(f"{where}.pub_key must be 32 bytes, got {len(v.pub_key)}")
        if v.address != pubkey_address(v.pub_key):
            raise GenesisError(
                f"{where}.address {v.address_hex} does not match its pub_key "
                f"(expected {pubkey_address(v.pub_key).hex().upper()})"
            )
        if isinstance(v.power, bool) or not isinstance(v.power, int) or v.power <= 0:
            raise GenesisError(f"{where}.power must be > 0, got {v.power!r}")
        if v.address in seen:
            first = seen[v.address]
            raise GenesisError(f"{where} duplicates validators[{first}] ({v.address_hex})")
        seen[v.address] = i
        total += v.power
        if total > MAX_TOTAL_VOTING_POWER:
            raise GenesisError(f"total validator power exceeds {MAX_TOTAL_VOTING_POWER}")


# --- JSON decoding ---------------------------------------------------------------------------


def _obj(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GenesisError(f"{where} must be a JSON object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise GenesisError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})")
    return value


def _int_str(value: Any, where: str, lo: int, hi: int) -> int:
    """CometBFT encodes (u)int64 as JSON strings; accept exactly that."""
    if not isinstance(value, str) or not _INT_RE.fullmatch(value):
        raise GenesisError(f'{where} must be an integer encoded as a JSON string, like "10"')
    n = int(value)
    if not lo <= n <= hi:
        raise GenesisError(f"{where} is out of range ({n} not in {lo}..{hi})")
    return n


def _params_from_json(value: Any) -> ConsensusParams:
    if value is None:
        return ConsensusParams()
    w = "consensus_params"
    top = _obj(value, w, ("block", "evidence", "validator", "version", "abci"))
    d = ConsensusParams()
    block, ev = d.block, d.evidence
    if "block" in top:
        o = _obj(top["block"], f"{w}.block", ("max_bytes", "max_gas"))
        block = BlockParams(
            _int_str(
                o.get("max_bytes", str(block.max_bytes)),
                f"{w}.block.max_bytes",
                -MAX_INT64 - 1,
                MAX_INT64,
            ),
            _int_str(
                o.get("max_gas", str(block.max_gas)),
                f"{w}.block.max_gas",
                -MAX_INT64 - 1,
                MAX_INT64,
            ),
        )
    if "evidence" in top:
        keys = ("max_age_num_blocks", "max_age_duration", "max_bytes")
        o = _obj(top["evidence"], f"{w}.evidence", keys)
        defaults = (ev.max_age_num_blocks, ev.max_age_duration_ns, ev.max_bytes)
        vals = [
            _int_str(o.get(k, str(dv)), f"{w}.evidence.{k}", -MAX_INT64 - 1, MAX_INT64)
            for k, dv in zip(keys, defaults, strict=True)
        ]
        ev = EvidenceParams(*vals)
    validator = d.validator
    if "validator" in top:
        o = _obj(top["validator"], f"{w}.validator", ("pub_key_types",))
        types = o.get("pub_key_types", list(validator.pub_key_types))
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise GenesisError(f"{w}.validator.pub_key_types must be a list of strings")
        validator = ValidatorParams(tuple(types))
    version = d.version
    if "version" in top:
        o = _obj(top["version"], f"{w}.version", ("app",))
        version = VersionParams(_int_str(o.get("app", "0"), f"{w}.version.app", 0, MAX_UINT64))
    abci = d.abci
    if "abci" in top:
        o = _obj(top["abci"], f"{w}.abci", ("vote_extensions_enable_height",))
        abci = ABCIParams(
            _int_str(
                o.get("vote_extensions_enable_height", "0"),
                f"{w}.abci.vote_extensions_enable_height",
                -MAX_INT64 - 1,
                MAX_INT64,
            )
        )
    return ConsensusParams(block, ev, validator, version, abci)


def _validator_from_json(value: Any, i: int) -> GenesisValidator:
    where = f"validators[{i}]"
    o = _obj(value, where, ("address", "pub_key", "power", "name"))
    pk = o.get("pub_key")
    if isinstance(pk, dict) and pk.get("type") not in (PUBKEY_TYPE, None):
        raise GenesisError(
            f"{where}.pub_key: unsupported key type {pk.get('type')!r} (only {PUBKEY_TYPE})"
        )
    try:
        pub = pubkey_from_json(pk, f"{where}.pub_key")
    except ValueError as exc:
        raise GenesisError(str(exc)) from None
    address = pubkey_address(pub)
    addr_text = o.get("address", "")
    if not isinstance(addr_text, str):
        raise GenesisError(f"{where}.address must be a hex string")
    if addr_text:  # CometBFT fills an empty address from the key; a given one must match
        try:
            given = bytes.fromhex(addr_text)
        except ValueError:
            raise GenesisError(f"{where}.address {addr_text!r} is not hex") from None
        if given != address:
            raise GenesisError(
                f"{where}.address {addr_text} does not match its pub_key "
                f"(expected {address.hex().upper()})"
            )
    if "power" not in o:
        raise GenesisError(f"{where}.power is missing")
    power = _int_str(o["power"], f"{where}.power", -MAX_INT64 - 1, MAX_INT64)
    name = o.get("name", "")
    if not isinstance(name, str):
        raise GenesisError(f"{where}.name must be a string")
    return GenesisValidator(address, pub, power, name)


_TOP_KEYS = (
    "genesis_time",
    "chain_id",
    "initial_height",
    "consensus_params",
    "validators",
    "app_hash",
    "app_state",
)


def genesis_from_json(data: Any, *, require_validators: bool = True) -> GenesisDoc:
    """Decode and validate a parsed genesis JSON value; errors name the offending field."""
    if isinstance(data, dict) and "consensus" in data and "consensus_params" not in data:
        raise GenesisError(
            "this is a Cosmos SDK AppGenesis file (it has 'consensus'); "
            "Sultan reads CometBFT's genesis format (consensus_params, validators at top level)"
        )
    top = _obj(data, "genesis", _TOP_KEYS)
    for key in ("genesis_time", "chain_id"):
        if key not in top:
            raise GenesisError(f"{key} is missing")
    if not isinstance(top["genesis_time"], str):
        raise GenesisError("genesis_time must be an RFC3339 string")
    try:
        time_ns = parse_rfc3339_nano(top["genesis_time"])
    except ValueError as exc:
        raise GenesisError(f"genesis_time: {exc}") from None
    height = _int_str(top.get("initial_height", "1"), "initial_height", -MAX_INT64 - 1, MAX_INT64)
    if height < 0:
        raise GenesisError(f"initial_height must be >= 1, got {height}")
    height = height or 1  # CometBFT treats 0 as 1
    vals_json = top.get("validators")
    if vals_json is None:
        vals_json = []
    if not isinstance(vals_json, list):
        raise GenesisError("validators must be a JSON array")
    validators = tuple(_validator_from_json(v, i) for i, v in enumerate(vals_json))
    app_hash_text = top.get("app_hash", "")
    try:
        app_hash = bytes.fromhex(app_hash_text) if isinstance(app_hash_text, str) else None
    except ValueError:
        app_hash = None
    if app_hash is None:
        raise GenesisError('app_hash must be a hex string (usually "")')
    app_state = top.get("app_state")
    if app_state is None:
        app_state = {}
    if not isinstance(app_state, dict):
        raise GenesisError("app_state must be a JSON object (one key per module)")
    doc = GenesisDoc(
        genesis_time_ns=time_ns,
        chain_id=top["chain_id"],
        initial_height=height,
        consensus_params=_params_from_json(top.get("consensus_params")),
        validators=validators,
        app_hash=app_hash,
        app_state=app_state,
    )
    doc.validate(require_validators=require_validators)
    return doc


# --- files -----------------------------------------------------------------------------------


def load_genesis(path: str | os.PathLike[str], *, require_validators: bool = True) -> GenesisDoc:
    """Read and fully validate genesis.json; every error names the file and the field."""
    return load_genesis_and_hash(path, require_validators=require_validators)[0]


def load_genesis_and_hash(
    path: str | os.PathLike[str], *, require_validators: bool = True
) -> tuple[GenesisDoc, bytes]:
    """`load_genesis` and `genesis_doc_hash` of the same bytes, read once."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise GenesisError(f"{p}: genesis file not found: run `sultan init`") from None
    except OSError as exc:
        raise GenesisError(f"{p}: cannot read genesis file: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GenesisError(f"{p}: not valid JSON ({exc})") from None
    try:
        doc = genesis_from_json(data, require_validators=require_validators)
    except GenesisError as exc:
        raise GenesisError(f"{p}: {exc}") from None
    return doc, genesis_doc_hash(raw)


def genesis_to_bytes(doc: GenesisDoc) -> bytes:
    """Canonical form: sorted keys, 2-space indent, UTF-8, trailing newline."""
    try:
        text = json.dumps(
            doc.to_json(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise GenesisError(f"app_state is not JSON-serialisable: {exc}") from None
    return (text + "\n").encode()


def write_genesis(
    path: str | os.PathLike[str], doc: GenesisDoc, *, require_validators: bool = True
) -> bytes:
    """Validate, then atomically write canonical genesis.json; returns its doc hash."""
    doc.validate(require_validators=require_validators)
    data = genesis_to_bytes(doc)
    write_file_atomic(path, data, mode=0o644)
    return hashlib.sha256(data).digest()


def genesis_doc_hash(source: str | os.PathLike[str] | bytes) -> bytes:
    """SHA-256 of the genesis file's bytes (what CometBFT stores to detect a changed genesis)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return hashlib.sha256(data).digest()
