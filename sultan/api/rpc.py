"""The CometBFT v0.38 JSON-RPC server (port 26657), served by the embedded engine.

Clients cannot tell it from CometBFT's: JSON-RPC 2.0 over HTTP POST at `/` (single and
batch requests; requests without an `id` are notifications and get no reply), the URI
form `GET /<method>?arg=value` (strings "quoted" or 0x-hex, integers bare, id -1), the
same method names, argument names, result shapes (`jsonfmt`) and error objects:
-32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid
params, -32603 internal error with CometBFT's message in `data`.

Every method is declared once in `METHODS` (name → handler and typed parameters).
Store reads run in worker threads so the event loop never waits on RocksDB.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import inspect
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import attrs
from aiohttp import web

from sultan.api import jsonfmt as fmt
from sultan.api.cache import PerCommit, committed_key
from sultan.api.limits import make_limiter
from sultan.api.metrics import ENDPOINT_KEY, FAILED_KEY, api_metrics, http_middleware
from sultan.api.services import (
    BLOCK_PROTOCOL,
    CHANNELS,
    COMETBFT_VERSION,
    P2P_PROTOCOL,
    abci_request_info,
)
from sultan.kernel.engine.indexer import SearchTooBroadError
from sultan.kernel.engine.query import QuerySyntaxError, parse_query
from sultan.kernel.mempool import MempoolError
from sultan.pb.tendermint.abci import types_pb2 as abci

log = logging.getLogger("sultan.rpc")

URI_REQUEST_ID = -1  # CometBFT answers URI requests with this id
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
BLOCKCHAIN_LIMIT = 20
GENESIS_CHUNK_SIZE = 16 * 1024 * 1024
MAX_QUERY_LENGTH = 512
# CometBFT's RPC server defaults (rpc/jsonrpc/server.DefaultConfig); the write timeout is
# raised above timeout_broadcast_tx_commit, as CometBFT's node does.
DEFAULT_READ_TIMEOUT_MS = 10_000
DEFAULT_WRITE_TIMEOUT_MS = 10_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT_RE = re.compile(r"^-?[0-9]+$")
_JSON_HEADERS = {"Content-Type": "application/json"}


class RPCError(Exception):
    """A JSON-RPC error object: `code`, `message` and CometBFT's explanation in `data`."""

    def __init__(self, code: int, message: str, data: str = "") -> None:
        super().__init__(f"{code} {message}: {data}")
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data:  # `json:"data,omitempty"`
            out["data"] = self.data
        return out


def internal_error(data: str) -> RPCError:
    """What CometBFT returns when a method fails (`RPCInternalError`)."""
    return RPCError(-32603, "Internal error", data)


def invalid_params(data: str, *, uri: bool = False) -> RPCError:
    where = "http" if uri else "json"
    return RPCError(
        -32602, "Invalid params", f"error converting {where} params to arguments: {data}"
    )


def invalid_request(data: str) -> RPCError:
    return RPCError(-32600, "Invalid Request", data)


METHOD_NOT_FOUND = RPCError(-32601, "Method not found")


# -- parameters ------------------------------------------------------------------------------


@attrs.frozen
class Param:
    """One argument. kind: int | str | bool | bytes (base64 in JSON) | hex (HexBytes)."""

    name: str
    kind: str


@attrs.frozen
class Method:
    name: str
    handler: Callable[..., Any]  # RPCService method; sync ones run in a worker thread
    params: tuple[Param, ...] = ()


def _int(param: Param, value: int, uri: bool) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise invalid_params(f"{param.name}: {value} overflows int64", uri=uri)
    return value


def _convert_json(param: Param, value: Any, uri: bool = False) -> Any:
    """A JSON-RPC argument, read the way CometBFT's libs/json reads it into a Go type."""
    if value is None:
        return None
    kind, name = param.kind, param.name
    if kind == "int":
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            return _int(param, value, uri)
        elif isinstance(value, float) and value.is_integer():
            return _int(param, int(value), uri)
        elif isinstance(value, str) and _INT_RE.match(value):
            return _int(param, int(value), uri)
        raise invalid_params(
            f'{name}: expected an integer such as "5", got {json.dumps(value)}', uri=uri
        )
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise invalid_params(f"{name}: expected true or false, got {json.dumps(value)}", uri=uri)
    if not isinstance(value, str):
        raise invalid_params(f"{name}: expected a string, got {json.dumps(value)}", uri=uri)
    if kind == "str":
        return value
    if kind == "bytes":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_params(f"{name}: expected base64 bytes, got {value!r}", uri=uri) from None
    if kind == "hex":
        text = value[2:] if value[:2].lower() == "0x" else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise invalid_params(f"{name}: expected hex bytes, got {value!r}", uri=uri) from None
    raise AssertionError(f"unknown parameter kind {kind}")  # pragma: no cover


