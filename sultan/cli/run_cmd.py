"""`sultan run` (alias `sultan start`): open a home and run the node until a signal.

The operator flags of the original node's systemd unit (`--api.enable=true`,
`--grpc.address=0.0.0.0:9090`, `--rpc.laddr=tcp://0.0.0.0:26657`, …) are accepted as-is
and override config.toml/app.toml for this run only.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sultan.kernel.home import Home, default_home

log = logging.getLogger("sultan.run")

DEV_CHAIN_ID = "sultan-local-1"
DEV_KEY_NAME = "dev"
DEV_DENOM = "usultan"
DEV_FUNDS = f"100000000000{DEV_DENOM}"
# The address of the public "abandon abandon ... about" test mnemonic (m/44'/118'/0'/0/0).
DEV_EXAMPLE_RECIPIENT = "sultan19rl4cm2hmr8afy4kldpxz3fka4jguq0av5s5es"

# flag -> dotted config key (see sultan.kernel.config.apply_overrides)
OPERATOR_FLAGS = {
    "--api.enable": "api.enable",
    "--api.swagger": "api.swagger",
    "--api.address": "api.address",
    "--api.workers": "api.workers",
    "--grpc.enable": "grpc.enable",
    "--grpc.address": "grpc.address",
    "--rpc.laddr": "rpc.laddr",
    "--consensus.timeout_commit": "consensus.timeout_commit",
    "--instrumentation.prometheus_listen_addr": "instrumentation.prometheus_listen_addr",
    "--moniker": "moniker",
    "--proxy_app": "proxy_app",
    "--consensus_engine": "consensus_engine",
    "--cometbft_rpc": "cometbft_rpc",
    "--statesync.enable": "statesync.enable",
    "--statesync.rpc_servers": "statesync.rpc_servers",
    "--statesync.trust_height": "statesync.trust_height",
    "--statesync.trust_hash": "statesync.trust_hash",
}
BOOL_FLAGS = {"--api.enable", "--api.swagger", "--grpc.enable", "--statesync.enable"}


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


def _ensure_dev_home(home: Home, overrides: dict[str, Any] | None = None) -> None:
    """Create a local development home the first time `sultan run --dev` is used.

    After `init` it creates key "dev" in the UNENCRYPTED test keyring, funds it in genesis
    through the registered `genesis add-account` command (the bank module's; the kernel
    does not import modules) and prints its mnemonic and copy-paste snippets."""
    if home.genesis_json.exists():
        _remind_dev_account(home)
        return
    from sultan.cli.init_cmd import init_command

    click.echo(f"No home at {home.root}: creating a local development chain ({DEV_CHAIN_ID}).")
    ctx = click.get_current_context()
    ctx.invoke(init_command, home=home.root, chain_id=DEV_CHAIN_ID, moniker=None, overwrite=False)
    from sultan.client.keyring import Keyring

    keyring = Keyring(home.root, "test")
    if keyring.has(DEV_KEY_NAME):  # a keyring left from an earlier home: reuse the key
        info, mnemonic = keyring.get(DEV_KEY_NAME), None
    else:
        info, mnemonic = keyring.add(DEV_KEY_NAME)
    funded = _fund_dev_account(ctx, home, info.address)
    click.echo(_dev_box(home, overrides or {}, info.address, mnemonic, funded))


def _fund_dev_account(ctx: click.Context, home: Home, address: str) -> bool:
    """Run `sultan genesis add-account ADDRESS DEV_FUNDS --home H` if a module provides it."""
    from sultan.client.errors import ClientError

    root = ctx.find_root().command
    genesis = root.get_command(ctx, "genesis") if isinstance(root, click.Group) else None
    add = genesis.get_command(ctx, "add-account") if isinstance(genesis, click.Group) else None
    if add is None:
        click.echo(
            "warning: no `sultan genesis add-account` command (is the bank module installed?): "
            "the dev account is not funded",
            err=True,
        )
        return False
    args = [address, DEV_FUNDS, "--home", str(home.root)]
    try:
        with add.make_context("add-account", args, parent=ctx) as sub_ctx:
            add.invoke(sub_ctx)
    except ClientError as exc:
        click.echo(f"warning: the dev account is not funded: {exc}", err=True)
        return False
    return True


def _remind_dev_account(home: Home) -> None:
    from sultan.client.errors import ClientError
    from sultan.client.keyring import Keyring

    try:
        keyring = Keyring(home.root, "test")
        if keyring.has(DEV_KEY_NAME):
            address = keyring.get(DEV_KEY_NAME).address
            click.echo(
                f"DEVELOPMENT ONLY: dev account {address} (key {DEV_KEY_NAME!r}, "
                "--keyring-backend test, stored unencrypted)"
            )
    except ClientError:
        pass


def _endpoints(home: Home, overrides: dict[str, Any]) -> dict[str, str]:
    """RPC / REST / gRPC URLs of the node about to start (config files plus flags)."""
    from sultan.kernel.config import apply_overrides, load_config, parse_address

    urls = {
        "rpc": "http://127.0.0.1:26657",
        "rest": "http://127.0.0.1:1317",
        "grpc": "127.0.0.1:9090",
    }
    try:
        cfg, _warnings = load_config(home.root)
        cfg = apply_overrides(cfg, overrides)
    except Exception:  # the node reports config errors itself when it opens the home
        return urls

    def local(address: str) -> str:
        host, port = parse_address(address)
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    urls["rpc"] = "http://" + local(cfg.node.rpc.laddr)
    urls["rest"] = "http://" + local(cfg.app.api.address) if cfg.app.api.enable else ""
    urls["grpc"] = local(cfg.app.grpc.address) if cfg.app.grpc.enable else ""
    return urls


def _sultan_command() -> str:
    """How to call the CLI from a shell: `sultan` if it is on PATH, else its full path."""
    script = Path(sys.executable).parent / "sultan"
    on_path = shutil.which("sultan")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "sultan"
    return shlex.quote(str(script)) if script.exists() else "sultan"


def _dev_box(
    home: Home, overrides: dict[str, Any], address: str, mnemonic: str | None, funded: bool
) -> str:
    urls = _endpoints(home, overrides)
    sultan = _sultan_command()
    home_arg = shlex.quote(str(home.root))
    phrase = mnemonic or "(shown when the key was created; not stored)"
    to = DEV_EXAMPLE_RECIPIENT
    funds = DEV_FUNDS if funded else "nothing (see the warning above)"
    if urls["rest"]:
        cosmpy_url = "rest+" + urls["rest"]
    elif urls["grpc"]:
        cosmpy_url = "grpc+http://" + urls["grpc"]
    else:
        cosmpy_url = "rest+http://127.0.0.1:1317"
    rule = "=" * 88
    lines = [
        "",
        rule,
        "  DEVELOPMENT ONLY - a throw-away account for this local chain, never for real funds",
        rule,
        f"  dev account:  {address}",
        f"  funded with:  {funds} in genesis",
        f"  key:          {DEV_KEY_NAME!r} in {home.root / 'keyring-test'} (UNENCRYPTED test backend)",
        "  mnemonic:",
        f"    {phrase}",
        "",
        f"  Chain {DEV_CHAIN_ID}: RPC {urls['rpc']}"
        + (f", REST {urls['rest']}" if urls["rest"] else "")
        + (f", gRPC {urls['grpc']}" if urls["grpc"] else ""),
        f"  Example recipient {to} is the public 'abandon ... about' test key.",
        "",
        "  -- sultan CLI -------------------------------------------------------------------",
        f"  {sultan} tx bank send {DEV_KEY_NAME} {to} 1000{DEV_DENOM} --fees 5000{DEV_DENOM} \\",
        f"      --home {home_arg} --keyring-backend test --node {urls['rpc']} --yes",
        f"  {sultan} query bank balances {address} --node {urls['rpc']}",
        "",
        "  -- cosmpy (pip install cosmpy) ---------------------------------------------------",
        "  from cosmpy.aerial.client import LedgerClient, NetworkConfig",
        "  from cosmpy.aerial.wallet import LocalWallet",
        "  from cosmpy.crypto.address import Address",
        "  client = LedgerClient(NetworkConfig(",
        f'      chain_id="{DEV_CHAIN_ID}", url="{cosmpy_url}", fee_minimum_gas_price=0.025,',
        f'      fee_denomination="{DEV_DENOM}", staking_denomination="{DEV_DENOM}"))',
        f'  wallet = LocalWallet.from_mnemonic("{phrase}", prefix="sultan")',
        f'  tx = client.send_tokens(Address("{to}"), 1000, "{DEV_DENOM}", wallet)',
        "  tx.wait_to_complete()",
        f'  print(tx.tx_hash, client.query_bank_balance(wallet.address(), "{DEV_DENOM}"))',
        "",
        "  -- CosmJS (npm install @cosmjs/stargate @cosmjs/proto-signing; save as send.mjs) --",
        '  import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";',
        '  import { GasPrice, SigningStargateClient } from "@cosmjs/stargate";',
        "  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(",
        f'    "{phrase}", {{ prefix: "sultan" }});',
        "  const [account] = await wallet.getAccounts();",
        "  const client = await SigningStargateClient.connectWithSigner(",
        f'    "{urls["rpc"]}", wallet, {{ gasPrice: GasPrice.fromString("0.025{DEV_DENOM}") }});',
        "  const result = await client.sendTokens(account.address,",
        f'    "{to}", [{{ denom: "{DEV_DENOM}", amount: "1000" }}], "auto");',
        f'  console.log(result.transactionHash, await client.getBalance(account.address, "{DEV_DENOM}"));',
        rule,
        "",
    ]
    return "\n".join(lines)


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
@click.option(
    "--abci",
    "abci_mode",
    type=click.Choice(["embedded", "socket"]),
    default=None,
    help="socket: serve ABCI on proxy_app to an external CometBFT node (same as "
    "--consensus_engine cometbft); embedded: make blocks in this process.",
)
@_operator_options
def run(
    home_dir: Path | None,
    dev: bool,
    log_level: str,
    abci_mode: str | None = None,
    **flags: str | None,
) -> None:
    """Run the node: the embedded single-validator engine, RPC, REST and gRPC — or, with
    `--abci socket`, the application behind a CometBFT node (ABCI, REST and gRPC)."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    home = Home(home_dir or default_home())
    overrides = {key.replace("__", "."): value for key, value in flags.items() if value is not None}
    if abci_mode is not None:
        overrides["consensus_engine"] = "cometbft" if abci_mode == "socket" else "embedded"
    if dev:
        _ensure_dev_home(home, overrides)
    code = asyncio.run(_serve(home, overrides))
    if code:
        sys.exit(code)


