"""API worker processes: REST and gRPC served beside the node, from its database.

With `[api] workers = N` (N ≥ 1), `sultan run` starts N processes of this module
(`sultan.api.workers` starts and supervises them). Each opens the node's RocksDB as a
read-only *secondary* and listens on the node's REST and gRPC ports (SO_REUSEPORT: the
kernel spreads connections over the workers) with the same handlers as in the node's own
process, so answers are identical. Block execution and
RocksDB writes in the node then no longer hold the interpreter the queries run on: that is
the point (docs/performance.md, "API worker processes").

What a worker cannot hold it gets from the node:

- the committed state and blocks: the database, caught up (`ReplicaState.refresh`) before
  a request is served whenever the node has announced a newer height;
- transactions it receives (REST/gRPC broadcast): passed to the node's mempool through an
  internal endpoint on 127.0.0.1, which answers with the node's CheckTx result;
- liveness, the mempool's size and the engine's state for `/health` and `/status`: a small
  memory-mapped status file the node updates (`SharedStatus`).

**Never older than what the node has shown.** The node announces height H in the status
file *before* it writes block H (`Application.before_commit_write`). A worker that sees an
announced height above its own catches up before serving; whatever a client could have
read of block H (through the node's RPC, or another worker) was written before that
catch-up began, so the catch-up sees it too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import logging
import mmap
import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.embedded import consensus_params_proto
from sultan.kernel.engine.indexer import Indexer
from sultan.kernel.mempool import MempoolError
from sultan.kernel.store.db import Database, SecondaryDatabase
from sultan.kernel.store.versioned import META_HEIGHT
from sultan.node import Node
from sultan.pb.tendermint.abci import types_pb2 as abci

log = logging.getLogger("sultan.api.worker")
_BE64 = struct.Struct(">Q")

# -- the status file ---------------------------------------------------------------------------

STATUS_MAGIC = 0x5355_4C54_4150_4931  # "SULTAPI1"
# Eight little-endian u64 fields (magic, announced height, last commit ns, mempool txs and
# bytes, flags, halt height, the node's start time in ns), then the engine's error text,
# NUL-padded.
HEAD_BYTES = 8 * 8
ERROR_BYTES = 1024
STATUS_BYTES = HEAD_BYTES + ERROR_BYTES
RUNNING, HALTED, FAILED = 1, 2, 4
(
    _MAGIC,
    _ANNOUNCED,
    _LAST_COMMIT,
    _MEMPOOL_TXS,
    _MEMPOOL_BYTES,
    _FLAGS,
    _HALT_HEIGHT,
    _STARTED,
) = range(8)


class SharedStatus:
    """The node's side of the status file (writer) or a worker's (reader).

    Fixed little-endian u64 fields, each written with one aligned 8-byte store, so a reader
    never sees a torn field; fields are independent, so no lock is needed."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        flags = os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0)
        fd = os.open(path, flags, 0o600)
        try:
            if create:
                os.ftruncate(fd, STATUS_BYTES)
            elif os.fstat(fd).st_size < STATUS_BYTES:
                raise ValueError(f"{path}: not an API status file")
            self._mm = mmap.mmap(fd, STATUS_BYTES)
        finally:
            os.close(fd)
        self._view = memoryview(self._mm).cast("Q")[: HEAD_BYTES // 8]
        if create:
            self._view[_MAGIC] = STATUS_MAGIC
        elif self._view[_MAGIC] != STATUS_MAGIC:
            raise ValueError(f"{path}: not an API status file")

    def get(self, field: int) -> int:
        return int(self._view[field])

    def set(self, field: int, value: int) -> None:
        self._view[field] = value

    @property
    def error(self) -> str:
        raw = self._mm[HEAD_BYTES:STATUS_BYTES]
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def set_error(self, text: str) -> None:
        raw = text.encode()[: ERROR_BYTES - 1]
        self._mm[HEAD_BYTES:STATUS_BYTES] = raw.ljust(ERROR_BYTES, b"\0")

    def close(self) -> None:
        self._view.release()
        self._mm.close()


# -- what a worker holds instead of an engine and a mempool -------------------------------------


class NodeEngineError(RuntimeError):
    """The node's engine stopped with an error (its text as the node reported it)."""


class ReplicaEngine:
    """The parts of an engine the REST and gRPC services read, in a worker: blocks and the
    tx index from the database; liveness from the node through the status file."""

    def __init__(self, node: ReplicaNode, work: str) -> None:
        app, status = node.app, node.status
        self.status = status
        self.WORK = work
        self.blocks = BlockStore(app.db)
        self.indexer = Indexer(app.db)
        self.consensus_params = consensus_params_proto(node.genesis)
        if app.consensus_params.HasField("block"):
            self.consensus_params.CopyFrom(app.consensus_params)

    @property
    def height(self) -> int:
        return self.blocks.height

    def stop(self, timeout: float = 0.0) -> None:
        """Nothing runs here to stop (the node's engine is the node's)."""

    @property
    def last_commit_ns(self) -> int:
        return self.status.get(_LAST_COMMIT)

    @property
    def running(self) -> bool:
        return bool(self.status.get(_FLAGS) & RUNNING)

    @property
    def halted(self) -> bool:
        return bool(self.status.get(_FLAGS) & HALTED)

    @property
    def halt_height(self) -> int:
        return self.status.get(_HALT_HEIGHT)

    @property
    def error(self) -> BaseException | None:
        if self.status.get(_FLAGS) & FAILED:
            return NodeEngineError(self.status.error)
        return None


class NodeMempool:
    """A worker's view of the node's mempool: transactions go to the node, which runs
    CheckTx and keeps them; the size comes from the status file."""

    def __init__(self, status: SharedStatus, host: str, port: int, timeout: float = 30.0) -> None:
        self.status = status
        self.host, self.port, self.timeout = host, port, timeout

    def __len__(self) -> int:
        return self.status.get(_MEMPOOL_TXS)

    @property
    def total_bytes(self) -> int:
        return self.status.get(_MEMPOOL_BYTES)

    def check_and_add(self, tx: bytes) -> Any:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", CHECK_TX_PATH, tx, {"Content-Type": "application/octet-stream"})
            reply = conn.getresponse()
            body = reply.read()
        except OSError as exc:
            raise MempoolError(f"the node did not take the transaction: {exc}") from None
        finally:
            conn.close()
        if reply.status == 200:
            return abci.ResponseCheckTx.FromString(body)
        raise MempoolError(body.decode("utf-8", "replace"))


CHECK_TX_PATH = "/check_tx"


# -- freshness ---------------------------------------------------------------------------------


class ReplicaState:
    """Keeps a worker's database and application at (or past) what the node announced."""

    def __init__(self, node: ReplicaNode) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._last_catch_up = 0  # monotonic ns when the latest catch-up began

    def refresh(self) -> None:
        """Before serving a request: catch up if the node announced a newer height."""
        app = self.node.app
        if self.node.status.get(_ANNOUNCED) <= app.last_height:
            return  # the common case: one read of shared memory
        asked = time.monotonic_ns()
        with self._lock:
            # A catch-up that began after this request arrived already saw all it could.
            if self._last_catch_up >= asked:
                return
            self._last_catch_up = time.monotonic_ns()
            db = self.node.db
            assert isinstance(db, SecondaryDatabase)
            db.catch_up()
            raw = db.get("meta", META_HEIGHT)
            if raw is not None and _BE64.unpack(raw)[0] != app.last_height:
                app.reload_committed()


# -- the worker's node --------------------------------------------------------------------------


class ReplicaNode(Node):
    """A Node that serves queries only: the database read-only, no engine of its own."""

    _serves_only = True

    def __init__(
        self,
        home: Any,
        *,
        overrides: dict[str, Any],
        index: int,
        workdir: Path,
        status: SharedStatus,
        node_host: str,
        node_port: int,
        work: str,
    ) -> None:
        super().__init__(home, overrides=overrides)
        self.index = index
        self.workdir = workdir
        self.status = status
        self._node_addr = (node_host, node_port)
        self._work = work

    @property
    def follower(self) -> bool:
        return False  # the node state-syncs and follows; a worker only reads the result

    def _open_database(self, db_path: Path) -> Database:
        return SecondaryDatabase(str(db_path), str(self.workdir / f"secondary-{self.index}"))

    def _open_serving(self) -> None:
        self.started_ns = self.status.get(_STARTED)
        self.mempool = NodeMempool(self.status, *self._node_addr)  # type: ignore[assignment]
        self.engine = ReplicaEngine(self, self._work)  # type: ignore[assignment]
        self.replica = ReplicaState(self)


# -- the worker process -------------------------------------------------------------------------


def _refresh_middleware(state: ReplicaState) -> Any:
    @web.middleware
    async def refresh(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        state.refresh()
        return await handler(request)

    return refresh


def api_metric_samples(node: Any) -> list[list[Any]]:
    """This process's API series as [family, sample name, labels, value] rows (creation
    timestamps left out: they do not add up across processes)."""
    from sultan.api.metrics import api_metrics

    rows: list[list[Any]] = []
    for collector in api_metrics(node).collectors():
        for family in collector.collect():
            for sample in family.samples:
                if not sample.name.endswith("_created"):
                    rows.append([family.name, sample.name, dict(sample.labels), sample.value])
    return rows


def write_metrics(node: Any, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(api_metric_samples(node)))
    os.replace(tmp, path)


METRICS_EVERY_S = 1.0


async def serve(node: ReplicaNode, rest_port: int | None, grpc_port: int | None) -> None:
    from sultan.api.grpc_server import GrpcServer
    from sultan.api.metrics import api_metrics, watch_loop_lag
    from sultan.api.rest import RESTServer
    from sultan.api.servers import _serve, _tls, listen_socket

    cfg = node.config.app
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # The node decides when workers stop: Ctrl-C in a terminal and systemd's stop reach the
    # whole process group at once, and a worker that left first would only be restarted.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    # The node holds our stdin and closes it to stop us; it also closes if the node dies.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def watch_node() -> None:
        await reader.read()
        stop.set()

    runners: list[web.AppRunner] = []
    grpc_server = None
    if rest_port is not None:
        rest = RESTServer(node)
        app = rest.make_app()
        app.middlewares.insert(1, _refresh_middleware(node.replica))  # inside the metrics
        host, _ = cfg.api.listen
        sock = listen_socket("REST", host, rest_port, reuse_port=True)
        tls = _tls(node, cfg.api.tls_cert_file, cfg.api.tls_key_file, "api")
        runners.append(await _serve(app, sock, cfg.api.max_open_connections, tls))
    if grpc_port is not None:
        host, _ = cfg.grpc.listen
        grpc_server = GrpcServer(node, reuse_port=True, before_call=node.replica.refresh)
        grpc_server.start(host, grpc_port)
    metrics_path = node.workdir / f"metrics-{node.index}.json"  # read by ApiWorkers
    tasks = [
        asyncio.create_task(watch_node()),
        asyncio.create_task(watch_loop_lag(api_metrics(node))),
    ]

    async def publish_metrics() -> None:
        while True:
            await asyncio.sleep(METRICS_EVERY_S)
            write_metrics(node, metrics_path)

    tasks.append(asyncio.create_task(publish_metrics()))
    print("ready", flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe from now on
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for runner in runners:
            await runner.cleanup()
        if grpc_server is not None:
            await asyncio.to_thread(grpc_server.stop(grace=1.0).wait, 10.0)
        write_metrics(node, metrics_path)  # the last requests count too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sultan.api.replica")
    parser.add_argument("--home", required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--node", required=True, help="host:port of the node's internal endpoint")
    parser.add_argument("--work", default="block production")
    parser.add_argument("--rest-port", type=int)
    parser.add_argument("--grpc-port", type=int)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format=f"%(asctime)s %(levelname)-5s api-worker-{args.index} %(name)s: %(message)s",
        stream=sys.stderr,
    )
    overrides = json.loads(os.environ.get(OVERRIDES_ENV, "{}"))
    workdir = Path(args.workdir)
    host, _, port = args.node.rpartition(":")
    status = SharedStatus(workdir / STATUS_FILE)
    node = ReplicaNode(
        args.home,
        overrides=overrides,
        index=args.index,
        workdir=workdir,
        status=status,
        node_host=host,
        node_port=int(port),
        work=args.work,
    )
    try:
        node.open()
        asyncio.run(serve(node, args.rest_port, args.grpc_port))
    except Exception as exc:
        log.error("stopped: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return 1
    finally:
        node.close()
        status.close()
    return 0


OVERRIDES_ENV = "SULTAN_API_WORKER_OVERRIDES"
STATUS_FILE = "status"

if __name__ == "__main__":
    sys.exit(main())
