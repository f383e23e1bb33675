"""What staking needs from other modules, and what it offers them as hooks.

`AccountKeeper` and `BankKeeper` are received through `bind` (staking requires auth and
bank). `StakingHooks` is the other direction: a module that must react to delegation changes
(distribution withdraws rewards before shares change) registers an object with these
methods through `StakingKeeper.register_hooks(module_name, hooks)` from its own `bind`.
Hooks of a module run only while that module is enabled in the running chain.
"""

from __future__ import annotations

from typing import Protocol

from sultan import Context
from sultan.kernel.coins import Coin, Coins


class AccountKeeper(Protocol):
    def declare_module_account(
        self, name: str, permissions: tuple[str, ...] = (), *, blocked: bool = True
    ) -> bytes:
        """Declare a module account at wiring time; returns its address."""
        ...

    def module_address(self, name: str) -> bytes: ...


class BankKeeper(Protocol):
    def get_balance(self, ctx: Context, address: bytes, denom: str) -> Coin: ...

    def get_all_balances(self, ctx: Context, address: bytes) -> Coins: ...

    def send_coins_from_account_to_module(
        self, ctx: Context, sender: bytes, recipient_module: str, amount: Coins
    ) -> None:
        """Raises ErrInsufficientFunds (sdk 5) when `sender` lacks `amount`."""
        ...

    def send_coins_from_module_to_account(
        self, ctx: Context, sender_module: str, recipient: bytes, amount: Coins
    ) -> None: ...

    def send_coins_from_module_to_module(
        self, ctx: Context, sender_module: str, recipient_module: str, amount: Coins
    ) -> None: ...

    def get_supply(self, ctx: Context, denom: str) -> Coin: ...


class StakingHooks(Protocol):
    """The SDK's `StakingHooks`; every method may raise an SdkError to fail the message.

    Addresses are raw bytes: `validator` is the operator (valoper) address, `consensus` the
    20-byte consensus address.
    """

    def after_validator_created(self, ctx: Context, validator: bytes) -> None: ...

    def before_validator_modified(self, ctx: Context, validator: bytes) -> None: ...

    def after_validator_removed(self, ctx: Context, consensus: bytes, validator: bytes) -> None: ...

    def after_validator_bonded(self, ctx: Context, consensus: bytes, validator: bytes) -> None: ...

    def after_validator_begin_unbonding(
        self, ctx: Context, consensus: bytes, validator: bytes
    ) -> None: ...

    def before_delegation_created(
        self, ctx: Context, delegator: bytes, validator: bytes
    ) -> None: ...

    def before_delegation_shares_modified(
        self, ctx: Context, delegator: bytes, validator: bytes
    ) -> None: ...

    def before_delegation_removed(
        self, ctx: Context, delegator: bytes, validator: bytes
    ) -> None: ...

    def after_delegation_modified(
        self, ctx: Context, delegator: bytes, validator: bytes
    ) -> None: ...
