"""`sultan testnet`: a local multi-validator network on a real CometBFT (see sultan/testnet.py).

sultan testnet init --validators 4 --output-dir ./net [--chain-id] [--starting-port]
                    [--modules auth,bank] [--account ADDR=COINS]... [--timeout-commit 1s]
                    [--power 10 | --powers 10,20,30,40] [--genesis-set MODULE.KEY=VALUE]...
sultan testnet start ./net      # Sultan apps, then CometBFT nodes; prints endpoints
sultan testnet add-node ./net [--start] [--state-sync]   # a full node peering with all
sultan testnet status ./net
sultan testnet stop ./net       # SIGTERM (CometBFT first), SIGKILL after --timeout
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import click

from sultan.kernel.config import ConfigError
from sultan.kernel.timeutil import parse_duration_ms


def _testnet_errors(func: Any) -> Any:
    """TestnetError / CometBFTUnavailableError → `Error: ...` and exit 1."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sultan.testing.cometbft import CometBFTUnavailableError
        from sultan.testnet import TestnetError

        try:
            return func(*args, **kwargs)
        except (TestnetError, CometBFTUnavailableError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _nodes_option(func: Any) -> Any:
    return click.option(
        "--node",
        "nodes",
        type=int,
        multiple=True,
        help="Only this node index (repeatable); default: all.",
    )(func)


@click.group("testnet")
def testnet_group() -> None:
    """Create and run a local multi-validator network (CometBFT + Sultan per validator)."""


@testnet_group.command("init")
@click.option("--validators", "-n", type=click.IntRange(1, 100), default=4, show_default=True)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the nodes' homes, logs and testnet.json.",
)
@click.option("--chain-id", default="sultan-testnet-1", show_default=True)
@click.option(
    "--starting-port",
    type=int,
    default=26656,
    show_default=True,
    help="Node i uses ports starting-port + 10*i + (0 p2p, 1 rpc, 2 abci, 3 rest, 4 grpc).",
)
@click.option(
    "--modules",
    default="auth,bank",
    show_default=True,
    help="Comma-separated modules for plugins.toml, in consensus order.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="ADDRESS=COINS",
    help="Fund an account in genesis, e.g. sultan1...=1000000usultan (repeatable; needs bank).",
)
@click.option("--power", type=click.IntRange(1), default=10, show_default=True)
@click.option(
    "--powers",
    default=None,
    metavar="P0,P1,…",
    help="One power per validator (overrides --power). With staking: self-bond = power·10^6.",
)
@click.option(
    "--genesis-set",
    "genesis_sets",
    multiple=True,
    metavar="MODULE.KEY=VALUE",
    help="Set a genesis app_state value, e.g. staking.params.unbonding_time=60s "
    "(VALUE is JSON, else a string; repeatable).",
)
@click.option(
    "--config-template",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A Sultan config.toml whose [consensus]/[mempool]/[rpc]/[p2p] tuning every node gets.",
)
@click.option("--timeout-commit", default=None, help='Block interval, e.g. "1s" (overrides).')
@click.option("--timeout-propose", default=None, help='e.g. "3s" (overrides the template).')
@click.option("--minimum-gas-prices", default=None, help='e.g. "0.025usultan" (app.toml).')
@click.option(
    "--cometbft",
    "cometbft_bin",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="CometBFT v0.38 binary (default: $SULTAN_COMETBFT_BIN, the build cache, or PATH).",
)
@click.option("--build-cometbft", is_flag=True, help="Build CometBFT with `go install` if missing.")
@click.option("--overwrite", is_flag=True, help="Replace an existing (stopped) testnet in D.")
@_testnet_errors
def init_command(
    validators: int,
    output_dir: Path,
    chain_id: str,
    starting_port: int,
    modules: str,
    accounts: tuple[str, ...],
    power: int,
    powers: str | None,
    genesis_sets: tuple[str, ...],
    config_template: Path | None,
    timeout_commit: str | None,
    timeout_propose: str | None,
    minimum_gas_prices: str | None,
    cometbft_bin: Path | None,
    build_cometbft: bool,
    overwrite: bool,
) -> None:
    """Write a Sultan home and a CometBFT home per validator, with one shared genesis."""
    from sultan.kernel.config import NodeConfig
    from sultan.testing.cometbft import cometbft_binary
    from sultan.testnet import (
        Testnet,
        TestnetError,
        load_node_config_template,
        parse_accounts,
        parse_app_state_sets,
    )

    binary = cometbft_bin or cometbft_binary(allow_build=build_cometbft)
    base = load_node_config_template(config_template) if config_template else NodeConfig()
    cons = base.consensus
    try:
        if timeout_commit is not None:
            cons = attrs.evolve(cons, timeout_commit_ms=parse_duration_ms(timeout_commit))
        if timeout_propose is not None:
            cons = attrs.evolve(cons, timeout_propose_ms=parse_duration_ms(timeout_propose))
    except ValueError as exc:
        raise ConfigError(f"--timeout-*: {exc}") from None
    base = attrs.evolve(base, consensus=cons)
    power_list = None
    if powers is not None:
        try:
            power_list = [int(p) for p in powers.split(",")]
        except ValueError:
            raise TestnetError(f"--powers {powers!r}: expected integers like 10,20,30") from None
    net = Testnet.init(
        output_dir,
        validators=validators,
        cometbft=binary,
        chain_id=chain_id,
        starting_port=starting_port,
        modules=[m.strip() for m in modules.split(",") if m.strip()],
        accounts=parse_accounts(accounts),
        power=power,
        powers=power_list,
        app_state_overrides=parse_app_state_sets(genesis_sets),
        node_config=base,
        minimum_gas_prices=minimum_gas_prices,
        overwrite=overwrite,
    )
    click.echo(
        f"Initialised testnet {net.chain_id} with {len(net.nodes)} validators in {net.root} "
        f"(CometBFT {binary})"
    )
    _print_endpoints(net)
    _print_operators(net)
    click.echo(f"Start it with: sultan testnet start {net.root}")


