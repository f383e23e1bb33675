"""Starting and stopping the node's API servers: RPC, REST (if enabled), gRPC (if enabled).

    servers = await start_servers(node)   # binds every configured address
    ...
    await servers.stop()

Addresses come from config (`rpc.laddr`, `api.address`, `grpc.address`); port 0 picks a
free port, reported as `rpc_port` / `rest_port` / `grpc_port`. A port that cannot be bound
raises `ServerBindError` (an OSError) naming the server and the address, and nothing
stays half-started.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from typing import Any

import attrs
from aiohttp import web

from sultan.api.cache import embedded
from sultan.api.grpc_server import GrpcServer
from sultan.api.limits import server_ssl_context
from sultan.api.metrics import api_metrics, watch_loop_lag
from sultan.api.rest import RESTServer
from sultan.api.rpc import RPCServer
from sultan.api.services import CosmosServices

log = logging.getLogger("sultan.api")

LISTEN_BACKLOG = 128


class ServerBindError(OSError):
    """A server could not listen on its configured address."""

    def __init__(
        self, server: str, host: str, port: int, reason: str, code: int | None = None
    ) -> None:
        shown = f"[{host}]" if ":" in host else host
        super().__init__(code or 0, f"{server}: cannot listen on {shown}:{port}: {reason}")
        self.server = server
        self.host = host
        self.port = port

    def __str__(self) -> str:
        return str(self.strerror)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "address already in use"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "address not available on this machine"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bound_socket(server: str, host: str, port: int, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to host:port (SO_REUSEADDR, as Go's net.Listen sets it; with
    `reuse_port`, SO_REUSEPORT too); a failure is a ServerBindError naming the server."""
    try:
        sock = socket.socket(_family(host), socket.SOCK_STREAM)
    except OSError as exc:
        raise ServerBindError(server, host, port, _reason(exc), exc.errno) from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        code = exc.errno if isinstance(exc, OSError) else None
        reason = _reason(exc) if isinstance(exc, OSError) else str(exc)
        raise ServerBindError(server, host, port, reason, code) from exc
    return sock


