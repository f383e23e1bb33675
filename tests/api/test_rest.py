"""REST: operator endpoints, the tendermint service routes, and the generic module gateway."""

from __future__ import annotations

import base64
import json
import time as _time

import pytest
from api_env import CHAIN_ID, Env, make_tx
from api_support import b64, check, flag, hex32, hexs, i64, null, text, time

pytestmark = pytest.mark.timeout(120)

TM = "/cosmos/base/tendermint/v1beta1"


@pytest.fixture(scope="module")
def funded(env: Env) -> dict:
    first = env.commit_tx(make_tx("rest", "3", memo="rest-1"))
    second = env.commit_tx(make_tx("rest", "4", memo="rest-2"))
    return {"first": int(first["height"]), "second": int(second["height"])}


# -- operator endpoints -------------------------------------------------------------------------


def test_health_ok(env: Env) -> None:
    status, body, _ = env.rest("/health")
    assert status == 200
    assert (
        body["status"] == "ok"
        and body["height"] >= 1
        and isinstance(body["last_block_age_ms"], int)
    )


def test_status(env: Env) -> None:
    status, body, _ = env.rest("/status")
    assert status == 200
    check(
        body,
        {
            "node_id": text,
            "moniker": text,
            "chain_id": text,
            "version": text,
            "cometbft_version": text,
            "height": lambda v: isinstance(v, int),
            "app_hash": hex32,
            "latest_block_hash": hex32,
            "latest_block_time": time,
            "catching_up": flag,
            "mempool_size": lambda v: isinstance(v, int),
            "mempool_bytes": lambda v: isinstance(v, int),
        },
    )
    assert body["chain_id"] == CHAIN_ID and body["node_id"] == env.node.node_id
    assert body["catching_up"] is False


def test_chain_info(env: Env) -> None:
    status, body, _ = env.rest("/chain_info")
    assert status == 200
    assert body["chain_id"] == CHAIN_ID and body["initial_height"] == 1
    assert body["genesis_time"] == env.node.genesis.genesis_time
    assert body["validators"][0]["address"] == env.node.priv_key.address_hex
    assert body["validators"][0]["voting_power"] == "10"
    assert body["modules"] == [{"name": "apitest", "version": "1.2.3", "consensus_version": 1}]


# -- cosmos.base.tendermint.v1beta1 -------------------------------------------------------------

GW_BLOCK_ID = {"hash": b64, "part_set_header": {"total": lambda v: isinstance(v, int), "hash": b64}}


def test_node_info(env: Env) -> None:
    status, body, _ = env.rest(f"{TM}/node_info")
    assert status == 200
    info = body["default_node_info"]
    assert info["network"] == CHAIN_ID and info["version"].startswith("0.38.")
    assert info["protocol_version"] == {"p2p": "8", "block": "11", "app": "1"}
    assert info["default_node_id"] == env.node.node_id
    assert body["application_version"]["build_deps"] == [
        {"path": "apitest", "version": "1.2.3", "sum": ""}
    ]
    status, body, _ = env.rest(f"{TM}/syncing")
    assert (status, body) == (200, {"syncing": False})


def test_latest_block_like_cosmpy(env: Env) -> None:
    status, body, headers = env.rest(f"{TM}/blocks/latest")
    assert status == 200
    assert set(body) == {"block_id", "block", "sdk_block"}
    check(body["block_id"], GW_BLOCK_ID)
    header = body["block"]["header"]
    assert header["chain_id"] == CHAIN_ID and i64(header["height"])
    assert int(header["height"]) <= env.node.engine.height
    sdk = body["sdk_block"]["header"]
    assert sdk["proposer_address"].startswith("sultanvalcons1")
    assert sdk["height"] == header["height"]
    sig = body["block"]["last_commit"]["signatures"][0]
    assert sig["block_id_flag"] == "BLOCK_ID_FLAG_COMMIT"


