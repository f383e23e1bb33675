"""Bank genesis in the Cosmos JSON shape:

```json
{"params": {"send_enabled": [], "default_send_enabled": true},
 "balances": [{"address": "sultan1…", "coins": [{"denom": "usultan", "amount": "1000"}]}],
 "supply": [],
 "denom_metadata": [],
 "send_enabled": [{"denom": "usultan", "enabled": true}]}
```

`supply` must equal the sum of the balances, or be empty (then it is computed). Every
address holding a balance gets an auth account (as `add-genesis-account` makes one), so a
funded address can pay fees from the first block.
"""

from __future__ import annotations

from typing import Any

from sultan import Context
from sultan.kernel.address import ACCOUNT_CODEC
from sultan.kernel.coins import MAX_AMOUNT, Coin, Coins, is_valid_denom
from sultan.kernel.errors import SdkError
from sultan_bank import state
from sultan_bank.keeper import BankKeeper
from sultan_bank.pb.cosmos.bank.v1beta1 import bank_pb2

_TOP_FIELDS = {"params", "balances", "supply", "denom_metadata", "send_enabled"}
_METADATA_FIELDS = {
    "description",
    "denom_units",
    "base",
    "display",
    "name",
    "symbol",
    "uri",
    "uri_hash",
}


def default_genesis() -> dict[str, Any]:
    return {
        "params": {"send_enabled": [], "default_send_enabled": True},
        "balances": [],
        "supply": [],
        "denom_metadata": [],
        "send_enabled": [],
    }


