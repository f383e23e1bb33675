"""API limits and safety on RPC, REST and gRPC: rate limits, sizes, connections, timeouts,
pages, TLS — with CometBFT / Cosmos SDK defaults."""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from ops_support import LocalNode, http_get, make_certificate, wait_for

from sultan.api import rpc
from sultan.api.limits import TokenBucketLimiter, client_ip_from_grpc_peer
from sultan.kernel.config import Config, ConfigError
from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_query
from sultan.pb.cosmos.base.v1beta1 import coin_pb2

pytestmark = pytest.mark.timeout(120)

LATEST_BLOCK = "/cosmos.base.tendermint.v1beta1.Service/GetLatestBlock"


def test_defaults_follow_cometbft_and_the_cosmos_sdk() -> None:
    cfg = Config()
    r, api, g = cfg.node.rpc, cfg.app.api, cfg.app.grpc
    assert (r.max_body_bytes, r.max_header_bytes, r.max_open_connections) == (
        1_000_000,
        1 << 20,
        900,
    )
    assert (api.rpc_max_body_bytes, api.max_open_connections) == (1_000_000, 1000)
    assert (api.rpc_read_timeout_ms, api.rpc_write_timeout_ms) == (10_000, 0)
    assert (g.max_recv_msg_size, g.max_send_msg_size) == (10 * 1024 * 1024, 2**31 - 1)
    # Neither CometBFT nor the SDK rate-limits or terminates TLS by default.
    for section in (r, api, g):
        assert section.rate_limit_per_second == 0 and section.tls_cert_file == ""
    assert (rpc.DEFAULT_PER_PAGE, rpc.MAX_PER_PAGE) == (30, 100)
    assert rpc.validate_per_page(1000) == 100 and rpc.validate_per_page(0) == 30


# -- rate limits --------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [100.0]
    bucket = TokenBucketLimiter(2, 4, clock=lambda: now[0])
    assert [bucket.acquire("a")[0] for _ in range(5)] == [True] * 4 + [False]
    assert bucket.acquire("a") == (False, 1)
    assert bucket.acquire("b") == (True, 0)  # per client
    now[0] += 0.5  # one token back at 2/s
    assert bucket.acquire("a") == (True, 0)
    assert bucket.acquire("a")[0] is False
    slow = TokenBucketLimiter(1, 1, clock=lambda: now[0])
    slow.acquire("x")
    assert slow.acquire("x") == (False, 1)
    tiny = TokenBucketLimiter(1, 1, clock=lambda: now[0], max_clients=2)
    for client in ("p", "q", "r"):
        tiny.acquire(client)
    assert len(tiny._buckets) == 2  # idle clients are forgotten
    assert client_ip_from_grpc_peer("ipv4:127.0.0.1:5555") == "127.0.0.1"
    assert client_ip_from_grpc_peer("ipv6:[::1]:5555") == "::1"


def _limited(tmp_path: Path) -> LocalNode:
    limit = {"rate-limit-per-second": 3, "rate-limit-burst": 3}
    return LocalNode(
        tmp_path / "home",
        config_toml={"rpc": {"rate_limit_per_second": 3, "rate_limit_burst": 3}},
        app_toml={"api": limit, "grpc": limit},
        start=False,
    )


def test_rate_limits_answer_429_with_retry_after_and_are_counted(tmp_path: Path) -> None:
    node = _limited(tmp_path)
    registry = node.node.metrics_registry
    try:
        rest_codes = [http_get(node.url("rest") + "/status")[0] for _ in range(3)]
        status, headers, body = http_get(node.url("rest") + "/status")
        assert rest_codes == [200, 200, 200] and status == 429
        assert headers["Retry-After"] == "1"
        assert json.loads(body) == {
            "code": 8,
            "message": "rate limit exceeded: retry after 1s",
            "details": [],
        }
        rpc_codes = [http_get(node.url("rpc") + "/health")[0] for _ in range(3)]
        status, headers, body = http_get(node.url("rpc") + "/health")
        assert rpc_codes == [200, 200, 200] and status == 429
        assert headers["Retry-After"] == "1"
        assert json.loads(body)["error"]["code"] == -32005
        with grpc.insecure_channel(node.grpc_target) as channel:
            call = channel.unary_unary(
                LATEST_BLOCK,
                request_serializer=tm_query.GetLatestBlockRequest.SerializeToString,
                response_deserializer=tm_query.GetLatestBlockResponse.FromString,
            )
            node.node.engine.produce_block()
            for _ in range(3):
                call(tm_query.GetLatestBlockRequest(), timeout=10)
            with pytest.raises(grpc.RpcError) as exc:
                call(tm_query.GetLatestBlockRequest(), timeout=10)
            assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert ("retry-after", "1") in exc.value.trailing_metadata()
        for server in ("rest", "rpc", "grpc"):
            got = registry.get_sample_value("sultan_api_rate_limited_total", {"server": server})
            assert got == 1, server
        assert (
            registry.get_sample_value(
                "sultan_api_requests_total", {"endpoint": "rest:/status", "status": "error"}
            )
            == 1
        )
        time.sleep(1.1)  # the bucket refills
        assert http_get(node.url("rest") + "/status")[0] == 200
    finally:
        node.close()


