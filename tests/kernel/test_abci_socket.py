"""The ABCI socket server: framing (golden bytes from CometBFT v0.38's own encoder), ordering,
flushing, partial and pipelined frames, concurrency, malformed input and app failures.

The golden frames were produced by CometBFT v0.38.26's `abci/types.WriteMessage` (Go) for
the messages rebuilt below, so these tests need no Go toolchain.
"""

from __future__ import annotations

import asyncio
import logging
import random
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import timestamp_pb2

from sultan.kernel.abci.socket_server import (
    DISPATCH,
    ABCIServer,
    FrameDecoder,
    FrameError,
    decode_uvarint,
    encode_frame,
    encode_uvarint,
    parse_address,
)
from sultan.pb.tendermint.abci import types_pb2 as abci

pytestmark = pytest.mark.timeout(60)

# -- golden frames (hex) written by CometBFT v0.38.26 ------------------------------------------

GO_REQUESTS = {
    "echo": "090a070a0568656c6c6f",
    "flush": "021200",
    "info": "161a140a07302e33382e3236100b18082205322e302e30",
    "query": "2d322b0a0301020312222f636f736d6f732e62616e6b2e763162657461312e51756572792f42616c616e63651807",
    "check_tx": "0e420c0a0874782d62797465731001",
    "commit": "025a00",
    "finalize_block": "f401a201f0010ac801"
    + "ab" * 200
    + "120028ac0232080880e2cfaa06100542140101010101010101010101010101010101010101",
    "process_proposal": "0f8a010c1200280232060880e2cfaa06",
}
GO_RESPONSES = {
    "echo": "0912070a0568656c6c6f",
    "flush": "021a00",
    "exception": "080a060a04626f6f6d",
    "info": "3822360a0673756c74616e1205302e312e3018012081012a20" + "cd" * 32,
    "commit": "026200",
    "process_proposal": "059201020801",
    "check_tx": "244a2208051a12696e73756666696369656e742066756e647328c09a0c30d209420373646b",
}


def _ts(seconds: int, nanos: int = 0) -> Any:
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


EXPECTED_REQUESTS = {
    "echo": abci.Request(echo=abci.RequestEcho(message="hello")),
    "flush": abci.Request(flush=abci.RequestFlush()),
    "info": abci.Request(
        info=abci.RequestInfo(
            version="0.38.26", block_version=11, p2p_version=8, abci_version="2.0.0"
        )
    ),
    "query": abci.Request(
        query=abci.RequestQuery(
            path="/cosmos.bank.v1beta1.Query/Balance", data=b"\x01\x02\x03", height=7
        )
    ),
    "check_tx": abci.Request(check_tx=abci.RequestCheckTx(tx=b"tx-bytes", type=abci.RECHECK)),
    "commit": abci.Request(commit=abci.RequestCommit()),
    "finalize_block": abci.Request(
        finalize_block=abci.RequestFinalizeBlock(
            txs=[b"\xab" * 200],
            decided_last_commit=abci.CommitInfo(),
            height=300,
            time=_ts(1700000000, 5),
            proposer_address=b"\x01" * 20,
        )
    ),
    "process_proposal": abci.Request(
        process_proposal=abci.RequestProcessProposal(
            proposed_last_commit=abci.CommitInfo(), height=2, time=_ts(1700000000)
        )
    ),
}
EXPECTED_RESPONSES = {
    "echo": abci.Response(echo=abci.ResponseEcho(message="hello")),
    "flush": abci.Response(flush=abci.ResponseFlush()),
    "exception": abci.Response(exception=abci.ResponseException(error="boom")),
    "info": abci.Response(
        info=abci.ResponseInfo(
            data="sultan",
            version="0.1.0",
            app_version=1,
            last_block_height=129,
            last_block_app_hash=b"\xcd" * 32,
        )
    ),
    "commit": abci.Response(commit=abci.ResponseCommit()),
    "process_proposal": abci.Response(
        process_proposal=abci.ResponseProcessProposal(status=abci.ResponseProcessProposal.ACCEPT)
    ),
    "check_tx": abci.Response(
        check_tx=abci.ResponseCheckTx(
            code=5, log="insufficient funds", gas_wanted=200000, gas_used=1234, codespace="sdk"
        )
    ),
}


