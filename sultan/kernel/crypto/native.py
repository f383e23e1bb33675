"""The C crypto core (`native/`), loaded through cffi: batch hashing, Merkle trees, signatures.

The extension `sultan.kernel.crypto._sultan_crypto` is compiled from `native/src` by the
package build (`make setup`; see `native/build_ffi.py`). Its API is documented in
`native/include/sultan_crypto.h`. This module packs Python bytes into the core's flat
buffers, turns its error codes into typed exceptions and counts every call in the
process-wide Prometheus series `sultan_ffi_calls_total{function}` and
`sultan_ffi_duration_seconds{function}` (`sultan.kernel.metrics`).

cffi releases the GIL for the duration of every call, and the core spreads big batches over
all cores itself, so a batch call from one thread keeps the whole machine busy while other
Python threads run.

Errors: the core never aborts; a call that fails raises a `NativeCryptoError` subclass named
after its code. A malformed key or signature is not an error: it is a per-item `False`.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any, TypeVar

import attrs

from sultan.kernel import metrics

try:
    from sultan.kernel.crypto._sultan_crypto import ffi, lib
except ImportError as exc:  # pragma: no cover - only on a machine where the build failed
    raise ImportError(
        "the C crypto core (sultan.kernel.crypto._sultan_crypto) is not built: run `make setup` "
        f"(it needs a C compiler, libsecp256k1 and OpenSSL headers; see README): {exc}"
    ) from exc

__all__ = [
    "BlockchainError",
    "ConsensusError",
    "InternalError",
    "InvalidParameterError",
    "InvalidUtf8Error",
    "MerkleProof",
    "NativeCryptoError",
    "NullPointerError",
    "abi_version",
    "ed25519_public_key",
    "ed25519_sign",
    "ed25519_verify_many",
    "merkle_proofs",
    "merkle_root",
    "merkle_root_from_leaf_hashes",
    "secp256k1_check_pubkeys",
    "secp256k1_public_key",
    "secp256k1_sign",
    "secp256k1_verify_many",
    "secp256k1_verify_status",
    "sha256",
    "sha256_many",
    "smt_nodes",
    "version",
]

SHA256_SIZE = 32
SECP256K1_PUBKEY_SIZE = int(lib.SULTAN_SECP256K1_PUBKEY_SIZE)
SECP256K1_SIGNATURE_SIZE = int(lib.SULTAN_SECP256K1_SIGNATURE_SIZE)
ED25519_PUBKEY_SIZE = int(lib.SULTAN_ED25519_PUBKEY_SIZE)
ED25519_SIGNATURE_SIZE = int(lib.SULTAN_ED25519_SIGNATURE_SIZE)
ED25519_SEED_SIZE = int(lib.SULTAN_ED25519_SEED_SIZE)
SECP256K1_SECKEY_SIZE = int(lib.SULTAN_SECP256K1_SECKEY_SIZE)
MAX_THREADS = int(lib.SULTAN_MAX_THREADS)

# Per-item results of secp256k1_verify_status (the header's SULTAN_VERIFY_*).
VERIFY_INVALID = int(lib.SULTAN_VERIFY_INVALID)
VERIFY_VALID = int(lib.SULTAN_VERIFY_VALID)
VERIFY_BAD_PUBKEY = int(lib.SULTAN_VERIFY_BAD_PUBKEY)
VERIFY_BAD_SIGNATURE = int(lib.SULTAN_VERIFY_BAD_SIGNATURE)
VERIFY_HIGH_S = int(lib.SULTAN_VERIFY_HIGH_S)


# --- errors ----------------------------------------------------------------------------------


class NativeCryptoError(RuntimeError):
    """A call into the crypto core failed; `code` is its SULTAN_* error code."""

    code = -1

    def __init__(self, function: str, message: str = "") -> None:
        self.function = function
        text = ffi.string(lib.sultan_crypto_strerror(self.code)).decode()
        super().__init__(f"{function}: {text}" + (f" ({message})" if message else ""))


class NullPointerError(NativeCryptoError):
    code = int(lib.SULTAN_NULL_POINTER)


class InvalidUtf8Error(NativeCryptoError, ValueError):
    code = int(lib.SULTAN_INVALID_UTF8)


class InvalidParameterError(NativeCryptoError, ValueError):
    code = int(lib.SULTAN_INVALID_PARAMETER)


class BlockchainError(NativeCryptoError):
    code = int(lib.SULTAN_BLOCKCHAIN_ERROR)


class ConsensusError(NativeCryptoError):
    code = int(lib.SULTAN_CONSENSUS_ERROR)


class InternalError(NativeCryptoError):
    code = int(lib.SULTAN_INTERNAL_ERROR)


ERRORS: dict[int, type[NativeCryptoError]] = {
    cls.code: cls
    for cls in (
        NullPointerError,
        InvalidUtf8Error,
        InvalidParameterError,
        BlockchainError,
        ConsensusError,
        InternalError,
    )
}


class UnknownNativeError(NativeCryptoError):
    """A code outside the documented set (a newer library than this loader)."""


def _check(code: int, function: str) -> None:
    if code == lib.SULTAN_SUCCESS:
        return
    cls = ERRORS.get(code)
    if cls is None:
        err = UnknownNativeError(function, f"code {code}")
        err.code = code
        raise err
    raise cls(function)


# --- metrics -----------------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def _instrumented(function: str) -> Callable[[F], F]:
    """Count the call and its wall time (packing included) under the C function's name."""
    calls = metrics.FFI_CALLS.labels(function)
    duration = metrics.FFI_DURATION.labels(function)

    def wrap(fn: F) -> F:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                calls.inc()
                duration.observe(time.perf_counter() - start)

        wrapper.__name__ = fn.__name__
        wrapper.__qualname__ = fn.__qualname__
        wrapper.__doc__ = fn.__doc__
        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return wrap


