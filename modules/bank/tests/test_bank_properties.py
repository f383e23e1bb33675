"""Properties over random traffic: supply is conserved, balances never go negative, and two
independent chains fed the same txs reach the same app hashes."""

from __future__ import annotations

from bank_support import FEE_COLLECTOR, Chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as q

from sultan.testing.wallet import Wallet

WALLETS = [Wallet.from_seed(name) for name in ("p0", "p1", "p2")]
FUNDS = {WALLETS[0]: "5000usultan,300stake", WALLETS[1]: "800usultan", WALLETS[2]: "50usultan"}
DENOMS = ("usultan", "stake")

send = st.tuples(
    st.integers(0, 2),  # sender
    st.integers(0, 3),  # recipient (3 = the blocked fee collector)
    st.sampled_from(DENOMS),
    st.integers(-3, 6000),  # amount (negative, zero and too-large included)
    st.integers(0, 300),  # fee in usultan
    st.booleans(),  # sign with a wrong sequence
)
blocks = st.lists(st.lists(send, min_size=1, max_size=3), min_size=1, max_size=4)


def _amount(denom: str, value: int):
    from sultan.pb.cosmos.base.v1beta1 import coin_pb2

    return [coin_pb2.Coin(denom=denom, amount=str(value))]


def _build_block(chain: Chain, sends) -> list[bytes]:
    txs, used = [], set()
    for sender, recipient, denom, value, fee, bad_seq in sends:
        if sender in used:
            continue  # one tx per sender per block keeps sequences simple
        used.add(sender)
        wallet = WALLETS[sender]
        to = FEE_COLLECTOR if recipient == 3 else WALLETS[recipient].address
        number, seq = chain.seq(wallet)
        txs.append(
            chain.send_tx(
                wallet,
                to,
                _amount(denom, value),
                fee=f"{fee}usultan" if fee else "",
                sequence=seq + 5 if bad_seq else seq,
                account_number=number,
            )
        )
    return txs


def _check_invariants(chain: Chain) -> None:
    holders = [w.address for w in WALLETS] + [FEE_COLLECTOR]
    for denom in DENOMS:
        supply = int(chain.h.query(
            "/cosmos.bank.v1beta1.Query/SupplyOf", q.QuerySupplyOfRequest(denom=denom)
        ).amount.amount)  # fmt: skip
        held = [chain.balance(address, denom) for address in holders]
        assert all(amount >= 0 for amount in held)
        assert sum(held) == supply
    assert chain.supply() == "300stake,5850usultan"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks)
def test_random_sends_conserve_supply_and_never_go_negative(plan):
    with Chain.start(FUNDS) as chain:
        for sends in plan:
            chain.deliver(*_build_block(chain, sends))
            _check_invariants(chain)


def test_two_chains_with_the_same_txs_reach_the_same_app_hash():
    plan = [
        [(0, 1, "usultan", 100, 10, False), (1, 2, "usultan", 20, 5, False)],
        [(0, 3, "stake", 1, 10, False), (2, 0, "usultan", 9999, 1, False)],
        [(1, 0, "usultan", 5, 0, True), (0, 2, "stake", 7, 3, False)],
    ]
    with Chain.start(FUNDS) as one, Chain.start(FUNDS) as two:
        assert one.h.app_hash == two.h.app_hash
        for sends in plan:
            a = one.deliver(*_build_block(one, sends))
            b = two.deliver(*_build_block(two, sends))
            assert [r.code for r in a] == [r.code for r in b]
            assert one.h.app_hash == two.h.app_hash
        assert one.h.export_genesis() == two.h.export_genesis()
