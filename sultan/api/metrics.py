"""API instrumentation: request counts and latency per endpoint, rate limits and timeouts.

- `sultan_api_requests_total{endpoint,status}` — every request the RPC, REST and gRPC servers
  answer; `status` is "ok" or "error" (HTTP status >= 400, a JSON-RPC error object in the
  reply, a non-OK gRPC status, a timeout or a rate-limit refusal);
- `sultan_api_latency_seconds{endpoint}` — histogram of the time from the request reaching
  the server to the handler's answer;
- `sultan_api_rate_limited_total{server}` — requests refused by the per-client rate limit
  (they also count as `status="error"` above);
- `sultan_api_loop_lag_seconds` — histogram of how late the API event loop runs a timer it
  sets every 100 ms (`watch_loop_lag`): the time every request in flight waited because the
  loop was busy with other requests, or because another thread (block execution, a
  RocksDB write) held the interpreter.

`endpoint` names a bounded set: `rest:<route template>` (`rest:/health`,
`rest:/cosmos/bank/v1beta1/balances/{address}`, `rest:other` for unknown paths),
`rpc:<method>` (`rpc:status`, `rpc:batch`, `rpc:unknown`, `rpc:invalid` for unparsable
bodies, `rpc:index` for the endpoint list) and `grpc:<full method>`
(`grpc:/cosmos.bank.v1beta1.Query/Balance`, `grpc:unknown`).

One `ApiMetrics` per node (`api_metrics(node)`), registered into `node.metrics_registry`.
Its `sources` add other processes' figures to these series: API worker processes
(`sultan.api.workers`) serve REST and gRPC for the node and report their own counts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import grpc
from aiohttp import web
from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from sultan.api.limits import TokenBucketLimiter, client_ip_from_grpc_peer

# Request keys: handlers name the endpoint they served, and mark a 200 reply carrying an error.
if hasattr(web, "RequestKey"):  # aiohttp >= 3.13
    ENDPOINT_KEY: Any = web.RequestKey("sultan.endpoint", str)
    FAILED_KEY: Any = web.RequestKey("sultan.failed", bool)
else:  # pragma: no cover
    ENDPOINT_KEY = "sultan.endpoint"
    FAILED_KEY = "sultan.failed"

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


LAG_INTERVAL_S = 0.1  # how often the loop-lag watcher sets its timer
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.requests = Counter(
            "sultan_api_requests_total",
            "API requests answered, by endpoint and outcome (ok | error)",
            ["endpoint", "status"],
            registry=None,
        )
        self.latency = Histogram(
            "sultan_api_latency_seconds",
            "API request latency: arrival at the server to the handler's answer",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.rate_limited = Counter(
            "sultan_api_rate_limited_total",
            "API requests refused by the per-client rate limit",
            ["server"],
            registry=None,
        )
        self.loop_lag = Histogram(
            "sultan_api_loop_lag_seconds",
            "How late the API event loop ran a 100 ms timer: what requests in flight waited "
            "while the loop was busy or another thread (block execution, a RocksDB write) "
            "held the interpreter",
            buckets=LAG_BUCKETS,
            registry=None,
        )

        # Callables returning [family, sample name, labels, value] rows from other
        # processes, added to this process's samples at every scrape.
        self.sources: list[Callable[[], list[list[Any]]]] = []

    def collectors(self) -> list[Any]:
        return [self.requests, self.latency, self.rate_limited, self.loop_lag]

    def describe(self) -> list[Metric]:
        return [m for c in self.collectors() for m in c.describe()]

    def collect(self) -> Any:
        """This process's series plus every source's rows (summed per sample and labels)."""
        extra: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for source in self.sources:
            for family, name, labels, value in source():
                samples = extra.setdefault(family, {})
                key = (name, tuple(sorted(labels.items())))
                samples[key] = samples.get(key, 0.0) + value
        for collector in self.collectors():
            for metric in collector.collect():
                added = extra.get(metric.name)
                if added:
                    merged = []
                    for s in metric.samples:
                        key = (s.name, tuple(sorted(s.labels.items())))
                        more = added.pop(key, None)
                        merged.append(s if more is None else s._replace(value=s.value + more))
                    merged += [Sample(n, dict(labels), v) for (n, labels), v in added.items()]
                    metric.samples = merged
                yield metric

    def observe(self, endpoint: str, ok: bool, seconds: float) -> None:
        self.requests.labels(endpoint, "ok" if ok else "error").inc()
        self.latency.labels(endpoint).observe(seconds)


def api_metrics(node: Any) -> ApiMetrics:
    """The node's API metrics, created and registered on first use."""
    existing: ApiMetrics | None = getattr(node, "api_metrics", None)
    if existing is not None:
        return existing
    metrics = ApiMetrics()
    registry = getattr(node, "metrics_registry", None)
    if registry is not None:
        registry.register(metrics)
    node.api_metrics = metrics
    return metrics


