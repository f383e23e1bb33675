"""auth + bank through a real `sultan run`: REST shapes clients parse, and a signed send."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from bank_support import coins
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx

from sultan.testing import NodeProcess, init_home
from sultan.testing.wallet import Wallet

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_send_over_rpc_and_rest_shapes(tmp_path):
    alice, bob = Wallet.from_seed("node-alice"), Wallet.from_seed("node-bob")
    home = init_home(tmp_path / "home", ["auth", "bank"])
    genesis_path = home / "config" / "genesis.json"
    doc = json.loads(genesis_path.read_text())
    doc["app_state"]["bank"]["balances"] = [
        {"address": alice.address, "coins": [{"denom": "usultan", "amount": "1000000"}]}
    ]
    genesis_path.write_text(json.dumps(doc))
    with NodeProcess(home, timeout_commit="100ms") as node:
        status, account = _get(f"{node.rest_url}/cosmos/auth/v1beta1/accounts/{alice.address}")
        assert status == 200, account
        assert account["account"]["@type"] == "/cosmos.auth.v1beta1.BaseAccount"
        assert account["account"]["address"] == alice.address
        number = int(account["account"]["account_number"])
        status, missing = _get(f"{node.rest_url}/cosmos/auth/v1beta1/accounts/{bob.address}")
        assert status != 200 and "not found" in json.dumps(missing)
        msg = bank_tx.MsgSend(
            from_address=alice.address, to_address=bob.address, amount=coins("250usultan")
        )
        tx = alice.sign_tx(
            [msg], sequence=0, account_number=number, chain_id="test-1", fee="500usultan"
        )
        committed = node.rpc("broadcast_tx_commit", tx=base64.b64encode(tx).decode())
        assert committed["check_tx"]["code"] == 0, committed
        assert committed["tx_result"]["code"] == 0, committed
        status, balance = _get(
            f"{node.rest_url}/cosmos/bank/v1beta1/balances/{bob.address}/by_denom?denom=usultan"
        )
        assert status == 200 and balance == {"balance": {"denom": "usultan", "amount": "250"}}
        status, empty = _get(
            f"{node.rest_url}/cosmos/bank/v1beta1/balances/{bob.address}/by_denom?denom=stake"
        )
        assert empty == {"balance": {"denom": "stake", "amount": "0"}}
        status, everything = _get(f"{node.rest_url}/cosmos/bank/v1beta1/balances/{alice.address}")
        assert everything["balances"] == [{"denom": "usultan", "amount": "999250"}]
        found = node.rpc("tx_search", query=f"transfer.recipient='{bob.address}'")
        assert found["total_count"] == "1"
