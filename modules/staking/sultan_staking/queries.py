"""`cosmos.staking.v1beta1.Query` — served over gRPC, REST and abci_query alike.

Errors follow SDK v0.50's grpc_query.go (`InvalidArgument` for empty/bad addresses and
statuses, `NotFound` for missing records). A missing delegation's message also carries
"key not found", the text CosmJS's `getDelegation` matches to return null.
"""

from __future__ import annotations

from typing import Any

from sultan import Context, QueryError
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.pagination import paginate
from sultan_staking import convert, keys, state
from sultan_staking.keeper import StakingKeeper
from sultan_staking.pb.cosmos.staking.v1beta1 import query_pb2 as q
from sultan_staking.pb.cosmos.staking.v1beta1 import staking_pb2

SERVICE = "/cosmos.staking.v1beta1.Query/"
_STATUS_BY_NAME = {name: status for status, name in keys.STATUS_NAMES.items()}


def _val(text: str) -> bytes:
    return VALIDATOR_CODEC.parse_query(text, "validator", empty="validator address cannot be empty")


def _del(text: str) -> bytes:
    return ACCOUNT_CODEC.parse_query(text, "delegator", empty="delegator address cannot be empty")


def _page(req: Any) -> Any | None:
    return req.pagination if req.HasField("pagination") else None


def _list_page(items: list[Any], req: Any) -> tuple[list[Any], Any]:
    """Paginate an in-memory list the way `paginate` pages a store range (offset/limit)."""
    from sultan.kernel.pagination import page_limit
    from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2

    request = _page(req)
    limit, count_total = page_limit(request)
    offset = int(request.offset) if request is not None else 0
    if request is not None and request.key:
        offset = int.from_bytes(bytes(request.key), "big")
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    response = pagination_pb2.PageResponse(
        next_key=(offset + limit).to_bytes(8, "big") if more else b""
    )
    if count_total:
        response.total = len(items)
    return page, response