def test_block_by_height(env: Env) -> None:
    status, body, _ = env.rest(f"{TM}/blocks/1")
    assert status == 200
    header = body["block"]["header"]
    assert header["height"] == "1"
    # The first block has no previous block: nil bytes render as null, like the SDK gateway.
    assert header["last_block_id"] == {"hash": None, "part_set_header": {"total": 0, "hash": None}}
    rpc_hash = env.rpc("block", height="1")["block_id"]["hash"]
    assert base64.b64decode(body["block_id"]["hash"]).hex().upper() == rpc_hash
    status, body, _ = env.rest(f"{TM}/blocks/99999999")
    assert status == 400
    assert body == {
        "code": 3,
        "message": "requested block height is bigger then the chain length",
        "details": [],
    }
    status, body, _ = env.rest(f"{TM}/blocks/abc")
    assert status == 400 and body["code"] == 3


def test_validator_sets(env: Env) -> None:
    status, body, _ = env.rest(f"{TM}/validatorsets/latest")
    assert status == 200
    check(
        body,
        {
            "block_height": i64,
            "validators": [
                {
                    "address": lambda v: v.startswith("sultanvalcons1"),
                    "pub_key": {
                        "@type": lambda v: v == "/cosmos.crypto.ed25519.PubKey",
                        "key": b64,
                    },
                    "voting_power": i64,
                    "proposer_priority": i64,
                }
            ],
            "pagination": {"next_key": null, "total": i64},
        },
    )
    assert body["pagination"]["total"] == "1"
    status, by_height, _ = env.rest(f"{TM}/validatorsets/1?pagination.limit=10")
    assert status == 200 and by_height["block_height"] == "1"
    assert by_height["validators"] == body["validators"]


def test_abci_query_route(env: Env, funded: dict) -> None:
    from sultan.pb.cosmos.base.v1beta1 import coin_pb2

    data = base64.urlsafe_b64encode(coin_pb2.Coin(denom="rest").SerializeToString()).decode()
    status, body, _ = env.rest(f"{TM}/abci_query?path=/test.Query/Total&data={data}")
    assert status == 200 and body["code"] == 0
    assert coin_pb2.Coin.FromString(base64.b64decode(body["value"])).amount == "7"
    assert body["proof_ops"] is None and i64(body["height"])


def test_node_service(env: Env) -> None:
    status, body, _ = env.rest("/cosmos/base/node/v1beta1/config")
    assert status == 200 and body["minimum_gas_price"] == env.node.config.app.minimum_gas_prices
    status, body, _ = env.rest("/cosmos/base/node/v1beta1/status")
    assert (
        status == 200 and i64(body["height"]) and b64(body["app_hash"]) and time(body["timestamp"])
    )


def test_consensus_params_like_cosmpy(env: Env) -> None:
    status, body, _ = env.rest("/cosmos/consensus/v1/params")
    assert status == 200
    block = body["params"]["block"]
    assert block == {"max_bytes": "22020096", "max_gas": "-1"}
    assert body["params"]["validator"] == {"pub_key_types": ["ed25519"]}


# -- generic module gateway ---------------------------------------------------------------------


def test_module_route_and_height_header(env: Env, funded: dict) -> None:
    status, body, headers = env.rest("/test/v1/total/rest")
    assert status == 200 and body == {"denom": "rest", "amount": "7"}
    assert int(headers["Grpc-Metadata-X-Cosmos-Block-Height"]) >= funded["second"]
    status, old, headers = env.rest(
        "/test/v1/total/rest", {"x-cosmos-block-height": str(funded["first"])}
    )
    assert status == 200 and old == {"denom": "rest", "amount": "3"}
    assert headers["Grpc-Metadata-X-Cosmos-Block-Height"] == str(funded["first"])
    status, body, _ = env.rest("/test/v1/total/rest", {"x-cosmos-block-height": "soon"})
    assert status == 400 and body["code"] == 3 and "x-cosmos-block-height" in body["message"]
    status, body, _ = env.rest("/test/v1/total/rest", {"x-cosmos-block-height": "99999999"})
    assert status == 400 and body["code"] == 3


def test_module_error_mapping(env: Env) -> None:
    status, body, _ = env.rest("/test/v1/missing")
    assert status == 404
    assert body == {"code": 5, "message": "nothing here", "details": []}