async def _serve(home: Home, overrides: dict[str, Any]) -> int:
    from sultan.node import Node

    node = Node(home, overrides=overrides)
    try:
        node.open()
    except Exception as exc:
        log.debug("start-up failed", exc_info=True)
        raise click.ClickException(_describe(exc)) from exc
    for warning in node.warnings:
        log.warning("%s", warning)
    from sultan.ops.backup import BackupWatcher

    assert node.db is not None
    # Answers `sultan backup` with checkpoints; node.close() stops it before closing the DB.
    node.backup_watcher = BackupWatcher(node.home, node.db).start()
    if node.consensus_engine == "cometbft":
        return await _serve_abci(node)
    return await _serve_embedded(node)


async def _serve_embedded(node: Any) -> int:
    from sultan.api.servers import start_servers

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
        # The banner names the height the node resumed from: once the engine runs, blocks
        # may be committed before the banner is printed.
        resumed_at = node.engine.height
        node.start()
        try:
            notify_modules(node, "sultan_node_started")
        except Exception as exc:
            notify_modules(node, "sultan_node_stopping")
            await servers.stop()
            raise click.ClickException(str(exc)) from exc
        _print_banner(node, servers, resumed_at)
        while not stop.is_set():
            if node.engine.error is not None:
                log.error("stopping: %s failed: %s", node.engine.WORK, node.engine.error)
                break
            if node.engine.halted:
                log.info("stopping: halt-height %d reached", node.engine.halt_height)
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            except TimeoutError:
                pass
        log.info("shutting down")
        notify_modules(node, "sultan_node_stopping")
        await servers.stop()
    finally:
        node.close()
    return 1 if node.engine.error is not None else 0


