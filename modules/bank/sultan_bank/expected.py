"""What bank needs from the auth module's keeper (received through `bind`)."""

from __future__ import annotations

from typing import Protocol

from sultan import Context


class ModuleAccount(Protocol):
    """A module's account as auth returns it."""

    @property
    def address(self) -> bytes: ...

    @property
    def name(self) -> str: ...

    def has_permission(self, permission: str) -> bool: ...


class AccountKeeper(Protocol):
    """The auth keeper: accounts and module accounts."""

    def has_account(self, ctx: Context, address: bytes) -> bool:
        """Whether an account exists at `address`."""
        ...

    def ensure_account(self, ctx: Context, address: bytes) -> object:
        """The account at `address`, created with the next account number if missing."""
        ...

    def module_address(self, name: str) -> bytes:
        """sha256(name)[:20], the address of module `name`'s account."""
        ...

    def get_module_account(self, ctx: Context, name: str) -> ModuleAccount:
        """Module `name`'s account (created on first use); undeclared names raise."""
        ...

    def declare_module_account(
        self, name: str, permissions: tuple[str, ...] = (), *, blocked: bool = True
    ) -> bytes:
        """Declare a module account at wiring time; returns its address."""
        ...

    def is_blocked(self, address: bytes) -> bool:
        """True for module accounts that may not receive funds by MsgSend/MsgMultiSend."""
        ...