def _convert_uri(param: Param, text: str) -> Any:
    """A URI argument, by CometBFT's rules: ints bare, strings "quoted", bytes 0x-hex."""
    if text == "":
        return None
    kind, name = param.kind, param.name
    quoted = len(text) >= 2 and text[0] == '"' and text[-1] == '"'
    is_hex = text[:2].lower() == "0x"

    def unquote() -> Any:
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise invalid_params(f"{name}: invalid JSON string {text!r}", uri=True) from None

    if kind == "int":
        if _INT_RE.match(text):
            return _int(param, int(text), True)
        if quoted:
            return _convert_json(param, unquote(), uri=True)
        raise invalid_params(f"{name}: expected an integer, got {text!r}", uri=True)
    if kind == "bool":
        if text in ("true", "false"):
            return text == "true"
        raise invalid_params(f"{name}: expected true or false, got {text!r}", uri=True)
    if is_hex:
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raise invalid_params(f"{name}: invalid hex {text!r}", uri=True) from None
        return raw.decode("utf-8", "replace") if kind == "str" else raw
    if not quoted:
        raise invalid_params(
            f'{name}: expected a quoted string (e.g. {name}="...") or 0x-prefixed hex, got {text!r}',
            uri=True,
        )
    value = unquote()
    if not isinstance(value, str):
        raise invalid_params(f"{name}: expected a string, got {text!r}", uri=True)
    return value if kind == "str" else value.encode()


def bind_json_params(method: Method, params: Any) -> dict[str, Any]:
    """Named (object) or positional (array) JSON-RPC params → keyword arguments."""
    if params is None:
        params = {}
    if isinstance(params, dict):
        return {p.name: _convert_json(p, params.get(p.name)) for p in method.params}
    if isinstance(params, list):
        if len(params) != len(method.params):
            names = [p.name for p in method.params]
            raise invalid_params(f"expected {len(names)} parameters ({names}), got {len(params)}")
        return {p.name: _convert_json(p, v) for p, v in zip(method.params, params, strict=True)}
    raise invalid_params("unknown type for JSON params: expected an object or an array")


# -- paging helpers (CometBFT rpc/core/env.go) --------------------------------------------------


def validate_per_page(per_page: int | None) -> int:
    if per_page is None or per_page < 1:
        return DEFAULT_PER_PAGE
    return min(per_page, MAX_PER_PAGE)


