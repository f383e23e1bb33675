"""cffi (API mode, out-of-line) build of the crypto core into `sultan.kernel.crypto._sultan_crypto`.

The package build runs this through setup.py's `cffi_modules`; `make native` runs it
directly to rebuild the extension in place. The declarations below are the ones of
`native/include/sultan_crypto.h`; API mode compiles them against the real header, so a
mismatch fails the build instead of corrupting calls.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
MODULE = "sultan.kernel.crypto._sultan_crypto"

CDEF = """
#define SULTAN_CRYPTO_ABI_VERSION ...
#define SULTAN_SUCCESS ...
#define SULTAN_NULL_POINTER ...
#define SULTAN_INVALID_UTF8 ...
#define SULTAN_INVALID_PARAMETER ...
#define SULTAN_BLOCKCHAIN_ERROR ...
#define SULTAN_CONSENSUS_ERROR ...
#define SULTAN_INTERNAL_ERROR ...
#define SULTAN_SHA256_SIZE ...
#define SULTAN_SECP256K1_PUBKEY_SIZE ...
#define SULTAN_SECP256K1_SIGNATURE_SIZE ...
#define SULTAN_SECP256K1_SECKEY_SIZE ...
#define SULTAN_ED25519_PUBKEY_SIZE ...
#define SULTAN_ED25519_SIGNATURE_SIZE ...
#define SULTAN_ED25519_SEED_SIZE ...
#define SULTAN_MAX_THREADS ...
#define SULTAN_SMT_REF_SIZE ...
#define SULTAN_SMT_MAX_NODE_SIZE ...
#define SULTAN_SECP256K1_PREHASHED ...
#define SULTAN_SECP256K1_NORMALIZE_S ...
#define SULTAN_VERIFY_INVALID ...
#define SULTAN_VERIFY_VALID ...
#define SULTAN_VERIFY_BAD_PUBKEY ...
#define SULTAN_VERIFY_BAD_SIGNATURE ...
#define SULTAN_VERIFY_HIGH_S ...

const char *sultan_crypto_version(void);
uint32_t sultan_crypto_abi_version(void);
const char *sultan_crypto_strerror(int code);
int sultan_sha256_batch(const uint8_t *data, size_t data_len, const size_t *offsets,
                        const size_t *lengths, size_t count, uint8_t *digests_out,
                        size_t digests_out_len, uint32_t threads);
int sultan_merkle_root(const uint8_t *data, size_t data_len, const size_t *offsets,
                       const size_t *lengths, size_t count, uint8_t *root_out,
                       size_t root_out_len, uint32_t threads);
int sultan_merkle_root_from_leaf_hashes(const uint8_t *leaf_hashes, size_t leaf_hashes_len,
                                        size_t count, uint8_t *root_out, size_t root_out_len);
int sultan_merkle_proof_depth(size_t count, size_t *depth_out);
int sultan_merkle_proofs(const uint8_t *data, size_t data_len, const size_t *offsets,
                         const size_t *lengths, size_t count, uint8_t *root_out,
                         size_t root_out_len, uint8_t *leaf_hashes_out,
                         size_t leaf_hashes_out_len, uint8_t *aunts_out, size_t aunts_out_len,
                         size_t depth, uint8_t *aunt_counts_out, size_t aunt_counts_out_len,
                         uint32_t threads);
int sultan_smt_nodes(const int32_t *program, size_t program_len, const uint8_t *refs,
                     size_t refs_len, const uint8_t *version, size_t version_len, size_t count,
                     uint8_t *digests_out, size_t digests_out_len, uint8_t *nodes_out,
                     size_t nodes_out_len, uint8_t *node_lengths_out,
                     size_t node_lengths_out_len);
int sultan_secp256k1_verify_batch(const uint8_t *pubkeys, size_t pubkeys_len,
                                  const uint8_t *msgs, size_t msgs_len, const size_t *msg_offsets,
                                  const size_t *msg_lengths, const uint8_t *sigs,
                                  size_t sigs_len, size_t count, uint32_t flags,
                                  uint8_t *results_out, size_t results_out_len, uint32_t threads);
