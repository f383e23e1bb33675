"""Distribution commands for the `sultan` CLI (registered through `sultan_cli_commands`):

- `sultan tx distribution withdraw-rewards VALIDATOR --from KEY [--commission]`;
- `sultan tx distribution set-withdraw-addr ADDRESS --from KEY`;
- `sultan query distribution rewards DELEGATOR [VALIDATOR]`, `commission VALIDATOR`,
  `community-pool`, `params`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from sultan.client import cli_support


def _tx() -> Any:
    from sultan_distribution.pb.cosmos.distribution.v1beta1 import tx_pb2

    return tx_pb2


def _q() -> Any:
    from sultan_distribution.pb.cosmos.distribution.v1beta1 import query_pb2

    return query_pb2


@click.group("distribution")
def tx_group() -> None:
    """Distribution transactions (rewards and commission)."""


@tx_group.command("withdraw-rewards")
@click.argument("validator")
@click.option("--from", "from_key", required=True, help="Delegator key name or address.")
@click.option("--commission", is_flag=True, help="Also withdraw the validator's commission.")
@cli_support.tx_flags
def withdraw_rewards_command(validator: str, from_key: str, commission: bool, **flags: Any) -> None:
    """Withdraw FROM's rewards from VALIDATOR (and, with --commission, its commission)."""

    def build(sender: str) -> list[Any]:
        msgs = [
            _tx().MsgWithdrawDelegatorReward(delegator_address=sender, validator_address=validator)
        ]
        if commission:
            msgs.append(_tx().MsgWithdrawValidatorCommission(validator_address=validator))
        return msgs

    cli_support.run_tx(flags, from_key, build)


@tx_group.command("set-withdraw-addr")
@click.argument("address")
@click.option("--from", "from_key", required=True, help="Delegator key name or address.")
@cli_support.tx_flags
def set_withdraw_addr_command(address: str, from_key: str, **flags: Any) -> None:
    """Send FROM's future rewards to ADDRESS."""
    cli_support.run_tx(
        flags,
        from_key,
        lambda sender: [
            _tx().MsgSetWithdrawAddress(delegator_address=sender, withdraw_address=address)
        ],
    )


@click.group("distribution")
def query_group() -> None:
    """Distribution queries (printed as the REST gateway's JSON)."""


def _query(flags: dict[str, Any], method: str, request: Any) -> None:
    from sultan_distribution import queries

    route = next(r for r in queries.ROUTES if r[0] == method)
    client = cli_support.rpc_client(flags.get("home"), flags.get("node"))
    response = client.query(queries.SERVICE + method, request, route[2], flags.get("height", 0))
    cli_support.echo_json(cli_support.proto_json(response))


@query_group.command("rewards")
@click.argument("delegator")
@click.argument("validator", required=False)
@cli_support.query_flags
def rewards_command(delegator: str, validator: str | None, **flags: Any) -> None:
    """DELEGATOR's pending rewards (from every validator, or from VALIDATOR)."""
    if validator:
        _query(
            flags,
            "DelegationRewards",
            _q().QueryDelegationRewardsRequest(
                delegator_address=delegator, validator_address=validator
            ),
        )
    else:
        _query(
            flags,
            "DelegationTotalRewards",
            _q().QueryDelegationTotalRewardsRequest(delegator_address=delegator),
        )


@query_group.command("commission")
@click.argument("validator")
@cli_support.query_flags
def commission_command(validator: str, **flags: Any) -> None:
    """VALIDATOR's accumulated commission."""
    _query(
        flags,
        "ValidatorCommission",
        _q().QueryValidatorCommissionRequest(validator_address=validator),
    )


@query_group.command("community-pool")
@cli_support.query_flags
def community_pool_command(**flags: Any) -> None:
    """The community pool."""
    _query(flags, "CommunityPool", _q().QueryCommunityPoolRequest())


@query_group.command("params")
@cli_support.query_flags
def params_command(**flags: Any) -> None:
    """Distribution parameters."""
    _query(flags, "Params", _q().QueryParamsRequest())


def register_commands(register: Callable[[str, click.Command], None]) -> None:
    register("tx", tx_group)
    register("query", query_group)
