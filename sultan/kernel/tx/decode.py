"""Decoding Cosmos transactions (`cosmos.tx.v1beta1.TxRaw`) into routable messages."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs
from google.protobuf.message import DecodeError

from sultan.kernel.errors import ErrTxDecode
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2


@attrs.frozen
class DecodedTx:
    raw: bytes
    tx_raw: Any  # tx_pb2.TxRaw
    body: Any  # tx_pb2.TxBody
    auth_info: Any  # tx_pb2.AuthInfo
    msgs: tuple[tuple[str, Any], ...]  # (type URL, decoded message)

    @property
    def hash(self) -> bytes:
        return tx_hash(self.raw)

    @property
    def gas_limit(self) -> int:
        return int(self.auth_info.fee.gas_limit)


def tx_hash(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def _parse(cls: Any, data: bytes, what: str) -> Any:
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ErrTxDecode(f"invalid {what}: {exc}") from None
    return msg


def decode_tx(raw: bytes, message_classes: Mapping[str, Any]) -> DecodedTx:
    """Decode TxRaw → TxBody/AuthInfo and every message by its type URL.

    An unknown type URL is a decode error, as in the SDK ("unable to resolve type URL").
    """
    if not raw:
        raise ErrTxDecode("tx bytes are empty")
    tx_raw = _parse(tx_pb2.TxRaw, raw, "TxRaw")
    body = _parse(tx_pb2.TxBody, tx_raw.body_bytes, "tx body")
    auth_info = _parse(tx_pb2.AuthInfo, tx_raw.auth_info_bytes, "auth info")
    msgs = []
    for any_msg in body.messages:
        cls = message_classes.get(any_msg.type_url)
        if cls is None:
            raise ErrTxDecode(f"unable to resolve type URL {any_msg.type_url}")
        msgs.append((any_msg.type_url, _parse(cls, any_msg.value, any_msg.type_url)))
    return DecodedTx(raw, tx_raw, body, auth_info, tuple(msgs))
