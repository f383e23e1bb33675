"""The account keeper: the only code that reads or writes the auth store.

Other modules use it through the Protocols in their own `expected.py`: `get_account`,
`has_account`, `ensure_account`, `module_address`, `get_module_account`, `address_codec`
and `params`. Module accounts are declared (name, permissions, blocked) while modules are
wired — `declare_module_account` from a module's `bind` — and their account records are
created at genesis or on first use, as the SDK's `GetModuleAccount` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from sultan import Context
from sultan.kernel.address import ACCOUNT_CODEC, AddressCodec, module_address
from sultan.kernel.errors import ErrInvalidPubKey, ErrUnknownAddress
from sultan.kernel.store.branch import KVReader
from sultan_auth import state
from sultan_auth.keys import (
    BASE_ACCOUNT_TYPE_URL,
    FEE_COLLECTOR_NAME,
    MODULE_ACCOUNT_TYPE_URL,
    PERMISSIONS,
    STORE_KEY,
)
from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2


@attrs.frozen
class Account:
    """An account: address bytes plus its stored record (module accounts have a name)."""

    address: bytes
    account_number: int
    sequence: int = 0
    pub_key_type: str = ""
    pub_key: bytes = b""
    name: str = ""
    permissions: tuple[str, ...] = ()

    @property
    def is_module_account(self) -> bool:
        return bool(self.name)

    @property
    def address_string(self) -> str:
        return ACCOUNT_CODEC.to_string(self.address)

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions

    def pub_key_any(self) -> Any | None:
        if not self.pub_key_type:
            return None
        from google.protobuf import any_pb2

        from sultan.kernel.tx.decode import PUBKEY_TYPES

        cls = PUBKEY_TYPES[self.pub_key_type]
        value = cls(key=self.pub_key).SerializeToString()
        return any_pb2.Any(type_url=self.pub_key_type, value=value)

    def to_base_proto(self) -> Any:
        base = auth_pb2.BaseAccount(
            address=self.address_string,
            account_number=self.account_number,
            sequence=self.sequence,
        )
        pk = self.pub_key_any()
        if pk is not None:
            base.pub_key.CopyFrom(pk)
        return base

    def to_proto(self) -> Any:
        """BaseAccount or ModuleAccount (the message an `Any` of AccountI carries)."""
        base = self.to_base_proto()
        if not self.is_module_account:
            return base
        return auth_pb2.ModuleAccount(
            base_account=base, name=self.name, permissions=list(self.permissions)
        )

    def to_any(self) -> Any:
        from google.protobuf import any_pb2

        msg = self.to_proto()
        url = MODULE_ACCOUNT_TYPE_URL if self.is_module_account else BASE_ACCOUNT_TYPE_URL
        return any_pb2.Any(type_url=url, value=msg.SerializeToString())

    def _record(self) -> state.AccountRecord:
        return state.AccountRecord(
            self.account_number,
            self.sequence,
            self.pub_key_type,
            self.pub_key,
            self.name,
            tuple(self.permissions),
        )

    @classmethod
    def _from_record(cls, address: bytes, rec: state.AccountRecord) -> Account:
        return cls(
            address,
            rec.account_number,
            rec.sequence,
            rec.pub_key_type,
            rec.pub_key,
            rec.module_name,
            tuple(rec.permissions),
        )


@attrs.frozen
class ModuleAccountSpec:
    """A module account declared at wiring time (the SDK's `maccPerms` entry)."""

    name: str
    permissions: tuple[str, ...]
    blocked: bool


class AccountKeeper:
    """Accounts, module accounts and auth params."""

    address_codec: AddressCodec = ACCOUNT_CODEC

    def __init__(self) -> None:
        self._module_accounts: dict[str, ModuleAccountSpec] = {}
        self.reset_declarations()

    def reset_declarations(self) -> None:
        """Forget module accounts declared by a previously loaded module set (the keeper is
        a process-wide object: a chain without staking must not see staking's pools)."""
        self._module_accounts = {}
        self.declare_module_account(FEE_COLLECTOR_NAME)

    # -- module accounts (wiring time) ----------------------------------------------------

    def declare_module_account(
        self, name: str, permissions: tuple[str, ...] = (), *, blocked: bool = True
    ) -> bytes:
        """Declare module `name`'s account; call from the module's `bind`. Returns its address.

        `blocked` accounts cannot receive funds through MsgSend/MsgMultiSend (the SDK's
        blocked module addresses). Declaring one name twice with different settings fails.
        """
        unknown = set(permissions) - PERMISSIONS
        if unknown:
            raise ValueError(f"module account {name!r}: unknown permissions {sorted(unknown)}")
        spec = ModuleAccountSpec(name, tuple(sorted(set(permissions))), blocked)
        existing = self._module_accounts.get(name)
        if existing is not None and existing != spec:
            raise ValueError(f"module account {name!r} is already declared as {existing}")
        self._module_accounts[name] = spec
        return module_address(name)

    def module_address(self, name: str) -> bytes:
        return module_address(name)

    def module_account_specs(self) -> list[ModuleAccountSpec]:
        return [self._module_accounts[n] for n in sorted(self._module_accounts)]

    def blocked_addresses(self) -> frozenset[bytes]:
        return frozenset(
            module_address(s.name) for s in self._module_accounts.values() if s.blocked
        )

    def is_blocked(self, address: bytes) -> bool:
        return address in self.blocked_addresses()

    # -- params ---------------------------------------------------------------------------

    def params(self, ctx: Context) -> state.Params:
        return state.params.get(ctx.kv(STORE_KEY)) or state.Params()

    def set_params(self, ctx: Context, params: state.Params) -> None:
        state.params.set(ctx.kv(STORE_KEY), params)

    # -- accounts -------------------------------------------------------------------------

    def get_account(self, ctx: Context, address: bytes) -> Account | None:
        rec = state.accounts.get(ctx.kv(STORE_KEY), bytes(address))
        return None if rec is None else Account._from_record(bytes(address), rec)

    def has_account(self, ctx: Context, address: bytes) -> bool:
        return state.accounts.has(ctx.kv(STORE_KEY), bytes(address))

    def set_account(self, ctx: Context, account: Account) -> None:
        kv = ctx.kv(STORE_KEY)
        state.accounts.set(kv, account.address, account._record())
        state.account_by_number.set(kv, account.account_number, account.address)

    def next_account_number(self, ctx: Context) -> int:
        return state.next_account_number.next(ctx.kv(STORE_KEY))

    def new_account(self, ctx: Context, address: bytes) -> Account:
        """A new base account at `address` with the next account number (not yet stored)."""
        return Account(bytes(address), self.next_account_number(ctx))

    def ensure_account(self, ctx: Context, address: bytes) -> Account:
        """The account at `address`, created (next number, sequence 0) if it does not exist."""
        account = self.get_account(ctx, address)
        if account is None:
            account = self.new_account(ctx, address)
            self.set_account(ctx, account)
        return account

    def account_by_number(self, ctx: Context, number: int) -> bytes | None:
        return state.account_by_number.get(ctx.kv(STORE_KEY), number)

    def iterate_accounts(self, ctx: Context) -> Iterator[Account]:
        for address, rec in state.accounts.items(ctx.kv(STORE_KEY)):
            yield Account._from_record(address, rec)

    def set_pub_key(self, ctx: Context, account: Account, type_url: str, key: bytes) -> Account:
        if account.pub_key_type:
            raise ErrInvalidPubKey(f"account {account.address_string} already has a pubkey")
        updated = attrs.evolve(account, pub_key_type=type_url, pub_key=bytes(key))
        self.set_account(ctx, updated)
        return updated

    def increment_sequence(self, ctx: Context, account: Account) -> Account:
        updated = attrs.evolve(account, sequence=account.sequence + 1)
        self.set_account(ctx, updated)
        return updated

    # -- module account records -----------------------------------------------------------

    def get_module_account(self, ctx: Context, name: str) -> Account:
        """Module `name`'s account, created on first use; undeclared names raise."""
        spec = self._module_accounts.get(name)
        if spec is None:
            raise ErrUnknownAddress(f"module account {name} does not exist")
        address = module_address(name)
        account = self.get_account(ctx, address)
        if account is not None and account.is_module_account:
            return account
        number = account.account_number if account is not None else None
        if number is None:
            number = self.next_account_number(ctx)
        module_account = Account(
            address,
            number,
            account.sequence if account is not None else 0,
            name=name,
            permissions=spec.permissions,
        )
        self.set_account(ctx, module_account)
        return module_account

    def view_module_account(self, ctx: Context, name: str) -> Account | None:
        """Module `name`'s account for reading (queries): never writes.

        A declared module whose record does not exist yet is shown as it will be created
        (account number 0), the way a query against the SDK's cached context would.
        """
        spec = self._module_accounts.get(name)
        if spec is None:
            return None
        address = module_address(name)
        account = self.get_account(ctx, address)
        if account is not None and account.is_module_account:
            return account
        return Account(address, 0, 0, name=name, permissions=spec.permissions)

    def store(self, ctx: Context) -> KVReader:
        return ctx.kv(STORE_KEY)
