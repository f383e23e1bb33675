"""MsgIncrement: check, call the keeper, emit an event. Nothing else lives here."""

from __future__ import annotations

from sultan import Context, Event
from sultan_counter.errors import ErrInvalidAmount, ErrInvalidSender
from sultan_counter.keeper import CounterKeeper
from sultan_counter.pb.counter.v1 import counter_pb2


def increment(
    keeper: CounterKeeper, ctx: Context, msg: counter_pb2.MsgIncrement
) -> counter_pb2.MsgIncrementResponse:
    if not msg.sender:
        raise ErrInvalidSender("sender must not be empty")
    limit = keeper.params(ctx).max_amount
    if not 1 <= msg.amount <= limit:
        raise ErrInvalidAmount(f"amount must be between 1 and {limit}, got {msg.amount}")
    new_value = keeper.add(ctx, msg.amount)
    ctx.emit(
        Event.of(
            "increment",
            ("sender", msg.sender),
            ("amount", str(msg.amount)),
            ("value", str(new_value)),
        )
    )
    return counter_pb2.MsgIncrementResponse(value=new_value)
