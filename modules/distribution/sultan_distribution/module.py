"""x/distribution as a Sultan module: the plugin object named by the `distribution` entry point.

It requires auth (its module account, which may mint the block provision), bank and staking,
and registers its staking hooks from `bind`, so that delegation changes withdraw pending
rewards first. BeginBlock allocates the previous block's fees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sultan import Context, ModuleDefinition, hookimpl
from sultan.kernel.tx.context import ExecMode
from sultan_distribution import genesis, keys, msg_server, queries
from sultan_distribution.keeper import DistributionHooks, DistributionKeeper
from sultan_distribution.metrics import distribution_collector
from sultan_distribution.pb.cosmos.distribution.v1beta1 import tx_pb2

VERSION = "0.1.0"

keeper = DistributionKeeper()
hooks = DistributionHooks(keeper)


def _bind(keepers: Mapping[str, Any]) -> None:
    keeper.accounts = keepers["auth"]
    keeper.bank = keepers["bank"]
    keeper.staking = keepers["staking"]
    keeper.accounts.declare_module_account(keys.MODULE_NAME, ("minter",))
    keeper.staking.register_hooks(keys.MODULE_NAME, hooks)


def _begin_block(ctx: Context) -> None:
    keeper.begin_block(ctx)


def _end_block(ctx: Context) -> None:
    if ctx.mode == ExecMode.FINALIZE:
        pool, _ = keeper.fee_pool(ctx).truncate_decimal()
        outstanding, _ = keeper.total_outstanding(ctx).truncate_decimal()
        distribution_collector.update(
            {c.denom: c.amount for c in pool}, {c.denom: c.amount for c in outstanding}
        )


@hookimpl
def sultan_module() -> ModuleDefinition:
    return ModuleDefinition(
        name=keys.MODULE_NAME,
        store_key=keys.STORE_KEY,
        consensus_version=1,
        version=VERSION,
        requires=("auth", "bank", "staking"),
        keeper=keeper,
        bind=_bind,
        default_genesis=genesis.default_genesis,
        validate_genesis=genesis.validate_genesis,
        init_genesis=partial(genesis.init_genesis, keeper),
        export_genesis=partial(genesis.export_genesis, keeper),
        begin_block=_begin_block,
        end_block=_end_block,
    )


@hookimpl
def sultan_msg_handlers(register: Callable[..., None]) -> None:
    def reg(type_url: str, cls: Any, handler: Any, signer: Callable[[Any], str]) -> None:
        register(type_url, cls, partial(handler, keeper), signers=lambda m: [signer(m)])

    reg(
        keys.MSG_SET_WITHDRAW_ADDRESS,
        tx_pb2.MsgSetWithdrawAddress,
        msg_server.set_withdraw_address,
        lambda m: m.delegator_address,
    )
    reg(
        keys.MSG_WITHDRAW_DELEGATOR_REWARD,
        tx_pb2.MsgWithdrawDelegatorReward,
        msg_server.withdraw_delegator_reward,
        lambda m: m.delegator_address,
    )
    reg(
        keys.MSG_WITHDRAW_VALIDATOR_COMMISSION,
        tx_pb2.MsgWithdrawValidatorCommission,
        msg_server.withdraw_validator_commission,
        lambda m: _valoper_account(m.validator_address),
    )
    reg(
        keys.MSG_FUND_COMMUNITY_POOL,
        tx_pb2.MsgFundCommunityPool,
        msg_server.fund_community_pool,
        lambda m: m.depositor,
    )
    reg(
        keys.MSG_UPDATE_PARAMS,
        tx_pb2.MsgUpdateParams,
        msg_server.update_params,
        lambda m: m.authority,
    )
    reg(
        keys.MSG_COMMUNITY_POOL_SPEND,
        tx_pb2.MsgCommunityPoolSpend,
        msg_server.community_pool_spend,
        lambda m: m.authority,
    )
    reg(keys.MSG_DEPOSIT_VALIDATOR_REWARDS_POOL, tx_pb2.MsgDepositValidatorRewardsPool,
        msg_server.deposit_validator_rewards_pool, lambda m: m.depositor)  # fmt: skip


def _valoper_account(text: str) -> str:
    from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
    from sultan.kernel.errors import SdkError

    try:
        return ACCOUNT_CODEC.to_string(VALIDATOR_CODEC.to_bytes(text))
    except SdkError:
        return text


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
    register(distribution_collector)


@hookimpl
def sultan_cli_commands(register: Callable[..., None]) -> None:
    from sultan_distribution import cli  # imported only by the CLI, not by a running node

    cli.register_commands(register)
