"""CometBFT v0.38 hashes of blocks, commits, validator sets, params and results.

These follow `types/block.go`, `types/validator_set.go`, `types/params.go` and
`types/results.go` so that a block made by the embedded engine has the same block hash a
CometBFT node would compute for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf import wrappers_pb2

from sultan.kernel.crypto import merkle, native
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.types import canonical_pb2, params_pb2, types_pb2, validator_pb2

BLOCK_PART_SIZE = 65536


def _cdc_string(value: str) -> bytes:
    return wrappers_pb2.StringValue(value=value).SerializeToString()


def _cdc_int64(value: int) -> bytes:
    return wrappers_pb2.Int64Value(value=value).SerializeToString()


def _cdc_bytes(value: bytes) -> bytes:
    return wrappers_pb2.BytesValue(value=value).SerializeToString()


def header_hash(header: Any) -> bytes:
    """`Header.Hash()`: a Merkle root over the header's fields, each proto-encoded."""
    return merkle.hash_from_byte_slices(
        [
            header.version.SerializeToString(),
            _cdc_string(header.chain_id),
            _cdc_int64(header.height),
            header.time.SerializeToString(),
            header.last_block_id.SerializeToString(),
            _cdc_bytes(header.last_commit_hash),
            _cdc_bytes(header.data_hash),
            _cdc_bytes(header.validators_hash),
            _cdc_bytes(header.next_validators_hash),
            _cdc_bytes(header.consensus_hash),
            _cdc_bytes(header.app_hash),
            _cdc_bytes(header.last_results_hash),
            _cdc_bytes(header.evidence_hash),
            _cdc_bytes(header.proposer_address),
        ]
    )


def data_hash(txs: Sequence[bytes]) -> bytes:
    """`Txs.Hash()`: Merkle root whose leaves are the SHA-256 of each tx."""
    return merkle.hash_from_byte_slices(native.sha256_many(txs))


def commit_hash(commit: Any) -> bytes:
    return merkle.hash_from_byte_slices([sig.SerializeToString() for sig in commit.signatures])


def validator_set_hash(validators: Sequence[Any]) -> bytes:
    """`ValidatorSet.Hash()` over SimpleValidator{pub_key, voting_power} of each validator."""
    return merkle.hash_from_byte_slices(
        [
            validator_pb2.SimpleValidator(
                pub_key=v.pub_key, voting_power=v.voting_power
            ).SerializeToString()
            for v in validators
        ]
    )


def consensus_params_hash(params: Any) -> bytes:
    hashed = params_pb2.HashedParams(
        block_max_bytes=params.block.max_bytes, block_max_gas=params.block.max_gas
    )
    return native.sha256(hashed.SerializeToString())


def results_hash(tx_results: Sequence[Any]) -> bytes:
    """`ABCIResults.Hash()`: only the deterministic fields of each ExecTxResult."""
    return merkle.hash_from_byte_slices(
        [
            abci.ExecTxResult(
                code=r.code, data=r.data, gas_wanted=r.gas_wanted, gas_used=r.gas_used
            ).SerializeToString()
            for r in tx_results
        ]
    )


def part_set_header(block_bytes: bytes) -> Any:
    parts = [
        block_bytes[i : i + BLOCK_PART_SIZE] for i in range(0, len(block_bytes), BLOCK_PART_SIZE)
    ]
    return types_pb2.PartSetHeader(total=len(parts), hash=merkle.hash_from_byte_slices(parts))


def vote_sign_bytes(
    chain_id: str, vote_type: Any, height: int, round_: int, block_id: Any, timestamp: Any
) -> bytes:
    """`VoteSignBytes`: the length-delimited CanonicalVote a validator signs."""
    canonical = canonical_pb2.CanonicalVote(
        type=vote_type, height=height, round=round_, timestamp=timestamp, chain_id=chain_id
    )
    if block_id.hash:
        canonical.block_id.CopyFrom(
            canonical_pb2.CanonicalBlockID(
                hash=block_id.hash,
                part_set_header=canonical_pb2.CanonicalPartSetHeader(
                    total=block_id.part_set_header.total, hash=block_id.part_set_header.hash
                ),
            )
        )
    body = canonical.SerializeToString()
    return merkle.uvarint(len(body)) + body
