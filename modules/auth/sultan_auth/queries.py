"""`cosmos.auth.v1beta1.Query` — served over gRPC, REST and abci_query alike.

Errors use gRPC status names with the SDK's messages: a missing account is
`NotFound: account <addr> not found` (CosmJS returns null on exactly that), a malformed
address is `InvalidArgument`.
"""

from __future__ import annotations

from typing import Any

from sultan import Context, QueryError
from sultan.kernel.address import ACCOUNT_CODEC, ACCOUNT_PREFIX, verify_length
from sultan.kernel.errors import SdkError
from sultan.kernel.pagination import paginate
from sultan_auth import state
from sultan_auth.genesis import PARAM_FIELDS
from sultan_auth.keeper import Account, AccountKeeper
from sultan_auth.keys import ACCOUNTS_PREFIX, STORE_KEY
from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2
from sultan_auth.pb.cosmos.auth.v1beta1 import query_pb2 as q

SERVICE = "/cosmos.auth.v1beta1.Query/"


def _address(text: str) -> bytes:
    if not text:
        raise QueryError("InvalidArgument", "empty address string is not allowed")
    try:
        return ACCOUNT_CODEC.to_bytes(text)
    except SdkError as exc:
        raise QueryError("InvalidArgument", exc.message) from None


def params_proto(params: state.Params) -> Any:
    return auth_pb2.Params(**{name: getattr(params, name) for name in PARAM_FIELDS})


def account(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    address = _address(req.address)
    found = keeper.get_account(ctx, address)
    if found is None:
        raise QueryError("NotFound", f"account {req.address} not found")
    return q.QueryAccountResponse(account=found.to_any())


def accounts(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    codec = state.accounts.value_codec
    key_codec = state.accounts.key_codec

    def decode(key: bytes, value: bytes) -> Any:
        return Account._from_record(key_codec.decode(key), codec.decode(value)).to_any()

    page = req.pagination if req.HasField("pagination") else None
    items, response = paginate(ctx.kv(STORE_KEY), ACCOUNTS_PREFIX, page, decode)
    return q.QueryAccountsResponse(accounts=items, pagination=response)


def account_address_by_id(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    number = req.account_id or req.id
    if number < 0:
        raise QueryError("InvalidArgument", "account number cannot be negative")
    address = keeper.account_by_number(ctx, number)
    if address is None:
        raise QueryError("NotFound", f"account address not found with account number {number}")
    return q.QueryAccountAddressByIDResponse(account_address=ACCOUNT_CODEC.to_string(address))


def params(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    return q.QueryParamsResponse(params=params_proto(keeper.params(ctx)))


def module_accounts(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    found = []
    for spec in keeper.module_account_specs():
        module_account = keeper.view_module_account(ctx, spec.name)
        if module_account is not None:
            found.append(module_account.to_any())
    return q.QueryModuleAccountsResponse(accounts=found)


def module_account_by_name(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    if not req.name:
        raise QueryError("InvalidArgument", "module name is empty")
    module_account = keeper.view_module_account(ctx, req.name)
    if module_account is None:
        raise QueryError("NotFound", f"account {req.name} not found")
    return q.QueryModuleAccountByNameResponse(account=module_account.to_any())


def bech32_prefix(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    return q.Bech32PrefixResponse(bech32_prefix=ACCOUNT_PREFIX)


def address_bytes_to_string(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    if not req.address_bytes:
        raise QueryError("InvalidArgument", "empty address bytes is not allowed")
    try:
        verify_length(req.address_bytes)
    except SdkError as exc:
        raise QueryError("InvalidArgument", exc.message) from None
    return q.AddressBytesToStringResponse(address_string=ACCOUNT_CODEC.to_string(req.address_bytes))


def address_string_to_bytes(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    if not req.address_string.strip():
        raise QueryError("InvalidArgument", "empty address string is not allowed")
    return q.AddressStringToBytesResponse(address_bytes=_address(req.address_string))


def account_info(keeper: AccountKeeper, ctx: Context, req: Any) -> Any:
    if not req.address:
        raise QueryError("InvalidArgument", "address cannot be empty")
    address = _address(req.address)
    found = keeper.get_account(ctx, address)
    if found is None:
        raise QueryError("NotFound", f"account {req.address} not found")
    return q.QueryAccountInfoResponse(info=found.to_base_proto())


# (method, request, response, handler, REST path or None)
ROUTES: list[tuple[str, Any, Any, Any, str | None]] = [
    ("Accounts", q.QueryAccountsRequest, q.QueryAccountsResponse, accounts,
     "/cosmos/auth/v1beta1/accounts"),
    ("Account", q.QueryAccountRequest, q.QueryAccountResponse, account,
     "/cosmos/auth/v1beta1/accounts/{address}"),
    ("AccountAddressByID", q.QueryAccountAddressByIDRequest, q.QueryAccountAddressByIDResponse,
     account_address_by_id, "/cosmos/auth/v1beta1/address_by_id/{id}"),
    ("Params", q.QueryParamsRequest, q.QueryParamsResponse, params,
     "/cosmos/auth/v1beta1/params"),
    ("ModuleAccounts", q.QueryModuleAccountsRequest, q.QueryModuleAccountsResponse,
     module_accounts, "/cosmos/auth/v1beta1/module_accounts"),
    ("ModuleAccountByName", q.QueryModuleAccountByNameRequest,
     q.QueryModuleAccountByNameResponse, module_account_by_name,
     "/cosmos/auth/v1beta1/module_accounts/{name}"),
    ("Bech32Prefix", q.Bech32PrefixRequest, q.Bech32PrefixResponse, bech32_prefix,
     "/cosmos/auth/v1beta1/bech32"),
    # The SDK annotates both conversions with the same path pattern; grpc-gateway serves
    # only one of them there. We expose string → bytes over REST; both work over gRPC/ABCI.
    ("AddressBytesToString", q.AddressBytesToStringRequest, q.AddressBytesToStringResponse,
     address_bytes_to_string, None),
    ("AddressStringToBytes", q.AddressStringToBytesRequest, q.AddressStringToBytesResponse,
     address_string_to_bytes, "/cosmos/auth/v1beta1/bech32/{address_string}"),
    ("AccountInfo", q.QueryAccountInfoRequest, q.QueryAccountInfoResponse, account_info,
     "/cosmos/auth/v1beta1/account_info/{address}"),
]  # fmt: skip
