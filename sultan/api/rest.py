"""The REST API (port 1317): Cosmos grpc-gateway routes plus operator endpoints.

Gateway routes work like the Cosmos SDK's grpc-gateway: a request message is filled from
path parameters and the query string (`pagination.limit=5`, repeated keys for repeated
fields) or, for POST, from the JSON body; the query runs at the height given by the
`x-cosmos-block-height` header (0 = latest); the response is protobuf JSON with the SDK's
options (proto field names, defaults emitted, int64 as strings, bytes base64, enums by
name, unset messages as null). Errors map gRPC codes to HTTP statuses the way
grpc-gateway does, with a body `{"code": <grpc code>, "message": ..., "details": []}`.

Built-in routes (`cosmos.base.tendermint.v1beta1`, `cosmos.base.node.v1beta1`,
`cosmos.consensus.v1`) come from
`services.CosmosServices`; every `sultan_rest_routes` registration of the enabled modules
is served through `Application.run_query`.

Operator endpoints: `/health` (200 while blocks are being committed, else 503), `/status`,
`/chain_info`; with `api.swagger`, `/swagger/` and `/swagger/openapi.json`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
import logging
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import attrs
import grpc
from aiohttp import web
from google.protobuf import descriptor as _descriptor
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from sultan import __version__
from sultan.api import jsonfmt as fmt
from sultan.api.cache import PerCommit, committed_key, embedded
from sultan.api.chain_view import chain_view
from sultan.api.inline import QueryRunner
from sultan.api.limits import make_limiter
from sultan.api.metrics import ENDPOINT_KEY, api_metrics, http_middleware
from sultan.api.openapi import build_openapi
from sultan.api.services import (
    COMETBFT_VERSION,
    HEIGHT_HEADER,
    CosmosServices,
    classify,
    parse_height,
)
from sultan.kernel.coins import format_dec
from sultan.kernel.errors import QueryError
from sultan.kernel.timeutil import now_ns
from sultan.pb.gogoproto import gogo_pb2

log = logging.getLogger("sultan.rest")

FD = _descriptor.FieldDescriptor
_JSON = "application/json"
_JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}  # as web.json_response
LEGACY_DEC = "cosmossdk.io/math.LegacyDec"
HEIGHT_RESPONSE_HEADER = "Grpc-Metadata-X-Cosmos-Block-Height"
MIN_HEALTH_WINDOW_MS = 10_000
_WKT_SCALAR = {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Any",
    *(
        f"google.protobuf.{n}Value"
        for n in (
            "Double",
            "Float",
            "Int64",
            "UInt64",
            "Int32",
            "UInt32",
            "Bool",
            "String",
            "Bytes",
        )
    ),
}

# Message fields the Cosmos/CometBFT protos mark `(gogoproto.nullable) = false`: gogo
# renders them as structs even when empty, while unset nullable ones render as null.
NON_NULLABLE = frozenset(
    {
        "tendermint.types.BlockID.part_set_header",
        "tendermint.types.Header.version",
        "tendermint.types.Header.time",
        "tendermint.types.Header.last_block_id",
        "tendermint.types.Commit.block_id",
        "tendermint.types.CommitSig.timestamp",
        "tendermint.types.Block.header",
        "tendermint.types.Block.data",
        "tendermint.types.Block.evidence",
        "tendermint.types.Validator.pub_key",
        "tendermint.p2p.DefaultNodeInfo.protocol_version",
        "tendermint.p2p.DefaultNodeInfo.other",
        "cosmos.base.tendermint.v1beta1.Block.header",
        "cosmos.base.tendermint.v1beta1.Block.data",
        "cosmos.base.tendermint.v1beta1.Block.evidence",
        "cosmos.base.tendermint.v1beta1.Header.version",
        "cosmos.base.tendermint.v1beta1.Header.time",
        "cosmos.base.tendermint.v1beta1.Header.last_block_id",
    }
)

# grpc-gateway's HTTPStatusFromCode.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}


class GatewayError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_response(code: grpc.StatusCode, message: str) -> web.Response:
    body = {"code": code.value[0], "message": message, "details": []}
    return web.json_response(body, status=HTTP_STATUS.get(code, 500))


# -- protobuf JSON, the way the Cosmos gateway writes it --------------------------------------


@functools.cache
def _gogo_option(field: Any, name: str) -> Any:
    """A `gogoproto.*` field option from the module's .proto (None when absent).

    Cached: descriptors are fixed for the process, and reading options for every field of
    every response was a third of `gateway_json`'s time."""
    options = field.GetOptions()
    extension = getattr(gogo_pb2, name)
    return options.Extensions[extension] if options.HasExtension(extension) else None