async def watch_loop_lag(metrics: ApiMetrics, interval: float = LAG_INTERVAL_S) -> None:
    """Until cancelled: sleep `interval`, record how much later than due the loop woke."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        metrics.loop_lag.observe(max(0.0, loop.time() - due))


# -- aiohttp (RPC and REST) ------------------------------------------------------------------


def http_middleware(
    server: str,
    metrics: ApiMetrics,
    *,
    endpoint_of: Callable[[web.Request], str],
    limiter: TokenBucketLimiter | None = None,
    on_limited: Callable[[int], web.Response],
    read_timeout_s: float = 0.0,
    max_body_bytes: int = 0,
    on_read_timeout: Callable[[], web.Response] | None = None,
    handler_timeout_s: float = 0.0,
    on_timeout: Callable[[], web.Response] | None = None,
) -> Any:
    """The outermost middleware of an aiohttp API server.

    In order: refuse over-limit clients (429 + Retry-After), read the body within
    `read_timeout_s` (when its length is declared and within `max_body_bytes`), run the
    handler within `handler_timeout_s`, and record the outcome and latency.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            if limiter is not None:
                allowed, retry_after = limiter.acquire(request.remote or "")
                if not allowed:
                    metrics.rate_limited.labels(server).inc()
                    limited = on_limited(retry_after)
                    limited.headers["Retry-After"] = str(retry_after)
                    status = limited.status
                    return limited
            length = request.content_length
            if (
                read_timeout_s > 0
                and on_read_timeout is not None
                and request.body_exists
                and length is not None
                and length <= max_body_bytes
            ):
                try:
                    async with asyncio.timeout(read_timeout_s):
                        await request.read()
                except TimeoutError:
                    slow = on_read_timeout()
                    slow.force_close()  # the unread rest of the body must not be parsed
                    status = slow.status
                    return slow
            if handler_timeout_s > 0 and on_timeout is not None:
                try:
                    async with asyncio.timeout(handler_timeout_s):
                        response: web.StreamResponse = await handler(request)
                except TimeoutError:
                    response = on_timeout()
            else:
                response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away
            raise
        finally:
            ok = status < 400 and not request.get(FAILED_KEY, False)
            metrics.observe(endpoint_of(request), ok, time.perf_counter() - started)

    return middleware


# -- gRPC ------------------------------------------------------------------------------------


class GrpcApiInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Counts and times every unary call; refuses over-limit clients (RESOURCE_EXHAUSTED)."""

    def __init__(self, metrics: ApiMetrics, limiter: TokenBucketLimiter | None = None) -> None:
        self.metrics = metrics
        self.limiter = limiter

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return grpc.unary_unary_rpc_method_handler(self._wrap("grpc:unknown", None))
        if handler.unary_unary is None:
            return handler  # streaming (server reflection): not an API query
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(f"grpc:{details.method}", handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, endpoint: str, behavior: Callable[[Any, Any], Any] | None) -> Any:
        metrics, limiter = self.metrics, self.limiter

        def wrapped(request: Any, context: Any) -> Any:
            started = time.perf_counter()
            ok = False
            try:
                if limiter is not None:
                    allowed, retry_after = limiter.acquire(client_ip_from_grpc_peer(context.peer()))
                    if not allowed:
                        metrics.rate_limited.labels("grpc").inc()
                        context.set_trailing_metadata((("retry-after", str(retry_after)),))
                        context.abort(
                            grpc.StatusCode.RESOURCE_EXHAUSTED,
                            f"rate limit exceeded: retry after {retry_after}s",
                        )
                if behavior is None:
                    context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown method")
                    return None
                response = behavior(request, context)
                code = context.code()
                ok = code is None or code == grpc.StatusCode.OK
                return response
            finally:
                metrics.observe(endpoint, ok, time.perf_counter() - started)

        return wrapped
