"""The metrics module: its collectors, its /metrics server and its lifecycle hooks."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families
from sultan_metrics import module
from sultan_metrics.runtime import RuntimeCollector, read_statm
from sultan_metrics.server import MetricsServer

from sultan.api.servers import ServerBindError
from sultan.kernel.config import apply_overrides, load_config
from sultan.kernel.home import init_home
from sultan.node import Node
from sultan.testing import ChainHarness

pytestmark = pytest.mark.timeout(120)


def _scrape(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as res:
        text = res.read().decode()
    return {m.name: m for m in text_string_to_metric_families(text)}


def _value(families: dict, name: str) -> float:
    return float(families[name].samples[0].value)


def test_runtime_collector_counts_threads_and_live_asyncio_tasks() -> None:
    collector = RuntimeCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    threads_only = registry.get_sample_value("sultan_goroutines")
    assert threads_only == threading.active_count()

    async def main() -> float | None:
        collector.add_loop(asyncio.get_running_loop())
        sleepers = [asyncio.create_task(asyncio.sleep(10)) for _ in range(5)]
        await asyncio.sleep(0)
        seen = registry.get_sample_value("sultan_goroutines")
        for task in sleepers:
            task.cancel()
        return seen

    seen = asyncio.run(main())
    assert seen == threading.active_count() + 6  # 5 sleepers + main()
    assert registry.get_sample_value("sultan_goroutines") == threading.active_count()


def test_memory_series_come_from_proc_and_are_absent_without_it(tmp_path: Path) -> None:
    rss, data = read_statm()  # type: ignore[misc]
    assert 10 * 2**20 < rss < 8 * 2**30 and data > 0
    assert read_statm(str(tmp_path / "missing")) is None
    registry = CollectorRegistry()
    registry.register(RuntimeCollector())
    alloc = registry.get_sample_value("sultan_memory_alloc_bytes")
    assert alloc == pytest.approx(rss, rel=0.5)


def test_server_exports_a_registry_and_renames_for_another_namespace() -> None:
    registry = CollectorRegistry()
    counter = Counter("sultan_probe_total", "probe", registry=registry)
    counter.inc(3)
    server = MetricsServer(registry)
    port = server.start("127.0.0.1", 0)
    try:
        assert _value(_scrape(port), "sultan_probe") == 3
    finally:
        server.stop()
    renamed = MetricsServer(registry, namespace="chain")
    port = renamed.start("127.0.0.1", 0)
    try:
        families = _scrape(port)
        assert "chain_probe" in families and "sultan_probe" not in families
        assert families["chain_probe"].samples[0].name == "chain_probe_total"
    finally:
        renamed.stop()


def test_a_busy_port_is_a_clear_bind_error() -> None:
    server = MetricsServer(CollectorRegistry())
    port = server.start("127.0.0.1", 0)
    try:
        with pytest.raises(ServerBindError) as exc:
            MetricsServer(CollectorRegistry()).start("127.0.0.1", port)
        assert (
            str(exc.value) == f"metrics: cannot listen on 127.0.0.1:{port}: address already in use"
        )
    finally:
        server.stop()


def _node(tmp_path: Path, **overrides: object) -> Node:
    init_home(
        tmp_path / "home",
        chain_id="metrics-1",
        moniker="m",
        app_state={"metrics": {}},
        plugins_toml_text='modules = ["metrics"]\n',
    )
    config = apply_overrides(
        load_config(tmp_path / "home")[0],
        {"instrumentation.prometheus_listen_addr": "127.0.0.1:0", **overrides},
    )
    return Node(tmp_path / "home", config).open()


def test_hooks_serve_the_node_registry_and_stop(tmp_path: Path) -> None:
    node = _node(tmp_path)
    try:
        module.sultan_node_started(node=node)
        server = module.server_for(node)
        assert server is not None and server.port > 0
        node.engine.produce_block()
        families = _scrape(server.port)
        assert _value(families, "sultan_block_height") == 1
        for name in ("sultan_goroutines", "sultan_memory_alloc_bytes", "process_cpu_seconds"):
            assert name in families, name
        module.sultan_node_stopping(node=node)
        assert module.server_for(node) is None
        with pytest.raises(OSError):
            _scrape(server.port)
    finally:
        module.sultan_node_stopping(node=node)
        node.close()


def test_the_module_has_no_state_and_no_consensus_logic() -> None:
    definition = module.sultan_module()
    assert definition.name == "metrics" and definition.store_key is None
    for hook in ("init_genesis", "begin_block", "end_block", "export_genesis"):
        assert getattr(definition, hook) is None, hook
    assert not definition.ante_decorators and not definition.migrations
    # Its collectors observe: scraping twice changes nothing in a chain.
    with ChainHarness(["metrics"], app_state={"metrics": {}}) as chain:
        chain.block()
        before = chain.app_hash
        registry = CollectorRegistry()
        module.sultan_prometheus_collectors(register=registry.register)
        registry.get_sample_value("sultan_goroutines")
        chain.block()
        with ChainHarness(["metrics"], app_state={"metrics": {}}) as twin:
            twin.block()
            assert twin.app_hash == before
            twin.block()
            assert twin.app_hash == chain.app_hash