# --- packing -----------------------------------------------------------------------------------


def _threads(threads: int, function: str) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise InvalidParameterError(function, f"threads must be an int, got {threads!r}")
    if not 0 <= threads <= MAX_THREADS:
        raise InvalidParameterError(function, f"threads must be 0..{MAX_THREADS}, got {threads}")
    return threads


def _bytes_list(items: Sequence[bytes], function: str) -> list[bytes]:
    out = []
    for i, item in enumerate(items):
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, bytearray | memoryview):
            out.append(bytes(item))
        else:
            raise TypeError(f"{function}: item {i} is {type(item).__name__}, not bytes")
    return out


# An array typecode with size_t's width, so offsets/lengths are handed over without copying.
_SIZE_T_CODE = next(c for c in "QLI" if array(c).itemsize == ffi.sizeof("size_t"))


class _Packed:
    """Items laid out as the core takes them: one buffer plus offsets and lengths."""

    __slots__ = ("count", "data", "data_len", "keep", "lengths", "offsets")

    def __init__(self, items: list[bytes]) -> None:
        self.count = len(items)
        joined = b"".join(items)
        self.data_len = len(joined)
        if not items:
            self.data = self.offsets = self.lengths = ffi.NULL
            self.keep: Any = None
            return
        sizes = array(_SIZE_T_CODE, map(len, items))
        starts = array(_SIZE_T_CODE, accumulate(sizes, initial=0))
        starts.pop()
        self.lengths = ffi.from_buffer("size_t[]", sizes)
        self.offsets = ffi.from_buffer("size_t[]", starts)
        self.data = ffi.from_buffer("uint8_t[]", joined) if joined else ffi.NULL
        self.keep = (joined, sizes, starts)  # the buffers must outlive the call


def _fixed(records: Sequence[bytes]) -> tuple[Any, int, bytes]:
    joined = b"".join(records)
    return (ffi.from_buffer("uint8_t[]", joined) if joined else ffi.NULL), len(joined), joined


# --- version -----------------------------------------------------------------------------------


def version() -> str:
    """The library's version string (e.g. "0.1.0")."""
    return str(ffi.string(lib.sultan_crypto_version()).decode())


def abi_version() -> int:
    """The ABI version compiled into the library (the header's SULTAN_CRYPTO_ABI_VERSION)."""
    return int(lib.sultan_crypto_abi_version())


# --- hashing -----------------------------------------------------------------------------------