# -- sizes, connections, timeouts ----------------------------------------------------------------


def _raw(port: int, data: bytes, until: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if until in b"".join(chunks):
                break

        return b"".join(chunks)


def test_body_and_header_limits(tmp_path: Path) -> None:
    node = LocalNode(
        tmp_path / "home",
        config_toml={"rpc": {"max_body_bytes": 1000, "max_header_bytes": 2048}},
        app_toml={"api": {"rpc-max-body-bytes": 1000}},
        start=False,
    )
    try:
        big = b'{"jsonrpc": "2.0", "id": 1, "method": "status", "x": "' + b"a" * 2000 + b'"}'
        req = urllib.request.Request(node.url("rpc") + "/", big, method="POST")
        req.add_header("Content-Type", "application/json")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=10)
        assert exc.value.code == 413
        assert "request body too large" in json.loads(exc.value.read())["error"]["data"]
        req = urllib.request.Request(node.url("rest") + "/cosmos/tx/v1beta1/txs", big * 2)
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=10)
        assert exc.value.code == 413
        assert json.loads(exc.value.read())["code"] == 8
        status, _, _ = http_get(node.url("rpc") + "/health", headers={"X-Big": "b" * 4096})
        assert status in (400, 431)
        assert http_get(node.url("rpc") + "/health")[0] == 200  # still serving
    finally:
        node.close()


def _answers(url: str) -> bool:
    try:
        return http_get(url, timeout=5)[0] in (200, 503)
    except OSError:
        return False


def test_connections_beyond_max_open_connections_are_closed(tmp_path: Path) -> None:
    node = LocalNode(
        tmp_path / "home",
        config_toml={"rpc": {"max_open_connections": 2}},
        app_toml={"api": {"max-open-connections": 2}},
        start=False,
    )
    try:
        for server in ("rpc", "rest"):
            port = int(node.url(server).rsplit(":", 1)[1])
            held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
            try:
                for sock in held:  # half a request each: the connections stay open
                    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                time.sleep(0.2)
                with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
                    try:
                        extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                        answer = extra.recv(100)
                    except ConnectionResetError:
                        answer = b""
                    assert answer == b""  # closed without an answer
            finally:
                for sock in held:
                    sock.close()
            wait_for(lambda p=port: _answers(f"http://127.0.0.1:{p}/health"))
    finally:
        node.close()


def test_request_timeouts(tmp_path: Path) -> None:
    node = LocalNode(
        tmp_path / "home",
        app_toml={"api": {"rpc-write-timeout": "300ms", "rpc-read-timeout": "300ms"}},
        start=False,
    )
    try:
        started = time.monotonic()
        status, _, body = http_get(node.url("rest") + "/ops/v1/slow/3000")
        assert status == 504 and time.monotonic() - started < 2.5
        assert json.loads(body) == {
            "code": 4,
            "message": "request not answered within 300 ms",
            "details": [],
        }
        assert http_get(node.url("rest") + "/ops/v1/slow/10")[0] == 200
        port = int(node.url("rest").rsplit(":", 1)[1])
        started = time.monotonic()
        answer = _raw(
            port,
            b"POST /cosmos/tx/v1beta1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b'\r\nContent-Length: 100\r\n\r\n{"tx_bytes"',
            until=b"within 300 ms",
        )
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"request body not received within 300 ms" in answer
        assert time.monotonic() - started < 5
    finally:
        node.close()