def validate_page(page: int | None, per_page: int, total: int) -> int:
    if page is None:
        return 1
    pages = max((total - 1) // per_page + 1, 1)
    if page <= 0 or page > pages:
        raise internal_error(f"page should be within [1, {pages}] range, given {page}")
    return page


def paginate(items: list[Any], page: int | None, per_page: int | None) -> list[Any]:
    size = validate_per_page(per_page)
    number = validate_page(page, size, len(items))
    skip = (number - 1) * size
    return items[skip : skip + size]


# -- the service -----------------------------------------------------------------------------


class RPCService:
    """The JSON-RPC methods over one node; transport-independent (see `RPCServer`)."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.config = node.config.node.rpc
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[bytes, set[asyncio.Future[Any]]] = {}
        self._closed = False
        self._genesis_json: bytes | None = None
        self.rpc_address = (
            self.config.laddr
        )  # the bound address once listening (port 0 → real port)
        # `status` changes only with a commit: built once per block, answered on the event
        # loop (see sultan.api.cache); rpc_address is set before the server takes requests.
        self._status: PerCommit[dict[str, Any]] = PerCommit(committed_key(node), self._build_status)

    @property
    def blocks(self) -> Any:
        return self.node.engine.blocks

    # -- lifecycle ------------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start listening for commits (for broadcast_tx_commit) on `loop`."""
        self._loop = loop
        self.node.engine.on_commit(self._on_commit)

    def close(self) -> None:
        self._closed = True
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.cancel()
        self._waiters.clear()

    def _on_commit(self, committed: Any) -> None:
        """Engine thread: hand the block to the event loop, only if someone waits."""
        loop = self._loop
        if self._closed or not self._waiters or loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._deliver, committed)
        except RuntimeError:  # the loop closed in between
            pass

    def _deliver(self, committed: Any) -> None:
        if not self._waiters:
            return
        for index, tx in enumerate(committed.block.data.txs):
            for future in self._waiters.get(fmt.tx_hash(tx), ()):
                if not future.done():
                    future.set_result(
                        (committed.height, index, committed.results.tx_results[index])
                    )

    # -- dispatch -------------------------------------------------------------------------

    async def call(self, name: Any, params: Any, *, uri: bool = False) -> Any:
        method = METHODS.get(name) if isinstance(name, str) else None
        if method is None:
            raise METHOD_NOT_FOUND
        if uri:
            args = {p.name: _convert_uri(p, params.get(p.name, "")) for p in method.params}
        else:
            args = bind_json_params(method, params)
        try:
            if inspect.iscoroutinefunction(method.handler):
                return await method.handler(self, **args)
            return await asyncio.to_thread(method.handler, self, **args)
        except RPCError:
            raise
        except Exception as exc:
            log.exception("RPC method %s failed", name)
            raise internal_error(f"{type(exc).__name__}: {exc}") from None

    # -- helpers --------------------------------------------------------------------------

    def _height(self, height: int | None) -> int:
        """CometBFT's getHeight: None = latest; otherwise within [base, latest]."""
        latest = self.blocks.height
        if height is None:
            return latest
        if height <= 0:
            raise internal_error(f"height must be greater than 0, but got {height}")
        if height > latest:
            raise internal_error(
                f"height {height} must be less than or equal to the current blockchain height {latest}"
            )
        base = self.blocks.base
        if height < base:
            raise internal_error(f"height {height} is not available, lowest height is {base}")
        return height

    def _result_block(self, height: int) -> dict[str, Any]:
        block = self.blocks.block(height)
        bid = self.blocks.block_id(height)
        return {
            "block_id": fmt.block_id(bid) if bid is not None else _empty_block_id(),
            "block": fmt.block(block) if block is not None else None,
        }

    def _block_txs(self, height: int) -> Any:
        block = self.blocks.block(height)
        results = self.blocks.results(height)
        if block is None or results is None:
            return
        for index, tx in enumerate(block.data.txs):
            yield (
                height,
                index,
                abci.TxResult(height=height, index=index, tx=tx, result=results.tx_results[index]),
            )

    def _block_events(self, height: int) -> Any:
        results = self.blocks.results(height)
        return list(results.events) if results is not None else []

    def _app_version(self) -> int:
        return int(self.node.app.info(abci_request_info()).app_version)

    def _genesis_bytes(self) -> bytes:
        if self._genesis_json is None:
            self._genesis_json = json.dumps(
                self.node.full_genesis().to_json(), separators=(",", ":")
            ).encode()
        return self._genesis_json

    # -- info methods ---------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {}

    async def status(self) -> dict[str, Any]:
        return self._status.get()  # shared: callers only serialise it

    def _build_status(self) -> dict[str, Any]:
        node, blocks = self.node, self.blocks
        latest = blocks.height
        latest_hash = latest_app_hash = b""
        latest_time = earliest_time = "1970-01-01T00:00:00Z"
        if latest:
            block, bid = blocks.block(latest), blocks.block_id(latest)
            if block is not None and bid is not None:
                latest_hash, latest_app_hash = bid.hash, block.header.app_hash
                latest_time = fmt.time_field(block.header, "time")
        earliest_height, earliest_hash, earliest_app_hash = 0, b"", b""
        base = blocks.base
        if base:
            block, bid = blocks.block(base), blocks.block_id(base)
            if block is not None and bid is not None:
                earliest_height, earliest_hash = base, bid.hash
                earliest_app_hash = block.header.app_hash
                earliest_time = fmt.time_field(block.header, "time")
        power = 0
        vset = blocks.validators(latest + 1) or blocks.validators(latest)
        if vset is not None:
            for v in vset.validators:
                if v.address == node.priv_key.address:
                    power = v.voting_power
        return {
            "node_info": {
                "protocol_version": {
                    "p2p": str(P2P_PROTOCOL),
                    "block": str(BLOCK_PROTOCOL),
                    "app": str(self._app_version()),
                },
                "id": node.node_id,
                "listen_addr": node.config.node.p2p.laddr,
                "network": node.chain_id,
                "version": COMETBFT_VERSION,
                "channels": fmt.hexu(CHANNELS),
                "moniker": node.moniker,
                "other": {"tx_index": "on", "rpc_address": self.rpc_address},
            },
            "sync_info": {
                "latest_block_hash": fmt.hexu(latest_hash),
                "latest_app_hash": fmt.hexu(latest_app_hash),
                "latest_block_height": str(latest),
                "latest_block_time": latest_time,
                "earliest_block_hash": fmt.hexu(earliest_hash),
                "earliest_app_hash": fmt.hexu(earliest_app_hash),
                "earliest_block_height": str(earliest_height),
                "earliest_block_time": earliest_time,
                "catching_up": False,
            },
            "validator_info": {
                "address": fmt.hexu(node.priv_key.address),
                "pub_key": {"type": fmt.ED25519_AMINO, "value": fmt.b64(node.priv_key.pub_key)},
                "voting_power": str(power),
            },
        }

    def net_info(self) -> dict[str, Any]:
        laddr = self.node.config.node.p2p.laddr
        return {
            "listening": True,
            "listeners": [f"Listener(@{laddr.split('://', 1)[-1]})"],
            "n_peers": "0",
            "peers": [],
        }

    def genesis(self) -> dict[str, Any]:
        if len(self._genesis_bytes()) > GENESIS_CHUNK_SIZE:
            raise internal_error(
                "genesis response is large, please use the genesis_chunked API instead"
            )
        return {"genesis": json.loads(self._genesis_bytes())}

    def genesis_chunked(self, chunk: int | None) -> dict[str, Any]:
        data = self._genesis_bytes()
        chunks = [data[i : i + GENESIS_CHUNK_SIZE] for i in range(0, len(data), GENESIS_CHUNK_SIZE)]
        number = chunk or 0
        if not 0 <= number < len(chunks):
            raise internal_error(f"there are {len(chunks) - 1} chunks, {number} is invalid")
        return {"chunk": str(number), "total": str(len(chunks)), "data": fmt.b64(chunks[number])}

    def abci_info(self) -> dict[str, Any]:
        return {"response": fmt.response_info(self.node.app.info(abci_request_info()))}

    def abci_query(
        self, path: str | None, data: bytes | None, height: int | None, prove: bool | None
    ) -> dict[str, Any]:
        request = abci.RequestQuery(
            path=path or "", data=data or b"", height=height or 0, prove=bool(prove)
        )
        return {"response": fmt.response_query(self.node.app.query(request))}

    def consensus_params(self, height: int | None) -> dict[str, Any]:
        used = self._height(height)
        return {
            "block_height": str(used),
            "consensus_params": fmt.consensus_params(self.node.engine.consensus_params),
        }

    # -- blocks ---------------------------------------------------------------------------

    def block(self, height: int | None) -> dict[str, Any]:
        return self._result_block(self._height(height))

    def block_by_hash(self, hash: bytes | None) -> dict[str, Any]:
        found = self.blocks.height_by_hash(hash or b"")
        if found is None:
            return {"block_id": _empty_block_id(), "block": None}
        return self._result_block(found)

    def header(self, height: int | None) -> dict[str, Any]:
        block = self.blocks.block(self._height(height))
        return {"header": fmt.header(block.header) if block is not None else None}

    def header_by_hash(self, hash: bytes | None) -> dict[str, Any]:
        found = self.blocks.height_by_hash(hash or b"")
        block = self.blocks.block(found) if found is not None else None
        return {"header": fmt.header(block.header) if block is not None else None}

    def block_results(self, height: int | None) -> dict[str, Any]:
        used = self._height(height)
        results = self.blocks.results(used)
        if results is None:
            raise internal_error(f"could not find results for height #{used}")
        return fmt.block_results(used, results)

    def commit(self, height: int | None) -> dict[str, Any] | None:
        used = self._height(height)
        block = self.blocks.block(used)
        if block is None:
            return None
        canonical = used < self.blocks.height
        if canonical:
            following = self.blocks.block(used + 1)
            commit = (
                following.last_commit if following is not None else self.blocks.seen_commit(used)
            )
        else:
            commit = self.blocks.seen_commit(used)
        return {
            "signed_header": {
                "header": fmt.header(block.header),
                "commit": fmt.commit(commit) if commit is not None else None,
            },
            "canonical": canonical,
        }

    def validators(
        self, height: int | None, page: int | None, per_page: int | None
    ) -> dict[str, Any]:
        used = self._height(height)
        vset = self.blocks.validators(used)
        if vset is None:
            raise internal_error(f"could not find validator set for height #{used}")
        chosen = paginate(list(vset.validators), page, per_page)
        return {
            "block_height": str(used),
            "validators": [fmt.validator(v) for v in chosen],
            "count": str(len(chosen)),
            "total": str(len(vset.validators)),
        }

    def blockchain(self, minHeight: int | None, maxHeight: int | None) -> dict[str, Any]:
        base, height = self.blocks.base, self.blocks.height
        lo, hi = minHeight or 0, maxHeight or 0
        if lo < 0 or hi < 0:
            raise internal_error("heights must be non-negative")
        lo = lo or 1
        hi = min(height, hi or height)
        lo = max(base, lo, hi - BLOCKCHAIN_LIMIT + 1)
        if lo > hi:
            raise internal_error(f"min height {lo} can't be greater than max height {hi}")
        metas = []
        for h in range(hi, lo - 1, -1):
            raw, bid = self.blocks.block_bytes(h), self.blocks.block_id(h)
            if raw is None or bid is None:
                continue
            block = self.blocks.block(h)
            metas.append(fmt.block_meta(bid, len(raw), block))
        return {"last_height": str(height), "block_metas": metas}

    # -- transactions ---------------------------------------------------------------------

    def tx(self, hash: bytes | None, prove: bool | None) -> dict[str, Any]:
        record = self.node.engine.indexer.tx(hash or b"")
        if record is None:
            raise internal_error(f"tx ({fmt.hexu(hash or b'')}) not found")
        return self._result_tx(record, bool(prove))

    def _result_tx(self, record: Any, prove: bool) -> dict[str, Any]:
        txs = None
        if prove:
            block = self.blocks.block(record.height)
            txs = list(block.data.txs) if block is not None else None
        return fmt.result_tx(record, block_txs=txs)

    def _conditions(self, query: str | None, order_by: str | None) -> Any:
        if order_by not in (None, "", "asc", "desc"):
            raise internal_error("expected order_by to be either `asc` or `desc` or empty")
        text = query or ""
        if len(text) > MAX_QUERY_LENGTH:
            raise internal_error("maximum query length exceeded")
        try:
            return parse_query(text)
        except QuerySyntaxError as exc:
            raise internal_error(f"failed to parse query: {exc}") from None

    def tx_search(
        self,
        query: str | None,
        prove: bool | None,
        page: int | None,
        per_page: int | None,
        order_by: str | None,
    ) -> dict[str, Any]:
        conditions = self._conditions(query, order_by)
        try:
            found = self.node.engine.indexer.search_txs(
                conditions, fmt.tx_hash, self._block_txs, self.blocks.height
            )
        except SearchTooBroadError as exc:
            raise internal_error(str(exc)) from None
        if order_by == "desc":
            found.reverse()
        chosen = paginate(found, page, per_page)
        return {
            "txs": [self._result_tx(r, bool(prove)) for r in chosen],
            "total_count": str(len(found)),
        }

    def block_search(
        self, query: str | None, page: int | None, per_page: int | None, order_by: str | None
    ) -> dict[str, Any]:
        conditions = self._conditions(query, order_by)
        try:
            heights = self.node.engine.indexer.search_blocks(
                conditions, self._block_events, self.blocks.height, self.blocks.base
            )
        except SearchTooBroadError as exc:
            raise internal_error(str(exc)) from None
        if order_by != "asc":  # CometBFT's block_search defaults to newest first
            heights.reverse()
        chosen = paginate(heights, page, per_page)
        return {"blocks": [self._result_block(h) for h in chosen], "total_count": str(len(heights))}

    # -- mempool --------------------------------------------------------------------------

    def _check_and_add(self, tx: bytes) -> Any:
        try:
            return self.node.mempool.check_and_add(tx)
        except MempoolError as exc:
            raise internal_error(str(exc)) from None

    def _require_tx(self, tx: bytes | None) -> bytes:
        if not tx:
            raise invalid_params("tx: a non-empty base64 transaction is required")
        return tx

    def broadcast_tx_async(self, tx: bytes | None) -> dict[str, Any]:
        raw = self._require_tx(tx)
        self._check_and_add(raw)  # the CheckTx result is not reported, as in CometBFT
        return {
            "code": 0,
            "data": "",
            "log": "",
            "codespace": "",
            "hash": fmt.hexu(fmt.tx_hash(raw)),
        }

    def broadcast_tx_sync(self, tx: bytes | None) -> dict[str, Any]:
        raw = self._require_tx(tx)
        res = self._check_and_add(raw)
        return {
            "code": int(res.code),
            "data": fmt.hexu(res.data),
            "log": res.log,
            "codespace": res.codespace,
            "hash": fmt.hexu(fmt.tx_hash(raw)),
        }

    async def broadcast_tx_commit(self, tx: bytes | None) -> dict[str, Any]:
        raw = self._require_tx(tx)
        if self._loop is None:
            raise internal_error("broadcast_tx_commit is unavailable: the server is not attached")
        if sum(len(f) for f in self._waiters.values()) >= self.config.max_subscription_clients:
            raise internal_error(
                f"max_subscription_clients {self.config.max_subscription_clients} reached"
            )
        tx_hash = fmt.tx_hash(raw)
        future: asyncio.Future[Any] = self._loop.create_future()
        self._waiters.setdefault(tx_hash, set()).add(future)  # subscribe before CheckTx
        try:
            check = await asyncio.to_thread(self._check_and_add, raw)
            out: dict[str, Any] = {
                "check_tx": fmt.check_tx_result(check),
                "tx_result": fmt.exec_tx_result(abci.ExecTxResult()),
                "hash": fmt.hexu(tx_hash),
                "height": "0",
            }
            if check.code != 0:
                return out
            timeout = self.config.timeout_broadcast_tx_commit_ms / 1000
            try:
                height, _index, result = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise internal_error("timed out waiting for tx to be included in a block") from None
            except asyncio.CancelledError:
                if self._closed:
                    raise internal_error("server is shutting down") from None
                raise
            out["tx_result"] = fmt.exec_tx_result(result)
            out["height"] = str(height)
            return out
        finally:
            waiting = self._waiters.get(tx_hash)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._waiters[tx_hash]

    def check_tx(self, tx: bytes | None) -> dict[str, Any]:
        raw = self._require_tx(tx)
        res = self.node.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW))
        return fmt.check_tx_result(res)

    def unconfirmed_txs(self, limit: int | None) -> dict[str, Any]:
        mempool = self.node.mempool
        txs = mempool.txs(validate_per_page(limit))
        return {
            "n_txs": str(len(txs)),
            "total": str(len(mempool)),
            "total_bytes": str(mempool.total_bytes),
            "txs": [fmt.b64(t) for t in txs],
        }

    def num_unconfirmed_txs(self) -> dict[str, Any]:
        mempool = self.node.mempool
        size = len(mempool)
        return {
            "n_txs": str(size),
            "total": str(size),
            "total_bytes": str(mempool.total_bytes),
            "txs": None,
        }


