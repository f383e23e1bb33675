"""A node's home directory: where config, keys, genesis and data live, and how it is made.

The layout mirrors a CometBFT/Cosmos home (`config/`, `data/`) so operators find files where
they expect them. `init_home` never silently replaces an initialised home: doing so would
throw away a validator key (and, with it, the validator) or fork the chain's genesis.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import attrs

from sultan.kernel.config import (
    Config,
    ConfigError,
    apply_overrides,
    render_app_toml,
    render_config_toml,
)
from sultan.kernel.crypto.keys import (
    Ed25519PrivKey,
    PrivValidatorState,
    save_node_key,
    save_priv_validator_key,
    save_priv_validator_state,
    write_file_atomic,
)
from sultan.kernel.genesis import (
    GenesisDoc,
    GenesisError,
    GenesisValidator,
    validate_chain_id,
    write_genesis,
)
from sultan.kernel.timeutil import now_ns

DIR_MODE = 0o700
HOME_ENV = "SULTAN_HOME"


def default_home() -> Path:
    """$SULTAN_HOME if set, else ~/.sultan."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path.home() / ".sultan"


def _to_path(value: str | os.PathLike[str]) -> Path:
    return Path(value).expanduser().absolute()


@attrs.frozen
class Home:
    """Paths inside a node home; creating the object touches nothing on disk."""

    root: Path = attrs.field(converter=_to_path)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def config_toml(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def app_toml(self) -> Path:
        return self.config_dir / "app.toml"

    @property
    def genesis_json(self) -> Path:
        return self.config_dir / "genesis.json"

    @property
    def plugins_toml(self) -> Path:
        return self.config_dir / "plugins.toml"

    @property
    def priv_validator_key(self) -> Path:
        return self.config_dir / "priv_validator_key.json"

    @property
    def node_key(self) -> Path:
        return self.config_dir / "node_key.json"

    @property
    def priv_validator_state(self) -> Path:
        return self.data_dir / "priv_validator_state.json"

    def initialised_markers(self) -> list[Path]:
        """Files whose presence means "this home is in use": genesis and keys."""
        paths = (self.genesis_json, self.priv_validator_key, self.node_key)
        return [p for p in paths if p.exists()]

    def is_initialised(self) -> bool:
        return bool(self.initialised_markers())


def _make_dir(path: Path) -> None:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def _clear_dir(path: Path) -> list[Path]:
    """Remove everything inside `path` (not following symlinks); return what was removed."""
    removed: list[Path] = []
    if not path.is_dir():
        return removed
    for entry in sorted(path.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry)
    return removed


def init_home(
    root: str | os.PathLike[str],
    *,
    chain_id: str,
    moniker: str,
    app_state: dict[str, Any],
    plugins_toml_text: str,
    overwrite: bool = False,
    genesis_time_ns: int | None = None,
    validator_power: int = 10,
) -> Home:
    """Create a complete single-validator home: configs, keys, genesis, empty data/.

    Refuses (FileExistsError) if genesis or key files exist, unless `overwrite`, which
    regenerates the keys and wipes data/ too. Inputs are validated before anything is written.
    """
    home = Home(root)
    validate_chain_id(chain_id)
    if isinstance(validator_power, bool) or not isinstance(validator_power, int):
        raise GenesisError(f"validator power must be an integer, got {validator_power!r}")
    cfg = apply_overrides(Config(), {"moniker": moniker})  # validates the moniker
    existing = home.initialised_markers()
    if existing and not overwrite:
        names = ", ".join(str(p.relative_to(home.root)) for p in existing)
        raise FileExistsError(
            f"{home.root} is already initialised ({names} present); use --overwrite to "
            "replace it (this generates new keys and wipes data/)"
        )

    _make_dir(home.root)
    _make_dir(home.config_dir)
    _make_dir(home.data_dir)
    if overwrite:
        _clear_dir(home.data_dir)

    pv_key = Ed25519PrivKey.generate()
    node_key = Ed25519PrivKey.generate()
    genesis = GenesisDoc(
        genesis_time_ns=now_ns() if genesis_time_ns is None else genesis_time_ns,
        chain_id=chain_id,
        validators=(GenesisValidator.from_pub_key(pv_key.pub_key, validator_power, moniker),),
        app_state=app_state,
    )
    genesis.validate()  # before any key is written, so a bad input leaves no half-made home

    write_file_atomic(home.config_toml, render_config_toml(cfg).encode(), mode=0o644)
    write_file_atomic(home.app_toml, render_app_toml(cfg).encode(), mode=0o644)
    write_file_atomic(home.plugins_toml, plugins_toml_text.encode(), mode=0o644)
    save_priv_validator_key(home.priv_validator_key, pv_key, overwrite=overwrite)
    save_node_key(home.node_key, node_key, overwrite=overwrite)
    save_priv_validator_state(home.priv_validator_state, PrivValidatorState())
    write_genesis(home.genesis_json, genesis)
    return home


def reset_data(home: Home | str | os.PathLike[str]) -> list[Path]:
    """Wipe data/ (blocks, state, indexes) but keep config and keys: `unsafe-reset-all`.

    The validator signing state is reset to height 0, which is only safe on a chain that is
    also being restarted from genesis — hence "unsafe".
    """
    h = home if isinstance(home, Home) else Home(home)
    if not h.genesis_json.exists():
        raise ConfigError(
            f"{h.root} is not an initialised sultan home (config/genesis.json missing): "
            "run `sultan init`"
        )
    _make_dir(h.data_dir)
    removed = _clear_dir(h.data_dir)
    save_priv_validator_state(h.priv_validator_state, PrivValidatorState())
    return removed
