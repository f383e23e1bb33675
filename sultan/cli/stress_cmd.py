"""`sultan stress` (the five stress scenarios, or `--tx-rate` signed-tx load) and
`sultan stress-accounts` (test accounts for the tx load, optionally funded in genesis).

Endpoints and duration also come from the original script's environment variables:
`RPC_ENDPOINT`, `API_ENDPOINT`, `TEST_DURATION` (and `METRICS_ENDPOINT`, `OUTPUT_FILE`).
Exit status 0 means every scenario passed (or, with `--tx-rate`, every accepted tx was
committed).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from sultan.ops import stress


@click.command("stress")
@click.option(
    "--rpc",
    envvar="RPC_ENDPOINT",
    default="http://127.0.0.1:26657",
    show_default=True,
    help="CometBFT RPC base URL ($RPC_ENDPOINT).",
)
@click.option(
    "--api",
    envvar="API_ENDPOINT",
    default="http://127.0.0.1:1317",
    show_default=True,
    help="REST base URL ($API_ENDPOINT).",
)
@click.option(
    "--metrics-endpoint",
    envvar="METRICS_ENDPOINT",
    default="http://127.0.0.1:26660/metrics",
    show_default=True,
    help="The node's /metrics, read for its memory ($METRICS_ENDPOINT; '' = none).",
)
@click.option("--pid", type=int, default=None, help="Node process id: memory from /proc instead.")
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    envvar="TEST_DURATION",
    default=60,
    show_default=True,
    help="Seconds of sustained load ($TEST_DURATION); also the tx-load time.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="Clients at once in the endpoint stress scenario.",
)
@click.option("--requests-per-client", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option(
    "--clients",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Clients during sustained load and the memory test.",
)
@click.option(
    "--memory-duration",
    type=click.FloatRange(min=1),
    default=30,
    show_default=True,
    help="Seconds of the memory test (at most --duration).",
)
@click.option(
    "--output",
    "-o",
    envvar="OUTPUT_FILE",
    type=click.Path(path_type=Path),
    default=Path("stress-results.json"),
    show_default=True,
    help="JSON results ($OUTPUT_FILE).",
)
@click.option("--quiet", is_flag=True, help="No progress line.")
@click.option(
    "--tx-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Instead of the scenarios: send signed bank transfers at this many tx/s.",
)
@click.option(
    "--accounts-file",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Funded accounts for --tx-rate (see `sultan stress-accounts`).",
)
@click.option("--denom", default="usultan", show_default=True)
@click.option("--fees", default=None, help='Fee per tx for --tx-rate, e.g. "5000usultan".')
@click.option("--gas", type=click.IntRange(min=1), default=200_000, show_default=True)
def stress_command(
    rpc: str,
    api: str,
    metrics_endpoint: str,
    pid: int | None,
    duration: float,
    concurrency: int,
    requests_per_client: int,
    clients: int,
    memory_duration: float,
    output: Path,
    quiet: bool,
    tx_rate: float | None,
    accounts_file: Path | None,
    denom: str,
    fees: str | None,
    gas: int,
) -> None:
    """Stress-test a running node (bounded load; point it only at your own node)."""
    progress = stress.Progress(enabled=not quiet)
    if tx_rate is not None:
        if accounts_file is None:
            raise click.UsageError("--tx-rate needs --accounts-file (see `sultan stress-accounts`)")
        try:
            accounts = stress.read_accounts_file(accounts_file)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        load = stress.TxLoad(
            rpc,
            api,
            accounts,
            rate=tx_rate,
            duration_s=duration,
            denom=denom,
            fees=fees,
            gas=gas,
            progress=progress,
        )
        try:
            tx_report = asyncio.run(load.run())
        except (OSError, RuntimeError) as exc:
            raise click.ClickException(f"tx load failed: {exc}") from None
        click.echo(tx_report.table())
        output.write_text(json.dumps({"tx_load": tx_report.to_json()}, indent=2) + "\n")
        click.echo(f"Results written to {output}")
        ok = tx_report.committed > 0 and tx_report.not_committed == 0
        sys.exit(0 if ok else 1)

    config = stress.StressConfig(
        rpc=rpc,
        api=api,
        metrics=metrics_endpoint or None,
        pid=pid,
        duration_s=duration,
        concurrency=concurrency,
        requests_per_client=requests_per_client,
        sustained_concurrency=clients,
        memory_duration_s=memory_duration,
    )
    click.echo(f"Stress test: RPC {rpc}, REST {api}, {duration:g}s sustained load", err=True)
    try:
        report = asyncio.run(stress.run_scenarios(config, progress))
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(
            f"cannot reach the node ({type(exc).__name__}: {exc}); is it running at {rpc}?"
        ) from None
    click.echo(report.table())
    output.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    click.echo(f"Results written to {output}")
    sys.exit(0 if report.score == report.max_score else 1)


@click.command("stress-accounts")
@click.option("--count", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--seed", default=None, help="Derive the keys from this seed (reproducible).")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("stress-accounts.json"),
    show_default=True,
    help="Accounts file to write (mode 0600: unencrypted test keys).",
)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    help="Also fund the accounts in this home's genesis.json (before its first start).",
)
@click.option(
    "--coins",
    default="1000000000usultan",
    show_default=True,
    help="Genesis balance of each account (with --home).",
)
def stress_accounts_command(
    count: int, seed: str | None, out: Path, home: Path | None, coins: str
) -> None:
    """Create test accounts for `sultan stress --tx-rate` (never fund them on a real chain)."""
    accounts = stress.generate_accounts(count, seed)
    stress.write_accounts_file(out, accounts)
    click.echo(f"Wrote {count} accounts to {out}")
    if home is not None:
        from sultan.kernel.home import Home

        h = Home(home)
        if (h.data_dir / "application.db").exists():
            raise click.ClickException(
                f"{h.root} has already started its chain: genesis can no longer change"
            )
        try:
            added = stress.fund_in_genesis(h.genesis_json, [a.address for a in accounts], coins)
        except (OSError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Funded {added} accounts with {coins} each in {h.genesis_json}")


COMMANDS: list[click.Command] = [stress_command, stress_accounts_command]