def _empty_block_id() -> dict[str, Any]:
    return {"hash": "", "parts": {"total": 0, "hash": ""}}


def _p(spec: str) -> tuple[Param, ...]:
    """ "height:int,prove:bool" → Params."""
    if not spec:
        return ()
    return tuple(Param(*item.split(":")) for item in spec.split(","))


_S = RPCService
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("health", _S.health),
        Method("status", _S.status),
        Method("net_info", _S.net_info),
        Method("blockchain", _S.blockchain, _p("minHeight:int,maxHeight:int")),
        Method("genesis", _S.genesis),
        Method("genesis_chunked", _S.genesis_chunked, _p("chunk:int")),
        Method("header", _S.header, _p("height:int")),
        Method("header_by_hash", _S.header_by_hash, _p("hash:hex")),
        Method("block", _S.block, _p("height:int")),
        Method("block_by_hash", _S.block_by_hash, _p("hash:bytes")),
        Method("block_results", _S.block_results, _p("height:int")),
        Method("commit", _S.commit, _p("height:int")),
        Method("check_tx", _S.check_tx, _p("tx:bytes")),
        Method("tx", _S.tx, _p("hash:bytes,prove:bool")),
        Method(
            "tx_search", _S.tx_search, _p("query:str,prove:bool,page:int,per_page:int,order_by:str")
        ),
        Method("block_search", _S.block_search, _p("query:str,page:int,per_page:int,order_by:str")),
        Method("validators", _S.validators, _p("height:int,page:int,per_page:int")),
        Method("consensus_params", _S.consensus_params, _p("height:int")),
        Method("unconfirmed_txs", _S.unconfirmed_txs, _p("limit:int")),
        Method("num_unconfirmed_txs", _S.num_unconfirmed_txs),
        Method("broadcast_tx_commit", _S.broadcast_tx_commit, _p("tx:bytes")),
        Method("broadcast_tx_sync", _S.broadcast_tx_sync, _p("tx:bytes")),
        Method("broadcast_tx_async", _S.broadcast_tx_async, _p("tx:bytes")),
        Method("abci_query", _S.abci_query, _p("path:str,data:hex,height:int,prove:bool")),
        Method("abci_info", _S.abci_info),
    )
}


