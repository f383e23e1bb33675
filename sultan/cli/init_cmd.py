"""Home-management commands: `init`, `unsafe-reset-all`, `version`, `config show`."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
import platform
import socket
from pathlib import Path
from typing import Any

import click

from sultan.client.errors import ClientError
from sultan.kernel.config import (
    ConfigError,
    load_config,
    render_app_toml,
    render_config_toml,
)
from sultan.kernel.crypto.keys import load_node_key, load_priv_validator_key
from sultan.kernel.home import Home, default_home, init_home, reset_data

DEFAULT_CHAIN_ID = "sultan-local-1"

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Node home directory  [default: $SULTAN_HOME or ~/.sultan]",
)


def resolve_home(value: Path | None) -> Home:
    """The --home value, or the default home."""
    return Home(value if value is not None else default_home())


def packaged_plugins_toml() -> str:
    """Text of the plugins.toml shipped with Sultan (the built-in modules it enables)."""
    return (importlib.resources.files("sultan") / "defaults" / "plugins.toml").read_text("utf-8")


def _default_app_state(plugins_toml_path: Path) -> dict[str, Any]:
    """Default genesis app_state of the modules plugins.toml enables.

    Imported lazily: the module system may not exist yet, and then app_state is `{}`. An
    ImportError from *inside* the module system (say, a missing dependency) is not hidden.
    """
    try:
        from sultan.kernel.modules import default_app_state
    except ImportError as exc:
        if exc.name == "sultan.kernel.modules":
            return {}
        raise
    try:
        state = default_app_state(str(plugins_toml_path))
    except ValueError as exc:
        msg = f"cannot build genesis app_state from {plugins_toml_path}: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(state, dict):
        raise ConfigError(f"default app_state must be a dict, got {type(state).__name__}")
    return state


def _run_init_home_hooks(h: Home, chain_id: str, moniker: str) -> None:
    """Let each enabled module finish the new genesis (`sultan_init_home`), in plugins.toml
    order — staking makes the node's own validator there. The kernel imports no module."""
    try:
        from sultan.kernel.modules import load_modules, read_plugins_toml
    except ImportError as exc:
        if exc.name == "sultan.kernel.modules":
            return
        raise
    module_set = load_modules(read_plugins_toml(str(h.plugins_toml)))
    for name in module_set.names:
        hook = getattr(module_set.plugin_manager.get_plugin(name), "sultan_init_home", None)
        if hook is None:
            continue
        try:
            hook(home=h.root, chain_id=chain_id, moniker=moniker)
        except (ValueError, ClientError) as exc:
            raise ConfigError(f"sultan init: module {name!r}: {exc}") from exc


@click.command("init")
@home_option
@click.option("--chain-id", default=DEFAULT_CHAIN_ID, show_default=True, help="Chain id.")
@click.option("--moniker", default=None, help="Node name  [default: this host's name]")
@click.option(
    "--overwrite", is_flag=True, help="Replace an initialised home: NEW keys, wiped data/."
)
def init_command(home: Path | None, chain_id: str, moniker: str | None, overwrite: bool) -> None:
    """Create a single-validator home: config, keys and genesis.

    An existing config/plugins.toml is kept (so the module list can be chosen before init);
    otherwise the packaged default (auth, bank, staking, distribution, metrics) is written.
    """
    h = resolve_home(home)
    moniker = moniker if moniker is not None else (socket.gethostname() or "node0")
    if h.plugins_toml.is_file():
        plugins_text = h.plugins_toml.read_text("utf-8")
        plugins_note = "kept existing"
        app_state = _default_app_state(h.plugins_toml)
    else:
        plugins_text = packaged_plugins_toml()
        plugins_note = "packaged default"
        resource = importlib.resources.files("sultan") / "defaults" / "plugins.toml"
        with importlib.resources.as_file(resource) as path:
            app_state = _default_app_state(path)
    init_home(
        h.root,
        chain_id=chain_id,
        moniker=moniker,
        app_state=app_state,
        plugins_toml_text=plugins_text,
        overwrite=overwrite,
    )
    _run_init_home_hooks(h, chain_id, moniker)
    pv_key = load_priv_validator_key(h.priv_validator_key)
    node_key = load_node_key(h.node_key)
    click.echo(f"Initialised sultan home {h.root} (chain-id {chain_id}, moniker {moniker})")
    click.echo(f"  config:           {h.config_toml}")
    click.echo(f"  app config:       {h.app_toml}")
    click.echo(f"  plugins:          {h.plugins_toml} ({plugins_note})")
    click.echo(f"  genesis:          {h.genesis_json} (modules: {', '.join(app_state) or 'none'})")
    click.echo(f"  validator key:    {h.priv_validator_key}")
    click.echo(f"  node key:         {h.node_key}")
    click.echo(f"  data:             {h.data_dir}")
    click.echo(f"Validator address:  {pv_key.address_hex}")
    click.echo(f"Node ID:            {node_key.node_id}")


@click.command("unsafe-reset-all")
@home_option
def unsafe_reset_all_command(home: Path | None) -> None:
    """Delete all blocks and state in data/; keep config, genesis and keys.

    Also resets the validator's signing state to height 0: only safe when the whole chain
    restarts from genesis, otherwise the validator could double-sign.
    """
    h = resolve_home(home)
    removed = reset_data(h)
    for path in removed:
        click.echo(f"removed {path}")
    if not removed:
        click.echo(f"{h.data_dir} was already empty")
    click.echo(f"reset {h.priv_validator_state} to height 0")
    click.echo(f"kept {h.config_dir} (config, genesis and keys)")


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_info() -> dict[str, str | None]:
    """Versions worth pasting into a bug report."""
    sultan_version = getattr(importlib.import_module("sultan"), "__version__", None)
    return {
        "sultan": sultan_version or _dist_version("sultan") or "unknown",
        "python": platform.python_version(),
        "rocksdict": _dist_version("rocksdict"),
        "protobuf": _dist_version("protobuf"),
    }


@click.command("version")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def version_command(as_json: bool) -> None:
    """Print the Sultan version (and Python, rocksdict, protobuf versions)."""
    info = version_info()
    if as_json:
        click.echo(json.dumps(info, sort_keys=True))
        return
    click.echo(f"sultan {info['sultan']}")
    for name in ("python", "rocksdict", "protobuf"):
        if info[name] is not None:
            click.echo(f"{name} {info[name]}")


@click.group("config")
def config_group() -> None:
    """Inspect the node configuration."""


@config_group.command("show")
@home_option
def config_show_command(home: Path | None) -> None:
    """Print the effective, validated config.toml and app.toml (defaults filled in)."""
    h = resolve_home(home)
    cfg, warnings = load_config(h.root)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"# ===== {h.config_toml} =====")
    click.echo(render_config_toml(cfg))
    click.echo(f"# ===== {h.app_toml} =====")
    click.echo(render_app_toml(cfg), nl=False)


COMMANDS: list[click.Command] = [
    init_command,
    unsafe_reset_all_command,
    version_command,
    config_group,
]