int sultan_secp256k1_check_pubkeys(const uint8_t *pubkeys, size_t pubkeys_len, size_t count,
                                   uint8_t *results_out, size_t results_out_len);
int sultan_ed25519_verify_batch(const uint8_t *pubkeys, size_t pubkeys_len, const uint8_t *msgs,
                                size_t msgs_len, const size_t *msg_offsets,
                                const size_t *msg_lengths, const uint8_t *sigs, size_t sigs_len,
                                size_t count, uint32_t flags, uint8_t *results_out,
                                size_t results_out_len, uint32_t threads);
int sultan_secp256k1_public_key(const uint8_t *seckey, size_t seckey_len, uint8_t *pubkey_out,
                                size_t pubkey_out_len);
int sultan_secp256k1_sign(const uint8_t *seckey, size_t seckey_len, const uint8_t *msg,
                          size_t msg_len, uint32_t flags, uint8_t *sig_out, size_t sig_out_len);
int sultan_ed25519_public_key(const uint8_t *seed, size_t seed_len, uint8_t *pubkey_out,
                              size_t pubkey_out_len);
int sultan_ed25519_sign(const uint8_t *seed, size_t seed_len, const uint8_t *msg, size_t msg_len,
                        uint8_t *sig_out, size_t sig_out_len);
"""


def _pkg_config(*args: str) -> list[str]:
    try:
        out = subprocess.run(
            ["pkg-config", *args, "libsecp256k1", "libcrypto"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return shlex.split(out)


def _build_flags() -> dict[str, list[str]]:
    cflags = _pkg_config("--cflags")
    libs = _pkg_config("--libs")
    return {
        "include_dirs": [str(ROOT / "include"), str(ROOT / "src")]
        + [f[2:] for f in cflags if f.startswith("-I")],
        "library_dirs": [f[2:] for f in libs if f.startswith("-L")],
        "libraries": sorted({f[2:] for f in libs if f.startswith("-l")} | {"secp256k1", "crypto"})
        + ["pthread"],
    }


def _relative(path: Path) -> str:
    """Sources relative to the working directory (setuptools refuses absolute ones)."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def make_ffibuilder(absolute_sources: bool = False) -> FFI:
    builder = FFI()
    builder.cdef(CDEF)
    sources = sorted((ROOT / "src").glob("*.c"))
    builder.set_source(
        MODULE,
        '#include "sultan_crypto.h"',
        sources=[str(p) if absolute_sources else _relative(p) for p in sources],
        extra_compile_args=["-std=c11", "-O2", "-Wall", "-Wextra"],
        **_build_flags(),
    )
    return builder


# What setup.py's `cffi_modules` builds (setuptools wants sources relative to the project).
ffibuilder = make_ffibuilder()


def build_in_place(verbose: bool = False) -> Path:
    """Compile the extension in a scratch directory and put it next to the package's modules
    (what an editable install imports). Returns the installed extension's path."""
    import shutil
    import tempfile

    os.chdir(ROOT.parent)
    package_dir = ROOT.parent / "sultan" / "kernel" / "crypto"
    existing = sorted(package_dir.glob("_sultan_crypto*.so"))
    inputs = [*ROOT.glob("src/*"), *ROOT.glob("include/*"), Path(__file__)]
    newest_input = max(p.stat().st_mtime for p in inputs)
    if len(existing) == 1 and existing[0].stat().st_mtime >= newest_input:
        return existing[0]  # the package build (pip install -e) made it from these sources
    with tempfile.TemporaryDirectory(prefix="sultan-ffi-") as tmp:
        builder = make_ffibuilder(absolute_sources=True)
        built = Path(builder.compile(tmpdir=tmp, verbose=verbose))
        target = package_dir / built.name
        staging = target.with_name(target.name + ".tmp")
        shutil.copy2(built, staging)
        os.replace(staging, target)  # atomic: a running process keeps its mapped copy
    for stale in existing:
        if stale != target:
            stale.unlink()  # one extension only, whichever build made it
    return target


if __name__ == "__main__":
    print(f"native: extension {build_in_place('-v' in sys.argv)}")
