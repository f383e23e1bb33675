"""Unmodified CosmJS 0.32 staking calls (delegateTokens, withdrawRewards, undelegateTokens,
getDelegation) against a running PoS node, with exact balance checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import DENOM, GAS_PRICE, JS_SENDER_MNEMONIC, address_of
from interop_env import run_cosmjs
from staking_chain import StakingChain, fee_of, start_staking_chain, withdrawn_rewards

FUNDS = 80_000_000


@pytest.fixture(scope="module")
def staking_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StakingChain]:
    funded = {address_of(JS_SENDER_MNEMONIC): FUNDS}
    yield from start_staking_chain(
        tmp_path_factory.mktemp("staking-cosmjs"), funded, GAS_PRICE, DENOM
    )


def test_cosmjs_delegate_withdraw_undelegate(staking_chain: StakingChain) -> None:
    chain = staking_chain
    out = run_cosmjs(
        "cosmjs_staking.mjs",
        {
            "rpc": chain.node.rpc_url,
            "gas_price": GAS_PRICE,
            "denom": DENOM,
            "mnemonic": JS_SENDER_MNEMONIC,
            "validator": chain.validator,
            "delegate": 4_000_000,
            "undelegate": 1_500_000,
        },
    )
    assert out["missing_delegation"] is None  # "key not found" → null, as CosmJS expects
    assert out["delegate"]["code"] == 0
    start = int(out["balance_start"])
    after_delegate = int(out["balance_after_delegate"])
    assert start - after_delegate == 4_000_000 + fee_of(chain, out["delegate"]["hash"], DENOM)
    assert out["delegation"] == {"denom": DENOM, "amount": "4000000"}
    assert out["withdraw"]["code"] == 0
    reward = withdrawn_rewards(chain, out["withdraw"]["hash"], DENOM)
    assert reward > 0
    after_withdraw = int(out["balance_after_withdraw"])
    assert after_withdraw == after_delegate + reward - fee_of(chain, out["withdraw"]["hash"], DENOM)
    assert out["undelegate"]["code"] == 0
    reward2 = withdrawn_rewards(chain, out["undelegate"]["hash"], DENOM)
    fee = fee_of(chain, out["undelegate"]["hash"], DENOM)
    assert int(out["balance_after_undelegate"]) == after_withdraw + reward2 - fee
    assert out["delegation_after"] == {"denom": DENOM, "amount": "2500000"}
