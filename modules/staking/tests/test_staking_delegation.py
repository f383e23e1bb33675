"""Delegation, unbonding and redelegation through signed txs, and the pool accounting."""

from __future__ import annotations

from staking_support import BONDED_POOL, NOT_BONDED_POOL, Chain, valoper
from sultan_staking.pb.cosmos.staking.v1beta1 import query_pb2 as sq

from sultan.testing.wallet import Wallet


def test_genesis_validator_is_bonded_from_block_one(chain: Chain, operator: Wallet) -> None:
    (v,) = chain.validators()
    assert v.operator_address == valoper(operator)
    assert v.status == 3 and v.tokens == "10000000"
    assert v.delegator_shares == str(10_000_000 * 10**18)
    assert chain.pool() == (0, 10_000_000)
    assert chain.balance(BONDED_POOL) == 10_000_000
    (engine_val,) = chain.h.engine.blocks.validators(1).validators
    assert engine_val.voting_power == 10


def test_delegate_moves_tokens_to_bonded_pool_and_issues_shares(
    chain: Chain, alice: Wallet, operator: Wallet
) -> None:
    before = chain.balance(alice.address)
    result = chain.ok(alice, chain.delegate(alice, valoper(operator), 5_000_000))
    events = {e.type: {a.key: a.value for a in e.attributes} for e in result.events}
    assert events["delegate"]["amount"] == "5000000usultan"
    assert events["delegate"]["new_shares"] == "5000000.000000000000000000"
    assert chain.balance(alice.address) == before - 5_000_000
    assert chain.pool() == (0, 15_000_000)
    d = chain.q(
        "/cosmos.staking.v1beta1.Query/Delegation",
        sq.QueryDelegationRequest(delegator_addr=alice.address, validator_addr=valoper(operator)),
    ).delegation_response
    assert d.balance.amount == "5000000" and d.delegation.shares == str(5_000_000 * 10**18)


def test_power_change_reaches_engine_validator_set_two_blocks_later(
    chain: Chain, alice: Wallet, operator: Wallet
) -> None:
    blocks = chain.h.engine.blocks
    chain.ok(alice, chain.delegate(alice, valoper(operator), 5_000_000))
    h = chain.h.height
    results = blocks.results(h)
    assert [u.power for u in results.validator_updates] == [15]
    assert blocks.validators(h + 1).validators[0].voting_power == 10
    assert blocks.validators(h + 2).validators[0].voting_power == 15
    chain.h.block()
    chain.h.block()
    header_now = blocks.block(h + 2).header
    header_before = blocks.block(h + 1).header
    assert header_now.validators_hash != header_before.validators_hash
    assert header_before.next_validators_hash == header_now.validators_hash


def test_bad_delegations_fail_cleanly_and_change_nothing(
    chain: Chain, alice: Wallet, operator: Wallet, bob: Wallet
) -> None:
    v = valoper(operator)
    missing = valoper(bob)
    cases = [
        (chain.delegate(alice, v, 10**12), "sdk", 5),  # more than the balance
        (chain.delegate(alice, missing, 1000), "staking", 3),  # no such validator
        (chain.delegate(alice, v, 0), "sdk", 18),  # zero amount
        (chain.delegate(alice, v, 100, denom="stake"), "sdk", 18),  # wrong denom
        (chain.undelegate(alice, v, 100), "staking", 19),  # nothing delegated
    ]
    for msg, codespace, code in cases:
        balance, pools = chain.balance(alice.address), chain.pool()
        result = chain.run(alice, msg)
        assert (result.codespace, result.code) == (codespace, code), result.log
        assert chain.balance(alice.address) == balance
        assert chain.pool() == pools
    negative = chain.delegate(alice, v, 1)
    negative.amount.amount = "-5"
    assert chain.run(alice, negative).code == 18
    wrong = chain.delegate(alice, v, 1000)
    wrong.validator_address = "sultanvaloper1invalid"
    assert (chain.run(alice, wrong).code) == 7


