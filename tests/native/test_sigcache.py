"""The verified-signature cache: only successes are kept, keys cannot be confused, bounded."""

from __future__ import annotations

import threading

import ecdsa
import pytest

from sultan.kernel.crypto import native, secp256k1, sigcache
from sultan.kernel.crypto.sigcache import SignatureCheck, VerifiedSignatureCache


def secp_check(n: int, msg: bytes = b"doc") -> SignatureCheck:
    priv = (1000 + n).to_bytes(32, "big")
    return SignatureCheck(
        sigcache.SECP256K1, secp256k1.public_key(priv), msg, secp256k1.sign(priv, msg)
    )


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the batches that reach the crypto core."""
    sizes: list[int] = []
    real = native.secp256k1_verify_many

    def spy(items, **kw):  # type: ignore[no-untyped-def]
        sizes.append(len(items))
        return real(items, **kw)

    monkeypatch.setattr(native, "secp256k1_verify_many", spy)
    return sizes


def test_success_is_cached_and_not_verified_again(counted: list[int]) -> None:
    cache = VerifiedSignatureCache()
    check = secp_check(1)
    assert sigcache.verify(check, cache) is True
    assert sigcache.verify(check, cache) is True
    assert counted == [1] and cache.hits == 1 and len(cache) == 1


def test_failures_are_never_cached(counted: list[int]) -> None:
    cache = VerifiedSignatureCache()
    good = secp_check(2)
    bad = SignatureCheck(good.scheme, good.pub_key, b"other", good.signature)
    assert sigcache.verify(bad, cache) is False
    assert sigcache.verify(bad, cache) is False
    assert counted == [1, 1] and len(cache) == 0


def test_batch_verifies_only_what_is_missing(counted: list[int]) -> None:
    cache = VerifiedSignatureCache()
    checks = [secp_check(i) for i in range(10)]
    assert sigcache.verify_batch(checks[:4], cache) == [True] * 4
    assert sigcache.verify_batch(checks, cache) == [True] * 10
    assert counted == [4, 6]


def test_keys_separate_scheme_key_signature_and_message() -> None:
    base = secp_check(3)
    variants = [
        SignatureCheck(sigcache.ED25519, base.pub_key, base.message, base.signature),
        SignatureCheck(base.scheme, base.pub_key[:-1], base.message, base.signature),
        # moving a byte from the key into the signature must give another key
        SignatureCheck(
            base.scheme, base.pub_key[:-1], base.message, base.pub_key[-1:] + base.signature
        ),
        SignatureCheck(base.scheme, base.pub_key, base.message + b"x", base.signature),
        SignatureCheck(base.scheme, base.pub_key, base.message, base.signature[:-1] + b"\x00"),
    ]
    keys = {v.cache_key() for v in variants} | {base.cache_key()}
    assert len(keys) == len(variants) + 1
    with pytest.raises(ValueError):
        SignatureCheck("rsa", b"", b"", b"").cache_key()


def test_ed25519_checks_go_to_the_ed25519_batch() -> None:
    cache = VerifiedSignatureCache()
    sk = ecdsa.SigningKey.from_string(b"\x05" * 32, curve=ecdsa.Ed25519)
    pub = sk.get_verifying_key().to_string()
    checks = [
        SignatureCheck(sigcache.ED25519, pub, b"vote", sk.sign(b"vote")),
        SignatureCheck(sigcache.ED25519, pub, b"vote", sk.sign(b"other")),
        secp_check(4),
    ]
    assert sigcache.verify_batch(checks, cache) == [True, False, True]
    assert len(cache) == 2


def test_cache_is_bounded_lru() -> None:
    cache = VerifiedSignatureCache(capacity=3)
    for key in (b"a", b"b", b"c"):
        cache.add(key)
    assert cache.contains(b"a")  # a becomes most recent
    cache.add(b"d")  # evicts b
    assert not cache.contains(b"b")
    assert all(cache.contains(k) for k in (b"a", b"c", b"d"))
    with pytest.raises(ValueError):
        VerifiedSignatureCache(capacity=0)


def test_cache_is_thread_safe() -> None:
    cache = VerifiedSignatureCache(capacity=500)

    def worker(base: int) -> None:
        for i in range(2000):
            key = (base * 100_000 + i).to_bytes(8, "big")
            cache.add(key)
            cache.contains(key)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 500


def test_verify_secp256k1_keeps_the_never_raising_contract() -> None:
    assert sigcache.verify_secp256k1(b"\x02" * 33, b"m", b"\x01" * 64) is False
    assert sigcache.verify_secp256k1(bytearray(33), b"m", b"\x01" * 64) is False
    check = secp_check(5)
    assert sigcache.verify_secp256k1(check.pub_key, check.message, check.signature) is True
