"""Four Sultan applications under four real CometBFT v0.38 validators.

The tests run in file order on one network (the `network` fixture): agreement, a bank tx,
a killed validator, an application crash behind a running CometBFT, and a deliberately
non-deterministic application that CometBFT must halt.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from cmt_env import ALICE, CHAIN_ID, DENOM, WAIT, Net
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx

from sultan.kernel.home import reset_data
from sultan.testing.wallet import Wallet

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

BOB = Wallet.from_seed("cometbft-bob")
DIVERGING_APP = str(Path(__file__).with_name("diverging_app.py"))


def send_tx(net: Net, via: int, sender: Wallet, to: str, amount: int) -> bytes:
    account_number, sequence = net.account(via, sender.address)
    msg = bank_tx.MsgSend(
        from_address=sender.address,
        to_address=to,
        amount=[{"denom": DENOM, "amount": str(amount)}],
    )
    return sender.sign_tx(
        [msg],
        sequence=sequence,
        account_number=account_number,
        chain_id=CHAIN_ID,
        fee=f"2000{DENOM}",
        gas=200_000,
    )


def report(text: str) -> None:
    print(f"\n[cometbft] {text}", file=sys.stderr)


def abci_info_direct(port: int) -> object:
    """ABCI Info straight from the app's socket (as CometBFT's handshake asks it)."""
    import socket

    from sultan.kernel.abci.socket_server import FrameDecoder, encode_frame
    from sultan.pb.tendermint.abci import types_pb2 as abci

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            encode_frame(abci.Request(info=abci.RequestInfo(version="0.38.26")))
            + encode_frame(abci.Request(flush=abci.RequestFlush()))
        )
        decoder, frames = FrameDecoder(), []
        while len(frames) < 2:
            data = sock.recv(65536)
            assert data, "the app closed the connection"
            frames += decoder.feed(data)
    return abci.Response.FromString(frames[0]).info


def assert_app_hash_matches_chain(net: Net, i: int) -> None:
    """Node i's app reports (Info) the app hash that the chain's next header carries."""
    height, app_hash = net.app_info(i)
    net.wait_height(height + 1, [0])
    header = net.rpc(0, "block", height=str(height + 1))["block"]["header"]
    assert header["app_hash"] == app_hash, (i, height)


def test_validators_produce_blocks_and_agree_at_every_height(network: Net) -> None:
    heights = network.wait_height(6)
    upto = min(heights.values())
    network.assert_agree(upto)
    # Every application reports (through ABCI Info) the app hash that CometBFT then put
    # into the next header, so all four computed the same state.
    for i in range(4):
        assert_app_hash_matches_chain(network, i)
    # Each validator signs: the last commit of a recent block carries 4 signatures.
    sigs = network.rpc(0, "block", height=str(upto))["block"]["last_commit"]["signatures"]
    assert len(sigs) == 4


def test_bank_tx_via_one_node_is_committed_and_balances_agree_everywhere(network: Net) -> None:
    before = network.balance(0, ALICE.address)
    tx = send_tx(network, 2, ALICE, BOB.address, 12345)
    res = network.rpc(2, "broadcast_tx_sync", tx=base64.b64encode(tx).decode())
    assert res["code"] == 0, res
    tx_hash = hashlib.sha256(tx).hexdigest().upper()
    assert res["hash"] == tx_hash
    committed = network.wait_tx(0, tx_hash)
    assert committed["tx_result"]["code"] == 0, committed
    height = int(committed["height"])
    network.wait_height(height + 1)
    for i in range(4):
        assert network.balance(i, BOB.address) == 12345
        assert network.balance(i, ALICE.address) == before - 12345 - 2000
    # The same balance through CometBFT's abci_query on another node (CosmJS's path).
    from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2

    data = query_pb2.QueryBalanceRequest(address=BOB.address, denom=DENOM).SerializeToString()
    answer = network.rpc(
        3, "abci_query", path="/cosmos.bank.v1beta1.Query/Balance", data=data.hex()
    )["response"]
    assert answer["code"] == 0 and int(answer["height"]) >= height
    balance = query_pb2.QueryBalanceResponse.FromString(base64.b64decode(answer["value"]))
    assert balance.balance.amount == "12345"

    # Sultan's own REST, in front of CometBFT: BroadcastTx goes into CometBFT's mempool,
    # GetTx / GetTxsEvent / blocks are read from CometBFT's RPC.
    tx2 = send_tx(network, 1, ALICE, BOB.address, 5)
    status, body = network.rest(
        1,
        "/cosmos/tx/v1beta1/txs",
        {"tx_bytes": base64.b64encode(tx2).decode(), "mode": "BROADCAST_MODE_SYNC"},
    )
    assert status == 200 and body["tx_response"]["code"] == 0, body
    hash2 = body["tx_response"]["txhash"]
    assert hash2 == hashlib.sha256(tx2).hexdigest().upper()
    network.wait_tx(3, hash2)
    network.wait_tx(0, hash2)  # node0 may commit that block a moment after node3
    status, body = network.rest(3, f"/cosmos/tx/v1beta1/txs/{hash2}")
    assert status == 200, body
    assert body["tx_response"]["code"] == 0 and body["tx"]["body"]["messages"]
    assert body["tx_response"]["timestamp"]
    status, body = network.rest(
        0, f"/cosmos/tx/v1beta1/txs?query=transfer.recipient%3D%27{BOB.address}%27"
    )
    assert status == 200 and body["total"] == "2", body
    status, body = network.rest(2, "/cosmos/base/tendermint/v1beta1/blocks/latest")
    assert status == 200 and body["block"]["header"]["chain_id"] == CHAIN_ID
    status, body = network.rest(2, "/cosmos/base/tendermint/v1beta1/validatorsets/latest")
    assert status == 200 and len(body["validators"]) == 4
    status, body = network.rest(2, "/cosmos/base/tendermint/v1beta1/node_info")
    assert body["default_node_info"]["default_node_id"] == network.nodes[2].node_id
    assert body["default_node_info"]["version"].startswith("0.38.")
    # gRPC shares the services: the same answers from CometBFT through Sultan's gRPC port.
    import grpc

    from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_pb
    from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
    from sultan.pb.cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc

    with grpc.insecure_channel(network.nodes[2].grpc_address) as channel:
        latest = tm_grpc.ServiceStub(channel).GetLatestBlock(
            tm_pb.GetLatestBlockRequest(), timeout=15
        )
        assert latest.block.header.chain_id == CHAIN_ID and latest.block.header.height > height
        got = service_pb2_grpc.ServiceStub(channel).GetTx(
            service_pb2.GetTxRequest(hash=tx_hash), timeout=15
        )
        assert got.tx_response.height == height and got.tx_response.code == 0
    status, body = network.rest(2, "/health")
    assert status == 200 and body["status"] == "ok", body
    status, body = network.rest(2, "/cosmos/tx/v1beta1/txs/" + "AB" * 32)
    assert status == 404 and "not found" in body["message"]


def test_killed_validator_others_continue_then_it_catches_up(network: Net) -> None:
    net = network.t
    net.kill(3)  # SIGKILL both its CometBFT and its application
    start = max(network.wait_height(0, [0, 1, 2]).values())
    network.wait_height(start + 4, [0, 1, 2])  # 3 of 4 validators (75% > 2/3) go on
    net.start([3], timeout=WAIT)
    target = max(network.wait_height(0, [0, 1, 2]).values()) + 2
    heights = network.wait_height(target)
    network.assert_agree(min(heights.values()))
    report(f"node3 SIGKILLed at ~{start}, others went on, it caught up: {heights}")
    log = network.nodes[3].log_text("cometbft")
    assert "ABCI Handshake App Info" in log


def test_app_crash_behind_running_cometbft_recovers_by_replay(network: Net) -> None:
    net, node = network.t, network.nodes[1]
    # A copy of the application's data at a known height (taken while it is stopped).
    net.stop([1], timeout=30)
    backup = node.dir / "sultan-data-backup"
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(node.sultan_home / "data", backup)
    net.start_app(1, timeout=WAIT)
    saved_height = abci_info_direct(node.ports["abci"]).last_block_height
    assert saved_height > 0
    net.start_cometbft(1, timeout=WAIT)
    network.wait_height(saved_height + 3)
    # State changes in the blocks the app will have to replay.
    bob_before = network.balance(0, BOB.address)
    tx = send_tx(network, 1, ALICE, BOB.address, 7)
    assert network.rpc(1, "broadcast_tx_sync", tx=base64.b64encode(tx).decode())["code"] == 0
    committed = network.wait_tx(1, hashlib.sha256(tx).hexdigest().upper())
    network.wait_height(int(committed["height"]) + 2)

    # The application crashes; CometBFT notices the broken ABCI connections and stops
    # itself ("Did the application crash?"), as it is designed to.
    assert net.send_signal(1, "sultan", signal.SIGKILL)
    assert net.wait_exit(1, "sultan", 30)
    assert net.wait_exit(1, "cometbft", 60), "CometBFT kept running without its app"
    assert "Did the application crash" in node.log_text("cometbft")

    # Restarted on older state (the backup), the app reports that height through Info and
    # CometBFT replays the blocks it is missing from its own block store.
    shutil.rmtree(node.sultan_home / "data")
    shutil.copytree(backup, node.sultan_home / "data")
    net.start_app(1, timeout=WAIT)
    info = abci_info_direct(node.ports["abci"])  # what CometBFT's handshake will read
    assert info.last_block_height == saved_height
    net.start_cometbft(1, timeout=WAIT)
    target = max(network.wait_height(0, [0, 2, 3]).values()) + 2
    heights = network.wait_height(target)
    network.assert_agree(min(heights.values()))
    log = node.log_text("cometbft").rsplit("starting cometbft", 1)[-1]
    assert f"height={saved_height} " in log.split("ABCI Handshake App Info", 1)[1].split("\n")[0]
    replay = log.split("ABCI Replay Blocks", 1)[1].split("\n")[0]
    store_height = int(replay.split("storeHeight=")[1].split()[0])
    assert f"appHeight={saved_height} " in replay and store_height > int(committed["height"])
    assert "Completed ABCI Handshake" in log
    assert network.balance(1, BOB.address) == bob_before + 7
    report(f"node1 app restored at height {saved_height}; CometBFT replayed to {store_height}")
    app_log = node.log_text("sultan").rsplit("starting sultan", 1)[-1]
    # The replayed blocks were executed again by the app, in order, from saved_height + 1.
    assert f"committed block height={saved_height + 1} " in app_log
    assert_app_hash_matches_chain(network, 1)


def test_nondeterministic_app_is_halted_on_app_hash_mismatch_then_restored(
    network: Net,
) -> None:
    net, node = network.t, network.nodes[2]
    net.stop([2], timeout=30)
    diverge_from = max(network.wait_height(0, [0, 1, 3]).values()) + 3
    net.start_app(
        2,
        python_args=[DIVERGING_APP],
        env={"SULTAN_TEST_DIVERGE_FROM": str(diverge_from)},
        timeout=WAIT,
    )
    net.start_cometbft(2, timeout=WAIT)
    # The others go well past the divergence; node2 cannot get past it.
    network.wait_height(diverge_from + 6, [0, 1, 3])
    stuck = network.height(2)
    assert stuck <= diverge_from, (stuck, diverge_from)
    report(f"node2 diverged from {diverge_from}: halted at {stuck}, others at {network.height(0)}")
    log = node.log_text("cometbft").rsplit("starting cometbft", 1)[-1]
    assert "wrong Block.Header.AppHash" in log, log[-3000:]
    # Its app really did compute a different hash at diverge_from.
    good = network.rpc(0, "block", height=str(diverge_from + 1))["block"]["header"]["app_hash"]
    bad_height, bad_hash = network.app_info(2)
    assert bad_height >= diverge_from and bad_hash != good

    # Restore: wipe the app's state and CometBFT's chain data (keeping its double-sign
    # guard), restart with the honest app: block sync brings it back and it agrees.
    net.stop([2], timeout=30)
    reset_data(node.sultan_home)
    for entry in (node.cometbft_home / "data").iterdir():
        if entry.name != "priv_validator_state.json":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    net.start([2], timeout=WAIT)
    target = max(network.wait_height(0, [0, 1, 3]).values()) + 2
    heights = network.wait_height(target)
    network.assert_agree(min(heights.values()))
    assert_app_hash_matches_chain(network, 2)


def test_testnet_cli_status_and_stop(network: Net) -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", "testnet", "status", str(network.t.root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for i in range(4):
        assert f"node{i}: sultan pid" in out.stdout and "cometbft pid" in out.stdout
    assert "peers" in out.stdout
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", "testnet", "stop", str(network.t.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("cometbft stopped, sultan stopped") == 4, out.stdout
    assert time.monotonic() - started < 60
    assert not network.t.running()
    # `sultan testnet start` brings the same network back (at its last height).
    out = subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", "testnet", "start", str(network.t.root)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("RPC http://127.0.0.1:") == 4
    height = max(network.wait_height(0).values())
    network.wait_height(height + 2)
