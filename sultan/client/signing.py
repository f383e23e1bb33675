"""SIGN_MODE_DIRECT transactions: secp256k1 signers, TxBody/AuthInfo building, signing.

Transactions are built exactly as cosmpy and CosmJS build them — TxBody and AuthInfo
serialized once, the SignDoc{body_bytes, auth_info_bytes, chain_id, account_number} signed
with ECDSA-SHA256 (low-S, 64-byte r‖s), the same bytes carried in TxRaw — so what the node
accepts from here it accepts from those clients too. `sultan.testing.wallet` builds on this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

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
DEFAULT_GAS_LIMIT = 200_000

FeeLike = Coins | str | Iterable[Any] | None


def pack(msg: Any) -> Any:
    """A protobuf message as an `Any` with the "/full.Name" type URL."""
    packed = any_pb2.Any()
    packed.Pack(msg, type_url_prefix="/")
    return packed


def fee_coins(fee: FeeLike) -> list[Any]:
    """Fee coins as repeated `cosmos.base.v1beta1.Coin` ("500usultan", Coins or protos)."""
    if fee is None:
        return []
    if isinstance(fee, str):
        return Coins.parse(fee).to_proto()
    if isinstance(fee, Coins):
        return fee.to_proto()
    return list(fee)


def pub_key_any(public_key: bytes) -> Any:
    """A 33-byte compressed secp256k1 key as the `Any` signer infos and accounts carry."""
    return any_pb2.Any(
        type_url=PUBKEY_TYPE_URL,
        value=secp256k1_pb.PubKey(key=public_key).SerializeToString(),
    )


class Signer(Protocol):
    """Anything that can sign for one account: its public key and a `sign(bytes)`."""

    public_key: bytes

    def pub_key_any(self) -> Any: ...

    def sign(self, message: bytes) -> bytes: ...


class PrivateKeySigner:
    """A secp256k1 private key with its Cosmos address (prefix "sultan")."""

    def __init__(self, private_key: bytes) -> None:
        self.private_key = bytes(private_key)
        self.public_key = secp256k1.public_key(self.private_key)
        self.address_bytes = pubkey_to_address(self.public_key)
        self.address = ACCOUNT_CODEC.to_string(self.address_bytes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"

    def pub_key_any(self) -> Any:
        return pub_key_any(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return secp256k1.sign(self.private_key, message)

    def sign_tx(
        self,
        msgs: Sequence[Any],
        *,
        sequence: int,
        account_number: int,
        chain_id: str,
        fee: FeeLike = None,
        gas: int = DEFAULT_GAS_LIMIT,
        memo: str = "",
        timeout_height: int = 0,
        fee_payer: str = "",
    ) -> bytes:
        """TxRaw bytes of `msgs` signed by this key alone (SIGN_MODE_DIRECT)."""
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


@attrs.frozen
class SignerSpec:
    """One signer of a tx: the key (`wallet`), its account number and sequence."""

    wallet: Signer
    account_number: int
    sequence: int


def tx_parts(
    msgs: Sequence[Any],
    signers: Sequence[SignerSpec],
    *,
    fee: FeeLike = None,
    gas: int = DEFAULT_GAS_LIMIT,
    memo: str = "",
    timeout_height: int = 0,
    fee_payer: str = "",
    sign_mode: Any = SIGN_MODE_DIRECT,
) -> tuple[Any, Any]:
    """The TxBody and AuthInfo messages (unserialized)."""
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
        fee=tx_pb2.Fee(amount=fee_coins(fee), gas_limit=gas, payer=fee_payer),
    )
    return body, auth_info


def sign_doc_bytes(
    body_bytes: bytes, auth_info_bytes: bytes, chain_id: str, account_number: int
) -> bytes:
    """The serialized SignDoc a SIGN_MODE_DIRECT signature covers."""
    return tx_pb2.SignDoc(
        body_bytes=body_bytes,
        auth_info_bytes=auth_info_bytes,
        chain_id=chain_id,
        account_number=account_number,
    ).SerializeToString()


def sign_parts(
    body_bytes: bytes,
    auth_info_bytes: bytes,
    signers: Sequence[SignerSpec],
    chain_id: str,
) -> bytes:
    """TxRaw bytes with one DIRECT signature per signer over the given serialized parts."""
    signatures = [
        spec.wallet.sign(sign_doc_bytes(body_bytes, auth_info_bytes, chain_id, spec.account_number))
        for spec in signers
    ]
    return tx_pb2.TxRaw(
        body_bytes=body_bytes, auth_info_bytes=auth_info_bytes, signatures=signatures
    ).SerializeToString()


def unsigned_tx(body: Any, auth_info: Any) -> bytes:
    """TxRaw bytes with one empty signature per signer info: what `Simulate` wants."""
    return tx_pb2.TxRaw(
        body_bytes=body.SerializeToString(),
        auth_info_bytes=auth_info.SerializeToString(),
        signatures=[b"" for _ in auth_info.signer_infos],
    ).SerializeToString()


def build_tx(
    msgs: Sequence[Any],
    signers: Sequence[SignerSpec],
    *,
    chain_id: str,
    fee: FeeLike = None,
    gas: int = DEFAULT_GAS_LIMIT,
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
