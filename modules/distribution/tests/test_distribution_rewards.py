"""Fee allocation and F1 rewards, exact to the last 10^-18 unit."""

from __future__ import annotations

from staking_support import DISTRIBUTION, FEE_COLLECTOR, Chain, valoper
from sultan_distribution.pb.cosmos.distribution.v1beta1 import query_pb2 as dq
from sultan_distribution.pb.cosmos.distribution.v1beta1 import tx_pb2 as dtx

from sultan.kernel.legacydec import DecCoins
from sultan.testing.wallet import Wallet

D = "/cosmos.distribution.v1beta1.Query/"
DEC = 10**18


def _rewards(chain: Chain, delegator: Wallet, operator: Wallet) -> int:
    r = chain.q(
        D + "DelegationRewards",
        dq.QueryDelegationRewardsRequest(
            delegator_address=delegator.address, validator_address=valoper(operator)
        ),
    )
    return DecCoins.from_proto(r.rewards).amount_of("usultan")


def _pool(chain: Chain) -> int:
    r = chain.q(D + "CommunityPool", dq.QueryCommunityPoolRequest())
    return DecCoins.from_proto(r.pool).amount_of("usultan")


def _noop(wallet: Wallet) -> object:
    return dtx.MsgSetWithdrawAddress(
        delegator_address=wallet.address, withdraw_address=wallet.address
    )


def test_fees_split_into_tax_commission_and_delegator_rewards(
    chain: Chain, alice: Wallet, operator: Wallet
) -> None:
    chain.ok(alice, chain.delegate(alice, valoper(operator), 10_000_000))
    chain.ok(alice, _noop(alice), fee="10000usultan")  # fees of this block...
    assert chain.balance(FEE_COLLECTOR) == 10_000
    chain.h.block()  # ...are allocated in the next block's BeginBlock
    assert chain.balance(FEE_COLLECTOR) == 0
    assert chain.balance(DISTRIBUTION) == 10_000
    # 2% community tax, 10% commission, the rest split 50/50 by stake
    assert _pool(chain) == 200 * DEC
    commission = chain.q(
        D + "ValidatorCommission",
        dq.QueryValidatorCommissionRequest(validator_address=valoper(operator)),
    ).commission.commission
    assert DecCoins.from_proto(commission).amount_of("usultan") == 980 * DEC
    assert _rewards(chain, alice, operator) == 4410 * DEC
    assert _rewards(chain, operator, operator) == 4410 * DEC
    total = chain.q(
        D + "DelegationTotalRewards",
        dq.QueryDelegationTotalRewardsRequest(delegator_address=alice.address),
    )
    assert DecCoins.from_proto(total.total).amount_of("usultan") == 4410 * DEC
    before = chain.balance(alice.address)
    result = chain.ok(
        alice,
        dtx.MsgWithdrawDelegatorReward(
            delegator_address=alice.address, validator_address=valoper(operator)
        ),
    )
    assert chain.balance(alice.address) == before + 4410
    event = next(e for e in result.events if e.type == "withdraw_rewards")
    assert {a.key: a.value for a in event.attributes}["amount"] == "4410usultan"
    before = chain.balance(operator.address)
    chain.ok(operator, dtx.MsgWithdrawValidatorCommission(validator_address=valoper(operator)))
    assert chain.balance(operator.address) == before + 980
    empty = chain.run(
        operator, dtx.MsgWithdrawValidatorCommission(validator_address=valoper(operator))
    )
    assert (empty.codespace, empty.code) == ("distribution", 7)


def test_delegating_withdraws_pending_rewards_first(
    chain: Chain, alice: Wallet, operator: Wallet
) -> None:
    v = valoper(operator)
    chain.ok(alice, chain.delegate(alice, v, 10_000_000))
    chain.ok(alice, _noop(alice), fee="10000usultan")
    chain.h.block()
    before = chain.balance(alice.address)
    chain.ok(alice, chain.delegate(alice, v, 1_000_000))
    assert chain.balance(alice.address) == before - 1_000_000 + 4410
    assert _rewards(chain, alice, operator) == 0
    before = chain.balance(alice.address)
    chain.ok(alice, chain.undelegate(alice, v, 1_000_000))  # nothing accrued since
    assert chain.balance(alice.address) == before


