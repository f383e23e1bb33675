"""`[api] workers`: REST and gRPC served by worker processes beside a real `sultan run`.

The workers read the node's RocksDB as a secondary; these tests check what a user relies
on: a read right after a commit shows it, transactions sent to a worker reach the node,
/health and /metrics tell the truth, and a worker that dies is replaced and never outlives
its node.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import attrs
import grpc
import pytest
from ops_support import edit_toml, http_get, make_certificate, scrape, value, wait_for
from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as bank_query

from sultan.api.replica import METRICS_EVERY_S
from sultan.ops import stress
from sultan.pb.cosmos.tx.v1beta1 import service_pb2 as tx_service
from sultan.testing import NodeProcess, init_home
from sultan.testing.wallet import Wallet

pytestmark = pytest.mark.timeout(300)

WORKERS = 2
CHAIN_ID = "workers-1"


@attrs.define
class WorkersNode:
    process: NodeProcess
    accounts: list[stress.Account]
    sequence: int = 0

    def signed_send(self, amount: int, recipient: str | None = None) -> bytes:
        """Account 0 sends `amount` to `recipient` (default: account 1)."""
        sender = self.accounts[0]
        tx = Wallet(sender.private_key).sign_tx(
            [
                stress.msg_send(
                    sender.address, recipient or self.accounts[1].address, "usultan", amount
                )
            ],
            sequence=self.sequence,
            account_number=self.account_number(sender.address),
            chain_id=CHAIN_ID,
        )
        self.sequence += 1
        return tx

    def account_number(self, address: str) -> int:
        url = f"{self.process.rest_url}/cosmos/auth/v1beta1/accounts/{address}"
        with urllib.request.urlopen(url, timeout=10) as res:
            return int(json.loads(res.read())["account"]["account_number"])

    def rest_balance(self, address: str) -> int:
        url = (
            f"{self.process.rest_url}/cosmos/bank/v1beta1/balances/{address}/by_denom?denom=usultan"
        )
        with urllib.request.urlopen(url, timeout=10) as res:  # a new connection each time
            return int(json.loads(res.read())["balance"]["amount"])

    def grpc_balance(self, address: str) -> int:
        with grpc.insecure_channel(f"127.0.0.1:{self.process.grpc_port}") as channel:
            return _grpc_balance(channel, address)

    def worker_pids(self) -> list[int]:
        assert self.process.proc is not None
        children = []
        # Each thread's own children: a worker started again is the supervisor thread's.
        for task in Path(f"/proc/{self.process.proc.pid}/task").iterdir():
            try:
                children += (task / "children").read_text().split()
            except OSError:  # the thread ended meanwhile
                continue
        return sorted(int(c) for c in children if _is_worker(int(c)))


def _grpc_balance(channel: grpc.Channel, address: str) -> int:
    call = channel.unary_unary("/cosmos.bank.v1beta1.Query/Balance")
    request = bank_query.QueryBalanceRequest(address=address, denom="usultan")
    raw = call(request.SerializeToString(), timeout=10)
    return int(bank_query.QueryBalanceResponse.FromString(raw).balance.amount)


def _rest_broadcast(rest_url: str, tx: bytes) -> dict:
    """POST /cosmos/tx/v1beta1/txs in sync mode; the tx_response."""
    body = json.dumps({"tx_bytes": base64.b64encode(tx).decode(), "mode": "BROADCAST_MODE_SYNC"})
    request = urllib.request.Request(
        rest_url + "/cosmos/tx/v1beta1/txs", body.encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as res:
        return json.loads(res.read())["tx_response"]


def _is_worker(pid: int) -> bool:
    try:
        return b"sultan.api.replica" in Path(f"/proc/{pid}/cmdline").read_bytes() and _alive(pid)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(root: Path, app_toml: dict | None = None) -> tuple[NodeProcess, list[stress.Account]]:
    home = init_home(root / "home", ["auth", "bank", "metrics"], chain_id=CHAIN_ID)
    if app_toml:
        edit_toml(home / "config" / "app.toml", app_toml)
    accounts = stress.generate_accounts(3, seed="api-workers")
    stress.fund_in_genesis(
        home / "config" / "genesis.json", [a.address for a in accounts], "1000000000usultan"
    )
    process = NodeProcess(home, timeout_commit="200ms", extra_args=["--api.workers", str(WORKERS)])
    process.start(timeout=120)
    return process, accounts


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkersNode]:
    process, accounts = _start(tmp_path_factory.mktemp("workers"))
    try:
        yield WorkersNode(process, accounts)
    finally:
        process.kill()


def test_the_node_runs_its_workers(node: WorkersNode) -> None:
    assert len(node.worker_pids()) == WORKERS
    assert f"REST and gRPC served by API workers ({WORKERS})" in node.process.log_text()
    status, _, body = http_get(node.process.rest_url + "/health")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["height"] >= 1


def test_a_read_after_a_commit_shows_it(node: WorkersNode) -> None:
    """The commit is learnt from the node's RPC; the next read, on any worker, shows it."""
    recipient = node.accounts[1].address
    expected = node.rest_balance(recipient)
    for amount in range(1, 13):
        tx = node.signed_send(amount)
        result = node.process.rpc("broadcast_tx_commit", tx=base64.b64encode(tx).decode())
        assert result["tx_result"]["code"] == 0, result
        expected += amount
        assert node.rest_balance(recipient) == expected
        assert node.grpc_balance(recipient) == expected
        status, _, body = http_get(node.process.rest_url + "/status")
        assert status == 200 and json.loads(body)["height"] >= int(result["height"])


