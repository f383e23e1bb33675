"""A thin test client over ChainHarness: genesis for funded wallets, signed sends, queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2
from sultan_auth.pb.cosmos.auth.v1beta1 import query_pb2 as auth_q
from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as bank_q
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx

from sultan.kernel.address import account_string, module_address
from sultan.kernel.coins import Coins
from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet

CHAIN_ID = "test-1"
DENOM = "usultan"
FEE_COLLECTOR = account_string(module_address("fee_collector"))


def genesis(funded: Mapping[Wallet, str]) -> dict[str, Any]:
    return {
        "auth": {
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
        },
        "bank": {
            "balances": sorted(
                (
                    {"address": w.address, "coins": Coins.parse(c).to_dicts()}
                    for w, c in funded.items()
                ),
                key=lambda b: b["address"],
            )
        },
    }


def coins(text: str) -> list[Any]:
    return Coins.parse(text).to_proto()


class Chain:
    def __init__(self, harness: ChainHarness) -> None:
        self.h = harness
        if harness.height == 0:
            harness.block()  # genesis state becomes visible with the first block

    @classmethod
    def start(cls, funded: Mapping[Wallet, str], **kw: Any) -> Chain:
        return cls(
            ChainHarness(["auth", "bank"], app_state=genesis(funded), chain_id=CHAIN_ID, **kw)
        )

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.h.close()

    # -- queries ----------------------------------------------------------------------

    def account(self, address: str) -> Any:
        res = self.h.query(
            "/cosmos.auth.v1beta1.Query/Account", auth_q.QueryAccountRequest(address=address)
        )
        acc = auth_pb2.BaseAccount()
        if res.account.type_url.endswith("ModuleAccount"):
            module = auth_pb2.ModuleAccount.FromString(res.account.value)
            return module.base_account
        acc.ParseFromString(res.account.value)
        return acc

    def seq(self, wallet: Wallet) -> tuple[int, int]:
        acc = self.account(wallet.address)
        return acc.account_number, acc.sequence

    def balance(self, address: str, denom: str = DENOM) -> int:
        res = self.h.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            bank_q.QueryBalanceRequest(address=address, denom=denom),
        )
        return int(res.balance.amount)

    def balances(self, address: str) -> str:
        res = self.h.query(
            "/cosmos.bank.v1beta1.Query/AllBalances",
            bank_q.QueryAllBalancesRequest(address=address),
        )
        return ",".join(f"{c.amount}{c.denom}" for c in res.balances)

    def supply(self) -> str:
        res = self.h.query(
            "/cosmos.bank.v1beta1.Query/TotalSupply", bank_q.QueryTotalSupplyRequest()
        )
        return ",".join(f"{c.amount}{c.denom}" for c in res.supply)

    # -- txs --------------------------------------------------------------------------

    def sign(
        self,
        wallet: Wallet,
        msgs: list[Any],
        *,
        fee: str = "200usultan",
        gas: int = 200_000,
        sequence: int | None = None,
        account_number: int | None = None,
        chain_id: str = CHAIN_ID,
        memo: str = "",
    ) -> bytes:
        number, seq = self.seq(wallet)
        return wallet.sign_tx(
            msgs,
            sequence=seq if sequence is None else sequence,
            account_number=number if account_number is None else account_number,
            chain_id=chain_id,
            fee=fee,
            gas=gas,
            memo=memo,
        )

    def send_tx(self, wallet: Wallet, to: str, amount: str | list[Any], **kw: Any) -> bytes:
        amt = coins(amount) if isinstance(amount, str) else amount
        msg = bank_tx.MsgSend(from_address=wallet.address, to_address=to, amount=amt)
        return self.sign(wallet, [msg], **kw)

    def deliver(self, *txs: bytes) -> list[Any]:
        return self.h.deliver(*txs)

    def deliver_one(self, tx: bytes) -> Any:
        (result,) = self.h.deliver(tx)
        return result
