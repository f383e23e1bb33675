"""Helpers for the client CLI tests: run `sultan` as an operator would, parse its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

# Keep the tests independent of the developer's environment.
_CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if k
    not in ("SULTAN_KEYRING_PASSPHRASE", "SULTAN_KEYRING_BACKEND", "SULTAN_NODE", "SULTAN_HOME")
}


@attrs.frozen
class CliResult:
    """What a `sultan` run left: exit code, stdout, stderr (like CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
    """`sultan ARGS` in this process (click's runner); never raises on a non-zero exit, but
    an exception the CLI did not turn into `Error: …` fails the test."""
    from sultan.cli.main import cli

    result = CliRunner().invoke(
        cli, list(args), input=input or "", env=env or {}, prog_name="sultan"
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            f"sultan {' '.join(args)} raised {result.exception!r}\n{result.stdout}\n{result.stderr}"
        ) from result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_cli_subprocess(
    *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`sultan ARGS` in a subprocess, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_CLEAN_ENV, **(env or {})},
    )


def ok(result: Any) -> Any:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def json_out(result: Any) -> Any:
    return json.loads(ok(result).stdout)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


@pytest.fixture(autouse=True)
def _no_keyring_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SULTAN_KEYRING_PASSPHRASE", "SULTAN_KEYRING_BACKEND", "SULTAN_NODE"):
        monkeypatch.delenv(name, raising=False)
