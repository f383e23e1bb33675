"""The counter as a Sultan module: the plugin object named by the entry point.

Everything the node needs to know is declared here, through `sultan.hookimpl`s.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sultan import ModuleDefinition, hookimpl
from sultan_counter import genesis, msg_server, queries
from sultan_counter.keeper import CounterKeeper
from sultan_counter.keys import MODULE_NAME, STORE_KEY
from sultan_counter.pb.counter.v1 import counter_pb2

keeper = CounterKeeper()


@hookimpl
def sultan_module() -> ModuleDefinition:
    return ModuleDefinition(
        name=MODULE_NAME,
        store_key=STORE_KEY,
        consensus_version=1,
        version="0.1.0",
        keeper=keeper,
        default_genesis=genesis.default_genesis,
        validate_genesis=genesis.validate_genesis,
        init_genesis=partial(genesis.init_genesis, keeper),
        export_genesis=partial(genesis.export_genesis, keeper),
    )


@hookimpl
def sultan_msg_handlers(register: Callable[..., None]) -> None:
    register(
        "/counter.v1.MsgIncrement",
        counter_pb2.MsgIncrement,
        partial(msg_server.increment, keeper),
        signers=lambda msg: [msg.sender],
    )


@hookimpl
def sultan_query_services(register: Callable[..., None]) -> None:
    register(
        "/counter.v1.Query/Count",
        counter_pb2.QueryCountRequest,
        counter_pb2.QueryCountResponse,
        partial(queries.count, keeper),
    )
    register(
        "/counter.v1.Query/Params",
        counter_pb2.QueryParamsRequest,
        counter_pb2.QueryParamsResponse,
        partial(queries.params, keeper),
    )


@hookimpl
def sultan_rest_routes(register: Callable[..., None]) -> None:
    register("GET", "/counter/v1/count", "/counter.v1.Query/Count")
    register("GET", "/counter/v1/params", "/counter.v1.Query/Params")