def _is_legacy_dec(field: Any) -> bool:
    return field.type == FD.TYPE_STRING and _gogo_option(field, "customtype") == LEGACY_DEC


def _legacy_dec_text(atomics: str) -> str:
    """A LegacyDec's protobuf form (integer of 10^-18 units) as gogo's JSON writes it."""
    try:
        return format_dec(int(atomics or "0"))
    except ValueError:
        return atomics


def _fill_nulls(msg: Any, out: dict[str, Any]) -> dict[str, Any]:
    """gogo jsonpb with EmitDefaults writes unset message fields and empty bytes as null.

    (The SDK's gateway decodes each response from protobuf bytes, so empty byte fields are
    nil slices there.) Fields keep proto order. Fields marked `(gogoproto.nullable) = false`
    render as objects even when unset, and `(gogoproto.customtype)` LegacyDec strings as
    decimals ("1.500000000000000000"), as the SDK's gateway does."""
    ordered: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        name = field.name
        if _is_legacy_dec(field) and name in out:
            value = out[name]
            ordered[name] = (
                [_legacy_dec_text(v) for v in value]
                if isinstance(value, list)
                else _legacy_dec_text(value)
            )
            continue
        if name not in out:
            is_message = field.type == FD.TYPE_MESSAGE and not _is_repeated(field)
            in_real_oneof = field.containing_oneof is not None and not getattr(
                field.containing_oneof, "is_synthetic", False
            )
            if is_message and not in_real_oneof:
                non_nullable = (
                    f"{msg.DESCRIPTOR.full_name}.{name}" in NON_NULLABLE
                    or _gogo_option(field, "nullable") is False
                )
                if non_nullable:
                    sub_msg = getattr(msg, name)
                    ordered[name] = (
                        gateway_json(sub_msg)
                        if field.message_type.full_name not in _WKT_SCALAR
                        else (json_format.MessageToDict(sub_msg))
                    )
                else:
                    ordered[name] = None
            continue
        value = out[name]
        if field.type == FD.TYPE_BYTES and value == "" and not _is_repeated(field):
            ordered[name] = None  # a nil []byte after protobuf decoding: gogo writes null
            continue
        sub = field.message_type
        if sub is not None and sub.full_name not in _WKT_SCALAR and not _is_map(field):
            if _is_repeated(field):
                value = [_fill_nulls(m, v) for m, v in zip(getattr(msg, name), value, strict=False)]
            elif isinstance(value, dict):
                value = _fill_nulls(getattr(msg, name), value)
        ordered[name] = value
    for key, value in out.items():  # anything else json_format produced (e.g. "@type")
        ordered.setdefault(key, value)
    return ordered


def _is_repeated(field: Any) -> bool:
    repeated = getattr(field, "is_repeated", None)  # protobuf >= 5.29; `label` before
    return bool(repeated) if repeated is not None else field.label == FD.LABEL_REPEATED


def _is_map(field: Any) -> bool:
    return bool(field.message_type is not None and field.message_type.GetOptions().map_entry)


def gateway_json(msg: Any) -> dict[str, Any]:
    out = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return _fill_nulls(msg, out)


# -- requests from paths and query strings ----------------------------------------------------


def _field(desc: Any, name: str) -> Any:
    field = desc.fields_by_name.get(name)
    if field is None:
        field = next((f for f in desc.fields if f.json_name == name), None)
    return field