def test_transactions_sent_to_a_worker_reach_the_node(node: WorkersNode) -> None:
    recipient = node.accounts[2].address
    before = node.rest_balance(recipient)
    tx = node.signed_send(1000, recipient)
    reply = _rest_broadcast(node.process.rest_url, tx)
    assert reply["code"] == 0, reply
    assert int(reply["gas_wanted"]) > 0  # the node's full CheckTx result came back
    wait_for(lambda: node.rest_balance(recipient) == before + 1000, what="the transfer")

    # The same bytes again, over gRPC: the node's mempool cache refuses them, cleanly.
    with grpc.insecure_channel(f"127.0.0.1:{node.process.grpc_port}") as channel:
        call = channel.unary_unary("/cosmos.tx.v1beta1.Service/BroadcastTx")
        raw = call(
            tx_service.BroadcastTxRequest(
                tx_bytes=tx, mode=tx_service.BROADCAST_MODE_SYNC
            ).SerializeToString(),
            timeout=30,
        )
    again = tx_service.BroadcastTxResponse.FromString(raw).tx_response
    assert again.code != 0 and again.raw_log

    # Bytes that are no transaction: an error answer, and the node keeps serving.
    assert _rest_broadcast(node.process.rest_url, b"\x01\x02")["code"] != 0
    assert http_get(node.process.rest_url + "/health")[0] == 200


def test_the_nodes_metrics_count_the_workers_requests(node: WorkersNode) -> None:
    url = node.process.metrics_url
    endpoint = "rest:/chain_info"

    def served() -> float:
        try:
            return value(scrape(url), "sultan_api_requests_total", endpoint=endpoint, status="ok")
        except KeyError:
            return 0.0

    before = served()
    for _ in range(25):
        assert http_get(node.process.rest_url + "/chain_info")[0] == 200
    wait_for(lambda: served() >= before + 25, what="the workers' requests in /metrics")
    families = scrape(url)
    assert value(families, "sultan_api_latency_seconds_count", endpoint=endpoint) >= 25


def test_a_worker_that_dies_is_replaced(node: WorkersNode) -> None:
    def served() -> float:
        families = scrape(node.process.metrics_url)
        return value(families, "sultan_api_requests_total", endpoint="rest:/health", status="ok")

    # A new connection each: the kernel spreads them, so the victim has served its share.
    for _ in range(200):
        assert http_get(node.process.rest_url + "/health")[0] == 200
    time.sleep(1.5)  # each worker writes its figures every second
    before = served()
    victim = node.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: len(node.worker_pids()) == WORKERS and victim not in node.worker_pids(),
        timeout=60,
        what="a new worker",
    )
    assert "exited with code -9; starting it again" in node.process.log_text()
    for _ in range(10):  # every request is answered, by whichever worker listens
        assert http_get(node.process.rest_url + "/health")[0] == 200
    assert node.grpc_balance(node.accounts[0].address) > 0
    # The dead worker's requests still count: the node's counter never goes backwards,
    # also once the new worker has written its own figures (it does every second).
    watch_until = time.monotonic() + 3 * METRICS_EVERY_S
    while time.monotonic() < watch_until:
        assert served() >= before
        time.sleep(0.1)
    wait_for(lambda: served() >= before + 10, what="the new requests in /metrics")


def test_workers_stop_with_the_node(tmp_path: Path) -> None:
    process, _ = _start(tmp_path)
    try:
        pids = WorkersNode(process, []).worker_pids()
        assert len(pids) == WORKERS
        assert process.stop() == 0
        assert not any(_alive(p) for p in pids)
        # Killed without a chance to stop them, the node leaves none behind either: each
        # worker sees its stdin close and exits.
        process.start(timeout=120)
        pids = WorkersNode(process, []).worker_pids()
        process.kill()
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids)
    finally:
        process.kill()


def test_workers_serve_tls(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    cert, key = make_certificate(certs)
    pair = {"tls-cert-file": str(cert), "tls-key-file": str(key)}
    process, accounts = _start(tmp_path, {"api": pair, "grpc": pair})
    try:
        context = ssl.create_default_context(cafile=str(cert))
        status, _, body = http_get(
            process.rest_url.replace("http:", "https:") + "/status", context=context
        )
        assert status == 200 and json.loads(body)["chain_id"] == CHAIN_ID
        with pytest.raises(OSError):  # plain HTTP is refused
            urllib.request.urlopen(process.rest_url + "/status", timeout=5).read()
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{process.grpc_port}", credentials) as channel:
            assert _grpc_balance(channel, accounts[0].address) == 1_000_000_000
    finally:
        process.kill()
