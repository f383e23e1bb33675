"""The CometBFT installer's lookup and error paths (no Go, no network: nothing is built)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sultan.testing import cometbft as installer


def _fake_binary(path: Path, version: str = "0.38.26") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("SULTAN_COMETBFT_BIN", raising=False)
    monkeypatch.delenv("SULTAN_COMETBFT_VERSION", raising=False)
    monkeypatch.setenv("SULTAN_COMETBFT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no go, no cometbft
    monkeypatch.setattr(installer, "GO_FALLBACKS", ())
    return tmp_path


def test_without_go_the_error_says_what_to_install(isolated: Path) -> None:
    with pytest.raises(installer.CometBFTUnavailableError, match="Go is not on PATH") as exc:
        installer.cometbft_binary()
    assert f"cmd/cometbft@{installer.COMETBFT_VERSION}" in str(exc.value)
    with pytest.raises(installer.CometBFTUnavailableError, match="make cometbft"):
        installer.cometbft_binary(allow_build=False)


def test_cached_binary_is_used_without_building(isolated: Path) -> None:
    cached = _fake_binary(isolated / "cache" / installer.COMETBFT_VERSION / "cometbft")
    assert installer.cometbft_binary() == cached
    assert installer.binary_version(cached) == "0.38.26"


def test_explicit_binary_and_path_lookup(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _fake_binary(isolated / "bin" / "cometbft", "0.38.9")
    assert installer.find_cometbft() == on_path
    _fake_binary(on_path, "1.0.1")  # not a v0.38: ignored
    assert installer.find_cometbft() is None
    monkeypatch.setenv("SULTAN_COMETBFT_BIN", str(isolated / "missing"))
    with pytest.raises(installer.CometBFTUnavailableError, match="not an executable"):
        installer.find_cometbft()


def test_only_v038_versions_are_built(isolated: Path) -> None:
    with pytest.raises(installer.CometBFTUnavailableError, match="v0.38.x"):
        installer.build("v1.0.1")
