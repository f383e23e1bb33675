#!/usr/bin/env bash
# Install the system tools the test suite runs for real, if they are missing:
#   promtool, prometheus   (Debian package `prometheus`): alert rules, scrape config, a real server
#   systemd-analyze        (Debian package `systemd`):    verify deploy/systemd/sultan.service
#   ip                     (Debian package `iproute2`):   network namespaces, bridge, veths
#   nft                    (Debian package `nftables`):   partitions in tests/cometbft/test_partitions.py
# With --bench, instead, what `make bench` needs:
#   wrk                    (Debian package `wrk`):        the HTTP client of bench/api.py
#   h2load                 (Debian package `nghttp2-client`): its gRPC client
# As root it uses apt-get directly, otherwise sudo (non-interactive). Without either it
# prints what to install and exits 0: the tests that need a missing tool then fail with a
# message naming it. Set SULTAN_SKIP_TEST_DEPS=1 to skip this script entirely.
set -euo pipefail

if [[ "${SULTAN_SKIP_TEST_DEPS:-}" == "1" ]]; then
  exit 0
fi

declare -A PACKAGE_OF=([promtool]=prometheus [prometheus]=prometheus [systemd-analyze]=systemd
  [ip]=iproute2 [nft]=nftables [wrk]=wrk [h2load]=nghttp2-client)
TOOLS=(promtool prometheus systemd-analyze ip nft)
if [[ "${1:-}" == "--bench" ]]; then
  TOOLS=(wrk h2load)
fi
missing=()
for tool in "${TOOLS[@]}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    pkg="${PACKAGE_OF[$tool]}"
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
  exit 0
fi
if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-test-deps: run as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 0
fi

echo "install-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# The prometheus package would start a system service where systemd runs; the tests start
# their own server, so keep the packaged one from starting.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
  trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Where systemd runs, do not leave a system Prometheus enabled on :9090 (Sultan's gRPC port).
if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
  "${SUDO[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
