"""`cosmos.bank.v1beta1.Query` — served over gRPC, REST and abci_query alike.

Balance queries of an empty account return the denom with amount "0" (clients assert the
denom is echoed). Lists are paginated with `sultan.kernel.pagination`.
"""

from __future__ import annotations

from typing import Any

from sultan import Context, QueryError
from sultan.kernel.address import ACCOUNT_CODEC
from sultan.kernel.coins import Coin, is_valid_denom
from sultan.kernel.errors import SdkError
from sultan.kernel.pagination import paginate
from sultan_bank import state
from sultan_bank.keeper import BankKeeper
from sultan_bank.keys import STORE_KEY
from sultan_bank.pb.cosmos.bank.v1beta1 import bank_pb2
from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as q

SERVICE = "/cosmos.bank.v1beta1.Query/"


def _address(text: str) -> bytes:
    if not text:
        raise QueryError("InvalidArgument", "empty address string is not allowed")
    try:
        return ACCOUNT_CODEC.to_bytes(text)
    except SdkError as exc:
        raise QueryError("InvalidArgument", f"invalid address: {exc.message}") from None


def _denom(denom: str) -> str:
    if not is_valid_denom(denom):
        raise QueryError("InvalidArgument", f"invalid denom: {denom}")
    return denom


def _page(req: Any) -> Any | None:
    return req.pagination if req.HasField("pagination") else None


def _coin(denom: str, amount: int) -> Any:
    return Coin(denom, amount).to_proto()


