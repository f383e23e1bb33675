#!/usr/bin/env bash
# Stress-test a running Sultan node: the original node's five scenarios and pass criteria.
#
#   bash scripts/stress_test.sh                          # 60 s against localhost defaults
#   TEST_DURATION=300 bash scripts/stress_test.sh         # extended (5 minutes)
#   RPC_ENDPOINT=http://localhost:26657 API_ENDPOINT=http://localhost:1317 \
#     bash scripts/stress_test.sh                         # custom endpoints
#
# Environment: TEST_DURATION (seconds, default 60), RPC_ENDPOINT, API_ENDPOINT,
# METRICS_ENDPOINT (the node's /metrics, for memory; default http://127.0.0.1:26660/metrics),
# OUTPUT_FILE (JSON results, default stress-results.json), SULTAN (the sultan command).
# Extra arguments go to `sultan stress` (e.g. --tx-rate 50 --accounts-file accounts.json).
# Exit status 0 only when every scenario passed (Overall Score 5/5).
set -euo pipefail

export TEST_DURATION="${TEST_DURATION:-60}"
export RPC_ENDPOINT="${RPC_ENDPOINT:-http://127.0.0.1:26657}"
export API_ENDPOINT="${API_ENDPOINT:-http://127.0.0.1:1317}"
export METRICS_ENDPOINT="${METRICS_ENDPOINT:-http://127.0.0.1:26660/metrics}"
export OUTPUT_FILE="${OUTPUT_FILE:-stress-results.json}"

if [[ -z "${SULTAN:-}" ]]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ -x "$here/.venv/bin/sultan" ]]; then
    SULTAN="$here/.venv/bin/sultan"
  else
    SULTAN="sultan"
  fi
fi

exec "$SULTAN" stress "$@"