def _print_endpoints(net: Any) -> None:
    for node in net.nodes:
        click.echo(
            f"  {node.name}: RPC {node.rpc_url}  REST {node.rest_url}  gRPC {node.grpc_address}  "
            f"ABCI {node.abci_address}  P2P {node.p2p_address}"
        )


def _print_operators(net: Any) -> None:
    """Where each validator's operator key is (proof-of-stake testnets only)."""
    from sultan.testnet import KEY_SEED, OPERATOR_KEY

    operators = [n for n in net.nodes if n.operator_address]
    if not operators:
        return
    click.echo("Validator operators (UNENCRYPTED test keyrings: for local testnets only):")
    for node in operators:
        click.echo(
            f"  {node.name}: {node.operator_address}  key {OPERATOR_KEY!r} in "
            f"{node.sultan_home / 'keyring-test'}  mnemonic in {node.sultan_home / KEY_SEED}"
        )
    click.echo(
        "  e.g. sultan tx staking delegate VALOPER 1000000usultan --from validator "
        f"--keyring-backend test --home {operators[0].sultan_home} --node {operators[0].rpc_url}"
    )


@testnet_group.command("add-node")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--starting-port",
    type=int,
    default=None,
    help="First of its 10 ports  [default: the block after the last node's]",
)
@click.option("--minimum-gas-prices", default=None, help='e.g. "0.025usultan" (app.toml).')
@click.option(
    "--state-sync",
    is_flag=True,
    help="Restore the newest snapshot the running nodes serve instead of replaying blocks.",
)
@click.option("--start", "start_now", is_flag=True, help="Start its processes at once.")
@click.option("--timeout", type=float, default=120.0, show_default=True)
@_testnet_errors
def add_node_command(
    directory: Path,
    starting_port: int | None,
    minimum_gas_prices: str | None,
    state_sync: bool,
    start_now: bool,
    timeout: float,
) -> None:
    """Add a full node (not a validator) with the network's genesis, peering with every node.

    It becomes a validator when a MsgCreateValidator bonds its consensus key: its Sultan
    home holds the key its CometBFT signs with, so `sultan tx staking create-validator
    --home NODE/sultan` (without --pubkey) bonds the right one."""
    from sultan.testnet import Testnet

    net = Testnet(directory)
    node = net.add_node(
        starting_port=starting_port,
        state_sync=state_sync,
        minimum_gas_prices=minimum_gas_prices,
    )
    click.echo(f"Added {node.name} to {net.chain_id} in {node.dir} (node id {node.node_id})")
    click.echo(
        f"  {node.name}: RPC {node.rpc_url}  REST {node.rest_url}  gRPC {node.grpc_address}  "
        f"ABCI {node.abci_address}  P2P {node.p2p_address}"
    )
    click.echo(f"  consensus key: {node.sultan_home / 'config' / 'priv_validator_key.json'}")
    if start_now:
        net.start([node.index], timeout=timeout)
        click.echo(f"  started; logs in {node.dir / 'logs'}")
    else:
        click.echo(f"Start it with: sultan testnet start {net.root} --node {node.index}")


@testnet_group.command("start")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@_nodes_option
@click.option("--timeout", type=float, default=120.0, show_default=True)
@_testnet_errors
def start_command(directory: Path, nodes: tuple[int, ...], timeout: float) -> None:
    """Start the Sultan applications, then the CometBFT nodes (in the background)."""
    from sultan.testnet import Testnet

    net = Testnet(directory)
    started = net.start(nodes or None, timeout=timeout)
    click.echo(f"Testnet {net.chain_id}: {len(started)} node(s) running")
    for node in started:
        click.echo(
            f"  {node.name}: RPC {node.rpc_url}  REST {node.rest_url}  gRPC {node.grpc_address}"
            f"  logs {node.dir / 'logs'}"
        )
    click.echo(f"Stop with: sultan testnet stop {net.root}")


@testnet_group.command("stop")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@_nodes_option
@click.option(
    "--timeout", type=float, default=20.0, show_default=True, help="Seconds before SIGKILL."
)
@_testnet_errors
def stop_command(directory: Path, nodes: tuple[int, ...], timeout: float) -> None:
    """Stop the nodes: CometBFT first, then its application (SIGTERM, then SIGKILL)."""
    from sultan.testnet import Testnet

    net = Testnet(directory)
    for name, outcome in net.stop(nodes or None, timeout=timeout).items():
        click.echo(f"  {name}: cometbft {outcome['cometbft']}, sultan {outcome['sultan']}")


@testnet_group.command("status")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@_testnet_errors
def status_command(directory: Path, as_json: bool) -> None:
    """Show each node's processes, height, app hash and peers."""
    from sultan.testnet import Testnet

    rows = Testnet(directory).status()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        app = f"pid {row['sultan_pid']}" if row["sultan_pid"] else "stopped"
        cmt = f"pid {row['cometbft_pid']}" if row["cometbft_pid"] else "stopped"
        line = f"{row['name']}: sultan {app}, cometbft {cmt}"
        if "height" in row:
            line += (
                f", height {row['height']}, app_hash {row['app_hash'][:16]}…, "
                f"peers {row['peers']}" + (", catching up" if row["catching_up"] else "")
            )
        elif "error" in row:
            line += f", RPC error: {row['error']}"
        click.echo(line)
        click.echo(f"    RPC {row['rpc']}  REST {row['rest']}  gRPC {row['grpc']}")


COMMANDS: list[click.Command] = [testnet_group]
