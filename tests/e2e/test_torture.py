"""Crash torture: SIGKILL a node under tx load at random moments, many times, and check.

After every cycle (on a fresh start): the height never goes back, every block seen before is
unchanged (hash and app hash), and the committed counter equals the sum of the committed
txs. At the end (node stopped): the whole block store is replayed from genesis into a fresh
store, block by block with the stored txs, times and votes, and every FinalizeBlock result
and every app hash must equal the stored ones; the final app hash must equal the node's.

`SULTAN_KILL_CYCLES` (default 6) sets the cycles; `make torture` runs 200. Figures:
docs/reliability.md.
"""

from __future__ import annotations

import base64
import os
import random
import signal
import threading
import time
from pathlib import Path

from sultan_counter.pb.counter.v1 import counter_pb2

from sultan.kernel.abci.app import Application
from sultan.kernel.crypto.keys import load_priv_validator_key
from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.embedded import EmbeddedEngine
from sultan.kernel.genesis import load_genesis
from sultan.kernel.home import Home
from sultan.kernel.mempool import Mempool
from sultan.kernel.modules import load_modules, read_plugins_toml
from sultan.kernel.store.db import Database
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.testing import NodeProcess, init_home, unsigned_tx


def _load(node: NodeProcess, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        tx = unsigned_tx(
            counter_pb2.MsgIncrement(sender="load", amount=rng.randint(1, 9)),
            memo=str(rng.random()),
        )
        try:
            node.rpc("broadcast_tx_sync", tx=base64.b64encode(tx).decode())
        except Exception:
            pass  # the node may be dead right now: that is the point
        time.sleep(0.005)


def _blocks(node: NodeProcess, lo: int, hi: int) -> dict[int, tuple[str, str]]:
    out = {}
    for h in range(lo, hi + 1):
        b = node.rpc("block", height=str(h))
        out[h] = (b["block_id"]["hash"], b["block"]["header"]["app_hash"])
    return out


def _count(node: NodeProcess) -> tuple[int, int]:
    res = node.rpc("abci_query", path="/counter.v1.Query/Count", data="")["response"]
    value = counter_pb2.QueryCountResponse.FromString(base64.b64decode(res["value"] or ""))
    return value.value, int(res["height"])


def _committed_amount(node: NodeProcess, height: int) -> int:
    """The sum of the amounts of the successful txs committed in block `height`."""
    block = node.rpc("block", height=str(height))["block"]
    results = node.rpc("block_results", height=str(height))["txs_results"] or []
    total = 0
    for raw, result in zip(block["data"]["txs"] or [], results, strict=True):
        if result["code"] == 0:
            body = tx_pb2.TxBody.FromString(
                tx_pb2.TxRaw.FromString(base64.b64decode(raw)).body_bytes
            )
            for msg in body.messages:
                total += counter_pb2.MsgIncrement.FromString(msg.value).amount
    return total


def replay_from_genesis(home: Path, scratch: Path) -> tuple[int, bytes, bytes]:
    """Replay `home`'s block store into a fresh store; (height, replayed, stored app hash).

    Fails (AssertionError) at the first block whose results or app hash differ.
    """
    h = Home(home)
    modules = load_modules(read_plugins_toml(str(h.plugins_toml)))
    genesis = load_genesis(h.genesis_json)
    src = Database(str(h.data_dir / "application.db"))
    dst = Database(str(scratch / "replay.db"))
    try:
        blocks = BlockStore(src)
        stored_app = Application(src, modules)
        app = Application(dst, modules)
        engine = EmbeddedEngine(
            app, genesis, load_priv_validator_key(h.priv_validator_key), Mempool(app.check_tx)
        )
        engine.bootstrap()  # InitChain from genesis.json, as on the node's first start
        top = blocks.height
        assert stored_app.last_height == top
        for height in range(1, top + 1):
            block = blocks.block(height)
            block_id = blocks.block_id(height)
            assert block is not None and block_id is not None
            assert block.header.app_hash == app.last_app_hash or height == 1, (
                f"replay diverged before block {height}"
            )
            votes = []
            if height > 1:
                prev_vals = blocks.validators(height - 1)
                assert prev_vals is not None
                for v, sig in zip(prev_vals.validators, block.last_commit.signatures, strict=True):
                    votes.append(
                        abci.VoteInfo(
                            validator=abci.Validator(address=v.address, power=v.voting_power),
                            block_id_flag=sig.block_id_flag,
                        )
                    )
            res = app.finalize_block(
                abci.RequestFinalizeBlock(
                    txs=list(block.data.txs),
                    decided_last_commit=abci.CommitInfo(round=0, votes=votes),
                    hash=block_id.hash,
                    height=height,
                    time=block.header.time,
                    next_validators_hash=block.header.next_validators_hash,
                    proposer_address=block.header.proposer_address,
                )
            )
            stored = blocks.results(height)
            assert stored is not None
            assert res.SerializeToString() == stored.SerializeToString(), (
                f"block {height}: replayed results differ from the stored ones"
            )
            app.commit(abci.RequestCommit())
        return top, app.last_app_hash, stored_app.last_app_hash
    finally:
        dst.close()
        src.close()


def test_kill_9_torture_with_replay_from_genesis(tmp_path):
    cycles = int(os.environ.get("SULTAN_KILL_CYCLES", "6"))
    home = init_home(tmp_path / "home", ["counter"], chain_id="torture-1", moniker="t")
    rng = random.Random(int(os.environ.get("SULTAN_TORTURE_SEED", "20261127")))
    seen: dict[int, tuple[str, str]] = {}
    last = 0
    committed = counted_to = 0  # sum of committed increments up to height counted_to
    started = time.monotonic()
    for cycle in range(cycles):
        node = NodeProcess(home, timeout_commit="50ms")
        stop = threading.Event()
        try:
            node.start()
            sender = threading.Thread(target=_load, args=(node, stop, cycle), daemon=True)
            sender.start()
            time.sleep(rng.uniform(0.05, 0.8))  # a random moment, not a readiness wait
            node.kill(signal.SIGKILL)
        finally:
            stop.set()
            node.kill(signal.SIGKILL)
        with NodeProcess(home, timeout_commit="50ms") as check:
            height = check.height()
            assert height >= last, f"cycle {cycle}: height went back {last} -> {height}"
            # Blocks seen before must be unchanged: the newest ones (where a crash could
            # bite) and a random sample of older ones; the final replay covers them all.
            known = max(seen, default=0)
            sample = set(range(max(1, known - 20), known + 1))
            sample |= set(rng.sample(range(1, known + 1), min(known, 20)))
            for h in sorted(sample):
                assert seen[h] == _blocks(check, h, h)[h], f"cycle {cycle}: block {h} changed"
            value, at = _count(check)
            for h in range(counted_to + 1, at + 1):
                committed += _committed_amount(check, h)
            counted_to = at
            assert value == committed, f"cycle {cycle}: state {value} != committed txs {committed}"
            seen.update(_blocks(check, known + 1, at))
            last = at
        # the check node is SIGKILLed too on leaving the `with`: one more crash per cycle
    top, replayed, stored = replay_from_genesis(home, tmp_path)
    assert replayed == stored, f"replay from genesis gives {replayed.hex()} != {stored.hex()}"
    assert top >= last and top > cycles
    assert sorted(seen) == list(range(1, max(seen) + 1))
    print(
        f"\ntorture: {cycles} cycles, {2 * cycles} SIGKILLs, {top} blocks replayed from genesis, "
        f"0 failures, {time.monotonic() - started:.0f}s"
    )
