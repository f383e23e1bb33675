"""`cosmos.tx.v1beta1.Service`: simulate, broadcast and look up transactions.

Served over gRPC, REST (grpc-gateway paths) and `abci_query` (CosmJS simulates through
`/cosmos.tx.v1beta1.Service/Simulate`). It lives beside the API servers rather than in a
module because it needs the node itself: the mempool, the tx index and the block store —
through `chain_view`, so it works the same under the embedded engine and under CometBFT.
"""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf import any_pb2

from sultan.api.chain_view import chain_view
from sultan.api.services import BuiltinMethod
from sultan.kernel.engine.indexer import SearchTooBroadError
from sultan.kernel.engine.query import QuerySyntaxError, parse_query
from sultan.kernel.errors import QueryError, ResultError, SdkError
from sultan.kernel.mempool import MempoolError
from sultan.kernel.timeutil import format_rfc3339_nano
from sultan.pb.cosmos.base.abci.v1beta1 import abci_pb2 as sdk_abci
from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2
from sultan.pb.cosmos.tx.v1beta1 import service_pb2 as svc
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2

SERVICE = "cosmos.tx.v1beta1.Service"
MAX_PAGE_LIMIT = 100


def decode_tx_proto(raw: bytes) -> Any:
    """TxRaw bytes → the `Tx` message the SDK returns in responses."""
    try:
        tx_raw = tx_pb2.TxRaw.FromString(raw)
        return tx_pb2.Tx(
            body=tx_pb2.TxBody.FromString(tx_raw.body_bytes),
            auth_info=tx_pb2.AuthInfo.FromString(tx_raw.auth_info_bytes),
            signatures=list(tx_raw.signatures),
        )
    except Exception as exc:  # protobuf raises DecodeError, RuntimeError or ValueError
        raise QueryError("InvalidArgument", f"tx parse error: {exc}") from None


def encode_tx_proto(tx: Any) -> bytes:
    return tx_pb2.TxRaw(
        body_bytes=tx.body.SerializeToString(),
        auth_info_bytes=tx.auth_info.SerializeToString(),
        signatures=list(tx.signatures),
    ).SerializeToString()


def _block_time(block: Any) -> str:
    t = block.header.time
    return format_rfc3339_nano(t.seconds * 1_000_000_000 + t.nanos).replace(".000000000", "")


