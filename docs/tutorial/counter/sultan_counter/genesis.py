"""Genesis: {"value": "0", "params": {"max_amount": "1000"}} (integers as strings, as Cosmos)."""

from __future__ import annotations

from typing import Any

from sultan import Context
from sultan_counter.keeper import CounterKeeper
from sultan_counter.state import Params


def default_genesis() -> dict[str, Any]:
    return {"value": "0", "params": {"max_amount": "1000"}}


def _uint(text: Any, where: str) -> int:
    if not isinstance(text, str) or not text.isdigit():
        raise ValueError(f"{where} must be a non-negative integer string, got {text!r}")
    value = int(text)
    if value >= 1 << 64:
        raise ValueError(f"{where} does not fit in uint64")
    return value


def validate_genesis(state: dict[str, Any]) -> None:
    if set(state) - {"value", "params"}:
        raise ValueError(f"unknown fields {sorted(set(state) - {'value', 'params'})}")
    _uint(state.get("value", "0"), "value")
    if _uint(state.get("params", {}).get("max_amount", "1000"), "params.max_amount") == 0:
        raise ValueError("params.max_amount must be positive")


def init_genesis(keeper: CounterKeeper, ctx: Context, state: dict[str, Any]) -> None:
    keeper.set_params(
        ctx, Params(max_amount=int(state.get("params", {}).get("max_amount", "1000")))
    )
    value = int(state.get("value", "0"))
    if value:
        keeper.add(ctx, value)


def export_genesis(keeper: CounterKeeper, ctx: Context) -> dict[str, Any]:
    return {
        "value": str(keeper.value(ctx)),
        "params": {"max_amount": str(keeper.params(ctx).max_amount)},
    }
