"""The `sultan` command: a click group that collects commands from the CLI modules.

Each module listed in COMMAND_MODULES exposes `COMMANDS: list[click.Command]`; adding a
command family means adding one module name here. Operator mistakes (bad config, genesis or
key files, refusing to overwrite) print one `Error: ...` line and exit 1, without a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from sultan.client.errors import ClientError
from sultan.kernel.abci.app import GenesisStateError
from sultan.kernel.config import ConfigError
from sultan.kernel.crypto.keys import KeyFileError
from sultan.kernel.engine.base import EngineStateError
from sultan.kernel.genesis import GenesisError
from sultan.kernel.modules import ModuleWiringError
from sultan.kernel.store.db import DatabaseLockedError

COMMAND_MODULES = [
    "sultan.cli.init_cmd",
    "sultan.cli.run_cmd",
    "sultan.cli.modules_cmd",
    "sultan.cli.keys_cmd",
    "sultan.cli.query_cmd",
    "sultan.cli.stress_cmd",
    "sultan.cli.testnet_cmd",
    "sultan.cli.backup_cmd",
    "sultan.cli.snapshot_cmd",
]

# Errors that are the operator's to fix: shown as a message, not a traceback.
HANDLED_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    GenesisError,
    KeyFileError,
    FileExistsError,
    FileNotFoundError,
    ModuleWiringError,
    DatabaseLockedError,
    GenesisStateError,
    EngineStateError,
    ClientError,
)


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


class SultanGroup(click.Group):
    """A group that turns HANDLED_ERRORS from any subcommand into `Error: ...` + exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HANDLED_ERRORS as exc:
            raise click.ClickException(_message(exc)) from exc


@click.group(cls=SultanGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Sultan: a plugin-based node for Cosmos-style blockchains."""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.COMMANDS:
            cli.add_command(command)


def _register_module_commands() -> None:
    """Commands that installed modules add through the `sultan_cli_commands` hook."""
    import sys

    from sultan.kernel.modules import installed_modules

    help_texts = {
        "tx": "Build, sign and broadcast transactions.",
        "query": "Query the chain.",
        "genesis": "Edit the genesis file of a home before the chain starts.",
    }

    def register_for(module: str) -> Any:
        def register(group: str, command: click.Command) -> None:
            if group == "root":
                cli.add_command(command)
                return
            if group not in help_texts:
                raise ValueError(f"module {module!r}: unknown CLI group {group!r}")
            target = cli.commands.get(group)  # a kernel group (e.g. `query`) is extended
            if not isinstance(target, click.Group):
                target = click.Group(group, help=help_texts[group])
                cli.add_command(target)
            target.add_command(command)

        return register

    for name, (entry_point, info) in sorted(installed_modules().items()):
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a broken optional module must not break the CLI
            print(
                f"warning: module {name} ({info.distribution}) failed to import: {exc}",
                file=sys.stderr,
            )
            continue
        hook = getattr(plugin, "sultan_cli_commands", None)
        if hook is not None:
            hook(register=register_for(name))


_register_commands()
_register_module_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (`sultan = sultan.cli.main:main`)."""
    cli.main(args=argv, prog_name="sultan")


if __name__ == "__main__":
    main()
