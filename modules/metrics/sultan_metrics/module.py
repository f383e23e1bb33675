"""The `metrics` module: serves the node's Prometheus registry on /metrics.

- `sultan_prometheus_collectors`: adds its own collectors — `sultan_goroutines`,
  `sultan_memory_alloc_bytes`, `sultan_memory_sys_bytes` (see `runtime`) and
  prometheus-client's standard `process_*` and `python_gc_*` collectors;
- `sultan_node_started`: when `instrumentation.prometheus` is true, starts an HTTP server on
  `instrumentation.prometheus_listen_addr` exporting `node.metrics_registry` — the kernel's
  series (`sultan.kernel.metrics`, `sultan.api.metrics`) and every enabled module's
  collectors. A port that cannot be bound stops `sultan run` with a clear error;
- `sultan_node_stopping`: stops that server.

The module has no store key, genesis, block hooks or ante steps: nothing it does enters
consensus. Like every module, its name and consensus version are recorded in the kernel's
module-version map (as the Cosmos SDK's x/upgrade records every module), so adding it to a
running multi-validator chain is coordinated like any other module addition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, ProcessCollector

from sultan import ModuleDefinition, hookimpl
from sultan_metrics.runtime import RuntimeCollector
from sultan_metrics.server import MetricsServer

VERSION = "0.1.0"
log = logging.getLogger("sultan.metrics")

runtime = RuntimeCollector()
process = ProcessCollector(registry=None)
# GCCollector always registers itself somewhere: give it a throwaway registry.
gc_collector = GCCollector(registry=CollectorRegistry(auto_describe=False))
_servers: dict[int, MetricsServer] = {}  # id(node) -> its /metrics server


@hookimpl
def sultan_module() -> ModuleDefinition:
    return ModuleDefinition(name="metrics", version=VERSION)


@hookimpl
def sultan_prometheus_collectors(register: Callable[..., None]) -> None:
    register(runtime)
    register(process)
    register(gc_collector)


def server_for(node: Any) -> MetricsServer | None:
    """The /metrics server started for `node`, if any."""
    return _servers.get(id(node))


@hookimpl
def sultan_node_started(node: Any) -> None:
    try:
        runtime.add_loop(asyncio.get_running_loop())
    except RuntimeError:
        pass  # started outside an event loop (tests): threads are still counted
    cfg = node.config.node.instrumentation
    if not cfg.prometheus:
        log.info("metrics: instrumentation.prometheus is false; /metrics not served")
        return
    host, port = cfg.listen
    server = MetricsServer(node.metrics_registry, cfg.namespace)
    bound = server.start(host, port)
    _servers[id(node)] = server
    shown = f"[{host}]" if ":" in host else host
    log.info("metrics: serving Prometheus metrics on http://%s:%d/metrics", shown, bound)


@hookimpl
def sultan_node_stopping(node: Any) -> None:
    server = _servers.pop(id(node), None)
    if server is not None:
        server.stop()
