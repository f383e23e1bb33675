"""The follower engine (embedded state sync): commit verification, block execution from a
source, refusal of tampered blocks, and the snapshot ABCI queries it syncs from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sultan_counter.pb.counter.v1 import counter_pb2

from sultan.kernel.abci.app import SNAPSHOT_CHUNK_QUERY, SNAPSHOTS_QUERY, Application
from sultan.kernel.crypto.keys import Ed25519PrivKey
from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.follower import (
    FollowerEngine,
    FollowerMempool,
    VerificationError,
    verify_commit,
)
from sultan.kernel.mempool import MempoolError
from sultan.kernel.snapshots import SnapshotManager, SnapshotStore, create_snapshot, restore_ops
from sultan.kernel.store.db import Database
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.types import validator_pb2
from sultan.testing import ChainHarness, unsigned_tx


def _inc(n: int) -> bytes:
    return unsigned_tx(counter_pb2.MsgIncrement(sender="s", amount=n), memo=str(n))


class LocalSource:
    """The harness chain's own blocks, optionally tampered with by `tamper(block, commit)`."""

    def __init__(self, chain: ChainHarness, tamper: Any = None) -> None:
        self.blocks = chain.engine.blocks
        self.tamper = tamper

    def signed_blocks(self, height: int) -> Iterator[tuple[str, Any, Any, Any]]:
        block = self.blocks.block(height)
        if block is None:
            return
        block_id, commit = self.blocks.block_id(height), self.blocks.seen_commit(height)
        if self.tamper is not None:
            self.tamper(block, commit)
        yield "local", block, block_id, commit


@pytest.fixture
def chain(tmp_path) -> Iterator[ChainHarness]:
    with ChainHarness(["counter"], path=tmp_path / "src") as h:
        for i in range(1, 6):
            h.block(_inc(i))
        yield h


def _follower(tmp_path, chain: ChainHarness, source: Any) -> FollowerEngine:
    """A follower whose store holds the chain's state and block at its current height."""
    height = chain.height
    store = SnapshotStore(tmp_path / "snapshots")
    keys = list(chain.app.committed.store_keys)
    info = create_snapshot(chain.db, store, height, keys, chain.app_hash)
    payload = b"".join(store.chunk(height, i) for i in range(info.chunks))
    ops, _ = restore_ops(payload, height, chain.app_hash, keys)
    blocks = chain.engine.blocks
    ops += BlockStore.save_ops(
        blocks.block(height),
        blocks.block_bytes(height),
        blocks.block_id(height),
        blocks.seen_commit(height),
        blocks.results(height),
        blocks.validators(height),
        blocks.validators(height + 1),
    )
    db = Database(str(tmp_path / "follower.db"))
    db.write(ops)
    app = Application(db, chain.module_set)
    engine = FollowerEngine(
        app, chain.genesis, Ed25519PrivKey.from_seed(b"f" * 32), FollowerMempool("x"), source
    )
    engine.bootstrap()
    return engine


def test_follower_executes_the_chain_to_the_same_hashes(tmp_path, chain):
    start = chain.height
    follower = _follower(tmp_path, chain, LocalSource(chain))
    for i in range(3):
        chain.block(_inc(10 + i))
    while follower.step():
        pass
    assert follower.height == chain.height == start + 3
    assert follower.app.last_app_hash == chain.app_hash
    for h in range(start, chain.height + 1):
        assert follower.blocks.block_id(h) == chain.engine.blocks.block_id(h)
        assert follower.blocks.results(h) == chain.engine.blocks.results(h)
    assert not follower.step()  # caught up: nothing to do
    with pytest.raises(MempoolError, match="send transactions to a validator"):
        follower.mempool.check_and_add(_inc(1))
    follower.app.db.close()


def _bad_signature(block: Any, commit: Any) -> None:
    commit.signatures[0].signature = bytes(64)


def _no_power(block: Any, commit: Any) -> None:
    commit.signatures[0].block_id_flag = validator_pb2.BLOCK_ID_FLAG_ABSENT


def _extra_tx(block: Any, commit: Any) -> None:
    block.data.txs.append(_inc(999))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_bad_signature, "bad signature"),
        (_no_power, "needs > 2/3"),
        (_extra_tx, "data hash"),
    ],
)
def test_tampered_blocks_are_refused_and_change_nothing(tmp_path, chain, tamper, message):
    follower = _follower(tmp_path, chain, LocalSource(chain, tamper))
    chain.block(_inc(7))
    height, app_hash = follower.height, follower.app.last_app_hash
    with pytest.raises(VerificationError, match=message):
        follower.step()
    assert follower.height == height and follower.app.last_app_hash == app_hash
    follower.app.db.close()


def test_verify_commit_wants_the_block_it_signs(chain):
    blocks = chain.engine.blocks
    h = chain.height
    vals, commit = blocks.validators(h), blocks.seen_commit(h)
    verify_commit(chain.app.chain_id, vals, commit, blocks.block_id(h), h)
    with pytest.raises(VerificationError, match="not for block"):
        verify_commit(chain.app.chain_id, vals, commit, blocks.block_id(h - 1), h)
    with pytest.raises(VerificationError, match="bad signature"):
        verify_commit("other-chain", vals, commit, blocks.block_id(h), h)


def test_snapshot_queries_serve_list_and_chunks_with_clear_errors(tmp_path, chain):
    store = SnapshotStore(tmp_path / "snapshots")
    keys = list(chain.app.committed.store_keys)
    info = create_snapshot(chain.db, store, chain.height, keys, chain.app_hash, chunk_size=64)
    app = Application(chain.db, chain.module_set)
    app.snapshots = SnapshotManager(chain.db, store, keys, 0, 0)

    listed = json.loads(app.query(abci.RequestQuery(path=SNAPSHOTS_QUERY)).value)
    assert [(s["height"], s["chunks"], s["hash"]) for s in listed] == [
        (info.height, info.chunks, info.hash.hex().upper())
    ]

    def chunk(height: int, index: int) -> Any:
        data = height.to_bytes(8, "big") + index.to_bytes(4, "big")
        return app.query(abci.RequestQuery(path=SNAPSHOT_CHUNK_QUERY, data=data))

    assert chunk(info.height, 1).value == store.chunk(info.height, 1)
    assert chunk(info.height + 1, 0).code == 5  # NotFound: no such snapshot
    assert chunk(info.height, info.chunks).code == 5  # NotFound: no such chunk
    bad = app.query(abci.RequestQuery(path=SNAPSHOT_CHUNK_QUERY, data=b"\x01"))
    assert bad.code == 3 and "8-byte height" in bad.log
