"""The counter's state, declared once as typed collections."""

from __future__ import annotations

import attrs

from sultan.kernel.store.collections import U64, Item, RecordCodec, Schema
from sultan_counter.keys import INCREMENTS_PREFIX, PARAMS_PREFIX, VALUE_PREFIX


@attrs.frozen
class Params:
    max_amount: int = 1000


value = Item(VALUE_PREFIX, "value", U64)
increments = Item(INCREMENTS_PREFIX, "increments", U64)
params = Item(PARAMS_PREFIX, "params", RecordCodec(Params))

SCHEMA = Schema(value, increments, params)
