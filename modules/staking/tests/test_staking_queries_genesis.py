"""Staking queries (gRPC-style handlers, abci_query, REST JSON) and genesis import/export."""

from __future__ import annotations

import copy

from staking_support import HARNESS_KEY, MODULES, Chain, valoper
from sultan_staking.pb.cosmos.staking.v1beta1 import query_pb2 as sq

from sultan.api.rest import gateway_json
from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2
from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet

S = "/cosmos.staking.v1beta1.Query/"


def test_every_query_answers(chain: Chain, alice: Wallet, operator: Wallet) -> None:
    v = valoper(operator)
    chain.ok(alice, chain.delegate(alice, v, 2_000_000))
    chain.ok(alice, chain.undelegate(alice, v, 500_000))
    d, val = alice.address, v
    answers = {
        "Validators": sq.QueryValidatorsRequest(status="BOND_STATUS_BONDED"),
        "Validator": sq.QueryValidatorRequest(validator_addr=val),
        "ValidatorDelegations": sq.QueryValidatorDelegationsRequest(validator_addr=val),
        "ValidatorUnbondingDelegations": sq.QueryValidatorUnbondingDelegationsRequest(
            validator_addr=val
        ),
        "Delegation": sq.QueryDelegationRequest(delegator_addr=d, validator_addr=val),
        "UnbondingDelegation": sq.QueryUnbondingDelegationRequest(
            delegator_addr=d, validator_addr=val
        ),
        "DelegatorDelegations": sq.QueryDelegatorDelegationsRequest(delegator_addr=d),
        "DelegatorUnbondingDelegations": sq.QueryDelegatorUnbondingDelegationsRequest(
            delegator_addr=d
        ),
        "Redelegations": sq.QueryRedelegationsRequest(delegator_addr=d),
        "DelegatorValidators": sq.QueryDelegatorValidatorsRequest(delegator_addr=d),
        "DelegatorValidator": sq.QueryDelegatorValidatorRequest(
            delegator_addr=d, validator_addr=val
        ),
        "HistoricalInfo": sq.QueryHistoricalInfoRequest(height=chain.h.height),
        "Pool": sq.QueryPoolRequest(),
        "Params": sq.QueryParamsRequest(),
    }
    out = {name: chain.q(S + name, req) for name, req in answers.items()}
    assert len(out["Validators"].validators) == 1
    assert [r.balance.amount for r in out["ValidatorDelegations"].delegation_responses] == [
        "10000000",
        "1500000",
    ] or sorted(r.balance.amount for r in out["ValidatorDelegations"].delegation_responses) == [
        "10000000",
        "1500000",
    ]
    assert out["UnbondingDelegation"].unbond.entries[0].balance == "500000"
    assert out["DelegatorValidators"].validators[0].operator_address == val
    hist = out["HistoricalInfo"].hist
    assert hist.header.height == chain.h.height and hist.header.chain_id == "test-1"
    assert hist.header.app_hash and hist.header.next_validators_hash
    assert [x.operator_address for x in hist.valset] == [val]
    assert out["Pool"].pool.not_bonded_tokens == "500000"
    params = out["Params"].params
    assert params.bond_denom == "usultan" and params.unbonding_time.seconds == 5
    assert params.max_validators == 100 and params.max_entries == 7
    assert params.historical_entries == 10000 and params.min_commission_rate == "0"


def test_missing_delegation_is_not_found_with_key_not_found(
    chain: Chain, alice: Wallet, operator: Wallet
) -> None:
    req = sq.QueryDelegationRequest(delegator_addr=alice.address, validator_addr=valoper(operator))
    response = chain.h.abci_query(S + "Delegation", req.SerializeToString())
    assert response.code == 5
    assert "rpc error: code = NotFound" in response.log and "key not found" in response.log
    bad = chain.h.abci_query(
        S + "Validators", sq.QueryValidatorsRequest(status="nope").SerializeToString()
    )
    assert bad.code == 3 and "invalid validator status nope" in bad.log
    empty = chain.h.abci_query(S + "Validator", sq.QueryValidatorRequest().SerializeToString())
    assert empty.code == 3


def test_validators_pages_with_key_and_filter(operator: Wallet) -> None:
    from staking_support import gentx_for

    from sultan.kernel.crypto.keys import Ed25519PrivKey

    others = [Wallet.from_seed(f"v{i}") for i in range(4)]
    funded = {operator: "100000000usultan", **{w: "10000000usultan" for w in others}}
    extra = [
        gentx_for(w, Ed25519PrivKey.from_seed(bytes([i + 20]) * 32), 1_000_000, f"v{i}")
        for i, w in enumerate(others)
    ]
    with Chain.start(funded, operator, extra_gentxs=extra, max_validators=3) as chain:
        first = chain.q(
            S + "Validators",
            sq.QueryValidatorsRequest(
                pagination=pagination_pb2.PageRequest(limit=2, count_total=True)
            ),
        )
        assert len(first.validators) == 2 and first.pagination.total == 5
        second = chain.q(
            S + "Validators",
            sq.QueryValidatorsRequest(
                pagination=pagination_pb2.PageRequest(key=first.pagination.next_key, limit=10)
            ),
        )
        assert len(second.validators) == 3
        names = {v.operator_address for v in [*first.validators, *second.validators]}
        assert len(names) == 5
        assert len(chain.validators("BOND_STATUS_BONDED")) == 3
        assert len(chain.validators("BOND_STATUS_UNBONDED")) == 2


