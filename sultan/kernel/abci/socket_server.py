"""The ABCI socket server: the `Application`, served to an external CometBFT v0.38 node.

Wire format (CometBFT `abci/types/messages.go`, `libs/protoio`): every message is an
unsigned varint (uvarint) length followed by that many bytes of protobuf — a
`tendermint.abci.Request` from CometBFT, a `tendermint.abci.Response` back.

CometBFT opens four connections (query, snapshot, mempool, consensus) to `proxy_app`
(`tcp://host:port` or `unix:///path`). On each one it pipelines requests and matches the
responses strictly in order, and it flushes its side only when it sends a `Flush`; so the
server answers each connection's requests one after the other, in order, buffers the
answers and writes them out when it answers a `Flush` (or when the buffer grows large).

Threads: the event loop only moves bytes. Every application call runs in a worker thread;
the consensus calls (InitChain, PrepareProposal, ProcessProposal, FinalizeBlock, Commit,
vote extensions, snapshot restore) additionally take one lock, so they never overlap,
while Query and CheckTx on the other connections are answered as a block executes.

Failures: a malformed frame (bad varint, a length over `max_message_bytes`, bytes that are
not a `Request`) closes that connection only, with the reason logged; nothing reaches the
application. An exception raised by the application is logged and answered with a
`ResponseException`, after which the connection is closed — CometBFT then stops, which is
what it is designed to do. An exception in a consensus call is also kept in `error`, so
`sultan run` exits instead of serving an application whose block is half-executed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from google.protobuf.message import DecodeError

from sultan.pb.tendermint.abci import types_pb2 as abci

log = logging.getLogger("sultan.abci")

DEFAULT_MAX_MESSAGE_BYTES = 100 * 1024 * 1024
MAX_UVARINT_BYTES = 10  # Go's binary.MaxVarintLen64
READ_CHUNK = 256 * 1024
WRITE_BUFFER_LIMIT = 64 * 1024  # write out early past this, like Go's bufio.Writer does
WORKER_THREADS = 8
CLOSE_LINGER_S = 2.0  # how long a connection being closed may still send (discarded)

# How each request is run: "inline" on the event loop (no application state touched),
# "concurrent" in a worker thread, "consensus" in a worker thread under the consensus lock.
INLINE, CONCURRENT, CONSENSUS = "inline", "concurrent", "consensus"

# Request oneof field -> (Application method, Response oneof field, how it runs).
# The oneof field names are the same in Request and Response (`tendermint.abci`).
DISPATCH: dict[str, tuple[str, str, str]] = {
    "echo": ("echo", "echo", INLINE),
    "flush": ("flush", "flush", INLINE),
    "info": ("info", "info", CONCURRENT),
    "init_chain": ("init_chain", "init_chain", CONSENSUS),
    "query": ("query", "query", CONCURRENT),
    "check_tx": ("check_tx", "check_tx", CONCURRENT),
    "commit": ("commit", "commit", CONSENSUS),
    "list_snapshots": ("list_snapshots", "list_snapshots", CONCURRENT),
    "offer_snapshot": ("offer_snapshot", "offer_snapshot", CONSENSUS),
    "load_snapshot_chunk": ("load_snapshot_chunk", "load_snapshot_chunk", CONCURRENT),
    "apply_snapshot_chunk": ("apply_snapshot_chunk", "apply_snapshot_chunk", CONSENSUS),
    "prepare_proposal": ("prepare_proposal", "prepare_proposal", CONSENSUS),
    "process_proposal": ("process_proposal", "process_proposal", CONSENSUS),
    "extend_vote": ("extend_vote", "extend_vote", CONSENSUS),
    "verify_vote_extension": ("verify_vote_extension", "verify_vote_extension", CONSENSUS),
    "finalize_block": ("finalize_block", "finalize_block", CONSENSUS),
}


# -- framing --------------------------------------------------------------------------------


class FrameError(ValueError):
    """The byte stream is not a sequence of well-formed, size-limited frames."""


def encode_uvarint(value: int) -> bytes:
    """Go's binary.PutUvarint: 7 bits per byte, least significant first, high bit = more."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"uvarint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_uvarint(data: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int] | None:
    """Go's binary.ReadUvarint over `data[pos:]`: (value, position after it), or None if
    more bytes are needed. Raises FrameError on a varint longer than 10 bytes or > 2**64-1."""
    value = shift = 0
    for i in range(MAX_UVARINT_BYTES):
        if pos + i >= len(data):
            return None
        byte = data[pos + i]
        if byte < 0x80:
            if i == MAX_UVARINT_BYTES - 1 and byte > 1:
                raise FrameError("varint overflows a 64-bit integer")
            return value | (byte << shift), pos + i + 1
        value |= (byte & 0x7F) << shift
        shift += 7
    raise FrameError("varint overflows a 64-bit integer")


