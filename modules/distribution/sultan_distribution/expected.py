"""What distribution needs from auth, bank and staking (received through `bind`)."""

from __future__ import annotations

from typing import Protocol

from sultan import Context
from sultan.kernel.coins import Coin, Coins


class AccountKeeper(Protocol):
    def declare_module_account(
        self, name: str, permissions: tuple[str, ...] = (), *, blocked: bool = True
    ) -> bytes: ...

    def module_address(self, name: str) -> bytes: ...

    def is_blocked(self, address: bytes) -> bool: ...


class BankKeeper(Protocol):
    def get_all_balances(self, ctx: Context, address: bytes) -> Coins: ...

    def get_balance(self, ctx: Context, address: bytes, denom: str) -> Coin: ...

    def send_coins_from_module_to_module(
        self, ctx: Context, sender_module: str, recipient_module: str, amount: Coins
    ) -> None: ...

    def send_coins_from_module_to_account(
        self, ctx: Context, sender_module: str, recipient: bytes, amount: Coins
    ) -> None: ...

    def send_coins_from_account_to_module(
        self, ctx: Context, sender: bytes, recipient_module: str, amount: Coins
    ) -> None: ...

    def mint_coins(self, ctx: Context, module: str, amount: Coins) -> None: ...


class Validator(Protocol):
    """A staking validator as distribution reads it (LegacyDec values as atomics)."""

    @property
    def operator(self) -> bytes: ...

    @property
    def consensus_pubkey(self) -> bytes: ...

    @property
    def tokens(self) -> int: ...

    @property
    def delegator_shares(self) -> int: ...

    @property
    def commission_rate(self) -> int: ...


class StakingKeeper(Protocol):
    def validator(self, ctx: Context, operator: bytes) -> Validator | None: ...

    def validator_by_cons_addr(self, ctx: Context, consensus: bytes) -> Validator | None: ...

    def delegation(self, ctx: Context, delegator: bytes, operator: bytes) -> int | None:
        """The delegation's shares (LegacyDec atomics), or None."""
        ...

    def delegator_delegations(self, ctx: Context, delegator: bytes) -> list[tuple[bytes, int]]:
        """(operator, shares) of every delegation of `delegator`."""
        ...

    def last_validator_powers(self, ctx: Context) -> dict[bytes, int]: ...

    def bond_denom(self, ctx: Context) -> str: ...

    def tokens_from_shares(self, v: Validator, shares: int) -> int: ...

    def tokens_from_shares_truncated(self, v: Validator, shares: int) -> int: ...

    def register_hooks(self, module: str, hooks: object) -> None:
        """Make `hooks` (an object with staking's StakingHooks methods) fire on changes."""
        ...
