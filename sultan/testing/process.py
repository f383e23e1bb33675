"""A real `sultan run` process on free loopback ports, for end-to-end tests."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A free loopback port below the ephemeral range (32768+).

    Outgoing connections take their local ports from the ephemeral range, so a port picked
    there could be taken between a node's stop and its restart on the same port.
    """
    for _ in range(500):
        port = random.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found in 20000-32000")


PORT_RETRIES = 3


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something true (returned); fail naming `what` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)
    return result


class NodeProcess:
    """Starts `sultan run --home HOME` with its own ports; always stop() it (or use `with`)."""

    def __init__(
        self,
        home: str | Path,
        *,
        timeout_commit: str = "200ms",
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        python_args: Sequence[str] = ("-m", "sultan.cli.main"),
    ) -> None:
        """`python_args` is what runs the CLI (a test may give a wrapper script instead)."""
        self.home = Path(home)
        self.python_args = list(python_args)
        self.rpc_port = free_port()
        self.rest_port = free_port()
        self.grpc_port = free_port()
        self.metrics_port = free_port()  # /metrics, when the metrics module is enabled
        self.timeout_commit = timeout_commit
        self.extra_args = extra_args or []
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.home / "node.log"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def args(self) -> list[str]:
        return [
            sys.executable,
            *self.python_args,
            "run",
            "--home",
            str(self.home),
            "--rpc.laddr",
            f"tcp://127.0.0.1:{self.rpc_port}",
            "--api.address",
            f"tcp://127.0.0.1:{self.rest_port}",
            "--grpc.address",
            f"127.0.0.1:{self.grpc_port}",
            "--consensus.timeout_commit",
            self.timeout_commit,
            "--instrumentation.prometheus_listen_addr",
            f"127.0.0.1:{self.metrics_port}",
            *self.extra_args,
        ]

    def start(self, wait: bool = True, timeout: float = 60.0) -> NodeProcess:
        """Start the node; with `wait`, until it has made block 1.

        A port is picked free but only bound when the node starts, a second or so later:
        another process on the machine may take it in between. With `wait`, a node that
        exits because one of its ports was taken is started again on a fresh port (at most
        `PORT_RETRIES` times); without `wait` what the node does is the caller's to see.
        """
        retries = 0
        while True:
            log_from = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            if not wait:
                return self
            try:
                self.wait_for_height(1, timeout)
                return self
            except RuntimeError:
                taken = self._taken_port(log_from)
                if taken is None or retries == PORT_RETRIES:
                    raise
                retries += 1
                self._replace_port(taken)

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        env = dict(os.environ, **(self.env or {}))
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()

    def _taken_port(self, log_from: int) -> str | None:
        """Which of this node's ports it could not listen on, per its log since `log_from`."""
        if self.proc is None or self.proc.poll() is None:
            return None
        with open(self.log_path, "rb") as f:
            f.seek(log_from)
            text = f.read().decode(errors="replace")
        for name in ("rpc_port", "rest_port", "grpc_port", "metrics_port"):
            if f"127.0.0.1:{getattr(self, name)}: address already in use" in text:
                return name
        return None

    def _replace_port(self, name: str) -> None:
        old = getattr(self, name)
        setattr(self, name, free_port())
        with open(self.log_path, "a") as f:  # the log says why the node started twice
            f.write(f"[NodeProcess] port {old} was taken meanwhile; starting again on another\n")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def rpc(self, method: str, **params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.rpc_url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            reply = json.loads(resp.read())
        if "error" in reply:
            raise RuntimeError(f"RPC {method} failed: {reply['error']}")
        return reply["result"]

    def height(self) -> int:
        return int(self.rpc("status")["sync_info"]["latest_block_height"])

    def wait_for_height(self, height: int, timeout: float = 60.0) -> int:
        """Poll RPC status until the chain reaches `height` (fails fast if the process died)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"node exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}"
                )
            try:
                current = self.height()
                if current >= height:
                    return current
            except (OSError, urllib.error.URLError, RuntimeError, KeyError, ValueError) as exc:
                last_error = exc
            time.sleep(0.05)
        raise TimeoutError(
            f"height {height} not reached in {timeout}s ({last_error}):\n{self.log_text()[-4000:]}"
        )

    def kill(self, sig: int = signal.SIGKILL) -> int:
        """Send `sig` and wait for the process; returns its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)

    def stop(self) -> int:
        return self.kill(signal.SIGTERM)

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill(signal.SIGKILL)


def sultan_cli(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the `sultan` command in a subprocess (the way an operator would)."""
    result = subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"sultan {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def init_home(
    path: str | Path, modules: list[str], chain_id: str = "test-1", moniker: str = "test"
) -> Path:
    """`sultan init` a home whose plugins.toml enables `modules` (genesis includes them)."""
    home = Path(path)
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "plugins.toml").write_text(
        "modules = [" + ", ".join(f'"{m}"' for m in modules) + "]\n"
    )
    sultan_cli("init", "--home", str(home), "--chain-id", chain_id, "--moniker", moniker)
    return home
