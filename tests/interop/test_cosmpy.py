"""Unmodified cosmpy 0.12 (its own venv) against a running node, over REST and over gRPC."""

from __future__ import annotations

import json
import urllib.request

import pytest
from conftest import DENOM, FUNDS, GAS_PRICE, SENDER_MNEMONIC, address_of
from interop_env import run_cosmpy

RECIPIENT_MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def fee_of(chain, tx_hash: str) -> int:
    with urllib.request.urlopen(
        f"{chain.node.rest_url}/cosmos/tx/v1beta1/txs/{tx_hash}", timeout=10
    ) as resp:
        body = json.loads(resp.read())
    (coin,) = body["tx"]["auth_info"]["fee"]["amount"]
    assert coin["denom"] == DENOM
    return int(coin["amount"])


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_cosmpy_send_moves_exact_amounts(chain, transport):
    port = chain.node.rest_port if transport == "rest" else chain.node.grpc_port
    recipient = address_of(RECIPIENT_MNEMONIC)
    amount = 123_457 if transport == "rest" else 98_765
    out = run_cosmpy(
        "cosmpy_scenario.py",
        {
            "scenario": "send",
            "url": f"{transport}+http://127.0.0.1:{port}",
            "chain_id": chain.chain_id,
            "gas_price": float(GAS_PRICE),
            "denom": DENOM,
            "mnemonic": SENDER_MNEMONIC,
            "to": recipient,
            "amount": amount,
            "memo": f"cosmpy over {transport}",
        },
    )
    assert out["chain_id"] == chain.chain_id and out["height"] > 0
    assert out["tx_code"] == 0 and out["tx_height"] > 0
    fee = fee_of(chain, out["tx_hash"])
    assert fee > 0
    assert out["sender_before"] - out["sender_after"] == amount + fee
    assert out["recipient_after"] - out["recipient_before"] == amount
    assert out["sequence_after"] == out["sequence_before"] + 1
    assert out["sender_before"] <= FUNDS


def test_cosmpy_sees_cosmos_errors_and_nothing_changes(chain):
    out = run_cosmpy(
        "cosmpy_scenario.py",
        {
            "scenario": "negative",
            "url": f"rest+http://127.0.0.1:{chain.node.rest_port}",
            "chain_id": chain.chain_id,
            "gas_price": float(GAS_PRICE),
            "denom": DENOM,
            "mnemonic": SENDER_MNEMONIC,
            "to": address_of(RECIPIENT_MNEMONIC),
            "too_much": FUNDS * 10,
        },
    )
    assert "account sequence mismatch" in out["wrong_sequence"]
    assert "insufficient funds" in out["insufficient_funds"]
    assert out["sequence_after"] == out["sequence_before"]
