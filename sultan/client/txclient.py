"""Talk to a node over its CometBFT JSON-RPC: queries, account lookup, simulate, broadcast.

Everything goes through the RPC port (26657 by default), as `gaiad`-style CLIs do:

- queries are `abci_query` calls with the gRPC method as path and protobuf bytes as data;
- `--gas auto` simulates through `/cosmos.tx.v1beta1.Service/Simulate` the same way;
- a signed tx is sent with `broadcast_tx_sync` (CheckTx result), then the client polls
  the `tx` method until the tx is in a block or a timeout passes.

The kernel does not depend on the auth module, so the account lookup decodes the few
`BaseAccount` fields it needs (number, sequence) straight from the protobuf wire format.
"""

from __future__ import annotations

import base64
import json
import math
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from sultan.client.errors import NodeError, QueryFailedError, TxFailedError
from sultan.client.signing import (
    DEFAULT_GAS_LIMIT,
    Signer,
    SignerSpec,
    sign_parts,
    tx_parts,
    unsigned_tx,
)
from sultan.kernel.coins import Coins, parse_dec_coins, required_fees
from sultan.kernel.errors import SdkError

DEFAULT_NODE = "http://127.0.0.1:26657"
DEFAULT_GAS_ADJUSTMENT = 1.5
DEFAULT_BROADCAST_TIMEOUT = 30.0
ACCOUNT_QUERY = "/cosmos.auth.v1beta1.Query/Account"
SIMULATE_QUERY = "/cosmos.tx.v1beta1.Service/Simulate"
GRPC_NOT_FOUND = 5


# -- node address -----------------------------------------------------------------------------


def normalize_node_url(text: str) -> str:
    """ "tcp://0.0.0.0:26657", "localhost:26657" or "http://h:p" → an http(s) URL."""
    url = text.strip()
    if url.startswith("tcp://"):
        url = "http://" + url[len("tcp://") :]
    elif "://" not in url:
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest:
        raise NodeError(f"invalid node address {text!r}: want http://host:port")
    host, sep, port = rest.rstrip("/").rpartition(":")
    if sep and host in ("0.0.0.0", "", "[::]"):
        rest = f"127.0.0.1:{port}"  # a wildcard listen address: talk to this machine
    return f"{scheme}://{rest.rstrip('/')}"


def default_node_url(home: str | Path | None) -> str:
    """The RPC address from `<home>/config/config.toml` ([rpc] laddr), else localhost:26657."""
    if home is None:
        return DEFAULT_NODE
    path = Path(home) / "config" / "config.toml"
    try:
        with open(path, "rb") as fh:
            laddr = tomllib.load(fh).get("rpc", {}).get("laddr")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return DEFAULT_NODE
    if not isinstance(laddr, str) or not laddr.strip():
        return DEFAULT_NODE
    try:
        return normalize_node_url(laddr)
    except NodeError:
        return DEFAULT_NODE


# -- JSON-RPC ---------------------------------------------------------------------------------


