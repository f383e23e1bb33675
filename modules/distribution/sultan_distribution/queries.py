"""`cosmos.distribution.v1beta1.Query` — served over gRPC, REST and abci_query alike.

Reward queries end the validator's current period on a throw-away branch of the queried
state (as the SDK does on its cached context), so they show rewards up to the last block.
"""

from __future__ import annotations

from typing import Any

from sultan import Context, QueryError
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.legacydec import DecCoins
from sultan.kernel.store.branch import Branch
from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2
from sultan_distribution import convert, errors
from sultan_distribution.keeper import DistributionKeeper
from sultan_distribution.pb.cosmos.distribution.v1beta1 import distribution_pb2 as d
from sultan_distribution.pb.cosmos.distribution.v1beta1 import query_pb2 as q

SERVICE = "/cosmos.distribution.v1beta1.Query/"


def _val(text: str) -> bytes:
    return VALIDATOR_CODEC.parse_query(text, "validator", empty="empty validator address")


def _del(text: str) -> bytes:
    return ACCOUNT_CODEC.parse_query(text, "delegator", empty="empty delegator address")


def _scratch(ctx: Context) -> Context:
    return ctx.with_store(Branch(ctx.store))


def _pending_rewards(
    keeper: DistributionKeeper, ctx: Context, operator: bytes, delegator: bytes
) -> DecCoins:
    """Rewards the delegation could withdraw now (computed on a scratch branch)."""
    scratch = _scratch(ctx)
    v = keeper.sk.validator(scratch, operator)
    if v is None:
        raise errors.ErrNoValidatorExists(VALIDATOR_CODEC.to_string(operator))
    shares = keeper.sk.delegation(scratch, delegator, operator)
    if shares is None:
        raise errors.ErrNoDelegationExists()
    ending = keeper.increment_validator_period(scratch, v)
    return keeper.calculate_rewards(scratch, v, delegator, shares, ending)


def params(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    return q.QueryParamsResponse(params=convert.params_proto(keeper.params(ctx)))


def validator_distribution_info(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    operator = _val(req.validator_address)
    rewards = _pending_rewards(keeper, ctx, operator, operator)
    return q.QueryValidatorDistributionInfoResponse(
        operator_address=ACCOUNT_CODEC.to_string(operator),
        self_bond_rewards=rewards.to_proto(),
        commission=keeper.commission(ctx, operator).to_proto(),
    )


def _existing_validator(keeper: DistributionKeeper, ctx: Context, text: str) -> bytes:
    operator = _val(text)
    if keeper.sk.validator(ctx, operator) is None:
        raise errors.ErrNoValidatorExists(text)
    return operator


def validator_outstanding_rewards(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    operator = _existing_validator(keeper, ctx, req.validator_address)
    return q.QueryValidatorOutstandingRewardsResponse(
        rewards=d.ValidatorOutstandingRewards(rewards=keeper.outstanding(ctx, operator).to_proto())
    )


def validator_commission(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    operator = _existing_validator(keeper, ctx, req.validator_address)
    return q.QueryValidatorCommissionResponse(
        commission=d.ValidatorAccumulatedCommission(
            commission=keeper.commission(ctx, operator).to_proto()
        )
    )


def validator_slashes(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    _val(req.validator_address)
    if req.ending_height < req.starting_height:
        raise QueryError("InvalidArgument", "starting height greater than ending height")
    return q.QueryValidatorSlashesResponse(pagination=pagination_pb2.PageResponse(total=0))


def delegation_rewards(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_address)
    operator = _val(req.validator_address)
    return q.QueryDelegationRewardsResponse(
        rewards=_pending_rewards(keeper, ctx, operator, delegator).to_proto()
    )


def delegation_total_rewards(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_address)
    total = DecCoins()
    rewards = []
    for operator, _shares in keeper.sk.delegator_delegations(ctx, delegator):
        reward = _pending_rewards(keeper, ctx, operator, delegator)
        rewards.append(
            d.DelegationDelegatorReward(
                validator_address=VALIDATOR_CODEC.to_string(operator), reward=reward.to_proto()
            )
        )
        total = total + reward
    return q.QueryDelegationTotalRewardsResponse(rewards=rewards, total=total.to_proto())


def delegator_validators(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_address)
    return q.QueryDelegatorValidatorsResponse(
        validators=[
            VALIDATOR_CODEC.to_string(op)
            for op, _ in keeper.sk.delegator_delegations(ctx, delegator)
        ]
    )


def delegator_withdraw_address(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_address)
    return q.QueryDelegatorWithdrawAddressResponse(
        withdraw_address=ACCOUNT_CODEC.to_string(keeper.withdraw_address(ctx, delegator))
    )


def community_pool(keeper: DistributionKeeper, ctx: Context, req: Any) -> Any:
    return q.QueryCommunityPoolResponse(pool=keeper.fee_pool(ctx).to_proto())


_V = "/cosmos/distribution/v1beta1/validators/{validator_address}"
_D = "/cosmos/distribution/v1beta1/delegators/{delegator_address}"

# (method, request, response, handler, REST path)
ROUTES: list[tuple[str, Any, Any, Any, str]] = [
    ("Params", q.QueryParamsRequest, q.QueryParamsResponse, params,
     "/cosmos/distribution/v1beta1/params"),
    ("ValidatorDistributionInfo", q.QueryValidatorDistributionInfoRequest,
     q.QueryValidatorDistributionInfoResponse, validator_distribution_info, _V),
    ("ValidatorOutstandingRewards", q.QueryValidatorOutstandingRewardsRequest,
     q.QueryValidatorOutstandingRewardsResponse, validator_outstanding_rewards,
     _V + "/outstanding_rewards"),
    ("ValidatorCommission", q.QueryValidatorCommissionRequest,
     q.QueryValidatorCommissionResponse, validator_commission, _V + "/commission"),
    ("ValidatorSlashes", q.QueryValidatorSlashesRequest, q.QueryValidatorSlashesResponse,
     validator_slashes, _V + "/slashes"),
    ("DelegationRewards", q.QueryDelegationRewardsRequest, q.QueryDelegationRewardsResponse,
     delegation_rewards, _D + "/rewards/{validator_address}"),
    ("DelegationTotalRewards", q.QueryDelegationTotalRewardsRequest,
     q.QueryDelegationTotalRewardsResponse, delegation_total_rewards, _D + "/rewards"),
    ("DelegatorValidators", q.QueryDelegatorValidatorsRequest,
     q.QueryDelegatorValidatorsResponse, delegator_validators, _D + "/validators"),
    ("DelegatorWithdrawAddress", q.QueryDelegatorWithdrawAddressRequest,
     q.QueryDelegatorWithdrawAddressResponse, delegator_withdraw_address,
     _D + "/withdraw_address"),
    ("CommunityPool", q.QueryCommunityPoolRequest, q.QueryCommunityPoolResponse,
     community_pool, "/cosmos/distribution/v1beta1/community_pool"),
]  # fmt: skip