def _obj(value: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object, got {value!r}")
    unknown = set(value) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list")
    return value


def _coins(value: Any, where: str) -> Coins:
    try:
        return Coins.from_dicts(_list(value, where), where)
    except SdkError as exc:
        raise ValueError(f"{where}: {exc.message}") from None


def _send_enabled_entries(value: Any, where: str) -> list[tuple[str, bool]]:
    entries = []
    for i, item in enumerate(_list(value, where)):
        item = _obj(item, {"denom", "enabled"}, f"{where}[{i}]")
        denom, enabled = item.get("denom", ""), item.get("enabled", False)
        if not is_valid_denom(denom):
            raise ValueError(f"{where}[{i}]: invalid denom: {denom}")
        if not isinstance(enabled, bool):
            raise ValueError(f"{where}[{i}].enabled must be true or false")
        entries.append((denom, enabled))
    return entries


def metadata_from_json(value: Any, where: str) -> Any:
    value = _obj(value, _METADATA_FIELDS, where)
    units = []
    for i, unit in enumerate(_list(value.get("denom_units"), f"{where}.denom_units")):
        unit = _obj(unit, {"denom", "exponent", "aliases"}, f"{where}.denom_units[{i}]")
        exponent = unit.get("exponent", 0)
        if isinstance(exponent, bool) or not isinstance(exponent, int) or not 0 <= exponent < 2**32:
            raise ValueError(f"{where}.denom_units[{i}].exponent must be a uint32")
        aliases = _list(unit.get("aliases"), f"{where}.denom_units[{i}].aliases")
        units.append(
            bank_pb2.DenomUnit(denom=str(unit.get("denom", "")), exponent=exponent, aliases=aliases)
        )
    strings = {k: value.get(k, "") for k in _METADATA_FIELDS - {"denom_units"}}
    for key, text in strings.items():
        if not isinstance(text, str):
            raise ValueError(f"{where}.{key} must be a string")
    metadata = bank_pb2.Metadata(denom_units=units, **strings)
    validate_metadata(metadata, where)
    return metadata


def metadata_to_json(metadata: Any) -> dict[str, Any]:
    return {
        "description": metadata.description,
        "denom_units": [
            {"denom": u.denom, "exponent": u.exponent, "aliases": list(u.aliases)}
            for u in metadata.denom_units
        ],
        "base": metadata.base,
        "display": metadata.display,
        "name": metadata.name,
        "symbol": metadata.symbol,
        "uri": metadata.uri,
        "uri_hash": metadata.uri_hash,
    }


def validate_metadata(m: Any, where: str = "metadata") -> None:
    """The SDK's `Metadata.Validate`."""
    if not m.name.strip():
        raise ValueError(f"{where}: name field cannot be blank")
    if not m.symbol.strip():
        raise ValueError(f"{where}: symbol field cannot be blank")
    if not is_valid_denom(m.base):
        raise ValueError(f"{where}: invalid metadata base denom: {m.base}")
    if not is_valid_denom(m.display):
        raise ValueError(f"{where}: invalid metadata display denom: {m.display}")
    seen: set[str] = set()
    has_display = False
    exponent = 0
    for i, unit in enumerate(m.denom_units):
        if i == 0:
            if unit.denom != m.base:
                raise ValueError(
                    f"{where}: metadata's first denomination unit must be the one with base "
                    f"denom '{m.base}'"
                )
            if unit.exponent != 0:
                raise ValueError(
                    f"{where}: the exponent for base denomination unit {m.base} must be 0"
                )
        elif exponent >= unit.exponent:
            raise ValueError(f"{where}: the denomination units must be sorted in ascending order")
        exponent = unit.exponent
        if unit.denom in seen:
            raise ValueError(f"{where}: duplicate denomination unit {unit.denom}")
        if not is_valid_denom(unit.denom):
            raise ValueError(f"{where}: invalid denom unit: {unit.denom}")
        for alias in unit.aliases:
            if not is_valid_denom(alias) or alias in seen:
                raise ValueError(f"{where}: invalid or duplicate alias {alias!r}")
            seen.add(alias)
        has_display = has_display or unit.denom == m.display
        seen.add(unit.denom)
    if not has_display:
        raise ValueError(
            f"{where}: metadata must contain a denomination unit with display denom '{m.display}'"
        )


def parse_genesis(data: Any) -> dict[str, Any]:
    """Validated genesis: params, balances [(address, coins)], supply, metadata, send_enabled."""
    data = _obj(data, _TOP_FIELDS, "bank genesis")
    params_json = _obj(data.get("params", {}), {"send_enabled", "default_send_enabled"}, "params")
    default_send = params_json.get("default_send_enabled", True)
    if not isinstance(default_send, bool):
        raise ValueError("params.default_send_enabled must be true or false")
    legacy = _send_enabled_entries(params_json.get("send_enabled"), "params.send_enabled")
    entries = _send_enabled_entries(data.get("send_enabled"), "send_enabled")
    if legacy and entries:
        raise ValueError(
            "send_enabled defined in both the send_enabled field and in params (deprecated)"
        )
    seen_denoms: set[str] = set()
    for denom, _enabled in legacy + entries:
        if denom in seen_denoms:
            raise ValueError(f"duplicate send enabled found: '{denom}'")
        seen_denoms.add(denom)

    balances: list[tuple[bytes, Coins]] = []
    seen_addresses: set[bytes] = set()
    # Summed per denom as plain ints (amounts are non-negative, so a running total overflows
    # exactly when the final one does): adding Coins per balance dominated big genesis files.
    totals: dict[str, int] = {}
    for i, item in enumerate(_list(data.get("balances"), "balances")):
        item = _obj(item, {"address", "coins"}, f"balances[{i}]")
        text = item.get("address", "")
        try:
            address = ACCOUNT_CODEC.to_bytes(text)
        except SdkError as exc:
            raise ValueError(f"balances[{i}].address {text!r}: {exc.message}") from None
        if address in seen_addresses:
            raise ValueError(f"duplicate balance for address {text}")
        seen_addresses.add(address)
        coins = _coins(item.get("coins"), f"balances[{i}].coins")
        for coin in coins:
            totals[coin.denom] = totals.get(coin.denom, 0) + coin.amount
        balances.append((address, coins))
    for denom, amount in sorted(totals.items()):
        if amount > MAX_AMOUNT:
            raise ValueError(f"balances: integer overflow adding {denom}: result exceeds 256 bits")
    total = Coins.new(*(Coin(denom, amount) for denom, amount in totals.items()))

    supply = _coins(data.get("supply"), "supply")
    if supply and supply != total:
        raise ValueError(f"genesis supply is incorrect, expected {supply}, got {total}")

    metadata = []
    seen_bases: set[str] = set()
    for i, item in enumerate(_list(data.get("denom_metadata"), "denom_metadata")):
        m = metadata_from_json(item, f"denom_metadata[{i}]")
        if m.base in seen_bases:
            raise ValueError(f"duplicate client metadata for denom {m.base}")
        seen_bases.add(m.base)
        metadata.append(m)
    return {
        "params": state.Params(default_send_enabled=default_send),
        "send_enabled": legacy + entries,
        "balances": balances,
        "supply": total,
        "metadata": metadata,
    }


def validate_genesis(data: dict[str, Any]) -> None:
    parse_genesis(data)


def init_genesis(keeper: BankKeeper, ctx: Context, data: dict[str, Any]) -> None:
    parsed = parse_genesis(data)
    keeper.set_params(ctx, parsed["params"])
    for denom, enabled in parsed["send_enabled"]:
        keeper.set_send_enabled(ctx, denom, enabled)
    for address, coins in sorted(parsed["balances"]):
        for coin in coins:
            keeper._set_balance(ctx, address, coin)
        keeper.ak.ensure_account(ctx, address)
    for coin in parsed["supply"]:
        keeper.set_supply(ctx, coin)
    for metadata in parsed["metadata"]:
        keeper.set_denom_metadata(ctx, metadata)


def export_genesis(keeper: BankKeeper, ctx: Context) -> dict[str, Any]:
    return {
        "params": {
            "send_enabled": [],
            "default_send_enabled": keeper.params(ctx).default_send_enabled,
        },
        "balances": [
            {"address": ACCOUNT_CODEC.to_string(address), "coins": coins.to_dicts()}
            for address, coins in keeper.iterate_balances(ctx)
        ],
        "supply": keeper.total_supply(ctx).to_dicts(),
        "denom_metadata": [metadata_to_json(m) for m in keeper.iterate_denom_metadata(ctx)],
        "send_enabled": [
            {"denom": denom, "enabled": enabled}
            for denom, enabled in keeper.iterate_send_enabled(ctx)
        ],
    }
