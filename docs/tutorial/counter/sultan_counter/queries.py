"""Query/Count and Query/Params — served over gRPC, REST and abci_query alike."""

from __future__ import annotations

from sultan import Context
from sultan_counter.keeper import CounterKeeper
from sultan_counter.pb.counter.v1 import counter_pb2


def count(
    keeper: CounterKeeper, ctx: Context, req: counter_pb2.QueryCountRequest
) -> counter_pb2.QueryCountResponse:
    return counter_pb2.QueryCountResponse(
        value=keeper.value(ctx), increments=keeper.increments(ctx)
    )


def params(
    keeper: CounterKeeper, ctx: Context, req: counter_pb2.QueryParamsRequest
) -> counter_pb2.QueryParamsResponse:
    p = keeper.params(ctx)
    return counter_pb2.QueryParamsResponse(params=counter_pb2.Params(max_amount=p.max_amount))
