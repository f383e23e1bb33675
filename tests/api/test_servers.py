"""start_servers: bound ports, disabled servers, clear errors for ports in use, clean stop."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import attrs
import pytest
from api_env import ApiTestPlugin

from sultan.api.servers import ServerBindError, start_servers
from sultan.kernel.config import apply_overrides, load_config
from sultan.kernel.home import init_home
from sultan.node import Node

pytestmark = pytest.mark.timeout(120)


def _node(home: Path, **overrides: object) -> Node:
    init_home(
        home,
        chain_id="srv-1",
        moniker="srv",
        app_state={},
        plugins_toml_text='modules = ["apitest"]\n',
    )
    base = {
        "rpc.laddr": "tcp://127.0.0.1:0",
        "api.address": "tcp://127.0.0.1:0",
        "grpc.address": "127.0.0.1:0",
    }
    config = apply_overrides(load_config(home)[0], {**base, **overrides})
    return Node(home, config, plugins={"apitest": ApiTestPlugin()}).open()


def _busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize(
    "server, key, fmt",
    [
        ("RPC", "rpc.laddr", "tcp://127.0.0.1:{}"),
        ("REST", "api.address", "tcp://127.0.0.1:{}"),
        ("gRPC", "grpc.address", "127.0.0.1:{}"),
    ],
)
def test_port_in_use_is_a_clear_error(tmp_path: Path, server: str, key: str, fmt: str) -> None:
    busy = _busy_port()
    port = busy.getsockname()[1]
    node = _node(tmp_path / "home", **{key: fmt.format(port)})
    try:
        with pytest.raises(ServerBindError) as exc:
            asyncio.run(start_servers(node))
        assert isinstance(exc.value, OSError)
        assert (
            str(exc.value) == f"{server}: cannot listen on 127.0.0.1:{port}: address already in use"
        )
    finally:
        busy.close()
        node.close()


def test_disabled_servers_and_clean_stop(tmp_path: Path) -> None:
    node = _node(tmp_path / "home", **{"api.enable": False, "grpc.enable": False})

    async def scenario() -> int:
        servers = await start_servers(node)
        assert servers.rest_port is None and servers.grpc_port is None
        assert servers.rpc_host == "127.0.0.1" and servers.rpc_port > 0
        port = servers.rpc_port
        await servers.stop()
        await servers.stop()  # idempotent
        return port

    try:
        port = asyncio.run(scenario())
        assert _free(port)
    finally:
        node.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_failure_after_rpc_started_releases_rpc_port(tmp_path: Path) -> None:
    busy = _busy_port()
    rpc_port = _free_port()
    node = _node(
        tmp_path / "home",
        **{
            "rpc.laddr": f"tcp://127.0.0.1:{rpc_port}",
            "api.address": f"tcp://127.0.0.1:{busy.getsockname()[1]}",
        },
    )
    try:
        with pytest.raises(ServerBindError, match="^REST: cannot listen"):
            asyncio.run(start_servers(node))
        assert _free(rpc_port)  # the RPC server started first and was stopped again
    finally:
        busy.close()
        node.close()


def test_max_open_connections_and_header_limit(tmp_path: Path) -> None:
    node = _node(tmp_path / "home", **{"api.enable": False, "grpc.enable": False})
    cfg = node.config
    rpc_cfg = attrs.evolve(cfg.node.rpc, max_open_connections=2, max_header_bytes=4096)
    node.config = attrs.evolve(cfg, node=attrs.evolve(cfg.node, rpc=rpc_cfg))

    def request(port: int, extra_header: str = "") -> bytes:
        """The raw HTTP response, or b"" if the server closed the connection unanswered."""
        chunks = []
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                head = f"GET /health HTTP/1.1\r\nHost: x\r\n{extra_header}Connection: close\r\n\r\n"
                conn.sendall(head.encode())
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass
        return b"".join(chunks)

    async def scenario() -> None:
        servers = await start_servers(node)
        port = servers.rpc_port
        try:
            ok = await asyncio.to_thread(request, port)
            assert ok.startswith(b"HTTP/1.1 200")
            big = await asyncio.to_thread(request, port, f"X-Big: {'a' * 8192}\r\n")
            assert b" 400 " in big.split(b"\r\n")[0]  # header over max_header_bytes is refused
            held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
            try:
                deadline = asyncio.get_running_loop().time() + 10
                while await asyncio.to_thread(request, port) != b"":  # refused: closed at once
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.05)
            finally:
                for conn in held:
                    conn.close()
            deadline = asyncio.get_running_loop().time() + 10
            while not (await asyncio.to_thread(request, port)).startswith(b"HTTP/1.1 200"):
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
        finally:
            await servers.stop()

    try:
        asyncio.run(scenario())
    finally:
        node.close()
