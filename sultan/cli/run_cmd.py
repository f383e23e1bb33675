"""`sultan run` (alias `sultan start`): open a home and run the node until a signal.

The operator flags of the original node's systemd unit (`--api.enable=true`,
`--grpc.address=0.0.0.0:9090`, `--rpc.laddr=tcp://0.0.0.0:26657`, …) are accepted as-is
and override config.toml/app.toml for this run only.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from sultan.kernel.home import Home, default_home

log = logging.getLogger("sultan.run")

DEV_CHAIN_ID = "sultan-local-1"

# flag -> dotted config key (see sultan.kernel.config.apply_overrides)
OPERATOR_FLAGS = {
    "--api.enable": "api.enable",
    "--api.swagger": "api.swagger",
    "--api.address": "api.address",
    "--grpc.enable": "grpc.enable",
    "--grpc.address": "grpc.address",
    "--rpc.laddr": "rpc.laddr",
    "--consensus.timeout_commit": "consensus.timeout_commit",
    "--instrumentation.prometheus_listen_addr": "instrumentation.prometheus_listen_addr",
    "--moniker": "moniker",
}
BOOL_FLAGS = {"--api.enable", "--api.swagger", "--grpc.enable"}


def _operator_options(func: Any) -> Any:
    for flag, key in reversed(OPERATOR_FLAGS.items()):
        dest = key.replace(".", "__")
        if flag in BOOL_FLAGS:
            func = click.option(
                flag,
                dest,
                is_flag=False,
                flag_value="true",
                default=None,
                metavar="[true|false]",
                help=f"Override {key} (a bare flag means true).",
            )(func)
        else:
            func = click.option(flag, dest, default=None, help=f"Override {key}.")(func)
    return func


def _ensure_dev_home(home: Home) -> None:
    """Create a local development home the first time `sultan run --dev` is used."""
    if home.genesis_json.exists():
        return
    from sultan.cli.init_cmd import init_command

    click.echo(f"No home at {home.root}: creating a local development chain ({DEV_CHAIN_ID}).")
    click.get_current_context().invoke(
        init_command, home=home.root, chain_id=DEV_CHAIN_ID, moniker=None, overwrite=False
    )


@click.command("run")
@click.option(
    "--home",
    "home_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Node home (default $SULTAN_HOME or ~/.sultan).",
)
@click.option("--dev", is_flag=True, help="Create a local dev home first if there is none.")
@click.option(
    "--log-level",
    default="info",
    type=click.Choice(["debug", "info", "warning", "error"]),
    show_default=True,
)
@_operator_options
def run(home_dir: Path | None, dev: bool, log_level: str, **flags: str | None) -> None:
    """Run the node: the embedded single-validator engine, RPC, REST and gRPC."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    home = Home(home_dir or default_home())
    if dev:
        _ensure_dev_home(home)
    overrides = {key.replace("__", "."): value for key, value in flags.items() if value is not None}
    code = asyncio.run(_serve(home, overrides))
    if code:
        sys.exit(code)


async def _serve(home: Home, overrides: dict[str, Any]) -> int:
    from sultan.api.servers import start_servers
    from sultan.node import Node

    node = Node(home, overrides=overrides)
    try:
        node.open()
    except Exception as exc:
        log.debug("start-up failed", exc_info=True)
        raise click.ClickException(_describe(exc)) from exc
    for warning in node.warnings:
        log.warning("%s", warning)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            servers = await start_servers(node)
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc
        node.engine.on_commit(
            lambda c: log.info(
                "committed block height=%d txs=%d app_hash=%s",
                c.height,
                len(c.block.data.txs),
                node.app.last_app_hash.hex().upper(),
            )
        )
        node.start()
        _print_banner(node, servers)
        while not stop.is_set():
            if node.engine.error is not None:
                log.error("stopping: block production failed: %s", node.engine.error)
                break
            if node.engine.halted:
                log.info("stopping: halt-height %d reached", node.engine.halt_height)
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            except TimeoutError:
                pass
        log.info("shutting down")
        await servers.stop()
    finally:
        node.close()
    return 1 if node.engine.error is not None else 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


def _print_banner(node: Any, servers: Any) -> None:
    lines = [
        f"sultan node {node.moniker!r} on chain {node.chain_id} (node id {node.node_id})",
        f"  height {node.engine.height}, validator {node.priv_key.address_hex}",
        f"  modules: {', '.join(node.modules.names) or '(none)'}",
        f"  RPC   http://{servers.rpc_host}:{servers.rpc_port}",
    ]
    if servers.rest_port:
        lines.append(f"  REST  http://{servers.rest_host}:{servers.rest_port}")
    if servers.grpc_port:
        lines.append(f"  gRPC  {servers.grpc_host}:{servers.grpc_port}")
    click.echo("\n".join(lines), err=True)


start = click.Command(
    "start", callback=run.callback, params=run.params, help="Alias of `sultan run`."
)

COMMANDS = [run, start]
