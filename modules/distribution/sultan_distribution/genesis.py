"""Distribution genesis in the Cosmos JSON shape (`cosmos.distribution.v1beta1.GenesisState`
as protobuf JSON, decimals as "0.020000000000000000"), plus Sultan's `block_provision`:

```json
{"params": {"community_tax": "0.020000000000000000", "base_proposer_reward": "0.000000000000000000",
            "bonus_proposer_reward": "0.000000000000000000", "withdraw_addr_enabled": true},
 "fee_pool": {"community_pool": []}, "delegator_withdraw_infos": [], "previous_proposer": "",
 "outstanding_rewards": [], "validator_accumulated_commissions": [],
 "validator_historical_rewards": [], "validator_current_rewards": [],
 "delegator_starting_infos": [], "validator_slash_events": [],
 "block_provision": [{"denom": "usultan", "amount": "0"}]}
```

`block_provision` (coins, default none) is minted every block and distributed with the fees.
The distribution module account's balance must equal the outstanding rewards plus the
community pool (whole coins), or InitChain refuses the genesis, as in the SDK.
"""

from __future__ import annotations

import copy
from typing import Any

from google.protobuf import json_format

from sultan import Context, SdkError
from sultan.kernel import legacydec
from sultan.kernel.address import ACCOUNT_CODEC, CONSENSUS_CODEC, VALIDATOR_CODEC
from sultan.kernel.coins import Coins
from sultan.kernel.legacydec import DecCoins
from sultan_distribution import convert, keys, msg_server, state
from sultan_distribution.keeper import DistributionKeeper
from sultan_distribution.pb.cosmos.distribution.v1beta1 import distribution_pb2 as d
from sultan_distribution.pb.cosmos.distribution.v1beta1 import genesis_pb2
from sultan_distribution.state import CurrentRewards, HistoricalRewards, StartingInfo

BLOCK_PROVISION = "block_provision"


def _to_json(gs: Any) -> dict[str, Any]:
    msg = copy.deepcopy(gs)
    legacydec.convert_dec_fields(msg, to_atomics=False)
    return json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def default_genesis() -> dict[str, Any]:
    gs = genesis_pb2.GenesisState(
        params=convert.params_proto(state.ParamsRecord()), fee_pool=d.FeePool()
    )
    out = _to_json(gs)
    out[BLOCK_PROVISION] = []
    return out


