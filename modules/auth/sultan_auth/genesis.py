"""Auth genesis in the Cosmos JSON shape:

```json
{"params": {"max_memo_characters": "256", "tx_sig_limit": "7", "tx_size_cost_per_byte": "10",
            "sig_verify_cost_ed25519": "590", "sig_verify_cost_secp256k1": "1000"},
 "accounts": [{"@type": "/cosmos.auth.v1beta1.BaseAccount", "address": "sultan1…",
               "pub_key": null, "account_number": "0", "sequence": "0"}]}
```

Module accounts use `{"@type": "/cosmos.auth.v1beta1.ModuleAccount", "base_account": {…},
"name": …, "permissions": […]}`. As in the SDK, duplicated account numbers are renumbered to
the lowest unused ones (so every account may say "0") and accounts are stored in account
number order; the global account number continues after the largest. Every declared module
account then exists (created if missing).
"""

from __future__ import annotations

import base64
from typing import Any

import attrs

from sultan import Context
from sultan.kernel.address import ACCOUNT_CODEC, module_address, pubkey_to_address
from sultan.kernel.errors import SdkError
from sultan_auth import state
from sultan_auth.keeper import Account, AccountKeeper
from sultan_auth.keys import (
    BASE_ACCOUNT_TYPE_URL,
    ED25519_PUBKEY_TYPE_URL,
    MODULE_ACCOUNT_TYPE_URL,
    PERMISSIONS,
    SECP256K1_PUBKEY_TYPE_URL,
)

PARAM_FIELDS = (
    "max_memo_characters",
    "tx_sig_limit",
    "tx_size_cost_per_byte",
    "sig_verify_cost_ed25519",
    "sig_verify_cost_secp256k1",
)
_U64_MAX = (1 << 64) - 1


def default_genesis() -> dict[str, Any]:
    return {"params": params_to_json(state.Params()), "accounts": []}


def params_to_json(params: state.Params) -> dict[str, str]:
    return {name: str(getattr(params, name)) for name in PARAM_FIELDS}


