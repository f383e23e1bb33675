"""Auth commands for the `sultan` CLI: `sultan query auth account ADDRESS`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from sultan.client import cli_support


@click.group("auth")
def query_group() -> None:
    """Auth queries (accounts)."""


@query_group.command("account")
@click.argument("address")
@cli_support.query_flags
def account_command(address: str, home: Path | None, node: str | None, height: int) -> None:
    """The account at ADDRESS (number, sequence, public key) as JSON."""
    from sultan.pb.cosmos.crypto.secp256k1 import keys_pb2  # noqa: F401  (pub_key Any type)
    from sultan_auth.pb.cosmos.auth.v1beta1 import auth_pb2  # noqa: F401  (account Any types)
    from sultan_auth.pb.cosmos.auth.v1beta1 import query_pb2 as q

    client = cli_support.rpc_client(home, node)
    response = client.query(
        "/cosmos.auth.v1beta1.Query/Account",
        q.QueryAccountRequest(address=address),
        q.QueryAccountResponse,
        height,
    )
    cli_support.echo_json(cli_support.proto_json(response))


def register_commands(register: Callable[[str, click.Command], None]) -> None:
    register("query", query_group)
