"""State-sync snapshots: format, chunk hashes, background creation, ABCI restore."""

from __future__ import annotations

import hashlib

import pytest
from sultan_counter.pb.counter.v1 import counter_pb2

from sultan.kernel.abci.app import Application
from sultan.kernel.snapshots import (
    SnapshotError,
    SnapshotInfo,
    SnapshotManager,
    SnapshotStore,
    create_snapshot,
)
from sultan.kernel.store.db import Database
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.testing import ChainHarness, unsigned_tx

Offer = abci.ResponseOfferSnapshot
Apply = abci.ResponseApplySnapshotChunk


def _inc(n: int) -> bytes:
    return unsigned_tx(counter_pb2.MsgIncrement(sender="s", amount=n), memo=str(n))


@pytest.fixture
def chain(tmp_path):
    with ChainHarness(["counter"], path=tmp_path / "src") as h:
        for i in range(1, 6):
            h.block(_inc(i))
        yield h


def _fresh_app(tmp_path, chain: ChainHarness, name: str) -> tuple[Database, Application]:
    db = Database(str(tmp_path / name))
    return db, Application(db, chain.module_set)


def _snapshot(
    tmp_path, chain: ChainHarness, chunk_size: int = 64
) -> tuple[SnapshotStore, SnapshotInfo]:
    store = SnapshotStore(tmp_path / "snapshots")
    info = create_snapshot(
        chain.db,
        store,
        chain.height,
        list(chain.app.committed.store_keys),
        chain.app_hash,
        chunk_size=chunk_size,
    )
    return store, info


def _abci(store: SnapshotStore, info: SnapshotInfo) -> abci.Snapshot:
    return abci.Snapshot(
        height=info.height,
        format=info.format,
        chunks=info.chunks,
        hash=info.hash,
        metadata=info.metadata(),
    )


def test_snapshot_restores_to_the_same_app_hash_over_abci(tmp_path, chain):
    store, info = _snapshot(tmp_path, chain)
    assert info.chunks > 1 and all(
        len(store.chunk(info.height, i)) <= 64 for i in range(info.chunks)
    )
    height, app_hash = chain.height, chain.app_hash
    chain.block(_inc(100))  # later blocks do not disturb a snapshot of an earlier height
    assert store.get(height) == info

    source = Application(chain.db, chain.module_set)
    source.snapshots = SnapshotManager(chain.db, store, [], 0, 0)
    listed = source.list_snapshots(abci.RequestListSnapshots()).snapshots
    assert [s.height for s in listed] == [height]

    db, app = _fresh_app(tmp_path, chain, "dst")
    with db:
        offer = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=listed[0], app_hash=app_hash))
        assert offer.result == Offer.ACCEPT
        for i in range(info.chunks):
            chunk = source.load_snapshot_chunk(
                abci.RequestLoadSnapshotChunk(height=height, format=1, chunk=i)
            ).chunk
            res = app.apply_snapshot_chunk(abci.RequestApplySnapshotChunk(index=i, chunk=chunk))
            assert res.result == Apply.ACCEPT
        assert (app.last_height, app.last_app_hash) == (height, app_hash)
        info_res = app.info(abci.RequestInfo())
        assert (info_res.last_block_height, info_res.last_block_app_hash) == (height, app_hash)
        assert app.chain_id == chain.app.chain_id
        # The restored app executes the next block exactly as the source did.
    db2, app2 = _fresh_app(tmp_path, chain, "dst")
    with db2:
        assert app2.last_app_hash == app_hash


def test_bad_chunk_is_refetched_and_wrong_app_hash_rejected(tmp_path, chain):
    store, info = _snapshot(tmp_path, chain)
    snap = _abci(store, info)
    db, app = _fresh_app(tmp_path, chain, "dst")
    with db:
        # Untrusted app hash: rejected at the offer.
        res = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=snap, app_hash=b"\x01" * 32))
        assert res.result == Offer.REJECT
        bad = abci.Snapshot()
        bad.CopyFrom(snap)
        bad.format = 2
        res = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=bad, app_hash=info.app_hash))
        assert res.result == Offer.REJECT_FORMAT
        bad.format = 1
        bad.hash = b"\x00" * 32
        res = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=bad, app_hash=info.app_hash))
        assert res.result == Offer.REJECT

        res = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=snap, app_hash=info.app_hash))
        assert res.result == Offer.ACCEPT
        good = store.chunk(info.height, 0)
        for corrupt in (good[:-1], good[:-1] + b"\x00", b""):
            res = app.apply_snapshot_chunk(
                abci.RequestApplySnapshotChunk(index=0, chunk=corrupt, sender="liar")
            )
            assert res.result == Apply.RETRY
            assert list(res.refetch_chunks) == [0] and list(res.reject_senders) == ["liar"]
        assert app.last_height == 0
        for i in range(info.chunks):
            res = app.apply_snapshot_chunk(
                abci.RequestApplySnapshotChunk(index=i, chunk=store.chunk(info.height, i))
            )
            assert res.result == Apply.ACCEPT
        assert app.last_app_hash == info.app_hash
        # A non-empty app refuses another snapshot.
        res = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=snap, app_hash=info.app_hash))
        assert res.result == Offer.ABORT


def test_consistent_chunks_with_a_lying_app_hash_change_nothing(tmp_path, chain):
    """Chunks that match their hashes but whose state is not the promised one."""
    store, info = _snapshot(tmp_path, chain)
    lie = SnapshotInfo(info.height, 1, b"\x02" * 32, info.chunk_hashes, info.size)
    db, app = _fresh_app(tmp_path, chain, "dst")
    with db:
        res = app.offer_snapshot(
            abci.RequestOfferSnapshot(snapshot=_abci(store, lie), app_hash=lie.app_hash)
        )
        assert res.result == Offer.ACCEPT
        results = [
            app.apply_snapshot_chunk(
                abci.RequestApplySnapshotChunk(index=i, chunk=store.chunk(info.height, i))
            ).result
            for i in range(info.chunks)
        ]
        assert results[-1] == Apply.REJECT_SNAPSHOT
        assert app.last_height == 0 and list(db.iterate("state")) == []


def test_metadata_must_match_the_snapshot_hash(tmp_path, chain):
    store, info = _snapshot(tmp_path, chain)
    snap = _abci(store, info)
    assert SnapshotInfo.from_abci(snap) == info
    snap.chunks += 1
    with pytest.raises(SnapshotError):
        SnapshotInfo.from_abci(snap)
    assert hashlib.sha256(store.chunk(info.height, 0)).digest() == info.chunk_hashes[0]


def test_manager_snapshots_every_interval_in_the_background_and_keeps_recent(tmp_path):
    with ChainHarness(["counter"], path=tmp_path / "src") as h:
        store = SnapshotStore(tmp_path / "snapshots")
        h.app.snapshots = SnapshotManager(
            h.db, store, list(h.app.committed.store_keys), interval=3, keep_recent=2
        )
        hashes = {}
        for i in range(1, 13):
            h.block(_inc(i))
            hashes[h.height] = h.app_hash
            h.app.snapshots.wait()
        assert h.app.snapshots.last_error is None
        assert [s.height for s in store.list()] == [12, 9]
        assert all(s.app_hash == hashes[s.height] for s in store.list())
