"""A minimal secp256k1 wallet for tests and tools: keys, addresses and SIGN_MODE_DIRECT txs.

The signing core lives in `sultan.client.signing` (the `sultan tx` commands use it too);
this module adds deterministic test keys and keeps the names tests import. Transactions are
built exactly as cosmpy and CosmJS build them, so what passes here passes for those clients.

    alice = Wallet.from_seed("alice")
    tx = alice.sign_tx([msg], fee="200usultan", gas=200_000, sequence=0,
                       account_number=3, chain_id="test-1")
"""

from __future__ import annotations

import hashlib

from sultan.client.signing import (
    PUBKEY_TYPE_URL,
    SIGN_MODE_DIRECT,
    PrivateKeySigner,
    SignerSpec,
    build_tx,
    fee_coins,
    pack,
    sign_parts,
    tx_parts,
)

_fee_coins = fee_coins  # the old private name, kept for callers that used it

__all__ = [
    "PUBKEY_TYPE_URL",
    "SIGN_MODE_DIRECT",
    "SignerSpec",
    "Wallet",
    "build_tx",
    "pack",
    "sign_parts",
    "tx_parts",
]


class Wallet(PrivateKeySigner):
    """A secp256k1 key with its Cosmos address (prefix "sultan")."""

    @classmethod
    def from_seed(cls, seed: str | bytes) -> Wallet:
        """A deterministic test key: sha256(seed) (never use for real funds)."""
        raw = seed.encode() if isinstance(seed, str) else seed
        return cls(hashlib.sha256(b"sultan-test-wallet/" + raw).digest())
