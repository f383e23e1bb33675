"""Auth queries (accounts, module accounts, address conversions) and genesis handling."""

from __future__ import annotations

import json

import pytest
from auth_support import AUTH, CHAIN_ID, app_state, base_account, signed_send, start
from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2
from sultan_auth.pb.cosmos.auth.v1beta1 import query_pb2 as q

from sultan import QueryError
from sultan.kernel.address import account_string, module_address
from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2
from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet

FEE_COLLECTOR = account_string(module_address("fee_collector"))


def test_unknown_account_is_not_found_in_the_words_cosmjs_matches(chain):
    nobody = Wallet.from_seed("nobody").address
    with pytest.raises(QueryError) as err:
        chain.query(AUTH + "Account", q.QueryAccountRequest(address=nobody))
    assert err.value.status == "NotFound"
    response = chain.abci_query(
        AUTH + "Account", q.QueryAccountRequest(address=nobody).SerializeToString()
    )
    assert response.code != 0
    assert response.log == f"rpc error: code = NotFound desc = account {nobody} not found"
    with pytest.raises(QueryError) as err:
        chain.query(AUTH + "Account", q.QueryAccountRequest(address="sultan1bad"))
    assert err.value.status == "InvalidArgument"


def test_genesis_accounts_numbered_zero_are_renumbered_in_order(chain, alice, bob):
    assert base_account(chain, alice.address).account_number == 0
    assert base_account(chain, bob.address).account_number == 1
    res = chain.query(AUTH + "AccountAddressByID", q.QueryAccountAddressByIDRequest(account_id=1))
    assert res.account_address == bob.address
    with pytest.raises(QueryError, match="account number 99"):
        chain.query(AUTH + "AccountAddressByID", q.QueryAccountAddressByIDRequest(account_id=99))


def test_module_accounts(chain):
    res = chain.query(AUTH + "ModuleAccounts", q.QueryModuleAccountsRequest())
    names = []
    for packed in res.accounts:
        assert packed.type_url == "/cosmos.auth.v1beta1.ModuleAccount"
        names.append(auth_pb2.ModuleAccount.FromString(packed.value).name)
    assert "fee_collector" in names
    one = chain.query(
        AUTH + "ModuleAccountByName", q.QueryModuleAccountByNameRequest(name="fee_collector")
    )
    module = auth_pb2.ModuleAccount.FromString(one.account.value)
    assert module.base_account.address == FEE_COLLECTOR and list(module.permissions) == []
    with pytest.raises(QueryError) as err:
        chain.query(AUTH + "ModuleAccountByName", q.QueryModuleAccountByNameRequest(name="nope"))
    assert err.value.status == "NotFound"
    account = chain.query(AUTH + "Account", q.QueryAccountRequest(address=FEE_COLLECTOR))
    assert account.account.type_url == "/cosmos.auth.v1beta1.ModuleAccount"


def test_accounts_paginate(chain, alice, bob):
    page = chain.query(
        AUTH + "Accounts",
        q.QueryAccountsRequest(pagination=pagination_pb2.PageRequest(limit=2, count_total=True)),
    )
    assert len(page.accounts) == 2 and page.pagination.total == 3
    rest = chain.query(
        AUTH + "Accounts",
        q.QueryAccountsRequest(pagination=pagination_pb2.PageRequest(key=page.pagination.next_key)),
    )
    assert len(rest.accounts) == 1 and rest.pagination.next_key == b""
    everyone = chain.query(AUTH + "Accounts", q.QueryAccountsRequest())
    assert len(everyone.accounts) == 3 and everyone.pagination.total == 3


def test_params_prefix_and_address_conversions(chain, alice):
    params = chain.query(AUTH + "Params", q.QueryParamsRequest()).params
    assert (params.max_memo_characters, params.tx_sig_limit, params.tx_size_cost_per_byte) == (
        256,
        7,
        10,
    )
    assert (params.sig_verify_cost_ed25519, params.sig_verify_cost_secp256k1) == (590, 1000)
    assert chain.query(AUTH + "Bech32Prefix", q.Bech32PrefixRequest()).bech32_prefix == "sultan"
    as_bytes = chain.query(
        AUTH + "AddressStringToBytes", q.AddressStringToBytesRequest(address_string=alice.address)
    ).address_bytes
    assert as_bytes == alice.address_bytes
    back = chain.query(
        AUTH + "AddressBytesToString", q.AddressBytesToStringRequest(address_bytes=as_bytes)
    ).address_string
    assert back == alice.address
    with pytest.raises(QueryError, match="empty address bytes"):
        chain.query(AUTH + "AddressBytesToString", q.AddressBytesToStringRequest())