def validators(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    status = None
    if req.status:
        if req.status not in _STATUS_BY_NAME:
            raise QueryError("InvalidArgument", f"invalid validator status {req.status}")
        status = _STATUS_BY_NAME[req.status]
    if status is None:
        items, page = paginate(
            ctx.kv(keys.STORE_KEY),
            state.validators.prefix,
            _page(req),
            lambda _k, raw: convert.validator_proto(state.validators.value_codec.decode(raw)),
        )
        return q.QueryValidatorsResponse(validators=items, pagination=page)
    matching = [
        convert.validator_proto(v) for v in keeper.iterate_validators(ctx) if v.status == status
    ]
    items, page = _list_page(matching, req)
    return q.QueryValidatorsResponse(validators=items, pagination=page)


def validator(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    operator = _val(req.validator_addr)
    v = keeper.validator(ctx, operator)
    if v is None:
        raise QueryError("NotFound", f"validator {req.validator_addr} not found")
    return q.QueryValidatorResponse(validator=convert.validator_proto(v))


def validator_delegations(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    operator = _val(req.validator_addr)
    found = [
        convert.delegation_response(keeper, ctx, d, operator, s)
        for d, s in keeper.validator_delegations(ctx, operator)
    ]
    items, page = _list_page(found, req)
    return q.QueryValidatorDelegationsResponse(delegation_responses=items, pagination=page)


def validator_unbonding_delegations(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    operator = _val(req.validator_addr)
    kv = ctx.kv(keys.STORE_KEY)
    prefix = state.ubd_by_validator.prefix + state.PARTS.encode((operator,))

    def decode(key: bytes, _raw: bytes) -> Any:
        (delegator,) = state.PARTS.decode(key)
        entries = keeper.unbonding_delegation(ctx, delegator, operator) or ()
        return convert.unbonding_proto(delegator, operator, entries)

    items, page = paginate(kv, prefix, _page(req), decode)
    return q.QueryValidatorUnbondingDelegationsResponse(unbonding_responses=items, pagination=page)


def delegation(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_addr)
    operator = _val(req.validator_addr)
    shares = keeper.delegation(ctx, delegator, operator)
    if shares is None:
        raise QueryError(
            "NotFound",
            f"delegation with delegator {req.delegator_addr} not found for validator "
            f"{req.validator_addr}: key not found",
        )
    response = convert.delegation_response(keeper, ctx, delegator, operator, shares)
    return q.QueryDelegationResponse(delegation_response=response)


def unbonding_delegation(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_addr)
    operator = _val(req.validator_addr)
    entries = keeper.unbonding_delegation(ctx, delegator, operator)
    if entries is None:
        raise QueryError(
            "NotFound",
            f"unbonding delegation with delegator {req.delegator_addr} not found for "
            f"validator {req.validator_addr}",
        )
    return q.QueryUnbondingDelegationResponse(
        unbond=convert.unbonding_proto(delegator, operator, entries)
    )


def delegator_delegations(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_addr)
    kv = ctx.kv(keys.STORE_KEY)
    prefix = state.delegations.prefix + state.PARTS.encode((delegator,))

    def decode(key: bytes, raw: bytes) -> Any:
        (operator,) = state.PARTS.decode(key)
        return convert.delegation_response(keeper, ctx, delegator, operator, state.INT.decode(raw))

    items, page = paginate(kv, prefix, _page(req), decode)
    return q.QueryDelegatorDelegationsResponse(delegation_responses=items, pagination=page)


def delegator_unbonding_delegations(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_addr)
    kv = ctx.kv(keys.STORE_KEY)
    prefix = state.unbonding_delegations.prefix + state.PARTS.encode((delegator,))

    def decode(key: bytes, raw: bytes) -> Any:
        (operator,) = state.PARTS.decode(key)
        entries = state.decode_ubd_entries(state.unbonding_delegations.value_codec.decode(raw))
        return convert.unbonding_proto(delegator, operator, entries)

    items, page = paginate(kv, prefix, _page(req), decode)
    return q.QueryDelegatorUnbondingDelegationsResponse(unbonding_responses=items, pagination=page)


def redelegations(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_addr) if req.delegator_addr else None
    src = _val(req.src_validator_addr) if req.src_validator_addr else None
    dst = _val(req.dst_validator_addr) if req.dst_validator_addr else None
    if delegator is not None and src is not None and dst is not None:
        entries = keeper.redelegation(ctx, delegator, src, dst)
        if entries is None:
            raise QueryError(
                "NotFound",
                f"redelegation not found for delegator address {req.delegator_addr} from "
                f"validator address {req.src_validator_addr}",
            )
        found = [convert.redelegation_response(keeper, ctx, delegator, src, dst, entries)]
    else:
        found = [
            convert.redelegation_response(keeper, ctx, d, s, t, e)
            for d, s, t, e in keeper.iterate_redelegations(ctx)
            if (delegator is None or d == delegator) and (src is None or s == src)
        ]
    items, page = _list_page(found, req)
    return q.QueryRedelegationsResponse(redelegation_responses=items, pagination=page)


def delegator_validators(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_addr)
    found = []
    for operator, _shares in keeper.delegator_delegations(ctx, delegator):
        found.append(convert.validator_proto(keeper.must_validator(ctx, operator)))
    items, page = _list_page(found, req)
    return q.QueryDelegatorValidatorsResponse(validators=items, pagination=page)


def delegator_validator(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    delegator = _del(req.delegator_addr)
    operator = _val(req.validator_addr)
    if keeper.delegation(ctx, delegator, operator) is None:
        raise QueryError(
            "NotFound",
            f"delegation with delegator {req.delegator_addr} not found for validator "
            f"{req.validator_addr}: key not found",
        )
    return q.QueryDelegatorValidatorResponse(
        validator=convert.validator_proto(keeper.must_validator(ctx, operator))
    )


def historical_info(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    if req.height < 0:
        raise QueryError("InvalidArgument", "height cannot be negative")
    raw = keeper.historical_info(ctx, req.height)
    if raw is None:
        raise QueryError("NotFound", f"historical info for height {req.height} not found")
    return q.QueryHistoricalInfoResponse(hist=staking_pb2.HistoricalInfo.FromString(raw))


def pool(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    not_bonded, bonded = keeper.pool_balances(ctx)
    return q.QueryPoolResponse(
        pool=staking_pb2.Pool(not_bonded_tokens=str(not_bonded), bonded_tokens=str(bonded))
    )


def params(keeper: StakingKeeper, ctx: Context, req: Any) -> Any:
    return q.QueryParamsResponse(params=convert.params_proto(keeper.params(ctx)))


# (method, request, response, handler, REST path)
ROUTES: list[tuple[str, Any, Any, Any, str]] = [
    ("Validators", q.QueryValidatorsRequest, q.QueryValidatorsResponse, validators,
     "/cosmos/staking/v1beta1/validators"),
    ("Validator", q.QueryValidatorRequest, q.QueryValidatorResponse, validator,
     "/cosmos/staking/v1beta1/validators/{validator_addr}"),
    ("ValidatorDelegations", q.QueryValidatorDelegationsRequest,
     q.QueryValidatorDelegationsResponse, validator_delegations,
     "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations"),
    ("ValidatorUnbondingDelegations", q.QueryValidatorUnbondingDelegationsRequest,
     q.QueryValidatorUnbondingDelegationsResponse, validator_unbonding_delegations,
     "/cosmos/staking/v1beta1/validators/{validator_addr}/unbonding_delegations"),
    ("Delegation", q.QueryDelegationRequest, q.QueryDelegationResponse, delegation,
     "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations/{delegator_addr}"),
    ("UnbondingDelegation", q.QueryUnbondingDelegationRequest,
     q.QueryUnbondingDelegationResponse, unbonding_delegation,
     "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations/{delegator_addr}"
     "/unbonding_delegation"),
    ("DelegatorDelegations", q.QueryDelegatorDelegationsRequest,
     q.QueryDelegatorDelegationsResponse, delegator_delegations,
     "/cosmos/staking/v1beta1/delegations/{delegator_addr}"),
    ("DelegatorUnbondingDelegations", q.QueryDelegatorUnbondingDelegationsRequest,
     q.QueryDelegatorUnbondingDelegationsResponse, delegator_unbonding_delegations,
     "/cosmos/staking/v1beta1/delegators/{delegator_addr}/unbonding_delegations"),
    ("Redelegations", q.QueryRedelegationsRequest, q.QueryRedelegationsResponse, redelegations,
     "/cosmos/staking/v1beta1/delegators/{delegator_addr}/redelegations"),
    ("DelegatorValidators", q.QueryDelegatorValidatorsRequest,
     q.QueryDelegatorValidatorsResponse, delegator_validators,
     "/cosmos/staking/v1beta1/delegators/{delegator_addr}/validators"),
    ("DelegatorValidator", q.QueryDelegatorValidatorRequest, q.QueryDelegatorValidatorResponse,
     delegator_validator,
     "/cosmos/staking/v1beta1/delegators/{delegator_addr}/validators/{validator_addr}"),
    ("HistoricalInfo", q.QueryHistoricalInfoRequest, q.QueryHistoricalInfoResponse,
     historical_info, "/cosmos/staking/v1beta1/historical_info/{height}"),
    ("Pool", q.QueryPoolRequest, q.QueryPoolResponse, pool, "/cosmos/staking/v1beta1/pool"),
    ("Params", q.QueryParamsRequest, q.QueryParamsResponse, params,
     "/cosmos/staking/v1beta1/params"),
]  # fmt: skip
