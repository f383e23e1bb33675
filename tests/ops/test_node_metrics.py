"""/metrics of a real `sultan run`: every series is fed by the code path it names."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from ops_support import http_get, scrape, value, wait_for

from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from sultan.testing import NodeProcess, init_home

pytestmark = pytest.mark.timeout(300)


def test_chain_series_follow_the_engine(ops_node) -> None:
    node = ops_node.process
    before = scrape(node.metrics_url)
    tx_before = value(before, "sultan_transactions_processed_total")
    blocks_before = value(before, "sultan_block_processing_duration_seconds_count")
    result = ops_node.send_tx()
    assert result["tx_result"]["code"] == 0
    committed_at = int(result["height"])
    after = wait_for(
        lambda: (
            (m := scrape(node.metrics_url))
            and value(m, "sultan_block_height") >= committed_at
            and m
        ),
        what="height metric",
    )
    assert value(after, "sultan_transactions_processed_total") >= tx_before + 1
    assert value(after, "sultan_block_processing_duration_seconds_count") > blocks_before
    assert value(after, "sultan_block_processing_duration_seconds_sum") > 0
    assert after["sultan_block_processing_duration_seconds"].type == "histogram"
    height = value(after, "sultan_block_height")
    rpc_height = node.height()
    assert height <= rpc_height <= height + 5
    assert value(after, "sultan_mempool_size") >= 0
    validator = node.rpc("validators")["validators"][0]
    assert value(after, "sultan_validator_power", validator=validator["address"]) == float(
        validator["voting_power"]
    )
    assert value(after, "sultan_consensus_round") == 0  # the embedded engine's only round
    assert value(after, "sultan_p2p_peers") == 0
    assert node.rpc("net_info")["n_peers"] == "0"
    assert value(after, "sultan_node_info", engine="embedded", chain_id="ops-1") == 1
    # The C crypto core's calls (block hashing, Merkle roots, the tx's signature batch).
    assert value(after, "sultan_ffi_calls_total", function="sultan_merkle_root") > 0
    assert value(after, "sultan_ffi_calls_total", function="sultan_secp256k1_verify_batch") > 0
    assert after["sultan_ffi_duration_seconds"].type == "histogram"


def test_runtime_and_process_series_say_what_they_measure(ops_node) -> None:
    families = scrape(ops_node.process.metrics_url)
    goroutines = families["sultan_goroutines"]
    assert "threads" in goroutines.documentation and "asyncio tasks" in goroutines.documentation
    assert value(families, "sultan_goroutines") >= 3  # main, engine, metrics server at least
    assert "(RSS)" in families["sultan_memory_alloc_bytes"].documentation
    rss = value(families, "sultan_memory_alloc_bytes")
    assert rss == pytest.approx(value(families, "process_resident_memory_bytes"), rel=0.2)
    assert value(families, "sultan_memory_sys_bytes") > 0
    for name in ("process_cpu_seconds_total", "process_open_fds", "process_start_time_seconds"):
        assert name in {s.name for m in families.values() for s in m.samples}, name
    assert "sultan_ibc_packets_total" not in families  # no IBC module: absent, not zero
    assert "sultan_ibc_channels_active" not in families


def test_api_requests_and_latency_are_counted_per_endpoint_and_outcome(ops_node) -> None:
    node = ops_node.process
    before = scrape(node.metrics_url)

    def count(families, endpoint: str, status: str) -> float:
        try:
            return value(families, "sultan_api_requests_total", endpoint=endpoint, status=status)
        except KeyError:
            return 0.0

    urllib.request.urlopen(node.rest_url + "/chain_info", timeout=10).read()
    status, _, _ = http_get(node.rest_url + "/cosmos/bank/v1beta1/balances/not-an-address")
    assert status == 400
    node.rpc("status")
    with pytest.raises(RuntimeError):
        node.rpc("block", height="99999999")  # beyond the chain: a JSON-RPC error, HTTP 200
    with grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}") as channel:
        call = channel.unary_unary(
            "/cosmos.base.tendermint.v1beta1.Service/GetLatestBlock",
            request_serializer=tm_query.GetLatestBlockRequest.SerializeToString,
            response_deserializer=tm_query.GetLatestBlockResponse.FromString,
        )
        call(tm_query.GetLatestBlockRequest(), timeout=10)
        missing = channel.unary_unary("/no.Such/Method")
        with pytest.raises(grpc.RpcError) as exc:
            missing(b"", timeout=10)
        assert exc.value.code() == grpc.StatusCode.UNIMPLEMENTED
    after = scrape(node.metrics_url)
    bank = "rest:/cosmos/bank/v1beta1/balances/{address}"
    latest = "grpc:/cosmos.base.tendermint.v1beta1.Service/GetLatestBlock"
    deltas = {
        ("rest:/chain_info", "ok"): 1,
        (bank, "error"): 1,
        ("rpc:block", "error"): 1,
        (latest, "ok"): 1,
        ("grpc:unknown", "error"): 1,
    }
    for (endpoint, status_label), delta in deltas.items():
        got = count(after, endpoint, status_label) - count(before, endpoint, status_label)
        assert got >= delta, (endpoint, status_label, got)
    assert count(after, "rpc:status", "ok") > count(before, "rpc:status", "ok")
    assert value(after, "sultan_api_latency_seconds_count", endpoint="rest:/chain_info") >= 1
    assert after["sultan_api_latency_seconds"].type == "histogram"
    endpoints = {
        s.labels["endpoint"]
        for s in after["sultan_api_requests"].samples
        if s.name == "sultan_api_requests_total"
    }
    assert not any("not-an-address" in e for e in endpoints)  # templates, never raw paths
    # The loop-lag watcher of a real node: one observation per 100 ms timer.
    assert after["sultan_api_loop_lag_seconds"].type == "histogram"
    seen = value(after, "sultan_api_loop_lag_seconds_count")
    wait_for(
        lambda: value(scrape(node.metrics_url), "sultan_api_loop_lag_seconds_count") > seen,
        what="another loop-lag observation",
    )


def _busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def test_metrics_port_in_use_stops_start_up_with_a_clear_error(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home", ["auth", "bank", "metrics"], chain_id="ops-2")
    busy = _busy_port()
    node = NodeProcess(home)
    node.metrics_port = busy.getsockname()[1]
    try:
        node.start(wait=False)
        assert node.proc is not None
        code = node.proc.wait(timeout=120)
        log = node.log_text()
        assert code == 1, log[-3000:]
        assert (
            f"Error: module 'metrics': sultan_node_started failed: metrics: cannot listen on "
            f"127.0.0.1:{node.metrics_port}: address already in use" in log
        ), log[-3000:]
        assert "Traceback" not in log
    finally:
        busy.close()
        node.kill()


def test_metrics_server_starts_with_the_node_and_stops_with_it(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home", ["auth", "bank", "metrics"], chain_id="ops-3")
    node = NodeProcess(home)
    try:
        node.start(timeout=120)
        assert http_get(node.metrics_url)[0] == 200
        assert node.stop() == 0
        with pytest.raises(OSError):
            urllib.request.urlopen(node.metrics_url, timeout=5)
    finally:
        node.kill()


def test_prometheus_false_serves_no_metrics(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home", ["auth", "bank", "metrics"], chain_id="ops-4")
    config = home / "config" / "config.toml"
    config.write_text(config.read_text().replace("prometheus = true", "prometheus = false"))
    node = NodeProcess(home)
    try:
        node.start(timeout=120)
        with pytest.raises((urllib.error.URLError, OSError)):
            urllib.request.urlopen(node.metrics_url, timeout=5)
        assert "instrumentation.prometheus is false" in node.log_text()
    finally:
        node.kill()
