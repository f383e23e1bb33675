"""`sultan query …`: the kernel's queries (`tx`, `block`); modules add theirs to this group.

The group object here is the one `sultan_cli_commands` hook implementations extend with
`register("query", command)`.
"""

from __future__ import annotations

from pathlib import Path

import click

from sultan.client import cli_support
from sultan.client.errors import NodeError


@click.group("query")
def query_group() -> None:
    """Query the chain through a node's RPC (kernel and module queries)."""


@query_group.command("tx")
@click.argument("tx_hash", metavar="HASH")
@cli_support.home_option
@cli_support.node_option
def tx_command(tx_hash: str, home: Path | None, node: str | None) -> None:
    """Show a committed transaction (decoded, with its result and events) as JSON."""
    client = cli_support.rpc_client(home, node)
    found = client.tx(tx_hash.removeprefix("0x"))
    if found is None:
        raise NodeError(f"tx {tx_hash.upper()} not found on {client.url}")
    cli_support.echo_json(cli_support.tx_response_json(client, found))


@query_group.command("block")
@click.argument("height", type=int, required=False)
@cli_support.home_option
@cli_support.node_option
def block_command(height: int | None, home: Path | None, node: str | None) -> None:
    """Show a block (default: the latest) as CometBFT's RPC returns it."""
    client = cli_support.rpc_client(home, node)
    params = {"height": str(height)} if height else {}
    cli_support.echo_json(client.call("block", **params))


COMMANDS: list[click.Command] = [query_group]