def test_account_info_shows_the_pubkey_after_use(chain, alice, bob):
    chain.deliver(signed_send(chain, alice, bob))
    info = chain.query(AUTH + "AccountInfo", q.QueryAccountInfoRequest(address=alice.address)).info
    assert info.address == alice.address and info.sequence == 1
    assert info.pub_key.type_url == "/cosmos.crypto.secp256k1.PubKey"
    with pytest.raises(QueryError, match="address cannot be empty"):
        chain.query(AUTH + "AccountInfo", q.QueryAccountInfoRequest())


def test_genesis_round_trips_with_pubkeys_and_module_accounts(chain, alice, bob):
    chain.deliver(signed_send(chain, alice, bob))
    exported = chain.export_genesis()
    kinds = {a["@type"] for a in exported["auth"]["accounts"]}
    assert kinds == {"/cosmos.auth.v1beta1.BaseAccount", "/cosmos.auth.v1beta1.ModuleAccount"}
    alice_json = next(a for a in exported["auth"]["accounts"] if a.get("address") == alice.address)
    assert alice_json["pub_key"]["@type"] == "/cosmos.crypto.secp256k1.PubKey"
    assert alice_json["sequence"] == "1"
    json.dumps(exported)
    with ChainHarness(["auth", "bank"], app_state=exported, chain_id=CHAIN_ID) as again:
        again.block()
        assert again.export_genesis() == exported
        # The account number sequence continues after the imported accounts.
        carol = Wallet.from_seed("carol")
        again.deliver(alice.sign_tx(
            [__import__("auth_support").send(alice, carol)], sequence=1, account_number=0,
            chain_id=CHAIN_ID, fee="1usultan",
        ))  # fmt: skip
        assert base_account(again, carol.address).account_number == 3


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s["auth"]["accounts"].append(dict(s["auth"]["accounts"][0])), "duplicate account"),
        (lambda s: s["auth"]["accounts"][0].update(address="cosmos1xyz"), "decoding bech32 failed"),
        (lambda s: s["auth"]["accounts"][0].update({"@type": "/x.Y"}), "unsupported account type"),
        (lambda s: s["auth"]["accounts"][0].update(
            pub_key={"@type": "/cosmos.crypto.secp256k1.PubKey",
                     "key": "A" + "B" * 43}), "pubkey address do not match|public key"),
        (lambda s: s["auth"].update(params={"tx_sig_limit": "0"}), "tx_sig_limit must be positive"),
        (lambda s: s["auth"].update(params={"tx_sig_limit": "seven"}), "unsigned integer"),
        (lambda s: s["auth"].update(accounts=[{
            "@type": "/cosmos.auth.v1beta1.ModuleAccount",
            "base_account": {"address": FEE_COLLECTOR, "account_number": "0", "sequence": "0"},
            "name": "not_fee_collector", "permissions": []}]), "cannot be derived from the module name"),
        (lambda s: s["auth"].update(surprise=True), "unknown fields"),
    ],
)  # fmt: skip
def test_genesis_validation_names_the_problem(alice, mutate, message):
    state = app_state({alice: "10usultan"})
    mutate(state)
    with pytest.raises(ValueError, match=message):
        ChainHarness(["auth", "bank"], app_state=state, chain_id=CHAIN_ID)


def test_default_genesis_is_valid_and_has_cosmos_shape():
    from sultan_auth.genesis import default_genesis, validate_genesis

    state = default_genesis()
    validate_genesis(state)
    assert state["params"]["max_memo_characters"] == "256"
    with start({}) as chain:
        assert chain.export_genesis()["auth"]["params"] == state["params"]
