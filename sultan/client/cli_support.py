"""Shared pieces of the client commands (`keys`, `tx …`, `query …`) for the kernel and modules.

Modules add their own `tx`/`query` commands through the `sultan_cli_commands` hook; with
these helpers such a command is a few lines:

    @click.command("send")
    @click.argument("from_key")
    ...
    @cli_support.tx_flags
    def send_command(from_key, ..., **flags):
        cli_support.run_tx(flags, from_key, [msg_builder])

Flags follow the Cosmos SDK's names: `--home`, `--keyring-backend`, `--node`, `--chain-id`,
`--fees`, `--gas`, `--gas-adjustment`, `--gas-prices`, `--note`, `--yes`, `--output`.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from sultan.client.errors import TxFailedError
from sultan.client.keyring import BACKENDS, DEFAULT_BACKEND, KeyInfo, Keyring
from sultan.client.signing import DEFAULT_GAS_LIMIT
from sultan.client.txclient import (
    DEFAULT_BROADCAST_TIMEOUT,
    DEFAULT_GAS_ADJUSTMENT,
    PreparedTx,
    RpcClient,
    TxOptions,
    TxResult,
    broadcast_and_wait,
    default_node_url,
    prepare_tx,
)
from sultan.kernel.home import default_home

PASSPHRASE_ENV = "SULTAN_KEYRING_PASSPHRASE"
BACKEND_ENV = "SULTAN_KEYRING_BACKEND"
NODE_ENV = "SULTAN_NODE"

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _apply(func: Callable[..., Any], options: Sequence[Decorator]) -> Callable[..., Any]:
    for option in reversed(options):
        func = option(func)
    return func


# -- home and keyring --------------------------------------------------------------------------

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Home holding the keyring and the node config  [default: $SULTAN_HOME or ~/.sultan]",
)

_KEYRING_OPTIONS: list[Decorator] = [
    click.option(
        "--keyring-backend",
        type=click.Choice(BACKENDS),
        default=DEFAULT_BACKEND,
        envvar=BACKEND_ENV,
        show_default=True,
        help="file: encrypted with a passphrase. test: UNENCRYPTED, for throw-away dev keys.",
    ),
    click.option(
        "--keyring-passphrase-file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help=f"Read the file backend's passphrase from this file (else ${PASSPHRASE_ENV}, "
        "else a prompt).",
    ),
]


def keyring_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """--home, --keyring-backend, --keyring-passphrase-file."""
    return _apply(func, [home_option, *_KEYRING_OPTIONS])


def resolve_home(home: Path | None) -> Path:
    return Path(home) if home is not None else default_home()


def passphrase_provider(passphrase_file: Path | None) -> Callable[[bool], str]:
    """The passphrase from --keyring-passphrase-file, $SULTAN_KEYRING_PASSPHRASE or a prompt."""

    def provide(new: bool) -> str:
        if passphrase_file is not None:
            text = Path(passphrase_file).read_text("utf-8")
            return text[:-1] if text.endswith("\n") else text
        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            return from_env
        if new:
            return str(
                click.prompt(
                    "Enter a passphrase to encrypt your keyring (at least 8 characters)",
                    hide_input=True,
                    confirmation_prompt="Re-enter keyring passphrase",
                    err=True,
                )
            )
        return str(click.prompt("Enter keyring passphrase", hide_input=True, err=True))

    return provide


def open_keyring(
    home: Path | None, keyring_backend: str, keyring_passphrase_file: Path | None
) -> Keyring:
    return Keyring(
        resolve_home(home), keyring_backend, passphrase_provider(keyring_passphrase_file)
    )


# -- output ---------------------------------------------------------------------------------------

output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


def proto_json(msg: Any) -> dict[str, Any]:
    """A protobuf message as the Cosmos REST gateway (and `-o json` of the SDK CLI) shows it."""
    from sultan.api.rest import gateway_json

    return gateway_json(msg)


def any_json(packed: Any) -> dict[str, Any]:
    """An `Any`, expanded when its type is known here, else `{"@type", "value": base64}`."""
    try:
        from google.protobuf import any_pb2

        holder = any_pb2.Any()
        holder.CopyFrom(packed)
        return proto_json(holder)
    except (TypeError, KeyError):
        return {"@type": packed.type_url, "value": base64.b64encode(packed.value).decode()}


def tx_json(tx: Any) -> dict[str, Any]:
    """A `cosmos.tx.v1beta1.Tx` as JSON; messages of types unknown here stay base64."""
    try:
        return proto_json(tx)
    except (TypeError, KeyError):
        from sultan.pb.cosmos.tx.v1beta1 import tx_pb2

        body = tx_pb2.TxBody()
        body.CopyFrom(tx.body)
        del body.messages[:]
        out = proto_json(tx_pb2.Tx(body=body, auth_info=tx.auth_info, signatures=tx.signatures))
        out["body"]["messages"] = [any_json(m) for m in tx.body.messages]
        return out


def tx_response_json(client: RpcClient, found: dict[str, Any]) -> dict[str, Any]:
    """A CometBFT `ResultTx` as the SDK's `TxResponse` JSON (what `query tx` prints)."""
    from sultan.api.tx_service import decode_tx_proto
    from sultan.pb.cosmos.base.abci.v1beta1 import abci_pb2 as sdk_abci
    from sultan.pb.tendermint.abci import types_pb2 as abci

    result = TxResult.from_rpc(found)
    raw = base64.b64decode(result.tx)
    response = sdk_abci.TxResponse(
        height=result.height,
        txhash=result.txhash,
        codespace=result.codespace,
        code=result.code,
        data=base64.b64decode(result.data).hex().upper() if result.data else "",
        raw_log=result.raw_log,
        info=str((found.get("tx_result") or {}).get("info") or ""),
        gas_wanted=result.gas_wanted,
        gas_used=result.gas_used,
        timestamp=client.header_time(result.height),
        events=[
            abci.Event(
                type=str(e.get("type", "")),
                attributes=[
                    abci.EventAttribute(
                        key=str(a.get("key", "")),
                        value=str(a.get("value", "")),
                        index=bool(a.get("index")),
                    )
                    for a in e.get("attributes") or []
                ],
            )
            for e in result.events
        ],
    )
    out = proto_json(response)
    tx = decode_tx_proto(raw)
    out["tx"] = {"@type": "/cosmos.tx.v1beta1.Tx", **tx_json(tx)}
    return out


