"""The counter's keeper: the only code that touches its store."""

from __future__ import annotations

from sultan import Context
from sultan_counter import state
from sultan_counter.keys import STORE_KEY


class CounterKeeper:
    def value(self, ctx: Context) -> int:
        return state.value.get(ctx.kv(STORE_KEY), 0) or 0

    def increments(self, ctx: Context) -> int:
        return state.increments.get(ctx.kv(STORE_KEY), 0) or 0

    def params(self, ctx: Context) -> state.Params:
        return state.params.get(ctx.kv(STORE_KEY)) or state.Params()

    def set_params(self, ctx: Context, params: state.Params) -> None:
        state.params.set(ctx.kv(STORE_KEY), params)

    def add(self, ctx: Context, amount: int) -> int:
        kv = ctx.kv(STORE_KEY)
        new_value = self.value(ctx) + amount
        state.value.set(kv, new_value)
        state.increments.set(kv, self.increments(ctx) + 1)
        return new_value
