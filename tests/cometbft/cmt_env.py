"""Helpers of the CometBFT network tests: constants, free ports, the `Net` wrapper."""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import attrs

from sultan.kernel.config import NodeConfig
from sultan.kernel.timeutil import parse_duration_ms
from sultan.testing.wallet import Wallet
from sultan.testnet import Testnet

CHAIN_ID = "cmt-test-1"
DENOM = "usultan"
FUNDS = 10_000_000
VALIDATORS = 4
ALICE = Wallet.from_seed("cometbft-alice")
CAROL = Wallet.from_seed("cometbft-carol")  # the golden-shape tests' sender
WAIT = 120.0  # generous: two cores shared with other test runs


def msg_send(sender: Wallet, to: str, amount: int) -> Any:
    from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2

    return tx_pb2.MsgSend(
        from_address=sender.address, to_address=to, amount=[{"denom": DENOM, "amount": str(amount)}]
    )


def fast_node_config() -> NodeConfig:
    """Test networks' consensus timing: 300 ms between blocks, 2 s to propose."""
    base = NodeConfig()
    return attrs.evolve(
        base,
        consensus=attrs.evolve(
            base.consensus,
            timeout_commit_ms=parse_duration_ms("300ms"),
            timeout_propose_ms=parse_duration_ms("2s"),
        ),
    )


def free_port_block(count: int) -> int:
    """A starting port with `count` consecutive free ports on 127.0.0.1."""
    rng = random.Random()
    for _ in range(200):
        # Below Linux's ephemeral range (32768+), so no outgoing connection's local port can
        # take one of these between a node's stop and its restart.
        base = rng.randrange(20000, 32000 - count, 10)
        ok = True
        for port in range(base, base + count):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no block of free ports found")