def balance(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    address = _address(req.address)
    denom = _denom(req.denom)
    return q.QueryBalanceResponse(balance=keeper.get_balance(ctx, address, denom).to_proto())


def _balances_page(ctx: Context, address: bytes, req: Any) -> tuple[list[Any], Any]:
    prefix = state.balances.prefix + state.balances.key_codec.encode((address, ""))
    value_codec = state.balances.value_codec
    return paginate(
        ctx.kv(STORE_KEY),
        prefix,
        _page(req),
        lambda key, raw: _coin(key.decode(), value_codec.decode(raw)),
    )


def all_balances(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    address = _address(req.address)
    items, page = _balances_page(ctx, address, req)
    if req.resolve_denom:
        for coin in items:
            metadata = keeper.get_denom_metadata(ctx, coin.denom)
            if metadata is not None and metadata.display:
                coin.denom = metadata.display
    return q.QueryAllBalancesResponse(balances=items, pagination=page)


def spendable_balances(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    address = _address(req.address)
    items, page = _balances_page(ctx, address, req)
    return q.QuerySpendableBalancesResponse(balances=items, pagination=page)


def spendable_balance_by_denom(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    address = _address(req.address)
    denom = _denom(req.denom)
    coin = keeper.get_balance(ctx, address, denom)
    return q.QuerySpendableBalanceByDenomResponse(balance=coin.to_proto())


def total_supply(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    value_codec = state.supply.value_codec
    items, page = paginate(
        ctx.kv(STORE_KEY),
        state.supply.prefix,
        _page(req),
        lambda key, raw: _coin(key.decode(), value_codec.decode(raw)),
    )
    return q.QueryTotalSupplyResponse(supply=items, pagination=page)


def supply_of(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    denom = _denom(req.denom)
    return q.QuerySupplyOfResponse(amount=keeper.get_supply(ctx, denom).to_proto())


def params(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    p = keeper.params(ctx)
    return q.QueryParamsResponse(
        params=bank_pb2.Params(default_send_enabled=p.default_send_enabled)
    )


def denom_metadata(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    denom = _denom(req.denom)
    metadata = keeper.get_denom_metadata(ctx, denom)
    if metadata is None:
        raise QueryError("NotFound", f"client metadata for denom {denom}")
    return q.QueryDenomMetadataResponse(metadata=metadata)


def denom_metadata_by_query_string(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    denom = _denom(req.denom)
    metadata = keeper.get_denom_metadata(ctx, denom)
    if metadata is None:
        raise QueryError("NotFound", f"client metadata for denom {denom}")
    return q.QueryDenomMetadataByQueryStringResponse(metadata=metadata)


def denoms_metadata(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    codec = state.denom_metadata.value_codec
    items, page = paginate(
        ctx.kv(STORE_KEY),
        state.denom_metadata.prefix,
        _page(req),
        lambda key, raw: codec.decode(raw),
    )
    return q.QueryDenomsMetadataResponse(metadatas=items, pagination=page)


def _denom_owners(keeper: BankKeeper, ctx: Context, req: Any) -> tuple[list[Any], Any]:
    denom = _denom(req.denom)
    prefix = state.denom_owners.prefix + state.denom_owners.key_codec.encode((denom, b""))

    def decode(key: bytes, raw: bytes) -> Any:
        coin = keeper.get_balance(ctx, key, denom)
        return q.DenomOwner(address=ACCOUNT_CODEC.to_string(key), balance=coin.to_proto())

    return paginate(ctx.kv(STORE_KEY), prefix, _page(req), decode)


def denom_owners(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    items, page = _denom_owners(keeper, ctx, req)
    return q.QueryDenomOwnersResponse(denom_owners=items, pagination=page)


def denom_owners_by_query(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    items, page = _denom_owners(keeper, ctx, req)
    return q.QueryDenomOwnersByQueryResponse(denom_owners=items, pagination=page)


def send_enabled(keeper: BankKeeper, ctx: Context, req: Any) -> Any:
    if req.denoms:
        entries = []
        for denom in req.denoms:
            value = keeper.send_enabled_entry(ctx, denom)
            if value is not None:
                entries.append(bank_pb2.SendEnabled(denom=denom, enabled=value))
        return q.QuerySendEnabledResponse(send_enabled=entries)
    codec = state.send_enabled.value_codec
    items, page = paginate(
        ctx.kv(STORE_KEY),
        state.send_enabled.prefix,
        _page(req),
        lambda key, raw: bank_pb2.SendEnabled(denom=key.decode(), enabled=codec.decode(raw)),
    )
    return q.QuerySendEnabledResponse(send_enabled=items, pagination=page)


# (method, request, response, handler, REST path)
ROUTES: list[tuple[str, Any, Any, Any, str]] = [
    ("Balance", q.QueryBalanceRequest, q.QueryBalanceResponse, balance,
     "/cosmos/bank/v1beta1/balances/{address}/by_denom"),
    ("AllBalances", q.QueryAllBalancesRequest, q.QueryAllBalancesResponse, all_balances,
     "/cosmos/bank/v1beta1/balances/{address}"),
    ("SpendableBalances", q.QuerySpendableBalancesRequest, q.QuerySpendableBalancesResponse,
     spendable_balances, "/cosmos/bank/v1beta1/spendable_balances/{address}"),
    ("SpendableBalanceByDenom", q.QuerySpendableBalanceByDenomRequest,
     q.QuerySpendableBalanceByDenomResponse, spendable_balance_by_denom,
     "/cosmos/bank/v1beta1/spendable_balances/{address}/by_denom"),
    ("TotalSupply", q.QueryTotalSupplyRequest, q.QueryTotalSupplyResponse, total_supply,
     "/cosmos/bank/v1beta1/supply"),
    ("SupplyOf", q.QuerySupplyOfRequest, q.QuerySupplyOfResponse, supply_of,
     "/cosmos/bank/v1beta1/supply/by_denom"),
    ("Params", q.QueryParamsRequest, q.QueryParamsResponse, params,
     "/cosmos/bank/v1beta1/params"),
    ("DenomMetadata", q.QueryDenomMetadataRequest, q.QueryDenomMetadataResponse,
     denom_metadata, "/cosmos/bank/v1beta1/denoms_metadata/{denom}"),
    ("DenomMetadataByQueryString", q.QueryDenomMetadataByQueryStringRequest,
     q.QueryDenomMetadataByQueryStringResponse, denom_metadata_by_query_string,
     "/cosmos/bank/v1beta1/denoms_metadata_by_query_string"),
    ("DenomsMetadata", q.QueryDenomsMetadataRequest, q.QueryDenomsMetadataResponse,
     denoms_metadata, "/cosmos/bank/v1beta1/denoms_metadata"),
    ("DenomOwners", q.QueryDenomOwnersRequest, q.QueryDenomOwnersResponse, denom_owners,
     "/cosmos/bank/v1beta1/denom_owners/{denom}"),
    ("DenomOwnersByQuery", q.QueryDenomOwnersByQueryRequest, q.QueryDenomOwnersByQueryResponse,
     denom_owners_by_query, "/cosmos/bank/v1beta1/denom_owners_by_query"),
    ("SendEnabled", q.QuerySendEnabledRequest, q.QuerySendEnabledResponse, send_enabled,
     "/cosmos/bank/v1beta1/send_enabled"),
]  # fmt: skip