class TxService:
    def __init__(self, node: Any) -> None:
        self.node = node

    def methods(self) -> list[BuiltinMethod]:
        s = f"/{SERVICE}/"
        base = "/cosmos/tx/v1beta1"
        return [
            BuiltinMethod(
                s + "Simulate",
                svc.SimulateRequest,
                svc.SimulateResponse,
                self.simulate,
                (("POST", base + "/simulate"),),
            ),
            BuiltinMethod(
                s + "GetTx",
                svc.GetTxRequest,
                svc.GetTxResponse,
                self.get_tx,
                (("GET", base + "/txs/{hash}"),),
            ),
            BuiltinMethod(
                s + "BroadcastTx",
                svc.BroadcastTxRequest,
                svc.BroadcastTxResponse,
                self.broadcast_tx,
                (("POST", base + "/txs"),),
            ),
            BuiltinMethod(
                s + "GetTxsEvent",
                svc.GetTxsEventRequest,
                svc.GetTxsEventResponse,
                self.get_txs_event,
                (("GET", base + "/txs"),),
            ),
            BuiltinMethod(
                s + "GetBlockWithTxs",
                svc.GetBlockWithTxsRequest,
                svc.GetBlockWithTxsResponse,
                self.get_block_with_txs,
                (("GET", base + "/txs/block/{height}"),),
            ),
            BuiltinMethod(
                s + "TxDecode",
                svc.TxDecodeRequest,
                svc.TxDecodeResponse,
                self.tx_decode,
                (("POST", base + "/decode"),),
            ),
            BuiltinMethod(
                s + "TxEncode",
                svc.TxEncodeRequest,
                svc.TxEncodeResponse,
                self.tx_encode,
                (("POST", base + "/encode"),),
            ),
        ]

    # -- simulate / broadcast ---------------------------------------------------------------

    def simulate(self, req: Any) -> Any:
        if req.tx_bytes:
            raw = req.tx_bytes
        elif req.HasField("tx"):
            raw = encode_tx_proto(req.tx)  # the deprecated JSON `tx` form cosmpy posts
        else:
            raise QueryError("InvalidArgument", "empty txBytes is not allowed")
        result = self.node.app.simulate(raw)
        if result.code != 0:
            raise ResultError(result.codespace, result.code, result.log)
        msg_responses = []
        if result.data:
            msg_responses = list(sdk_abci.TxMsgData.FromString(result.data).msg_responses)
        return svc.SimulateResponse(
            gas_info=sdk_abci.GasInfo(gas_wanted=result.gas_wanted, gas_used=result.gas_used),
            result=sdk_abci.Result(
                data=result.data, log=result.log, events=result.events, msg_responses=msg_responses
            ),
        )

    def broadcast_tx(self, req: Any) -> Any:
        if req.mode == svc.BROADCAST_MODE_BLOCK:
            raise QueryError(
                "InvalidArgument",
                "BROADCAST_MODE_BLOCK is not supported (removed in Cosmos SDK v0.47): broadcast "
                "with BROADCAST_MODE_SYNC and poll GetTx for the result",
            )
        if req.mode not in (svc.BROADCAST_MODE_SYNC, svc.BROADCAST_MODE_ASYNC):
            raise QueryError("InvalidArgument", "supported types: sync, async")
        if not req.tx_bytes:
            raise QueryError("InvalidArgument", "invalid empty tx")
        tx_hash = hashlib.sha256(req.tx_bytes).hexdigest().upper()
        try:
            check = chain_view(self.node).broadcast(
                req.tx_bytes, sync=req.mode == svc.BROADCAST_MODE_SYNC
            )
        except MempoolError as exc:
            code = 19 if "cache" in str(exc) else 20 if "full" in str(exc) else 21
            return svc.BroadcastTxResponse(
                tx_response=sdk_abci.TxResponse(
                    txhash=tx_hash, codespace="sdk", code=code, raw_log=str(exc)
                )
            )
        if req.mode == svc.BROADCAST_MODE_ASYNC:
            return svc.BroadcastTxResponse(tx_response=sdk_abci.TxResponse(txhash=tx_hash))
        return svc.BroadcastTxResponse(
            tx_response=sdk_abci.TxResponse(
                txhash=tx_hash,
                codespace=check.codespace,
                code=check.code,
                data=check.data.hex().upper(),
                raw_log=check.log,
                gas_wanted=check.gas_wanted,
                gas_used=check.gas_used,
                events=check.events,
            )
        )

    # -- lookups ------------------------------------------------------------------------------

    def _tx_response(self, record: Any) -> Any:
        block = chain_view(self.node).blocks.block(record.height)
        packed = any_pb2.Any()
        packed.Pack(decode_tx_proto(record.tx), type_url_prefix="/")
        r = record.result
        return sdk_abci.TxResponse(
            height=record.height,
            txhash=hashlib.sha256(record.tx).hexdigest().upper(),
            codespace=r.codespace,
            code=r.code,
            data=r.data.hex().upper(),
            raw_log=r.log,
            info=r.info,
            gas_wanted=r.gas_wanted,
            gas_used=r.gas_used,
            tx=packed,
            timestamp=_block_time(block) if block is not None else "",
            events=r.events,
        )

    def get_tx(self, req: Any) -> Any:
        try:
            tx_hash = bytes.fromhex(req.hash)
        except ValueError:
            raise QueryError("InvalidArgument", f"invalid tx hash {req.hash!r}: want hex") from None
        if len(tx_hash) != 32:
            raise QueryError("InvalidArgument", f"invalid tx hash {req.hash!r}: want 32 bytes")
        record = chain_view(self.node).tx(tx_hash)
        if record is None:
            raise QueryError("NotFound", f"tx not found: {req.hash.upper()}")
        return svc.GetTxResponse(
            tx=decode_tx_proto(record.tx), tx_response=self._tx_response(record)
        )

    def get_txs_event(self, req: Any) -> Any:
        text = req.query or " AND ".join(req.events)
        if not text.strip():
            raise QueryError("InvalidArgument", "query cannot be empty")
        try:
            conditions = parse_query(text)
        except QuerySyntaxError as exc:
            raise QueryError("InvalidArgument", f"invalid query {text!r}: {exc}") from None
        try:
            found = chain_view(self.node).search_txs(text, conditions)
        except SearchTooBroadError as exc:
            raise QueryError("InvalidArgument", str(exc)) from None
        if req.order_by == svc.ORDER_BY_DESC:
            found.reverse()
        limit = (
            req.limit
            or (req.pagination.limit if req.HasField("pagination") else 0)
            or MAX_PAGE_LIMIT
        )
        limit = min(limit, MAX_PAGE_LIMIT)
        page = req.page or 1
        if req.HasField("pagination") and req.pagination.offset and not req.page:
            start = req.pagination.offset
        else:
            start = (page - 1) * limit
        if start and start >= len(found):
            raise QueryError("InvalidArgument", f"page {page} is out of range (total {len(found)})")
        chosen = found[start : start + limit]
        return svc.GetTxsEventResponse(
            txs=[decode_tx_proto(r.tx) for r in chosen],
            tx_responses=[self._tx_response(r) for r in chosen],
            total=len(found),
        )

    def get_block_with_txs(self, req: Any) -> Any:
        blocks = chain_view(self.node).blocks
        if req.height < 1 or req.height > blocks.height:
            raise QueryError(
                "InvalidArgument",
                f"requested height {req.height} but latest height is {blocks.height}",
            )
        block = blocks.block(req.height)
        if block is None:
            raise QueryError("NotFound", f"block {req.height} is not available (pruned)")
        txs = list(block.data.txs)
        offset = req.pagination.offset if req.HasField("pagination") else 0
        limit = (req.pagination.limit if req.HasField("pagination") else 0) or MAX_PAGE_LIMIT
        chosen = txs[offset : offset + min(limit, MAX_PAGE_LIMIT)]
        return svc.GetBlockWithTxsResponse(
            txs=[decode_tx_proto(tx) for tx in chosen],
            block_id=blocks.block_id(req.height),
            block=block,
            pagination=pagination_pb2.PageResponse(total=len(txs)),
        )

    def tx_decode(self, req: Any) -> Any:
        if not req.tx_bytes:
            raise QueryError("InvalidArgument", "invalid empty tx bytes")
        return svc.TxDecodeResponse(tx=decode_tx_proto(req.tx_bytes))

    def tx_encode(self, req: Any) -> Any:
        if not req.HasField("tx"):
            raise QueryError("InvalidArgument", "invalid empty tx")
        return svc.TxEncodeResponse(tx_bytes=encode_tx_proto(req.tx))


__all__ = ["SdkError", "TxService"]
