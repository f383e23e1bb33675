"""`sultan run` as operators run it: a real process, real ports, signals and crashes."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from crash_support import committed_amount
from sultan_counter.pb.counter.v1 import counter_pb2

from sultan.testing import NodeProcess, init_home, sultan_cli, unsigned_tx


def block_hashes(node: NodeProcess, upto: int) -> dict[int, tuple[str, str]]:
    out = {}
    for h in range(1, upto + 1):
        block = node.rpc("block", height=str(h))
        out[h] = (block["block_id"]["hash"], block["block"]["header"]["app_hash"])
    return out


def test_dev_run_creates_a_home_produces_blocks_and_stops_cleanly(tmp_path):
    home = tmp_path / "dev"
    node = NodeProcess(home, extra_args=["--dev"])
    try:
        node.start()
        node.wait_for_height(3)
        status = node.rpc("status")
        assert status["node_info"]["network"] == "sultan-local-1"
        assert status["node_info"]["version"].startswith("0.38.")
        assert (home / "config" / "genesis.json").exists()
        assert oct((home / "config" / "priv_validator_key.json").stat().st_mode & 0o777) == "0o600"
    finally:
        code = node.stop()
    assert code == 0, node.log_text()[-2000:]
    assert "shutting down" in node.log_text()


def test_restart_continues_from_the_last_committed_height(counter_home, node_factory):
    node = node_factory(counter_home)
    height = node.wait_for_height(4)
    before = block_hashes(node, height)
    assert node.stop() == 0
    node2 = node_factory(counter_home)
    node2.wait_for_height(height + 2)
    after = block_hashes(node2, height)
    assert after == before


def _send_increments(node: NodeProcess, stop: threading.Event, sent: list[int]) -> None:
    rng = random.Random(1)
    while not stop.is_set():
        amount = rng.randint(1, 9)
        tx = unsigned_tx(
            counter_pb2.MsgIncrement(sender="load", amount=amount), memo=str(rng.random())
        )
        try:
            node.rpc("broadcast_tx_sync", tx=base64.b64encode(tx).decode())
            sent.append(amount)
        except Exception:
            pass  # the node may be dead right now: that is the point of the test
        time.sleep(0.01)


def _count(node: NodeProcess) -> tuple[int, int]:
    result = node.rpc("abci_query", path="/counter.v1.Query/Count", data="")
    value = counter_pb2.QueryCountResponse.FromString(
        base64.b64decode(result["response"]["value"] or "")
    )
    return value.value, int(result["response"]["height"])


def test_kill_9_at_random_moments_loses_nothing_committed(counter_home):
    cycles = int(os.environ.get("SULTAN_KILL_CYCLES", "8"))
    rng = random.Random(20261127)
    seen: dict[int, tuple[str, str]] = {}
    last_height = 0
    for _cycle in range(cycles):
        node = NodeProcess(counter_home, timeout_commit="50ms")
        stop = threading.Event()
        try:
            node.start()
            height = node.wait_for_height(last_height + 1)
            assert height >= last_height, "height went back after a crash"
            sender = threading.Thread(target=_send_increments, args=(node, stop, []), daemon=True)
            sender.start()
            time.sleep(rng.uniform(0.05, 0.8))  # a random moment to crash, not a readiness wait
            node.kill(signal.SIGKILL)
        finally:
            stop.set()
            node.kill(signal.SIGKILL)
        # Check on a fresh start: nothing committed changed.
        with NodeProcess(counter_home, timeout_commit="50ms") as check:
            height = check.wait_for_height(max(last_height, 1))
            for h, hashes in block_hashes(check, min(height, max(seen, default=0))).items():
                assert seen.get(h, hashes) == hashes, f"block {h} changed after a crash"
            current = check.height()
            seen.update(block_hashes(check, current))
            value, at = _count(check)
            assert value == sum(committed_amount(check, h) for h in range(1, at + 1))
            last_height = current
    assert last_height > cycles


def test_second_node_on_the_same_home_is_refused(counter_home, node_factory):
    node_factory(counter_home)
    second = NodeProcess(counter_home)
    second.start(wait=False)
    code = second.proc.wait(timeout=60)
    assert code == 1
    assert "in use by another sultan process" in second.log_text()


@contextlib.contextmanager
def _busy_port() -> Iterator[int]:
    """A loopback port another socket listens on, for as long as the block lasts."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def test_port_in_use_is_reported(counter_home):
    with _busy_port() as port:
        node = NodeProcess(counter_home)
        node.rpc_port = port
        node.start(wait=False)
        code = node.proc.wait(timeout=60)
    assert code == 1
    assert f"127.0.0.1:{port}" in node.log_text()


def test_start_moves_off_a_port_taken_after_it_was_picked(counter_home):
    # What another process on the machine can do between free_port() and the node's bind.
    with _busy_port() as port:
        node = NodeProcess(counter_home)
        node.grpc_port = port
        try:
            node.start(timeout=120)
            assert node.grpc_port != port
            log = node.log_text()
            assert f"gRPC: cannot listen on 127.0.0.1:{port}: address already in use" in log
            assert f"port {port} was taken meanwhile" in log
        finally:
            node.kill()


@pytest.mark.parametrize(
    "path, content, message",
    [
        ("config/config.toml", "this is [not toml", "config.toml"),
        ("config/app.toml", "minimum-gas-prices = 5\n", "app.toml"),
        ("config/genesis.json", "{", "genesis.json"),
        ("config/priv_validator_key.json", '{"address": "00"}', "priv_validator_key.json"),
        ("config/plugins.toml", 'modules = ["nope"]\n', "'nope'"),
    ],
)
def test_broken_files_give_one_clear_error(counter_home, path, content, message):
    (counter_home / path).write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", "run", "--home", str(counter_home)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Error:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_unsafe_reset_all_keeps_keys_and_restarts_the_chain(counter_home, node_factory):
    key = (counter_home / "config" / "priv_validator_key.json").read_text()
    node = node_factory(counter_home)
    node.wait_for_height(3)
    assert node.stop() == 0
    sultan_cli("unsafe-reset-all", "--home", str(counter_home))
    assert (counter_home / "config" / "priv_validator_key.json").read_text() == key
    node2 = node_factory(counter_home)
    assert node2.wait_for_height(1) < 3


def test_counter_tx_over_rpc_is_committed_and_queryable(counter_home, node_factory):
    node = node_factory(counter_home)
    tx = unsigned_tx(counter_pb2.MsgIncrement(sender="alice", amount=3))
    result = node.rpc("broadcast_tx_commit", tx=base64.b64encode(tx).decode())
    assert result["check_tx"]["code"] == 0 and result["tx_result"]["code"] == 0
    assert _count(node)[0] == 3
    found = node.rpc("tx_search", query="increment.sender='alice'", page="1")
    assert found["total_count"] == "1"
    with urllib.request.urlopen(f"{node.rest_url}/counter/v1/count", timeout=10) as resp:
        assert json.loads(resp.read())["value"] == "3"


def test_modules_command_lists_enabled_and_disabled(tmp_path):
    home = init_home(tmp_path / "h", ["counter"])
    out = sultan_cli("modules", "--home", str(home), "--json").stdout
    data = json.loads(out)
    (counter,) = data["enabled"]
    assert counter["name"] == "counter" and counter["store_key"] == "counter"
    assert counter["messages"] == ["/counter.v1.MsgIncrement"]
    empty = init_home(tmp_path / "e", [])
    data = json.loads(sultan_cli("modules", "--home", str(empty), "--json").stdout)
    assert data["enabled"] == [] and "counter" in [d["name"] for d in data["disabled"]]
