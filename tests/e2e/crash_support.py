"""Shared checks of the crash tests (test_torture, test_snapshot_crashes, test_disk_full).

The replay from genesis, tx loads (counter increments, signed bank sends), chain-state
checks over RPC, snapshot verification and a tmpfs mount that is always unmounted.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as bank_query
from sultan_counter.pb.counter.v1 import counter_pb2

from sultan.kernel.abci.app import Application
from sultan.kernel.address import ACCOUNT_CODEC
from sultan.kernel.crypto.keys import load_priv_validator_key
from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.embedded import EmbeddedEngine
from sultan.kernel.genesis import load_genesis
from sultan.kernel.home import Home
from sultan.kernel.mempool import Mempool
from sultan.kernel.modules import load_modules, read_plugins_toml
from sultan.kernel.snapshots import SnapshotInfo, SnapshotStore, restore_ops
from sultan.kernel.store.db import Database
from sultan.ops import stress
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.testing import NodeProcess, unsigned_tx
from sultan.testing.wallet import Wallet

DENOM = "usultan"


# -- loads ---------------------------------------------------------------------------------


def counter_load(node: NodeProcess, stop: threading.Event, seed: int, memo_bytes: int = 0) -> None:
    """Counter increments until `stop`; `memo_bytes` of random (incompressible) memo each."""
    rng = random.Random(seed)
    while not stop.is_set():
        memo = base64.b64encode(rng.randbytes(memo_bytes * 3 // 4)).decode() if memo_bytes else ""
        tx = unsigned_tx(
            counter_pb2.MsgIncrement(sender="load", amount=rng.randint(1, 9)),
            memo=memo + str(rng.random()),
        )
        try:
            node.rpc("broadcast_tx_sync", tx=base64.b64encode(tx).decode())
        except Exception:
            pass  # the node may be dead or stopping right now: that is the point
        time.sleep(0.005)


def send_load(
    node: NodeProcess, sender: stress.Account, to: str, chain_id: str, stop: threading.Event
) -> None:
    """Signed bank sends of 1 DENOM from `sender` to `to`, sequence tracked locally."""
    url = f"{node.rest_url}/cosmos/auth/v1beta1/accounts/{sender.address}"
    wallet = Wallet(sender.private_key)
    sequence: int | None = None
    number = 0
    while not stop.is_set():
        try:
            if sequence is None:
                with urllib.request.urlopen(url, timeout=10) as res:
                    account = json.loads(res.read())["account"]
                sequence, number = int(account["sequence"]), int(account["account_number"])
            tx = wallet.sign_tx(
                [stress.msg_send(sender.address, to, DENOM, 1)],
                sequence=sequence,
                account_number=number,
                chain_id=chain_id,
            )
            res = node.rpc("broadcast_tx_sync", tx=base64.b64encode(tx).decode())
            sequence = sequence + 1 if res["code"] == 0 else None
        except Exception:
            sequence = None  # dead node, or a sequence lost with the mempool: ask again
            time.sleep(0.05)
        time.sleep(0.005)


def filler_addresses(count: int) -> list[str]:
    """Deterministic addresses nobody holds a key for (genesis state to make snapshots big)."""
    return [
        ACCOUNT_CODEC.to_string(hashlib.sha256(b"filler/%d" % i).digest()[:20])
        for i in range(count)
    ]


# -- chain checks over RPC -------------------------------------------------------------------


def blocks(node: NodeProcess, lo: int, hi: int) -> dict[int, tuple[str, str]]:
    """(block hash, app hash) of heights lo..hi."""
    out = {}
    for h in range(lo, hi + 1):
        b = node.rpc("block", height=str(h))
        out[h] = (b["block_id"]["hash"], b["block"]["header"]["app_hash"])
    return out


def counter_value(node: NodeProcess) -> tuple[int, int]:
    """(counter value, height it was read at)."""
    res = node.rpc("abci_query", path="/counter.v1.Query/Count", data="")["response"]
    value = counter_pb2.QueryCountResponse.FromString(base64.b64decode(res["value"] or ""))
    return value.value, int(res["height"])


def committed_amount(node: NodeProcess, height: int) -> int:
    """The sum of the amounts of the successful counter txs committed in block `height`."""
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


def successful_txs(node: NodeProcess, height: int) -> int:
    results = node.rpc("block_results", height=str(height))["txs_results"] or []
    return sum(1 for r in results if r["code"] == 0)


def balance(node: NodeProcess, address: str, height: int = 0) -> tuple[int, int]:
    """(amount of DENOM held by `address`, height read at); height 0 = latest."""
    req = bank_query.QueryBalanceRequest(address=address, denom=DENOM).SerializeToString()
    params = {"path": "/cosmos.bank.v1beta1.Query/Balance", "data": req.hex()}
    if height:
        params["height"] = str(height)
    res = node.rpc("abci_query", **params)["response"]
    assert res["code"] == 0, res
    value = bank_query.QueryBalanceResponse.FromString(base64.b64decode(res["value"] or ""))
    return int(value.balance.amount or 0), int(res["height"])


def last_logged_commit(log_text: str) -> tuple[int, str]:
    """(height, app hash) of the last "committed block" line `sultan run` logged."""
    found = re.findall(r"committed block height=(\d+) txs=\d+ app_hash=([0-9A-F]+)", log_text)
    assert found, "the node logged no committed block"
    return int(found[-1][0]), found[-1][1]


def logged_commits(log_text: str) -> dict[int, str]:
    found = re.findall(r"committed block height=(\d+) txs=\d+ app_hash=([0-9A-F]+)", log_text)
    return {int(h): app_hash for h, app_hash in found}


# -- snapshots -------------------------------------------------------------------------------


def enable_snapshots(home: Path, interval: int, keep: int) -> None:
    app_toml = home / "config" / "app.toml"
    text = app_toml.read_text()
    text, n = re.subn(r"(?m)^snapshot-interval = \d+", f"snapshot-interval = {interval}", text)
    text, m = re.subn(r"(?m)^snapshot-keep-recent = \d+", f"snapshot-keep-recent = {keep}", text)
    assert n == m == 1
    app_toml.write_text(text)


def store_keys(home: Path) -> list[str]:
    from sultan.kernel.abci.app import KERNEL_STORE

    modules = load_modules(read_plugins_toml(str(Home(home).plugins_toml)))
    return sorted([*modules.store_keys, KERNEL_STORE])


def verify_snapshot(store: SnapshotStore, info: SnapshotInfo, keys: list[str]) -> None:
    """Every chunk matches its hash and the payload rebuilds a state with the app hash."""
    chunks = [store.chunk(info.height, i) for i in range(info.chunks)]
    for i, chunk in enumerate(chunks):
        assert hashlib.sha256(chunk).digest() == info.chunk_hashes[i], (
            f"snapshot {info.height}: chunk {i} does not match its hash"
        )
    assert sum(map(len, chunks)) == info.size
    restore_ops(b"".join(chunks), info.height, info.app_hash, keys)  # raises on a mismatch


def leftovers(snapshots: Path) -> list[str]:
    """Names in the snapshot directory that are not finished snapshots."""
    if not snapshots.is_dir():
        return []
    return sorted(p.name for p in snapshots.iterdir() if not p.name.isdigit())


# -- replay ----------------------------------------------------------------------------------


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


# -- a small filesystem --------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` MiB mounted at `path` (root only), always unmounted after."""
    if os.geteuid() != 0:
        # Not skipped: a skip would pass unnoticed. CI (and `make test`) run as root.
        pytest.fail("mounting a tmpfs needs root: run the tests as root, as CI does")
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, f"cannot mount a tmpfs at {path}: {res.stderr.strip()}"
    try:
        yield path
    finally:
        res = subprocess.run(["umount", str(path)], capture_output=True)
        if res.returncode != 0:  # something still holds a file: detach it anyway
            subprocess.run(["umount", "-l", str(path)], check=True)


def grow(path: Path, size_mb: int) -> None:
    """Resize the tmpfs mounted at `path` (space is back)."""
    subprocess.run(
        ["mount", "-o", f"remount,size={size_mb}m", str(path)], check=True, capture_output=True
    )


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize
