"""Operating a Sultan application under one real CometBFT v0.38 validator (socket mode):
its /metrics follows the chain CometBFT drives, and app.toml `halt-height` stops it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cmt_env import DENOM, WAIT, Net, fast_node_config, free_port_block, msg_send
from prometheus_client.parser import text_string_to_metric_families

from sultan.kernel.coins import Coins
from sultan.testing.wallet import Wallet
from sultan.testnet import PORTS_PER_NODE, Testnet, TestnetNode, set_toml_values

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

CHAIN_ID = "ops-solo-1"
SENDER = Wallet.from_seed("socket-ops-sender")
RECIPIENT = Wallet.from_seed("socket-ops-recipient")
# Series that the app reads from CometBFT's RPC at scrape time.
RPC_SERIES = (
    "sultan_mempool_size",
    "sultan_mempool_size_bytes",
    "sultan_validator_power",
    "sultan_consensus_round",
    "sultan_p2p_peers",
)


def solo_testnet(root: Path, cometbft_bin: Path, modules: tuple[str, ...]) -> Testnet:
    base = fast_node_config()
    return Testnet.init(
        root,
        validators=1,
        cometbft=cometbft_bin,
        chain_id=CHAIN_ID,
        starting_port=free_port_block(PORTS_PER_NODE),
        modules=modules,
        accounts=[(SENDER.address, Coins.parse(f"10000000{DENOM}"))],
        node_config=base,
    )


def wait_for(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not within {timeout}s")


# -- /metrics -------------------------------------------------------------------------------


def scrape(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    return {m.name: m for m in text_string_to_metric_families(text)}


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    for family in families.values():
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    raise KeyError(f"{sample} {labels} is not in the scrape")


def has_sample(families: dict[str, Any], name: str) -> bool:
    return name in families and bool(families[name].samples)


def test_metrics_follow_the_chain_cometbft_drives(cometbft_bin: Path, tmp_path: Path) -> None:
    t = solo_testnet(tmp_path / "net", cometbft_bin, ("auth", "bank", "metrics"))
    node = t.nodes[0]
    url = f"http://127.0.0.1:{node.ports['metrics']}/metrics"
    net = Net(t)
    try:
        t.start(timeout=WAIT)
        net.wait_height(2)
        low = net.height(0)
        first = scrape(url)
        high = net.height(0)
        # CometBFT stores a block before the app executes it: the app is at most one behind.
        height = value(first, "sultan_block_height")
        assert low - 1 <= height <= high, (low, height, high)
        assert value(first, "sultan_node_info", engine="cometbft", chain_id=CHAIN_ID) == 1
        # A fresh chain: one duration observed per block committed by this app process.
        count = value(first, "sultan_block_processing_duration_seconds_count")
        assert abs(count - height) <= 1, (count, height)
        assert value(first, "sultan_block_processing_duration_seconds_sum") > 0
        assert "FinalizeBlock" in first["sultan_block_processing_duration_seconds"].documentation

        # The chain series advance with CometBFT's height.
        later = wait_for(
            lambda: (m := scrape(url)) and value(m, "sultan_block_height") >= height + 3 and m,
            "sultan_block_height advancing",
        )
        assert value(later, "sultan_block_processing_duration_seconds_count") >= count + 3
        assert value(later, "sultan_block_height") <= net.height(0)

        # Scrape-time series come from CometBFT's RPC, not from numbers of the app's own.
        assert "CometBFT" in later["sultan_p2p_peers"].documentation
        assert value(later, "sultan_p2p_peers") == int(net.rpc(0, "net_info")["n_peers"]) == 0
        unconfirmed = net.rpc(0, "num_unconfirmed_txs")
        assert value(later, "sultan_mempool_size") == int(unconfirmed["total"]) == 0
        assert value(later, "sultan_mempool_size_bytes") == int(unconfirmed["total_bytes"])
        (validator,) = net.rpc(0, "validators")["validators"]
        assert validator["address"] == node.validator_address
        assert value(later, "sultan_validator_power", validator=node.validator_address) == float(
            validator["voting_power"]
        )
        # The round of a commit CometBFT made between the first scrape and now (a scrape
        # may reuse CometBFT's answers of up to a second before).
        round_scrape = scrape(url)
        rounds = {
            int(net.rpc(0, "commit", height=str(h))["signed_header"]["commit"]["round"])
            for h in range(low, net.height(0) + 1)
        }
        assert value(round_scrape, "sultan_consensus_round") in rounds

        # A bank transaction: the app's counter moves by exactly one.
        tx_before = value(scrape(url), "sultan_transactions_processed_total")
        committed = net.submit(0, SENDER, [msg_send(SENDER, RECIPIENT.address, 777)])
        after = wait_for(
            lambda: (
                (m := scrape(url))
                and value(m, "sultan_transactions_processed_total") > tx_before
                and m
            ),
            "sultan_transactions_processed_total after the bank tx",
        )
        assert value(after, "sultan_transactions_processed_total") == tx_before + 1
        assert value(after, "sultan_block_height") >= int(committed["height"])
        assert net.balance(0, RECIPIENT.address) == 777

        # CometBFT gone: its series are absent (not zero, not stale) and the scrape still
        # answers promptly; the app's own block series stay.
        assert t.stop_process(0, "cometbft", 60) == "stopped"
        started = time.monotonic()
        gone = wait_for(
            lambda: (m := scrape(url)) and not any(has_sample(m, n) for n in RPC_SERIES) and m,
            "RPC-fed series absent while CometBFT is down",
            timeout=60,
        )
        assert time.monotonic() - started < 30
        assert all(name in gone for name in RPC_SERIES)  # described, without a sample
        assert value(gone, "sultan_block_height") >= int(committed["height"])
        assert value(gone, "sultan_node_info", engine="cometbft", chain_id=CHAIN_ID) == 1
    finally:
        t.stop(timeout=20)
    assert "Traceback" not in node.log_text("sultan"), node.log_text("sultan")[-3000:]


# -- halt-height ----------------------------------------------------------------------------


def set_halt_height(node: TestnetNode, height: int) -> None:
    path = node.sultan_home / "config" / "app.toml"
    path.write_text(set_toml_values(path.read_text(), {("", "halt-height"): height}))


def app_height(node: TestnetNode) -> int:
    """The height the application's RocksDB holds (opened here, so it must be closed)."""
    from sultan.node import Node

    opened = Node(node.sultan_home).open()
    try:
        return int(opened.app.last_height)
    finally:
        opened.close()


