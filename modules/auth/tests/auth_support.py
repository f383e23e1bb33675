"""Helpers for the auth tests: an auth + bank chain with funded wallets and an account view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2
from sultan_auth.pb.cosmos.auth.v1beta1 import query_pb2 as q
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx

from sultan.kernel.coins import Coins
from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet

CHAIN_ID = "auth-1"
AUTH = "/cosmos.auth.v1beta1.Query/"


def app_state(funded: Mapping[Wallet, str], **auth_params: str) -> dict[str, Any]:
    auth: dict[str, Any] = {
        "accounts": [
            {
                "@type": "/cosmos.auth.v1beta1.BaseAccount",
                "address": w.address,
                "pub_key": None,
                "account_number": "0",
                "sequence": "0",
            }
            for w in funded
        ]
    }
    if auth_params:
        auth["params"] = dict(auth_params)
    balances = [
        {"address": w.address, "coins": Coins.parse(c).to_dicts()} for w, c in funded.items()
    ]
    return {"auth": auth, "bank": {"balances": balances}}


def start(funded: Mapping[Wallet, str], **auth_params: str) -> ChainHarness:
    chain = ChainHarness(
        ["auth", "bank"], app_state=app_state(funded, **auth_params), chain_id=CHAIN_ID
    )
    chain.block()
    return chain


def base_account(chain: ChainHarness, address: str) -> Any:
    res = chain.query(AUTH + "Account", q.QueryAccountRequest(address=address))
    assert res.account.type_url == "/cosmos.auth.v1beta1.BaseAccount"
    return auth_pb2.BaseAccount.FromString(res.account.value)


def send(frm: Wallet, to: Wallet, amount: str = "1usultan") -> Any:
    return bank_tx.MsgSend(
        from_address=frm.address, to_address=to.address, amount=Coins.parse(amount).to_proto()
    )


def signed_send(
    chain: ChainHarness, frm: Wallet, to: Wallet, *, fee: str = "10usultan", **kw: Any
) -> bytes:
    acc = base_account(chain, frm.address)
    return frm.sign_tx(
        [send(frm, to)],
        sequence=kw.pop("sequence", acc.sequence),
        account_number=kw.pop("account_number", acc.account_number),
        chain_id=kw.pop("chain_id", CHAIN_ID),
        fee=fee,
        **kw,
    )