@_instrumented("sultan_sha256_batch")
def sha256_many(items: Sequence[bytes], *, threads: int = 0) -> list[bytes]:
    """SHA-256 of each item, in order."""
    fn = "sultan_sha256_batch"
    packed = _Packed(_bytes_list(items, fn))
    n = packed.count
    if n == 0:
        return []
    out = ffi.new("uint8_t[]", n * SHA256_SIZE)
    _check(
        lib.sultan_sha256_batch(
            packed.data,
            packed.data_len,
            packed.offsets,
            packed.lengths,
            n,
            out,
            n * SHA256_SIZE,
            _threads(threads, fn),
        ),
        fn,
    )
    raw = ffi.buffer(out)[:]
    return [raw[i : i + SHA256_SIZE] for i in range(0, n * SHA256_SIZE, SHA256_SIZE)]


def sha256(data: bytes) -> bytes:
    """SHA-256 of one input (a batch of one)."""
    return sha256_many([data], threads=1)[0]


SMT_REF_SIZE = int(lib.SULTAN_SMT_REF_SIZE)
SMT_MAX_NODE_SIZE = int(lib.SULTAN_SMT_MAX_NODE_SIZE)


@_instrumented("sultan_smt_nodes")
def smt_nodes(program: array, refs: bytes | bytearray, version: bytes) -> tuple[bytes, list[bytes]]:
    """Hash a commit's new state-tree nodes and encode the inner ones (`sultan_smt_nodes` in
    the header, which defines the program): (digests, encodings).

    `program` is an ``array("i")`` of (tag, a, b) triples; `refs` the 41-byte literals
    concatenated; `version` be64. `digests` holds node i's digest at [32 i, 32 i + 32);
    `encodings` the inner nodes' bytes, in program order. A malformed program raises
    InvalidParameterError and hashes nothing.
    """
    fn = "sultan_smt_nodes"
    if not isinstance(program, array) or program.typecode != "i" or program.itemsize != 4:
        raise InvalidParameterError(fn, "the program must be an array('i') of int32")
    if not isinstance(refs, bytes | bytearray) or not isinstance(version, bytes):
        raise TypeError(f"{fn}: refs and version must be bytes")
    if not program:
        return b"", []
    count = len(program) // 3  # a length that is not 3 x count is refused by the core
    digests = ffi.new("uint8_t[]", max(count, 1) * SHA256_SIZE)
    nodes = ffi.new("uint8_t[]", max(count, 1) * SMT_MAX_NODE_SIZE)
    lengths = ffi.new("uint8_t[]", max(count, 1))
    _check(
        lib.sultan_smt_nodes(
            ffi.from_buffer("int32_t[]", program),
            len(program),
            ffi.from_buffer("uint8_t[]", refs) if refs else ffi.NULL,
            len(refs),
            ffi.from_buffer("uint8_t[]", version),
            len(version),
            count,
            digests,
            count * SHA256_SIZE,
            nodes,
            count * SMT_MAX_NODE_SIZE,
            lengths,
            count,
        ),
        fn,
    )
    # A leaf's length is 0 and an inner node's at least 43: what remains are the inner nodes'.
    sizes = ffi.buffer(lengths, count)[:].replace(b"\x00", b"")
    encoded = ffi.buffer(nodes)
    encodings = [
        encoded[end - size : end] for end, size in zip(accumulate(sizes), sizes, strict=True)
    ]
    return ffi.buffer(digests, count * SHA256_SIZE)[:], encodings


@_instrumented("sultan_merkle_root")
def merkle_root(items: Sequence[bytes], *, threads: int = 0) -> bytes:
    """CometBFT `merkle.HashFromByteSlices(items)` (RFC 6962; empty -> sha256(""))."""
    fn = "sultan_merkle_root"
    packed = _Packed(_bytes_list(items, fn))
    root = ffi.new("uint8_t[]", SHA256_SIZE)
    _check(
        lib.sultan_merkle_root(
            packed.data,
            packed.data_len,
            packed.offsets,
            packed.lengths,
            packed.count,
            root,
            SHA256_SIZE,
            _threads(threads, fn),
        ),
        fn,
    )
    return ffi.buffer(root)[:]


