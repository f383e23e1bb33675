"""cosmos.tx.v1beta1.Service over REST, gRPC and abci_query, against a real node process."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import grpc
import pytest
from google.protobuf import json_format
from sultan_counter.pb.counter.v1 import counter_pb2

from sultan.pb.cosmos.tx.v1beta1 import service_pb2 as svc
from sultan.pb.cosmos.tx.v1beta1 import service_pb2_grpc, tx_pb2
from sultan.testing import NodeProcess, init_home, unsigned_tx


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    home = init_home(tmp_path_factory.mktemp("txsvc") / "home", ["counter"])
    with NodeProcess(home, timeout_commit="100ms") as n:
        yield n


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def incr(amount: int, memo: str = "") -> bytes:
    return unsigned_tx(counter_pb2.MsgIncrement(sender="alice", amount=amount), memo=memo)


def test_simulate_with_tx_bytes_and_with_the_json_tx_form(node):
    raw = incr(2, memo="sim")
    status, body = http(
        "POST",
        node.rest_url + "/cosmos/tx/v1beta1/simulate",
        {"txBytes": base64.b64encode(raw).decode()},
    )
    assert status == 200, body
    gas_used = int(body["gas_info"]["gas_used"])
    assert gas_used > 0
    assert body["result"]["events"][0]["type"] == "message"
    # cosmpy posts the deprecated `tx` JSON form (camelCase, "@type" Anys).
    tx_raw = tx_pb2.TxRaw.FromString(raw)
    tx = tx_pb2.Tx(
        body=tx_pb2.TxBody.FromString(tx_raw.body_bytes),
        auth_info=tx_pb2.AuthInfo.FromString(tx_raw.auth_info_bytes),
    )
    status, body = http(
        "POST", node.rest_url + "/cosmos/tx/v1beta1/simulate", {"tx": json_format.MessageToDict(tx)}
    )
    assert status == 200, body
    assert int(body["gas_info"]["gas_used"]) == gas_used


def test_simulate_reports_the_failure(node):
    status, body = http(
        "POST",
        node.rest_url + "/cosmos/tx/v1beta1/simulate",
        {"txBytes": base64.b64encode(incr(0)).decode()},
    )
    assert status == 500
    assert "invalid amount" in body["message"]


def test_simulate_through_abci_query_as_cosmjs_does(node):
    request = svc.SimulateRequest(tx_bytes=incr(3)).SerializeToString()
    result = node.rpc("abci_query", path="/cosmos.tx.v1beta1.Service/Simulate", data=request.hex())
    response = svc.SimulateResponse.FromString(base64.b64decode(result["response"]["value"]))
    assert result["response"]["code"] == 0 and response.gas_info.gas_used > 0


def test_broadcast_sync_then_get_tx_by_hash(node):
    raw = incr(5, memo="bcast")
    status, body = http(
        "POST",
        node.rest_url + "/cosmos/tx/v1beta1/txs",
        {"txBytes": base64.b64encode(raw).decode(), "mode": "BROADCAST_MODE_SYNC"},
    )
    assert status == 200 and body["tx_response"]["code"] == 0
    tx_hash = body["tx_response"]["txhash"]
    node.wait_for_height(node.height() + 2)
    status, body = http("GET", node.rest_url + f"/cosmos/tx/v1beta1/txs/{tx_hash}")
    assert status == 200, body
    assert body["tx"]["body"]["messages"][0]["@type"] == "/counter.v1.MsgIncrement"
    assert body["tx_response"]["tx"]["body"]["messages"][0]["amount"] == "5"
    assert body["tx_response"]["txhash"] == tx_hash and int(body["tx_response"]["height"]) > 0
    assert body["tx_response"]["timestamp"].endswith("Z")


def test_get_tx_not_found_is_a_non_200_mentioning_tx_not_found(node):
    status, body = http("GET", node.rest_url + "/cosmos/tx/v1beta1/txs/" + "AB" * 32)
    assert status == 404
    assert "tx" in body["message"] and "not found" in body["message"]


def test_broadcast_block_mode_and_duplicates(node):
    raw = base64.b64encode(incr(1, memo="dup")).decode()
    status, body = http(
        "POST",
        node.rest_url + "/cosmos/tx/v1beta1/txs",
        {"txBytes": raw, "mode": "BROADCAST_MODE_BLOCK"},
    )
    assert status == 400 and "BROADCAST_MODE_SYNC" in body["message"]
    http(
        "POST",
        node.rest_url + "/cosmos/tx/v1beta1/txs",
        {"txBytes": raw, "mode": "BROADCAST_MODE_SYNC"},
    )
    status, body = http(
        "POST",
        node.rest_url + "/cosmos/tx/v1beta1/txs",
        {"txBytes": raw, "mode": "BROADCAST_MODE_SYNC"},
    )
    assert status == 200 and body["tx_response"]["code"] == 19


def test_get_txs_event_and_block_with_txs_over_grpc(node):
    raw = incr(4, memo="grpc")
    committed = node.rpc("broadcast_tx_commit", tx=base64.b64encode(raw).decode())
    height = int(committed["height"])
    with grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}") as channel:
        stub = service_pb2_grpc.ServiceStub(channel)
        found = stub.GetTxsEvent(
            svc.GetTxsEventRequest(query=f"tx.height={height} AND increment.amount=4", limit=10)
        )
        assert found.total == 1 and found.tx_responses[0].height == height
        block = stub.GetBlockWithTxs(svc.GetBlockWithTxsRequest(height=height))
        assert block.block.header.height == height and len(block.txs) >= 1
        with pytest.raises(grpc.RpcError) as err:
            stub.GetTx(svc.GetTxRequest(hash="00" * 32))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as err:
            stub.GetTxsEvent(svc.GetTxsEventRequest(query="this is not a query"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_decode_and_encode_round_trip(node):
    raw = incr(9)
    status, body = http(
        "POST",
        node.rest_url + "/cosmos/tx/v1beta1/decode",
        {"txBytes": base64.b64encode(raw).decode()},
    )
    assert status == 200
    status, encoded = http("POST", node.rest_url + "/cosmos/tx/v1beta1/encode", {"tx": body["tx"]})
    assert status == 200 and base64.b64decode(encoded["tx_bytes"]) == raw