def _scalar(field: Any, text: str, key: str) -> Any:
    if field.type == FD.TYPE_BOOL:
        low = text.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, f"{key}: invalid boolean {text!r}")
    if field.type == FD.TYPE_BYTES:
        padded = text + "=" * (-len(text) % 4)
        try:
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT, f"{key}: invalid base64 {text!r}"
            ) from None
        return base64.b64encode(raw).decode()
    return text


def _set(target: dict[str, Any], desc: Any, path: list[str], values: list[str], key: str) -> None:
    field = _field(desc, path[0])
    if field is None or _is_map(field):
        return  # unknown query parameters are ignored, as grpc-gateway v1 does
    if len(path) > 1:
        if field.type != FD.TYPE_MESSAGE or _is_repeated(field):
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT, f"{key}: {path[0]} is not a message field"
            )
        sub = target.setdefault(field.name, {})
        if not isinstance(sub, dict):
            raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, f"{key}: conflicting values")
        _set(sub, field.message_type, path[1:], values, key)
        return
    if field.type == FD.TYPE_MESSAGE and field.message_type.full_name not in _WKT_SCALAR:
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, f"{key}: cannot set a message from a string"
        )
    if _is_repeated(field):
        target.setdefault(field.name, []).extend(_scalar(field, v, key) for v in values)
    else:
        target[field.name] = _scalar(field, values[-1], key)


def _plain_string(desc: Any, name: str, value: Any) -> bool:
    field = desc.fields_by_name.get(name)
    return (
        isinstance(value, str)
        and field is not None
        and field.type == FD.TYPE_STRING
        and not _is_repeated(field)
    )


def build_request(
    request_class: Any,
    path_params: dict[str, str],
    query: Any,
    body: dict[str, Any] | None = None,
) -> Any:
    data: dict[str, Any] = dict(body or {})
    grouped: dict[str, list[str]] = {}
    for key, value in query.items():
        grouped.setdefault(key, []).append(value)
    desc = request_class.DESCRIPTOR
    for key, values in grouped.items():
        _set(data, desc, key.split("."), values, key)
    for key, value in path_params.items():
        _set(data, desc, key.split("."), [value], key)
    if all(_plain_string(desc, key, value) for key, value in data.items()):
        try:  # e.g. an address and a denom: what ParseDict does, a quarter of its cost
            return request_class(**data)
        except (ValueError, TypeError):
            pass  # ParseDict below words the error
    msg = request_class()
    try:
        json_format.ParseDict(data, msg)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
    return msg


# -- routes -----------------------------------------------------------------------------------


@attrs.frozen
class Route:
    http_method: str
    template: str  # grpc-gateway path, e.g. /cosmos/bank/v1beta1/balances/{address}
    method: str  # gRPC method name
    request_class: Any
    response_class: Any
    call: Callable[[Any, int], tuple[Any, int]]  # (request, height) -> (response, height)
    module: str = ""
    regex: re.Pattern[str] = attrs.field(init=False)
    params: tuple[str, ...] = attrs.field(init=False)
    specificity: tuple[int, int] = attrs.field(init=False)
    prefix: str = attrs.field(init=False)  # the literal start every matching path has

    def __attrs_post_init__(self) -> None:
        parts, params, wild = [], [], 0
        for segment in self.template.strip("/").split("/"):
            m = re.fullmatch(r"\{([\w.]+)(?:=([^}]*))?\}", segment)
            if m is None:
                parts.append(re.escape(segment))
                continue
            group = f"p{len(params)}"
            params.append(m.group(1))
            if m.group(2) and "**" in m.group(2):
                parts.append(f"(?P<{group}>.+)")
                wild += 1
            else:
                parts.append(f"(?P<{group}>[^/]+)")
        object.__setattr__(self, "regex", re.compile("/" + "/".join(parts)))
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "specificity", (wild, len(params)))
        object.__setattr__(self, "prefix", "/" + self.template.strip("/").split("{")[0])

    def match(self, path: str) -> dict[str, str] | None:
        if not path.startswith(self.prefix):  # cheap test first: most routes fail it
            return None
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        return {name: m.group(f"p{i}") for i, name in enumerate(self.params)}

    @property
    def openapi_path(self) -> str:
        return re.sub(r"\{([\w.]+)=[^}]*\}", r"{\1}", self.template)


