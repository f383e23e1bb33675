"""The follower engine: an embedded node that executes a chain other nodes produce.

A node with `[statesync] enable = true` under the embedded engine never makes blocks. Once
its state is restored from a snapshot (`sultan.statesync`) it fetches each next block and
its commit from a `BlockSource` (the peers' RPC), verifies them against what it already
trusts and executes them through the Application exactly as the embedded engine does:

- the header hashes to the block id, links to the stored previous block id, carries this
  node's chain id, the app hash and last-results hash this node computed for the previous
  block, and the hashes of the validator sets this node holds for the height;
- the commit is for that block id and carries valid ed25519 precommit signatures of more
  than 2/3 of the voting power of the height's validator set;
- then ProcessProposal / FinalizeBlock (the same request fields the embedded engine sends,
  the votes taken from the block's last commit) and one Commit batch holding the state, the
  block, its commit, results, validator sets and tx index.

A candidate that fails verification from one server is tried from the next. Different
results (the next header's app hash is not the one computed here) stop the engine with a
"diverged" error: building on state that differs from the chain's would be worse.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any, Protocol

from sultan.kernel.abci.app import Application
from sultan.kernel.crypto.keys import Ed25519PrivKey, ed25519_verify
from sultan.kernel.engine import hashing
from sultan.kernel.engine.base import BlockEngine, CommittedBlock, EngineStateError
from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.embedded import (
    BLOCK_ID_FLAG_ABSENT,
    BLOCK_ID_FLAG_COMMIT,
    PRECOMMIT,
    _ns,
    apply_validator_updates,
    consensus_params_proto,
    execute_block,
)
from sultan.kernel.engine.indexer import Indexer
from sultan.kernel.genesis import GenesisDoc
from sultan.kernel.mempool import Mempool, MempoolError
from sultan.pb.tendermint.abci import types_pb2 as abci

log = logging.getLogger("sultan.follower")


class VerificationError(ValueError):
    """A block, commit or validator set from a server does not verify."""


class DivergedError(EngineStateError):
    """This node's results differ from the chain's: it stops rather than build on them."""


class SourceUnavailableError(RuntimeError):
    """No server could be reached (the follower waits and tries again)."""


class BlockSource(Protocol):
    """Where a follower reads the chain (`sultan.statesync.RPCSource`: peers' RPC)."""

    def signed_blocks(self, height: int) -> Iterator[tuple[str, Any, Any, Any]]:
        """(server, Block, BlockID, Commit) of `height` from each server that has it;
        SourceUnavailableError once none of them could be reached."""
        ...


def verify_commit(chain_id: str, validators: Any, commit: Any, block_id: Any, height: int) -> None:
    """CometBFT's VerifyCommit: > 2/3 of the set's power signed precommits for `block_id`."""
    if commit.height != height or commit.block_id.hash != block_id.hash:
        raise VerificationError(f"the commit is not for block {height} {block_id.hash.hex()}")
    if commit.block_id.part_set_header != block_id.part_set_header:
        raise VerificationError(f"the commit of height {height} names other block parts")
    vals = list(validators.validators)
    if len(commit.signatures) != len(vals):
        raise VerificationError(
            f"commit of height {height} has {len(commit.signatures)} signatures "
            f"for {len(vals)} validators"
        )
    total = sum(int(v.voting_power) for v in vals)
    signed = 0
    for val, sig in zip(vals, commit.signatures, strict=True):
        if sig.block_id_flag != BLOCK_ID_FLAG_COMMIT:
            continue  # absent or nil: counts for nothing
        if sig.validator_address != val.address:
            raise VerificationError(f"commit of height {height}: signer order differs from the set")
        msg = hashing.vote_sign_bytes(
            chain_id, PRECOMMIT, height, commit.round, commit.block_id, sig.timestamp
        )
        if not ed25519_verify(val.pub_key.ed25519, msg, sig.signature):
            raise VerificationError(
                f"commit of height {height}: bad signature of {val.address.hex().upper()}"
            )
        signed += int(val.voting_power)
    if signed * 3 <= total * 2:
        raise VerificationError(
            f"commit of height {height} has {signed} of {total} voting power (needs > 2/3)"
        )


class FollowerMempool(Mempool):
    """A follower makes no blocks, so it keeps no transactions: it refuses them clearly."""

    def __init__(self, servers: str) -> None:
        super().__init__(lambda tx: None, size=1, cache_size=0, max_tx_bytes=1, max_txs_bytes=1)
        self.servers = servers

    def check_and_add(self, tx: bytes) -> Any:
        raise MempoolError(
            f"this node follows the chain from {self.servers} and makes no blocks; "
            "send transactions to a validator"
        )


class FollowerEngine(BlockEngine):
    """Executes the chain the `source` serves, verified; never makes a block."""

    THREAD_NAME = "sultan-follower"
    WORK = "following"

    def __init__(
        self,
        app: Application,
        genesis: GenesisDoc,
        priv_key: Ed25519PrivKey,
        mempool: Mempool,
        source: BlockSource,
        *,
        poll_ms: int = 200,
        halt_height: int = 0,
    ) -> None:
        super().__init__(app, genesis, priv_key, mempool, halt_height=halt_height, log=log)
        self.source = source
        self.poll_s = max(poll_ms, 50) / 1000
        self.consensus_params = consensus_params_proto(genesis)
        self._last_problem = ""

    def _bootstrap(self) -> None:
        stored = self._stored_height()
        if stored == 0:
            raise EngineStateError("a follower starts from a state-synced store (it is empty)")
        last = self.blocks.block(stored)
        if last is None:
            raise EngineStateError(f"block {stored} is missing from the block store")
        self.last_block_time_ns = _ns(last.header.time)
        self.last_commit_ns = time.time_ns()  # health: "no block for N ms" counts from here
        if self.app.consensus_params.HasField("block"):
            self.consensus_params.CopyFrom(self.app.consensus_params)

    def next_block(self) -> None:
        try:
            advanced = self.step()
            self._last_problem = ""
        except (SourceUnavailableError, VerificationError) as exc:
            # Dead or lying servers cannot make this node accept anything: it keeps asking
            # (and says so once per distinct problem, not every poll).
            if str(exc) != self._last_problem:
                log.warning("following: %s (retrying)", exc)
                self._last_problem = str(exc)
            advanced = False
        if not advanced:
            self._stop.wait(self.poll_s)

    def step(self) -> bool:
        """Fetch, verify and execute the next block if a server has it; True if done."""
        height = self.blocks.height + 1
        problems: list[str] = []
        for server, block, block_id, commit in self.source.signed_blocks(height):
            try:
                self._verify(height, block, block_id, commit)
            except VerificationError as exc:
                log.warning("block %d from %s rejected: %s", height, server, exc)
                problems.append(f"{server}: {exc}")
                continue
            self.apply(block, block_id, commit)
            return True
        if problems:
            raise VerificationError(
                f"no server gave a block {height} that verifies: " + "; ".join(problems)
            )
        return False  # announced but not served yet (or servers went away): poll again

    def _verify(self, height: int, block: Any, block_id: Any, commit: Any) -> None:
        header = block.header
        if header.height != height:
            raise VerificationError(f"asked for block {height}, got {header.height}")
        if hashing.header_hash(header) != block_id.hash:
            raise VerificationError("the header does not hash to the block id")
        if header.chain_id != self.app.chain_id:
            raise VerificationError(f"block of chain {header.chain_id!r}")
        prev_id = self.blocks.block_id(height - 1)
        if prev_id is None or header.last_block_id.hash != prev_id.hash:
            raise VerificationError(
                f"block {height} does not link to the stored block {height - 1}"
            )
        if hashing.data_hash(list(block.data.txs)) != header.data_hash:
            raise VerificationError("the transactions do not match the header's data hash")
        if hashing.commit_hash(block.last_commit) != header.last_commit_hash:
            raise VerificationError("the last commit does not match the header")
        validators, following = self._validator_sets(height)
        if hashing.validator_set_hash(validators.validators) != header.validators_hash:
            raise VerificationError(f"validators hash differs from this node's set for {height}")
        verify_commit(self.app.chain_id, validators, commit, block_id, height)
        # A block signed by > 2/3 of the trusted set is the chain's: from here on a mismatch
        # with this node's own results is divergence, not a lying server.
        if header.app_hash != self.app.last_app_hash:
            raise DivergedError(
                f"diverged at height {height - 1}: this node computed app hash "
                f"{self.app.last_app_hash.hex().upper()}, the chain's block {height} says "
                f"{header.app_hash.hex().upper()}"
            )
        prev_results = self.blocks.results(height - 1)
        if prev_results is not None and header.last_results_hash != hashing.results_hash(
            prev_results.tx_results
        ):
            raise DivergedError(f"diverged at height {height - 1}: the tx results differ")
        if hashing.validator_set_hash(following.validators) != header.next_validators_hash:
            raise DivergedError(f"diverged at height {height}: the next validator set differs")

    def _validator_sets(self, height: int) -> tuple[Any, Any]:
        current = self.blocks.validators(height)
        if current is None:
            raise EngineStateError(f"no validator set stored for height {height}")
        following = self.blocks.validators(height + 1)
        return current, following if following is not None else current

    def apply(self, block: Any, block_id: Any, commit: Any) -> CommittedBlock:
        """Execute and commit a verified block as the embedded engine would have."""
        started = time.perf_counter()
        header = block.header
        height = header.height
        txs = list(block.data.txs)
        validators, next_validators = self._validator_sets(height)
        prev_vals = self.blocks.validators(height - 1) or validators
        signatures = list(block.last_commit.signatures)
        votes = [
            abci.VoteInfo(
                validator=abci.Validator(address=v.address, power=v.voting_power),
                block_id_flag=(
                    signatures[i].block_id_flag
                    if i < len(signatures) and signatures[i].block_id_flag == BLOCK_ID_FLAG_COMMIT
                    else BLOCK_ID_FLAG_ABSENT
                ),
            )
            for i, v in enumerate(prev_vals.validators)
        ]
        results = execute_block(self.app, block, block_id, votes)
        if results is None:
            raise DivergedError(f"diverged at height {height}: this node rejects the block")
        following = apply_validator_updates(
            next_validators,
            list(results.validator_updates),
            next_validators.proposer.address if next_validators.HasField("proposer") else b"",
        )
        extra = BlockStore.save_ops(
            block,
            block.SerializeToString(),
            block_id,
            commit,
            results,
            validators,
            next_validators,
        )
        if following is not next_validators:
            extra.append(
                ("blocks", b"V" + (height + 2).to_bytes(8, "big"), following.SerializeToString())
            )
        tx_hashes = [hashlib.sha256(tx).digest() for tx in txs]
        extra.extend(Indexer.block_ops(height, txs, tx_hashes, results))
        self.app.commit(abci.RequestCommit(), extra_ops=extra)
        self.last_block_time_ns = _ns(header.time)
        self.last_commit_ns = time.time_ns()
        return self._committed(CommittedBlock(height, block, block_id, results), started)
