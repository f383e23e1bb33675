"""Decoding Cosmos transactions (`cosmos.tx.v1beta1.TxRaw`) into routable messages.

The checks follow the Cosmos SDK's `DefaultTxDecoder`, so a tx that one accepts the other
accepts too:

* TxRaw must follow ADR-027 (fields in ascending order, shortest length varints);
* unknown fields are rejected everywhere, recursively, including inside `Any`s (whose type
  URL must resolve): strictly in TxRaw and AuthInfo; in TxBody a field whose number has
  bit 11 set (≥ 1024, "non-critical") is tolerated, any other unknown field is an error;
* a field sent with a wire type its declaration cannot have is an error;
* `cosmos.base.v1beta1.Coin` amounts must be base-10 integers of at most 256 bits (the
  SDK's `math.Int` refuses the rest while unmarshalling).

Every failure is `ErrTxDecode` (sdk code 2).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

from sultan.kernel.errors import ErrTxDecode
from sultan.pb.cosmos.crypto.ed25519 import keys_pb2 as ed25519_pb
from sultan.pb.cosmos.crypto.multisig import keys_pb2 as multisig_pb
from sultan.pb.cosmos.crypto.secp256k1 import keys_pb2 as secp256k1_pb
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2


@attrs.frozen
class DecodedTx:
    raw: bytes
    tx_raw: Any  # tx_pb2.TxRaw
    body: Any  # tx_pb2.TxBody
    auth_info: Any  # tx_pb2.AuthInfo
    msgs: tuple[tuple[str, Any], ...]  # (type URL, decoded message)
    # Addresses (bech32) that must sign, in order of first appearance across messages.
    signers: tuple[str, ...] = ()

    @property
    def hash(self) -> bytes:
        return tx_hash(self.raw)

    @property
    def gas_limit(self) -> int:
        return int(self.auth_info.fee.gas_limit)


def tx_hash(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


# Public-key types an AuthInfo may carry (resolved inside its Anys).
PUBKEY_TYPES: dict[str, Any] = {
    "/cosmos.crypto.secp256k1.PubKey": secp256k1_pb.PubKey,
    "/cosmos.crypto.ed25519.PubKey": ed25519_pb.PubKey,
    "/cosmos.crypto.multisig.LegacyAminoPubKey": multisig_pb.LegacyAminoPubKey,
}

_NON_CRITICAL_BIT = 1 << 10
_MAX_DEPTH = 100
_MAX_INT_BITS = 256
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_WIRE_NAMES = {
    0: "varint",
    1: "fixed64",
    2: "bytes",
    3: "start_group",
    4: "end_group",
    5: "fixed32",
}

_T = FieldDescriptor
_VARINT_TYPES = {
    _T.TYPE_INT32,
    _T.TYPE_INT64,
    _T.TYPE_UINT32,
    _T.TYPE_UINT64,
    _T.TYPE_SINT32,
    _T.TYPE_SINT64,
    _T.TYPE_BOOL,
    _T.TYPE_ENUM,
}
_FIXED64_TYPES = {_T.TYPE_FIXED64, _T.TYPE_SFIXED64, _T.TYPE_DOUBLE}
_FIXED32_TYPES = {_T.TYPE_FIXED32, _T.TYPE_SFIXED32, _T.TYPE_FLOAT}
_ALLOWED_WIRE: dict[int, set[int]] = {
    0: _VARINT_TYPES,
    1: _FIXED64_TYPES,
    # Length-delimited: strings, bytes, messages and packed repeated numbers.
    2: {_T.TYPE_STRING, _T.TYPE_BYTES, _T.TYPE_MESSAGE}
    | _VARINT_TYPES
    | _FIXED64_TYPES
    | _FIXED32_TYPES,
    3: {_T.TYPE_GROUP},
    4: {_T.TYPE_GROUP},
    5: _FIXED32_TYPES,
}


def _wire_name(wire_type: int) -> str:
    return _WIRE_NAMES.get(wire_type, f"unknown type: {wire_type}")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, new position); raises ErrTxDecode on truncation or over-long varints."""
    if pos < len(data) and data[pos] < 0x80:
        return data[pos], pos + 1  # one byte: most tags and short lengths
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ErrTxDecode("unexpected EOF")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift >= 70:
            raise ErrTxDecode("variable length integer overflow")
    if result >= 1 << 64:
        raise ErrTxDecode("variable length integer overflow")
    return result, pos