def test_query_string_fills_nested_fields(env: Env) -> None:
    status, body, _ = env.rest(
        "/test/v1/echo?pagination.limit=5&pagination.count_total=true&pagination.key=AAEC"
    )
    assert status == 200
    assert body == {
        "pagination": {
            "key": "AAEC",
            "offset": "0",
            "limit": "5",
            "count_total": True,
            "reverse": False,
        }
    }
    status, body, _ = env.rest("/test/v1/echo")
    assert status == 200 and body == {"pagination": None}
    status, body, _ = env.rest("/test/v1/echo?pagination.key=AAEC-_w&unknown=1")
    assert status == 200 and body["pagination"]["key"] == "AAEC+/w="


def test_query_string_repeated_values(env: Env) -> None:
    status, body, _ = env.rest("/test/v1/echo_list?pub_key_types=ed25519&pub_key_types=secp256k1")
    assert status == 200 and body == {"pub_key_types": ["ed25519", "secp256k1"]}


@pytest.mark.parametrize(
    "query",
    ["pagination.limit=abc", "pagination.count_total=maybe", "pagination.key=%%%", "pagination=1"],
)
def test_bad_query_values(env: Env, query: str) -> None:
    status, body, _ = env.rest(f"/test/v1/echo?{query}")
    assert status == 400 and body["code"] == 3 and body["details"] == []


def test_post_body(env: Env) -> None:
    url = env.rest_url + "/test/v1/echo"
    status, _, raw = env.http("POST", url, json.dumps({"pagination": {"limit": "7"}}).encode())
    assert status == 200 and json.loads(raw)["pagination"]["limit"] == "7"
    status, _, raw = env.http("POST", url, b"{nope")
    assert status == 400 and json.loads(raw)["code"] == 3
    status, _, raw = env.http("POST", url, json.dumps({"bogus": 1}).encode())
    assert status == 400
    status, _, raw = env.http("POST", url, b"x" * (env.node.config.app.api.rpc_max_body_bytes + 10))
    assert status == 413


def test_unknown_route_and_method(env: Env) -> None:
    status, body, _ = env.rest("/cosmos/nothing/v1beta1/here")
    assert status == 501 and body == {"code": 12, "message": "Not Implemented", "details": []}
    status, _, raw = env.http("DELETE", env.rest_url + "/test/v1/missing")
    assert status == 405


def test_swagger(env: Env) -> None:
    status, doc, _ = env.rest("/swagger/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert (
        "/test/v1/total/{denom}" in paths
        and f"{TM}/blocks/{{height}}" in paths
        and "/health" in paths
    )
    op = paths["/test/v1/total/{denom}"]["get"]
    assert {"name": "denom", "in": "path", "required": True, "schema": {"type": "string"}} in op[
        "parameters"
    ]
    assert "post" in paths["/test/v1/echo"] and "requestBody" in paths["/test/v1/echo"]["post"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]
    echo_params = {p["name"] for p in paths["/test/v1/echo"]["get"]["parameters"]}
    assert {"pagination.limit", "pagination.key"} <= echo_params
    status, _, page = env.http("GET", env.rest_url + "/swagger/")
    assert status == 200 and b"openapi.json" in page


# -- unhealthy ------------------------------------------------------------------------------------


def test_health_503_when_engine_stops(tmp_path) -> None:
    env = Env(tmp_path / "sick")
    try:
        env.wait_height(1)
        assert env.rest("/health")[0] == 200
        env.node.engine.stop()
        deadline = _time.monotonic() + 10
        while (result := env.rest("/health"))[0] != 503:
            assert _time.monotonic() < deadline
            _time.sleep(0.05)
        body = result[1]
        assert body["status"] == "unhealthy" and body["reason"] == "block production is not running"
        env.node.engine.error = RuntimeError("disk on fire")
        body = env.rest("/health")[1]
        assert "disk on fire" in body["reason"]
        # the rest of the API keeps serving
        assert env.rpc("status")["sync_info"]["latest_block_height"] == str(env.node.engine.height)
    finally:
        env.close()


def test_hexs_helper_sanity() -> None:
    assert hexs("") and hexs("0A") and not hexs("0a")