# -- HTTP ---------------------------------------------------------------------------------------


def _json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, headers=_JSON_HEADERS
    )


def _success(rid: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def _failure(rid: Any, error: RPCError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": error.to_json()}


def _valid_id(rid: Any) -> bool:
    if isinstance(rid, bool):
        return False
    if isinstance(rid, str):
        return True
    if isinstance(rid, int):
        return INT64_MIN <= rid <= INT64_MAX
    return isinstance(rid, float) and rid.is_integer() and INT64_MIN <= rid < INT64_MAX


def _endpoint_of(request: web.Request) -> str:
    """The metrics label of an RPC request (handlers name JSON-RPC methods they parse)."""
    named: str | None = request.get(ENDPOINT_KEY)
    if named:
        return named
    name = request.match_info.get("method")
    if name is None:
        return "rpc:index"
    return f"rpc:{name}" if name in METHODS else "rpc:unknown"


class RPCServer:
    """The aiohttp application: POST / (JSON-RPC), GET / (endpoint list), GET /<method>."""

    def __init__(self, node: Any) -> None:
        self.service = RPCService(node)
        self.config = node.config.node.rpc

    def handler_args(self) -> dict[str, Any]:
        limit = self.config.max_header_bytes
        return {"max_line_size": limit, "max_field_size": limit}

    def make_app(self) -> web.Application:
        cfg = self.config
        handler_timeout_ms = max(
            DEFAULT_WRITE_TIMEOUT_MS, cfg.timeout_broadcast_tx_commit_ms + 1000
        )
        observe = http_middleware(
            "rpc",
            api_metrics(self.service.node),
            endpoint_of=_endpoint_of,
            limiter=make_limiter(cfg.rate_limit_per_second, cfg.rate_limit_burst),
            on_limited=lambda retry: _json_response(
                _failure(None, RPCError(-32005, "Rate limit exceeded", f"retry after {retry}s")),
                429,
            ),
            read_timeout_s=DEFAULT_READ_TIMEOUT_MS / 1000,
            max_body_bytes=cfg.max_body_bytes,
            on_read_timeout=lambda: _json_response(
                _failure(
                    None,
                    invalid_request(
                        f"error reading request body: not received within "
                        f"{DEFAULT_READ_TIMEOUT_MS} ms"
                    ),
                ),
                408,
            ),
            handler_timeout_s=handler_timeout_ms / 1000,
            on_timeout=lambda: _json_response(
                _failure(None, internal_error(f"request timed out after {handler_timeout_ms} ms")),
                503,
            ),
        )
        middlewares = [observe, self._errors]
        if self.config.cors_allowed_origins:
            middlewares.insert(1, self._cors)
        app = web.Application(client_max_size=self.config.max_body_bytes, middlewares=middlewares)
        app.router.add_route("*", "/", self.handle_root)
        app.router.add_route("*", "/{method}", self.handle_uri)
        return app

    # -- middlewares ----------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:  # a bug: still answer like CometBFT, never drop the request
            log.exception("RPC request %s failed", request.path)
            return _json_response(
                _failure(None, internal_error(f"{type(exc).__name__}: {exc}")), 500
            )

    @web.middleware
    async def _cors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = self.config.cors_allowed_origins
        ok = origin is not None and ("*" in allowed or origin in allowed)
        if request.method == "OPTIONS" and ok:
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
        if ok:
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin  # type: ignore[assignment]
            response.headers["Access-Control-Allow-Methods"] = "HEAD, GET, POST"
            response.headers["Access-Control-Allow-Headers"] = (
                "Origin, Accept, Content-Type, X-Requested-With, X-Server-Time"
            )
        return response

    # -- handlers -------------------------------------------------------------------------

    async def handle_root(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("POST", "GET", "HEAD"):
            return web.Response(status=405, text="405 method not allowed\n")
        if (
            request.content_length is not None
            and request.content_length > self.config.max_body_bytes
        ):
            return self._too_large()
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        if not body:
            return self._endpoint_list(request)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            request[ENDPOINT_KEY] = "rpc:invalid"
            error = RPCError(
                -32700, "Parse error. Invalid JSON", f"error unmarshaling request: {exc}"
            )
            return _json_response(_failure(None, error), 500)
        if isinstance(payload, list):
            request[ENDPOINT_KEY] = "rpc:batch"
            if not payload:
                request[FAILED_KEY] = True
                return _json_response(_failure(None, invalid_request("empty batch")))
            responses = [r for r in [await self._one(item) for item in payload] if r is not None]
            if not responses:
                return web.Response(status=200)
            request[FAILED_KEY] = any("error" in r for r in responses)
            return _json_response(responses)
        method = payload.get("method") if isinstance(payload, dict) else None
        request[ENDPOINT_KEY] = (
            f"rpc:{method}" if isinstance(method, str) and method in METHODS else "rpc:unknown"
        )
        response = await self._one(payload)
        if response is None:
            return web.Response(status=200)  # a notification gets no reply
        request[FAILED_KEY] = "error" in response
        return _json_response(response)

    async def _one(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict):
            return _failure(None, invalid_request("a request must be a JSON object"))
        if request.get("id") is None:
            return None  # notification
        rid = request["id"]
        if not _valid_id(rid):
            return _failure(
                None, invalid_request(f"json-rpc ID ({json.dumps(rid)}) is of unknown type")
            )
        try:
            result = await self.service.call(request.get("method"), request.get("params"))
        except RPCError as error:
            return _failure(rid, error)
        return _success(rid, result)

    async def handle_uri(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        if name not in METHODS:
            return web.Response(status=404, text="404 page not found\n")
        try:
            result = await self.service.call(name, request.query, uri=True)
        except RPCError as error:
            return _json_response(_failure(URI_REQUEST_ID, error), 500)
        return _json_response(_success(URI_REQUEST_ID, result))

    def _too_large(self) -> web.Response:
        error = invalid_request(
            f"error reading request body: http: request body too large (max {self.config.max_body_bytes} bytes)"
        )
        return _json_response(_failure(None, error), 413)

    def _endpoint_list(self, request: web.Request) -> web.Response:
        host = html.escape(request.host)
        rows = ["<html><body>", "<br>Available endpoints:<br>"]
        for name, method in sorted(METHODS.items()):
            if not method.params:
                rows.append(f'<a href="//{host}/{name}">//{host}/{name}</a><br>')
        rows.append("<br>Endpoints that require arguments:<br>")
        for name, method in sorted(METHODS.items()):
            if method.params:
                args = "&".join(f"{p.name}=_" for p in method.params)
                link = f"//{host}/{name}?{args}"
                rows.append(f'<a href="{link}">{link}</a></br>')
        rows.append("</body></html>")
        return web.Response(text="".join(rows), content_type="text/html")


__all__ = ["METHODS", "RPCError", "RPCServer", "RPCService"]
