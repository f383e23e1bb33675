"""The bank keeper: the only code that reads or writes the bank store.

Public interface (other modules describe what they use of it in their `expected.py`):
`get_balance`, `get_all_balances`, `spendable_coins`, `send_coins`,
`send_coins_from_account_to_module`, `send_coins_from_module_to_account`,
`send_coins_from_module_to_module`, `mint_coins`, `burn_coins`, `get_supply`.

Events are the SDK v0.50 ones: `coin_spent{spender, amount}`, `coin_received{receiver,
amount}`, `transfer{recipient, sender, amount}`, `message{sender}`, `coinbase{minter,
amount}`, `burn{burner, amount}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sultan import Context, Event
from sultan.kernel.address import ACCOUNT_CODEC
from sultan.kernel.coins import MAX_AMOUNT, Coin, Coins
from sultan.kernel.errors import (
    ErrInsufficientFunds,
    ErrInvalidCoins,
    ErrUnauthorized,
    ErrUnknownAddress,
)
from sultan.kernel.store.branch import prefix_end
from sultan_bank import state
from sultan_bank.errors import ErrInputOutputMismatch, ErrSendDisabled
from sultan_bank.expected import AccountKeeper
from sultan_bank.keys import AUTHORITY_MODULE, STORE_KEY
from sultan_bank.metrics import supply_gauge

MINTER = "minter"
BURNER = "burner"


class BankKeeper:
    """Balances, supply, denom metadata, send-enabled flags and params."""

    def __init__(self) -> None:
        self.accounts: AccountKeeper | None = None

    @property
    def ak(self) -> AccountKeeper:
        if self.accounts is None:
            raise RuntimeError("bank keeper used before the auth keeper was bound")
        return self.accounts

    @property
    def authority(self) -> str:
        return ACCOUNT_CODEC.to_string(self.ak.module_address(AUTHORITY_MODULE))

    # -- params and send-enabled ----------------------------------------------------------

    def params(self, ctx: Context) -> state.Params:
        return state.params.get(ctx.kv(STORE_KEY)) or state.Params()

    def set_params(self, ctx: Context, params: state.Params) -> None:
        state.params.set(ctx.kv(STORE_KEY), params)

    def send_enabled_entry(self, ctx: Context, denom: str) -> bool | None:
        return state.send_enabled.get(ctx.kv(STORE_KEY), denom)

    def set_send_enabled(self, ctx: Context, denom: str, enabled: bool) -> None:
        state.send_enabled.set(ctx.kv(STORE_KEY), denom, enabled)

    def delete_send_enabled(self, ctx: Context, denom: str) -> None:
        state.send_enabled.delete(ctx.kv(STORE_KEY), denom)

    def iterate_send_enabled(self, ctx: Context) -> Iterator[tuple[str, bool]]:
        yield from state.send_enabled.items(ctx.kv(STORE_KEY))

    def is_send_enabled(self, ctx: Context, denom: str) -> bool:
        entry = self.send_enabled_entry(ctx, denom)
        return self.params(ctx).default_send_enabled if entry is None else entry

    def check_send_enabled(self, ctx: Context, coins: Coins) -> None:
        for coin in coins:
            if not self.is_send_enabled(ctx, coin.denom):
                raise ErrSendDisabled(f"{coin.denom} transfers are currently disabled")

    def is_blocked(self, address: bytes) -> bool:
        return self.ak.is_blocked(address)

    # -- balances -------------------------------------------------------------------------

    def get_balance(self, ctx: Context, address: bytes, denom: str) -> Coin:
        amount = state.balances.get(ctx.kv(STORE_KEY), (bytes(address), denom))
        return Coin(denom, amount or 0)

    def get_all_balances(self, ctx: Context, address: bytes) -> Coins:
        kv = ctx.kv(STORE_KEY)
        prefix = state.balances.prefix + state.balances.key_codec.encode((bytes(address), ""))
        coins = []
        for key, raw in kv.iterate(prefix, prefix_end(prefix)):
            coins.append(Coin(key[len(prefix) :].decode(), state.balances.value_codec.decode(raw)))
        return Coins(coins)

    def spendable_coins(self, ctx: Context, address: bytes) -> Coins:
        """No vesting accounts yet: everything held is spendable."""
        return self.get_all_balances(ctx, address)

    def _set_balance(self, ctx: Context, address: bytes, coin: Coin) -> None:
        kv = ctx.kv(STORE_KEY)
        if coin.amount == 0:
            state.balances.delete(kv, (address, coin.denom))
            state.denom_owners.delete(kv, (coin.denom, address))
        else:
            state.balances.set(kv, (address, coin.denom), coin.amount)
            state.denom_owners.set(kv, (coin.denom, address), b"")

    def iterate_balances(self, ctx: Context) -> Iterator[tuple[bytes, Coins]]:
        """(address, coins) for every holder, in address byte order."""
        current: bytes | None = None
        coins: list[Coin] = []
        for (address, denom), amount in state.balances.items(ctx.kv(STORE_KEY)):
            if address != current:
                if current is not None:
                    yield current, Coins(coins)
                current, coins = address, []
            coins.append(Coin(denom, amount))
        if current is not None:
            yield current, Coins(coins)

    # -- moving coins ---------------------------------------------------------------------

    def _sub_unlocked_coins(self, ctx: Context, address: bytes, amount: Coins) -> None:
        for coin in amount:
            balance = self.get_balance(ctx, address, coin.denom)
            if balance.amount < coin.amount:
                raise ErrInsufficientFunds(f"spendable balance {balance} is smaller than {coin}")
            self._set_balance(ctx, address, Coin(coin.denom, balance.amount - coin.amount))
        ctx.emit(
            Event.of(
                "coin_spent", ("spender", ACCOUNT_CODEC.to_string(address)), ("amount", str(amount))
            )
        )

    def _add_coins(self, ctx: Context, address: bytes, amount: Coins) -> None:
        for coin in amount:
            balance = self.get_balance(ctx, address, coin.denom)
            total = balance.amount + coin.amount
            if total > MAX_AMOUNT:
                raise ErrInvalidCoins(f"balance of {coin.denom} would overflow 256 bits")
            self._set_balance(ctx, address, Coin(coin.denom, total))
        ctx.emit(
            Event.of(
                "coin_received",
                ("receiver", ACCOUNT_CODEC.to_string(address)),
                ("amount", str(amount)),
            )
        )

    def send_coins(self, ctx: Context, sender: bytes, recipient: bytes, amount: Coins) -> None:
        """Move `amount`; creates the recipient's account if it does not exist."""
        self._sub_unlocked_coins(ctx, sender, amount)
        self._add_coins(ctx, recipient, amount)
        self.ak.ensure_account(ctx, recipient)
        sender_text = ACCOUNT_CODEC.to_string(sender)
        ctx.emit(
            Event.of(
                "transfer",
                ("recipient", ACCOUNT_CODEC.to_string(recipient)),
                ("sender", sender_text),
                ("amount", str(amount)),
            )
        )
        ctx.emit(Event.of("message", ("sender", sender_text)))

    def input_output_coins(
        self, ctx: Context, sender: bytes, total: Coins, outputs: list[tuple[bytes, Coins]]
    ) -> None:
        """MultiSend: take `total` from `sender`, then credit every output in order."""
        if sum((c for _, c in outputs), Coins()) != total:
            raise ErrInputOutputMismatch()
        self._sub_unlocked_coins(ctx, sender, total)
        ctx.emit(Event.of("message", ("sender", ACCOUNT_CODEC.to_string(sender))))
        for recipient, coins in outputs:
            self._add_coins(ctx, recipient, coins)
            ctx.emit(
                Event.of(
                    "transfer",
                    ("recipient", ACCOUNT_CODEC.to_string(recipient)),
                    ("amount", str(coins)),
                )
            )
            self.ak.ensure_account(ctx, recipient)

    def _module_account(self, ctx: Context, name: str) -> Any:
        try:
            return self.ak.get_module_account(ctx, name)
        except ErrUnknownAddress:
            raise ErrUnknownAddress(f"module account {name} does not exist") from None

    def send_coins_from_account_to_module(
        self, ctx: Context, sender: bytes, recipient_module: str, amount: Coins
    ) -> None:
        account = self._module_account(ctx, recipient_module)
        self.send_coins(ctx, sender, account.address, amount)

    def send_coins_from_module_to_account(
        self, ctx: Context, sender_module: str, recipient: bytes, amount: Coins
    ) -> None:
        if self.is_blocked(recipient):
            raise ErrUnauthorized(
                f"{ACCOUNT_CODEC.to_string(recipient)} is not allowed to receive funds"
            )
        account = self._module_account(ctx, sender_module)
        self.send_coins(ctx, account.address, recipient, amount)

    def send_coins_from_module_to_module(
        self, ctx: Context, sender_module: str, recipient_module: str, amount: Coins
    ) -> None:
        sender = self._module_account(ctx, sender_module)
        recipient = self._module_account(ctx, recipient_module)
        self.send_coins(ctx, sender.address, recipient.address, amount)

    # -- supply ---------------------------------------------------------------------------

    def get_supply(self, ctx: Context, denom: str) -> Coin:
        return Coin(denom, state.supply.get(ctx.kv(STORE_KEY), denom) or 0)

    def set_supply(self, ctx: Context, coin: Coin) -> None:
        kv = ctx.kv(STORE_KEY)
        if coin.amount == 0:
            state.supply.delete(kv, coin.denom)
        else:
            state.supply.set(kv, coin.denom, coin.amount)

    def iterate_supply(self, ctx: Context) -> Iterator[Coin]:
        for denom, amount in state.supply.items(ctx.kv(STORE_KEY)):
            yield Coin(denom, amount)

    def total_supply(self, ctx: Context) -> Coins:
        return Coins(self.iterate_supply(ctx))

    def mint_coins(self, ctx: Context, module: str, amount: Coins) -> None:
        """Create `amount` in module `module`'s account (it needs the "minter" permission)."""
        account = self._module_account(ctx, module)
        if not account.has_permission(MINTER):
            raise ErrUnauthorized(
                f"module account {module} does not have permissions to mint tokens"
            )
        if amount.is_zero():
            raise ErrInvalidCoins("cannot mint empty coins")
        self._add_coins(ctx, account.address, amount)
        for coin in amount:
            supply = self.get_supply(ctx, coin.denom)
            if supply.amount + coin.amount > MAX_AMOUNT:
                raise ErrInvalidCoins(f"supply of {coin.denom} would overflow 256 bits")
            self.set_supply(ctx, Coin(coin.denom, supply.amount + coin.amount))
        ctx.emit(
            Event.of(
                "coinbase",
                ("minter", ACCOUNT_CODEC.to_string(account.address)),
                ("amount", str(amount)),
            )
        )

    def burn_coins(self, ctx: Context, module: str, amount: Coins) -> None:
        """Destroy `amount` from module `module`'s account (it needs "burner")."""
        account = self._module_account(ctx, module)
        if not account.has_permission(BURNER):
            raise ErrUnauthorized(
                f"module account {module} does not have permissions to burn tokens"
            )
        if amount.is_zero():
            raise ErrInvalidCoins("cannot burn empty coins")
        self._sub_unlocked_coins(ctx, account.address, amount)
        for coin in amount:
            supply = self.get_supply(ctx, coin.denom)
            self.set_supply(ctx, Coin(coin.denom, supply.amount - coin.amount))
        ctx.emit(
            Event.of(
                "burn",
                ("burner", ACCOUNT_CODEC.to_string(account.address)),
                ("amount", str(amount)),
            )
        )

    # -- denom metadata -------------------------------------------------------------------

    def get_denom_metadata(self, ctx: Context, denom: str) -> Any | None:
        return state.denom_metadata.get(ctx.kv(STORE_KEY), denom)

    def set_denom_metadata(self, ctx: Context, metadata: Any) -> None:
        state.denom_metadata.set(ctx.kv(STORE_KEY), metadata.base, metadata)

    def iterate_denom_metadata(self, ctx: Context) -> Iterator[Any]:
        for _denom, metadata in state.denom_metadata.items(ctx.kv(STORE_KEY)):
            yield metadata

    # -- metrics --------------------------------------------------------------------------

    def record_supply_metrics(self, ctx: Context) -> None:
        """Publish total supply per denom (end of each finalized block)."""
        supply_gauge.update({c.denom: c.amount for c in self.iterate_supply(ctx)})
