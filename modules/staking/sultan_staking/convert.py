"""State records ↔ `cosmos.staking.v1beta1` protobuf messages (queries, genesis, events)."""

from __future__ import annotations

from typing import Any, cast

from google.protobuf import any_pb2, duration_pb2, timestamp_pb2

from sultan import Context
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.coins import Coin
from sultan.pb.cosmos.crypto.ed25519 import keys_pb2 as ed25519_pb2
from sultan.pb.tendermint.types import types_pb2 as tm_types
from sultan.pb.tendermint.version import types_pb2 as version_pb2
from sultan_staking import keys
from sultan_staking.keeper import StakingKeeper, tokens_from_shares
from sultan_staking.pb.cosmos.staking.v1beta1 import staking_pb2
from sultan_staking.state import (
    ParamsRecord,
    RedelegationEntry,
    UnbondingEntry,
    ValidatorRecord,
)

BLOCK_PROTOCOL = 11


def timestamp(ns: int) -> Any:
    return timestamp_pb2.Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def timestamp_ns(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


def pubkey_any(pub_key: bytes) -> Any:
    packed = any_pb2.Any()
    packed.Pack(ed25519_pb2.PubKey(key=pub_key), type_url_prefix="/")
    return packed


def params_proto(p: ParamsRecord) -> Any:
    return staking_pb2.Params(
        unbonding_time=duration_pb2.Duration(
            seconds=p.unbonding_time_ns // 1_000_000_000, nanos=p.unbonding_time_ns % 1_000_000_000
        ),
        max_validators=p.max_validators,
        max_entries=p.max_entries,
        historical_entries=p.historical_entries,
        bond_denom=p.bond_denom,
        min_commission_rate=str(p.min_commission_rate),
    )


def validator_proto(v: ValidatorRecord) -> Any:
    return staking_pb2.Validator(
        operator_address=VALIDATOR_CODEC.to_string(v.operator),
        consensus_pubkey=pubkey_any(v.consensus_pubkey),
        jailed=v.jailed,
        status=cast(Any, v.status),
        tokens=str(v.tokens),
        delegator_shares=str(v.delegator_shares),
        description=staking_pb2.Description(
            moniker=v.moniker,
            identity=v.identity,
            website=v.website,
            security_contact=v.security_contact,
            details=v.details,
        ),
        unbonding_height=v.unbonding_height,
        unbonding_time=timestamp(v.unbonding_time_ns),
        commission=staking_pb2.Commission(
            commission_rates=staking_pb2.CommissionRates(
                rate=str(v.commission_rate),
                max_rate=str(v.commission_max_rate),
                max_change_rate=str(v.commission_max_change_rate),
            ),
            update_time=timestamp(v.commission_update_time_ns),
        ),
        min_self_delegation=str(v.min_self_delegation),
        unbonding_on_hold_ref_count=v.unbonding_on_hold_ref_count,
        unbonding_ids=list(v.unbonding_ids),
    )


def delegation_proto(delegator: bytes, operator: bytes, shares: int) -> Any:
    return staking_pb2.Delegation(
        delegator_address=ACCOUNT_CODEC.to_string(delegator),
        validator_address=VALIDATOR_CODEC.to_string(operator),
        shares=str(shares),
    )


def delegation_response(
    keeper: StakingKeeper, ctx: Context, delegator: bytes, operator: bytes, shares: int
) -> Any:
    v = keeper.must_validator(ctx, operator)
    tokens = tokens_from_shares(v, shares) // 10**18 if v.delegator_shares else 0
    return staking_pb2.DelegationResponse(
        delegation=delegation_proto(delegator, operator, shares),
        balance=Coin(keeper.bond_denom(ctx), tokens).to_proto(),
    )


def unbonding_proto(delegator: bytes, operator: bytes, entries: tuple[UnbondingEntry, ...]) -> Any:
    return staking_pb2.UnbondingDelegation(
        delegator_address=ACCOUNT_CODEC.to_string(delegator),
        validator_address=VALIDATOR_CODEC.to_string(operator),
        entries=[
            staking_pb2.UnbondingDelegationEntry(
                creation_height=e.creation_height,
                completion_time=timestamp(e.completion_time_ns),
                initial_balance=str(e.initial_balance),
                balance=str(e.balance),
                unbonding_id=e.unbonding_id,
                unbonding_on_hold_ref_count=e.unbonding_on_hold_ref_count,
            )
            for e in entries
        ],
    )


def redelegation_entry_proto(e: RedelegationEntry) -> Any:
    return staking_pb2.RedelegationEntry(
        creation_height=e.creation_height,
        completion_time=timestamp(e.completion_time_ns),
        initial_balance=str(e.initial_balance),
        shares_dst=str(e.shares_dst),
        unbonding_id=e.unbonding_id,
        unbonding_on_hold_ref_count=e.unbonding_on_hold_ref_count,
    )


def redelegation_proto(
    delegator: bytes, src: bytes, dst: bytes, entries: tuple[RedelegationEntry, ...]
) -> Any:
    return staking_pb2.Redelegation(
        delegator_address=ACCOUNT_CODEC.to_string(delegator),
        validator_src_address=VALIDATOR_CODEC.to_string(src),
        validator_dst_address=VALIDATOR_CODEC.to_string(dst),
        entries=[redelegation_entry_proto(e) for e in entries],
    )


def redelegation_response(
    keeper: StakingKeeper,
    ctx: Context,
    delegator: bytes,
    src: bytes,
    dst: bytes,
    entries: tuple[RedelegationEntry, ...],
) -> Any:
    dst_v = keeper.validator(ctx, dst)
    responses = []
    for e in entries:
        balance = (
            tokens_from_shares(dst_v, e.shares_dst) // 10**18
            if dst_v is not None and dst_v.delegator_shares
            else 0
        )
        responses.append(
            staking_pb2.RedelegationEntryResponse(
                redelegation_entry=redelegation_entry_proto(e), balance=str(balance)
            )
        )
    return staking_pb2.RedelegationResponse(
        redelegation=redelegation_proto(delegator, src, dst, entries), entries=responses
    )


def historical_info(keeper: StakingKeeper, ctx: Context) -> Any:
    """This block's header (as far as the SDK's context knows it) and the bonded set."""
    header = tm_types.Header(
        version=version_pb2.Consensus(block=BLOCK_PROTOCOL, app=1),
        chain_id=ctx.chain_id,
        height=ctx.height,
        time=timestamp(ctx.block.time_ns),
        next_validators_hash=ctx.block.next_validators_hash,
        app_hash=ctx.block.app_hash,
        proposer_address=ctx.block.proposer_address,
    )
    valset = [validator_proto(v) for v in keeper.bonded_validators(ctx)]
    return staking_pb2.HistoricalInfo(header=header, valset=valset)


def status_name(status: int) -> str:
    return keys.STATUS_NAMES.get(status, "BOND_STATUS_UNSPECIFIED")