def test_withdraw_address_receives_rewards(
    chain: Chain, alice: Wallet, bob: Wallet, operator: Wallet
) -> None:
    v = valoper(operator)
    chain.ok(alice, chain.delegate(alice, v, 10_000_000))
    chain.ok(
        alice,
        dtx.MsgSetWithdrawAddress(delegator_address=alice.address, withdraw_address=bob.address),
        fee="10000usultan",
    )
    got = chain.q(
        D + "DelegatorWithdrawAddress",
        dq.QueryDelegatorWithdrawAddressRequest(delegator_address=alice.address),
    )
    assert got.withdraw_address == bob.address
    chain.h.block()
    bob_before = chain.balance(bob.address)
    chain.ok(
        alice, dtx.MsgWithdrawDelegatorReward(delegator_address=alice.address, validator_address=v)
    )
    assert chain.balance(bob.address) == bob_before + 4410
    blocked = chain.run(
        alice,
        dtx.MsgSetWithdrawAddress(delegator_address=alice.address, withdraw_address=DISTRIBUTION),
    )
    assert (blocked.codespace, blocked.code) == ("sdk", 4)


def test_withdraw_errors(chain: Chain, alice: Wallet, operator: Wallet, bob: Wallet) -> None:
    no_delegation = chain.run(
        alice,
        dtx.MsgWithdrawDelegatorReward(
            delegator_address=alice.address, validator_address=valoper(operator)
        ),
    )
    assert (no_delegation.codespace, no_delegation.code) == ("distribution", 5)
    no_validator = chain.run(
        alice,
        dtx.MsgWithdrawDelegatorReward(
            delegator_address=alice.address, validator_address=valoper(bob)
        ),
    )
    assert (no_validator.codespace, no_validator.code) == ("distribution", 6)


def test_fund_community_pool(chain: Chain, alice: Wallet) -> None:
    from staking_support import coin

    chain.ok(alice, dtx.MsgFundCommunityPool(amount=[coin(12345)], depositor=alice.address))
    assert _pool(chain) == 12345 * DEC
    too_much = chain.run(
        alice, dtx.MsgFundCommunityPool(amount=[coin(10**15)], depositor=alice.address)
    )
    assert (too_much.codespace, too_much.code) == ("sdk", 5)


def test_rewards_never_drift_over_many_blocks(
    chain: Chain, alice: Wallet, bob: Wallet, operator: Wallet
) -> None:
    """Everything collected = community pool + outstanding + withdrawn, exactly."""
    v = valoper(operator)
    chain.ok(alice, chain.delegate(alice, v, 3_333_333))
    chain.ok(bob, chain.delegate(bob, v, 7_777_777))
    fees = 0
    withdrawn = 0
    for i in range(25):
        fee = 1 + (i * 7919) % 3001
        who = alice if i % 2 else bob
        before = chain.balance(who.address)
        if i % 5 == 4:
            msg = dtx.MsgWithdrawDelegatorReward(delegator_address=who.address, validator_address=v)
        else:
            msg = chain.delegate(who, v, 1 + i)
        chain.ok(who, msg, fee=f"{fee}usultan")
        fees += fee
        if i % 5 == 4:
            withdrawn += chain.balance(who.address) - before + fee
        else:
            withdrawn += chain.balance(who.address) - before + fee + 1 + i
    chain.h.block()
    outstanding = DecCoins.from_proto(
        chain.q(
            D + "ValidatorOutstandingRewards",
            dq.QueryValidatorOutstandingRewardsRequest(validator_address=v),
        ).rewards.rewards
    ).amount_of("usultan")
    assert fees * DEC == _pool(chain) + outstanding + withdrawn * DEC
    assert chain.balance(DISTRIBUTION) * DEC <= _pool(chain) + outstanding + DEC
    owed = sum(_rewards(chain, w, operator) for w in (alice, bob, operator))
    commission = DecCoins.from_proto(
        chain.q(
            D + "ValidatorCommission", dq.QueryValidatorCommissionRequest(validator_address=v)
        ).commission.commission
    ).amount_of("usultan")
    assert owed + commission <= outstanding


def test_block_provision_is_minted_and_distributed(operator: Wallet) -> None:
    funded = {operator: "100000000usultan"}
    provision = {"block_provision": [{"denom": "usultan", "amount": "1000"}]}
    with Chain.start(funded, operator, distribution=provision) as chain:
        supply = chain.supply()
        chain.h.block()
        chain.h.block()
        assert chain.supply() == supply + 2000
        assert _rewards(chain, operator, operator) > 0
        params = chain.q(D + "Params", dq.QueryParamsRequest()).params
        assert params.community_tax == str(2 * DEC // 100) and params.withdraw_addr_enabled
