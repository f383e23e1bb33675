"""State sync and block following of an embedded (non-CometBFT) node: `sultan run` with
`--statesync.*` flags restores a snapshot served over a validator's RPC (`abci_query
/sultan/snapshots`, `/sultan/snapshot_chunk`), then verifies and executes the chain's blocks.

One real validator (`sultan run`, snapshots every 5 blocks) serves every test. The happy
path goes through a dead server and a lying one (a JSON-RPC proxy that corrupts snapshot
chunks) before the honest server; the bad cases (wrong trust hash, only liars) must exit 1
with a clear message and leave no database behind.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sultan.ops import stress
from sultan.testing import NodeProcess, init_home, sultan_cli
from sultan.testing.process import free_port
from sultan.testing.wallet import Wallet

pytestmark = pytest.mark.timeout(300)

CHAIN_ID = "ess-1"
DENOM = "usultan"
ALICE = Wallet.from_seed("ess-alice")
BOB = Wallet.from_seed("ess-bob")
INTERVAL = 5
KEEP = 100
# `sultan run` with a hidden non-determinism (writes an extra key from a chosen height on).
DIVERGING_APP = str(Path(__file__).parents[1] / "cometbft" / "diverging_app.py")
WAIT = 120.0


def _wait(check: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def _rest(node: NodeProcess, path: str) -> Any:
    with urllib.request.urlopen(node.rest_url + path, timeout=10) as res:
        return json.loads(res.read())


def _balance(node: NodeProcess, address: str) -> int:
    body = _rest(node, f"/cosmos/bank/v1beta1/balances/{address}/by_denom?denom={DENOM}")
    return int(body["balance"]["amount"])


def _send(node: NodeProcess, amount: int) -> int:
    """Alice sends `amount` to Bob through `node`; the height it was committed at."""
    account = _rest(node, f"/cosmos/auth/v1beta1/accounts/{ALICE.address}")["account"]
    tx = ALICE.sign_tx(
        [stress.msg_send(ALICE.address, BOB.address, DENOM, amount)],
        sequence=int(account["sequence"]),
        account_number=int(account["account_number"]),
        chain_id=CHAIN_ID,
        fee=f"2000{DENOM}",
        gas=200_000,
    )
    result = node.rpc("broadcast_tx_commit", tx=base64.b64encode(tx).decode())
    assert result["check_tx"]["code"] == 0 and result["tx_result"]["code"] == 0, result
    return int(result["height"])


def _snapshot_heights(node: NodeProcess) -> list[int]:
    res = node.rpc("abci_query", path="/sultan/snapshots", data="")["response"]
    assert res["code"] == 0, res
    return sorted(int(s["height"]) for s in json.loads(base64.b64decode(res["value"])))


def _trust(node: NodeProcess, above: int) -> tuple[int, int, str]:
    """(snapshot height S > above, trust height T >= S + 2, hash of block T)."""
    snap = _wait(lambda: [h for h in _snapshot_heights(node) if h > above], "a snapshot")[-1]
    trust_height = node.wait_for_height(snap + 2, WAIT)
    block_hash = node.rpc("block", height=str(trust_height))["block_id"]["hash"]
    return snap, trust_height, block_hash


def _statesync_args(servers: list[str], height: int, block_hash: str) -> list[str]:
    return [
        "--statesync.enable",
        "true",
        "--statesync.rpc_servers",
        ",".join(servers),
        "--statesync.trust_height",
        str(height),
        "--statesync.trust_hash",
        block_hash,
    ]


def _follower_home(path: Path, validator: NodeProcess) -> Path:
    home = init_home(path, ["auth", "bank"], chain_id=CHAIN_ID)
    shutil.copy(validator.home / "config" / "genesis.json", home / "config" / "genesis.json")
    return home


class _LyingProxy:
    """Forwards JSON-RPC to `target` but flips a byte of every snapshot chunk it serves."""

    def __init__(self, target: str) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                req = urllib.request.Request(target, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as res:
                    reply = json.loads(res.read())
                params = request.get("params") or {}
                if request.get("method") == "abci_query" and params.get("path") == (
                    "/sultan/snapshot_chunk"
                ):
                    response = reply["result"]["response"]
                    chunk = bytearray(base64.b64decode(response["value"]))
                    chunk[len(chunk) // 2] ^= 0xFF
                    response["value"] = base64.b64encode(bytes(chunk)).decode()
                    proxy.corrupted += 1
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.corrupted = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    home = init_home(tmp_path_factory.mktemp("ess") / "validator", ["auth", "bank"], CHAIN_ID)
    sultan_cli("genesis", "add-account", ALICE.address, f"100000000{DENOM}", "--home", str(home))
    app_toml = home / "config" / "app.toml"
    text, n = re.subn(
        r"(?m)^snapshot-interval = \d+", f"snapshot-interval = {INTERVAL}", app_toml.read_text()
    )
    # Snapshots are small; keeping many leaves the tests' (slow, shared-CPU) set-up time
    # before the chosen one is pruned.
    text, m = re.subn(r"(?m)^snapshot-keep-recent = \d+", f"snapshot-keep-recent = {KEEP}", text)
    assert n == m == 1
    app_toml.write_text(text)
    node = NodeProcess(home, timeout_commit="200ms")
    try:
        node.start(timeout=WAIT)
        yield node
    finally:
        node.kill()


@pytest.fixture
def liar(validator: NodeProcess) -> Iterator[_LyingProxy]:
    proxy = _LyingProxy(validator.rpc_url)
    try:
        yield proxy
    finally:
        proxy.close()


def test_follower_restores_through_dead_and_lying_servers_then_follows(
    validator: NodeProcess, liar: _LyingProxy, tmp_path: Path
) -> None:
    home = _follower_home(tmp_path / "follower", validator)
    tx_height = _send(validator, 1000)
    snap, trust_height, block_hash = _trust(validator, tx_height)
    dead = f"http://127.0.0.1:{free_port()}"
    args = _statesync_args([dead, liar.url, validator.rpc_url], trust_height, block_hash)
    # One API worker serves its REST and gRPC: they follow the follower's store too.
    args += ["--api.workers", "1"]
    follower = NodeProcess(home, timeout_commit="200ms", extra_args=args)
    try:
        follower.start(timeout=WAIT)
        log = follower.log_text()
        assert f"state sync: restored height {snap}" in log, log[-4000:]
        assert "does not match its hash" in log and liar.corrupted >= 1, log[-4000:]
        # Its store starts at the snapshot; it catches up with the validator.
        status = follower.rpc("status")["sync_info"]
        assert int(status["earliest_block_height"]) == snap, status
        target = validator.height()
        follower.wait_for_height(target, WAIT)
        for h in range(snap, target + 1):
            mine, theirs = (
                follower.rpc("block", height=str(h)),
                validator.rpc("block", height=str(h)),
            )
            assert mine["block_id"] == theirs["block_id"], h
            assert mine["block"]["header"]["app_hash"] == theirs["block"]["header"]["app_hash"]
        assert _balance(follower, BOB.address) == 1000

        # A new transfer on the validator shows up on the follower.
        _send(validator, 2500)
        _wait(lambda: _balance(follower, BOB.address) == 3500, "the follower to see the transfer")

        # Transactions go to validators: the follower refuses them, clearly (also those
        # its API worker receives).
        with pytest.raises(RuntimeError, match="send transactions to a validator"):
            follower.rpc("broadcast_tx_sync", tx=base64.b64encode(b"\x0a\x00").decode())
        body = json.dumps({"tx_bytes": base64.b64encode(b"\x0a\x00").decode(), "mode": 2})
        request = urllib.request.Request(
            follower.rest_url + "/cosmos/tx/v1beta1/txs",
            body.encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as res:
            refused = json.loads(res.read())["tx_response"]
        assert refused["code"] != 0 and "send transactions to a validator" in refused["raw_log"]
        assert "REST and gRPC served by API workers (1)" in follower.log_text()

        # A restart continues from its own store (no second state sync).
        stopped_at = follower.height()
        assert follower.stop() == 0
        follower.start(timeout=WAIT)
        follower.wait_for_height(max(stopped_at, validator.height()) + 2, WAIT)
        assert follower.log_text().count("state sync: restored height") == 1
        assert _balance(follower, BOB.address) == 3500
    finally:
        follower.kill()


def _run_expecting_failure(home: Path, args: list[str]) -> Any:
    res = sultan_cli(
        "run",
        "--home",
        str(home),
        "--rpc.laddr",
        f"tcp://127.0.0.1:{free_port()}",
        "--api.address",
        f"tcp://127.0.0.1:{free_port()}",
        "--grpc.address",
        f"127.0.0.1:{free_port()}",
        *args,
        check=False,
        timeout=WAIT,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    # Nothing written: no database, so the next start syncs afresh.
    assert not (home / "data" / "application.db").exists()
    return res


def test_wrong_trust_hash_exits_and_writes_nothing(validator: NodeProcess, tmp_path: Path) -> None:
    home = _follower_home(tmp_path / "wrong", validator)
    height = validator.wait_for_height(INTERVAL + 2, WAIT)
    real = validator.rpc("block", height=str(height))["block_id"]["hash"]
    wrong = "AB" * 32
    servers = [validator.rpc_url, validator.rpc_url]
    res = _run_expecting_failure(home, _statesync_args(servers, height, wrong))
    assert (
        f"trust hash mismatch at height {height}: server {validator.rpc_url} says {real}, "
        f"config says {wrong}" in res.stderr
    ), res.stderr


def test_expired_trusted_block_exits_and_writes_nothing(
    validator: NodeProcess, tmp_path: Path
) -> None:
    home = _follower_home(tmp_path / "expired", validator)
    _snap, trust_height, block_hash = _trust(validator, 0)
    config = home / "config" / "config.toml"
    text, n = re.subn(r'(?m)^trust_period = ".*"$', 'trust_period = "1ms"', config.read_text())
    assert n == 1
    config.write_text(text)
    # Any block is older than 1 ms by the time the node has started and read it.
    res = _run_expecting_failure(
        home, _statesync_args([validator.rpc_url, validator.rpc_url], trust_height, block_hash)
    )
    assert re.search(
        rf"trusted block {trust_height} was made \S+ ago \(\S+\), longer than "
        r"statesync.trust_period \(1ms\): the validators that signed it may have unbonded",
        res.stderr,
    ), res.stderr
    assert "Traceback" not in res.stderr


def test_only_lying_servers_exit_and_write_nothing(
    validator: NodeProcess, liar: _LyingProxy, tmp_path: Path
) -> None:
    home = _follower_home(tmp_path / "lied-to", validator)
    _snap, trust_height, block_hash = _trust(validator, 0)
    res = _run_expecting_failure(
        home, _statesync_args([liar.url, liar.url], trust_height, block_hash)
    )
    assert "no server gave chunk 0 of snapshot" in res.stderr, res.stderr
    assert liar.corrupted >= 2


def test_follower_whose_results_differ_stops_diverged(
    validator: NodeProcess, tmp_path: Path
) -> None:
    """A follower that computes a different state (here: a wrapper adds a key from height
    S+2 on) stops at the first signed header that disagrees, instead of building on it."""
    home = _follower_home(tmp_path / "diverging", validator)
    snap, trust_height, block_hash = _trust(validator, 0)
    diverge_from = snap + 2
    follower = NodeProcess(
        home,
        timeout_commit="200ms",
        extra_args=_statesync_args(
            [validator.rpc_url, validator.rpc_url], trust_height, block_hash
        ),
        env={"SULTAN_TEST_DIVERGE_FROM": str(diverge_from)},
        python_args=[DIVERGING_APP],
    )
    try:
        follower.start(wait=False)
        assert follower.proc is not None
        code = follower.proc.wait(WAIT)
        log = follower.log_text()
        assert code == 1, log[-4000:]
        assert f"state sync: restored height {snap}" in log, log[-4000:]
        # It executed S+1 and the diverging S+2, and nothing after: the header of S+3
        # (the chain's app hash after S+2) stopped it, in one line (no traceback).
        stopped = f"following stopped: diverged at height {diverge_from}: this node computed"
        assert stopped in log and "Traceback" not in log, log[-4000:]
        assert "stopping: following failed: diverged" in log, log[-4000:]
    finally:
        follower.kill()
