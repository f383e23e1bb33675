"""The gRPC server (port 9090): Cosmos query services with server reflection.

Served services:
- `cosmos.base.tendermint.v1beta1.Service`, `cosmos.base.node.v1beta1.Service` and
  `cosmos.consensus.v1.Query` (from the block store and engine, via `services.CosmosServices`);
- every query method an enabled module registers (`sultan_query_services`), through one
  generic handler per service that passes the request bytes to `Application.run_query`;
- `grpc.reflection.v1alpha.ServerReflection`, listing all of the above.

As in the Cosmos SDK, the `x-cosmos-block-height` request metadata picks the state height
(0 = latest) and the height used comes back in the same response header. Query errors
become gRPC statuses (`QueryError.status` names such as "NotFound").
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc_reflection.v1alpha import reflection

from sultan.api.limits import make_limiter, read_tls_pair, server_ssl_context
from sultan.api.metrics import GrpcApiInterceptor, api_metrics
from sultan.api.services import HEIGHT_HEADER, BuiltinMethod, CosmosServices, classify, parse_height

log = logging.getLogger("sultan.grpc")


def _split(method: str) -> tuple[str, str]:
    """ "/pkg.Service/Method" → ("pkg.Service", "Method")."""
    service, _, name = method.strip("/").partition("/")
    return service, name


class GrpcServer:
    def __init__(
        self,
        node: Any,
        *,
        max_workers: int | None = None,
        reuse_port: bool = False,
        before_call: Callable[[], None] | None = None,
    ) -> None:
        """`reuse_port`: share the port with other processes (API workers, each binding it
        with SO_REUSEPORT); `before_call`: run before every handler (a worker's catch-up)."""
        self.node = node
        self.reuse_port = reuse_port
        self.before_call = before_call
        self.services = CosmosServices(node)
        self.max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._server: grpc.Server | None = None
        self.service_names: list[str] = []

    # -- handlers -------------------------------------------------------------------------

    def _builtin(self, bm: BuiltinMethod) -> Callable[[bytes, Any], bytes]:
        before = self.before_call

        def behavior(raw: bytes, context: Any) -> bytes:
            if before is not None:
                before()
            try:
                request = bm.request_class.FromString(raw)
            except DecodeError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid request: {exc}")
            try:
                response = bm.call(request)
            except Exception as exc:
                code, message = classify(exc)
                if code == grpc.StatusCode.INTERNAL:
                    log.exception("gRPC %s failed", bm.method)
                context.abort(code, message)
            return response.SerializeToString()  # type: ignore[no-any-return]

        return behavior

    def _module_query(self, method: str) -> Callable[[bytes, Any], bytes]:
        app = self.node.app
        before = self.before_call

        def behavior(raw: bytes, context: Any) -> bytes:
            if before is not None:
                before()
            try:
                metadata = {k.lower(): v for k, v in context.invocation_metadata()}
                height = parse_height(metadata.get(HEIGHT_HEADER))
                data, used = app.run_query(method, raw, height)
            except Exception as exc:
                code, message = classify(exc)
                if code == grpc.StatusCode.INTERNAL:
                    log.exception("gRPC %s failed", method)
                context.abort(code, message)
            context.send_initial_metadata(((HEIGHT_HEADER, str(used)),))
            return data  # type: ignore[no-any-return]

        return behavior

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for bm in self.services.methods():
            service, name = _split(bm.method)
            by_service.setdefault(service, {})[name] = grpc.unary_unary_rpc_method_handler(
                self._builtin(bm)
            )
        builtin = set(by_service)
        for method in self.node.modules.queries:
            service, name = _split(method)
            if service in builtin:
                log.warning("module query %s ignored: %s is served by the node", method, service)
                continue
            by_service.setdefault(service, {})[name] = grpc.unary_unary_rpc_method_handler(
                self._module_query(method)
            )
        self.service_names = sorted(by_service)
        return [grpc.method_handlers_generic_handler(s, m) for s, m in sorted(by_service.items())]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, host: str, port: int) -> int:
        """Bind and start; returns the bound port. Raises RuntimeError if binding fails."""
        cfg = self.node.config.app.grpc
        server = grpc.server(
            futures.ThreadPoolExecutor(
                max_workers=self.max_workers, thread_name_prefix="sultan-grpc"
            ),
            options=[
                ("grpc.max_receive_message_length", cfg.max_recv_msg_size),
                ("grpc.max_send_message_length", cfg.max_send_msg_size),
                ("grpc.so_reuseport", 1 if self.reuse_port else 0),
            ],
            interceptors=[
                GrpcApiInterceptor(
                    api_metrics(self.node),
                    make_limiter(cfg.rate_limit_per_second, cfg.rate_limit_burst),
                )
            ],
        )
        server.add_generic_rpc_handlers(tuple(self.handlers()))
        reflection.enable_server_reflection((*self.service_names, reflection.SERVICE_NAME), server)
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if cfg.tls_cert_file:
            server_ssl_context(  # a clear ConfigError for a bad pair, before gRPC sees it
                cfg.tls_cert_file, cfg.tls_key_file, self.node.home.config_dir, "grpc"
            )
            cert, key = read_tls_pair(
                cfg.tls_cert_file, cfg.tls_key_file, self.node.home.config_dir, "grpc"
            )
            bound = server.add_secure_port(target, grpc.ssl_server_credentials([(key, cert)]))
        else:
            bound = server.add_insecure_port(target)
        if not bound:
            raise RuntimeError(f"failed to bind {target}")
        server.start()
        self._server = server
        return bound

    def stop(self, grace: float | None = 1.0) -> threading.Event:
        if self._server is None:
            done = threading.Event()
            done.set()
            return done
        event: threading.Event = self._server.stop(grace)
        self._server = None
        return event