class RpcClient:
    """A CometBFT JSON-RPC client (POST JSON-RPC 2.0) with Cosmos-flavoured helpers."""

    def __init__(self, url: str = DEFAULT_NODE, timeout: float = 10.0) -> None:
        self.url = normalize_node_url(url)
        self.timeout = timeout
        self._next_id = 0

    def call(self, method: str, **params: Any) -> Any:
        self._next_id += 1
        body = json.dumps(
            {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        ).encode()
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                reply = json.loads(exc.read())
            except ValueError:
                raise NodeError(f"node at {self.url}: HTTP {exc.code} for {method}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeError(
                f"cannot reach the node at {self.url} ({reason}); is it running? "
                "(set the address with --node)"
            ) from None
        except ValueError:
            raise NodeError(f"node at {self.url}: the {method} reply is not JSON") from None
        if not isinstance(reply, dict):
            raise NodeError(f"node at {self.url}: unexpected reply to {method}")
        if reply.get("error"):
            error = reply["error"]
            detail = error.get("data") or error.get("message") if isinstance(error, dict) else error
            raise NodeError(f"{method}: {detail}")
        return reply.get("result")

    # -- chain --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return dict(self.call("status"))

    def chain_id(self) -> str:
        return str(self.status()["node_info"]["network"])

    def header_time(self, height: int) -> str:
        try:
            return str(self.call("header", height=str(height))["header"]["time"])
        except (NodeError, KeyError, TypeError):
            return ""

    # -- queries ------------------------------------------------------------------------------

    def abci_query(self, path: str, data: bytes = b"", height: int = 0) -> tuple[bytes, int]:
        """(value, height) of a query; QueryFailedError carries a non-zero code's log."""
        params: dict[str, Any] = {"path": path, "data": data.hex()}
        if height:
            params["height"] = str(height)
        response = self.call("abci_query", **params)["response"]
        code = int(response.get("code") or 0)
        if code != 0:
            raise QueryFailedError(
                path, code, response.get("codespace") or "", response.get("log") or ""
            )
        value = base64.b64decode(response.get("value") or "")
        return value, int(response.get("height") or 0)

    def query(self, path: str, request: Any, response_class: Any, height: int = 0) -> Any:
        """A protobuf query: `request` message in, `response_class` message out."""
        value, _ = self.abci_query(path, request.SerializeToString(), height)
        return response_class.FromString(value)

    # -- transactions ---------------------------------------------------------------------------

    def broadcast_tx_sync(self, tx_bytes: bytes) -> dict[str, Any]:
        return dict(self.call("broadcast_tx_sync", tx=base64.b64encode(tx_bytes).decode()))

    def tx(self, tx_hash: str) -> dict[str, Any] | None:
        """The indexed tx (CometBFT `ResultTx`), or None when the node does not know it."""
        try:
            raw = bytes.fromhex(tx_hash)
        except ValueError:
            raise NodeError(f"invalid tx hash {tx_hash!r}: want 64 hex characters") from None
        if len(raw) != 32:
            raise NodeError(f"invalid tx hash {tx_hash!r}: want 64 hex characters")
        try:
            return dict(self.call("tx", hash=base64.b64encode(raw).decode()))
        except NodeError as exc:
            if "not found" in str(exc):
                return None
            raise

    def wait_for_tx(
        self, tx_hash: str, timeout: float = DEFAULT_BROADCAST_TIMEOUT, interval: float = 0.25
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            found = self.tx(tx_hash)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)


# -- a minimal protobuf reader (for the account query) ------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def wire_fields(data: bytes) -> dict[int, list[Any]]:
    """Field number → values (ints for varints, bytes for length-delimited fields)."""
    fields: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: Any
        if wire_type == 0:
            value, pos = _varint(data, pos)
        elif wire_type == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            value, pos = data[pos : pos + length], pos + length
        elif wire_type == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire_type == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        fields.setdefault(number, []).append(value)
    return fields


def _first(fields: dict[int, list[Any]], number: int, default: Any) -> Any:
    values = fields.get(number)
    return values[-1] if values else default


@attrs.frozen
class AccountInfo:
    address: str
    account_number: int
    sequence: int
    type_url: str


def _encode_string_field(number: int, text: str) -> bytes:
    raw = text.encode()
    out = bytearray([(number << 3) | 2])
    length = len(raw)
    while True:
        byte = length & 0x7F
        length >>= 7
        out.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes(out) + raw


def query_account(client: RpcClient, address: str) -> AccountInfo | None:
    """Account number and sequence of `address`; None if the chain has no such account."""
    try:
        value, _ = client.abci_query(ACCOUNT_QUERY, _encode_string_field(1, address))
    except QueryFailedError as exc:
        if exc.code == GRPC_NOT_FOUND or "not found" in exc.log:
            return None
        raise
    try:
        packed = wire_fields(_first(wire_fields(value), 1, b""))
        type_url = bytes(_first(packed, 1, b"")).decode()
        account = wire_fields(_first(packed, 2, b""))
        if type_url.endswith(".ModuleAccount"):
            account = wire_fields(_first(account, 1, b""))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NodeError(f"cannot decode the account of {address}: {exc}") from None
    return AccountInfo(
        address=bytes(_first(account, 1, b"")).decode(errors="replace"),
        account_number=int(_first(account, 3, 0)),
        sequence=int(_first(account, 4, 0)),
        type_url=type_url,
    )


# -- building and sending -----------------------------------------------------------------------


@attrs.frozen
class TxOptions:
    """The tx flags: fees, gas and where/how to broadcast."""

    chain_id: str | None = None
    fees: str | None = None
    gas: str = str(DEFAULT_GAS_LIMIT)  # a number or "auto"
    gas_adjustment: float = DEFAULT_GAS_ADJUSTMENT
    gas_prices: str | None = None
    memo: str = ""
    timeout_height: int = 0
    account_number: int | None = None
    sequence: int | None = None
    broadcast_timeout: float = DEFAULT_BROADCAST_TIMEOUT


@attrs.frozen
class PreparedTx:
    tx_bytes: bytes
    body: Any
    auth_info: Any
    chain_id: str
    account_number: int
    sequence: int
    gas: int
    fee: Coins
    simulated_gas: int | None


@attrs.frozen
class TxResult:
    """What the chain recorded for an included tx."""

    txhash: str
    height: int
    code: int
    codespace: str
    raw_log: str
    gas_wanted: int
    gas_used: int
    data: str
    events: list[Any]
    tx: str  # base64 TxRaw

    @classmethod
    def from_rpc(cls, found: dict[str, Any]) -> TxResult:
        result = found.get("tx_result") or {}
        return cls(
            txhash=str(found.get("hash", "")),
            height=int(found.get("height") or 0),
            code=int(result.get("code") or 0),
            codespace=str(result.get("codespace") or ""),
            raw_log=str(result.get("log") or ""),
            gas_wanted=int(result.get("gas_wanted") or 0),
            gas_used=int(result.get("gas_used") or 0),
            data=str(result.get("data") or ""),
            events=list(result.get("events") or []),
            tx=str(found.get("tx") or ""),
        )


def parse_coins_arg(text: str, what: str) -> Coins:
    try:
        coins = Coins.parse(text)
    except SdkError as exc:
        raise TxFailedError(f"invalid {what} {text!r}: {exc.message}") from None
    return coins


def fee_for(gas: int, gas_prices: str) -> Coins:
    """ceil(gas × price) for every gas price denom ("0.025usultan" → 5000usultan at 200000)."""
    try:
        prices = parse_dec_coins(gas_prices)
    except SdkError as exc:
        raise TxFailedError(f"invalid --gas-prices {gas_prices!r}: {exc.message}") from None
    return required_fees(gas, [(p.denom, p.amount) for p in prices])


def parse_gas(text: str) -> int | None:
    """None for "auto", else a positive gas limit."""
    if text.strip().lower() == "auto":
        return None
    if not text.strip().isdigit() or int(text) <= 0:
        raise TxFailedError(f"invalid --gas {text!r}: want a positive number or 'auto'")
    return int(text)


def simulate(client: RpcClient, tx_bytes: bytes) -> int:
    """Gas used by `tx_bytes` in a simulation; TxFailedError with the chain's reason."""
    from sultan.pb.cosmos.tx.v1beta1 import service_pb2

    try:
        response = client.query(
            SIMULATE_QUERY,
            service_pb2.SimulateRequest(tx_bytes=tx_bytes),
            service_pb2.SimulateResponse,
        )
    except QueryFailedError as exc:
        raise TxFailedError(
            f"simulation failed: {exc.log} (codespace {exc.codespace or 'sdk'}, code {exc.code})",
            code=exc.code,
            codespace=exc.codespace,
        ) from None
    return int(response.gas_info.gas_used)


def prepare_tx(
    client: RpcClient,
    signer: Signer,
    signer_address: str,
    msgs: Sequence[Any],
    options: TxOptions,
) -> PreparedTx:
    """Look up the account, estimate gas if asked, compute the fee and sign (DIRECT)."""
    if options.fees and options.gas_prices:
        raise TxFailedError("give either --fees or --gas-prices, not both")
    if not 0 < options.gas_adjustment <= 100 or math.isnan(options.gas_adjustment):
        raise TxFailedError(f"invalid --gas-adjustment {options.gas_adjustment}")
    chain_id = options.chain_id or client.chain_id()
    if options.account_number is None or options.sequence is None:
        account = query_account(client, signer_address)
        if account is None:
            raise TxFailedError(
                f"account {signer_address} does not exist on chain {chain_id}: "
                "it has to receive tokens first"
            )
        number, sequence = account.account_number, account.sequence
    if options.account_number is not None:
        number = options.account_number
    if options.sequence is not None:
        sequence = options.sequence
    fixed_fee = parse_coins_arg(options.fees, "--fees") if options.fees else None
    gas_limit = parse_gas(options.gas)
    spec = SignerSpec(signer, number, sequence)
    simulated: int | None = None
    if gas_limit is None:

        def estimate(fee: Coins | None) -> tuple[int, int]:
            body, auth_info = tx_parts(
                msgs,
                [spec],
                fee=fee,
                gas=0,
                memo=options.memo,
                timeout_height=options.timeout_height,
            )
            used = simulate(client, unsigned_tx(body, auth_info))
            return used, max(1, math.ceil(Decimal(used) * _decimal(options.gas_adjustment)))

        simulated, gas_limit = estimate(fixed_fee)
        if fixed_fee is None and options.gas_prices:
            # Moving the fee costs gas too: simulate again with the fee this gas implies.
            simulated, gas_limit = estimate(fee_for(gas_limit, options.gas_prices))
    if fixed_fee is not None:
        fee = fixed_fee
    elif options.gas_prices:
        fee = fee_for(gas_limit, options.gas_prices)
    else:
        fee = Coins()
    body, auth_info = tx_parts(
        msgs,
        [spec],
        fee=fee,
        gas=gas_limit,
        memo=options.memo,
        timeout_height=options.timeout_height,
    )
    body_bytes, auth_info_bytes = body.SerializeToString(), auth_info.SerializeToString()
    tx_bytes = sign_parts(body_bytes, auth_info_bytes, [spec], chain_id)
    return PreparedTx(
        tx_bytes=tx_bytes,
        body=body,
        auth_info=auth_info,
        chain_id=chain_id,
        account_number=number,
        sequence=sequence,
        gas=gas_limit,
        fee=fee,
        simulated_gas=simulated,
    )


def _decimal(value: float) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise TxFailedError(f"invalid --gas-adjustment {value}") from None


def broadcast_and_wait(
    client: RpcClient,
    tx_bytes: bytes,
    timeout: float = DEFAULT_BROADCAST_TIMEOUT,
    on_accepted: Callable[[str], None] | None = None,
) -> TxResult:
    """broadcast_tx_sync, then poll `tx` until the tx is in a block.

    Raises TxFailedError when CheckTx refuses it, when it fails in its block (the result
    is attached) or when it is not included within `timeout` seconds."""
    check = client.broadcast_tx_sync(tx_bytes)
    tx_hash = str(check.get("hash", ""))
    code = int(check.get("code") or 0)
    if code != 0:
        codespace = str(check.get("codespace") or "")
        raise TxFailedError(
            f"tx {tx_hash} refused by the node: {check.get('log', '')} "
            f"(codespace {codespace or 'sdk'}, code {code})",
            code=code,
            codespace=codespace,
            txhash=tx_hash,
        )
    if on_accepted is not None:
        on_accepted(tx_hash)
    found = client.wait_for_tx(tx_hash, timeout)
    if found is None:
        raise TxFailedError(
            f"tx {tx_hash} passed CheckTx but was not included in a block within {timeout:g}s; "
            f"look it up later with `sultan query tx {tx_hash}`",
            txhash=tx_hash,
        )
    return TxResult.from_rpc(found)


__all__ = [
    "AccountInfo",
    "PreparedTx",
    "RpcClient",
    "TxOptions",
    "TxResult",
    "broadcast_and_wait",
    "default_node_url",
    "fee_for",
    "normalize_node_url",
    "prepare_tx",
    "query_account",
    "simulate",
]