def parse_genesis(data: Any) -> tuple[Any, Coins]:
    if not isinstance(data, dict):
        raise ValueError("distribution genesis must be a JSON object")
    body = dict(data)
    provision_json = body.pop(BLOCK_PROVISION, None) or []
    try:
        provision = Coins.from_dicts(provision_json, BLOCK_PROVISION)
    except SdkError as exc:
        raise ValueError(f"{BLOCK_PROVISION}: {exc.message}") from None
    gs = genesis_pb2.GenesisState()
    if not body:
        gs.params.CopyFrom(convert.params_proto(state.ParamsRecord()))
        return gs, provision
    try:
        json_format.ParseDict(body, gs)
        legacydec.convert_dec_fields(gs, to_atomics=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise ValueError(f"invalid distribution genesis: {exc}") from None
    if not gs.HasField("params"):
        gs.params.CopyFrom(convert.params_proto(state.ParamsRecord()))
    return gs, provision


def validate_genesis(data: dict[str, Any]) -> None:
    gs, _ = parse_genesis(data)
    try:
        msg_server.params_from_proto(gs.params)
    except SdkError as exc:
        raise ValueError(f"params: {exc.message}") from None
    for coin in gs.fee_pool.community_pool:
        if int(coin.amount or "0") < 0:
            raise ValueError("negative community pool")


def _val(text: str) -> bytes:
    return VALIDATOR_CODEC.to_bytes(text)


def init_genesis(keeper: DistributionKeeper, ctx: Context, data: dict[str, Any]) -> None:
    gs, provision = parse_genesis(data)
    try:
        keeper.set_params(ctx, msg_server.params_from_proto(gs.params))
    except SdkError as exc:
        raise ValueError(f"params: {exc.message}") from None
    keeper.set_block_provision(ctx, provision)
    pool = DecCoins.from_proto(gs.fee_pool.community_pool)
    keeper.set_fee_pool(ctx, pool)
    kv = ctx.kv(keys.STORE_KEY)
    for info in gs.delegator_withdraw_infos:
        keeper.set_withdraw_address(
            ctx,
            ACCOUNT_CODEC.to_bytes(info.delegator_address),
            ACCOUNT_CODEC.to_bytes(info.withdraw_address),
        )
    if gs.previous_proposer:
        state.previous_proposer.set(kv, CONSENSUS_CODEC.to_bytes(gs.previous_proposer))
    holdings = pool
    for rec in gs.outstanding_rewards:
        coins = DecCoins.from_proto(rec.outstanding_rewards)
        keeper.set_outstanding(ctx, _val(rec.validator_address), coins)
        holdings = holdings + coins
    for rec in gs.validator_accumulated_commissions:
        keeper.set_commission(
            ctx, _val(rec.validator_address), DecCoins.from_proto(rec.accumulated.commission)
        )
    for rec in gs.validator_historical_rewards:
        state.historical_rewards.set(
            kv,
            (_val(rec.validator_address), rec.period),
            HistoricalRewards(
                DecCoins.from_proto(rec.rewards.cumulative_reward_ratio),
                rec.rewards.reference_count,
            ),
        )
    for rec in gs.validator_current_rewards:
        state.current_rewards.set(
            kv,
            _val(rec.validator_address),
            CurrentRewards(DecCoins.from_proto(rec.rewards.rewards), rec.rewards.period),
        )
    for rec in gs.delegator_starting_infos:
        state.starting_infos.set(
            kv,
            (_val(rec.validator_address), ACCOUNT_CODEC.to_bytes(rec.delegator_address)),
            StartingInfo(
                rec.starting_info.previous_period,
                int(rec.starting_info.stake or "0"),
                rec.starting_info.height,
            ),
        )
    expected, _ = holdings.truncate_decimal()
    assert keeper.accounts is not None
    balance = keeper.bk.get_all_balances(ctx, keeper.accounts.module_address(keys.MODULE_NAME))
    if balance != expected:
        raise ValueError(
            f"distribution module balance does not match the module holdings: {balance} <-> {expected}"
        )


def export_genesis(keeper: DistributionKeeper, ctx: Context) -> dict[str, Any]:
    gs = genesis_pb2.GenesisState(
        params=convert.params_proto(keeper.params(ctx)),
        fee_pool=d.FeePool(community_pool=keeper.fee_pool(ctx).to_proto()),
    )
    for delegator, target in keeper.iterate_withdraw_addresses(ctx):
        gs.delegator_withdraw_infos.add(
            delegator_address=ACCOUNT_CODEC.to_string(delegator),
            withdraw_address=ACCOUNT_CODEC.to_string(target),
        )
    proposer = state.previous_proposer.get(ctx.kv(keys.STORE_KEY))
    if proposer:
        gs.previous_proposer = CONSENSUS_CODEC.to_string(proposer)
    for operator, coins in keeper.iterate_outstanding(ctx):
        gs.outstanding_rewards.add(
            validator_address=VALIDATOR_CODEC.to_string(operator),
            outstanding_rewards=coins.to_proto(),
        )
    for operator, coins in keeper.iterate_commission(ctx):
        gs.validator_accumulated_commissions.add(
            validator_address=VALIDATOR_CODEC.to_string(operator),
            accumulated=d.ValidatorAccumulatedCommission(commission=coins.to_proto()),
        )
    for (operator, period), h in keeper.iterate_historical(ctx):
        gs.validator_historical_rewards.add(
            validator_address=VALIDATOR_CODEC.to_string(operator),
            period=period,
            rewards=d.ValidatorHistoricalRewards(
                cumulative_reward_ratio=h.cumulative_reward_ratio.to_proto(),
                reference_count=h.reference_count,
            ),
        )
    for operator, current in keeper.iterate_current(ctx):
        gs.validator_current_rewards.add(
            validator_address=VALIDATOR_CODEC.to_string(operator),
            rewards=d.ValidatorCurrentRewards(
                rewards=current.rewards.to_proto(), period=current.period
            ),
        )
    for (operator, delegator), info in keeper.iterate_starting_infos(ctx):
        gs.delegator_starting_infos.add(
            delegator_address=ACCOUNT_CODEC.to_string(delegator),
            validator_address=VALIDATOR_CODEC.to_string(operator),
            starting_info=d.DelegatorStartingInfo(
                previous_period=info.previous_period, stake=str(info.stake), height=info.height
            ),
        )
    out = _to_json(gs)
    out[BLOCK_PROVISION] = keeper.block_provision(ctx).to_dicts()
    return out
