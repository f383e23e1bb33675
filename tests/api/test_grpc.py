"""gRPC: reflection, the tendermint/node services, and generic module query handlers."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import grpc
import pytest
from api_env import CHAIN_ID, Env, make_tx
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from sultan.pb.cosmos.base.node.v1beta1 import query_pb2 as node_pb
from sultan.pb.cosmos.base.node.v1beta1 import query_pb2_grpc as node_grpc
from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_pb
from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2_grpc as tm_grpc
from sultan.pb.cosmos.base.v1beta1 import coin_pb2

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def channel(env: Env) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(env.grpc_target) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


def _query(
    channel: grpc.Channel, method: str, request: bytes, height: int | None = None
) -> tuple[bytes, dict]:
    call = channel.unary_unary(method)
    metadata = (("x-cosmos-block-height", str(height)),) if height is not None else None
    response, rpc_call = call.with_call(request, metadata=metadata, timeout=10)
    return response, dict(rpc_call.initial_metadata())


def test_reflection_lists_every_service(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = list(
        stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    )
    names = {s.name for s in responses[0].list_services_response.service}
    assert {
        "cosmos.base.tendermint.v1beta1.Service",
        "cosmos.base.node.v1beta1.Service",
        "cosmos.consensus.v1.Query",
        "test.Query",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="cosmos.base.tendermint.v1beta1.Service"
    )
    (answer,) = stub.ServerReflectionInfo(iter([request]))
    assert answer.file_descriptor_response.file_descriptor_proto


def test_latest_block_matches_rpc(env: Env, channel: grpc.Channel) -> None:
    stub = tm_grpc.ServiceStub(channel)
    latest = stub.GetLatestBlock(tm_pb.GetLatestBlockRequest(), timeout=10)
    height = latest.block.header.height
    assert height >= 1 and latest.block.header.chain_id == CHAIN_ID
    rpc_block = env.rpc("block", height=str(height))
    assert latest.block_id.hash.hex().upper() == rpc_block["block_id"]["hash"]
    assert latest.sdk_block.header.proposer_address.startswith("sultanvalcons1")
    by_height = stub.GetBlockByHeight(tm_pb.GetBlockByHeightRequest(height=height), timeout=10)
    assert by_height.block_id == latest.block_id


def test_block_height_errors(channel: grpc.Channel) -> None:
    stub = tm_grpc.ServiceStub(channel)
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetBlockByHeight(tm_pb.GetBlockByHeightRequest(height=10**12), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "bigger then the chain length" in exc.value.details()


def test_node_info_syncing_validators(env: Env, channel: grpc.Channel) -> None:
    stub = tm_grpc.ServiceStub(channel)
    info = stub.GetNodeInfo(tm_pb.GetNodeInfoRequest(), timeout=10)
    assert info.default_node_info.network == CHAIN_ID
    assert info.default_node_info.version.startswith("0.38.")
    assert stub.GetSyncing(tm_pb.GetSyncingRequest(), timeout=10).syncing is False
    vals = stub.GetLatestValidatorSet(tm_pb.GetLatestValidatorSetRequest(), timeout=10)
    assert len(vals.validators) == 1 and vals.validators[0].voting_power == 10
    assert vals.validators[0].pub_key.type_url == "/cosmos.crypto.ed25519.PubKey"
    assert vals.pagination.total == 1
    first = stub.GetValidatorSetByHeight(tm_pb.GetValidatorSetByHeightRequest(height=1), timeout=10)
    assert first.block_height == 1 and first.validators == vals.validators
    status = node_grpc.ServiceStub(channel).Status(node_pb.StatusRequest(), timeout=10)
    assert status.height >= 1 and len(status.app_hash) == 32


def test_abci_query_over_grpc(env: Env, channel: grpc.Channel) -> None:
    env.commit_tx(make_tx("grpc", "11", memo="grpc-abci"))
    stub = tm_grpc.ServiceStub(channel)
    data = coin_pb2.Coin(denom="grpc").SerializeToString()
    res = stub.ABCIQuery(tm_pb.ABCIQueryRequest(path="/test.Query/Total", data=data), timeout=10)
    assert res.code == 0 and coin_pb2.Coin.FromString(res.value).amount == "11"
    missing = stub.ABCIQuery(tm_pb.ABCIQueryRequest(path="/test.Query/Missing"), timeout=10)
    assert missing.code == 5 and "NotFound" in missing.log
    with pytest.raises(grpc.RpcError) as exc:
        stub.ABCIQuery(tm_pb.ABCIQueryRequest(path=""), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_generic_module_query_with_height(env: Env, channel: grpc.Channel) -> None:
    first = env.commit_tx(make_tx("gq", "2", memo="gq-1"))
    env.commit_tx(make_tx("gq", "3", memo="gq-2"))
    request = coin_pb2.Coin(denom="gq").SerializeToString()
    raw, metadata = _query(channel, "/test.Query/Total", request)
    assert coin_pb2.Coin.FromString(raw).amount == "5"
    assert int(metadata["x-cosmos-block-height"]) >= int(first["height"]) + 1
    raw, metadata = _query(channel, "/test.Query/Total", request, height=int(first["height"]))
    assert coin_pb2.Coin.FromString(raw).amount == "2"
    assert metadata["x-cosmos-block-height"] == first["height"]


@pytest.mark.parametrize(
    "method, request_bytes, height, code",
    [
        ("/test.Query/Missing", b"", None, grpc.StatusCode.NOT_FOUND),
        ("/test.Query/Total", b"\xff\xff\xff", None, grpc.StatusCode.INVALID_ARGUMENT),
        ("/test.Query/Total", b"", "tomorrow", grpc.StatusCode.INVALID_ARGUMENT),
        ("/test.Query/Total", b"", 10**12, grpc.StatusCode.INVALID_ARGUMENT),
        ("/test.Query/Nope", b"", None, grpc.StatusCode.UNIMPLEMENTED),
        ("/no.such.Service/Method", b"", None, grpc.StatusCode.UNIMPLEMENTED),
    ],
)
def test_generic_query_errors(
    channel: grpc.Channel, method: str, request_bytes: bytes, height, code
) -> None:
    call = channel.unary_unary(method)
    metadata = (("x-cosmos-block-height", str(height)),) if height is not None else None
    with pytest.raises(grpc.RpcError) as exc:
        call(request_bytes, metadata=metadata, timeout=10)
    assert exc.value.code() == code
    if code == grpc.StatusCode.NOT_FOUND:
        assert exc.value.details() == "nothing here"


def test_grpc_and_rest_agree(env: Env, channel: grpc.Channel) -> None:
    stub = tm_grpc.ServiceStub(channel)
    by_grpc = stub.GetBlockByHeight(tm_pb.GetBlockByHeightRequest(height=1), timeout=10)
    status, body, _ = env.rest("/cosmos/base/tendermint/v1beta1/blocks/1")
    assert status == 200
    assert base64.b64decode(body["block_id"]["hash"]) == by_grpc.block_id.hash
    assert (
        body["block"]["header"]["app_hash"]
        == base64.b64encode(by_grpc.block.header.app_hash).decode()
    )
