"""Verified signatures, remembered: a signature checked once is not checked again.

Two paths fill the cache:

- CheckTx: the auth ante's SigVerification calls `verify(...)`, which checks the cache,
  verifies on a miss and remembers a success;
- FinalizeBlock: before executing a block, the Application asks each module's
  `signature_batch` provider for the checks its ante will make and verifies all of them
  with `verify_batch` — one call into the C crypto core over all cores, skipping what
  CheckTx already verified. The ante then finds them in the cache.

Why this keeps consensus semantics identical: the cache holds only *successes*, keyed by a
SHA-256 over (scheme, public key, signature, exact signed bytes) with lengths that make the
encoding unambiguous, and the scheme fixes the rule (secp256k1 here always means the Cosmos
rule: low-S required). A hit therefore means "this exact check was made and passed"; a miss
or a failure is simply verified again. Gas and errors are charged by the ante as before,
whether or not the cache answered. The cache is process-wide and safe to share between
nodes and threads: a verification result does not depend on chain state.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import attrs

from sultan.kernel.crypto import native

SECP256K1 = "secp256k1"
ED25519 = "ed25519"
SCHEMES = (SECP256K1, ED25519)
DEFAULT_CAPACITY = 65536


@attrs.frozen(slots=True)
class SignatureCheck:
    """One signature an ante decorator will verify: `signature` over `message` by `pub_key`.

    `message` is the exact signed bytes (for SIGN_MODE_DIRECT, the SignDoc), not a digest.
    """

    scheme: str
    pub_key: bytes
    message: bytes
    signature: bytes

    def cache_key(self) -> bytes:
        if self.scheme not in SCHEMES:
            raise ValueError(f"unknown signature scheme {self.scheme!r}")
        h = hashlib.sha256(self.scheme.encode() + b"\x00")
        h.update(len(self.pub_key).to_bytes(4, "big"))
        h.update(self.pub_key)
        h.update(len(self.signature).to_bytes(4, "big"))
        h.update(self.signature)
        h.update(self.message)
        return h.digest()


class VerifiedSignatureCache:
    """A bounded, thread-safe set of cache keys of verified signatures (LRU eviction)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._keys: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._keys)

    def contains(self, key: bytes) -> bool:
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                self.hits += 1
                return True
            self.misses += 1
            return False

    def add(self, key: bytes) -> None:
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self.capacity:
                self._keys.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self.hits = self.misses = 0


CACHE = VerifiedSignatureCache()


def _verify_uncached(checks: Sequence[SignatureCheck]) -> list[bool]:
    """Verify in one core call per scheme (batches run over all cores)."""
    results = [False] * len(checks)
    for scheme, verify_many in (
        (SECP256K1, native.secp256k1_verify_many),
        (ED25519, native.ed25519_verify_many),
    ):
        indexes = [i for i, c in enumerate(checks) if c.scheme == scheme]
        if not indexes:
            continue
        threads = 0 if len(indexes) > 1 else 1
        verdicts = verify_many(
            [(checks[i].pub_key, checks[i].message, checks[i].signature) for i in indexes],
            threads=threads,
        )
        for i, ok in zip(indexes, verdicts, strict=True):
            results[i] = ok
    return results


def verify_batch(
    checks: Sequence[SignatureCheck], cache: VerifiedSignatureCache | None = None
) -> list[bool]:
    """Whether each check passes; verifies only the ones not in the cache, in one batch."""
    cache = CACHE if cache is None else cache
    keys = [c.cache_key() for c in checks]
    results = [cache.contains(k) for k in keys]
    todo = [i for i, hit in enumerate(results) if not hit]
    if todo:
        for i, ok in zip(todo, _verify_uncached([checks[i] for i in todo]), strict=True):
            results[i] = ok
            if ok:
                cache.add(keys[i])
    return results


def verify(check: SignatureCheck, cache: VerifiedSignatureCache | None = None) -> bool:
    """Whether one check passes, answered from the cache when it was verified before."""
    return verify_batch([check], cache)[0]


def verify_secp256k1(
    pub_key: bytes, message: bytes, signature: bytes, cache: VerifiedSignatureCache | None = None
) -> bool:
    """`secp256k1.verify` (Cosmos rule: low-S), answered from the cache when possible."""
    if not all(isinstance(x, bytes) for x in (pub_key, message, signature)):
        return native.secp256k1_verify_many([(pub_key, message, signature)], threads=1)[0]
    return verify(SignatureCheck(SECP256K1, pub_key, message, signature), cache)
