"""Helpers for the operations tests: scraping /metrics, tools, in-process nodes, TLS certs."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import shutil
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from prometheus_client.parser import text_string_to_metric_families

from sultan import hookimpl
from sultan.api.servers import Servers, start_servers
from sultan.kernel.config import apply_overrides, load_config
from sultan.kernel.home import init_home
from sultan.kernel.modules import ModuleDefinition
from sultan.node import Node
from sultan.pb.cosmos.base.v1beta1 import coin_pb2

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Series of modules that do not run on these nodes: absent by design, never faked.
ABSENT_MODULE_SERIES = {
    "sultan_ibc_packets_total": "IBC module not running",
    "sultan_ibc_channels_active": "IBC module not running",
}


def require_tool(name: str) -> str:
    """The tool's path; a failure naming the fix when it is missing (never a silent skip)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `bash scripts/install-test-deps.sh` (as root)")
    return path


def http_get(url: str, timeout: float = 30, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=kwargs.get("headers") or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=kwargs.get("context")) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def scrape(url: str) -> dict[str, Any]:
    """{family name: Metric} of one /metrics scrape."""
    status, headers, body = http_get(url)
    assert status == 200, body[:500]
    return {m.name: m for m in text_string_to_metric_families(body.decode())}


def sample_names(families: dict[str, Any]) -> set[str]:
    return {s.name for m in families.values() for s in m.samples}


def value(families: dict[str, Any], name: str, **labels: str) -> float:
    """The value of the sample `name` whose labels include `labels`."""
    for family in families.values():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise KeyError(f"no sample {name}{labels}")


def wait_for(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")


# -- an in-process node with a slow query, for limits and health ----------------------------


def _slow(ctx: Any, req: Any) -> Any:
    time.sleep(float(req.amount or "0") / 1000)
    return coin_pb2.Coin(denom=req.denom, amount=req.amount)


class SlowQueryPlugin:
    """Module "opsprobe": /ops.Query/Slow sleeps `amount` ms; REST /ops/v1/slow/{amount}."""

    @hookimpl
    def sultan_module(self) -> ModuleDefinition:
        return ModuleDefinition(name="opsprobe")

    @hookimpl
    def sultan_query_services(self, register: Callable[..., None]) -> None:
        register("/ops.Query/Slow", coin_pb2.Coin, coin_pb2.Coin, _slow)

    @hookimpl
    def sultan_rest_routes(self, register: Callable[..., None]) -> None:
        register("GET", "/ops/v1/slow/{amount}", "/ops.Query/Slow")


def edit_toml(path: Path, edits: dict[str, dict[str, Any]]) -> None:
    """Set `{section: {key: value}}` in a TOML file ("" = top level)."""
    data = tomllib.loads(path.read_text())
    for section, values in edits.items():
        (data.setdefault(section, {}) if section else data).update(values)
    path.write_text(tomli_w.dumps(data))


class LocalNode:
    """A node with its servers on an event loop in a background thread."""

    def __init__(
        self,
        home: Path,
        overrides: dict[str, Any] | None = None,
        *,
        start: bool = True,
        config_toml: dict[str, dict[str, Any]] | None = None,
        app_toml: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        init_home(
            home,
            chain_id="ops-1",
            moniker="ops",
            app_state={},
            plugins_toml_text='modules = ["opsprobe"]\n',
        )
        self.home = home
        for name, edits in (("config.toml", config_toml), ("app.toml", app_toml)):
            if edits:
                edit_toml(home / "config" / name, edits)
        config = apply_overrides(
            load_config(home)[0],
            {
                "rpc.laddr": "tcp://127.0.0.1:0",
                "api.address": "tcp://127.0.0.1:0",
                "grpc.address": "127.0.0.1:0",
                "consensus.timeout_commit": "100ms",
                **(overrides or {}),
            },
        )
        self.config = config
        self.node = Node(home, config, plugins={"opsprobe": SlowQueryPlugin()}).open()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: Servers | None = None
        try:
            self.servers = self.run(start_servers(self.node))
            if start:
                self.node.start()
        except BaseException:
            self.close()
            raise

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def url(self, server: str, scheme: str = "http") -> str:
        assert self.servers is not None
        port = self.servers.rpc_port if server == "rpc" else self.servers.rest_port
        return f"{scheme}://127.0.0.1:{port}"

    @property
    def grpc_target(self) -> str:
        assert self.servers is not None
        return f"127.0.0.1:{self.servers.grpc_port}"

    def close(self) -> None:
        if self.servers is not None:
            self.run(self.servers.stop())
            self.servers = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.node.close()


# -- TLS ---------------------------------------------------------------------------------------


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