def _uint(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{where} must be an unsigned integer string, got {value!r}")
    text = str(value)
    if not text.isdigit():
        raise ValueError(f"{where} must be an unsigned integer string, got {value!r}")
    number = int(text)
    if number > _U64_MAX:
        raise ValueError(f"{where} does not fit in uint64")
    return number


def _check_keys(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be an object, got {obj!r}")
    unknown = set(obj) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    return obj


def params_from_json(obj: Any) -> state.Params:
    obj = _check_keys(obj, set(PARAM_FIELDS), "params")
    defaults = state.Params()
    values = {
        name: _uint(obj.get(name, str(getattr(defaults, name))), f"params.{name}")
        for name in PARAM_FIELDS
    }
    params = state.Params(**values)
    # The SDK's Params.Validate: every value must be positive.
    for name in PARAM_FIELDS:
        if getattr(params, name) == 0:
            raise ValueError(f"params.{name} must be positive")
    return params


def _pub_key_from_json(obj: Any, where: str) -> tuple[str, bytes]:
    if obj is None:
        return "", b""
    obj = _check_keys(obj, {"@type", "key"}, where)
    type_url = obj.get("@type")
    if type_url not in (SECP256K1_PUBKEY_TYPE_URL, ED25519_PUBKEY_TYPE_URL):
        raise ValueError(f"{where}: unsupported public key type {type_url!r}")
    try:
        key = base64.b64decode(obj.get("key", ""), validate=True)
    except (ValueError, TypeError):
        raise ValueError(f"{where}.key must be base64") from None
    return type_url, key


def _base_from_json(obj: Any, where: str) -> Account:
    obj = _check_keys(obj, {"address", "pub_key", "account_number", "sequence"}, where)
    address_text = obj.get("address", "")
    try:
        address = ACCOUNT_CODEC.to_bytes(address_text)
    except SdkError as exc:
        raise ValueError(f"{where}.address {address_text!r}: {exc.message}") from None
    type_url, key = _pub_key_from_json(obj.get("pub_key"), f"{where}.pub_key")
    if type_url == SECP256K1_PUBKEY_TYPE_URL:
        try:
            derived = pubkey_to_address(key)
        except SdkError as exc:
            raise ValueError(f"{where}.pub_key: {exc.message}") from None
        if derived != address:
            raise ValueError(f"{where}: account address and pubkey address do not match")
    return Account(
        address,
        _uint(obj.get("account_number", "0"), f"{where}.account_number"),
        _uint(obj.get("sequence", "0"), f"{where}.sequence"),
        type_url,
        key,
    )


def account_from_json(obj: Any, where: str) -> Account:
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be an object")
    type_url = obj.get("@type")
    if type_url == BASE_ACCOUNT_TYPE_URL:
        return _base_from_json({k: v for k, v in obj.items() if k != "@type"}, where)
    if type_url == MODULE_ACCOUNT_TYPE_URL:
        obj = _check_keys(obj, {"@type", "base_account", "name", "permissions"}, where)
        base = _base_from_json(obj.get("base_account", {}), f"{where}.base_account")
        name = obj.get("name", "")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}: module account name cannot be blank")
        if base.address != module_address(name):
            raise ValueError(
                f"{where}: address {base.address_string} cannot be derived from the module "
                f"name '{name}'"
            )
        permissions = obj.get("permissions") or []
        if not isinstance(permissions, list) or not all(
            isinstance(p, str) and p in PERMISSIONS for p in permissions
        ):
            raise ValueError(f"{where}: permissions must be a list of {sorted(PERMISSIONS)}")
        return Account(
            base.address,
            base.account_number,
            base.sequence,
            name=name,
            permissions=tuple(sorted(set(permissions))),
        )
    raise ValueError(f"{where}: unsupported account type {type_url!r}")


def account_to_json(account: Account) -> dict[str, Any]:
    base: dict[str, Any] = {
        "address": account.address_string,
        "pub_key": None,
        "account_number": str(account.account_number),
        "sequence": str(account.sequence),
    }
    if account.pub_key_type:
        base["pub_key"] = {
            "@type": account.pub_key_type,
            "key": base64.b64encode(account.pub_key).decode(),
        }
    if not account.is_module_account:
        return {"@type": BASE_ACCOUNT_TYPE_URL, **base}
    return {
        "@type": MODULE_ACCOUNT_TYPE_URL,
        "base_account": base,
        "name": account.name,
        "permissions": list(account.permissions),
    }


def parse_genesis(data: Any) -> tuple[state.Params, list[Account]]:
    data = _check_keys(data, {"params", "accounts"}, "auth genesis")
    params = params_from_json(data.get("params", {}))
    raw_accounts = data.get("accounts", [])
    if not isinstance(raw_accounts, list):
        raise ValueError("accounts must be a list")
    accounts = [account_from_json(a, f"accounts[{i}]") for i, a in enumerate(raw_accounts)]
    seen: set[bytes] = set()
    for account in accounts:
        if account.address in seen:
            raise ValueError(
                f"duplicate account found in genesis state; address: {account.address_string}"
            )
        seen.add(account.address)
    return params, accounts


def validate_genesis(data: dict[str, Any]) -> None:
    parse_genesis(data)


def sanitize_accounts(accounts: list[Account]) -> list[Account]:
    """The SDK's SanitizeGenesisAccounts: renumber duplicates, then sort by number."""
    seen: set[int] = set()
    duplicates: dict[int, list[int]] = {}
    for index, account in enumerate(accounts):
        if account.account_number in seen:
            duplicates.setdefault(account.account_number, []).append(index)
        else:
            seen.add(account.account_number)
    fixed = list(accounts)
    next_free = 0
    for number in sorted(duplicates):
        for index in duplicates[number]:
            while next_free in seen:
                next_free += 1
            fixed[index] = attrs.evolve(fixed[index], account_number=next_free)
            seen.add(next_free)
    return sorted(fixed, key=lambda a: a.account_number)


def init_genesis(keeper: AccountKeeper, ctx: Context, data: dict[str, Any]) -> None:
    params, accounts = parse_genesis(data)
    keeper.set_params(ctx, params)
    last: int | None = None
    for account in sanitize_accounts(accounts):
        while last is None or last < account.account_number:
            last = keeper.next_account_number(ctx)
        keeper.set_account(ctx, account)
    for spec in keeper.module_account_specs():
        keeper.get_module_account(ctx, spec.name)


def export_genesis(keeper: AccountKeeper, ctx: Context) -> dict[str, Any]:
    return {
        "params": params_to_json(keeper.params(ctx)),
        "accounts": [account_to_json(a) for a in keeper.iterate_accounts(ctx)],
    }
