"""A real CometBFT v0.38 binary for tests and `sultan testnet`: found, or built once and cached.

    path = cometbft_binary()          # builds on first use (go install), cached afterwards

Lookup order: `$SULTAN_COMETBFT_BIN` (an explicit binary), then the cache
`<repo>/.cache/cometbft/<version>/cometbft` (or `$SULTAN_COMETBFT_CACHE/<version>/cometbft`),
then — only when building is allowed — `go install github.com/cometbft/cometbft/cmd/cometbft@<version>`
with `GOBIN` pointing into the cache. A file lock keeps concurrent test processes from
building twice. Without Go the error says exactly what to install.

`python -m sultan.testing.cometbft` builds (if needed) and prints the binary's path; it is
what `make cometbft` and `scripts/cometbft.sh` run.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

# The newest v0.38 patch on the Go module proxy when this was written
# (`go list -m -versions github.com/cometbft/cometbft`); override with $SULTAN_COMETBFT_VERSION.
COMETBFT_VERSION = "v0.38.26"
MODULE = "github.com/cometbft/cometbft"
BUILD_TIMEOUT_S = 1800
# Where Go lives when it is installed but not on PATH (the official tarball location).
GO_FALLBACKS: tuple[str, ...] = ("/usr/local/go/bin/go",)


class CometBFTUnavailableError(RuntimeError):
    """No CometBFT binary, and it cannot be built here."""


def version() -> str:
    return os.environ.get("SULTAN_COMETBFT_VERSION", COMETBFT_VERSION)


def _repo_root() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "sultan").is_dir():
            return parent
    return None


def cache_dir() -> Path:
    env = os.environ.get("SULTAN_COMETBFT_CACHE")
    if env:
        return Path(env).expanduser()
    root = _repo_root()
    if root is not None:
        return root / ".cache" / "cometbft"
    return Path.home() / ".cache" / "sultan" / "cometbft"


def cached_binary(ver: str | None = None) -> Path:
    return cache_dir() / (ver or version()) / "cometbft"


def binary_version(path: str | os.PathLike[str]) -> str:
    """What `cometbft version` prints (e.g. "0.38.26")."""
    out = subprocess.run(
        [str(path), "version"], capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""


def find_cometbft() -> Path | None:
    """An existing binary ($SULTAN_COMETBFT_BIN, the cache, or a v0.38 `cometbft` on PATH)."""
    env = os.environ.get("SULTAN_COMETBFT_BIN")
    if env:
        path = Path(env).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise CometBFTUnavailableError(f"$SULTAN_COMETBFT_BIN={env} is not an executable file")
        return path
    cached = cached_binary()
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    on_path = shutil.which("cometbft")
    if on_path:
        try:
            if binary_version(on_path).startswith("0.38."):
                return Path(on_path)
        except (OSError, subprocess.SubprocessError):
            pass
    return None


def _go() -> str:
    go = shutil.which("go") or next((p for p in GO_FALLBACKS if Path(p).is_file()), None)
    if go is None:
        raise CometBFTUnavailableError(
            "CometBFT is needed but not installed, and Go is not on PATH to build it. Install Go "
            f"(>= 1.22) and run `go install {MODULE}/cmd/cometbft@{version()}` (or `make cometbft`), "
            "or point $SULTAN_COMETBFT_BIN at a CometBFT v0.38 binary."
        )
    return go


def build(ver: str | None = None, *, log: bool = True) -> Path:
    """`go install` CometBFT `ver` into the cache (no-op if already there)."""
    ver = ver or version()
    if not re.fullmatch(r"v0\.38\.\d+", ver):
        raise CometBFTUnavailableError(f"CometBFT version {ver!r}: Sultan speaks ABCI of v0.38.x")
    target = cached_binary(ver)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same version
        if target.is_file() and os.access(target, os.X_OK):
            return target
        go = _go()
        if log:
            print(
                f"[cometbft] BUILDING CometBFT {ver} with `go install` into {target.parent} "
                "(first run only; takes a few minutes) ...",
                file=sys.stderr,
                flush=True,
            )
        started = time.monotonic()
        env = dict(os.environ, GOBIN=str(target.parent))
        try:
            result = subprocess.run(
                [go, "install", f"{MODULE}/cmd/cometbft@{ver}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise CometBFTUnavailableError(
                f"building CometBFT {ver} took longer than {BUILD_TIMEOUT_S}s"
            ) from None
        if result.returncode != 0 or not target.is_file():
            raise CometBFTUnavailableError(
                f"`go install {MODULE}/cmd/cometbft@{ver}` failed:\n{result.stderr[-4000:]}"
            )
        if log:
            print(
                f"[cometbft] built {target} in {time.monotonic() - started:.0f}s",
                file=sys.stderr,
                flush=True,
            )
    return target


def cometbft_binary(*, allow_build: bool = True) -> Path:
    """A CometBFT v0.38 binary: found, else built into the cache (if `allow_build`)."""
    found = find_cometbft()
    if found is not None:
        return found
    if not allow_build:
        raise CometBFTUnavailableError(
            f"CometBFT not found: run `make cometbft` (builds {version()} into {cache_dir()}), "
            "put a v0.38 `cometbft` on PATH, or set $SULTAN_COMETBFT_BIN"
        )
    return build()


def main() -> None:
    try:
        path = cometbft_binary()
        print(f"[cometbft] using {path} (version {binary_version(path)})", file=sys.stderr)
    except CometBFTUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(path)


if __name__ == "__main__":
    main()
