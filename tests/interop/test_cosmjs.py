"""Unmodified CosmJS @cosmjs/stargate (its own node_modules) against the node's CometBFT RPC."""

from __future__ import annotations

import json
import urllib.request

from conftest import DENOM, GAS_PRICE, JS_SENDER_MNEMONIC
from interop_env import run_cosmjs

from sultan.kernel.address import account_string


def test_cosmjs_wallet_flow(chain):
    recipient = account_string(b"\x42" * 20)
    unknown = account_string(b"\x43" * 20)
    out = run_cosmjs(
        "cosmjs_scenario.mjs",
        {
            "scenario": "send",
            "rpc": chain.node.rpc_url,
            "mnemonic": JS_SENDER_MNEMONIC,
            "to": recipient,
            "unknown": unknown,
            "amount": 4242,
            "denom": DENOM,
            "gas_price": GAS_PRICE,
            "memo": "from cosmjs",
        },
    )
    assert out["chain_id"] == chain.chain_id and out["height"] > 0
    assert out["tx_code"] == 0 and out["get_tx_found"] is True
    assert out["tx_hash"] in out["search_hashes"]
    with urllib.request.urlopen(
        f"{chain.node.rest_url}/cosmos/tx/v1beta1/txs/{out['tx_hash']}", timeout=10
    ) as resp:
        fee = int(json.loads(resp.read())["tx"]["auth_info"]["fee"]["amount"][0]["amount"])
    assert int(out["sender_before"]) - int(out["sender_after"]) == 4242 + fee
    assert int(out["recipient_after"]) - int(out["recipient_before"]) == 4242
    assert out["sequence_after"] >= 1
    assert out["unknown_account"] is None


def test_cosmjs_insufficient_funds_is_reported_and_only_the_fee_is_kept(chain):
    out = run_cosmjs(
        "cosmjs_scenario.mjs",
        {
            "scenario": "negative",
            "rpc": chain.node.rpc_url,
            "mnemonic": JS_SENDER_MNEMONIC,
            "to": account_string(b"\x44" * 20),
            "too_much": 10**15,
            "denom": DENOM,
            "gas_price": GAS_PRICE,
        },
    )
    assert out["code"] == 5 and "insufficient funds" in out["raw_log"]
    # The failed send keeps only the fee, as in the Cosmos SDK.
    assert int(out["sender_before"]) - int(out["sender_after"]) == 5000