def build_routes(node: Any, services: CosmosServices) -> list[Route]:
    routes: list[Route] = []
    blocks = chain_view(node).blocks
    for bm in services.methods():
        for http_method, path in bm.rest:

            def call(req: Any, height: int, _bm: Any = bm) -> tuple[Any, int]:
                return _bm.call(req), blocks.height

            routes.append(
                Route(http_method, path, bm.method, bm.request_class, bm.response_class, call)
            )
    app = node.app
    for rr in node.modules.rest_routes:
        query = node.modules.queries[rr.method]

        def run(req: Any, height: int, _q: Any = query) -> tuple[Any, int]:
            raw, used = app.run_query(_q.method, req.SerializeToString(), height)
            try:
                return _q.response_class.FromString(raw), used
            except DecodeError as exc:
                raise QueryError(
                    "Internal", f"undecodable response from {_q.method}: {exc}"
                ) from None

        routes.append(
            Route(
                rr.http_method.upper(),
                rr.path,
                rr.method,
                query.request_class,
                query.response_class,
                run,
                rr.module,
            )
        )
    routes.sort(key=lambda r: r.specificity)  # literal segments win over {params}
    return routes


# -- health -----------------------------------------------------------------------------------


def health(node: Any) -> tuple[bool, dict[str, Any]]:
    if getattr(node, "consensus_engine", "embedded") == "cometbft":
        return chain_view(node).health()  # type: ignore[no-any-return]
    engine = node.engine
    cons = node.config.node.consensus
    window_ms = max(3 * cons.timeout_commit_ms, MIN_HEALTH_WINDOW_MS)
    if not cons.create_empty_blocks and cons.create_empty_blocks_interval_ms:
        window_ms = max(window_ms, 3 * cons.create_empty_blocks_interval_ms)
    since_ns = max(engine.last_commit_ns, node.started_ns)
    age_ms = max(0, (now_ns() - since_ns) // 1_000_000)
    info: dict[str, Any] = {
        "height": engine.height,
        "last_block_age_ms": age_ms,
        "window_ms": window_ms,
    }
    reason = ""
    work = engine.WORK  # "block production", or "following" on a state-synced follower
    if engine.error is not None:
        reason = f"{work} failed: {type(engine.error).__name__}: {engine.error}"
    elif getattr(engine, "halted", False):
        reason = f"halt height {engine.halt_height} reached"
    elif not engine.running:
        reason = f"{work} is not running"
    elif age_ms > window_ms and (cons.create_empty_blocks or len(node.mempool) > 0):
        reason = f"no block committed for {age_ms} ms (limit {window_ms} ms)"
    if reason:
        return False, {"status": "unhealthy", "reason": reason, **info}
    return True, {"status": "ok", **info}


# -- the server -------------------------------------------------------------------------------


class RESTServer:
    def __init__(self, node: Any) -> None:
        self.node = node
        self.config = node.config.app.api
        self.services = CosmosServices(node)
        self.routes = build_routes(node, self.services)
        self._openapi: dict[str, Any] | None = None
        self._queries = QueryRunner()
        # Embedded engine: /status and /chain_info built once per committed block, on the
        # event loop (block store reads are local RocksDB reads); see sultan.api.cache.
        self._per_commit = embedded(node)
        if self._per_commit:
            key = committed_key(node)
            self._status_head: PerCommit[str] = PerCommit(key, self._status_head_json)
            self._chain_info_body: PerCommit[bytes] = PerCommit(
                key, lambda: json.dumps(self._chain_info()).encode()
            )

    def make_app(self) -> web.Application:
        cfg = self.config
        observe = http_middleware(
            "rest",
            api_metrics(self.node),
            endpoint_of=self._endpoint_of,
            limiter=make_limiter(cfg.rate_limit_per_second, cfg.rate_limit_burst),
            on_limited=lambda retry: error_response(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"rate limit exceeded: retry after {retry}s"
            ),
            read_timeout_s=cfg.rpc_read_timeout_ms / 1000,
            max_body_bytes=cfg.rpc_max_body_bytes,
            on_read_timeout=lambda: web.json_response(
                {
                    "code": grpc.StatusCode.DEADLINE_EXCEEDED.value[0],
                    "message": f"request body not received within {cfg.rpc_read_timeout_ms} ms",
                    "details": [],
                },
                status=408,
            ),
            handler_timeout_s=cfg.rpc_write_timeout_ms / 1000,
            on_timeout=lambda: error_response(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"request not answered within {cfg.rpc_write_timeout_ms} ms",
            ),
        )
        app = web.Application(
            client_max_size=self.config.rpc_max_body_bytes, middlewares=[observe, self._errors]
        )
        app.router.add_get("/health", self.handle_health)
        app.router.add_get("/status", self.handle_status)
        app.router.add_get("/chain_info", self.handle_chain_info)
        if self.config.swagger:
            app.router.add_get("/swagger", self.handle_swagger_redirect)
            app.router.add_get("/swagger/", self.handle_swagger_page)
            app.router.add_get("/swagger/openapi.json", self.handle_openapi)
        app.router.add_route("*", "/{tail:.*}", self.handle_gateway)
        return app

    def _endpoint_of(self, request: web.Request) -> str:
        """The metrics label: the route template served (bounded, never the raw path)."""
        named: str | None = request.get(ENDPOINT_KEY)
        if named:
            return named
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else ""
        if canonical and "{tail}" not in canonical:
            return f"rest:{canonical}"
        route = next((r for r in self.routes if r.match(request.path) is not None), None)
        return f"rest:{route.template}" if route is not None else "rest:other"

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            body = {
                "code": grpc.StatusCode.RESOURCE_EXHAUSTED.value[0],
                "message": f"request body too large (max {self.config.rpc_max_body_bytes} bytes)",
                "details": [],
            }
            return web.json_response(body, status=413)
        except web.HTTPException:
            raise
        except Exception as exc:
            log.exception("REST request %s failed", request.path)
            return error_response(
                grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"
            )

    # -- gateway ---------------------------------------------------------------------------

    async def handle_gateway(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        matched = [(r, p) for r in self.routes if (p := r.match(path)) is not None]
        if not matched:
            return error_response(grpc.StatusCode.UNIMPLEMENTED, "Not Implemented")
        method = request.method
        chosen = next(((r, p) for r, p in matched if r.http_method == method), None)
        if chosen is None:
            return web.json_response(
                {
                    "code": grpc.StatusCode.UNIMPLEMENTED.value[0],
                    "message": "Method Not Allowed",
                    "details": [],
                },
                status=405,
            )
        route, params = chosen
        request[ENDPOINT_KEY] = f"rest:{route.template}"
        try:
            body = None
            if method in ("POST", "PUT", "PATCH"):
                raw = await request.read()
                if raw:
                    try:
                        body = json.loads(raw)
                    except (ValueError, RecursionError) as exc:
                        raise GatewayError(
                            grpc.StatusCode.INVALID_ARGUMENT, f"invalid JSON body: {exc}"
                        ) from None
                    if not isinstance(body, dict):
                        raise GatewayError(
                            grpc.StatusCode.INVALID_ARGUMENT, "the JSON body must be an object"
                        )
            req = build_request(route.request_class, params, request.query, body)
            height = parse_height(request.headers.get(HEIGHT_HEADER))
            if route.module:
                # A module query reads committed state only (no lock the committing thread
                # holds): on the loop while it stays quick (sultan.api.inline).
                response, used = await self._queries.run(route.method, route.call, req, height)
            else:  # node services: CometBFT's RPC, the mempool, block decoding -- threads
                response, used = await asyncio.to_thread(route.call, req, height)
            payload = gateway_json(response)
        except GatewayError as exc:
            return error_response(exc.code, exc.message)
        except web.HTTPException:
            raise
        except Exception as exc:
            code, message = classify(exc)
            if code == grpc.StatusCode.INTERNAL:
                log.exception("query %s failed", route.method)
            return error_response(code, message)
        return web.json_response(payload, headers={HEIGHT_RESPONSE_HEADER: str(used)})

    # -- operator endpoints ---------------------------------------------------------------

    async def handle_health(self, request: web.Request) -> web.Response:
        ok, body = health(self.node)
        return web.json_response(body, status=200 if ok else 503)

    async def handle_status(self, request: web.Request) -> web.Response:
        if not self._per_commit:
            return web.json_response(await asyncio.to_thread(self._status))
        # The block part once per commit; the mempool figures (they change between blocks)
        # per request, appended as the last two keys exactly as json.dumps would write them.
        size, nbytes = chain_view(self.node).mempool_stats()
        text = f'{self._status_head.get()}, "mempool_size": {size}, "mempool_bytes": {nbytes}}}'
        return web.Response(body=text.encode(), headers=_JSON_UTF8)

    def _status(self) -> dict[str, Any]:
        mempool_size, mempool_bytes = chain_view(self.node).mempool_stats()
        return {
            **self._status_block_part(),
            "mempool_size": mempool_size,
            "mempool_bytes": mempool_bytes,
        }

    def _status_head_json(self) -> str:
        """The JSON of `_status_block_part()` without its closing brace."""
        return json.dumps(self._status_block_part())[:-1]

    def _status_block_part(self) -> dict[str, Any]:
        node = self.node
        chain = chain_view(node)
        blocks = chain.blocks
        height = blocks.height
        block = blocks.block(height) if height else None
        bid = blocks.block_id(height) if height else None
        app_hash = node.app.last_app_hash
        if self._per_commit and height and node.app.last_height != height:
            # Block and state commit in one batch, but the application's in-memory app
            # hash follows a moment after the write: take the block's own result instead.
            results = blocks.results(height)
            app_hash = results.app_hash if results is not None else app_hash
        external = chain.node_info()  # CometBFT's identity when it drives the app
        return {
            "node_id": external.default_node_id if external is not None else node.node_id,
            "moniker": node.moniker,
            "chain_id": node.chain_id,
            "version": __version__,
            "cometbft_version": external.version if external is not None else COMETBFT_VERSION,
            "height": height,
            "app_hash": fmt.hexu(app_hash),
            "latest_block_hash": fmt.hexu(bid.hash) if bid is not None else "",
            "latest_block_time": fmt.time_field(block.header, "time")
            if block is not None
            else None,
            "catching_up": chain.syncing(),
        }

    async def handle_chain_info(self, request: web.Request) -> web.Response:
        if self._per_commit:
            return web.Response(body=self._chain_info_body.get(), headers=_JSON_UTF8)
        return web.json_response(await asyncio.to_thread(self._chain_info))

    def _chain_info(self) -> dict[str, Any]:
        node = self.node
        genesis = node.genesis
        blocks = chain_view(node).blocks
        vset = blocks.validators(blocks.height + 1) or blocks.validators(blocks.height)
        validators = (
            [
                {
                    "address": fmt.hexu(v.address),
                    "pub_key": fmt.pub_key(v.pub_key),
                    "voting_power": str(v.voting_power),
                }
                for v in vset.validators
            ]
            if vset is not None
            else [
                {
                    "address": v.address_hex,
                    "pub_key": {"type": fmt.ED25519_AMINO, "value": fmt.b64(v.pub_key)},
                    "voting_power": str(v.power),
                }
                for v in genesis.validators
            ]
        )
        return {
            "chain_id": genesis.chain_id,
            "genesis_time": genesis.genesis_time,
            "initial_height": genesis.initial_height,
            "validators": validators,
            "modules": [
                {"name": m.name, "version": m.version, "consensus_version": m.consensus_version}
                for m in node.modules.modules
            ],
        }

    # -- swagger --------------------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        if self._openapi is None:
            self._openapi = build_openapi(self.node, self.routes)
        return self._openapi

    async def handle_openapi(self, request: web.Request) -> web.Response:
        return web.json_response(self.openapi())

    async def handle_swagger_redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/swagger/")

    async def handle_swagger_page(self, request: web.Request) -> web.Response:
        page = resources.files("sultan.api").joinpath("static/swagger.html").read_text("utf-8")
        return web.Response(text=page, content_type="text/html")
