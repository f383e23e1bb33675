"""The embedded consensus engine: one validator, CometBFT-shaped blocks, no network.

Every `timeout_commit` it reaps the mempool, runs PrepareProposal → ProcessProposal →
FinalizeBlock on the application, signs a precommit for the block with the node's
ed25519 validator key and commits the state together with the block, its commit,
results, validator sets and tx index in one RocksDB write batch. Header fields and hashes
are computed exactly as CometBFT v0.38 computes them, so a block from this engine is
indistinguishable in shape from one a CometBFT network would produce.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from google.protobuf import timestamp_pb2

from sultan.kernel.abci.app import APP_VERSION, Application
from sultan.kernel.crypto import merkle
from sultan.kernel.crypto.keys import Ed25519PrivKey, pubkey_address
from sultan.kernel.engine import hashing
from sultan.kernel.engine.base import (
    BlockEngine,
    CommittedBlock,
    EngineStateError,
)
from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.indexer import Indexer
from sultan.kernel.genesis import GenesisDoc
from sultan.kernel.mempool import Mempool
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.crypto import keys_pb2
from sultan.pb.tendermint.types import (
    block_pb2,
    evidence_pb2,
    params_pb2,
    types_pb2,
    validator_pb2,
)
from sultan.pb.tendermint.version import types_pb2 as version_pb2

log = logging.getLogger("sultan.engine")

BLOCK_PROTOCOL = 11
# Go's zero time.Time, which CometBFT writes for absent votes (it enters the commit hash).
GO_ZERO_TIME = timestamp_pb2.Timestamp(seconds=-62135596800, nanos=0)
PRECOMMIT = types_pb2.SIGNED_MSG_TYPE_PRECOMMIT
BLOCK_ID_FLAG_COMMIT = validator_pb2.BLOCK_ID_FLAG_COMMIT
BLOCK_ID_FLAG_ABSENT = validator_pb2.BLOCK_ID_FLAG_ABSENT
MAX_BLOCK_BYTES_OVERHEAD = 11000  # room CometBFT keeps for header, commit and evidence


def _timestamp(ns: int) -> Any:
    return timestamp_pb2.Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def _ns(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


def _validator(pub_key: bytes, power: int) -> Any:
    return validator_pb2.Validator(
        address=pubkey_address(pub_key),
        pub_key=keys_pb2.PublicKey(ed25519=pub_key),
        voting_power=power,
    )


def _sorted_set(validators: list[Any], proposer: bytes) -> Any:
    ordered = sorted(validators, key=lambda v: (-v.voting_power, v.address))
    vset = validator_pb2.ValidatorSet(validators=ordered)
    for v in ordered:
        if v.address == proposer:
            vset.proposer.CopyFrom(v)
    if not vset.HasField("proposer") and ordered:
        vset.proposer.CopyFrom(ordered[0])
    vset.total_voting_power = sum(v.voting_power for v in ordered)
    return vset


def consensus_params_proto(genesis: GenesisDoc) -> Any:
    p = genesis.consensus_params
    params = params_pb2.ConsensusParams()
    params.block.max_bytes = p.block.max_bytes
    params.block.max_gas = p.block.max_gas
    params.evidence.max_age_num_blocks = p.evidence.max_age_num_blocks
    params.evidence.max_age_duration.seconds = p.evidence.max_age_duration_ns // 1_000_000_000
    params.evidence.max_age_duration.nanos = p.evidence.max_age_duration_ns % 1_000_000_000
    params.evidence.max_bytes = p.evidence.max_bytes
    params.validator.pub_key_types.extend(p.validator.pub_key_types)
    params.version.app = p.version.app
    params.abci.vote_extensions_enable_height = p.abci.vote_extensions_enable_height
    return params


class EmbeddedEngine(BlockEngine):
    """Makes, executes and commits the blocks of a single-validator chain."""

    def __init__(
        self,
        app: Application,
        genesis: GenesisDoc,
        priv_key: Ed25519PrivKey,
        mempool: Mempool,
        *,
        timeout_commit_ms: int = 1000,
        create_empty_blocks: bool = True,
        create_empty_blocks_interval_ms: int = 0,
        clock_ns: Callable[[], int] = time.time_ns,
        halt_height: int = 0,
        app_state_bytes: bytes | None = None,
    ) -> None:
        """`app_state_bytes`: the genesis app_state as InitChain carries it, for a caller that
        keeps the parsed app_state out of memory (default: encoded from `genesis`)."""
        super().__init__(app, genesis, priv_key, mempool, halt_height=halt_height, log=log)
        self._app_state_bytes = app_state_bytes
        self.timeout_commit_ms = timeout_commit_ms
        self.create_empty_blocks = create_empty_blocks
        self.create_empty_blocks_interval_ms = create_empty_blocks_interval_ms
        self.clock_ns = clock_ns
        self.consensus_params = consensus_params_proto(genesis)
        self._wake = threading.Event()
        mempool.on_new_tx(self._wake.set)

    # -- lifecycle ------------------------------------------------------------------------

    def _bootstrap(self) -> None:
        """InitChain on a fresh home, or check that the stored chain and state agree."""
        stored = self._stored_height()
        if stored == 0:
            self._init_chain()
        else:
            last = self.blocks.block(stored)
            assert last is not None
            self.last_block_time_ns = _ns(last.header.time)
            seen = self.blocks.seen_commit(stored)
            self.last_commit_ns = (
                _ns(seen.signatures[0].timestamp)
                if seen and seen.signatures
                else self.last_block_time_ns
            )
            if self.app.consensus_params.HasField("block"):
                self.consensus_params.CopyFrom(self.app.consensus_params)

    def _init_chain(self) -> None:
        import json

        g = self.genesis
        app_state_bytes, self._app_state_bytes = self._app_state_bytes, None
        if app_state_bytes is None:
            app_state_bytes = json.dumps(g.app_state, sort_keys=True).encode()
        genesis_validators = [
            abci.ValidatorUpdate(pub_key=keys_pb2.PublicKey(ed25519=v.pub_key), power=v.power)
            for v in g.validators
        ]
        response = self.app.init_chain(
            abci.RequestInitChain(
                time=_timestamp(g.genesis_time_ns),
                chain_id=g.chain_id,
                consensus_params=self.consensus_params,
                validators=genesis_validators,
                app_state_bytes=app_state_bytes,
                initial_height=g.initial_height,
            )
        )
        updates = list(response.validators) or genesis_validators
        vals = [_validator(u.pub_key.ed25519, u.power) for u in updates if u.power > 0]
        if not vals:
            raise EngineStateError("genesis has no validators")
        self._genesis_vals = _sorted_set(vals, self.priv_key.address)
        self._genesis_app_hash = response.app_hash
        self.last_block_time_ns = 0

    def stop(self, timeout: float = 30.0) -> None:
        self._wake.set()  # out of the wait for the next block
        super().stop(timeout)

    def next_block(self) -> None:
        self._wait_for_next_block()
        if not self._stop.is_set():
            self.produce_block()

    def _wait_for_next_block(self) -> None:
        if self.height == 0 and self.app.last_height == 0:
            return  # the first block is made right away
        due_ns = self.last_commit_ns + self.timeout_commit_ms * 1_000_000
        while not self._stop.is_set():
            remaining = (due_ns - self.clock_ns()) / 1e9
            if remaining <= 0:
                break
            self._stop.wait(remaining)
        if self.create_empty_blocks:
            return
        interval = self.create_empty_blocks_interval_ms
        deadline = self.clock_ns() + interval * 1_000_000 if interval else None
        while not self._stop.is_set() and len(self.mempool) == 0:
            self._wake.clear()
            if len(self.mempool):
                break
            if deadline is not None:
                remaining = (deadline - self.clock_ns()) / 1e9
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            else:
                self._wake.wait(1.0)

    # -- one height -----------------------------------------------------------------------

    def _validator_sets(self, height: int) -> tuple[Any, Any]:
        if height == self.genesis.initial_height:
            return self._genesis_vals, self._genesis_vals
        current = self.blocks.validators(height)
        following = self.blocks.validators(height + 1)
        if current is None:
            raise EngineStateError(f"no validator set stored for height {height}")
        return current, following if following is not None else current

    def produce_block(self, txs: list[bytes] | None = None) -> CommittedBlock:
        """Make, execute and commit the next block (from the mempool unless `txs` given)."""
        started = time.perf_counter()
        prev_height = self.blocks.height
        height = prev_height + 1 if prev_height else self.genesis.initial_height
        chain_id = self.app.chain_id
        validators, next_validators = self._validator_sets(height)
        me = self.priv_key.address
        if not any(v.address == me for v in validators.validators):
            raise EngineStateError("this node's validator key is not in the validator set")

        if prev_height:
            prev_block = self.blocks.block(prev_height)
            last_block_id = self.blocks.block_id(prev_height)
            last_commit = self.blocks.seen_commit(prev_height)
            prev_results = self.blocks.results(prev_height)
            assert prev_block is not None and last_block_id is not None and last_commit is not None
            assert prev_results is not None
            block_time_ns = max(self.last_commit_ns, _ns(prev_block.header.time) + 1_000_000)
            app_hash = self.app.last_app_hash
            last_results_hash = hashing.results_hash(prev_results.tx_results)
            prev_vals = self.blocks.validators(prev_height) or validators
            votes = [
                abci.VoteInfo(
                    validator=abci.Validator(address=v.address, power=v.voting_power),
                    block_id_flag=BLOCK_ID_FLAG_COMMIT if v.address == me else BLOCK_ID_FLAG_ABSENT,
                )
                for v in prev_vals.validators
            ]
        else:
            last_block_id = types_pb2.BlockID()
            last_commit = types_pb2.Commit()
            block_time_ns = self.genesis.genesis_time_ns
            app_hash = self._genesis_app_hash
            last_results_hash = b""
            votes = []

        max_bytes = self.consensus_params.block.max_bytes
        max_data = max_bytes - MAX_BLOCK_BYTES_OVERHEAD if max_bytes > 0 else -1
        if txs is None:
            candidates = self.mempool.reap(max_data, self.consensus_params.block.max_gas)
        else:
            candidates = list(txs)
        proposal = self.app.prepare_proposal(
            abci.RequestPrepareProposal(
                max_tx_bytes=max_data if max_data > 0 else 0,
                txs=candidates,
                height=height,
                time=_timestamp(block_time_ns),
                next_validators_hash=hashing.validator_set_hash(next_validators.validators),
                proposer_address=me,
            )
        )
        txs = list(proposal.txs)

        header = types_pb2.Header(
            version=version_pb2.Consensus(block=BLOCK_PROTOCOL, app=APP_VERSION),
            chain_id=chain_id,
            height=height,
            time=_timestamp(block_time_ns),
            last_block_id=last_block_id,
            last_commit_hash=hashing.commit_hash(last_commit),
            data_hash=hashing.data_hash(txs),
            validators_hash=hashing.validator_set_hash(validators.validators),
            next_validators_hash=hashing.validator_set_hash(next_validators.validators),
            consensus_hash=hashing.consensus_params_hash(self.consensus_params),
            app_hash=app_hash,
            last_results_hash=last_results_hash,
            evidence_hash=merkle.EMPTY_HASH,
            proposer_address=me,
        )
        block = block_pb2.Block(
            header=header,
            data=types_pb2.Data(txs=txs),
            evidence=evidence_pb2.EvidenceList(),
            last_commit=last_commit,
        )
        block_bytes = block.SerializeToString()
        block_id = types_pb2.BlockID(
            hash=hashing.header_hash(header), part_set_header=hashing.part_set_header(block_bytes)
        )

        results = execute_block(self.app, block, block_id, votes)
        if results is None:
            raise EngineStateError(f"the application rejected its own proposal at height {height}")

        vote_ns = max(self.clock_ns(), block_time_ns + 1_000_000)
        vote_ts = _timestamp(vote_ns)
        signature = self.priv_key.sign(
            hashing.vote_sign_bytes(chain_id, PRECOMMIT, height, 0, block_id, vote_ts)
        )
        seen_commit = types_pb2.Commit(
            height=height,
            round=0,
            block_id=block_id,
            signatures=[
                types_pb2.CommitSig(
                    block_id_flag=BLOCK_ID_FLAG_COMMIT if v.address == me else BLOCK_ID_FLAG_ABSENT,
                    validator_address=v.address if v.address == me else b"",
                    timestamp=vote_ts if v.address == me else GO_ZERO_TIME,
                    signature=signature if v.address == me else b"",
                )
                for v in validators.validators
            ],
        )
        following = apply_validator_updates(
            next_validators, list(results.validator_updates), self.priv_key.address
        )
        tx_hashes = [hashlib.sha256(tx).digest() for tx in txs]
        extra = BlockStore.save_ops(
            block, block_bytes, block_id, seen_commit, results, validators, next_validators
        )
        if following is not next_validators:
            extra.append(
                ("blocks", b"V" + (height + 2).to_bytes(8, "big"), following.SerializeToString())
            )
        extra.extend(Indexer.block_ops(height, txs, tx_hashes, results))
        with self.mempool.lock:  # no CheckTx between Commit and the mempool's recheck
            self.app.commit(abci.RequestCommit(), extra_ops=extra)
            self.last_block_time_ns = block_time_ns
            self.last_commit_ns = vote_ns
            self.mempool.update(txs, list(results.tx_results))
        return self._committed(CommittedBlock(height, block, block_id, results), started)


def execute_block(app: Any, block: Any, block_id: Any, votes: list[Any]) -> Any:
    """ProcessProposal then FinalizeBlock of `block`, as CometBFT sends them (the producer
    and the follower build the same requests, so their state machines see the same block).
    None if the application rejects the proposal."""
    header, txs = block.header, list(block.data.txs)
    verdict = app.process_proposal(
        abci.RequestProcessProposal(
            txs=txs,
            hash=block_id.hash,
            height=header.height,
            time=header.time,
            next_validators_hash=header.next_validators_hash,
            proposer_address=header.proposer_address,
        )
    )
    if verdict.status != abci.ResponseProcessProposal.ACCEPT:
        return None
    results = app.finalize_block(
        abci.RequestFinalizeBlock(
            txs=txs,
            decided_last_commit=abci.CommitInfo(round=block.last_commit.round, votes=votes),
            hash=block_id.hash,
            height=header.height,
            time=header.time,
            next_validators_hash=header.next_validators_hash,
            proposer_address=header.proposer_address,
        )
    )
    if len(results.tx_results) != len(txs):
        raise EngineStateError("FinalizeBlock returned a result count different from the txs")
    return results


def apply_validator_updates(current: Any, updates: list[Any], proposer: bytes) -> Any:
    """The set after `updates` (from EndBlock at H: it signs from H+2, as in CometBFT)."""
    if not updates:
        return current
    by_address = {v.address: v for v in current.validators}
    for update in updates:
        pub = update.pub_key.ed25519
        if len(pub) != 32:
            raise EngineStateError("validator update with a non-ed25519 key")
        address = pubkey_address(pub)
        if update.power == 0:
            by_address.pop(address, None)
        else:
            by_address[address] = _validator(pub, update.power)
    if not by_address:
        raise EngineStateError("validator updates would leave an empty validator set")
    return _sorted_set(list(by_address.values()), proposer)
