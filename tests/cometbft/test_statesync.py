"""State sync for real: a fresh CometBFT node joins a running `sultan testnet` from the
Sultan applications' snapshots instead of replaying the chain from genesis.

Two validators take a snapshot every few blocks (app.toml `state-sync.snapshot-interval`);
a third node is added with `Testnet.add_node(state_sync=True)`, which trusts the latest
block of node 0 and turns on CometBFT's `[statesync]`. Its CometBFT discovers the
snapshots over P2P (ListSnapshots on the validators' apps), offers one to its own empty
Sultan app (OfferSnapshot), fetches the chunks (LoadSnapshotChunk) and feeds them in
(ApplySnapshotChunk), then checks the restored app hash against the light-client-verified
header before it block-syncs the rest.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from cmt_env import (
    ALICE,
    CHAIN_ID,
    DENOM,
    FUNDS,
    WAIT,
    Net,
    fast_node_config,
    free_port_block,
    msg_send,
)

from sultan.kernel.coins import Coins
from sultan.kernel.config import Config
from sultan.testing.wallet import Wallet
from sultan.testnet import PORTS_PER_NODE, Testnet

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

VALIDATORS = 2
SNAPSHOT_INTERVAL = 10
# A snapshot must outlive CometBFT's discovery (15 s) and the chunk fetches: at ~0.3-1 s a
# block, 10 snapshots 10 blocks apart last well over a minute.
KEEP_RECENT = 10
DAVE = Wallet.from_seed("statesync-dave")


def report(text: str) -> None:
    print(f"\n[statesync] {text}", file=sys.stderr)


@pytest.fixture(scope="module")
def net(cometbft_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    node = fast_node_config()
    app = Config().app
    app = attrs.evolve(
        app,
        state_sync=attrs.evolve(
            app.state_sync, snapshot_interval=SNAPSHOT_INTERVAL, snapshot_keep_recent=KEEP_RECENT
        ),
    )
    # Room for the validators and the node the test adds.
    first_port = free_port_block(PORTS_PER_NODE * (VALIDATORS + 1))
    testnet = Testnet.init(
        tmp_path_factory.mktemp("statesync"),
        validators=VALIDATORS,
        cometbft=cometbft_bin,
        chain_id=CHAIN_ID,
        starting_port=first_port,
        modules=("auth", "bank"),
        accounts=[(ALICE.address, Coins.parse(f"{FUNDS}{DENOM}"))],
        node_config=node,
        app_config=app,
    )
    try:
        testnet.start(timeout=WAIT)
        net = Net(testnet)
        net.wait_height(2)
        yield net
    finally:
        testnet.stop(timeout=10)


def send(net: Net, amount: int) -> tuple[str, int]:
    """Alice sends `amount` to Dave through node 0; (tx hash, height it was committed at)."""
    committed = net.submit(0, ALICE, [msg_send(ALICE, DAVE.address, amount)])
    return str(committed["hash"]), int(committed["height"])


def test_fresh_node_state_syncs_from_sultan_snapshots_and_agrees(net: Net) -> None:
    t = net.t
    _, tx_height = send(net, 12_345)
    # Wait until a snapshot that includes the transfer exists on both validators.
    snapshot_height = (tx_height // SNAPSHOT_INTERVAL + 1) * SNAPSHOT_INTERVAL
    net.wait_height(snapshot_height + 3)
    for i in range(VALIDATORS):
        snapshots_dir = t.nodes[i].sultan_home / "data" / "snapshots"
        deadline = time.monotonic() + WAIT
        while not (snapshots_dir / str(snapshot_height) / "snapshot.json").exists():
            assert time.monotonic() < deadline, f"node{i} took no snapshot at {snapshot_height}"
            time.sleep(0.2)

    started = time.monotonic()
    new = t.add_node(state_sync=True)
    t.start([new.index], timeout=WAIT)
    target = net.height(0) + 3
    net.wait_height(target, [new.index], timeout=240)
    synced_in = time.monotonic() - started
    status = net.rpc(new.index, "status")["sync_info"]
    earliest = int(status["earliest_block_height"])
    report(
        f"node{new.index} state-synced in {synced_in:.1f}s: earliest block {earliest}, "
        f"at height {status['latest_block_height']}"
    )
    # It restored a snapshot: its block store starts after it, not at genesis.
    assert earliest > SNAPSHOT_INTERVAL, status
    sultan_log = new.log_text("sultan")
    assert "state restored from snapshot" in sultan_log, sultan_log[-3000:]

    # Same chain, same app hash at every height it has.
    top = net.height(new.index)
    net.wait_height(top, [0])
    assert net.chain_hashes(new.index, earliest, top) == net.chain_hashes(0, earliest, top)
    height, app_hash = net.app_info(new.index)
    net.wait_height(height + 1, [0])
    header = net.rpc(0, "block", height=str(height + 1))["block"]["header"]
    assert header["app_hash"] == app_hash

    # The restored state serves queries: the transfer made before the snapshot is there.
    assert net.balance(new.index, DAVE.address) == 12_345
    assert net.balance(new.index, ALICE.address) == net.balance(0, ALICE.address)

    # And it keeps executing new blocks: a transfer after the sync reaches it too.
    second, _ = send(net, 1_000)
    net.wait_tx(new.index, second)
    assert net.balance(new.index, DAVE.address) == 13_345
