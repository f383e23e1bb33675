"""The /metrics HTTP endpoint: prometheus-client's threaded WSGI server over a registry.

It runs in its own threads, off the node's event loop, so a scrape still answers when the
API servers are saturated (which is when an operator needs it most).
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

from sultan.api.servers import ServerBindError

log = logging.getLogger("sultan.metrics")
PREFIX = "sultan_"


class Renamed(Collector):
    """A registry whose `sultan_` series are exposed under another namespace."""

    def __init__(self, registry: CollectorRegistry, namespace: str) -> None:
        self.registry = registry
        self.prefix = namespace + "_"

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            if metric.name.startswith(PREFIX):
                metric.name = self.prefix + metric.name[len(PREFIX) :]
                metric.samples = [
                    s._replace(name=self.prefix + s.name[len(PREFIX) :])
                    if s.name.startswith(PREFIX)
                    else s
                    for s in metric.samples
                ]
            yield metric


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, namespace: str = "sultan") -> None:
        if namespace + "_" != PREFIX:
            view = CollectorRegistry(auto_describe=False)
            view.register(Renamed(registry, namespace))
            registry = view
        self.registry = registry
        self._httpd: Any = None
        self._thread: threading.Thread | None = None
        self.host = ""
        self.port = 0

    def start(self, host: str, port: int) -> int:
        """Listen on host:port (0 = a free port); returns the bound port."""
        try:
            httpd, thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            reason = (
                "address already in use"
                if exc.errno == errno.EADDRINUSE
                else (exc.strerror or str(exc)).lower()
            )
            raise ServerBindError("metrics", host, port, reason, exc.errno) from exc
        self._httpd, self._thread = httpd, thread
        self.host, self.port = host, int(httpd.server_port)
        return self.port

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = None