def start_app(t: Testnet, node: TestnetNode) -> subprocess.Popen[bytes]:
    """`sultan run` for the node (socket mode), its exit code ours to read."""
    log_path = node.log_path("sultan")
    mark = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        app = subprocess.Popen(
            [sys.executable, "-m", "sultan.cli.main", "run", "--home", str(node.sultan_home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ),
        )
    try:
        wait_for(
            lambda: app.poll() is not None or "ABCI server listening" in log_since(node, mark),
            "the app's ABCI server",
        )
    except BaseException:
        stop(app)
        raise
    assert app.poll() is None, log_since(node, mark)
    return app


def log_since(node: TestnetNode, mark: int, kind: str = "sultan") -> str:
    with open(node.log_path(kind), "rb") as f:
        f.seek(mark)
        return f.read().decode(errors="replace")


def stop(app: subprocess.Popen[bytes]) -> None:
    if app.poll() is None:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait(30)


def stored_block_height(t: Testnet, node: TestnetNode) -> int:
    """CometBFT's block-store height, read with `cometbft inspect` (no consensus runs)."""
    inspect = subprocess.Popen(
        [
            str(t.cometbft), "inspect", "--home", str(node.cometbft_home),
            "--rpc.laddr", f"tcp://127.0.0.1:{node.ports['rpc']}",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def latest() -> int | None:
            assert inspect.poll() is None, "cometbft inspect exited"
            try:
                block = t.rpc(0, "block", timeout=2)["block"]
            except (OSError, RuntimeError, ValueError):
                return None
            return int(block["header"]["height"])

        return int(wait_for(latest, "cometbft inspect RPC"))
    finally:
        stop(inspect)


def test_halt_height_commits_exactly_that_height_then_stops(
    cometbft_bin: Path, tmp_path: Path
) -> None:
    t = solo_testnet(tmp_path / "net", cometbft_bin, ("auth", "bank"))
    node = t.nodes[0]
    net = Net(t)
    apps: list[subprocess.Popen[bytes]] = []
    try:
        # A chain that has been running for a while, stopped for the halt to be set.
        t.start(timeout=WAIT)
        net.wait_height(2)
        t.stop(timeout=20)
        current = app_height(node)
        halt = current + 3
        set_halt_height(node, halt)

        # 1. It runs to the halt height, commits it, and stops by itself: exit 0, DB closed.
        mark = node.log_path("sultan").stat().st_size
        apps.append(app := start_app(t, node))
        t.start_cometbft(0, wait=False)
        assert app.wait(WAIT) == 0, log_since(node, mark)[-3000:]
        text = log_since(node, mark)
        assert f"halt-height {halt} reached" in text
        assert f"committed block height={halt} " in text
        assert f"committed block height={halt + 1} " not in text and "Traceback" not in text
        assert app_height(node) == halt  # opening it also proves the app closed RocksDB
        # CometBFT loses its application and stops; its chain ends at the same height.
        assert t.wait_exit(0, "cometbft", WAIT), node.log_text("cometbft", 3000)
        assert stored_block_height(t, node) == halt

        # 2. Restarted with the same halt-height (as the Cosmos SDK): the app starts, warns,
        #    and refuses to execute the next block with a clear error; nothing is executed.
        mark = node.log_path("sultan").stat().st_size
        cmt_mark = node.log_path("cometbft").stat().st_size
        apps.append(app := start_app(t, node))
        assert f"halt-height {halt} is already reached" in log_since(node, mark)
        t.start_cometbft(0, wait=False)
        assert app.wait(WAIT) == 1, log_since(node, mark)[-3000:]
        text = log_since(node, mark)
        assert f"halt-height {halt} reached: refusing to execute block {halt + 1}" in text
        assert "raise or remove halt-height in app.toml" in text
        assert app_height(node) == halt
        assert t.wait_exit(0, "cometbft", WAIT), node.log_text("cometbft", 3000)
        cmt_text = log_since(node, cmt_mark, "cometbft")
        # The halt in step 1 was clean: CometBFT had finished its Commit of the halt height.
        assert f"appHeight={halt} storeHeight={halt} stateHeight={halt}" in cmt_text
        assert "CONSENSUS FAILURE" in cmt_text

        # 3. With halt-height raised, the chain continues (CometBFT replays the block the
        #    app refused) and halts again at the new height.
        set_halt_height(node, halt + 2)
        mark = node.log_path("sultan").stat().st_size
        cmt_mark = node.log_path("cometbft").stat().st_size
        apps.append(app := start_app(t, node))
        t.start_cometbft(0, wait=False)
        assert app.wait(WAIT) == 0, log_since(node, mark)[-3000:]
        text = log_since(node, mark)
        assert "Replay last block using real app" in log_since(node, cmt_mark, "cometbft")
        assert f"committed block height={halt + 1} " in text
        assert f"halt-height {halt + 2} reached" in text
        assert app_height(node) == halt + 2
        assert t.wait_exit(0, "cometbft", WAIT), node.log_text("cometbft", 3000)
        assert stored_block_height(t, node) == halt + 2
    finally:
        t.stop(timeout=20)
        for app in apps:
            stop(app)