def print_tx_result(result: TxResult, output: str) -> None:
    if output == "json":
        echo_json(
            {
                "txhash": result.txhash,
                "height": str(result.height),
                "codespace": result.codespace,
                "code": result.code,
                "raw_log": result.raw_log,
                "gas_wanted": str(result.gas_wanted),
                "gas_used": str(result.gas_used),
                "events": result.events,
            }
        )
        return
    click.echo(f"txhash:  {result.txhash}")
    click.echo(f"height:  {result.height}")
    status = "ok" if result.code == 0 else f"FAILED (codespace {result.codespace or 'sdk'})"
    click.echo(f"code:    {result.code} {status}")
    click.echo(f"gas:     {result.gas_used} used / {result.gas_wanted} wanted")
    if result.raw_log:
        click.echo(f"raw_log: {result.raw_log}")


# -- node ------------------------------------------------------------------------------------------

node_option = click.option(
    "--node",
    default=None,
    envvar=NODE_ENV,
    help="CometBFT RPC of the node  [default: rpc.laddr of <home>/config/config.toml, "
    "else http://127.0.0.1:26657]",
)


def query_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """--home, --node, --height for query commands."""
    return _apply(
        func,
        [
            home_option,
            node_option,
            click.option(
                "--height", type=int, default=0, help="Query state at this height (0: latest)."
            ),
        ],
    )


def rpc_client(home: Path | None, node: str | None) -> RpcClient:
    return RpcClient(node or default_node_url(resolve_home(home)))


# -- transactions -----------------------------------------------------------------------------------

_TX_OPTIONS: list[Decorator] = [
    node_option,
    click.option("--chain-id", default=None, help="Chain id  [default: the node's]"),
    click.option("--fees", default=None, help="Fee to pay, e.g. 5000usultan."),
    click.option(
        "--gas",
        default=str(DEFAULT_GAS_LIMIT),
        show_default=True,
        help="Gas limit, or 'auto' to simulate and multiply by --gas-adjustment.",
    ),
    click.option(
        "--gas-adjustment",
        type=float,
        default=DEFAULT_GAS_ADJUSTMENT,
        show_default=True,
        help="Factor applied to the simulated gas with --gas auto.",
    ),
    click.option(
        "--gas-prices",
        default=None,
        help="Price per gas unit, e.g. 0.025usultan: fee = ceil(gas × price). Not with --fees.",
    ),
    click.option("--note", "--memo", "memo", default="", help="Memo attached to the tx."),
    click.option(
        "--broadcast-timeout",
        type=float,
        default=DEFAULT_BROADCAST_TIMEOUT,
        show_default=True,
        help="Seconds to wait for the tx to be included in a block.",
    ),
    click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation."),
    click.option(
        "--dry-run", is_flag=True, help="Build and sign the tx, print it as JSON; do not send."
    ),
    output_option,
]


