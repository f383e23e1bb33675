"""Real Cosmos clients in their own environments: cosmpy in a venv, CosmJS in node_modules.

They never share the node's Python process (their generated protobuf modules would clash
with ours). Each is installed once into `.cache/interop/` and reused; a version change in
the spec below reinstalls it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SULTAN_INTEROP_CACHE", ROOT / ".cache" / "interop"))
CLIENTS = Path(__file__).resolve().parent / "clients"

COSMPY_SPEC = "cosmpy>=0.12.2,<0.13"
COSMJS_PACKAGES = {
    "@cosmjs/stargate": "0.32.4",
    "@cosmjs/proto-signing": "0.32.4",
    "@cosmjs/tendermint-rpc": "0.32.4",
}


def _run(cmd: list[str], **kw: Any) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


def cosmpy_python() -> str:
    venv = CACHE / "cosmpy-venv"
    marker = venv / ".installed"
    python = venv / "bin" / "python"
    if not marker.exists() or marker.read_text() != COSMPY_SPEC:
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(python), "-m", "pip", "install", "--quiet", COSMPY_SPEC])
        marker.write_text(COSMPY_SPEC)
    return str(python)


def cosmjs_dir() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("CosmJS interop tests need node and npm on PATH")
    work = CACHE / "cosmjs"
    spec = json.dumps(
        {"private": True, "type": "module", "dependencies": COSMJS_PACKAGES},
        indent=2,
        sort_keys=True,
    )
    marker = work / ".installed"
    if not marker.exists() or marker.read_text() != spec:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / "package.json").write_text(spec)
        _run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work)
        marker.write_text(spec)
    for script in CLIENTS.glob("*.mjs"):
        shutil.copy(script, work / script.name)
    return work


def run_cosmpy(script: str, args: dict[str, Any], timeout: float = 180) -> dict[str, Any]:
    return _client([cosmpy_python(), str(CLIENTS / script), json.dumps(args)], timeout)


def run_cosmjs(script: str, args: dict[str, Any], timeout: float = 180) -> dict[str, Any]:
    work = cosmjs_dir()
    return _client(["node", str(work / script), json.dumps(args)], timeout, cwd=work)


def _client(cmd: list[str], timeout: float, cwd: Path | None = None) -> dict[str, Any]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise AssertionError(
            f"client {cmd[1]} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return json.loads(lines[-1])
