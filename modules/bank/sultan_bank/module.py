"""x/bank as a Sultan module: the plugin object named by the `bank` entry point.

It requires `auth` (accounts and module accounts); auth requires bank back for fees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sultan import Context, ModuleDefinition, hookimpl
from sultan.kernel.tx.context import ExecMode
from sultan_bank import genesis, msg_server, queries
from sultan_bank.keeper import BankKeeper
from sultan_bank.keys import (
    MODULE_NAME,
    MSG_MULTI_SEND,
    MSG_SEND,
    MSG_SET_SEND_ENABLED,
    MSG_UPDATE_PARAMS,
    STORE_KEY,
)
from sultan_bank.metrics import supply_gauge, transfers_total
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2

VERSION = "0.1.0"

keeper = BankKeeper()


def _bind(keepers: Mapping[str, Any]) -> None:
    keeper.accounts = keepers["auth"]


def _end_block(ctx: Context) -> None:
    if ctx.mode == ExecMode.FINALIZE:
        keeper.record_supply_metrics(ctx)


@hookimpl
def sultan_module() -> ModuleDefinition:
    return ModuleDefinition(
        name=MODULE_NAME,
        store_key=STORE_KEY,
        consensus_version=1,
        version=VERSION,
        requires=("auth",),
        keeper=keeper,
        bind=_bind,
        default_genesis=genesis.default_genesis,
        validate_genesis=genesis.validate_genesis,
        init_genesis=partial(genesis.init_genesis, keeper),
        export_genesis=partial(genesis.export_genesis, keeper),
        end_block=_end_block,
    )


@hookimpl
def sultan_msg_handlers(register: Callable[..., None]) -> None:
    register(
        MSG_SEND,
        tx_pb2.MsgSend,
        partial(msg_server.send, keeper),
        signers=lambda msg: [msg.from_address],
    )
    register(
        MSG_MULTI_SEND,
        tx_pb2.MsgMultiSend,
        partial(msg_server.multi_send, keeper),
        signers=lambda msg: [msg.inputs[0].address] if msg.inputs else [],
    )
    register(
        MSG_UPDATE_PARAMS,
        tx_pb2.MsgUpdateParams,
        partial(msg_server.update_params, keeper),
        signers=lambda msg: [msg.authority],
    )
    register(
        MSG_SET_SEND_ENABLED,
        tx_pb2.MsgSetSendEnabled,
        partial(msg_server.set_send_enabled, keeper),
        signers=lambda msg: [msg.authority],
    )


@hookimpl
def sultan_query_services(register: Callable[..., None]) -> None:
    for method, request, response, handler, _path in queries.ROUTES:
        register(queries.SERVICE + method, request, response, partial(handler, keeper))


@hookimpl
def sultan_rest_routes(register: Callable[..., None]) -> None:
    for method, _request, _response, _handler, path in queries.ROUTES:
        register("GET", path, queries.SERVICE + method)


@hookimpl
def sultan_prometheus_collectors(register: Callable[..., None]) -> None:
    register(transfers_total)
    register(supply_gauge)


@hookimpl
def sultan_cli_commands(register: Callable[..., None]) -> None:
    from sultan_bank import cli  # imported only by the CLI, not by a running node

    cli.register_commands(register)