def test_undelegated_tokens_return_after_unbonding_time(
    chain: Chain, alice: Wallet, operator: Wallet
) -> None:
    v = valoper(operator)
    chain.ok(alice, chain.delegate(alice, v, 4_000_000))
    start = chain.balance(alice.address)
    result = chain.ok(alice, chain.undelegate(alice, v, 1_500_000))
    unbond = next(e for e in result.events if e.type == "unbond")
    assert {a.key: a.value for a in unbond.attributes}["amount"] == "1500000usultan"
    assert chain.pool() == (1_500_000, 12_500_000)
    ubd = chain.q(
        "/cosmos.staking.v1beta1.Query/UnbondingDelegation",
        sq.QueryUnbondingDelegationRequest(delegator_addr=alice.address, validator_addr=v),
    ).unbond
    assert [e.balance for e in ubd.entries] == ["1500000"]
    # unbonding_time is 5 s and each harness block is 1 s: not back after 3 blocks...
    for _ in range(3):
        chain.h.block()
    assert chain.balance(alice.address) == start
    # ...but back after the completion time has passed.
    completed = []
    for _ in range(3):
        block = chain.h.block()
        completed += [e for e in block.results.events if e.type == "complete_unbonding"]
    assert chain.balance(alice.address) == start + 1_500_000
    assert chain.pool() == (0, 12_500_000)
    assert chain.balance(NOT_BONDED_POOL) == 0
    assert len(completed) == 1
    response = chain.q(
        "/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations",
        sq.QueryDelegatorUnbondingDelegationsRequest(delegator_addr=alice.address),
    )
    assert list(response.unbonding_responses) == []


def test_too_many_unbonding_entries_are_refused(alice: Wallet, operator: Wallet) -> None:
    funded = {operator: "100000000usultan", alice: "50000000usultan"}
    with Chain.start(funded, operator, unbonding_time="1000s") as chain:
        v = valoper(operator)
        chain.ok(alice, chain.delegate(alice, v, 1_000_000))
        for _ in range(7):  # max_entries, one entry per block
            chain.ok(alice, chain.undelegate(alice, v, 10))
        result = chain.run(alice, chain.undelegate(alice, v, 10))
        assert (result.codespace, result.code) == ("staking", 27)


def test_undelegating_more_than_delegated_is_refused(
    chain: Chain, alice: Wallet, operator: Wallet
) -> None:
    v = valoper(operator)
    chain.ok(alice, chain.delegate(alice, v, 1_000))
    result = chain.run(alice, chain.undelegate(alice, v, 1_001))
    assert (result.codespace, result.code) == ("sdk", 18)
    assert "invalid shares amount" in result.log


def test_cancel_unbonding_delegates_back(chain: Chain, alice: Wallet, operator: Wallet) -> None:
    from staking_support import coin
    from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2

    v = valoper(operator)
    chain.ok(alice, chain.delegate(alice, v, 1_000_000))
    chain.ok(alice, chain.undelegate(alice, v, 400_000))
    height = chain.h.height
    msg = tx_pb2.MsgCancelUnbondingDelegation(
        delegator_address=alice.address,
        validator_address=v,
        amount=coin(100_000),
        creation_height=height,
    )
    chain.ok(alice, msg)
    assert chain.pool() == (300_000, 10_700_000)
    too_much = tx_pb2.MsgCancelUnbondingDelegation(
        delegator_address=alice.address,
        validator_address=v,
        amount=coin(300_001),
        creation_height=height,
    )
    assert chain.run(alice, too_much).code == 18
    wrong_height = tx_pb2.MsgCancelUnbondingDelegation(
        delegator_address=alice.address,
        validator_address=v,
        amount=coin(1),
        creation_height=height + 100,
    )
    assert chain.run(alice, wrong_height).code == 38
