"""A test client over ChainHarness for staking (and distribution): genesis with gentxs,
signed staking messages and queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sultan_staking import gentx
from sultan_staking.pb.cosmos.staking.v1beta1 import query_pb2 as sq
from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2 as stx

from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC, account_string, module_address
from sultan.kernel.coins import Coin, Coins
from sultan.kernel.crypto.keys import Ed25519PrivKey
from sultan.pb.cosmos.base.v1beta1 import coin_pb2
from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet

CHAIN_ID = "test-1"
DENOM = "usultan"
HARNESS_KEY = Ed25519PrivKey.from_seed(b"\x07" * 32)  # the harness engine's validator key
BONDED_POOL = account_string(module_address("bonded_tokens_pool"))
NOT_BONDED_POOL = account_string(module_address("not_bonded_tokens_pool"))
FEE_COLLECTOR = account_string(module_address("fee_collector"))
DISTRIBUTION = account_string(module_address("distribution"))
MODULES = ["auth", "bank", "staking", "distribution"]


def valoper(wallet: Wallet) -> str:
    return VALIDATOR_CODEC.to_string(wallet.address_bytes)


def coin(amount: int, denom: str = DENOM) -> Any:
    return coin_pb2.Coin(denom=denom, amount=str(amount))


def gentx_for(
    wallet: Wallet,
    key: Ed25519PrivKey,
    amount: int,
    moniker: str,
    rate: int = gentx.DEFAULT_RATE,
    chain_id: str = CHAIN_ID,
) -> str:
    msg = gentx.create_validator_msg(
        wallet.address_bytes, key.pub_key, Coin(DENOM, amount), moniker=moniker, rate=rate
    )
    return gentx.encode(gentx.build_gentx(wallet, msg, chain_id))


def genesis(
    funded: Mapping[Wallet, str],
    gentxs: Sequence[str],
    *,
    unbonding_time: str = "5s",
    modules: Sequence[str] = MODULES,
    max_validators: int = 100,
    distribution: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    state: dict[str, Any] = {
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
                key=lambda b: ACCOUNT_CODEC.to_bytes(b["address"]),
            )
        },
        "staking": {
            "params": {
                "unbonding_time": unbonding_time,
                "max_validators": max_validators,
                "max_entries": 7,
                "historical_entries": 10000,
                "bond_denom": DENOM,
                "min_commission_rate": "0.000000000000000000",
            },
            "gen_txs": list(gentxs),
        },
    }
    if "distribution" in modules:
        state["distribution"] = dict(distribution or {})
    return state


class Chain:
    """The harness plus a validator operator wallet (bonded at genesis with the harness key)."""

    def __init__(self, harness: ChainHarness, operator: Wallet) -> None:
        self.h = harness
        self.operator = operator
        if harness.height == 0:
            harness.block()

    @classmethod
    def start(
        cls,
        funded: Mapping[Wallet, str],
        operator: Wallet,
        self_bond: int = 10_000_000,
        modules: Sequence[str] = MODULES,
        extra_gentxs: Sequence[str] = (),
        **kw: Any,
    ) -> Chain:
        gentxs = [gentx_for(operator, HARNESS_KEY, self_bond, "harness"), *extra_gentxs]
        harness_kw = {k: kw.pop(k) for k in ("path",) if k in kw}
        app_state = genesis(funded, gentxs, modules=modules, **kw)
        return cls(
            ChainHarness(list(modules), app_state=app_state, chain_id=CHAIN_ID, **harness_kw),
            operator,
        )

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.h.close()

    # -- queries ----------------------------------------------------------------------

    def q(self, method: str, request: Any) -> Any:
        return self.h.query(method, request)

    def seq(self, wallet: Wallet) -> tuple[int, int]:
        from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2
        from sultan_auth.pb.cosmos.auth.v1beta1 import query_pb2 as auth_q

        res = self.h.query(
            "/cosmos.auth.v1beta1.Query/Account", auth_q.QueryAccountRequest(address=wallet.address)
        )
        acc = auth_pb2.BaseAccount.FromString(res.account.value)
        return acc.account_number, acc.sequence

    def balance(self, address: str, denom: str = DENOM) -> int:
        from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as bank_q

        res = self.h.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            bank_q.QueryBalanceRequest(address=address, denom=denom),
        )
        return int(res.balance.amount)

    def supply(self, denom: str = DENOM) -> int:
        from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as bank_q

        res = self.h.query(
            "/cosmos.bank.v1beta1.Query/SupplyOf", bank_q.QuerySupplyOfRequest(denom=denom)
        )
        return int(res.amount.amount)

    def validator(self, operator: str) -> Any:
        return self.q(
            "/cosmos.staking.v1beta1.Query/Validator",
            sq.QueryValidatorRequest(validator_addr=operator),
        ).validator

    def validators(self, status: str = "") -> list[Any]:
        return list(
            self.q(
                "/cosmos.staking.v1beta1.Query/Validators",
                sq.QueryValidatorsRequest(status=status),
            ).validators
        )

    def pool(self) -> tuple[int, int]:
        p = self.q("/cosmos.staking.v1beta1.Query/Pool", sq.QueryPoolRequest()).pool
        return int(p.not_bonded_tokens), int(p.bonded_tokens)

    # -- txs --------------------------------------------------------------------------

    def sign(self, wallet: Wallet, msgs: list[Any], fee: str = "", gas: int = 400_000) -> bytes:
        number, sequence = self.seq(wallet)
        return wallet.sign_tx(
            msgs, sequence=sequence, account_number=number, chain_id=CHAIN_ID, fee=fee, gas=gas
        )

    def run(self, wallet: Wallet, *msgs: Any, fee: str = "", gas: int = 400_000) -> Any:
        """Deliver one tx in its own block; returns its ExecTxResult."""
        (result,) = self.h.deliver(self.sign(wallet, list(msgs), fee=fee, gas=gas))
        return result

    def ok(self, wallet: Wallet, *msgs: Any, **kw: Any) -> Any:
        result = self.run(wallet, *msgs, **kw)
        assert result.code == 0, f"{result.codespace} {result.code}: {result.log}"
        return result

    # -- messages -----------------------------------------------------------------------

    @staticmethod
    def delegate(wallet: Wallet, operator: str, amount: int, denom: str = DENOM) -> Any:
        return stx.MsgDelegate(
            delegator_address=wallet.address,
            validator_address=operator,
            amount=coin(amount, denom),
        )

    @staticmethod
    def undelegate(wallet: Wallet, operator: str, amount: int) -> Any:
        return stx.MsgUndelegate(
            delegator_address=wallet.address, validator_address=operator, amount=coin(amount)
        )

    @staticmethod
    def redelegate(wallet: Wallet, src: str, dst: str, amount: int) -> Any:
        return stx.MsgBeginRedelegate(
            delegator_address=wallet.address,
            validator_src_address=src,
            validator_dst_address=dst,
            amount=coin(amount),
        )

    @staticmethod
    def create_validator(
        wallet: Wallet, key: Ed25519PrivKey, amount: int, moniker: str = "v", **kw: Any
    ) -> Any:
        return gentx.create_validator_msg(
            wallet.address_bytes, key.pub_key, Coin(DENOM, amount), moniker=moniker, **kw
        )
