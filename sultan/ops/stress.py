"""`sultan stress`: the original node's five stress scenarios, and a signed-transaction load.

Scenarios (against a running node, over its RPC and REST ports; pass criteria as the
original production guide's):

1. API endpoint stress — `concurrency` (100) clients at once, each making
   `requests_per_client` requests over /health, /status, /chain_info (REST) and RPC
   `status`/`health`: PASS when the mean latency is < 100 ms (p50/p95/p99 are reported).
2. Sustained load — `sustained_concurrency` clients for `duration` seconds: PASS with
   0 errors and > 50 requests/s.
3. Memory stability — the same load for `memory_duration` seconds while the node's memory
   is sampled every second (from its /metrics `sultan_memory_alloc_bytes`, or
   /proc/<pid>/status with `pid`): PASS when it grew < 25 %.
4. Block production — PASS when the height advanced during the run (also reports the mean
   block interval).
5. Error handling — malformed JSON, unknown methods and paths, bad parameters, a garbage
   tx, an oversized body: PASS when each gets a clean error (a JSON error body, the right
   class of status) and the node is still healthy and producing blocks afterwards.

Requests are bounded in number and time and go only to the endpoints given (loopback by
default). `run_scenarios` returns a `StressReport`; the CLI prints a live progress line, a
table, `Overall Score: N/5` and writes JSON.

`TxLoad` (the `--tx-rate` mode) sends signed bank `MsgSend`s from many funded accounts at a
target rate through RPC `broadcast_tx_sync`, follows the chain's blocks, and reports
committed tx/s and submit-to-commit latency percentiles (commits are seen by polling RPC
every `POLL_INTERVAL_S`, which bounds the latency resolution).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs

POLL_INTERVAL_S = 0.05
LATENCY_LIMIT_MS = 100.0
MIN_THROUGHPUT_RPS = 50.0
MAX_MEMORY_GROWTH = 0.25
LOAD_PATHS = (
    ("api", "/health"),
    ("api", "/status"),
    ("api", "/chain_info"),
    ("rpc", "/status"),
    ("rpc", "/health"),
)
MSG_SEND_TYPE_URL = "/cosmos.bank.v1beta1.MsgSend"


# -- numbers -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies_s]
    return {
        "mean_ms": round(sum(ms) / len(ms), 3) if ms else 0.0,
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3) if ms else 0.0,
    }


# -- report ------------------------------------------------------------------------------


@attrs.define
class ScenarioResult:
    number: int
    name: str
    criterion: str
    passed: bool
    summary: str
    measured: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class StressReport:
    config: dict[str, Any]
    started_at: str
    scenarios: list[ScenarioResult] = attrs.field(factory=list)
    finished_at: str = ""

    @property
    def score(self) -> int:
        return sum(1 for s in self.scenarios if s.passed)

    @property
    def max_score(self) -> int:
        return 5

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "config": self.config,
            "scenarios": [attrs.asdict(s) for s in self.scenarios],
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.score == self.max_score,
        }

    def table(self) -> str:
        rows = [("#", "Scenario", "Criterion", "Measured", "Result")]
        for s in self.scenarios:
            rows.append(
                (str(s.number), s.name, s.criterion, s.summary, "PASS" if s.passed else "FAIL")
            )
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = []
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        pct = round(100 * self.score / self.max_score)
        verdict = "PRODUCTION READY" if self.score == self.max_score else "NOT READY"
        lines.append("")
        lines.append(f"Overall Score: {self.score}/{self.max_score} ({pct}%) - {verdict}")
        return "\n".join(lines)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- progress ----------------------------------------------------------------------------


class Progress:
    """One live status line on stderr (rewritten in place on a terminal)."""

    def __init__(self, enabled: bool = True, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_plain = 0.0
        self._width = 0

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
            self.stream.flush()
        elif time.monotonic() - self._last_plain >= 2.0:
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_plain = time.monotonic()

    def done(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad + "\n")
            self._width = 0
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._last_plain = 0.0


# -- load --------------------------------------------------------------------------------


@attrs.define
class LoadStats:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = attrs.field(factory=list)
    error_samples: list[str] = attrs.field(factory=list)
    started: float = attrs.field(factory=time.monotonic)
    elapsed: float = 0.0

    def record(self, ok: bool, latency: float, detail: str = "") -> None:
        self.requests += 1
        self.latencies.append(latency)
        if not ok:
            self.errors += 1
            if len(self.error_samples) < 10:
                self.error_samples.append(detail)

    @property
    def rps(self) -> float:
        elapsed = self.elapsed or (time.monotonic() - self.started)
        return self.requests / elapsed if elapsed > 0 else 0.0

    def live(self) -> str:
        recent = self.latencies[-2000:]
        return (
            f"reqs {self.requests}  errors {self.errors}  {self.rps:.1f} req/s  "
            f"p95 {percentile(recent, 95) * 1000:.1f} ms"
        )


@attrs.define
class StressConfig:
    rpc: str = "http://127.0.0.1:26657"
    api: str = "http://127.0.0.1:1317"
    metrics: str | None = "http://127.0.0.1:26660/metrics"
    pid: int | None = None
    duration_s: float = 60.0
    concurrency: int = 100
    requests_per_client: int = 10
    sustained_concurrency: int = 10
    memory_duration_s: float = 30.0
    request_timeout_s: float = 10.0

    def url(self, which: str, path: str) -> str:
        base = self.api if which == "api" else self.rpc
        return base.rstrip("/") + path


def classify_error_response(status: int, raw: bytes) -> tuple[bool, str]:
    """Is this answer to a bad request a clean error? (clean, what it was)

    Clean: a JSON-RPC error object; a JSON-RPC result refusing the input (non-zero code);
    any 4xx answer (CometBFT answers unknown URI methods with a plain-text 404); a 5xx
    only when its body is a JSON error (CometBFT answers unparsable JSON with HTTP 500 and
    a -32700 error object). Anything else — an accepted request, a bare 5xx, a dropped
    connection — is not.
    """
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return True, f"HTTP {status}, JSON-RPC error {payload['error'].get('code')}"
    if isinstance(payload, dict) and isinstance(payload.get("result"), dict):
        code = payload["result"].get("code", 0)
        if code:
            return True, f"HTTP {status}, rejected with code {code}"
        return False, f"HTTP {status}, accepted"
    if 400 <= status < 500:
        return True, f"HTTP {status}"
    if status >= 500 and isinstance(payload, dict) and ("message" in payload or "code" in payload):
        return True, f"HTTP {status}, JSON error"
    return False, f"HTTP {status}" + (", non-JSON body" if payload is None else "")


class StressRunner:
    def __init__(self, config: StressConfig, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress or Progress(enabled=False)

    # -- helpers ---------------------------------------------------------------------------

    async def _get(self, session: aiohttp.ClientSession, url: str) -> tuple[bool, float, str]:
        started = time.perf_counter()
        try:
            async with session.get(url) as response:
                await response.read()
                ok = response.status < 400
                detail = "" if ok else f"{url}: HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            ok, detail = False, f"{url}: {type(exc).__name__}: {exc}"
        return ok, time.perf_counter() - started, detail

    async def height(self, session: aiohttp.ClientSession) -> int:
        async with session.get(self.config.url("rpc", "/status")) as response:
            body = await response.json(content_type=None)
        return int(body["result"]["sync_info"]["latest_block_height"])

    async def memory_bytes(self, session: aiohttp.ClientSession) -> int | None:
        """The node's resident memory: its /metrics, else /proc/<pid>/status."""
        if self.config.metrics:
            try:
                async with session.get(self.config.metrics) as response:
                    text = await response.text()
                for name in ("sultan_memory_alloc_bytes", "process_resident_memory_bytes"):
                    for line in text.splitlines():
                        if line.startswith(name + " "):
                            return int(float(line.split()[1]))
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
                pass
        if self.config.pid:
            try:
                for line in Path(f"/proc/{self.config.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
            except OSError:
                pass
        return None

    async def _load(
        self,
        session: aiohttp.ClientSession,
        workers: int,
        *,
        duration_s: float | None = None,
        requests_each: int | None = None,
        label: str,
        on_tick: Callable[[], str] | None = None,
    ) -> LoadStats:
        stats = LoadStats()
        deadline = stats.started + duration_s if duration_s is not None else math.inf
        stop = asyncio.Event()

        async def worker(index: int) -> None:
            n = 0
            while not stop.is_set() and time.monotonic() < deadline:
                if requests_each is not None and n >= requests_each:
                    return
                which, path = LOAD_PATHS[(index + n) % len(LOAD_PATHS)]
                ok, latency, detail = await self._get(session, self.config.url(which, path))
                stats.record(ok, latency, detail)
                n += 1

        async def ticker() -> None:
            while not stop.is_set():
                shown = f"{time.monotonic() - stats.started:.1f}s"
                if duration_s is not None:
                    shown += f"/{duration_s:.0f}s"
                extra = f"  {on_tick()}" if on_tick is not None else ""
                self.progress.update(f"[{label}] {shown}  {stats.live()}{extra}")
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except TimeoutError:
                    pass

        tick = asyncio.create_task(ticker())
        try:
            await asyncio.gather(*(worker(i) for i in range(workers)))
        finally:
            stats.elapsed = time.monotonic() - stats.started
            stop.set()
            await tick
        self.progress.done(f"[{label}] done in {stats.elapsed:.1f}s  {stats.live()}")
        return stats

    # -- scenarios ---------------------------------------------------------------------------

    async def api_endpoint_stress(self, session: aiohttp.ClientSession) -> ScenarioResult:
        cfg = self.config
        stats = await self._load(
            session,
            cfg.concurrency,
            requests_each=cfg.requests_per_client,
            label=f"1/5 API endpoint stress, {cfg.concurrency} concurrent",
        )
        lat = latency_summary(stats.latencies)
        passed = stats.requests > 0 and lat["mean_ms"] < LATENCY_LIMIT_MS
        return ScenarioResult(
            1,
            "API endpoint stress",
            f"{cfg.concurrency} concurrent, mean latency < {LATENCY_LIMIT_MS:.0f} ms",
            passed,
            f"mean {lat['mean_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, "
            f"{stats.requests} reqs, {stats.errors} errors",
            {
                "requests": stats.requests,
                "errors": stats.errors,
                "concurrency": cfg.concurrency,
                "requests_per_second": round(stats.rps, 1),
                **lat,
                "error_samples": stats.error_samples,
            },
        )

    async def sustained_load(self, session: aiohttp.ClientSession) -> ScenarioResult:
        cfg = self.config
        stats = await self._load(
            session,
            cfg.sustained_concurrency,
            duration_s=cfg.duration_s,
            label=f"2/5 sustained load, {cfg.sustained_concurrency} clients",
        )
        lat = latency_summary(stats.latencies)
        rps = stats.rps
        passed = stats.errors == 0 and rps > MIN_THROUGHPUT_RPS
        return ScenarioResult(
            2,
            "Sustained load",
            f"{cfg.duration_s:g}s: 0 errors and > {MIN_THROUGHPUT_RPS:.0f} req/s",
            passed,
            f"{stats.errors} errors, {rps:.1f} req/s, p95 {lat['p95_ms']:.1f} ms",
            {
                "duration_s": round(stats.elapsed, 2),
                "requests": stats.requests,
                "errors": stats.errors,
                "requests_per_second": round(rps, 1),
                "clients": cfg.sustained_concurrency,
                **lat,
                "error_samples": stats.error_samples,
            },
        )

    async def memory_stability(
        self, session: aiohttp.ClientSession, run_baseline: int | None
    ) -> ScenarioResult:
        cfg = self.config
        duration = min(cfg.memory_duration_s, cfg.duration_s)
        samples: list[int] = []
        first = await self.memory_bytes(session)
        if first is None:
            return ScenarioResult(
                3,
                "Memory stability",
                f"growth < {MAX_MEMORY_GROWTH:.0%} under load",
                False,
                "no memory source (give --metrics-endpoint or --pid)",
                {},
            )
        samples.append(first)
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    value = await self.memory_bytes(session)
                    if value is not None:
                        samples.append(value)

        task = asyncio.create_task(sampler())
        try:
            await self._load(
                session,
                cfg.sustained_concurrency,
                duration_s=duration,
                label="3/5 memory stability",
                on_tick=lambda: f"rss {samples[-1] / 2**20:.1f} MiB",
            )
        finally:
            stop.set()
            await task
        last = await self.memory_bytes(session) or samples[-1]
        samples.append(last)
        growth = (last - first) / first
        run_growth = (last - run_baseline) / run_baseline if run_baseline else None
        return ScenarioResult(
            3,
            "Memory stability",
            f"{duration:g}s under load: growth < {MAX_MEMORY_GROWTH:.0%}",
            growth < MAX_MEMORY_GROWTH,
            f"{first / 2**20:.1f} -> {last / 2**20:.1f} MiB ({growth:+.1%})",
            {
                "start_bytes": first,
                "end_bytes": last,
                "peak_bytes": max(samples),
                "growth": round(growth, 4),
                "growth_since_run_start": round(run_growth, 4) if run_growth is not None else None,
                "samples": len(samples),
                "duration_s": duration,
            },
        )

    async def block_production(
        self, session: aiohttp.ClientSession, start_height: int, start_time: float
    ) -> ScenarioResult:
        height = await self.height(session)
        elapsed = time.monotonic() - start_time
        produced = height - start_height
        interval = elapsed / produced if produced > 0 else None
        return ScenarioResult(
            4,
            "Block production",
            "blocks produced during the run",
            produced > 0,
            f"{produced} blocks in {elapsed:.1f}s"
            + (f" (one per {interval:.2f}s)" if interval else ""),
            {
                "start_height": start_height,
                "end_height": height,
                "blocks": produced,
                "mean_interval_s": round(interval, 3) if interval else None,
            },
        )

    def bad_requests(self) -> list[tuple[str, str, str, bytes | None, dict[str, str]]]:
        """(name, method, url, body, headers) of requests a node must refuse cleanly."""
        rpc, api = self.config.url("rpc", "/"), self.config.url("api", "")
        js = {"Content-Type": "application/json"}

        def call(method: str, params: dict[str, Any]) -> bytes:
            return json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            ).encode()

        return [
            ("rpc malformed JSON", "POST", rpc, b'{"jsonrpc": "2.0", "id": 1, "method": ', js),
            ("rpc unknown method", "POST", rpc, call("no_such_method", {}), js),
            ("rpc bad parameter", "POST", rpc, call("block", {"height": "not-a-number"}), js),
            ("rpc future height", "POST", rpc, call("block", {"height": "999999999"}), js),
            (
                "rpc garbage tx",
                "POST",
                rpc,
                call("broadcast_tx_sync", {"tx": base64.b64encode(b"\x00garbage").decode()}),
                js,
            ),
            ("rpc oversized body", "POST", rpc, b'{"x": "' + b"a" * 2_000_000 + b'"}', js),
            ("rpc unknown URI method", "GET", self.config.url("rpc", "/no_such_method"), None, {}),
            ("rest unknown path", "GET", api + "/no/such/path", None, {}),
            (
                "rest bad tx body",
                "POST",
                api + "/cosmos/tx/v1beta1/txs",
                b"{not json",
                js,
            ),
            (
                "rest bad height header",
                "GET",
                api + "/cosmos/base/tendermint/v1beta1/blocks/latest",
                None,
                {"x-cosmos-block-height": "minus-one"},
            ),
        ]

    async def error_handling(self, session: aiohttp.ClientSession) -> ScenarioResult:
        checks: list[dict[str, Any]] = []
        for name, method, url, body, headers in self.bad_requests():
            clean, detail = False, ""
            try:
                async with session.request(method, url, data=body, headers=headers) as response:
                    raw = await response.read()
                    status = response.status
                clean, detail = classify_error_response(status, raw)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                detail = f"{type(exc).__name__}: {exc}"
            checks.append({"request": name, "clean": clean, "detail": detail})
            self.progress.update(f"[5/5 error handling] {name}: {detail}")
        ok_health, _, health_detail = await self._get(session, self.config.url("api", "/health"))
        before = await self.height(session)
        deadline = time.monotonic() + 15
        after = before
        while after <= before and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            after = await self.height(session)
        alive = ok_health and after > before
        clean_count = sum(1 for c in checks if c["clean"])
        passed = clean_count == len(checks) and alive
        self.progress.done(
            f"[5/5 error handling] {clean_count}/{len(checks)} clean, node "
            + ("healthy" if alive else "NOT healthy")
        )
        return ScenarioResult(
            5,
            "Error handling",
            "bad requests get clean errors; node stays up",
            passed,
            f"{clean_count}/{len(checks)} clean errors, node "
            + ("healthy" if alive else f"unhealthy ({health_detail or 'no new block'})"),
            {"checks": checks, "healthy_after": alive, "height_after": after},
        )

    # -- all -------------------------------------------------------------------------------

    async def run(self) -> StressReport:
        cfg = self.config
        report = StressReport(
            config={
                k: v for k, v in attrs.asdict(cfg).items() if k not in ("pid",) or v is not None
            },
            started_at=_now_iso(),
        )
        timeout = aiohttp.ClientTimeout(total=cfg.request_timeout_s)
        connector = aiohttp.TCPConnector(limit=max(cfg.concurrency, cfg.sustained_concurrency) + 8)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            start_height = await self.height(session)
            start_time = time.monotonic()
            baseline = await self.memory_bytes(session)
            report.scenarios.append(await self.api_endpoint_stress(session))
            report.scenarios.append(await self.sustained_load(session))
            report.scenarios.append(await self.memory_stability(session, baseline))
            report.scenarios.append(await self.block_production(session, start_height, start_time))
            report.scenarios.append(await self.error_handling(session))
        report.finished_at = _now_iso()
        return report