def test_grpc_max_receive_message_size(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "home", app_toml={"grpc": {"max-recv-msg-size": 1024}}, start=False)
    try:
        with grpc.insecure_channel(node.grpc_target) as channel:
            call = channel.unary_unary(
                "/ops.Query/Slow",
                request_serializer=coin_pb2.Coin.SerializeToString,
                response_deserializer=coin_pb2.Coin.FromString,
            )
            assert call(coin_pb2.Coin(denom="ok", amount="0"), timeout=10).denom == "ok"
            with pytest.raises(grpc.RpcError) as exc:
                call(coin_pb2.Coin(denom="x" * 4096, amount="0"), timeout=10)
            assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        node.close()


def test_search_pages_are_capped_at_100(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "home", start=False)
    try:
        for _ in range(105):
            node.node.engine.produce_block()
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "block_search",
                "params": {"query": "block.height > 0", "per_page": "1000"},
            }
        ).encode()
        req = urllib.request.Request(node.url("rpc") + "/", body, method="POST")
        with urllib.request.urlopen(req, timeout=30) as res:
            result = json.loads(res.read())["result"]
        assert result["total_count"] == "105" and len(result["blocks"]) == 100
        status, _, raw = http_get(node.url("rpc") + '/tx_search?query="tx.height>0"&per_page=1000')
        assert status == 200 and json.loads(raw)["result"]["txs"] == []
    finally:
        node.close()


# -- TLS ---------------------------------------------------------------------------------------


def test_tls_for_rest_rpc_and_grpc_with_a_generated_certificate(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    cert, key = make_certificate(certs)
    node = LocalNode(
        tmp_path / "home",
        config_toml={"rpc": {"tls_cert_file": str(cert), "tls_key_file": str(key)}},
        app_toml={
            "api": {"tls-cert-file": str(cert), "tls-key-file": str(key)},
            "grpc": {"tls-cert-file": str(cert), "tls-key-file": str(key)},
        },
    )
    try:
        context = ssl.create_default_context(cafile=str(cert))
        wait_for(lambda: node.node.engine.height >= 1)
        status, _, body = http_get(node.url("rest", "https") + "/status", context=context)
        assert status == 200 and json.loads(body)["chain_id"] == "ops-1"
        status, _, body = http_get(node.url("rpc", "https") + "/health", context=context)
        assert status == 200
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(node.url("rest") + "/status", timeout=5).read()  # plain HTTP
        untrusting = ssl.create_default_context()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(node.url("rest", "https") + "/status", context=untrusting)
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(node.grpc_target, credentials) as channel:
            call = channel.unary_unary(
                LATEST_BLOCK,
                request_serializer=tm_query.GetLatestBlockRequest.SerializeToString,
                response_deserializer=tm_query.GetLatestBlockResponse.FromString,
            )
            latest = call(tm_query.GetLatestBlockRequest(), timeout=10)
            assert latest.block.header.chain_id == "ops-1"
        with grpc.insecure_channel(node.grpc_target) as plain:
            call = plain.unary_unary(LATEST_BLOCK)
            with pytest.raises(grpc.RpcError):
                call(b"", timeout=5)
    finally:
        node.close()


def test_tls_misconfiguration_is_a_clear_error(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    cert, key = make_certificate(certs)
    with pytest.raises(ConfigError, match="TLS needs both 'api.tls-cert-file' and"):
        LocalNode(tmp_path / "a", app_toml={"api": {"tls-cert-file": str(cert)}})
    with pytest.raises(ConfigError, match=r"api tls-key-file .*missing\.pem: No such file"):
        LocalNode(
            tmp_path / "b",
            app_toml={
                "api": {"tls-cert-file": str(cert), "tls-key-file": str(certs / "missing.pem")}
            },
        )


def test_relative_tls_paths_are_read_from_the_config_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tls_dir = home / "config" / "tls"
    tls_dir.mkdir(parents=True)
    cert, _ = make_certificate(tls_dir)
    node = LocalNode(
        home,
        app_toml={"grpc": {"tls-cert-file": "tls/cert.pem", "tls-key-file": "tls/key.pem"}},
        start=False,
    )
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(node.grpc_target, credentials) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
    finally:
        node.close()