def listen_socket(server: str, host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on host:port (`reuse_port`: API workers each listen on the
    same port)."""
    sock = _bound_socket(server, host, port, reuse_port)
    try:
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ServerBindError(server, host, port, _reason(exc), exc.errno) from exc
    return sock


def reserve_port(server: str, host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT but not listening: it keeps the port
    for API workers (which listen on it the same way) and takes no connections itself.
    Only sockets of the same user can join the port (a Linux rule of SO_REUSEPORT)."""
    return _bound_socket(server, host, port, reuse_port=True)


def _probe(server: str, host: str, port: int) -> None:
    """Fail early with a clear reason if host:port cannot be bound (gRPC only says "failed")."""
    if port == 0:
        return
    listen_socket(server, host, port).close()


@attrs.define
class Servers:
    rpc_host: str
    rpc_port: int
    rest_host: str | None = None
    rest_port: int | None = None
    grpc_host: str | None = None
    grpc_port: int | None = None
    _runners: list[web.AppRunner] = attrs.field(factory=list)
    _rpc: RPCServer | None = None
    _grpc: GrpcServer | None = None
    _stopped: bool = False
    abci_address: str | None = None  # consensus_engine = "cometbft": where ABCI is served
    _abci: Any = None
    _lag_watch: asyncio.Task[None] | None = None
    _workers: Any = None  # sultan.api.workers.ApiWorkers, with `[api] workers`
    _sockets: list[socket.socket] = attrs.field(factory=list)  # held for the workers

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._workers is not None:
            await self._workers.stop()
        for sock in self._sockets:
            sock.close()
        if self._lag_watch is not None:
            self._lag_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_watch
        if self._rpc is not None:
            self._rpc.service.close()
        for runner in reversed(self._runners):
            await runner.cleanup()
        if self._grpc is not None:
            done = self._grpc.stop(grace=1.0)
            await asyncio.to_thread(done.wait, 10.0)
        if self._abci is not None:
            await self._abci.stop()  # waits for a consensus call in flight

    @property
    def abci(self) -> Any:
        """The ABCI socket server (consensus_engine = "cometbft"), else None."""
        return self._abci


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class LimitedSockSite(web.SockSite):
    """A SockSite that closes connections beyond `max_connections` at once (0 = no limit),
    for `rpc.max_open_connections` / `api.max-open-connections`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        sock: socket.socket,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, sock, backlog=LISTEN_BACKLOG, ssl_context=ssl_context)
        self.max_connections = max_connections

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        limit = self.max_connections

        def factory() -> asyncio.Protocol:
            if limit and len(server.connections) >= limit:
                return _Refuse()
            return server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, sock=self._sock, backlog=self._backlog, ssl=self._ssl_context
        )


async def _serve(
    app: web.Application,
    sock: socket.socket,
    max_connections: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    **handler_args: Any,
) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, **handler_args)
    await runner.setup()
    try:
        site = LimitedSockSite(runner, sock, max_connections, ssl_context)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def _tls(node: Any, cert_file: str, key_file: str, what: str) -> ssl.SSLContext | None:
    if not cert_file:
        return None
    return server_ssl_context(cert_file, key_file, node.home.config_dir, what)


async def start_abci_server(node: Any) -> Servers:
    """consensus_engine = "cometbft": serve the application to CometBFT on `proxy_app`.

    The returned Servers has no RPC (`rpc_host`/`rpc_port` name CometBFT's RPC, which
    this process does not bind)."""
    from sultan.kernel.abci.socket_server import ABCIServer

    cfg = node.config.node
    server = ABCIServer(node.app, cfg.proxy_app, max_message_bytes=cfg.abci_max_message_bytes)
    await server.start()
    rpc_host, rpc_port = cfg.rpc.listen
    return Servers(rpc_host=rpc_host, rpc_port=rpc_port, abci_address=server.address, abci=server)


async def start_servers(node: Any) -> Servers:
    """Start every enabled API server of `node`; on any failure, stop those already started."""
    cfg = node.config
    # Node-level services (blocks, txs, node info) are also reachable through abci_query,
    # as CosmJS uses /cosmos.tx.v1beta1.Service/Simulate there.
    for bm in CosmosServices(node).methods():
        node.app.register_node_query(bm.method, bm.request_class, bm.call)
    rpc_host, rpc_port = cfg.node.rpc.listen
    servers: Servers | None = None
    rest_tls = _tls(node, cfg.app.api.tls_cert_file, cfg.app.api.tls_key_file, "api")
    if getattr(node, "consensus_engine", "embedded") == "cometbft":
        # CometBFT serves the RPC on rpc.laddr itself; this process serves it ABCI instead.
        servers = await start_abci_server(node)
    else:
        rpc = RPCServer(node)
        rpc_tls = _tls(node, cfg.node.rpc.tls_cert_file, cfg.node.rpc.tls_key_file, "rpc")
        sock = listen_socket("RPC", rpc_host, rpc_port)
        try:
            runner = await _serve(
                rpc.make_app(),
                sock,
                cfg.node.rpc.max_open_connections,
                rpc_tls,
                **rpc.handler_args(),
            )
        except BaseException:
            sock.close()
            raise
        bound_port = sock.getsockname()[1]
        rpc.service.rpc_address = (
            f"tcp://{rpc_host}:{bound_port}"
            if ":" not in rpc_host
            else f"tcp://[{rpc_host}]:{bound_port}"
        )
        rpc.service.attach(asyncio.get_running_loop())
        servers = Servers(rpc_host=rpc_host, rpc_port=bound_port, runners=[runner], rpc=rpc)
    try:
        workers = cfg.app.api.workers if cfg.app.api.enable or cfg.app.grpc.enable else 0
        if workers and not embedded(node):
            log.warning("api.workers ignored: behind CometBFT, REST and gRPC stay in this process")
        if workers and embedded(node):
            await _start_workers(node, servers)
        else:
            await _start_rest_and_grpc(node, servers, rest_tls)
    except BaseException:
        await servers.stop()
        raise
    servers._lag_watch = asyncio.create_task(
        watch_loop_lag(api_metrics(node)), name="sultan-loop-lag"
    )
    return servers


async def _start_workers(node: Any, servers: Servers) -> None:
    """Reserve the REST and gRPC ports here; worker processes serve both (`api.workers`)."""
    from sultan.api.workers import ApiWorkers

    cfg = node.config

    def reserve(server: str, section: Any) -> tuple[str, int] | None:
        if not section.enable:
            return None
        host, port = section.listen
        reservation = reserve_port(server, host, port)
        servers._sockets.append(reservation)
        return host, reservation.getsockname()[1]

    rest, grpc = reserve("REST", cfg.app.api), reserve("gRPC", cfg.app.grpc)
    if rest is not None:
        servers.rest_host, servers.rest_port = rest
    if grpc is not None:
        servers.grpc_host, servers.grpc_port = grpc
    workers = ApiWorkers(
        node,
        cfg.app.api.workers,
        rest_port=rest and rest[1],
        grpc_port=grpc and grpc[1],
    )
    servers._workers = await workers.start()


async def _start_rest_and_grpc(node: Any, servers: Servers, rest_tls: Any) -> None:
    cfg = node.config
    if cfg.app.api.enable:
        host, port = cfg.app.api.listen
        rest = RESTServer(node)
        sock = listen_socket("REST", host, port)
        try:
            runner = await _serve(rest.make_app(), sock, cfg.app.api.max_open_connections, rest_tls)
            servers._runners.append(runner)
        except BaseException:
            sock.close()
            raise
        servers.rest_host, servers.rest_port = host, sock.getsockname()[1]
    if cfg.app.grpc.enable:
        host, port = cfg.app.grpc.listen
        _probe("gRPC", host, port)
        grpc_server = GrpcServer(node)
        try:
            bound = grpc_server.start(host, port)
        except RuntimeError as exc:
            raise ServerBindError("gRPC", host, port, str(exc)) from exc
        servers._grpc = grpc_server
        servers.grpc_host, servers.grpc_port = host, bound
