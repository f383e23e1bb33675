"""Bank queries (balances, supply, metadata, owners, pagination) and genesis import/export."""

from __future__ import annotations

import json

import pytest
from bank_support import CHAIN_ID, Chain, genesis
from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as q

from sultan import QueryError
from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2
from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet

BANK = "/cosmos.bank.v1beta1.Query/"

METADATA = {
    "description": "The native token",
    "denom_units": [
        {"denom": "usultan", "exponent": 0, "aliases": ["microsultan"]},
        {"denom": "sultan", "exponent": 6, "aliases": []},
    ],
    "base": "usultan",
    "display": "sultan",
    "name": "Sultan",
    "symbol": "SLT",
    "uri": "",
    "uri_hash": "",
}


def test_balance_of_an_empty_account_returns_the_denom_with_zero(chain):
    nobody = Wallet.from_seed("nobody").address
    res = chain.h.query(BANK + "Balance", q.QueryBalanceRequest(address=nobody, denom="usultan"))
    assert (res.balance.denom, res.balance.amount) == ("usultan", "0")
    spend = chain.h.query(
        BANK + "SpendableBalanceByDenom",
        q.QuerySpendableBalanceByDenomRequest(address=nobody, denom="usultan"),
    )
    assert spend.balance.amount == "0"


def test_balance_query_rejects_bad_address_and_denom(chain, alice):
    with pytest.raises(QueryError) as err:
        chain.h.query(
            BANK + "Balance", q.QueryBalanceRequest(address="cosmos1xyz", denom="usultan")
        )
    assert err.value.status == "InvalidArgument"
    with pytest.raises(QueryError, match="invalid denom"):
        chain.h.query(BANK + "Balance", q.QueryBalanceRequest(address=alice.address, denom="x"))


def test_abci_query_renders_errors_as_grpc_status(chain):
    response = chain.h.abci_query(
        BANK + "Balance", q.QueryBalanceRequest(address="bad", denom="usultan").SerializeToString()
    )
    assert response.code != 0
    assert response.log.startswith("rpc error: code = InvalidArgument desc = ")


def test_all_balances_paginates_by_key_and_offset():
    rich = Wallet.from_seed("rich")
    denoms = [f"tok{i:02d}" for i in range(7)]
    with Chain.start({rich: ",".join(f"{i + 1}{d}" for i, d in enumerate(denoms))}) as chain:
        page1 = chain.h.query(
            BANK + "AllBalances",
            q.QueryAllBalancesRequest(
                address=rich.address,
                pagination=pagination_pb2.PageRequest(limit=3, count_total=True),
            ),
        )
        assert [c.denom for c in page1.balances] == denoms[:3]
        assert page1.pagination.total == 7 and page1.pagination.next_key == b"tok03"
        page2 = chain.h.query(
            BANK + "AllBalances",
            q.QueryAllBalancesRequest(
                address=rich.address,
                pagination=pagination_pb2.PageRequest(key=page1.pagination.next_key, limit=3),
            ),
        )
        assert [c.denom for c in page2.balances] == denoms[3:6]
        by_offset = chain.h.query(
            BANK + "AllBalances",
            q.QueryAllBalancesRequest(
                address=rich.address, pagination=pagination_pb2.PageRequest(offset=6, limit=3)
            ),
        )
        assert [c.denom for c in by_offset.balances] == denoms[6:]
        assert by_offset.pagination.next_key == b""
        backwards = chain.h.query(
            BANK + "AllBalances",
            q.QueryAllBalancesRequest(
                address=rich.address, pagination=pagination_pb2.PageRequest(limit=2, reverse=True)
            ),
        )
        assert [c.denom for c in backwards.balances] == ["tok06", "tok05"]
        with pytest.raises(QueryError, match="either offset or key"):
            chain.h.query(
                BANK + "AllBalances",
                q.QueryAllBalancesRequest(
                    address=rich.address,
                    pagination=pagination_pb2.PageRequest(key=b"tok01", offset=1),
                ),
            )


def test_supply_queries(chain):
    total = chain.h.query(BANK + "TotalSupply", q.QueryTotalSupplyRequest())
    assert [(c.denom, c.amount) for c in total.supply] == [("stake", "500"), ("usultan", "1001000")]
    one = chain.h.query(BANK + "SupplyOf", q.QuerySupplyOfRequest(denom="usultan"))
    assert one.amount.amount == "1001000"
    none = chain.h.query(BANK + "SupplyOf", q.QuerySupplyOfRequest(denom="nothing"))
    assert (none.amount.denom, none.amount.amount) == ("nothing", "0")


