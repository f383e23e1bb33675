"""`sultan keys add|import|list|show|delete`: the local keyring of account keys.

Keys live in `<home>/keyring-<backend>/` (see `sultan.client.keyring`): backend `file`
(default) encrypts each private key with the keyring passphrase; backend `test` stores
them UNENCRYPTED and is only for throw-away keys on dev and test chains.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sultan.client import cli_support
from sultan.client.keyring import COSMOS_HD_PATH, KeyInfo

MNEMONIC_WARNING = (
    "**Important** write this mnemonic phrase in a safe place. It is shown only now, and it\n"
    "is the only way to recover this account: anyone who has it controls the account."
)
TEST_BACKEND_WARNING = (
    "WARNING: keyring backend 'test' stores the private key UNENCRYPTED in {dir}. Use it only\n"
    "for throw-away keys on local dev/test chains."
)


def _print_key(info: KeyInfo, output: str) -> None:
    if output == "json":
        cli_support.echo_json(info.to_json())
        return
    click.echo(f"- name: {info.name}")
    click.echo("  type: local")
    click.echo(f"  address: {info.address}")
    click.echo(f"  pubkey: '{info.to_json()['pubkey']}'")


def _read_mnemonic() -> str:
    if not sys.stdin.isatty():
        text = sys.stdin.readline()
        if not text.strip():
            raise click.ClickException("no mnemonic on standard input")
        return text
    return str(click.prompt("Enter your BIP-39 mnemonic", err=True))


def _store(
    name: str,
    mnemonic: str | None,
    home: Path | None,
    keyring_backend: str,
    keyring_passphrase_file: Path | None,
    hd_path: str,
    output: str,
) -> None:
    keyring = cli_support.open_keyring(home, keyring_backend, keyring_passphrase_file)
    info, phrase = keyring.add(name, mnemonic, hd_path=hd_path)
    show_mnemonic = mnemonic is None
    if output == "json":
        data = info.to_json()
        if show_mnemonic:
            data["mnemonic"] = phrase
        cli_support.echo_json(data)
    else:
        _print_key(info, output)
        if show_mnemonic:
            click.echo("")
            click.echo(MNEMONIC_WARNING)
            click.echo("")
            click.echo(phrase)
    if keyring_backend == "test":
        click.echo(TEST_BACKEND_WARNING.format(dir=keyring.dir), err=True)


hd_path_option = click.option(
    "--hd-path", default=COSMOS_HD_PATH, show_default=True, help="BIP-32 derivation path."
)


@click.group("keys")
def keys_group() -> None:
    """Manage the local keyring of account keys (BIP-39 mnemonics, secp256k1)."""


@keys_group.command("add")
@click.argument("name")
@click.option("--recover", is_flag=True, help="Restore from a BIP-39 mnemonic (asked for).")
@hd_path_option
@cli_support.output_option
@cli_support.keyring_flags
def add_command(
    name: str,
    recover: bool,
    hd_path: str,
    output: str,
    home: Path | None,
    keyring_backend: str,
    keyring_passphrase_file: Path | None,
) -> None:
    """Create key NAME from a new 24-word mnemonic (printed once), or --recover one."""
    mnemonic = _read_mnemonic() if recover else None
    _store(name, mnemonic, home, keyring_backend, keyring_passphrase_file, hd_path, output)


@keys_group.command("import")
@click.argument("name")
@hd_path_option
@cli_support.output_option
@cli_support.keyring_flags
def import_command(
    name: str,
    hd_path: str,
    output: str,
    home: Path | None,
    keyring_backend: str,
    keyring_passphrase_file: Path | None,
) -> None:
    """Import key NAME from a BIP-39 mnemonic read from standard input (or a prompt)."""
    mnemonic = _read_mnemonic()
    _store(name, mnemonic, home, keyring_backend, keyring_passphrase_file, hd_path, output)


@keys_group.command("list")
@cli_support.output_option
@cli_support.keyring_flags
def list_command(
    output: str, home: Path | None, keyring_backend: str, keyring_passphrase_file: Path | None
) -> None:
    """List the keys (names, addresses, public keys; no passphrase needed)."""
    keyring = cli_support.open_keyring(home, keyring_backend, keyring_passphrase_file)
    keys = keyring.list_keys()
    if output == "json":
        cli_support.echo_json([k.to_json() for k in keys])
        return
    if not keys:
        click.echo(f"no keys in {keyring.dir}", err=True)
    for info in keys:
        _print_key(info, output)


@keys_group.command("show")
@click.argument("name")
@click.option("--address", "-a", "address_only", is_flag=True, help="Print only the address.")
@cli_support.output_option
@cli_support.keyring_flags
def show_command(
    name: str,
    address_only: bool,
    output: str,
    home: Path | None,
    keyring_backend: str,
    keyring_passphrase_file: Path | None,
) -> None:
    """Show key NAME (a key name or an address in the keyring)."""
    keyring = cli_support.open_keyring(home, keyring_backend, keyring_passphrase_file)
    info = keyring.find(name)
    if address_only:
        click.echo(info.address)
        return
    _print_key(info, output)


@keys_group.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@cli_support.keyring_flags
def delete_command(
    name: str,
    yes: bool,
    home: Path | None,
    keyring_backend: str,
    keyring_passphrase_file: Path | None,
) -> None:
    """Delete key NAME from the keyring (its funds stay on chain; keep the mnemonic!)."""
    keyring = cli_support.open_keyring(home, keyring_backend, keyring_passphrase_file)
    info = keyring.get(name)
    if not yes and not click.confirm(
        f"Delete key {info.name!r} ({info.address})? Without its mnemonic the account is lost",
        err=True,
    ):
        raise click.Abort()
    keyring.delete(name)
    click.echo(f"Key {info.name!r} ({info.address}) deleted")


COMMANDS: list[click.Command] = [keys_group]