def encode_frame(message: Any) -> bytes:
    """uvarint(len) + protobuf bytes of `message` (libs/protoio's delimited writer)."""
    payload = message.SerializeToString()
    return encode_uvarint(len(payload)) + payload


class FrameDecoder:
    """Splits a byte stream into frame payloads; holds a partial frame across feeds."""

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self._buf = bytearray()
        # A bad frame found after good ones: those are returned first, this is raised on
        # the next feed() (so a caller can answer the good requests before closing).
        self.error: FrameError | None = None

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every payload now complete (possibly none).

        Raises FrameError at the first malformed frame — or, if complete frames precede it,
        returns those and raises on the next call (see `error`)."""
        if self.error is not None:
            raise self.error
        self._buf += data
        out: list[bytes] = []
        pos = 0
        try:
            while True:
                header = decode_uvarint(self._buf, pos)
                if header is None:
                    break
                length, start = header
                if length > self.max_message_bytes:
                    raise FrameError(
                        f"message exceeds max size ({length} > {self.max_message_bytes} bytes)"
                    )
                if start + length > len(self._buf):
                    break
                out.append(bytes(self._buf[start : start + length]))
                pos = start + length
        except FrameError as exc:
            if not out:
                raise
            self.error = exc
        if pos:
            del self._buf[:pos]
        return out


def parse_address(address: str) -> tuple[str, str | tuple[str, int]]:
    """`tcp://host:port` → ("tcp", (host, port)); `unix:///path` or `unix://path` →
    ("unix", path). A bare `host:port` is TCP, as in CometBFT."""
    text = address.strip()
    if text.startswith("unix://"):
        path = text[len("unix://") :]
        if not path:
            raise ValueError(f"ABCI address {address!r}: empty unix socket path")
        return "unix", path
    if "://" in text:
        scheme, text = text.split("://", 1)
        if scheme != "tcp":
            raise ValueError(f"ABCI address {address!r}: use tcp://host:port or unix:///path")
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"ABCI address {address!r}: expected tcp://host:port")
    return "tcp", (host or "0.0.0.0", int(port))


# -- the server -----------------------------------------------------------------------------


class ABCIServer:
    """Serves `app` (anything with the `Application` ABCI methods) on one address.

    server = ABCIServer(app, "tcp://127.0.0.1:26658")
    await server.start()      # listening; `server.address` has the bound address
    ...
    await server.stop()
    """

    def __init__(
        self,
        app: Any,
        address: str,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        workers: int = WORKER_THREADS,
    ) -> None:
        self.app = app
        self.requested_address = address
        self.kind, self._target = parse_address(address)
        self.max_message_bytes = max_message_bytes
        self.address = address
        self.error: BaseException | None = None
        self.connections = 0
        self.requests = 0
        self._consensus_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="abci")
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._next_id = 0
        self.on_error: Callable[[BaseException], None] | None = None
        self.last_committed_height = 0
        self._finalized: tuple[int, int, bytes] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> ABCIServer:
        try:
            await self._listen()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.errno == errno.EADDRINUSE:
                reason = "address already in use"
            raise OSError(
                exc.errno or 0, f"ABCI: cannot listen on {self.requested_address}: {reason}"
            ) from exc
        log.info("ABCI server listening on %s", self.address)
        return self

    async def _listen(self) -> None:
        if self.kind == "unix":
            assert isinstance(self._target, str)
            path = self._target
            _remove_stale_socket(path)
            self._server = await asyncio.start_unix_server(self._accept, path=path)
            self.address = f"unix://{path}"
        else:
            assert isinstance(self._target, tuple)
            host, port = self._target
            self._server = await asyncio.start_server(
                self._accept, host=host, port=port, reuse_address=True
            )
            bound = self._server.sockets[0].getsockname()
            shown = f"[{host}]" if ":" in host else host
            self.address = f"tcp://{shown}:{bound[1]}"

    @property
    def port(self) -> int | None:
        if self._server is None or self.kind != "tcp":
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        # A consensus call in flight finishes (it holds the lock) before the caller closes
        # the database; nothing new starts after this.
        await asyncio.get_running_loop().run_in_executor(None, self._drain_executor)
        if self.kind == "unix" and isinstance(self._target, str):
            try:
                os.unlink(self._target)
            except OSError:
                pass

    def _drain_executor(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    # -- connections --------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self._next_id += 1
        conn_id = self._next_id
        peer = writer.get_extra_info("peername") or "unix socket"
        self.connections += 1
        log.debug("ABCI connection %d opened from %s", conn_id, peer)
        reason = "closed by the client"
        try:
            reason = await self._serve_connection(conn_id, reader, writer)
        except asyncio.CancelledError:
            reason = "server stopping"
        except (ConnectionError, OSError) as exc:
            reason = f"connection error: {exc}"
        finally:
            self.connections -= 1
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()
        level = (
            logging.DEBUG
            if reason in ("closed by the client", "server stopping")
            else (logging.WARNING)
        )
        log.log(level, "ABCI connection %d (%s) closed: %s", conn_id, peer, reason)

    async def _serve_connection(
        self, conn_id: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> str:
        decoder = FrameDecoder(self.max_message_bytes)
        out = bytearray()
        while True:
            data = await reader.read(READ_CHUNK)
            if not data:
                if decoder.pending_bytes:
                    return f"closed by the client mid-frame ({decoder.pending_bytes} bytes left)"
                return "closed by the client"
            try:
                payloads = decoder.feed(data)
            except FrameError as exc:
                await _close_gracefully(reader, writer, out)
                return f"malformed frame: {exc}"
            for payload in payloads:
                try:
                    request = abci.Request.FromString(payload)
                except (DecodeError, RuntimeError, ValueError) as exc:
                    await _close_gracefully(reader, writer, out)
                    return f"malformed frame: not a tendermint.abci.Request ({exc})"
                self.requests += 1
                response, fatal = await self._handle(conn_id, request)
                out += encode_frame(response)
                if fatal:
                    await _close_gracefully(reader, writer, out)
                    return f"application error answered with an exception: {fatal}"
                if request.WhichOneof("value") == "flush" or len(out) >= WRITE_BUFFER_LIMIT:
                    await _write_out(writer, out)
            if decoder.error is not None:
                await _close_gracefully(reader, writer, out)
                return f"malformed frame: {decoder.error}"

    async def _handle(self, conn_id: int, request: Any) -> tuple[Any, str]:
        """(Response, "") or (ResponseException, reason) for one request."""
        which = request.WhichOneof("value")
        entry = DISPATCH.get(which) if which else None
        if entry is None:
            reason = "unknown request from client (no known field set in tendermint.abci.Request)"
            log.error("ABCI connection %d: %s", conn_id, reason)
            return abci.Response(exception=abci.ResponseException(error=reason)), reason
        method_name, field, mode = entry
        method = getattr(self.app, method_name)
        req = getattr(request, which)
        try:
            if mode == INLINE:
                result = method(req)
            elif mode == CONCURRENT:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._executor, method, req
                )
            else:
                result = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._serialised, method, req
                )
        except Exception as exc:
            reason = f"{which}: {type(exc).__name__}: {exc}"
            log.exception("ABCI %s failed", which)
            if mode == CONSENSUS and self.error is None:
                self.error = exc
                if self.on_error is not None:
                    self.on_error(exc)
            return abci.Response(exception=abci.ResponseException(error=reason)), reason
        if which == "finalize_block":
            self._finalized = (req.height, len(req.txs), bytes(result.app_hash))
        elif which == "commit" and self._finalized is not None:
            height, txs, app_hash = self._finalized
            self._finalized = None
            self.last_committed_height = height
            log.info(
                "committed block height=%d txs=%d app_hash=%s", height, txs, app_hash.hex().upper()
            )
        response = abci.Response()
        getattr(response, field).CopyFrom(result)
        return response, ""

    def _serialised(self, method: Callable[[Any], Any], req: Any) -> Any:
        with self._consensus_lock:
            if self.error is not None:
                raise RuntimeError(
                    f"an earlier consensus call failed ({self.error}); restart the application"
                )
            return method(req)


async def _write_out(writer: asyncio.StreamWriter, out: bytearray) -> None:
    if out:
        writer.write(bytes(out))
        out.clear()
        await writer.drain()


async def _close_gracefully(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, out: bytearray
) -> None:
    """Send what is answered, then FIN, and discard input briefly: closing with unread
    input would reset the connection and could destroy those last answers in transit."""
    await _write_out(writer, out)
    if writer.can_write_eof():
        writer.write_eof()
    try:
        async with asyncio.timeout(CLOSE_LINGER_S):
            while await reader.read(READ_CHUNK):
                pass
    except (TimeoutError, ConnectionError, OSError):
        pass


def _remove_stale_socket(path: str) -> None:
    """Remove a socket file left behind by a process that is gone (not any other file)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(f"{path} exists and is not a socket")
    import socket

    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listening: stale
        return
    finally:
        probe.close()
    raise OSError(f"another process is already serving {path}")


__all__ = [
    "ABCIServer",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DISPATCH",
    "FrameDecoder",
    "FrameError",
    "decode_uvarint",
    "encode_frame",
    "encode_uvarint",
    "parse_address",
]
