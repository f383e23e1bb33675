"""The node keeps its genesis' app_state out of memory after InitChain; RPC reads the file."""

from __future__ import annotations

import json
import time

import pytest

from sultan.kernel.genesis import GenesisError
from sultan.kernel.home import init_home
from sultan.node import Node

ADDRESS = "sultan1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc50k3hqe"  # bytes 1..20


def app_state() -> dict:
    return {
        "auth": {
            "accounts": [
                {
                    "@type": "/cosmos.auth.v1beta1.BaseAccount",
                    "address": ADDRESS,
                    "pub_key": None,
                    "account_number": "0",
                    "sequence": "0",
                }
            ]
        },
        "bank": {
            "balances": [{"address": ADDRESS, "coins": [{"denom": "usultan", "amount": "77"}]}]
        },
    }


def balance(node: Node) -> str:
    from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2

    raw, _ = node.app.run_query(
        "/cosmos.bank.v1beta1.Query/Balance",
        query_pb2.QueryBalanceRequest(address=ADDRESS, denom="usultan").SerializeToString(),
    )
    return str(query_pb2.QueryBalanceResponse.FromString(raw).balance.amount)


def test_app_state_is_applied_then_dropped_and_served_from_the_file(tmp_path, monkeypatch) -> None:
    from sultan.kernel.abci.app import Application

    calls = []
    real_init_chain = Application.init_chain

    def counting_init_chain(self, req):  # type: ignore[no-untyped-def]
        calls.append(len(req.app_state_bytes))
        return real_init_chain(self, req)

    monkeypatch.setattr(Application, "init_chain", counting_init_chain)
    home = init_home(
        tmp_path,
        chain_id="genesis-1",
        moniker="g",
        app_state=app_state(),
        plugins_toml_text='modules = ["auth", "bank"]\n',
    )
    node = Node(home).open()
    try:
        node.start()  # bootstraps the engine again: InitChain must not run a second time
        deadline = time.monotonic() + 60
        while node.app.last_height < 2:
            assert time.monotonic() < deadline, "no blocks"
            time.sleep(0.05)
        assert balance(node) == "77"  # InitChain got the app_state, once
        assert len(calls) == 1 and calls[0] > 100
        assert node.genesis.app_state == {}  # ... and the node no longer holds it
        on_disk = json.loads(home.genesis_json.read_text())
        assert node.full_genesis().app_state == on_disk["app_state"]
        assert node.full_genesis().chain_id == node.genesis.chain_id == "genesis-1"
    finally:
        node.close()

    # A restart never needs it: the state is in the database.
    node = Node(home).open()
    try:
        assert node.app.last_height >= 2 and balance(node) == "77"
        home.genesis_json.write_text(home.genesis_json.read_text() + "\n")
        with pytest.raises(GenesisError, match="changed since the node started"):
            node.full_genesis()
    finally:
        node.close()