@pytest.mark.parametrize(
    "value,hexed",
    [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "8001"),
        (300, "ac02"),
        (16384, "808001"),
        (2**32, "8080808010"),
        (2**63, "80808080808080808001"),
        (2**64 - 1, "ffffffffffffffffff01"),
    ],
)
def test_uvarint_matches_go_binary_put_uvarint(value: int, hexed: str) -> None:
    assert encode_uvarint(value).hex() == hexed
    assert decode_uvarint(bytes.fromhex(hexed)) == (value, len(hexed) // 2)
    assert decode_uvarint(bytes.fromhex(hexed)[:-1]) is None  # incomplete


def test_uvarint_rejects_overflow_and_negative() -> None:
    with pytest.raises(FrameError):
        decode_uvarint(bytes.fromhex("ffffffffffffffffff02"))  # 10th byte > 1
    with pytest.raises(FrameError):
        decode_uvarint(b"\x80" * 10 + b"\x01")  # 11 bytes
    with pytest.raises(ValueError):
        encode_uvarint(-1)


def test_zigzag_varint_of_v034_is_not_what_we_write() -> None:
    # v0.34 used binary.PutVarint (zigzag): 5 -> 0x0a. v0.38 uses uvarint: 5 -> 0x05.
    assert encode_uvarint(5) == b"\x05"


@pytest.mark.parametrize("name", sorted(GO_REQUESTS))
def test_go_request_frames_decode_to_the_expected_messages(name: str) -> None:
    (payload,) = FrameDecoder().feed(bytes.fromhex(GO_REQUESTS[name]))
    request = abci.Request.FromString(payload)
    assert request == EXPECTED_REQUESTS[name]
    assert request.WhichOneof("value") == name


@pytest.mark.parametrize("name", sorted(GO_RESPONSES))
def test_our_response_frames_are_byte_identical_to_go(name: str) -> None:
    assert encode_frame(EXPECTED_RESPONSES[name]).hex() == GO_RESPONSES[name]


def test_oneof_field_numbers_match_cometbft_v038() -> None:
    req = {f.name: f.number for f in abci.Request.DESCRIPTOR.oneofs_by_name["value"].fields}
    res = {f.name: f.number for f in abci.Response.DESCRIPTOR.oneofs_by_name["value"].fields}
    assert req == {
        "echo": 1,
        "flush": 2,
        "info": 3,
        "init_chain": 5,
        "query": 6,
        "check_tx": 8,
        "commit": 11,
        "list_snapshots": 12,
        "offer_snapshot": 13,
        "load_snapshot_chunk": 14,
        "apply_snapshot_chunk": 15,
        "prepare_proposal": 16,
        "process_proposal": 17,
        "extend_vote": 18,
        "verify_vote_extension": 19,
        "finalize_block": 20,
    }
    assert res == {"exception": 1, **{k: v + 1 for k, v in req.items()}, "init_chain": 6}
    assert set(DISPATCH) == set(req)


# -- the decoder ------------------------------------------------------------------------------


def _stream() -> bytes:
    return b"".join(bytes.fromhex(GO_REQUESTS[n]) for n in sorted(GO_REQUESTS))


def test_decoder_handles_every_split_point() -> None:
    data = _stream()
    expected = [abci.Request.FromString(p) for p in FrameDecoder().feed(data)]
    assert len(expected) == len(GO_REQUESTS)
    for cut in range(len(data) + 1):
        decoder = FrameDecoder()
        got = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        assert [abci.Request.FromString(p) for p in got] == expected
        assert decoder.pending_bytes == 0


def test_decoder_byte_by_byte_and_random_chunks() -> None:
    data = _stream() * 3
    rng = random.Random(7)
    decoder, got = FrameDecoder(), []
    pos = 0
    while pos < len(data):
        step = rng.randint(1, 40)
        got += decoder.feed(data[pos : pos + step])
        pos += step
    assert len(got) == 3 * len(GO_REQUESTS)
    one = FrameDecoder()
    got1 = [p for b in data for p in one.feed(bytes([b]))]
    assert got1 == got


def test_decoder_empty_frames_and_limits() -> None:
    assert FrameDecoder().feed(b"\x00\x00") == [b"", b""]
    decoder = FrameDecoder(max_message_bytes=10)
    assert decoder.feed(encode_uvarint(10) + b"x" * 10) == [b"x" * 10]
    with pytest.raises(FrameError, match="exceeds max size"):
        decoder.feed(encode_uvarint(11))  # rejected from the length alone
    with pytest.raises(FrameError, match="exceeds max size"):
        FrameDecoder().feed(encode_uvarint(2**40))
    # Good frames before a bad one in the same chunk come out first; the error follows.
    mixed = FrameDecoder(max_message_bytes=10)
    assert mixed.feed(b"\x01a\x01b" + encode_uvarint(99)) == [b"a", b"b"]
    assert isinstance(mixed.error, FrameError)
    with pytest.raises(FrameError, match="exceeds max size"):
        mixed.feed(b"")


def test_decoder_fuzz_never_raises_anything_but_frame_error() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        decoder = FrameDecoder(max_message_bytes=1 << 16)
        try:
            for i in range(0, len(blob), 7):
                for payload in decoder.feed(blob[i : i + 7]):
                    try:
                        abci.Request.FromString(payload)
                    except Exception as exc:  # protobuf's DecodeError
                        assert type(exc).__name__ == "DecodeError"
        except FrameError:
            pass


def test_parse_address() -> None:
    assert parse_address("tcp://127.0.0.1:26658") == ("tcp", ("127.0.0.1", 26658))
    assert parse_address("127.0.0.1:0") == ("tcp", ("127.0.0.1", 0))
    assert parse_address("tcp://[::1]:5") == ("tcp", ("::1", 5))
    assert parse_address("unix:///tmp/x.sock") == ("unix", "/tmp/x.sock")
    assert parse_address("unix://app.sock") == ("unix", "app.sock")
    for bad in ("http://x:1", "tcp://host", "unix://", "tcp://h:99999"):
        with pytest.raises(ValueError):
            parse_address(bad)


# -- a live server over real sockets ----------------------------------------------------------


class FakeApp:
    """Records calls; FinalizeBlock can be held open to test concurrency."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.hold = threading.Event()
        self.hold.set()
        self.in_consensus = 0
        self.max_in_consensus = 0
        self.lock = threading.Lock()
        self.entered = threading.Event()

    def _consensus(self, name: str) -> None:
        with self.lock:
            self.in_consensus += 1
            self.max_in_consensus = max(self.max_in_consensus, self.in_consensus)
        self.entered.set()
        try:
            assert self.hold.wait(20)
            time.sleep(0.01)
        finally:
            with self.lock:
                self.in_consensus -= 1
        self.calls.append(name)

    def echo(self, req: Any) -> Any:
        return abci.ResponseEcho(message=req.message)

    def flush(self, req: Any) -> Any:
        return abci.ResponseFlush()

    def info(self, req: Any) -> Any:
        self.calls.append("info")
        return abci.ResponseInfo(data="fake", last_block_height=3)

    def query(self, req: Any) -> Any:
        self.calls.append("query")
        if req.path == "/boom":
            raise ValueError("query exploded")
        return abci.ResponseQuery(value=req.data[::-1], height=3)

    def check_tx(self, req: Any) -> Any:
        self.calls.append("check_tx")
        if req.tx == b"slow":
            time.sleep(0.2)
        return abci.ResponseCheckTx(code=0, gas_wanted=len(req.tx))

    def finalize_block(self, req: Any) -> Any:
        if req.height == 666:
            raise RuntimeError("state machine bug")
        self._consensus("finalize_block")
        return abci.ResponseFinalizeBlock(app_hash=req.height.to_bytes(8, "big"))

    def commit(self, req: Any) -> Any:
        self._consensus("commit")
        return abci.ResponseCommit()

    def __getattr__(self, name: str) -> Any:
        def default(req: Any) -> Any:
            self.calls.append(name)
            cls = getattr(abci, "Response" + "".join(p.title() for p in name.split("_")))
            return cls()

        return default


class ServerThread:
    """An ABCIServer on its own event loop thread."""

    def __init__(self, app: Any, address: str, **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = ABCIServer(app, address, **kw)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def connect(self) -> Client:
        if self.server.kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.server.address[len("unix://") :])
        else:
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        return Client(sock)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(10)
        self.decoder = FrameDecoder()
        self.pending: list[Any] = []

    def send(self, *requests: Any) -> None:
        self.sock.sendall(b"".join(encode_frame(r) for r in requests))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, n: int) -> list[Any]:
        while len(self.pending) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"closed after {len(self.pending)} responses")
            self.pending += [abci.Response.FromString(p) for p in self.decoder.feed(data)]
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def nothing_arrives(self, seconds: float) -> bool:
        ready, _, _ = select.select([self.sock], [], [], seconds)
        return not ready

    def closed_by_server(self) -> bool:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.pending += [abci.Response.FromString(p) for p in self.decoder.feed(data)]
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def echo(msg: str) -> Any:
    return abci.Request(echo=abci.RequestEcho(message=msg))


FLUSH = abci.Request(flush=abci.RequestFlush())


@pytest.fixture(params=["tcp", "unix"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[FakeApp, ServerThread]]:
    app = FakeApp()
    address = "tcp://127.0.0.1:0" if request.param == "tcp" else f"unix://{tmp_path}/abci.sock"
    st = ServerThread(app, address, max_message_bytes=1 << 20)
    try:
        yield app, st
    finally:
        app.hold.set()
        st.stop()


def test_pipelined_requests_answered_in_order_and_flushed_on_flush(served) -> None:
    app, st = served
    c = st.connect()
    c.send(echo("a"), abci.Request(info=abci.RequestInfo()), echo("b"))
    assert c.nothing_arrives(0.3)  # buffered until a Flush, as CometBFT's server does
    c.send(FLUSH)
    responses = c.recv(4)
    assert [r.WhichOneof("value") for r in responses] == ["echo", "info", "echo", "flush"]
    assert responses[0].echo.message == "a" and responses[2].echo.message == "b"
    assert responses[1].info.last_block_height == 3


def test_golden_request_stream_split_into_single_bytes(served) -> None:
    app, st = served
    c = st.connect()
    data = bytes.fromhex(GO_REQUESTS["echo"]) + bytes.fromhex(GO_REQUESTS["flush"])
    for b in data:
        c.send_raw(bytes([b]))
    echo_res, flush_res = c.recv(2)
    assert encode_frame(echo_res).hex() == GO_RESPONSES["echo"]
    assert encode_frame(flush_res).hex() == GO_RESPONSES["flush"]


def test_slow_request_does_not_let_later_responses_overtake_it(served) -> None:
    app, st = served
    c = st.connect()
    c.send(
        abci.Request(check_tx=abci.RequestCheckTx(tx=b"slow")),
        echo("after"),
        abci.Request(check_tx=abci.RequestCheckTx(tx=b"x")),
        FLUSH,
    )
    kinds = [r.WhichOneof("value") for r in c.recv(4)]
    assert kinds == ["check_tx", "echo", "check_tx", "flush"]


def test_queries_and_check_tx_are_answered_while_a_block_executes(served) -> None:
    app, st = served
    consensus, mempool, query = st.connect(), st.connect(), st.connect()
    app.hold.clear()
    app.entered.clear()
    consensus.send(abci.Request(finalize_block=abci.RequestFinalizeBlock(height=5)), FLUSH)
    assert app.entered.wait(10)
    query.send(abci.Request(query=abci.RequestQuery(path="/q", data=b"abc")), FLUSH)
    q, _ = query.recv(2)
    assert q.query.value == b"cba"
    mempool.send(abci.Request(check_tx=abci.RequestCheckTx(tx=b"tx")), FLUSH)
    ck, _ = mempool.recv(2)
    assert ck.check_tx.gas_wanted == 2
    assert consensus.nothing_arrives(0.05)  # the block is still executing
    app.hold.set()
    fb, _ = consensus.recv(2)
    assert fb.finalize_block.app_hash == (5).to_bytes(8, "big")


def test_consensus_calls_from_several_connections_never_overlap(served) -> None:
    app, st = served
    clients = [st.connect() for _ in range(4)]
    for i, c in enumerate(clients):
        c.send(
            abci.Request(finalize_block=abci.RequestFinalizeBlock(height=i + 1)),
            abci.Request(commit=abci.RequestCommit()),
            FLUSH,
        )
    for c in clients:
        kinds = [r.WhichOneof("value") for r in c.recv(3)]
        assert kinds == ["finalize_block", "commit", "flush"]
    assert app.max_in_consensus == 1
    assert app.calls.count("finalize_block") == 4


@pytest.mark.parametrize(
    "garbage,reason",
    [
        (encode_uvarint(2 << 20) + b"x" * 10, "exceeds max size"),  # over max_message_bytes
        (b"\xff" * 11, "varint overflows"),
        (encode_uvarint(3) + b"\xff\xff\xff", "not a tendermint.abci.Request"),
    ],
)
def test_malformed_frame_closes_only_that_connection(served, caplog, garbage, reason) -> None:
    app, st = served
    good = st.connect()
    good.send(echo("before"), FLUSH)
    assert good.recv(2)[0].echo.message == "before"
    bad = st.connect()
    with caplog.at_level(logging.WARNING, logger="sultan.abci"):
        bad.send(echo("answered first"))
        bad.send_raw(garbage)
        assert bad.closed_by_server()
        bad.close()
        deadline = time.monotonic() + 5
        while reason not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert reason in caplog.text
    # The request before the garbage was answered (flushed before closing).
    assert [r.echo.message for r in bad.pending] == ["answered first"]
    good.send(echo("after"), FLUSH)
    assert good.recv(2)[0].echo.message == "after"
    fresh = st.connect()
    fresh.send(echo("fresh"), FLUSH)
    assert fresh.recv(2)[0].echo.message == "fresh"
    assert "finalize_block" not in app.calls and st.server.error is None


def test_random_garbage_never_takes_the_server_down(served) -> None:
    app, st = served
    rng = random.Random(99)
    for _ in range(25):
        c = st.connect()
        c.send_raw(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))))
        c.sock.shutdown(socket.SHUT_WR)
        assert c.closed_by_server()
        c.close()
    c = st.connect()
    c.send(echo("alive"), FLUSH)
    assert c.recv(2)[0].echo.message == "alive"
    assert st.server.error is None


def test_unknown_request_gets_an_exception_and_the_connection_closes(served) -> None:
    app, st = served
    c = st.connect()
    c.send_raw(encode_frame(abci.Request()) + encode_frame(FLUSH))
    assert c.closed_by_server()
    (res,) = c.pending
    assert res.WhichOneof("value") == "exception"
    assert "unknown request" in res.exception.error


def test_app_exception_in_a_query_is_answered_with_response_exception(served) -> None:
    app, st = served
    c = st.connect()
    c.send(echo("first"), abci.Request(query=abci.RequestQuery(path="/boom")), echo("never"))
    assert c.closed_by_server()
    first, exc = c.pending
    assert first.echo.message == "first"
    assert exc.exception.error == "query: ValueError: query exploded"
    assert st.server.error is None  # not a consensus call: nothing is poisoned


def test_app_exception_in_finalize_block_poisons_consensus(served) -> None:
    app, st = served
    errors: list[BaseException] = []
    st.server.on_error = errors.append
    c = st.connect()
    c.send(abci.Request(finalize_block=abci.RequestFinalizeBlock(height=666)), FLUSH)
    assert c.closed_by_server()
    (exc,) = c.pending
    assert "RuntimeError: state machine bug" in exc.exception.error
    assert isinstance(st.server.error, RuntimeError) and errors == [st.server.error]
    # Later consensus calls are refused: the half-executed block must not be built upon.
    c2 = st.connect()
    c2.send(abci.Request(commit=abci.RequestCommit()), FLUSH)
    assert c2.closed_by_server()
    assert "restart the application" in c2.pending[0].exception.error
    # Queries still work (the committed state is intact).
    c3 = st.connect()
    c3.send(abci.Request(query=abci.RequestQuery(path="/q", data=b"xy")), FLUSH)
    assert c3.recv(2)[0].query.value == b"yx"


def test_large_responses_and_many_pipelined_requests(served) -> None:
    app, st = served
    c = st.connect()
    big = "z" * 200_000
    requests = [echo(big)] * 5 + [echo(str(i)) for i in range(500)] + [FLUSH]
    # Like CometBFT, write and read at the same time (the answers exceed socket buffers).
    sender = threading.Thread(target=c.send, args=requests)
    sender.start()
    out = c.recv(506)
    sender.join(10)
    assert [r.echo.message for r in out[:5]] == [big] * 5
    assert [r.echo.message for r in out[5:505]] == [str(i) for i in range(500)]


def test_bind_error_is_clear() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        with pytest.raises(OSError, match=rf"ABCI: cannot listen on tcp://127.0.0.1:{port}"):
            asyncio.run(ABCIServer(FakeApp(), f"tcp://127.0.0.1:{port}").start())
    finally:
        holder.close()


def test_stale_unix_socket_is_replaced_but_a_live_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "a.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    st = ServerThread(FakeApp(), f"unix://{path}")
    try:
        c = st.connect()
        c.send(echo("ok"), FLUSH)
        assert c.recv(2)[0].echo.message == "ok"
        with pytest.raises(OSError, match="already serving"):
            asyncio.run(ABCIServer(FakeApp(), f"unix://{path}").start())
    finally:
        st.stop()
    assert not path.exists()
