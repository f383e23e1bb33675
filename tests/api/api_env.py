"""A real node with RPC, REST and gRPC on free ports, plus a tiny in-test module.

The servers run on an event loop in a background thread, so tests talk to them over real
sockets with plain blocking clients (urllib, grpc), exactly as external clients would.

The `apitest` module: message "/test.Incr" (a `cosmos.base.v1beta1.Coin` used as a toy
message) adds `amount` to a per-denom counter and emits an `incr` event; amount "0" fails
with sdk code 18. Queries: /test.Query/Total (Coin → Coin), /test.Query/Missing (always
NotFound) and two echo methods for request-building tests, with REST routes for each.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import any_pb2

from sultan import hookimpl
from sultan.api.servers import Servers, start_servers
from sultan.kernel.config import apply_overrides, load_config
from sultan.kernel.errors import ErrInvalidRequest, QueryError
from sultan.kernel.home import init_home
from sultan.kernel.modules import ModuleDefinition
from sultan.kernel.tx.events import Event
from sultan.node import Node
from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_pb
from sultan.pb.cosmos.base.v1beta1 import coin_pb2
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan.pb.tendermint.types import params_pb2

CHAIN_ID = "api-test-1"
INCR = "/test.Incr"
STORE = "apitest"


# -- the in-test module ---------------------------------------------------------------------


def _incr(ctx: Any, msg: Any) -> None:
    amount = int(msg.amount or "0")
    if amount <= 0:
        raise ErrInvalidRequest(f"amount must be positive, got {msg.amount!r}")
    kv = ctx.kv(STORE)
    current = int(kv.get(msg.denom.encode()) or b"0")
    kv.set(msg.denom.encode(), str(current + amount).encode())
    ctx.emit(Event.of("incr", ("denom", msg.denom), ("amount", str(amount))))


def _total(ctx: Any, req: Any) -> Any:
    raw = ctx.kv(STORE).get(req.denom.encode())
    return coin_pb2.Coin(denom=req.denom, amount=(raw or b"0").decode())


def _missing(ctx: Any, req: Any) -> Any:
    raise QueryError("NotFound", "nothing here")


def _echo(ctx: Any, req: Any) -> Any:
    return req


class ApiTestPlugin:
    @hookimpl
    def sultan_module(self) -> ModuleDefinition:
        return ModuleDefinition(name="apitest", store_key=STORE, version="1.2.3")

    @hookimpl
    def sultan_msg_handlers(self, register: Callable[..., None]) -> None:
        register(INCR, coin_pb2.Coin, _incr, signers=lambda m: [m.denom])

    @hookimpl
    def sultan_query_services(self, register: Callable[..., None]) -> None:
        register("/test.Query/Total", coin_pb2.Coin, coin_pb2.Coin, _total)
        register("/test.Query/Missing", coin_pb2.Coin, coin_pb2.Coin, _missing)
        register(
            "/test.Query/Echo",
            tm_pb.GetLatestValidatorSetRequest,
            tm_pb.GetLatestValidatorSetRequest,
            _echo,
        )
        register(
            "/test.Query/EchoList", params_pb2.ValidatorParams, params_pb2.ValidatorParams, _echo
        )

    @hookimpl
    def sultan_rest_routes(self, register: Callable[..., None]) -> None:
        register("GET", "/test/v1/total/{denom}", "/test.Query/Total")
        register("GET", "/test/v1/missing", "/test.Query/Missing")
        register("GET", "/test/v1/echo", "/test.Query/Echo")
        register("POST", "/test/v1/echo", "/test.Query/Echo")
        register("GET", "/test/v1/echo_list", "/test.Query/EchoList")


def make_tx(denom: str, amount: str, memo: str = "") -> bytes:
    msg = any_pb2.Any(
        type_url=INCR, value=coin_pb2.Coin(denom=denom, amount=amount).SerializeToString()
    )
    body = tx_pb2.TxBody(messages=[msg], memo=memo)
    auth = tx_pb2.AuthInfo(fee=tx_pb2.Fee(gas_limit=200_000))
    return tx_pb2.TxRaw(
        body_bytes=body.SerializeToString(), auth_info_bytes=auth.SerializeToString()
    ).SerializeToString()


# -- a running node -------------------------------------------------------------------------


class RPCError(AssertionError):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(json.dumps(error))
        self.error = error


class Env:
    """One node with its servers, driven from the test thread."""

    def __init__(self, home: Path, overrides: dict[str, Any] | None = None) -> None:
        init_home(
            home,
            chain_id=CHAIN_ID,
            moniker="apitest",
            app_state={},
            plugins_toml_text='modules = ["apitest"]\n',
        )
        config = apply_overrides(
            load_config(home)[0],
            {
                "rpc.laddr": "tcp://127.0.0.1:0",
                "api.address": "tcp://127.0.0.1:0",
                "grpc.address": "127.0.0.1:0",
                "consensus.timeout_commit": "100ms",
                "api.swagger": True,
                **(overrides or {}),
            },
        )
        self.node = Node(home, config, plugins={"apitest": ApiTestPlugin()}).open()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="api-test-loop", daemon=True
        )
        self.thread.start()
        self.servers: Servers | None = None
        try:
            self.servers = self.run(start_servers(self.node))
            self.node.start()
        except BaseException:
            self.close()
            raise
        self.rpc_url = f"http://127.0.0.1:{self.servers.rpc_port}"
        self.rest_url = f"http://127.0.0.1:{self.servers.rest_port}"
        self.grpc_target = f"127.0.0.1:{self.servers.grpc_port}"
        self._ids = 0

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if self.servers is not None:
            self.run(self.servers.stop())
            self.servers = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.node.close()

    # -- HTTP -------------------------------------------------------------------------------

    @staticmethod
    def http(
        method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, dict(res.headers), res.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def post_rpc(self, payload: Any, raw: bytes | None = None) -> tuple[int, Any]:
        body = raw if raw is not None else json.dumps(payload).encode()
        status, _, data = self.http(
            "POST", self.rpc_url + "/", body, {"Content-Type": "application/json"}
        )
        return status, json.loads(data) if data else None

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """A JSON-RPC call as CosmJS makes it; returns the full response object."""
        self._ids += 1
        status, response = self.post_rpc(
            {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}
        )
        assert response["jsonrpc"] == "2.0" and response["id"] == self._ids
        return response

    def rpc(self, method: str, **params: Any) -> Any:
        response = self.call(method, **params)
        if "error" in response:
            raise RPCError(response["error"])
        return response["result"]

    def uri(self, path: str) -> tuple[int, Any]:
        status, _, data = self.http("GET", self.rpc_url + path)
        return status, json.loads(data)

    def rest(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        status, res_headers, data = self.http("GET", self.rest_url + path, headers=headers)
        return status, json.loads(data), res_headers

    # -- chain helpers ----------------------------------------------------------------------

    def wait_height(self, height: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.node.engine.height < height:
            assert time.monotonic() < deadline, f"no block {height} within {timeout}s"
            time.sleep(0.02)

    def commit_tx(self, tx: bytes) -> dict[str, Any]:
        return self.rpc("broadcast_tx_commit", tx=base64.b64encode(tx).decode())
