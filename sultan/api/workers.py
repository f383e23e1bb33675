"""The node's side of API worker processes (`[api] workers`; `sultan.api.replica` is theirs).

`ApiWorkers` starts N worker processes that serve the node's REST and gRPC ports: each
worker listens on both with SO_REUSEPORT, so the kernel spreads new connections evenly
over them (one listening socket shared by all gave one worker all 100 connections of a
benchmark more often than not), while the node keeps both ports bound without listening,
so that they stay reserved across worker restarts. Then it:

- announces every height to them before writing it, and publishes its liveness and
  mempool size (`SharedStatus`, under `<home>/data/api-workers/`);
- takes the transactions they receive into its mempool (an internal endpoint on
  127.0.0.1, port chosen by the system);
- adds their API request counts and latencies to its own `sultan_api_*` series, from the
  file each worker rewrites every second;
- starts a worker again if it exits, and stops them all with the node. Each worker also
  exits by itself when the node's end of its stdin pipe closes (the node died).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from sultan.api.replica import (
    _ANNOUNCED,
    _FLAGS,
    _HALT_HEIGHT,
    _LAST_COMMIT,
    _MEMPOOL_BYTES,
    _MEMPOOL_TXS,
    _STARTED,
    CHECK_TX_PATH,
    FAILED,
    HALTED,
    OVERRIDES_ENV,
    RUNNING,
    STATUS_FILE,
    SharedStatus,
)
from sultan.kernel.mempool import MempoolError

log = logging.getLogger("sultan.api.workers")

WORKDIR_NAME = "api-workers"
PUBLISH_EVERY_S = 0.02  # mempool size and liveness: at most this old in a worker
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
RESTART_DELAY_S = 1.0


class WorkerStartError(RuntimeError):
    """An API worker process did not become ready."""


class ApiWorkers:
    def __init__(
        self,
        node: Any,
        count: int,
        *,
        rest_port: int | None,
        grpc_port: int | None,
    ) -> None:
        self.node = node
        self.count = count
        self.rest_port = rest_port
        self.grpc_port = grpc_port
        self.workdir: Path = node.home.data_dir / WORKDIR_NAME
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._internal: web.AppRunner | None = None
        self._internal_port = 0
        self.status: SharedStatus | None = None
        self._metrics_lock = threading.Lock()
        self._retired: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = {}

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> ApiWorkers:
        node = self.node
        if self.workdir.exists():  # a previous run's views and figures are not this run's
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        status = self.status = SharedStatus(self.workdir / STATUS_FILE, create=True)
        status.set(_STARTED, node.started_ns)
        status.set(_HALT_HEIGHT, node.engine.halt_height)
        status.set(_ANNOUNCED, node.app.last_height)
        self._publish()
        node.app.before_commit_write(lambda height: status.set(_ANNOUNCED, height))
        # (status stays mapped until the process exits: blocks committed while the node
        # shuts down still announce into it.)
        await self._start_internal()
        try:
            for index in range(self.count):
                self.procs[index] = self._spawn(index)
            for index in range(self.count):
                await asyncio.to_thread(self._await_ready, index)
        except BaseException:
            await self.stop()
            raise
        from sultan.api.metrics import api_metrics

        api_metrics(node).sources.append(self.worker_samples)
        for target, name in ((self._publish_loop, "publish"), (self._supervise, "supervise")):
            thread = threading.Thread(target=target, name=f"sultan-api-workers-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("REST and gRPC served by API workers (%d)", self.count)
        return self

    async def _start_internal(self) -> None:
        node = self.node
        cfg = node.config.app

        async def check_tx(request: web.Request) -> web.Response:
            tx = await request.read()
            try:
                result = await asyncio.to_thread(node.mempool.check_and_add, tx)
            except MempoolError as exc:
                return web.Response(status=409, text=str(exc))
            return web.Response(body=result.SerializeToString())

        app = web.Application(
            client_max_size=max(cfg.api.rpc_max_body_bytes, cfg.grpc.max_recv_msg_size)
        )
        app.router.add_post(CHECK_TX_PATH, check_tx)
        from sultan.api.servers import listen_socket

        sock = listen_socket("API workers' internal endpoint", "127.0.0.1", 0)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._internal = runner
        self._internal_port = sock.getsockname()[1]

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        node = self.node
        args = [
            sys.executable,
            "-m",
            "sultan.api.replica",
            "--home",
            str(node.home.root),
            "--index",
            str(index),
            "--workdir",
            str(self.workdir),
            "--node",
            f"127.0.0.1:{self._internal_port}",
            "--work",
            node.engine.WORK,
            "--log-level",
            logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
        ]
        if self.rest_port is not None:
            args += ["--rest-port", str(self.rest_port)]
        if self.grpc_port is not None:
            args += ["--grpc-port", str(self.grpc_port)]
        env = {**os.environ, OVERRIDES_ENV: json.dumps(node._overrides)}
        return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def _await_ready(self, index: int) -> None:
        proc = self.procs[index]
        assert proc is not None and proc.stdout is not None
        timer = threading.Timer(READY_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            line = proc.stdout.readline()
        finally:
            timer.cancel()
        if line.strip() != b"ready":
            code = proc.wait()
            raise WorkerStartError(
                f"API worker {index} did not start (exit code {code}; its log is above)"
            )
        proc.stdout.close()

    # -- while running -----------------------------------------------------------------------

    def _publish(self) -> None:
        node, status = self.node, self.status
        if status is None:
            return
        engine = node.engine
        status.set(_LAST_COMMIT, engine.last_commit_ns)
        status.set(_MEMPOOL_TXS, len(node.mempool))
        status.set(_MEMPOOL_BYTES, node.mempool.total_bytes)
        flags = (RUNNING if engine.running else 0) | (HALTED if engine.halted else 0)
        if engine.error is not None:
            status.set_error(f"{type(engine.error).__name__}: {engine.error}")
            flags |= FAILED
        status.set(_FLAGS, flags)

    def _publish_loop(self) -> None:
        while not self._stopping.wait(PUBLISH_EVERY_S):
            self._publish()

    def _supervise(self) -> None:
        """Start a worker again when it exits (its log says why)."""
        while not self._stopping.wait(0.2):
            for index, proc in enumerate(self.procs):
                if proc is None or proc.poll() is None:
                    continue
                log.error(
                    "API worker %d exited with code %s; starting it again", index, proc.returncode
                )
                self._retire(index)
                if self._stopping.wait(RESTART_DELAY_S):
                    return
                try:
                    self.procs[index] = self._spawn(index)
                    self._await_ready(index)
                except Exception as exc:
                    log.error("API worker %d: %s", index, exc)

    def _metrics_path(self, index: int) -> Path:
        return self.workdir / f"metrics-{index}.json"

    def _retire(self, index: int) -> None:
        """Keep the figures of a worker that exited: its successor counts from zero, and the
        node's counters must not go backwards (requests of its last second are lost)."""
        path = self._metrics_path(index)
        with self._metrics_lock:
            with contextlib.suppress(OSError, ValueError):
                for family, name, labels, value in json.loads(path.read_text()):
                    key = (family, name, tuple(sorted(labels.items())))
                    self._retired[key] = self._retired.get(key, 0.0) + value
            path.unlink(missing_ok=True)

    def worker_samples(self) -> list[list[Any]]:
        """Every worker's API series as they last wrote them, plus those of workers that
        exited (`sultan.api.metrics` adds them to the node's own)."""
        with self._metrics_lock:
            rows: list[list[Any]] = [
                [family, name, dict(labels), value]
                for (family, name, labels), value in self._retired.items()
            ]
            for index in range(self.count):
                with contextlib.suppress(OSError, ValueError):
                    rows.extend(json.loads(self._metrics_path(index).read_text()))
        return rows

    # -- stop --------------------------------------------------------------------------------

    async def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            await asyncio.to_thread(thread.join)
        await asyncio.gather(
            *(asyncio.to_thread(_stop_process, p) for p in self.procs if p is not None)
        )
        if self._internal is not None:
            await self._internal.cleanup()
            self._internal = None
        # The workers' last figures (written as they stopped) stay in the node's series.


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Close its stdin (the worker stops on EOF; it ignores SIGTERM), then insist."""
    stdin: IO[bytes] | None = proc.stdin
    if stdin is not None:
        with contextlib.suppress(OSError):
            stdin.close()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log.error("API worker pid %d did not stop within %g s: killed", proc.pid, STOP_TIMEOUT_S)
        proc.kill()
        proc.wait()
    if proc.stdout is not None and not proc.stdout.closed:
        proc.stdout.close()
