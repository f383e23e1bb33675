"""Validator lifecycle: creation, commission rules, the bonded set, redelegation, jailing."""

from __future__ import annotations

from staking_support import HARNESS_KEY, Chain, valoper
from sultan_staking.pb.cosmos.staking.v1beta1 import staking_pb2
from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2 as stx

from sultan.kernel.address import account_string, module_address
from sultan.kernel.crypto.keys import Ed25519PrivKey, pubkey_address
from sultan.testing.wallet import Wallet

KEY_B = Ed25519PrivKey.from_seed(b"\x0b" * 32)
KEY_C = Ed25519PrivKey.from_seed(b"\x0c" * 32)
DEC = 10**18


def _edit(operator: Wallet, rate: int | None = None, min_self: int | None = None) -> object:
    return stx.MsgEditValidator(
        description=staking_pb2.Description(moniker="[do-not-modify]"),
        validator_address=valoper(operator),
        commission_rate=str(rate) if rate is not None else "",
        min_self_delegation=str(min_self) if min_self is not None else "",
    )


def test_create_validator_bonds_and_joins_the_engine_set(chain: Chain, bob: Wallet) -> None:
    result = chain.ok(bob, chain.create_validator(bob, KEY_B, 3_000_000, moniker="bob"))
    assert any(e.type == "create_validator" for e in result.events)
    v = chain.validator(valoper(bob))
    assert v.status == 3 and v.description.moniker == "bob"
    assert v.commission.commission_rates.rate == str(DEC // 10)
    h = chain.h.height
    chain.h.block()
    chain.h.block()
    powers = {x.address: x.voting_power for x in chain.h.engine.blocks.validators(h + 2).validators}
    assert powers[pubkey_address(KEY_B.pub_key)] == 3
    assert powers[pubkey_address(HARNESS_KEY.pub_key)] == 10


def test_create_validator_rejects_bad_input(chain: Chain, bob: Wallet, operator: Wallet) -> None:
    cases = [
        (dict(rate=2 * DEC, max_rate=2 * DEC), "staking", 10),  # > 100%
        (dict(rate=DEC // 2, max_rate=DEC // 5), "staking", 11),  # rate > max rate
        (dict(max_change_rate=DEC // 2, max_rate=DEC // 5), "staking", 14),
        (dict(min_self_delegation=5_000_000), "staking", 16),  # above the bond
    ]
    for kw, codespace, code in cases:
        result = chain.run(bob, chain.create_validator(bob, KEY_B, 3_000_000, **kw))
        assert (result.codespace, result.code) == (codespace, code), result.log
    dup_key = chain.run(bob, chain.create_validator(bob, HARNESS_KEY, 3_000_000))
    assert (dup_key.codespace, dup_key.code) == ("staking", 5)
    dup_operator = chain.run(operator, chain.create_validator(operator, KEY_C, 3_000_000))
    assert (dup_operator.codespace, dup_operator.code) == ("staking", 4)
    assert len(chain.validators()) == 1


def test_commission_changes_at_most_once_a_day_within_max_change(
    chain: Chain, operator: Wallet
) -> None:
    too_soon = chain.run(operator, _edit(operator, rate=DEC // 10 + DEC // 1000))
    assert (too_soon.codespace, too_soon.code) == ("staking", 12)
    assert chain.run(operator, _edit(operator, rate=-1)).code == 18
    assert chain.run(operator, _edit(operator, rate=2 * DEC)).code == 18
    day = 86_400 * 10**9
    chain.h._clock += day  # the harness clock: block times follow the previous commit
    chain.h.block()
    too_far = chain.run(operator, _edit(operator, rate=DEC // 10 + DEC // 50))
    assert (too_far.codespace, too_far.code) == ("staking", 15)
    above_max = chain.run(operator, _edit(operator, rate=DEC // 4))
    assert (above_max.codespace, above_max.code) == ("staking", 11)
    chain.ok(operator, _edit(operator, rate=DEC // 10 + DEC // 100))
    assert chain.validator(valoper(operator)).commission.commission_rates.rate == str(
        DEC // 10 + DEC // 100
    )
    again = chain.run(operator, _edit(operator, rate=DEC // 10))
    assert (again.codespace, again.code) == ("staking", 12)


def test_min_self_delegation_cannot_decrease(chain: Chain, operator: Wallet) -> None:
    raised = chain.ok(operator, _edit(operator, min_self=2))
    assert raised.code == 0
    lowered = chain.run(operator, _edit(operator, min_self=1))
    assert (lowered.codespace, lowered.code) == ("staking", 17)
    above = chain.run(operator, _edit(operator, min_self=10**9))
    assert (above.codespace, above.code) == ("staking", 16)


def test_top_validators_by_power_form_the_bonded_set(operator: Wallet, alice: Wallet) -> None:
    b, c = Wallet.from_seed("val-b"), Wallet.from_seed("val-c")
    funded = {operator: "100000000usultan", b: "10000000usultan", c: "10000000usultan",
              alice: "50000000usultan"}  # fmt: skip
    with Chain.start(funded, operator, max_validators=2) as chain:
        chain.ok(b, chain.create_validator(b, KEY_B, 3_000_000, moniker="b"))
        chain.ok(c, chain.create_validator(c, KEY_C, 2_000_000, moniker="c"))
        assert chain.validator(valoper(c)).status == 1  # unbonded: outside the top 2
        bonded = {v.operator_address for v in chain.validators("BOND_STATUS_BONDED")}
        assert bonded == {valoper(operator), valoper(b)}
        pools = chain.pool()
        assert pools == (2_000_000, 13_000_000)
        # Alice's delegation lifts c above b: c bonds, b starts unbonding.
        chain.ok(alice, chain.delegate(alice, valoper(c), 2_000_000))
        results = chain.h.engine.blocks.results(chain.h.height)
        updates = {u.pub_key.ed25519: u.power for u in results.validator_updates}
        assert updates == {KEY_C.pub_key: 4, KEY_B.pub_key: 0}
        assert chain.validator(valoper(b)).status == 2
        assert chain.pool() == (3_000_000, 14_000_000)
        h = chain.h.height
        chain.h.block()
        chain.h.block()
        addresses = {x.address for x in chain.h.engine.blocks.validators(h + 2).validators}
        assert addresses == {pubkey_address(HARNESS_KEY.pub_key), pubkey_address(KEY_C.pub_key)}
        for _ in range(6):
            chain.h.block()
        assert chain.validator(valoper(b)).status == 1  # unbonding time passed


def test_redelegation_and_its_failures(
    chain: Chain, alice: Wallet, bob: Wallet, operator: Wallet
) -> None:
    chain.ok(bob, chain.create_validator(bob, KEY_B, 3_000_000, moniker="bob"))
    a, b = valoper(operator), valoper(bob)
    chain.ok(alice, chain.delegate(alice, a, 2_000_000))
    result = chain.ok(alice, chain.redelegate(alice, a, b, 500_000))
    assert any(e.type == "redelegate" for e in result.events)
    assert chain.validator(b).tokens == "3500000"
    same = chain.run(alice, chain.redelegate(alice, a, a, 1))
    assert (same.codespace, same.code) == ("staking", 29)
    transitive = chain.run(alice, chain.redelegate(alice, b, a, 100))
    assert (transitive.codespace, transitive.code) == ("staking", 32)
    missing = chain.run(alice, chain.redelegate(alice, a, valoper(alice), 100))
    assert (missing.codespace, missing.code) == ("staking", 31)
    from sultan_staking.pb.cosmos.staking.v1beta1 import query_pb2 as sq

    reds = chain.q(
        "/cosmos.staking.v1beta1.Query/Redelegations",
        sq.QueryRedelegationsRequest(delegator_addr=alice.address),
    ).redelegation_responses
    assert len(reds) == 1 and reds[0].entries[0].balance == "500000"
    for _ in range(7):
        chain.h.block()
    assert chain.run(alice, chain.redelegate(alice, b, a, 100)).code == 0  # matured


def test_operator_below_min_self_delegation_is_jailed(alice: Wallet, operator: Wallet) -> None:
    b = Wallet.from_seed("val-b")
    funded = {operator: "100000000usultan", b: "10000000usultan", alice: "50000000usultan"}
    with Chain.start(funded, operator) as chain:
        chain.ok(b, chain.create_validator(b, KEY_B, 3_000_000, min_self_delegation=2_000_000))
        chain.ok(alice, chain.delegate(alice, valoper(b), 1_000_000))
        chain.ok(b, chain.undelegate(b, valoper(b), 1_500_000))
        v = chain.validator(valoper(b))
        assert v.jailed and v.status == 2
        updates = chain.h.engine.blocks.results(chain.h.height).validator_updates
        assert [(u.pub_key.ed25519, u.power) for u in updates] == [(KEY_B.pub_key, 0)]


def test_update_params_needs_the_gov_authority(chain: Chain, alice: Wallet) -> None:
    from sultan_staking import convert
    from sultan_staking.state import ParamsRecord

    msg = stx.MsgUpdateParams(
        authority=alice.address, params=convert.params_proto(ParamsRecord(max_validators=5))
    )
    result = chain.run(alice, msg)
    assert (result.codespace, result.code) == ("sdk", 4)
    assert "invalid authority" in result.log
    gov = account_string(module_address("gov"))
    assert gov in result.log
