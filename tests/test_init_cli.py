"""`sultan init`, `unsafe-reset-all`, `version`, `config show`: files, refusals, messages."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sultan.cli import init_cmd
from sultan.cli.main import cli
from sultan.kernel.config import Config, load_config
from sultan.kernel.crypto.keys import (
    PrivValidatorState,
    load_node_key,
    load_priv_validator_key,
    load_priv_validator_state,
)
from sultan.kernel.genesis import load_genesis
from sultan.kernel.home import Home, init_home, reset_data

REPO = Path(__file__).resolve().parents[1]
APP_STATE = {"bank": {"balances": []}, "auth": {"accounts": []}}


@pytest.fixture(autouse=True)
def fake_modules(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Stand in for the module system so these tests do not depend on installed modules."""
    seen: list[Path] = []

    def fake(path: Path) -> dict[str, Any]:
        seen.append(Path(path))
        return json.loads(json.dumps(APP_STATE))

    monkeypatch.setattr(init_cmd, "_default_app_state", fake)
    monkeypatch.setattr(init_cmd, "_run_init_home_hooks", lambda *args: None)
    return seen


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in ("init", "unsafe-reset-all", "version", "config"):
        assert name in result.output


def test_init_creates_a_complete_home(tmp_path: Path) -> None:
    root = tmp_path / "node"
    result = run("init", "--home", str(root), "--chain-id", "test-1", "--moniker", "val0")
    assert result.exit_code == 0, result.output
    home = Home(root)
    for path in (
        home.config_toml,
        home.app_toml,
        home.genesis_json,
        home.plugins_toml,
        home.priv_validator_key,
        home.node_key,
        home.priv_validator_state,
    ):
        assert path.is_file(), path
    assert mode_of(home.config_dir) == 0o700 and mode_of(home.data_dir) == 0o700
    for secret in (home.priv_validator_key, home.node_key, home.priv_validator_state):
        assert mode_of(secret) == 0o600, secret

    pv = load_priv_validator_key(home.priv_validator_key)
    node = load_node_key(home.node_key)
    genesis = load_genesis(home.genesis_json)
    assert genesis.chain_id == "test-1" and genesis.app_state == APP_STATE
    assert [v.pub_key for v in genesis.validators] == [pv.pub_key]
    assert genesis.validators[0].power == 10
    cfg, warnings = load_config(root)
    assert cfg.node.moniker == "val0" and warnings == []
    assert load_priv_validator_state(home.priv_validator_state) == PrivValidatorState()
    assert home.plugins_toml.read_text() == init_cmd.packaged_plugins_toml()
    assert tomllib.loads(home.plugins_toml.read_text()) == {
        "modules": ["auth", "bank", "staking", "distribution", "metrics"]
    }
    assert pv.address_hex in result.output and node.node_id in result.output
    assert str(home.genesis_json) in result.output


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    root = tmp_path / "node"
    assert run("init", "--home", str(root), "--moniker", "a").exit_code == 0
    key_before = Home(root).priv_validator_key.read_bytes()
    genesis_before = Home(root).genesis_json.read_bytes()
    result = run("init", "--home", str(root), "--moniker", "b")
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "already initialised" in result.stderr
    assert "--overwrite" in result.stderr and "Traceback" not in result.output
    assert Home(root).priv_validator_key.read_bytes() == key_before
    assert Home(root).genesis_json.read_bytes() == genesis_before


def test_init_refuses_when_only_a_key_exists(tmp_path: Path) -> None:
    root = tmp_path / "node"
    assert run("init", "--home", str(root), "--moniker", "a").exit_code == 0
    Home(root).genesis_json.unlink()
    result = run("init", "--home", str(root), "--moniker", "a")
    assert result.exit_code == 1 and "priv_validator_key.json" in result.stderr


def test_init_overwrite_regenerates_keys_and_wipes_data(tmp_path: Path) -> None:
    root = tmp_path / "node"
    home = Home(root)
    assert run("init", "--home", str(root), "--moniker", "a").exit_code == 0
    old_pv = load_priv_validator_key(home.priv_validator_key)
    old_node = load_node_key(home.node_key)
    (home.data_dir / "application.db").mkdir()
    (home.data_dir / "application.db" / "CURRENT").write_text("x")
    result = run(
        "init", "--home", str(root), "--moniker", "b", "--chain-id", "new-2", "--overwrite"
    )
    assert result.exit_code == 0, result.output
    assert load_priv_validator_key(home.priv_validator_key) != old_pv
    assert load_node_key(home.node_key) != old_node
    assert not (home.data_dir / "application.db").exists()
    assert load_genesis(home.genesis_json).chain_id == "new-2"
    assert load_config(root)[0].node.moniker == "b"
    assert mode_of(home.priv_validator_key) == 0o600


def test_init_keeps_an_existing_plugins_toml(tmp_path: Path, fake_modules: list[Path]) -> None:
    home = Home(tmp_path / "node")
    home.config_dir.mkdir(parents=True)
    home.plugins_toml.write_text('modules = ["auth", "bank"]\n')
    result = run("init", "--home", str(home.root), "--moniker", "a")
    assert result.exit_code == 0, result.output
    assert home.plugins_toml.read_text() == 'modules = ["auth", "bank"]\n'
    assert fake_modules == [home.plugins_toml]  # app_state came from the operator's list
    assert "kept existing" in result.output