def _skip_value(data: bytes, pos: int, field_no: int, wire_type: int, depth: int) -> int:
    """Position after one field value; malformed input raises ErrTxDecode."""
    if wire_type == 0:
        return _varint(data, pos)[1]
    if wire_type == 1:
        end = pos + 8
    elif wire_type == 5:
        end = pos + 4
    elif wire_type == 2:
        length, pos = _varint(data, pos)
        end = pos + length
    elif wire_type == 3:
        if depth > _MAX_DEPTH:
            raise ErrTxDecode("recursion limit reached")
        while True:
            if pos >= len(data):
                raise ErrTxDecode("unexpected EOF in group")
            tag, pos = _varint(data, pos)
            inner_no, inner_wire = tag >> 3, tag & 7
            if inner_wire == 4:
                if inner_no != field_no:
                    raise ErrTxDecode("mismatching end group marker")
                return pos
            pos = _skip_value(data, pos, inner_no, inner_wire, depth + 1)
    else:
        raise ErrTxDecode(
            f"could not consume field value for tagNum: {field_no}, wireType: "
            f"{_wire_name(wire_type)!r}; cannot parse reserved wire type"
        )
    if end > len(data):
        raise ErrTxDecode(
            f"could not consume field value for tagNum: {field_no}, wireType: "
            f"{_wire_name(wire_type)!r}; unexpected EOF"
        )
    return end


Resolver = Callable[[str], Descriptor | None]

_PLAIN, _ANY, _COIN = 0, 1, 2


# What the walk needs of a message type, read from its descriptor once: per field number,
# the wire types its type allows and its message type (None if not a message); and whether
# the message itself is an Any or a Coin (checked further). Descriptors are a fixed schema.
@functools.lru_cache(maxsize=1024)
def _layout(descriptor: Descriptor) -> tuple[dict[int, tuple[frozenset[int], Any]], int]:
    fields = {}
    for field in descriptor.fields:
        wires = frozenset(w for w, types in _ALLOWED_WIRE.items() if field.type in types)
        nested = field.message_type if field.type == _T.TYPE_MESSAGE else None
        fields[field.number] = (wires, nested)
    kind = {"google.protobuf.Any": _ANY, "cosmos.base.v1beta1.Coin": _COIN}.get(
        descriptor.full_name, _PLAIN
    )
    return fields, kind


def reject_unknown_fields(
    data: bytes,
    descriptor: Descriptor,
    resolve: Resolver,
    *,
    allow_non_critical: bool = False,
    depth: int = 0,
) -> None:
    """Walk `data` as a `descriptor` message; raise ErrTxDecode on unknown fields.

    Nested messages and `Any`s are checked too (an `Any`'s type URL must resolve through
    `resolve`). With `allow_non_critical`, unknown fields numbered with bit 11 set pass.
    """
    if depth > _MAX_DEPTH:
        raise ErrTxDecode("recursion limit reached")
    fields = _layout(descriptor)[0]
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        field_no, wire_type = tag >> 3, tag & 7
        if field_no == 0:
            raise ErrTxDecode(f"invalid field number 0 in {descriptor.full_name}")
        entry = fields.get(field_no)
        if entry is None:
            critical = not field_no & _NON_CRITICAL_BIT
            if critical or not allow_non_critical:
                raise ErrTxDecode(
                    f'errUnknownField "*{descriptor.full_name}": {{TagNum: {field_no}, '
                    f'WireType: "{_wire_name(wire_type)}"}}'
                )
        elif wire_type not in entry[0]:
            field = descriptor.fields_by_number[field_no]
            raise ErrTxDecode(
                f'Mismatched "*{descriptor.full_name}": {{TagNum: {field_no}, GotWireType: '
                f'"{_wire_name(wire_type)}" != WantWireType: "{_wanted_wire(field)}"}}'
            )
        start = pos
        pos = _skip_value(data, pos, field_no, wire_type, depth)
        if entry is None or entry[1] is None or wire_type != 2:
            continue
        _, value_start = _varint(data, start)
        value = data[value_start:pos]
        _check_nested(value, entry[1], resolve, allow_non_critical, depth + 1)


def _check_nested(
    value: bytes, descriptor: Descriptor, resolve: Resolver, allow_non_critical: bool, depth: int
) -> None:
    reject_unknown_fields(
        value, descriptor, resolve, allow_non_critical=allow_non_critical, depth=depth
    )
    kind = _layout(descriptor)[1]
    if kind == _PLAIN:
        return
    if kind == _ANY:
        from google.protobuf import any_pb2

        packed = any_pb2.Any.FromString(value)
        inner = resolve(packed.type_url)
        if inner is None:
            raise ErrTxDecode(f"unable to resolve type URL {packed.type_url}")
        _check_nested(packed.value, inner, resolve, allow_non_critical, depth + 1)
    else:
        from sultan.pb.cosmos.base.v1beta1 import coin_pb2

        _check_int_text(coin_pb2.Coin.FromString(value).amount)