@_instrumented("sultan_merkle_root_from_leaf_hashes")
def merkle_root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """The RFC-6962 root over precomputed 32-byte leaf hashes."""
    fn = "sultan_merkle_root_from_leaf_hashes"
    hashes = _bytes_list(leaf_hashes, fn)
    for i, h in enumerate(hashes):
        if len(h) != SHA256_SIZE:
            raise InvalidParameterError(fn, f"leaf hash {i} is {len(h)} bytes, not 32")
    buf, size, _keep = _fixed(hashes)
    root = ffi.new("uint8_t[]", SHA256_SIZE)
    _check(lib.sultan_merkle_root_from_leaf_hashes(buf, size, len(hashes), root, SHA256_SIZE), fn)
    return ffi.buffer(root)[:]


@attrs.frozen
class MerkleProof:
    """CometBFT `merkle.Proof`: aunts ordered from the leaf up."""

    total: int
    index: int
    leaf_hash: bytes
    aunts: tuple[bytes, ...]


@_instrumented("sultan_merkle_proofs")
def merkle_proofs(items: Sequence[bytes], *, threads: int = 0) -> tuple[bytes, list[MerkleProof]]:
    """CometBFT `merkle.ProofsFromByteSlices(items)`: the root and every item's proof."""
    fn = "sultan_merkle_proofs"
    packed = _Packed(_bytes_list(items, fn))
    n = packed.count
    depth_out = ffi.new("size_t *")
    _check(lib.sultan_merkle_proof_depth(n, depth_out), "sultan_merkle_proof_depth")
    depth = int(depth_out[0])
    root = ffi.new("uint8_t[]", SHA256_SIZE)
    leaves = ffi.new("uint8_t[]", max(n * SHA256_SIZE, 1))
    aunts = ffi.new("uint8_t[]", max(n * depth * SHA256_SIZE, 1))
    counts = ffi.new("uint8_t[]", max(n, 1))
    _check(
        lib.sultan_merkle_proofs(
            packed.data,
            packed.data_len,
            packed.offsets,
            packed.lengths,
            n,
            root,
            SHA256_SIZE,
            leaves,
            n * SHA256_SIZE,
            aunts,
            n * depth * SHA256_SIZE,
            depth,
            counts,
            n,
            _threads(threads, fn),
        ),
        fn,
    )
    leaf_raw = ffi.buffer(leaves)[:]
    aunt_raw = ffi.buffer(aunts)[:]
    proofs = []
    for i in range(n):
        base = i * depth * SHA256_SIZE
        proofs.append(
            MerkleProof(
                total=n,
                index=i,
                leaf_hash=leaf_raw[i * SHA256_SIZE : (i + 1) * SHA256_SIZE],
                aunts=tuple(
                    aunt_raw[base + j * SHA256_SIZE : base + (j + 1) * SHA256_SIZE]
                    for j in range(counts[i])
                ),
            )
        )
    return ffi.buffer(root)[:], proofs


# --- signatures --------------------------------------------------------------------------------

Triple = tuple[bytes, bytes, bytes]


def _well_formed_columns(
    items: Sequence[Triple], pubkey_size: int, sig_size: int
) -> tuple[list[bytes], list[bytes], list[bytes]] | None:
    """(keys, messages, signatures) when every item is a bytes triple of the right sizes —
    the common case, checked in a few fast passes — else None."""
    if not items:
        return None
    try:
        keys, msgs, sigs = (list(column) for column in zip(*items, strict=True))
    except (TypeError, ValueError):
        return None
    if (
        all(type(k) is bytes and len(k) == pubkey_size for k in keys)
        and all(type(g) is bytes and len(g) == sig_size for g in sigs)
        and all(type(m) is bytes for m in msgs)
    ):
        return keys, msgs, sigs
    return None


