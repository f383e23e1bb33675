"""Unmodified cosmpy 0.12 staking calls against a running PoS node, over REST and gRPC:
query_validators, delegate_tokens, query_staking_summary (with rewards), undelegate_tokens,
with exact balance checks (fees and withdrawn rewards read back from the txs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from conftest import DENOM, GAS_PRICE, SENDER_MNEMONIC, address_of
from interop_env import run_cosmpy
from staking_chain import (
    UNBONDING_SECONDS,
    StakingChain,
    fee_of,
    start_staking_chain,
    withdrawn_rewards,
)

FUNDS = 80_000_000


@pytest.fixture(scope="module")
def staking_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StakingChain]:
    funded = {address_of(SENDER_MNEMONIC): FUNDS}
    yield from start_staking_chain(
        tmp_path_factory.mktemp("staking-cosmpy"), funded, GAS_PRICE, DENOM
    )


def _balance(chain: StakingChain, address: str) -> int:
    import json
    import urllib.request

    url = f"{chain.node.rest_url}/cosmos/bank/v1beta1/balances/{address}/by_denom?denom={DENOM}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return int(json.loads(resp.read())["balance"]["amount"])


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_cosmpy_delegate_summary_undelegate(staking_chain: StakingChain, transport: str) -> None:
    chain = staking_chain
    port = chain.node.rest_port if transport == "rest" else chain.node.grpc_port
    delegate, undelegate = (3_000_000, 1_000_000) if transport == "rest" else (2_000_000, 500_000)
    out = run_cosmpy(
        "cosmpy_staking.py",
        {
            "url": f"{transport}+http://127.0.0.1:{port}",
            "chain_id": chain.chain_id,
            "gas_price": float(GAS_PRICE),
            "denom": DENOM,
            "mnemonic": SENDER_MNEMONIC,
            "validator": chain.validator,
            "delegate": delegate,
            "undelegate": undelegate,
        },
    )
    assert [v["address"] for v in out["validators"]] == [chain.validator]
    assert out["validators"][0]["tokens"] >= 100_000_000
    assert out["validators"][0]["status"] == "BONDED"
    fee_delegate = fee_of(chain, out["delegate_hash"], DENOM)
    paid_out = withdrawn_rewards(chain, out["delegate_hash"], DENOM)  # a second delegation
    assert (transport == "rest") == (paid_out == 0)  # withdraws the pending rewards first
    spent = out["balance_start"] - out["balance_after_delegate"]
    assert spent == delegate + fee_delegate - paid_out
    (position,) = [p for p in out["positions"] if p["validator"] == chain.validator]
    already = 0 if transport == "rest" else 3_000_000 - 1_000_000  # the REST run delegated first
    assert position["amount"] == delegate + already
    assert Decimal(position["reward_dec"]) > 0
    if transport == "rest":  # REST carries decimals; gRPC the 10^-18 atomics
        assert position["reward"] == int(Decimal(position["reward_dec"]))
    else:
        assert (
            position["reward"] == int(Decimal(position["reward_dec"]))
            and position["reward"] > 10**18
        )
    fee_undelegate = fee_of(chain, out["undelegate_hash"], DENOM)
    rewards = withdrawn_rewards(chain, out["undelegate_hash"], DENOM)
    assert rewards > 0  # undelegating withdrew the pending rewards first
    assert (
        out["balance_after_undelegate"] == out["balance_after_delegate"] - fee_undelegate + rewards
    )
    (after,) = out["positions_after"]
    assert after["amount"] == delegate + already - undelegate
    assert sum(u["amount"] for u in out["unbonding"]) >= undelegate
    # the undelegated tokens come back once the unbonding time has passed
    deadline = time.monotonic() + UNBONDING_SECONDS + 20
    target = out["balance_after_undelegate"] + undelegate
    while _balance(chain, out["sender"]) < target and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _balance(chain, out["sender"]) >= target
