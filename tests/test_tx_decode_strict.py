"""Tx decoding rejects what the SDK's decoder rejects: non-ADR-027 TxRaw, unknown fields."""

from __future__ import annotations

import pytest
from google.protobuf import any_pb2

from sultan.kernel.errors import ErrTxDecode
from sultan.kernel.modules import MsgRoute
from sultan.kernel.tx.decode import decode_tx
from sultan.pb.cosmos.base.v1beta1 import coin_pb2
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2

ROUTES = {
    "/cosmos.base.v1beta1.Coin": MsgRoute(
        "t", "/cosmos.base.v1beta1.Coin", coin_pb2.Coin, lambda c, m: None
    )
}


def _tx(body: bytes | None = None, auth: bytes | None = None, sigs=(b"s",)) -> bytes:
    msg = any_pb2.Any()
    msg.Pack(coin_pb2.Coin(denom="stake", amount="1"), type_url_prefix="/")
    body_bytes = body if body is not None else tx_pb2.TxBody(messages=[msg]).SerializeToString()
    auth_bytes = (
        auth
        if auth is not None
        else tx_pb2.AuthInfo(fee=tx_pb2.Fee(gas_limit=1)).SerializeToString()
    )
    return tx_pb2.TxRaw(
        body_bytes=body_bytes, auth_info_bytes=auth_bytes, signatures=list(sigs)
    ).SerializeToString()


def test_a_well_formed_tx_decodes():
    tx = decode_tx(_tx(), ROUTES)
    assert tx.msgs[0][1].amount == "1"


def test_txraw_fields_out_of_order_are_rejected():
    raw = tx_pb2.TxRaw.FromString(_tx())
    reordered = (
        tx_pb2.TxRaw(auth_info_bytes=raw.auth_info_bytes).SerializeToString()
        + tx_pb2.TxRaw(body_bytes=raw.body_bytes).SerializeToString()
    )
    with pytest.raises(ErrTxDecode, match="txRaw must follow ADR-027"):
        decode_tx(reordered, ROUTES)


def test_non_minimal_length_prefix_is_rejected():
    raw = _tx(sigs=())
    padded = raw[:1] + bytes([raw[1] | 0x80, 0x00]) + raw[2:]
    with pytest.raises(ErrTxDecode, match="not as short as possible"):
        decode_tx(padded, ROUTES)


def test_unknown_fields():
    with pytest.raises(ErrTxDecode, match="errUnknownField"):
        decode_tx(_tx() + b"\x22\x00", ROUTES)  # TxRaw field 4
    body = tx_pb2.TxBody.FromString(tx_pb2.TxRaw.FromString(_tx()).body_bytes).SerializeToString()
    with pytest.raises(
        ErrTxDecode, match='errUnknownField "\\*cosmos.tx.v1beta1.TxBody": {TagNum: 9'
    ):
        decode_tx(_tx(body=body + b"\x48\x01"), ROUTES)
    decode_tx(_tx(body=body + b"\xb0\x40\x01"), ROUTES)  # 1030: non-critical, allowed
    auth = tx_pb2.AuthInfo(fee=tx_pb2.Fee(gas_limit=1)).SerializeToString()
    with pytest.raises(ErrTxDecode, match="AuthInfo"):
        decode_tx(_tx(auth=auth + b"\xb0\x40\x01"), ROUTES)


def test_unknown_fields_inside_messages_and_wrong_wire_types():
    coin = coin_pb2.Coin(denom="stake", amount="1").SerializeToString()
    msg = any_pb2.Any(type_url="/cosmos.base.v1beta1.Coin", value=coin + b"\x18\x01")
    body = tx_pb2.TxBody(messages=[msg]).SerializeToString()
    with pytest.raises(ErrTxDecode, match="cosmos.base.v1beta1.Coin"):
        decode_tx(_tx(body=body), ROUTES)
    wrong_wire = any_pb2.Any(type_url="/cosmos.base.v1beta1.Coin", value=b"\x08\x01")
    with pytest.raises(ErrTxDecode, match="Mismatched"):
        decode_tx(_tx(body=tx_pb2.TxBody(messages=[wrong_wire]).SerializeToString()), ROUTES)


def test_unresolvable_pubkey_type_in_auth_info():
    info = tx_pb2.SignerInfo(public_key=any_pb2.Any(type_url="/x.Key", value=b""))
    auth = tx_pb2.AuthInfo(signer_infos=[info], fee=tx_pb2.Fee(gas_limit=1)).SerializeToString()
    with pytest.raises(ErrTxDecode, match="unable to resolve type URL /x.Key"):
        decode_tx(_tx(auth=auth), ROUTES)


@pytest.mark.parametrize(
    "amount, message", [("12x", "cannot unmarshal"), (str(1 << 256), "integer out of range")]
)
def test_coin_amounts_must_be_256_bit_integers(amount, message):
    fee = tx_pb2.Fee(gas_limit=1, amount=[coin_pb2.Coin(denom="stake", amount=amount)])
    with pytest.raises(ErrTxDecode, match=message):
        decode_tx(_tx(auth=tx_pb2.AuthInfo(fee=fee).SerializeToString()), ROUTES)


@pytest.mark.parametrize("raw", [b"\xff", b"\x0a\x05ab", b"\x0a", b"\x08\x01"])
def test_garbage_is_a_decode_error(raw):
    with pytest.raises(ErrTxDecode):
        decode_tx(raw, ROUTES)