def _split_triples(
    items: Sequence[Triple], pubkey_size: int, sig_size: int, function: str
) -> tuple[list[int], list[bytes], list[bytes], list[bytes], list[int]]:
    """(indexes sent to the core, keys, messages, signatures, pre-decided statuses).

    Keys or signatures of the wrong type or size never reach the core: their status is
    decided here (bad key / bad signature), as the fixed-size C records cannot hold them.
    """
    status = [VERIFY_INVALID] * len(items)
    fast = _well_formed_columns(items, pubkey_size, sig_size)
    if fast is not None:
        return list(range(len(items))), *fast, status
    sent: list[int] = []
    keys: list[bytes] = []
    msgs: list[bytes] = []
    sigs: list[bytes] = []
    for i, item in enumerate(items):
        try:
            pub, msg, sig = item
        except (TypeError, ValueError):
            raise TypeError(f"{function}: item {i} is not a (pubkey, message, signature)") from None
        if not isinstance(msg, bytes | bytearray | memoryview):
            raise TypeError(f"{function}: message {i} is {type(msg).__name__}, not bytes")
        if not isinstance(pub, bytes | bytearray) or len(pub) != pubkey_size:
            status[i] = VERIFY_BAD_PUBKEY
            continue
        if not isinstance(sig, bytes | bytearray) or len(sig) != sig_size:
            status[i] = VERIFY_BAD_SIGNATURE
            continue
        sent.append(i)
        keys.append(bytes(pub))
        msgs.append(bytes(msg))
        sigs.append(bytes(sig))
    return sent, keys, msgs, sigs, status


def _verify_batch(
    c_fn: Any,
    fn: str,
    keys: list[bytes],
    msgs: list[bytes],
    sigs: list[bytes],
    flags: int,
    threads: int,
) -> bytes:
    """One C batch-verify call (same signature for both curves): a status byte per item."""
    packed = _Packed(msgs)
    key_buf, key_len, _k = _fixed(keys)
    sig_buf, sig_len, _s = _fixed(sigs)
    n = len(keys)
    results = ffi.new("uint8_t[]", n)
    _check(
        c_fn(
            key_buf,
            key_len,
            packed.data,
            packed.data_len,
            packed.offsets,
            packed.lengths,
            sig_buf,
            sig_len,
            n,
            flags,
            results,
            n,
            threads,
        ),
        fn,
    )
    return bytes(ffi.buffer(results)[:])


@_instrumented("sultan_secp256k1_verify_batch")
def secp256k1_verify_status(
    items: Sequence[Triple],
    *,
    prehashed: bool = False,
    normalize_s: bool = False,
    threads: int = 0,
) -> list[int]:
    """One VERIFY_* status per (33-byte compressed key, message, 64-byte r‖s) item.

    Messages are hashed with SHA-256 first unless `prehashed` (then each must be 32 bytes).
    High-S signatures give VERIFY_HIGH_S unless `normalize_s` accepts them.
    """
    fn = "sultan_secp256k1_verify_batch"
    threads = _threads(threads, fn)
    sent, keys, msgs, sigs, status = _split_triples(
        items, SECP256K1_PUBKEY_SIZE, SECP256K1_SIGNATURE_SIZE, fn
    )
    if not sent:
        return status
    flags = (lib.SULTAN_SECP256K1_PREHASHED if prehashed else 0) | (
        lib.SULTAN_SECP256K1_NORMALIZE_S if normalize_s else 0
    )
    verdicts = _verify_batch(
        lib.sultan_secp256k1_verify_batch, fn, keys, msgs, sigs, flags, threads
    )
    if len(sent) == len(status):
        return list(verdicts)
    for j, i in enumerate(sent):
        status[i] = verdicts[j]
    return status


def secp256k1_verify_many(
    items: Sequence[Triple],
    *,
    prehashed: bool = False,
    normalize_s: bool = False,
    threads: int = 0,
) -> list[bool]:
    """True per item whose secp256k1 signature verifies (see `secp256k1_verify_status`)."""
    statuses = secp256k1_verify_status(
        items, prehashed=prehashed, normalize_s=normalize_s, threads=threads
    )
    return [s == VERIFY_VALID for s in statuses]


@_instrumented("sultan_ed25519_verify_batch")
def ed25519_verify_many(items: Sequence[Triple], *, threads: int = 0) -> list[bool]:
    """True per (32-byte key, message, 64-byte signature) item that verifies (RFC 8032)."""
    fn = "sultan_ed25519_verify_batch"
    threads = _threads(threads, fn)
    sent, keys, msgs, sigs, status = _split_triples(
        items, ED25519_PUBKEY_SIZE, ED25519_SIGNATURE_SIZE, fn
    )
    out = [False] * len(items)
    if not sent:
        return out
    verdicts = _verify_batch(lib.sultan_ed25519_verify_batch, fn, keys, msgs, sigs, 0, threads)
    valid = int(lib.SULTAN_VERIFY_VALID)
    for j, verdict in enumerate(verdicts):
        out[sent[j]] = verdict == valid
    return out


