"""sultan.kernel.crypto.secp256k1: low-S ECDSA, never raising on bad input."""

from __future__ import annotations

import pytest

from sultan.kernel.crypto import secp256k1


def test_sign_verify_and_low_s():
    key = b"\x09" * 32
    pub = secp256k1.public_key(key)
    sig = secp256k1.sign(key, b"message")
    assert len(sig) == 64 and int.from_bytes(sig[32:], "big") <= secp256k1.HALF_ORDER
    assert secp256k1.verify(pub, b"message", sig)
    assert not secp256k1.verify(pub, b"other", sig)
    s = int.from_bytes(sig[32:], "big")
    high = sig[:32] + (secp256k1.ORDER - s).to_bytes(32, "big")
    assert not secp256k1.verify(pub, b"message", high)


@pytest.mark.parametrize(
    "pub, sig",
    [
        (b"", b"\x01" * 64),
        (b"\x04" + b"\x01" * 32, b"\x01" * 64),
        (b"\x02" + b"\xff" * 32, b"\x01" * 64),
        (None, b"\x00" * 64),
        (None, b"\x01" * 63),
        (None, b"\xff" * 64),
        (None, "not bytes"),
    ],
)
def test_malformed_inputs_do_not_verify(pub, sig):
    key = secp256k1.public_key(b"\x09" * 32)
    assert secp256k1.verify(pub if pub is not None else key, b"m", sig) is False
