"""API latency and throughput at 100 concurrent clients while the node makes blocks under tx load.

What it measures: a real `sultan run` node (auth, bank, metrics; `timeout_commit` 1s) is kept
busy by `sultan stress --tx-rate` (signed bank MsgSends from 50 funded accounts, in its own
process). Meanwhile closed-loop clients — `concurrency` requests always in flight, one per
connection — run against one endpoint at a time for `duration` seconds, `runs` times; the
report is the median over runs of throughput and of the p50/p99 latency (client-side:
request sent to response read). A single-client pass gives the latency without queueing.
Endpoints: REST /health, /status, /chain_info, RPC `status`, REST and gRPC bank balance.

Clients: with `--client wrk` (the default) C programs — `wrk` for HTTP, `h2load` (nghttp2)
for gRPC, one thread each; with `--client aiohttp`, coroutines in this process (aiohttp,
grpc.aio). The client shares the 2 cores with the node; the C clients leave more of them
to it and add less of their own time to each latency (one HTTP client: ~0.15 ms against
~0.3 with aiohttp; grpc.aio spends 200–250 µs of CPU per call). h2load sees HTTP statuses
only, so the gRPC answer is checked once through grpc.aio first. `make bench` installs
wrk and h2load (Debian packages `wrk`, `nghttp2-client`) when missing. `--tx-rate 0`
measures without the tx load; `--api-workers N` sets the node's `[api] workers` (default 2,
the setting operations.md recommends for a node serving queries; 0 = REST and gRPC in the
node's own process).

Little's law bounds what 100 concurrent clients can see: mean latency = 100 / throughput, so
p99 < 10 ms at 100 in flight needs > 10,000 req/s.

Run: `make bench` (all benchmarks), `.venv/bin/python -m bench api`, or with options
`.venv/bin/python -m bench.api [--duration 5] [--runs 3] [--concurrency 100] [--tx-rate 50]
[--client wrk|aiohttp] [--api-workers N]`. Prints a table and merges its figures into
bench/results/latest.json. About 2.5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench._results import machine, merge_results
from sultan.ops import stress
from sultan.testing import NodeProcess, init_home

TARGETS = {  # endpoint -> (p99 ms target, throughput target)
    "rest_health": (10.0, 3000.0),
    "rest_status": (25.0, None),
    "rest_chain_info": (None, None),
    "rpc_status": (None, None),
    "rest_balance": (25.0, None),
    "grpc_balance": (25.0, None),
}


async def _closed_loop(
    call: Callable[[], Awaitable[bool]], concurrency: int, duration: float
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                ok = await call()
            except (aiohttp.ClientError, grpc.RpcError, OSError, TimeoutError):
                ok = False
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    return {
        "throughput": len(ms) / elapsed,
        "p50_ms": stress.percentile(ms, 50),
        "p99_ms": stress.percentile(ms, 99),
        "errors": float(errors),
        "requests": float(len(ms)),
    }


# wrk prints its own summary; this `done` hook prints the figures the table needs as one
# JSON line (latencies in microseconds, from wrk's HDR histogram).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def _wrk(url: str, script: Path, concurrency: int, duration: float) -> dict[str, float]:
    """One closed-loop run of wrk (one thread, `concurrency` connections) against `url`."""
    seconds = max(1, round(duration))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script)]
        + [url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK-JSON "))
    r = json.loads(line.removeprefix("WRK-JSON "))
    return {
        "throughput": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": float(r["errors"]),
        "requests": float(r["requests"]),
    }


def _h2load(url: str, body: Path, log: Path, concurrency: int, duration: float) -> dict[str, float]:
    """One closed-loop run of h2load (C; one thread, `concurrency` HTTP/2 connections with
    one stream each) posting `body` — a length-prefixed gRPC message — to the gRPC method
    `url`. Latencies come from its per-request log (start µs, HTTP status, µs taken)."""
    seconds = max(1, round(duration))
    log.unlink(missing_ok=True)
    subprocess.run(
        ["h2load", "-t1", f"-c{concurrency}", "-m1", "-D", str(seconds), "-d", str(body)]
        + ["-H", "content-type: application/grpc", "-H", "te: trailers"]
        + ["--log-file", str(log), url],
        capture_output=True,
        timeout=seconds + 60,
        check=True,
    )
    rows = [line.split("\t") for line in log.read_text().splitlines() if line.strip()]
    ms = sorted(int(r[2]) / 1000 for r in rows)
    starts = [int(r[0]) for r in rows]
    elapsed = (max(starts) - min(starts)) / 1e6 if len(starts) > 1 else float(seconds)
    return {
        "throughput": len(ms) / max(elapsed, 1e-9),
        "p50_ms": stress.percentile(ms, 50),
        "p99_ms": stress.percentile(ms, 99),
        "errors": float(sum(1 for r in rows if r[1] != "200")),
        "requests": float(len(ms)),
    }


async def _measure(
    node: NodeProcess,
    address: str,
    concurrency: int,
    duration: float,
    runs: int,
    client: str,
    script: Path,
) -> dict[str, dict[str, float]]:
    from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as bank_query

    rest, rpc = node.rest_url, node.rpc_url
    urls = {
        "rest_health": rest + "/health",
        "rest_status": rest + "/status",
        "rest_chain_info": rest + "/chain_info",
        "rpc_status": rpc + "/status",
        "rest_balance": f"{rest}/cosmos/bank/v1beta1/balances/{address}/by_denom?denom=usultan",
    }
    results: dict[str, dict[str, float]] = {}
    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{node.grpc_port}")
        balance = channel.unary_unary(
            "/cosmos.bank.v1beta1.Query/Balance",
            request_serializer=bank_query.QueryBalanceRequest.SerializeToString,
            response_deserializer=bank_query.QueryBalanceResponse.FromString,
        )
        request = bank_query.QueryBalanceRequest(address=address, denom="usultan")

        def http(url: str) -> Callable[[], Awaitable[bool]]:
            async def call() -> bool:
                async with session.get(url) as response:
                    await response.read()
                    return response.status == 200

            return call

        async def grpc_call() -> bool:
            reply = await balance(request, timeout=30)
            return bool(reply.balance.denom == "usultan")

        # Each runner: (clients, seconds) -> the figures of one closed-loop run.
        runners: dict[str, Callable[[int, float], Awaitable[dict[str, float]]]] = {
            k: partial(asyncio.to_thread, _wrk, u, script)
            if client == "wrk"
            else partial(_closed_loop, http(u))
            for k, u in urls.items()
        }
        if client == "wrk":  # the C clients: wrk for HTTP, h2load for gRPC
            # Checked once through grpc.aio: h2load sees HTTP statuses, not gRPC ones.
            assert await grpc_call()
            body = script.with_name("balance.grpc")
            message = request.SerializeToString()
            body.write_bytes(b"\0" + len(message).to_bytes(4, "big") + message)
            runners["grpc_balance"] = partial(
                asyncio.to_thread,
                _h2load,
                f"http://127.0.0.1:{node.grpc_port}/cosmos.bank.v1beta1.Query/Balance",
                body,
                script.with_name("h2load.log"),
            )
        else:
            runners["grpc_balance"] = partial(_closed_loop, grpc_call)
        for name, measure in runners.items():
            await measure(concurrency, 1.0)  # warm up connections
            loaded = [await measure(concurrency, duration) for _ in range(runs)]
            single = [await measure(1, duration / 2) for _ in range(runs)]
            results[name] = {
                key: statistics.median(r[key] for r in loaded)
                for key in ("throughput", "p50_ms", "p99_ms", "errors")
            }
            results[name]["single_p50_ms"] = statistics.median(r["p50_ms"] for r in single)
            results[name]["single_p99_ms"] = statistics.median(r["p99_ms"] for r in single)
            print(
                f"  {name:16} {results[name]['throughput']:8.0f} req/s  "
                f"p50 {results[name]['p50_ms']:6.1f} ms  p99 {results[name]['p99_ms']:6.1f} ms",
                flush=True,
            )
        await channel.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/api.py", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--tx-rate", type=float, default=50.0)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument(
        "--client",
        choices=("wrk", "aiohttp"),
        default="wrk",
        help="wrk: C clients (wrk for HTTP, h2load for gRPC); aiohttp: aiohttp and grpc.aio",
    )
    parser.add_argument(
        "--api-workers",
        type=int,
        default=2,
        help="the node's [api] workers: processes serving REST and gRPC (0 = in the node)",
    )
    args = parser.parse_args(argv)
    for tool, package in (("wrk", "wrk"), ("h2load", "nghttp2-client")):
        if args.client == "wrk" and shutil.which(tool) is None:
            parser.error(
                f"{tool} is not installed: `apt-get install {package}` (Debian), `make bench` "
                "installs it, or use --client aiohttp"
            )

    with tempfile.TemporaryDirectory(prefix="sultan-bench-api-") as tmp:
        root = Path(tmp)
        home = init_home(root / "home", ["auth", "bank", "metrics"], chain_id="bench-1")
        accounts = stress.generate_accounts(args.accounts, seed="bench-api")
        stress.fund_in_genesis(
            home / "config" / "genesis.json", [a.address for a in accounts], "1000000000usultan"
        )
        accounts_file = root / "accounts.json"
        stress.write_accounts_file(accounts_file, accounts)
        script = root / "wrk-report.lua"
        script.write_text(WRK_REPORT)
        node = NodeProcess(
            home, timeout_commit="1s", extra_args=["--api.workers", str(args.api_workers)]
        )
        node.start(timeout=120)
        # --tx-rate 0: no tx load, to see what the load costs
        load = (
            _tx_load(node, args, accounts_file, root / "txload.json") if args.tx_rate > 0 else None
        )
        try:
            node.wait_for_height(node.height() + 2, timeout=60)
            start_height = node.height()
            print(
                f"API under load: {args.concurrency} concurrent clients, {args.duration:g}s x "
                f"{args.runs} runs per endpoint, tx load {args.tx_rate:g} tx/s, "
                f"HTTP client {args.client}, API worker processes {args.api_workers}",
                flush=True,
            )
            results = asyncio.run(
                _measure(
                    node,
                    accounts[0].address,
                    args.concurrency,
                    args.duration,
                    args.runs,
                    args.client,
                    script,
                )
            )
            blocks = node.height() - start_height
            txs = _committed_txs(node, start_height)
        finally:
            if load is not None:
                load.terminate()
                try:
                    load.wait(30)
                except subprocess.TimeoutExpired:
                    load.kill()
            node.stop()

    load_avg = os.getloadavg()[1] if hasattr(os, "getloadavg") else float("nan")
    conditions = (
        f"machine load average {load_avg:.1f} (5 min; other work shares it); "
        f"{args.concurrency} concurrent closed-loop clients on the same machine ("
        f"{'wrk for HTTP, h2load for gRPC' if args.client == 'wrk' else 'aiohttp, grpc.aio'}"
        "); median of "
        f"{args.runs} x {args.duration:g}s runs; [api] workers = {args.api_workers}; "
        f"node making 1s blocks under {args.tx_rate:g} "
        f"tx/s signed MsgSend load ({txs} txs in {blocks} blocks while measuring); {machine()}"
    )
    print()
    print(f"{'endpoint':16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'1-client p50':>13}  target")
    entries: list[dict[str, Any]] = []
    for name, r in results.items():
        p99_target, rps_target = TARGETS[name]
        target = []
        if p99_target is not None:
            target.append(f"p99 < {p99_target:g} ms")
        if rps_target is not None:
            target.append(f">= {rps_target:g} req/s")
        print(
            f"{name:16} {r['throughput']:8.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
            f"{r['single_p50_ms']:13.2f}  {', '.join(target) or '-'}"
        )
        suffix = f"; target {', '.join(target)}" if target else ""
        entries += [
            {
                "name": f"api.{name}.throughput",
                "value": round(r["throughput"], 1),
                "unit": "req/s",
                "conditions": conditions + suffix,
            },
            {
                "name": f"api.{name}.p50_latency",
                "value": round(r["p50_ms"], 2),
                "unit": "ms",
                "conditions": conditions,
            },
            {
                "name": f"api.{name}.p99_latency",
                "value": round(r["p99_ms"], 2),
                "unit": "ms",
                "conditions": conditions + suffix,
            },
            {
                "name": f"api.{name}.single_client_p50_latency",
                "value": round(r["single_p50_ms"], 3),
                "unit": "ms",
                "conditions": "one client, no queueing; " + conditions,
            },
        ]
        if r["errors"]:
            print(f"  {name}: {r['errors']:.0f} errors (median run)")
    merge_results(entries)
    return 0


def _tx_load(
    node: NodeProcess, args: argparse.Namespace, accounts_file: Path, out: Path
) -> subprocess.Popen[bytes]:
    """`sultan stress --tx-rate` in its own process, for longer than the measurements."""
    total = 6 * (1 + args.runs * 1.5 * args.duration) + 30
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sultan.cli.main",
            "stress",
            "--rpc",
            node.rpc_url,
            "--api",
            node.rest_url,
            "--tx-rate",
            str(args.tx_rate),
            "--duration",
            str(total),
            "--accounts-file",
            str(accounts_file),
            "--quiet",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _committed_txs(node: NodeProcess, since: int) -> int:
    count = 0
    for height in range(since + 1, node.height() + 1):
        count += len(node.rpc("block", height=str(height))["block"]["data"]["txs"] or [])
    return count


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
