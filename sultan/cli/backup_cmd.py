"""`sultan backup <dir>` (a consistent online backup) and `sultan restore <dir>`.

See `sultan.ops.backup` for how a running node is asked for a RocksDB checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import click

from sultan.cli.init_cmd import home_option, resolve_home
from sultan.ops.backup import BackupError, create_backup, restore_backup


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@home_option
@click.option(
    "--include-keys",
    is_flag=True,
    help="Also back up node_key.json, priv_validator_key.json and the signing state.",
)
@click.option(
    "--timeout", default=120.0, show_default=True, help="Seconds to wait for a running node."
)
def backup_command(directory: Path, home: Path | None, include_keys: bool, timeout: float) -> None:
    """Back up a node's data (running or stopped) into a new or empty DIRECTORY."""
    try:
        manifest = create_backup(
            resolve_home(home),
            directory,
            include_keys=include_keys,
            timeout=timeout,
            progress=_progress,
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"backup of {manifest['chain_id']} at height {manifest['height']} "
        f"(app_hash {manifest['app_hash']}) in {directory}"
    )


@click.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@home_option
@click.option("--force", is_flag=True, help="Replace a non-empty data directory.")
def restore_command(directory: Path, home: Path | None, force: bool) -> None:
    """Verify the backup in DIRECTORY and restore it into the home (node stopped)."""
    try:
        manifest = restore_backup(directory, resolve_home(home), force=force, progress=_progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"restored {manifest['chain_id']} at height {manifest['height']} "
        f"(app_hash {manifest['app_hash']}); `sultan run` continues from there"
    )


COMMANDS = [backup_command, restore_command]
