#!/bin/sh
# Make sure the crypto core's build dependencies are present: a C compiler, libsecp256k1 and
# OpenSSL libcrypto (headers and libraries). Installs the Debian packages when run as root
# on a Debian/Ubuntu machine; otherwise prints the command to run and fails.
#   ensure-deps.sh          the library's build dependencies
#   ensure-deps.sh --fuzz   also clang with libFuzzer (optional: never fails without it)
#   ensure-deps.sh --has-libfuzzer   exit 0 iff clang can build libFuzzer targets
set -u
CC="${CC:-cc}"
APT_PACKAGES="libsecp256k1-dev libssl-dev pkg-config"

can_build() {
    tmp="$(mktemp -d)" || return 1
    cat >"$tmp/probe.c" <<'PROBE'
#include <openssl/evp.h>
#include <secp256k1.h>
int main(void) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
    secp256k1_context_destroy(ctx);
    return EVP_sha256() == 0;
}
PROBE
    flags="$(pkg-config --cflags --libs libsecp256k1 libcrypto 2>/dev/null || echo -lsecp256k1 -lcrypto)"
    # shellcheck disable=SC2086
    "$CC" "$tmp/probe.c" -o "$tmp/probe" $flags >/dev/null 2>&1
    ok=$?
    rm -rf "$tmp"
    return $ok
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    [ "$(id -u)" = 0 ] || return 1
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

has_libfuzzer() {
    command -v clang >/dev/null 2>&1 || return 1
    tmp="$(mktemp -d)" || return 1
    printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$tmp/f.c"
    clang -fsanitize=fuzzer "$tmp/f.c" -o "$tmp/f" >/dev/null 2>&1
    ok=$?
    rm -rf "$tmp"
    return $ok
}

if [ "${1:-}" = "--has-libfuzzer" ]; then
    has_libfuzzer
    exit $?
fi
if [ "${1:-}" = "--fuzz" ]; then
    has_libfuzzer && exit 0
    apt_install clang libclang-rt-dev || apt_install clang || true
    has_libfuzzer || echo "native: clang with libFuzzer not found; fuzzing with the standalone driver (gcc)"
    exit 0
fi

command -v "$CC" >/dev/null 2>&1 || apt_install build-essential || true
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "native: no C compiler ($CC): install one (Debian: sudo apt-get install -y build-essential)" >&2
    exit 1
fi
can_build && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "native: installing $APT_PACKAGES"
    # shellcheck disable=SC2086
    apt_install $APT_PACKAGES
    can_build && exit 0
fi
echo "native: the crypto core needs libsecp256k1 and OpenSSL headers; run: sudo apt-get install -y $APT_PACKAGES (macOS: brew install secp256k1 openssl@3 pkg-config; Fedora: sudo dnf install libsecp256k1-devel openssl-devel pkgconf)" >&2
exit 1
