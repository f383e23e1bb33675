"""Invariants over random staking/distribution traffic (hypothesis):

- the bonded pool holds exactly the tokens of bonded validators;
- the not-bonded pool holds the tokens of unbonding/unbonded validators plus unbonding
  delegations;
- total supply never changes (no block provision configured);
- a validator's delegator shares equal the sum of its delegations' shares;
- rewards never overdraw: the distribution account covers outstanding rewards plus the
  community pool, and each validator's outstanding rewards cover its commission plus what
  its delegators can withdraw.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from staking_support import BONDED_POOL, DISTRIBUTION, NOT_BONDED_POOL, Chain, valoper
from sultan_distribution.pb.cosmos.distribution.v1beta1 import query_pb2 as dq
from sultan_distribution.pb.cosmos.distribution.v1beta1 import tx_pb2 as dtx
from sultan_staking.pb.cosmos.staking.v1beta1 import query_pb2 as sq

from sultan.kernel.crypto.keys import Ed25519PrivKey
from sultan.kernel.legacydec import DecCoins
from sultan.testing.wallet import Wallet

OPERATOR = Wallet.from_seed("operator")
VAL_B = Wallet.from_seed("prop-val-b")
DELEGATORS = [Wallet.from_seed(f"prop-d{i}") for i in range(3)]
KEY_B = Ed25519PrivKey.from_seed(b"\x0b" * 32)
FUNDS = {OPERATOR: "100000000usultan", VAL_B: "20000000usultan"} | {
    w: "30000000usultan" for w in DELEGATORS
}

action = st.tuples(
    st.sampled_from(["delegate", "undelegate", "redelegate", "withdraw", "commission", "idle"]),
    st.integers(0, 2),  # delegator
    st.integers(0, 1),  # validator (0 = genesis operator, 1 = b)
    st.integers(-5, 8_000_000),  # amount (zero, negative and too large included)
    st.integers(0, 50_000),  # fee in usultan
)
plans = st.lists(action, min_size=1, max_size=12)


def _msg(chain: Chain, kind: str, who: Wallet, val: int, amount: int) -> object:
    ops = [valoper(OPERATOR), valoper(VAL_B)]
    v = ops[val]
    if kind == "delegate":
        msg = chain.delegate(who, v, 1)
        msg.amount.amount = str(amount)  # zero and negative amounts must fail cleanly
        return msg
    if kind == "undelegate":
        return chain.undelegate(who, v, max(amount // 4, 0))
    if kind == "redelegate":
        return chain.redelegate(who, v, ops[1 - val], max(amount // 4, 0))
    if kind == "withdraw":
        return dtx.MsgWithdrawDelegatorReward(delegator_address=who.address, validator_address=v)
    return dtx.MsgWithdrawValidatorCommission(validator_address=v)


def _check(chain: Chain, supply: int) -> None:
    vals = chain.validators()
    bonded = sum(int(v.tokens) for v in vals if v.status == 3)
    not_bonded = sum(int(v.tokens) for v in vals if v.status != 3)
    ubds = 0
    for w in [*DELEGATORS, OPERATOR, VAL_B]:
        r = chain.q(
            "/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations",
            sq.QueryDelegatorUnbondingDelegationsRequest(delegator_addr=w.address),
        )
        ubds += sum(int(e.balance) for u in r.unbonding_responses for e in u.entries)
    assert chain.balance(BONDED_POOL) == bonded
    assert chain.balance(NOT_BONDED_POOL) == not_bonded + ubds
    assert chain.supply() == supply
    owed_total = DecCoins()
    for v in vals:
        dels = chain.q(
            "/cosmos.staking.v1beta1.Query/ValidatorDelegations",
            sq.QueryValidatorDelegationsRequest(validator_addr=v.operator_address),
        ).delegation_responses
        assert sum(int(d.delegation.shares) for d in dels) == int(v.delegator_shares)
        outstanding = DecCoins.from_proto(
            chain.q(
                "/cosmos.distribution.v1beta1.Query/ValidatorOutstandingRewards",
                dq.QueryValidatorOutstandingRewardsRequest(validator_address=v.operator_address),
            ).rewards.rewards
        )
        owed = DecCoins.from_proto(
            chain.q(
                "/cosmos.distribution.v1beta1.Query/ValidatorCommission",
                dq.QueryValidatorCommissionRequest(validator_address=v.operator_address),
            ).commission.commission
        )
        for d in dels:
            owed = owed + DecCoins.from_proto(
                chain.q(
                    "/cosmos.distribution.v1beta1.Query/DelegationRewards",
                    dq.QueryDelegationRewardsRequest(
                        delegator_address=d.delegation.delegator_address,
                        validator_address=v.operator_address,
                    ),
                ).rewards
            )
        assert outstanding.amount_of("usultan") >= owed.amount_of("usultan")
        owed_total = owed_total + outstanding
    pool = DecCoins.from_proto(
        chain.q(
            "/cosmos.distribution.v1beta1.Query/CommunityPool", dq.QueryCommunityPoolRequest()
        ).pool
    )
    holdings, _ = (owed_total + pool).truncate_decimal()
    assert chain.balance(DISTRIBUTION) >= holdings.amount_of("usultan")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans)
def test_random_staking_traffic_keeps_the_invariants(plan):
    with Chain.start(FUNDS, OPERATOR, unbonding_time="3s") as chain:
        chain.ok(VAL_B, chain.create_validator(VAL_B, KEY_B, 5_000_000, moniker="b"))
        supply = chain.supply()
        for kind, who, val, amount, fee in plan:
            if kind == "idle":
                chain.h.block()
            else:
                wallet = DELEGATORS[who] if kind != "commission" else [OPERATOR, VAL_B][val]
                msg = _msg(chain, kind, wallet, val, amount)
                chain.run(wallet, msg, fee=f"{fee}usultan" if fee else "")
            _check(chain, supply)