async def _serve_abci(node: Any) -> int:
    """consensus_engine = "cometbft": serve ABCI (plus REST/gRPC) until a signal, until
    halt-height is committed (exit 0), or until a consensus call fails (then exit 1: a
    half-executed block must not be built upon; a refused block past halt-height counts)."""
    from sultan.api.servers import start_servers

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    halt = node.app.halt_height
    halted_at: list[int] = []  # the height committed at halt-height, once it is

    def on_commit(commit: Any) -> None:  # ABCI consensus thread, end of Commit
        if commit.height >= halt and not halted_at:
            halted_at.append(commit.height)
            loop.call_soon_threadsafe(stop.set)

    if halt:
        if node.app.last_height >= halt:
            log.warning(
                "halt-height %d is already reached (the application is at height %d): "
                "block %d will be refused; raise or remove halt-height in app.toml to continue",
                halt,
                node.app.last_height,
                node.app.last_height + 1,
            )
        node.app.on_commit(on_commit)
    servers = None
    try:
        try:
            servers = await start_servers(node)
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc
        servers.abci.on_error = lambda exc: loop.call_soon_threadsafe(stop.set)
        try:
            notify_modules(node, "sultan_node_started")
        except Exception as exc:
            notify_modules(node, "sultan_node_stopping")
            await servers.stop()
            raise click.ClickException(str(exc)) from exc
        _print_abci_banner(node, servers)
        await stop.wait()
        if halted_at:
            # The listener fires inside Commit, before its answer is sent. The server marks
            # the height once Commit has returned and writes the answer with the Flush that
            # CometBFT sends along with it: wait for that mark before closing the sockets.
            abci_server = servers.abci
            await _wait_until(lambda: abci_server.last_committed_height >= halted_at[0], 30.0)
            log.info("stopping: halt-height %d reached", halt)
        elif servers.abci.error is not None:
            log.error("stopping: a consensus call failed: %s", servers.abci.error)
        log.info("shutting down")
        notify_modules(node, "sultan_node_stopping")
        await servers.stop()
    finally:
        node.close()
    if halted_at:
        return 0  # a block past halt-height refused while stopping is the halt working
    return 1 if servers is not None and servers.abci.error is not None else 0