def test_rest_json_renders_decimals_like_the_sdk_gateway(chain: Chain, operator: Wallet) -> None:
    response = chain.q(S + "Validator", sq.QueryValidatorRequest(validator_addr=valoper(operator)))
    body = gateway_json(response)["validator"]
    assert body["delegator_shares"] == "10000000.000000000000000000"
    assert body["commission"]["commission_rates"]["rate"] == "0.100000000000000000"
    assert body["tokens"] == "10000000"
    assert body["status"] == "BOND_STATUS_BONDED"
    assert body["consensus_pubkey"]["@type"] == "/cosmos.crypto.ed25519.PubKey"
    params = gateway_json(chain.q(S + "Params", sq.QueryParamsRequest()))["params"]
    assert params["min_commission_rate"] == "0.000000000000000000"
    assert params["unbonding_time"] == "5s"


def test_historical_info_keeps_only_historical_entries(operator: Wallet) -> None:
    funded = {operator: "100000000usultan"}
    with Chain.start(funded, operator) as chain:
        chain.h.block()
    # a chain whose params keep 3 entries
    from staking_support import genesis, gentx_for

    app_state = genesis(funded, [gentx_for(operator, HARNESS_KEY, 10_000_000, "h")])
    app_state["staking"]["params"]["historical_entries"] = 3
    with ChainHarness(MODULES, app_state=app_state, chain_id="test-1") as h:
        for _ in range(6):
            h.block()
        found = []
        for height in range(1, h.height + 1):
            r = h.abci_query(
                S + "HistoricalInfo",
                sq.QueryHistoricalInfoRequest(height=height).SerializeToString(),
            )
            found.append(r.code == 0)
        assert found == [False, False, False, True, True, True]


def test_genesis_export_import_round_trips(
    chain: Chain, alice: Wallet, bob: Wallet, operator: Wallet
) -> None:
    from sultan.kernel.crypto.keys import Ed25519PrivKey

    key_b = Ed25519PrivKey.from_seed(b"\x0b" * 32)
    v = valoper(operator)
    chain.ok(bob, chain.create_validator(bob, key_b, 3_000_000, moniker="bob"))
    chain.ok(alice, chain.delegate(alice, v, 2_000_000), fee="500usultan")
    chain.ok(alice, chain.undelegate(alice, v, 300_000), fee="500usultan")
    chain.ok(alice, chain.redelegate(alice, v, valoper(bob), 400_000))
    exported = chain.h.export_genesis()
    assert exported["staking"]["exported"] is True
    assert exported["staking"]["validators"][0]["delegator_shares"].endswith(".000000000000000000")
    with ChainHarness(MODULES, app_state=copy.deepcopy(exported), chain_id="test-1") as again:
        again.block()
        reexported = again.export_genesis()
    for module in ("staking", "bank"):
        assert reexported[module] == exported[module], module
    # distribution allocates the first block's (empty) fees again: compare what must match
    assert (
        reexported["distribution"]["outstanding_rewards"]
        == exported["distribution"]["outstanding_rewards"]
    )
    assert (
        reexported["distribution"]["delegator_starting_infos"]
        == exported["distribution"]["delegator_starting_infos"]
    )


def test_bad_genesis_is_refused(operator: Wallet) -> None:
    import pytest
    from staking_support import genesis, gentx_for

    from sultan.kernel.abci.app import GenesisStateError

    funded = {operator: "100000000usultan"}
    good = gentx_for(operator, HARNESS_KEY, 10_000_000, "h")
    wrong_chain = gentx_for(operator, HARNESS_KEY, 10_000_000, "h", chain_id="other-chain")
    for app_state, text in [
        (genesis(funded, [wrong_chain]), "signature verification failed"),
        (genesis({operator: "5usultan"}, [good]), "insufficient funds"),
        (genesis(funded, [good], unbonding_time="0s"), "unbonding time must be positive"),
    ]:
        with pytest.raises((GenesisStateError, ValueError)) as err:
            ChainHarness(MODULES, app_state=app_state, chain_id="test-1").close()
        assert text in str(err.value)
    zero = genesis(funded, [good])
    zero["staking"]["params"]["historical_entries"] = 0
    with pytest.raises((GenesisStateError, ValueError), match="historical entries"):
        ChainHarness(MODULES, app_state=zero, chain_id="test-1").close()