# --- signing -----------------------------------------------------------------------------------


def _secret(key: bytes, size: int, what: str, function: str) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != size:
        got = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise InvalidParameterError(function, f"{what} must be {size} bytes, got {got}")
    return bytes(key)


def _message(message: bytes, function: str) -> bytes:
    if not isinstance(message, bytes | bytearray | memoryview):
        raise TypeError(f"{function}: the message is {type(message).__name__}, not bytes")
    return bytes(message)


@_instrumented("sultan_secp256k1_public_key")
def secp256k1_public_key(secret_key: bytes) -> bytes:
    """The 33-byte compressed public key of a 32-byte secp256k1 secret key; a key that is
    zero or not below the group order raises InvalidParameterError."""
    fn = "sultan_secp256k1_public_key"
    key = _secret(secret_key, SECP256K1_SECKEY_SIZE, "a secp256k1 secret key", fn)
    out = ffi.new("uint8_t[]", SECP256K1_PUBKEY_SIZE)
    _check(lib.sultan_secp256k1_public_key(key, len(key), out, SECP256K1_PUBKEY_SIZE), fn)
    return ffi.buffer(out)[:]


@_instrumented("sultan_secp256k1_sign")
def secp256k1_sign(secret_key: bytes, message: bytes, *, prehashed: bool = False) -> bytes:
    """r || s of SHA-256(`message`) (or of the 32-byte `message` itself when `prehashed`),
    RFC 6979 and low-S: what Cosmos secp256k1 keys produce."""
    fn = "sultan_secp256k1_sign"
    key = _secret(secret_key, SECP256K1_SECKEY_SIZE, "a secp256k1 secret key", fn)
    msg = _message(message, fn)
    out = ffi.new("uint8_t[]", SECP256K1_SIGNATURE_SIZE)
    flags = lib.SULTAN_SECP256K1_PREHASHED if prehashed else 0
    _check(
        lib.sultan_secp256k1_sign(
            key, len(key), msg, len(msg), flags, out, SECP256K1_SIGNATURE_SIZE
        ),
        fn,
    )
    return ffi.buffer(out)[:]


@_instrumented("sultan_secp256k1_check_pubkeys")
def secp256k1_check_pubkeys(pub_keys: Sequence[bytes]) -> list[bool]:
    """Per compressed key (33 bytes): whether it parses (prefix 0x02/0x03, x on the curve);
    a key of another length is simply False."""
    fn = "sultan_secp256k1_check_pubkeys"
    keys = _bytes_list(pub_keys, fn)
    sized = [i for i, key in enumerate(keys) if len(key) == SECP256K1_PUBKEY_SIZE]
    results = [False] * len(keys)
    if not sized:
        return results
    buf, size, _keep = _fixed([keys[i] for i in sized])
    out = ffi.new("uint8_t[]", len(sized))
    _check(lib.sultan_secp256k1_check_pubkeys(buf, size, len(sized), out, len(sized)), fn)
    for i, status in zip(sized, ffi.buffer(out)[:], strict=True):
        results[i] = status == VERIFY_VALID
    return results


@_instrumented("sultan_ed25519_public_key")
def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte ed25519 public key of a 32-byte seed (RFC 8032)."""
    fn = "sultan_ed25519_public_key"
    key = _secret(seed, ED25519_SEED_SIZE, "an ed25519 seed", fn)
    out = ffi.new("uint8_t[]", ED25519_PUBKEY_SIZE)
    _check(lib.sultan_ed25519_public_key(key, len(key), out, ED25519_PUBKEY_SIZE), fn)
    return ffi.buffer(out)[:]


@_instrumented("sultan_ed25519_sign")
def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """The RFC 8032 ed25519 signature (64 bytes) of `message` under a 32-byte seed."""
    fn = "sultan_ed25519_sign"
    key = _secret(seed, ED25519_SEED_SIZE, "an ed25519 seed", fn)
    msg = _message(message, fn)
    out = ffi.new("uint8_t[]", ED25519_SIGNATURE_SIZE)
    _check(lib.sultan_ed25519_sign(key, len(key), msg, len(msg), out, ED25519_SIGNATURE_SIZE), fn)
    return ffi.buffer(out)[:]
