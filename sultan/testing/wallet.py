"""A minimal secp256k1 wallet for tests and tools: keys, addresses and SIGN_MODE_DIRECT txs.

It builds transactions exactly as cosmpy and CosmJS do — TxBody and AuthInfo serialized
once, the SignDoc{body_bytes, auth_info_bytes, chain_id, account_number} signed with
ECDSA-SHA256 (low-S, 64-byte r‖s), the same bytes carried in TxRaw — so what passes here
passes for those clients too.

    alice = Wallet.from_seed("alice")
    tx = alice.sign_tx([msg], fee="200usultan", gas=200_000, sequence=0,
                       account_number=3, chain_id="test-1")
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
from google.protobuf import any_pb2

from sultan.kernel.address import ACCOUNT_CODEC, pubkey_to_address
from sultan.kernel.coins import Coins
from sultan.kernel.crypto import secp256k1
from sultan.pb.cosmos.crypto.secp256k1 import keys_pb2 as secp256k1_pb
from sultan.pb.cosmos.tx.signing.v1beta1 import signing_pb2
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2

SIGN_MODE_DIRECT = signing_pb2.SIGN_MODE_DIRECT
PUBKEY_TYPE_URL = "/cosmos.crypto.secp256k1.PubKey"


def pack(msg: Any) -> Any:
    """A protobuf message as an `Any` with the "/full.Name" type URL."""
    packed = any_pb2.Any()
    packed.Pack(msg, type_url_prefix="/")
    return packed


def _fee_coins(fee: Coins | str | Iterable[Any] | None) -> list[Any]:
    if fee is None:
        return []
    if isinstance(fee, str):
        return Coins.parse(fee).to_proto()
    if isinstance(fee, Coins):
        return fee.to_proto()
    return list(fee)


@attrs.frozen
class SignerSpec:
    """One signer of a tx: the wallet, its account number and sequence."""

    wallet: Wallet
    account_number: int
    sequence: int


class Wallet:
    """A secp256k1 key with its Cosmos address (prefix "sultan")."""

    def __init__(self, private_key: bytes) -> None:
        self.private_key = bytes(private_key)
        self.public_key = secp256k1.public_key(self.private_key)
        self.address_bytes = pubkey_to_address(self.public_key)
        self.address = ACCOUNT_CODEC.to_string(self.address_bytes)

    @classmethod
    def from_seed(cls, seed: str | bytes) -> Wallet:
        """A deterministic test key: sha256(seed) (never use for real funds)."""
        raw = seed.encode() if isinstance(seed, str) else seed
        return cls(hashlib.sha256(b"sultan-test-wallet/" + raw).digest())

    def __repr__(self) -> str:
        return f"Wallet({self.address})"

    def pub_key_any(self) -> Any:
        return any_pb2.Any(
            type_url=PUBKEY_TYPE_URL,
            value=secp256k1_pb.PubKey(key=self.public_key).SerializeToString(),
        )

    def sign(self, message: bytes) -> bytes:
        return secp256k1.sign(self.private_key, message)

    def sign_tx(
        self,
        msgs: Sequence[Any],
        *,
        sequence: int,
        account_number: int,
        chain_id: str,
        fee: Coins | str | Iterable[Any] | None = None,
        gas: int = 200_000,
        memo: str = "",
        timeout_height: int = 0,
        fee_payer: str = "",
    ) -> bytes:
        """TxRaw bytes of `msgs` signed by this wallet alone (SIGN_MODE_DIRECT)."""
        return build_tx(
            msgs,
            [SignerSpec(self, account_number, sequence)],
            chain_id=chain_id,
            fee=fee,
            gas=gas,
            memo=memo,
            timeout_height=timeout_height,
            fee_payer=fee_payer,
        )


def tx_parts(
    msgs: Sequence[Any],
    signers: Sequence[SignerSpec],
    *,
    fee: Coins | str | Iterable[Any] | None = None,
    gas: int = 200_000,
    memo: str = "",
    timeout_height: int = 0,
    fee_payer: str = "",
    sign_mode: Any = SIGN_MODE_DIRECT,
) -> tuple[Any, Any]:
    """The TxBody and AuthInfo messages (unserialized), for tests that tamper with them."""
    body = tx_pb2.TxBody(
        messages=[m if isinstance(m, any_pb2.Any) else pack(m) for m in msgs],
        memo=memo,
        timeout_height=timeout_height,
    )
    auth_info = tx_pb2.AuthInfo(
        signer_infos=[
            tx_pb2.SignerInfo(
                public_key=s.wallet.pub_key_any(),
                mode_info=tx_pb2.ModeInfo(single=tx_pb2.ModeInfo.Single(mode=sign_mode)),
                sequence=s.sequence,
            )
            for s in signers
        ],
        fee=tx_pb2.Fee(amount=_fee_coins(fee), gas_limit=gas, payer=fee_payer),
    )
    return body, auth_info


def sign_parts(
    body_bytes: bytes,
    auth_info_bytes: bytes,
    signers: Sequence[SignerSpec],
    chain_id: str,
) -> bytes:
    """TxRaw bytes with one DIRECT signature per signer over the given serialized parts."""
    signatures = []
    for spec in signers:
        sign_doc = tx_pb2.SignDoc(
            body_bytes=body_bytes,
            auth_info_bytes=auth_info_bytes,
            chain_id=chain_id,
            account_number=spec.account_number,
        )
        signatures.append(spec.wallet.sign(sign_doc.SerializeToString()))
    return tx_pb2.TxRaw(
        body_bytes=body_bytes, auth_info_bytes=auth_info_bytes, signatures=signatures
    ).SerializeToString()


def build_tx(
    msgs: Sequence[Any],
    signers: Sequence[SignerSpec],
    *,
    chain_id: str,
    fee: Coins | str | Iterable[Any] | None = None,
    gas: int = 200_000,
    memo: str = "",
    timeout_height: int = 0,
    fee_payer: str = "",
) -> bytes:
    """TxRaw bytes of `msgs` signed by every signer in order (SIGN_MODE_DIRECT)."""
    body, auth_info = tx_parts(
        msgs,
        signers,
        fee=fee,
        gas=gas,
        memo=memo,
        timeout_height=timeout_height,
        fee_payer=fee_payer,
    )
    return sign_parts(body.SerializeToString(), auth_info.SerializeToString(), signers, chain_id)
