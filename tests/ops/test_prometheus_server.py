"""A real Prometheus server scrapes a running node; the guide's queries return data."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_support import DEPLOY, http_get, require_tool

from sultan.testing import free_port

pytestmark = pytest.mark.timeout(300)


class Prometheus:
    def __init__(self, workdir: Path, target: str) -> None:
        self.port = free_port()
        shutil.copy(DEPLOY / "prometheus" / "alerts.yml", workdir / "alerts.yml")
        # The shipped scrape config, pointed at the test node and scraped every second.
        config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
        config = config.replace('["127.0.0.1:26660"]', f'["{target}"]')
        config = config.replace("scrape_interval: 15s", "scrape_interval: 1s")
        config = config.replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        config = config.replace("scrape_timeout: 10s", "scrape_timeout: 1s")
        assert target in config and "scrape_interval: 1s" in config
        (workdir / "prometheus.yml").write_text(config)
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [
                require_tool("prometheus"),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.logfile = workdir / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.logfile.read_text()[-3000:]
            try:
                if http_get(self.url + "/-/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("prometheus not ready:\n" + self.logfile.read_text()[-3000:])

    def api(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        status, _, body = http_get(f"{self.url}/api/v1/{path}?{query}", timeout=10)
        data = json.loads(body)
        assert status == 200 and data["status"] == "success", data
        return data["data"]  # type: ignore[no-any-return]

    def query(self, promql: str) -> list[dict]:
        return self.api("query", query=promql)["result"]  # type: ignore[no-any-return]

    def wait_query(self, promql: str, check=lambda r: bool(r), timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        result: list[dict] = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if check(result):
                return result
            time.sleep(0.25)
        raise AssertionError(f"{promql}: no suitable data within {timeout}s: {result}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture
def prometheus(ops_node, tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path, f"127.0.0.1:{ops_node.process.metrics_port}")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _traffic(ops_node, stop: threading.Event) -> None:
    """Bounded background traffic: API requests (some failing) and a tx now and then."""
    node = ops_node.process
    for round_ in range(600):
        if stop.is_set():
            return
        urllib.request.urlopen(node.rest_url + "/status", timeout=10).read()
        try:
            urllib.request.urlopen(node.rest_url + "/no/such/route", timeout=10)
        except urllib.error.HTTPError:
            pass
        if round_ % 10 == 0:
            ops_node.send_tx()
        stop.wait(0.1)


def _values(result: list[dict]) -> list[float]:
    return [float(r["value"][1]) for r in result]


def test_guide_queries_return_data_from_a_real_prometheus(ops_node, prometheus) -> None:
    stop = threading.Event()
    traffic = threading.Thread(target=_traffic, args=(ops_node, stop), daemon=True)
    traffic.start()
    try:
        up = prometheus.wait_query('up{job="sultan"}', lambda r: _values(r) == [1.0])
        assert up[0]["metric"]["instance"] == f"127.0.0.1:{ops_node.process.metrics_port}"
        # The guide's sample queries, verbatim.
        tps = prometheus.wait_query(
            "rate(sultan_transactions_processed_total[5m])", lambda r: any(_values(r))
        )
        assert all(v >= 0 for v in _values(tps))
        p95 = prometheus.wait_query(
            "histogram_quantile(0.95, sultan_api_latency_seconds_bucket)",
            lambda r: any(math.isfinite(v) and v > 0 for v in _values(r)),
        )
        endpoints = {r["metric"]["endpoint"] for r in p95}
        assert "rest:/status" in endpoints
        prometheus.wait_query("rate(sultan_memory_alloc_bytes[5m])")
        errors = prometheus.wait_query(
            'rate(sultan_api_requests_total{status="error"}[5m])', lambda r: any(_values(r))
        )
        assert {r["metric"]["endpoint"] for r in errors} >= {"rest:other"}
        # Chain progress as Prometheus sees it.
        heights = prometheus.wait_query(
            "increase(sultan_block_height[1m])", lambda r: any(v > 0 for v in _values(r))
        )
        assert heights
        # The shipped rules are loaded; an embedded node never pages for peers or blocks.
        rules = prometheus.api("rules")["groups"]
        names = {rule["name"] for group in rules for rule in group["rules"]}
        assert {"NodeDown", "LowPeerCount", "BlockProductionStopped"} <= names
        prometheus.wait_query("sultan_p2p_peers")
        time.sleep(2)  # a couple of rule evaluations with data present
        active = {a["labels"]["alertname"] for a in prometheus.api("alerts")["alerts"]}
        assert not active & {"NodeDown", "LowPeerCount", "BlockProductionStopped"}, active
    finally:
        stop.set()
        traffic.join(30)
