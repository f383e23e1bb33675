"""The loader: error codes become typed exceptions, bad Python arguments raise (never crash),
the cdef agrees with the header, and every call is counted in the FFI Prometheus series."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from sultan.kernel import metrics
from sultan.kernel.crypto import native
from sultan.kernel.crypto.native import ffi, lib

HEADER = Path(__file__).resolve().parents[2] / "native" / "include" / "sultan_crypto.h"


def test_error_codes_are_the_original_nodes_set() -> None:
    assert [
        lib.SULTAN_SUCCESS,
        lib.SULTAN_NULL_POINTER,
        lib.SULTAN_INVALID_UTF8,
        lib.SULTAN_INVALID_PARAMETER,
        lib.SULTAN_BLOCKCHAIN_ERROR,
        lib.SULTAN_CONSENSUS_ERROR,
        lib.SULTAN_INTERNAL_ERROR,
    ] == list(range(7))


def test_header_constants_match_the_loaded_library() -> None:
    defines = dict(re.findall(r"#define (SULTAN_\w+) (0x[0-9a-f]+u|\d+)", HEADER.read_text()))
    assert len(defines) >= 20
    for name, value in defines.items():
        assert getattr(lib, name) == int(value.rstrip("u"), 0), name
    assert native.version() == "0.1.0"
    assert native.abi_version() == lib.SULTAN_CRYPTO_ABI_VERSION == 1


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1, native.NullPointerError),
        (2, native.InvalidUtf8Error),
        (3, native.InvalidParameterError),
        (4, native.BlockchainError),
        (5, native.ConsensusError),
        (6, native.InternalError),
    ],
)
def test_codes_map_to_typed_exceptions(code: int, cls: type[native.NativeCryptoError]) -> None:
    with pytest.raises(cls) as info:
        native._check(code, "sultan_example")
    assert isinstance(info.value, native.NativeCryptoError)
    assert info.value.code == code and info.value.function == "sultan_example"
    assert str(info.value).startswith("sultan_example: ")
    native._check(0, "sultan_example")  # success raises nothing


def test_unknown_code_is_still_a_native_error() -> None:
    with pytest.raises(native.NativeCryptoError) as info:
        native._check(42, "sultan_example")
    assert info.value.code == 42 and "unknown error code" in str(info.value)


def test_null_pointers_and_bad_lengths_come_back_as_codes_not_crashes() -> None:
    null = ffi.NULL
    out = ffi.new("uint8_t[]", 64)
    sizes = ffi.new("size_t[]", [4, 4])
    assert lib.sultan_sha256_batch(null, 8, sizes, sizes, 2, out, 64, 0) == 1
    assert lib.sultan_sha256_batch(null, 0, null, null, 2, out, 64, 0) == 1
    data = ffi.new("uint8_t[]", 8)
    assert lib.sultan_sha256_batch(data, 8, sizes, sizes, 2, out, 63, 0) == 3
    assert lib.sultan_sha256_batch(data, 7, sizes, sizes, 2, out, 64, 0) == 3
    assert lib.sultan_merkle_root(data, 8, sizes, sizes, 2, null, 32, 0) == 1
    huge = 2**64 - 1
    assert lib.sultan_merkle_root_from_leaf_hashes(data, 8, huge, out, 32) == 3
    assert (
        lib.sultan_secp256k1_verify_batch(
            data, 8, data, 8, sizes, sizes, data, 8, huge, 0, out, 64, 0
        )
        == 3
    )
    assert (
        lib.sultan_ed25519_verify_batch(null, 0, null, 0, null, null, null, 0, 0, 0, null, 0, 0)
        == 0
    )
    assert lib.sultan_merkle_proof_depth(5, null) == 1


@pytest.mark.parametrize("threads", [-1, 65, 2**40, True, "2", 1.0])
def test_bad_thread_counts_raise_invalid_parameter(threads: object) -> None:
    with pytest.raises(native.InvalidParameterError):
        native.sha256_many([b"x"], threads=threads)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # InvalidParameterError is a ValueError too
        native.secp256k1_verify_many([(b"\x02" * 33, b"m", b"s" * 64)], threads=threads)  # type: ignore[arg-type]


def test_wrong_python_types_raise_type_errors() -> None:
    with pytest.raises(TypeError):
        native.sha256_many(["text"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        native.merkle_root([b"ok", 5])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        native.secp256k1_verify_many([(b"k", b"m")])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        native.ed25519_verify_many([(b"k" * 32, "message", b"s" * 64)])  # type: ignore[list-item]
    with pytest.raises(native.InvalidParameterError):
        native.merkle_root_from_leaf_hashes([b"\x00" * 31])


def test_empty_batches() -> None:
    assert native.sha256_many([]) == []
    assert native.secp256k1_verify_many([]) == []
    assert native.ed25519_verify_many([]) == []
    root, proofs = native.merkle_proofs([])
    assert root == native.merkle_root([]) == native.sha256(b"") and proofs == []


def _sample(name: str, function: str) -> float:
    registry = CollectorRegistry()
    registry.register(metrics.FFI_CALLS)
    registry.register(metrics.FFI_DURATION)
    value = registry.get_sample_value(name, {"function": function})
    return value or 0.0


def test_every_call_is_counted_with_its_duration() -> None:
    before = _sample("sultan_ffi_calls_total", "sultan_sha256_batch")
    hist_before = _sample("sultan_ffi_duration_seconds_count", "sultan_sha256_batch")
    native.sha256_many([b"a", b"b"])
    with pytest.raises(native.InvalidParameterError):
        native.sha256_many([b"a"], threads=-1)  # failed calls count too
    assert _sample("sultan_ffi_calls_total", "sultan_sha256_batch") == before + 2
    assert _sample("sultan_ffi_duration_seconds_count", "sultan_sha256_batch") == hist_before + 2
    native.secp256k1_verify_many([(b"\x02" * 33, b"m", b"\x01" * 64)])
    assert _sample("sultan_ffi_calls_total", "sultan_secp256k1_verify_batch") >= 1


def test_ffi_series_are_exported_by_every_node_registry() -> None:
    assert metrics.FFI_CALLS in metrics.process_wide_metrics()
    assert metrics.FFI_DURATION in metrics.process_wide_metrics()
    native.merkle_root([b"x"])
    registry = CollectorRegistry()
    for collector in metrics.process_wide_metrics():
        registry.register(collector)
    text = generate_latest(registry).decode()
    assert 'sultan_ffi_calls_total{function="sultan_merkle_root"}' in text
    assert 'sultan_ffi_duration_seconds_bucket{function="sultan_merkle_root",le="0.001"}' in text
