"""x/staking as a Sultan module: the plugin object named by the `staking` entry point.

It requires `auth` (the bonded/not-bonded pool module accounts, the gov authority address)
and `bank` (moving tokens); bank must come before staking in plugins.toml so that gentxs
find their operators funded. Other modules react to staking through hooks registered with
`StakingKeeper.register_hooks` (see expected.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from sultan import Context, ModuleDefinition, hookimpl
from sultan.kernel.address import VALIDATOR_CODEC
from sultan.kernel.tx.context import ExecMode
from sultan_staking import genesis, keys, msg_server, queries
from sultan_staking.keeper import StakingKeeper
from sultan_staking.metrics import staking_collector
from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2

VERSION = "0.1.0"

keeper = StakingKeeper()


def _bind(keepers: Mapping[str, Any]) -> None:
    keeper.accounts = keepers["auth"]
    keeper.bank = keepers["bank"]
    keeper.accounts.declare_module_account(keys.BONDED_POOL, ("burner", "staking"))
    keeper.accounts.declare_module_account(keys.NOT_BONDED_POOL, ("burner", "staking"))


def _begin_block(ctx: Context) -> None:
    keeper.track_historical_info(ctx)


def _end_block(ctx: Context) -> list[Any]:
    updates = keeper.end_block(ctx)
    if ctx.mode == ExecMode.FINALIZE:
        denom = keeper.bond_denom(ctx)
        staking_collector.update(
            {
                VALIDATOR_CODEC.to_string(op): p
                for op, p in keeper.last_validator_powers(ctx).items()
            },
            keeper.total_bonded_tokens(ctx),
            keeper.bk.get_supply(ctx, denom).amount,
            keeper.unbonding_queue_length(ctx),
        )
    return updates


@hookimpl
def sultan_module() -> ModuleDefinition:
    return ModuleDefinition(
        name=keys.MODULE_NAME,
        store_key=keys.STORE_KEY,
        consensus_version=1,
        version=VERSION,
        requires=("auth", "bank"),
        keeper=keeper,
        bind=_bind,
        default_genesis=genesis.default_genesis,
        validate_genesis=genesis.validate_genesis,
        init_genesis=partial(genesis.init_genesis, keeper),
        export_genesis=partial(genesis.export_genesis, keeper),
        begin_block=_begin_block,
        end_block=_end_block,
    )


def _delegator(msg: Any) -> list[str]:
    return [msg.delegator_address]


@hookimpl
def sultan_msg_handlers(register: Callable[..., None]) -> None:
    register(
        keys.MSG_CREATE_VALIDATOR,
        tx_pb2.MsgCreateValidator,
        partial(msg_server.create_validator, keeper),
        signers=msg_server.signers_create_validator,
    )
    register(
        keys.MSG_EDIT_VALIDATOR,
        tx_pb2.MsgEditValidator,
        partial(msg_server.edit_validator, keeper),
        signers=msg_server.signers_edit_validator,
    )
    register(
        keys.MSG_DELEGATE,
        tx_pb2.MsgDelegate,
        partial(msg_server.delegate, keeper),
        signers=_delegator,
    )
    register(
        keys.MSG_UNDELEGATE,
        tx_pb2.MsgUndelegate,
        partial(msg_server.undelegate, keeper),
        signers=_delegator,
    )
    register(
        keys.MSG_BEGIN_REDELEGATE,
        tx_pb2.MsgBeginRedelegate,
        partial(msg_server.begin_redelegate, keeper),
        signers=_delegator,
    )
    register(
        keys.MSG_CANCEL_UNBONDING,
        tx_pb2.MsgCancelUnbondingDelegation,
        partial(msg_server.cancel_unbonding, keeper),
        signers=_delegator,
    )
    register(
        keys.MSG_UPDATE_PARAMS,
        tx_pb2.MsgUpdateParams,
        partial(msg_server.update_params, keeper),
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
    register(staking_collector)


@hookimpl
def sultan_cli_commands(register: Callable[..., None]) -> None:
    from sultan_staking import cli  # imported only by the CLI, not by a running node

    cli.register_commands(register)


@hookimpl
def sultan_init_home(home: Path, chain_id: str, moniker: str) -> None:
    """`sultan init`: make this node's validator, self-delegated at genesis."""
    from sultan_staking import cli

    cli.init_validator(home, moniker)
