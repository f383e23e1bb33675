"""Staking through a real `sultan run`: `sultan init` makes a proof-of-stake chain, a
delegation changes the validator's power in RPC `validators`, and the CLI commands work."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.request

import pytest
from staking_support import coin
from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2 as stx

from sultan.client.keyring import Keyring
from sultan.kernel.address import VALIDATOR_CODEC
from sultan.testing import NodeProcess, init_home

pytestmark = pytest.mark.slow
MODULES = ["auth", "bank", "staking", "distribution"]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _power(node: NodeProcess) -> int:
    (v,) = node.rpc("validators")["validators"]
    return int(v["voting_power"])


def test_init_makes_a_pos_chain_and_delegation_changes_rpc_validators(tmp_path):
    home = init_home(tmp_path / "home", MODULES)
    doc = json.loads((home / "config" / "genesis.json").read_text())
    assert len(doc["app_state"]["staking"]["gen_txs"]) == 1
    assert doc["validators"][0]["power"] == "100"
    operator = Keyring(home, "test").signer("validator")
    valoper = VALIDATOR_CODEC.to_string(operator.address_bytes)
    with NodeProcess(home, timeout_commit="100ms") as node:
        assert _power(node) == 100
        vals = _get(f"{node.rest_url}/cosmos/staking/v1beta1/validators?status=BOND_STATUS_BONDED")
        assert [v["operator_address"] for v in vals["validators"]] == [valoper]
        account = _get(f"{node.rest_url}/cosmos/auth/v1beta1/accounts/{operator.address}")
        number = int(account["account"]["account_number"])
        msg = stx.MsgDelegate(
            delegator_address=operator.address, validator_address=valoper, amount=coin(50_000_000)
        )
        tx = operator.sign_tx([msg], sequence=0, account_number=number, chain_id="test-1")
        committed = node.rpc("broadcast_tx_commit", tx=base64.b64encode(tx).decode())
        assert committed["tx_result"]["code"] == 0, committed
        height = int(committed["height"])
        node.wait_for_height(height + 2)
        assert _power(node) == 150
        before = node.rpc("validators", height=str(height + 1))["validators"][0]["voting_power"]
        assert before == "100"
        blocks = [
            node.rpc("block", height=str(h))["block"]["header"] for h in (height + 1, height + 2)
        ]
        assert blocks[0]["validators_hash"] != blocks[1]["validators_hash"]
        # the staking CLI against the running node
        out = subprocess.run(
            [sys.executable, "-m", "sultan.cli.main", "query", "staking", "validator", valoper,
             "--node", node.rpc_url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["validator"]["tokens"] == "150000000"
        unbond = subprocess.run(
            [sys.executable, "-m", "sultan.cli.main", "tx", "staking", "unbond", valoper,
             "10000000usultan", "--from", "validator", "--home", str(home),
             "--keyring-backend", "test", "--node", node.rpc_url, "--yes"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert unbond.returncode == 0, unbond.stdout + unbond.stderr
        deadline = time.monotonic() + 30
        while _power(node) != 140 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _power(node) == 140