def test_init_rejects_bad_input_before_writing(tmp_path: Path) -> None:
    root = tmp_path / "node"
    result = run("init", "--home", str(root), "--chain-id", "bad chain!", "--moniker", "a")
    assert result.exit_code == 1 and "Error: chain_id 'bad chain!'" in result.stderr
    result = run("init", "--home", str(root), "--moniker", "caf\u00e9\t")
    assert result.exit_code == 1 and "--moniker" in result.stderr
    assert not root.exists()


def test_default_home_from_env(tmp_path: Path) -> None:
    root = tmp_path / "envhome"
    result = run("init", "--moniker", "a", env={"SULTAN_HOME": str(root)})
    assert result.exit_code == 0, result.output
    assert Home(root).genesis_json.exists()


def test_unsafe_reset_all_keeps_keys_and_config(tmp_path: Path) -> None:
    root = tmp_path / "node"
    home = Home(root)
    assert run("init", "--home", str(root), "--moniker", "a").exit_code == 0
    config_before = {p.name: p.read_bytes() for p in home.config_dir.iterdir()}
    (home.data_dir / "blockstore.db").mkdir()
    (home.data_dir / "blockstore.db" / "000001.log").write_text("blocks")
    (home.data_dir / "snapshots").mkdir()
    from sultan.kernel.crypto.keys import save_priv_validator_state

    save_priv_validator_state(home.priv_validator_state, PrivValidatorState(99, 0, 3))
    result = run("unsafe-reset-all", "--home", str(root))
    assert result.exit_code == 0, result.output
    assert "removed" in result.output and "blockstore.db" in result.output
    assert sorted(p.name for p in home.data_dir.iterdir()) == ["priv_validator_state.json"]
    assert load_priv_validator_state(home.priv_validator_state) == PrivValidatorState()
    assert {p.name: p.read_bytes() for p in home.config_dir.iterdir()} == config_before


def test_unsafe_reset_all_needs_an_initialised_home(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious").write_text("keep me")
    result = run("unsafe-reset-all", "--home", str(tmp_path))
    assert result.exit_code == 1 and "not an initialised sultan home" in result.stderr
    assert (tmp_path / "data" / "precious").exists()


def test_version(tmp_path: Path) -> None:
    result = run("version")
    assert result.exit_code == 0 and result.output.startswith("sultan ")
    assert f"python {sys.version_info.major}.{sys.version_info.minor}" in result.output
    info = json.loads(run("version", "--json").output)
    assert set(info) >= {"sultan", "python", "rocksdict", "protobuf"}
    assert info["sultan"] != "unknown"


def test_config_show_prints_effective_config_and_warnings(tmp_path: Path) -> None:
    root = tmp_path / "node"
    assert run("init", "--home", str(root), "--moniker", "shown").exit_code == 0
    with Home(root).config_toml.open("a") as f:
        f.write("\n[storage]\ndiscard_abci_responses = false\n")
    result = run("config", "show", "--home", str(root))
    assert result.exit_code == 0, result.output
    assert "Warning:" in result.stderr and "unknown key 'storage'" in result.stderr
    config_part, app_part = result.stdout.split(f"# ===== {Home(root).app_toml} =====")
    assert tomllib.loads(config_part)["moniker"] == "shown"
    assert tomllib.loads(app_part)["api"]["address"] == Config().app.api.address


def test_config_show_reports_bad_config_without_traceback(tmp_path: Path) -> None:
    root = tmp_path / "node"
    assert run("init", "--home", str(root), "--moniker", "a").exit_code == 0
    path = Home(root).config_toml
    path.write_text(path.read_text().replace('timeout_commit = "1s"', 'timeout_commit = "1 sec"'))
    result = run("config", "show", "--home", str(root))
    assert result.exit_code == 1
    assert f"Error: {path}: key 'consensus.timeout_commit'" in result.stderr
    missing = run("config", "show", "--home", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "run `sultan init`" in missing.stderr


def test_app_state_is_empty_without_a_module_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real indirection, not the fixture's fake
    monkeypatch.setitem(sys.modules, "sultan.kernel.modules", None)  # import now fails
    assert init_cmd._default_app_state(Path("plugins.toml")) == {}


def test_init_home_api_directly(tmp_path: Path) -> None:
    home = init_home(
        tmp_path / "h",
        chain_id="api-1",
        moniker="m",
        app_state={},
        plugins_toml_text="modules = []\n",
        genesis_time_ns=1_000_000_000,
        validator_power=7,
    )
    genesis = load_genesis(home.genesis_json)
    assert genesis.genesis_time == "1970-01-01T00:00:01Z" and genesis.validators[0].power == 7
    assert reset_data(home) == [home.priv_validator_state]


def test_real_process_init(tmp_path: Path) -> None:
    """One real run, as an operator would do it (uses the actual module system if present)."""
    root = tmp_path / "proc"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sultan.cli.main",
            "init",
            "--home",
            str(root),
            "--chain-id",
            "proc-1",
            "--moniker",
            "proc0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Validator address:" in proc.stdout
    assert load_genesis(Home(root).genesis_json).chain_id == "proc-1"
    again = subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", "init", "--home", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 1
    assert again.stderr.startswith("Error: ") and "Traceback" not in again.stderr
