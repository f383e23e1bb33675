#!/usr/bin/env bash
# Build (first run only, ~1-3 min) or find the CometBFT v0.38 binary that tests/cometbft and
# `sultan testnet` use, and print its path. Cached in .cache/cometbft/<version>/.
# Needs Go (>= 1.22) and the Go module proxy; override with $SULTAN_COMETBFT_BIN or
# $SULTAN_COMETBFT_VERSION (a v0.38.x tag).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" -m sultan.testing.cometbft