def _check_int_text(text: str) -> None:
    """A Cosmos `math.Int` on the wire: empty (nil), or a base-10 integer of ≤ 256 bits."""
    if not text:
        return
    if not _INT_TEXT.fullmatch(text):
        raise ErrTxDecode(f'math/big: cannot unmarshal "{text}" into a *big.Int')
    bits = abs(int(text)).bit_length()
    if bits > _MAX_INT_BITS:
        raise ErrTxDecode(f"integer out of range; got: {bits}, max: {_MAX_INT_BITS}")


def _wanted_wire(field: FieldDescriptor) -> str:
    for wire, types in ((0, _VARINT_TYPES), (1, _FIXED64_TYPES), (5, _FIXED32_TYPES)):
        if field.type in types:
            return _wire_name(wire)
    return _wire_name(3 if field.type == _T.TYPE_GROUP else 2)


def reject_non_adr027_tx_raw(raw: bytes) -> None:
    """TxRaw fields ascending (1, 2, then 3s), each a length prefix as short as possible."""
    previous = 0
    pos = 0
    while pos < len(raw):
        tag, pos = _varint(raw, pos)
        field_no, wire_type = tag >> 3, tag & 7
        if wire_type != 2:
            raise ErrTxDecode(f"expected 2 wire type, got {wire_type}")
        if field_no < previous:
            raise ErrTxDecode(
                f"txRaw must follow ADR-027, got tagNum {field_no} after tagNum {previous}"
            )
        previous = field_no
        length_start = pos
        length, pos = _varint(raw, pos)
        used = pos - length_start
        needed = max(1, (length.bit_length() + 6) // 7)
        if used != needed:
            raise ErrTxDecode(
                f"length prefix varint for tagNum {field_no} is not as short as possible, "
                f"read {used}, only need {needed}"
            )
        if pos + length > len(raw):
            raise ErrTxDecode("invalid length; unexpected EOF")
        pos += length


def _parse(cls: Any, data: bytes, what: str) -> Any:
    msg = cls()
    try:
        msg.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise ErrTxDecode(f"invalid {what}: {exc}") from None
    return msg


@contextlib.contextmanager
def _stage(what: str) -> Iterator[None]:
    """Prefix decode errors with the part of the tx they were found in."""
    try:
        yield
    except ErrTxDecode as exc:
        raise ErrTxDecode(f"invalid {what}: {exc.message}") from None


def make_resolver(routes: Mapping[str, Any]) -> Resolver:
    """Type URL → descriptor: routed messages and the public-key types."""

    def resolve(type_url: str) -> Descriptor | None:
        route = routes.get(type_url)
        if route is not None:
            return route.message_class.DESCRIPTOR  # type: ignore[no-any-return]
        cls = PUBKEY_TYPES.get(type_url)
        return cls.DESCRIPTOR if cls is not None else None

    return resolve


def decode_tx(raw: bytes, routes: Mapping[str, Any]) -> DecodedTx:
    """Decode TxRaw → TxBody/AuthInfo and every message by its type URL.

    `routes` maps type URLs to `MsgRoute`s (message class and signers function). An
    unknown type URL is a decode error, as in the SDK ("unable to resolve type URL").
    """
    if not raw:
        raise ErrTxDecode("tx bytes are empty")
    resolve = make_resolver(routes)
    with _stage("TxRaw"):
        reject_non_adr027_tx_raw(raw)
        reject_unknown_fields(raw, tx_pb2.TxRaw.DESCRIPTOR, resolve)
    tx_raw = _parse(tx_pb2.TxRaw, raw, "TxRaw")
    with _stage("tx body"):
        reject_unknown_fields(
            tx_raw.body_bytes, tx_pb2.TxBody.DESCRIPTOR, resolve, allow_non_critical=True
        )
    body = _parse(tx_pb2.TxBody, tx_raw.body_bytes, "tx body")
    with _stage("auth info"):
        reject_unknown_fields(tx_raw.auth_info_bytes, tx_pb2.AuthInfo.DESCRIPTOR, resolve)
    auth_info = _parse(tx_pb2.AuthInfo, tx_raw.auth_info_bytes, "auth info")
    msgs = []
    signers: dict[str, None] = {}
    for any_msg in body.messages:
        route = routes.get(any_msg.type_url)
        if route is None:
            raise ErrTxDecode(f"unable to resolve type URL {any_msg.type_url}")
        msg = _parse(route.message_class, any_msg.value, any_msg.type_url)
        msgs.append((any_msg.type_url, msg))
        if route.signers is not None:
            for signer in route.signers(msg):
                signers.setdefault(signer, None)
    return DecodedTx(raw, tx_raw, body, auth_info, tuple(msgs), tuple(signers))