class Net:
    """The running testnet plus the helpers the tests need."""

    def __init__(self, testnet: Testnet) -> None:
        self.t = testnet
        self.chain_id = testnet.chain_id

    @property
    def nodes(self) -> list[Any]:
        return self.t.nodes

    def rpc(self, i: int, method: str, **params: Any) -> Any:
        return self.t.rpc(i, method, **params)

    def height(self, i: int) -> int:
        return int(self.rpc(i, "status")["sync_info"]["latest_block_height"])

    def wait_height(
        self, height: int, nodes: list[int] | None = None, timeout: float = WAIT
    ) -> dict[int, int]:
        """Poll until every node in `nodes` has committed `height`; their heights."""
        nodes = list(range(len(self.nodes))) if nodes is None else nodes
        deadline = time.monotonic() + timeout
        current: dict[int, int] = {}
        while time.monotonic() < deadline:
            for i in nodes:
                try:
                    current[i] = self.height(i)
                except (OSError, RuntimeError, ValueError, KeyError):
                    current[i] = -1
            if all(current[i] >= height for i in nodes):
                return current
            time.sleep(0.2)
        tails = "\n".join(
            f"--- node{i} cometbft ---\n{self.nodes[i].log_text('cometbft', 2000)}\n"
            f"--- node{i} sultan ---\n{self.nodes[i].log_text('sultan', 1500)}"
            for i in nodes
        )
        raise TimeoutError(f"height {height} not reached in {timeout}s: {current}\n{tails}")

    def chain_hashes(self, i: int, lo: int, hi: int) -> dict[int, tuple[str, str]]:
        """{height: (block hash, app hash in its header)} via CometBFT's `blockchain`."""
        out: dict[int, tuple[str, str]] = {}
        top = hi
        while top >= lo:
            metas = self.rpc(i, "blockchain", minHeight=str(lo), maxHeight=str(top))["block_metas"]
            for meta in metas:
                h = int(meta["header"]["height"])
                out[h] = (meta["block_id"]["hash"], meta["header"]["app_hash"])
            top = min(out) - 1
        return out

    def assert_agree(self, upto: int, nodes: list[int] | None = None) -> None:
        """Every node has the same block hash and app hash at every height 1..upto."""
        nodes = list(range(len(self.nodes))) if nodes is None else nodes
        reference = self.chain_hashes(nodes[0], 1, upto)
        assert sorted(reference) == list(range(1, upto + 1))
        for i in nodes[1:]:
            assert self.chain_hashes(i, 1, upto) == reference, f"node{i} disagrees"

    def app_info(self, i: int) -> tuple[int, str]:
        """(last height, app hash) that node i's Sultan app reports through ABCI Info."""
        import base64

        r = self.rpc(i, "abci_info")["response"]  # app hash: base64 ([]byte in libs/json)
        app_hash = base64.b64decode(r.get("last_block_app_hash") or "").hex().upper()
        return int(r.get("last_block_height", "0")), app_hash

    def rest(self, i: int, path: str, body: Any = None) -> tuple[int, Any]:
        url = self.nodes[i].rest_url + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def balance(self, i: int, address: str) -> int:
        status, body = self.rest(
            i, f"/cosmos/bank/v1beta1/balances/{address}/by_denom?denom={DENOM}"
        )
        assert status == 200, body
        return int(body["balance"]["amount"])

    def account(self, i: int, address: str) -> tuple[int, int]:
        status, body = self.rest(i, f"/cosmos/auth/v1beta1/accounts/{address}")
        assert status == 200, body
        acc = body["account"]
        return int(acc["account_number"]), int(acc.get("sequence", "0"))

    def submit(
        self,
        via: int,
        wallet: Wallet,
        msgs: list[Any],
        *,
        fee: int = 2000,
        gas: int = 200_000,
    ) -> dict[str, Any]:
        """Sign `msgs` (account number and sequence read from node `via`), broadcast them
        to its CometBFT, wait until committed; the RPC `tx` result (checked: code 0)."""
        import base64
        import hashlib

        account_number, sequence = self.account(via, wallet.address)
        tx = wallet.sign_tx(
            msgs,
            sequence=sequence,
            account_number=account_number,
            chain_id=self.chain_id,
            fee=f"{fee}{DENOM}",
            gas=gas,
        )
        res = self.rpc(via, "broadcast_tx_sync", tx=base64.b64encode(tx).decode())
        assert res["code"] == 0, res
        committed = self.wait_tx(via, hashlib.sha256(tx).hexdigest().upper())
        assert committed["tx_result"]["code"] == 0, committed
        return committed

    def wait_tx(self, i: int, tx_hash: str, timeout: float = WAIT) -> dict[str, Any]:
        import base64

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return dict(
                    self.rpc(i, "tx", hash=base64.b64encode(bytes.fromhex(tx_hash)).decode())
                )
            except RuntimeError:
                time.sleep(0.2)
        raise TimeoutError(f"tx {tx_hash} not committed on node{i} in {timeout}s")

    # -- used by the staking network test -------------------------------------------------

    def validator_set(self, i: int, height: int) -> dict[str, int]:
        """CometBFT's validator set at `height`: {address hex: voting power}."""
        out: dict[str, int] = {}
        page = 1
        while True:
            r = self.rpc(i, "validators", height=str(height), page=str(page), per_page="100")
            out.update({v["address"]: int(v["voting_power"]) for v in r["validators"]})
            if len(out) >= int(r["total"]):
                return out
            page += 1

    def balance_at(self, i: int, address: str, height: int) -> int:
        """`address`'s balance in the state after block `height` (ABCI query through RPC)."""
        import base64

        from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2

        data = query_pb2.QueryBalanceRequest(address=address, denom=DENOM).SerializeToString()
        answer = self.rpc(
            i,
            "abci_query",
            path="/cosmos.bank.v1beta1.Query/Balance",
            data=data.hex(),
            height=str(height),
        )["response"]
        assert answer["code"] == 0 and int(answer["height"]) == height, answer
        value = query_pb2.QueryBalanceResponse.FromString(base64.b64decode(answer["value"] or ""))
        return int(value.balance.amount or "0")

    def wait_caught_up(self, i: int, timeout: float = WAIT) -> int:
        """Until node i no longer catches up and has node 0's height; its height."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                target = self.height(0)  # first: node i must reach what node 0 had then
                sync = self.rpc(i, "status")["sync_info"]
                if not sync["catching_up"] and int(sync["latest_block_height"]) >= target:
                    return int(sync["latest_block_height"])
            except (OSError, RuntimeError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise TimeoutError(
            f"node{i} did not catch up in {timeout}s\n{self.nodes[i].log_text('cometbft', 3000)}"
        )

    def block_time_ns(self, i: int, height: int) -> int:
        from sultan.kernel.timeutil import parse_rfc3339_nano

        header = self.rpc(i, "block", height=str(height))["block"]["header"]
        return parse_rfc3339_nano(header["time"])


def events(tx_result: dict[str, Any], kind: str) -> list[dict[str, str]]:
    """The attributes of each `kind` event of a committed tx (RPC `tx` result)."""
    return [
        {a["key"]: a["value"] for a in e.get("attributes") or []}
        for e in tx_result["tx_result"].get("events") or []
        if e["type"] == kind
    ]


def amount_of(coins_text: str, denom: str = DENOM) -> int:
    """The `denom` amount in an event's coins string ("", "0usultan", "12usultan,3x")."""
    total = 0
    for part in filter(None, coins_text.split(",")):
        if part.endswith(denom) and part[: -len(denom)].isdigit():
            total += int(part[: -len(denom)])
    return total