def tx_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """Keyring flags plus --node, --chain-id, --fees, --gas, --gas-adjustment, --gas-prices,
    --note, --broadcast-timeout, --yes, --dry-run, --output."""
    return _apply(func, [*_TX_OPTIONS, home_option, *_KEYRING_OPTIONS])


def resolve_signer_key(flags: dict[str, Any], from_key: str) -> tuple[Keyring, KeyInfo]:
    """The keyring entry named by FROM (a key name or an address in the keyring)."""
    keyring = open_keyring(
        flags.get("home"), flags["keyring_backend"], flags.get("keyring_passphrase_file")
    )
    return keyring, keyring.find(from_key)


def _prepared_json(prepared: PreparedTx) -> dict[str, Any]:
    from sultan.api.tx_service import decode_tx_proto

    out: dict[str, Any] = {
        "chain_id": prepared.chain_id,
        "account_number": str(prepared.account_number),
        "sequence": str(prepared.sequence),
        "gas": str(prepared.gas),
        "fee": str(prepared.fee),
        "tx": tx_json(decode_tx_proto(prepared.tx_bytes)),
        "tx_bytes": base64.b64encode(prepared.tx_bytes).decode(),
    }
    if prepared.simulated_gas is not None:
        out["simulated_gas"] = str(prepared.simulated_gas)
    return out


def run_tx(
    flags: dict[str, Any],
    from_key: str,
    build_msgs: Callable[[str], Sequence[Any]],
) -> TxResult | None:
    """Sign `build_msgs(from_address)` with FROM's key, broadcast, wait, print the result.

    Exits non-zero (TxFailedError → `Error: …`) when the tx is refused or fails; with
    --dry-run prints the signed tx as JSON and returns None."""
    keyring, info = resolve_signer_key(flags, from_key)
    msgs = build_msgs(info.address)
    client = rpc_client(flags.get("home"), flags.get("node"))
    options = TxOptions(
        chain_id=flags.get("chain_id"),
        fees=flags.get("fees"),
        gas=str(flags.get("gas") or DEFAULT_GAS_LIMIT),
        gas_adjustment=float(flags.get("gas_adjustment") or DEFAULT_GAS_ADJUSTMENT),
        gas_prices=flags.get("gas_prices"),
        memo=flags.get("memo") or "",
        broadcast_timeout=float(flags.get("broadcast_timeout") or DEFAULT_BROADCAST_TIMEOUT),
    )
    signer = keyring.signer(info.name)
    prepared = prepare_tx(client, signer, info.address, msgs, options)
    output = flags.get("output") or "text"
    if flags.get("dry_run"):
        echo_json(_prepared_json(prepared))
        return None
    if not flags.get("yes") and sys.stdin.isatty():
        echo_json(_prepared_json(prepared)["tx"]["body"])
        click.echo(
            f"fee {prepared.fee or 'none'}, gas {prepared.gas}, signer {info.name} "
            f"({info.address}), chain {prepared.chain_id}",
            err=True,
        )
        if not click.confirm("confirm transaction before broadcasting", err=True):
            raise click.Abort()

    def accepted(tx_hash: str) -> None:
        if output == "text":
            click.echo(f"broadcast {tx_hash}; waiting for a block…", err=True)

    result = broadcast_and_wait(client, prepared.tx_bytes, options.broadcast_timeout, accepted)
    print_tx_result(result, output)
    if result.code != 0:
        raise TxFailedError(
            f"tx {result.txhash} failed in block {result.height}: {result.raw_log} "
            f"(codespace {result.codespace or 'sdk'}, code {result.code})",
            code=result.code,
            codespace=result.codespace,
            txhash=result.txhash,
        )
    return result


__all__ = [
    "echo_json",
    "keyring_flags",
    "open_keyring",
    "output_option",
    "print_tx_result",
    "proto_json",
    "query_flags",
    "resolve_home",
    "rpc_client",
    "run_tx",
    "tx_flags",
    "tx_json",
    "tx_response_json",
]