async def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition()` on the event loop until it holds or `timeout` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _api_lines(servers: Any) -> list[str]:
    """The banner lines of the REST and gRPC servers that are enabled."""
    lines = []
    if servers.rest_port:
        lines.append(f"  REST  http://{servers.rest_host}:{servers.rest_port}")
    if servers.grpc_port:
        lines.append(f"  gRPC  {servers.grpc_host}:{servers.grpc_port}")
    return lines


def _print_abci_banner(node: Any, servers: Any) -> None:
    lines = [
        f"sultan application {node.moniker!r} on chain {node.chain_id} (consensus: CometBFT)",
        f"  height {node.app.last_height}, modules: {', '.join(node.modules.names) or '(none)'}",
        f"  ABCI  {servers.abci_address}  (CometBFT's proxy_app)",
        f"  CometBFT RPC (read by REST/gRPC) {node.config.node.cometbft_rpc_url}",
    ]
    click.echo("\n".join(lines + _api_lines(servers)), err=True)


def notify_modules(node: Any, hook: str) -> None:
    """Call a node lifecycle hook on every enabled module that implements it.

    `sultan_node_started`: the first failure stops (raised as RuntimeError naming the
    module). `sultan_node_stopping`: failures are logged and every module is called.
    """
    caller = getattr(node.modules.plugin_manager.hook, hook)
    impls = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
    for name in node.modules.names:
        impl = impls.get(name)
        if impl is None:
            continue
        kwargs = {"node": node} if "node" in impl.argnames else {}
        try:
            impl.function(**kwargs)
        except Exception as exc:
            if hook == "sultan_node_stopping":
                log.exception("module %r: %s failed", name, hook)
                continue
            raise RuntimeError(f"module {name!r}: {hook} failed: {exc}") from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


def _print_banner(node: Any, servers: Any, height: int) -> None:
    lines = [
        f"sultan node {node.moniker!r} on chain {node.chain_id} (node id {node.node_id})",
        (
            f"  starting at height {height}, following {', '.join(node.engine.source.urls)} "
            "(state sync; makes no blocks)"
            if getattr(node, "follower", False)
            else f"  starting at height {height}, validator {node.priv_key.address_hex}"
        ),
        f"  modules: {', '.join(node.modules.names) or '(none)'}",
        f"  RPC   http://{servers.rpc_host}:{servers.rpc_port}",
    ]
    click.echo("\n".join(lines + _api_lines(servers)), err=True)


start = click.Command(
    "start", callback=run.callback, params=run.params, help="Alias of `sultan run`."
)

COMMANDS = [run, start]