def test_denom_owners_lists_holders(chain, alice, bob):
    res = chain.h.query(BANK + "DenomOwners", q.QueryDenomOwnersRequest(denom="usultan"))
    owners = {o.address: o.balance.amount for o in res.denom_owners}
    assert owners == {alice.address: "1000000", bob.address: "1000"}
    stake = chain.h.query(BANK + "DenomOwners", q.QueryDenomOwnersRequest(denom="stake"))
    assert [o.address for o in stake.denom_owners] == [alice.address]


def test_params_metadata_and_send_enabled_queries(alice):
    state = genesis({alice: "10usultan"})
    state["bank"]["denom_metadata"] = [METADATA]
    state["bank"]["send_enabled"] = [{"denom": "stake", "enabled": False}]
    with Chain(ChainHarness(["auth", "bank"], app_state=state, chain_id=CHAIN_ID)) as chain:
        params = chain.h.query(BANK + "Params", q.QueryParamsRequest())
        assert params.params.default_send_enabled is True
        meta = chain.h.query(BANK + "DenomMetadata", q.QueryDenomMetadataRequest(denom="usultan"))
        assert meta.metadata.display == "sultan" and meta.metadata.denom_units[1].exponent == 6
        with pytest.raises(QueryError) as err:
            chain.h.query(BANK + "DenomMetadata", q.QueryDenomMetadataRequest(denom="other"))
        assert err.value.status == "NotFound"
        listed = chain.h.query(BANK + "DenomsMetadata", q.QueryDenomsMetadataRequest())
        assert [m.base for m in listed.metadatas] == ["usultan"]
        enabled = chain.h.query(BANK + "SendEnabled", q.QuerySendEnabledRequest())
        assert [(e.denom, e.enabled) for e in enabled.send_enabled] == [("stake", False)]
        resolved = chain.h.query(
            BANK + "AllBalances",
            q.QueryAllBalancesRequest(address=alice.address, resolve_denom=True),
        )
        assert resolved.balances[0].denom == "sultan"


def test_genesis_round_trips(chain, alice, bob):
    assert chain.deliver_one(chain.send_tx(alice, bob.address, "7usultan")).code == 0
    exported = chain.h.export_genesis()
    assert exported["bank"]["supply"] == [
        {"denom": "stake", "amount": "500"},
        {"denom": "usultan", "amount": "1001000"},
    ]
    json.dumps(exported)  # plain JSON
    with ChainHarness(["auth", "bank"], app_state=exported, chain_id=CHAIN_ID) as again:
        again.block()
        assert again.export_genesis() == exported


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s["bank"].update(supply=[{"denom": "usultan", "amount": "1"}]),
         "genesis supply is incorrect"),
        (lambda s: s["bank"]["balances"].append(dict(s["bank"]["balances"][0])),
         "duplicate balance for address"),
        (lambda s: s["bank"]["balances"][0].update(address="cosmos1abc"), "decoding bech32 failed"),
        (lambda s: s["bank"]["balances"][0].update(coins=[{"denom": "usultan", "amount": "-1"}]),
         "negative coin amount"),
        (lambda s: s["bank"]["balances"][0].update(
            coins=[{"denom": "b", "amount": "1"}]), "invalid denom"),
        (lambda s: s["bank"]["balances"][0].update(
            coins=[{"denom": "zzz", "amount": "1"}, {"denom": "aaa", "amount": "1"}]),
         "is not sorted"),
        (lambda s: s["bank"].update(denom_metadata=[dict(METADATA, display="nope")]),
         "display denom 'nope'"),
        (lambda s: s["bank"].update(extra=1), "unknown fields"),
        (lambda s: s["bank"].update(params={"default_send_enabled": "yes"}), "true or false"),
    ],
)  # fmt: skip
def test_genesis_validation_names_the_problem(alice, mutate, message):
    state = genesis({alice: "10usultan"})
    mutate(state)
    with pytest.raises(ValueError, match=message):
        ChainHarness(["auth", "bank"], app_state=state, chain_id=CHAIN_ID)


def test_genesis_balances_create_auth_accounts(alice):
    state = genesis({alice: "10usultan"})
    state["auth"]["accounts"] = []
    with Chain(ChainHarness(["auth", "bank"], app_state=state, chain_id=CHAIN_ID)) as chain:
        assert chain.seq(alice)[1] == 0