async def run_scenarios(config: StressConfig, progress: Progress | None = None) -> StressReport:
    return await StressRunner(config, progress).run()


# -- accounts -----------------------------------------------------------------------------


@attrs.frozen
class Account:
    address: str
    private_key: bytes


def generate_accounts(count: int, seed: str | None = None) -> list[Account]:
    """`count` secp256k1 keys: random, or derived from `seed` (test chains only)."""
    from sultan.testing.wallet import Wallet

    accounts = []
    for index in range(count):
        if seed is None:
            key = os.urandom(32)
        else:
            key = hashlib.sha256(f"sultan-stress/{seed}/{index}".encode()).digest()
        wallet = Wallet(key)
        accounts.append(Account(wallet.address, wallet.private_key))
    return accounts


def write_accounts_file(path: Path, accounts: Sequence[Account]) -> None:
    """JSON {"accounts": [{"address", "private_key" (hex)}]}, mode 0600: test keys only."""
    data = {
        "warning": "unencrypted private keys for load testing; never fund them on a real chain",
        "accounts": [{"address": a.address, "private_key": a.private_key.hex()} for a in accounts],
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")


def read_accounts_file(path: Path) -> list[Account]:
    try:
        data = json.loads(Path(path).read_text())
        entries = data["accounts"] if isinstance(data, dict) else data
        accounts = [Account(e["address"], bytes.fromhex(e["private_key"])) for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not an accounts file ({exc})") from None
    if not accounts:
        raise ValueError(f"{path}: no accounts")
    return accounts


def fund_in_genesis(genesis_path: Path, addresses: Sequence[str], coins: str) -> int:
    """Give each address `coins` in genesis `app_state.bank.balances` (before the chain starts).

    The Cosmos bank genesis gives every funded address an account. `supply`, if listed,
    is raised by the same amounts. Returns the number of addresses added.
    """
    from sultan.kernel.coins import Coins

    amount = Coins.parse(coins)
    doc = json.loads(genesis_path.read_text())
    bank = doc.get("app_state", {}).get("bank")
    if not isinstance(bank, dict):
        raise ValueError(f"{genesis_path}: no bank module in app_state")
    balances = bank.setdefault("balances", [])
    known = {b["address"] for b in balances}
    added = 0
    for address in addresses:
        if address in known:
            continue
        balances.append({"address": address, "coins": amount.to_dicts()})
        known.add(address)
        added += 1
    balances.sort(key=lambda b: b["address"])
    if bank.get("supply"):
        total = Coins.from_dicts(bank["supply"], "supply")
        for _ in range(added):
            total = total + amount
        bank["supply"] = total.to_dicts()
    genesis_path.write_text(json.dumps(doc, indent=2) + "\n")
    return added


# -- signed transaction load ---------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def msg_send(from_address: str, to_address: str, denom: str, amount: int) -> Any:
    """A `cosmos.bank.v1beta1.MsgSend` packed as an Any (encoded here: no bank import)."""
    from google.protobuf import any_pb2

    coin = _field(1, denom.encode()) + _field(2, str(amount).encode())
    value = _field(1, from_address.encode()) + _field(2, to_address.encode()) + _field(3, coin)
    return any_pb2.Any(type_url=MSG_SEND_TYPE_URL, value=value)


@attrs.define
class _Sender:
    account: Account
    wallet: Any
    account_number: int
    sequence: int
    busy: bool = False


@attrs.define
class TxLoadReport:
    target_rate: float
    duration_s: float
    accounts: int
    submitted: int = 0
    accepted: int = 0
    rejected: int = 0
    committed: int = 0
    failed_in_block: int = 0
    not_committed: int = 0
    submit_errors: int = 0
    committed_tps: float = 0.0
    submit_rate: float = 0.0
    latency: dict[str, float] = attrs.field(factory=dict)
    rejections: dict[str, int] = attrs.field(factory=dict)
    blocks: int = 0

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def table(self) -> str:
        lat = self.latency
        rows = [
            ("target rate", f"{self.target_rate:g} tx/s from {self.accounts} accounts"),
            ("submitted", f"{self.submitted} ({self.submit_rate:.1f} tx/s)"),
            ("accepted by CheckTx", str(self.accepted)),
            ("rejected by CheckTx", f"{self.rejected} {self.rejections or ''}".rstrip()),
            ("committed", f"{self.committed} in {self.blocks} blocks"),
            ("failed in block", str(self.failed_in_block)),
            ("not committed in time", str(self.not_committed)),
            ("committed tx/s", f"{self.committed_tps:.1f}"),
            (
                "submit-to-commit",
                f"p50 {lat.get('p50_ms', 0):.0f} ms, p95 {lat.get('p95_ms', 0):.0f} ms, "
                f"p99 {lat.get('p99_ms', 0):.0f} ms, max {lat.get('max_ms', 0):.0f} ms",
            ),
        ]
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


class TxLoad:
    """Signed MsgSends at `rate` tx/s for `duration_s`, round-robin over funded accounts."""

    def __init__(
        self,
        rpc: str,
        api: str,
        accounts: Sequence[Account],
        *,
        rate: float,
        duration_s: float,
        denom: str = "usultan",
        fees: str | None = None,
        gas: int = 200_000,
        settle_s: float = 15.0,
        progress: Progress | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rpc = rpc.rstrip("/")
        self.api = api.rstrip("/")
        self.accounts = list(accounts)
        self.rate = rate
        self.duration_s = duration_s
        self.denom = denom
        self.fees = fees
        self.gas = gas
        self.settle_s = settle_s
        self.progress = progress or Progress(enabled=False)
        self.stop = asyncio.Event()

    async def _rpc(self, session: aiohttp.ClientSession, method: str, **params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with session.post(self.rpc + "/", json=body) as response:
            reply = await response.json(content_type=None)
        if "error" in reply:
            raise RuntimeError(f"RPC {method}: {reply['error']}")
        return reply["result"]

    async def _account(self, session: aiohttp.ClientSession, address: str) -> tuple[int, int]:
        url = f"{self.api}/cosmos/auth/v1beta1/accounts/{address}"
        async with session.get(url) as response:
            body = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"account {address}: HTTP {response.status} {body}")
        account = body["account"]
        account = account.get("base_account", account)
        return int(account.get("account_number", 0)), int(account.get("sequence", 0))

    async def run(self) -> TxLoadReport:
        from sultan.testing.wallet import Wallet

        report = TxLoadReport(self.rate, self.duration_s, len(self.accounts))
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=128)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            status = await self._rpc(session, "status")
            chain_id = status["node_info"]["network"]
            start_height = int(status["sync_info"]["latest_block_height"])
            senders = []
            for account in self.accounts:
                number, sequence = await self._account(session, account.address)
                senders.append(_Sender(account, Wallet(account.private_key), number, sequence))
            pending: dict[bytes, float] = {}
            latencies: list[float] = []
            committed_at: list[float] = []
            follower = asyncio.create_task(
                self._follow(session, start_height, pending, latencies, committed_at, report)
            )
            started = time.monotonic()
            try:
                await self._submit_all(session, chain_id, senders, pending, report, started)
                submit_elapsed = time.monotonic() - started
                deadline = time.monotonic() + self.settle_s
                while pending and time.monotonic() < deadline:
                    self.progress.update(
                        f"[tx load] waiting for {len(pending)} txs to commit  "
                        f"committed {report.committed}"
                    )
                    await asyncio.sleep(POLL_INTERVAL_S)
            finally:
                self.stop.set()
                await follower
        report.not_committed = len(pending)
        report.submit_rate = round(report.submitted / submit_elapsed, 2) if submit_elapsed else 0
        if committed_at:
            span = max(committed_at) - started
            report.committed_tps = round(report.committed / span, 2) if span > 0 else 0.0
        report.latency = latency_summary(latencies)
        self.progress.done(
            f"[tx load] committed {report.committed}/{report.submitted}  "
            f"{report.committed_tps:.1f} tx/s  p50 {report.latency['p50_ms']:.0f} ms"
        )
        return report

    async def _submit_all(
        self,
        session: aiohttp.ClientSession,
        chain_id: str,
        senders: list[_Sender],
        pending: dict[bytes, float],
        report: TxLoadReport,
        started: float,
    ) -> None:
        interval = 1.0 / self.rate
        total = int(self.rate * self.duration_s)
        in_flight: set[asyncio.Task[None]] = set()
        cursor = 0
        for index in range(total):
            due = started + index * interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sender = None
            for step in range(len(senders)):
                candidate = senders[(cursor + step) % len(senders)]
                if not candidate.busy:
                    sender = candidate
                    cursor = (cursor + step + 1) % len(senders)
                    break
            if sender is None:  # every account has a tx in flight: skip this slot
                report.submit_errors += 1
                continue
            receiver = senders[cursor % len(senders)].account.address
            sender.busy = True
            task = asyncio.create_task(
                self._submit(session, chain_id, sender, receiver, pending, report)
            )
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            if index % 10 == 0:
                self.progress.update(
                    f"[tx load] {time.monotonic() - started:.1f}/{self.duration_s:g}s  "
                    f"submitted {report.submitted}  accepted {report.accepted}  "
                    f"committed {report.committed}"
                )
        if in_flight:
            await asyncio.gather(*in_flight)

    async def _submit(
        self,
        session: aiohttp.ClientSession,
        chain_id: str,
        sender: _Sender,
        receiver: str,
        pending: dict[bytes, float],
        report: TxLoadReport,
    ) -> None:
        try:
            msg = msg_send(sender.account.address, receiver, self.denom, 1)
            tx = sender.wallet.sign_tx(
                [msg],
                sequence=sender.sequence,
                account_number=sender.account_number,
                chain_id=chain_id,
                fee=self.fees,
                gas=self.gas,
            )
            tx_hash = hashlib.sha256(tx).digest()
            submitted = time.monotonic()
            pending[tx_hash] = submitted
            report.submitted += 1
            try:
                result = await self._rpc(
                    session, "broadcast_tx_sync", tx=base64.b64encode(tx).decode()
                )
            except (aiohttp.ClientError, TimeoutError, OSError, RuntimeError) as exc:
                pending.pop(tx_hash, None)
                report.submit_errors += 1
                report.rejections[type(exc).__name__] = (
                    report.rejections.get(type(exc).__name__, 0) + 1
                )
                return
            code = int(result.get("code", 0))
            if code == 0:
                report.accepted += 1
                sender.sequence += 1
                return
            pending.pop(tx_hash, None)
            report.rejected += 1
            key = f"{result.get('codespace', '')}:{code}"
            report.rejections[key] = report.rejections.get(key, 0) + 1
            if code == 32:  # wrong sequence: the node says which one it expects
                match = re.search(r"expected (\d+)", str(result.get("log", "")))
                if match:
                    sender.sequence = int(match.group(1))
                else:
                    _, sender.sequence = await self._account(session, sender.account.address)
        finally:
            sender.busy = False

    async def _follow(
        self,
        session: aiohttp.ClientSession,
        height: int,
        pending: dict[bytes, float],
        latencies: list[float],
        committed_at: list[float],
        report: TxLoadReport,
    ) -> None:
        """Poll new blocks; match their txs against the pending submissions."""
        while not self.stop.is_set():
            try:
                status = await self._rpc(session, "status")
                latest = int(status["sync_info"]["latest_block_height"])
                while height < latest:
                    height += 1
                    block = await self._rpc(session, "block", height=str(height))
                    results = await self._rpc(session, "block_results", height=str(height))
                    seen = time.monotonic()
                    report.blocks += 1
                    txs = block["block"]["data"]["txs"] or []
                    codes = [int(r.get("code", 0)) for r in (results.get("txs_results") or [])]
                    for index, encoded in enumerate(txs):
                        tx_hash = hashlib.sha256(base64.b64decode(encoded)).digest()
                        submitted = pending.pop(tx_hash, None)
                        if submitted is None:
                            continue
                        report.committed += 1
                        if index < len(codes) and codes[index] != 0:
                            report.failed_in_block += 1
                        latencies.append(seen - submitted)
                        committed_at.append(seen)
            except (aiohttp.ClientError, TimeoutError, OSError, RuntimeError, KeyError):
                pass
            try:
                await asyncio.wait_for(self.stop.wait(), POLL_INTERVAL_S)
            except TimeoutError:
                pass
