"""CometBFT v0.38 JSON-RPC: golden shapes of what CosmJS reads, URI form, batches, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse

import pytest
from api_env import CHAIN_ID, Env, RPCError, make_tx
from api_support import (
    BLOCK,
    BLOCK_ID,
    COMMIT,
    CONSENSUS_PARAMS,
    EVENT,
    HEADER,
    PUB_KEY,
    RESULT_TX,
    TX_RESULT,
    VALIDATOR,
    addr,
    b64,
    b64_or_null,
    check,
    flag,
    hex32,
    hexs,
    i64,
    null,
    num,
    obj,
    text,
    time,
)

from sultan.kernel.crypto import merkle

pytestmark = pytest.mark.timeout(120)


def b64tx(tx: bytes) -> str:
    return base64.b64encode(tx).decode()


def sha(tx: bytes) -> str:
    return hashlib.sha256(tx).hexdigest().upper()


@pytest.fixture(scope="module")
def committed(env: Env) -> dict:
    """Three txs in blocks (two to denom 'aaa', one failing), committed via broadcast_tx_commit."""
    txs = [make_tx("aaa", "5"), make_tx("aaa", "7"), make_tx("bbb", "0")]
    results = [env.commit_tx(tx) for tx in txs]
    return {"txs": txs, "results": results}


# -- info -------------------------------------------------------------------------------------


def test_status(env: Env) -> None:
    result = env.rpc("status")
    check(
        result,
        {
            "node_info": {
                "protocol_version": {"p2p": i64, "block": i64, "app": i64},
                "id": lambda v: isinstance(v, str) and len(v) == 40,
                "listen_addr": text,
                "network": text,
                "version": text,
                "channels": text,
                "moniker": text,
                "other": {"tx_index": text, "rpc_address": text},
            },
            "sync_info": {
                "latest_block_hash": hex32,
                "latest_app_hash": hex32,
                "latest_block_height": i64,
                "latest_block_time": time,
                "earliest_block_hash": hex32,
                "earliest_app_hash": hex32,
                "earliest_block_height": i64,
                "earliest_block_time": time,
                "catching_up": flag,
            },
            "validator_info": {"address": addr, "pub_key": PUB_KEY, "voting_power": i64},
        },
    )
    info = result["node_info"]
    assert info["version"].startswith("0.38.")
    assert info["protocol_version"] == {"p2p": "8", "block": "11", "app": "1"}
    assert info["network"] == CHAIN_ID
    assert info["id"] == env.node.node_id
    assert info["channels"] == "40202122233038606100"
    assert info["other"]["rpc_address"] == env.rpc_url.replace("http://", "tcp://")
    sync = result["sync_info"]
    assert int(sync["latest_block_height"]) >= 2 and sync["earliest_block_height"] == "1"
    assert sync["catching_up"] is False
    assert result["validator_info"]["voting_power"] == "10"
    assert result["validator_info"]["address"] == env.node.priv_key.address_hex


def test_health_and_net_info(env: Env) -> None:
    assert env.rpc("health") == {}
    check(
        env.rpc("net_info"),
        {"listening": flag, "listeners": [text], "n_peers": i64, "peers": [obj]},
    )


def test_abci_info(env: Env) -> None:
    response = env.rpc("abci_info")["response"]
    check(
        response,
        {
            "data": text,
            "version": text,
            "app_version": i64,
            "last_block_height": i64,
            "last_block_app_hash": b64,
        },
    )


def test_genesis_and_chunks(env: Env) -> None:
    genesis = env.rpc("genesis")["genesis"]
    check(
        genesis,
        {
            "genesis_time": time,
            "chain_id": text,
            "initial_height": i64,
            "consensus_params": CONSENSUS_PARAMS,
            "validators": [{"address": addr, "pub_key": PUB_KEY, "power": i64, "name": text}],
            "app_hash": hexs,
            "app_state": obj,
        },
    )
    assert genesis["chain_id"] == CHAIN_ID
    chunk = env.rpc("genesis_chunked", chunk="0")
    check(chunk, {"chunk": i64, "total": i64, "data": b64})
    assert chunk["total"] == "1"
    assert json.loads(base64.b64decode(chunk["data"])) == genesis
    with pytest.raises(RPCError) as exc:
        env.rpc("genesis_chunked", chunk="1")
    assert exc.value.error["code"] == -32603 and "is invalid" in exc.value.error["data"]


def test_consensus_params(env: Env) -> None:
    result = env.rpc("consensus_params", height="1")
    check(result, {"block_height": i64, "consensus_params": CONSENSUS_PARAMS})
    assert result["block_height"] == "1"


# -- blocks -----------------------------------------------------------------------------------


def test_block_first_and_latest(env: Env) -> None:
    first = env.rpc("block", height="1")
    check(first, {"block_id": BLOCK_ID, "block": BLOCK})
    header = first["block"]["header"]
    assert header["height"] == "1" and header["chain_id"] == CHAIN_ID
    assert header["last_block_id"] == {"hash": "", "parts": {"total": 0, "hash": ""}}
    assert (
        first["block"]["last_commit"]["height"] == "0"
        and first["block"]["last_commit"]["signatures"] == []
    )
    assert first["block_id"]["parts"]["total"] >= 1
    latest = env.rpc("block")
    check(latest, {"block_id": BLOCK_ID, "block": BLOCK})
    height = int(latest["block"]["header"]["height"])
    assert height >= 2
    previous = env.rpc("block", height=str(height - 1))
    assert latest["block"]["header"]["last_block_id"] == previous["block_id"]
    assert latest["block"]["last_commit"]["block_id"] == previous["block_id"]
    sig = latest["block"]["last_commit"]["signatures"][0]
    assert sig["block_id_flag"] == 2 and sig["validator_address"] == header["proposer_address"]


def test_block_by_hash_and_header(env: Env) -> None:
    block = env.rpc("block", height="2")
    block_hash = bytes.fromhex(block["block_id"]["hash"])
    assert env.rpc("block_by_hash", hash=base64.b64encode(block_hash).decode()) == block
    missing = env.rpc("block_by_hash", hash=base64.b64encode(b"\x01" * 32).decode())
    assert missing == {"block_id": {"hash": "", "parts": {"total": 0, "hash": ""}}, "block": None}
    assert env.rpc("header", height="2") == {"header": block["block"]["header"]}
    check(env.rpc("header_by_hash", hash=block["block_id"]["hash"]), {"header": HEADER})


def test_commit(env: Env) -> None:
    canonical = env.rpc("commit", height="1")
    check(canonical, {"signed_header": {"header": HEADER, "commit": COMMIT}, "canonical": flag})
    assert canonical["canonical"] is True
    assert (
        canonical["signed_header"]["commit"]["block_id"] == env.rpc("block", height="1")["block_id"]
    )
    latest = env.rpc("commit")
    assert latest["canonical"] is False
    assert (
        latest["signed_header"]["commit"]["height"] == latest["signed_header"]["header"]["height"]
    )


def test_blockchain(env: Env) -> None:
    env.wait_height(3)
    result = env.rpc("blockchain", minHeight="1", maxHeight="3")
    meta = {"block_id": BLOCK_ID, "block_size": i64, "header": HEADER, "num_txs": i64}
    check(result, {"last_height": i64, "block_metas": [meta]})
    assert [m["header"]["height"] for m in result["block_metas"]] == ["3", "2", "1"]
    assert len(env.rpc("blockchain")["block_metas"]) <= 20
    with pytest.raises(RPCError) as exc:
        env.rpc("blockchain", minHeight="3", maxHeight="2")
    assert exc.value.error["data"] == "min height 3 can't be greater than max height 2"


def test_validators(env: Env) -> None:
    result = env.rpc("validators", height="1")
    check(result, {"block_height": i64, "validators": [VALIDATOR], "count": i64, "total": i64})
    assert (result["count"], result["total"], result["block_height"]) == ("1", "1", "1")
    assert result["validators"][0]["voting_power"] == "10"
    with pytest.raises(RPCError) as exc:
        env.rpc("validators", page="2")
    assert exc.value.error["data"] == "page should be within [1, 1] range, given 2"


def test_block_results(env: Env, committed: dict) -> None:
    height = committed["results"][0]["height"]
    result = env.rpc("block_results", height=height)
    check(
        result,
        {
            "height": i64,
            "txs_results": [TX_RESULT],
            "finalize_block_events": lambda v: v is None or isinstance(v, list),
            "validator_updates": null,
            "consensus_param_updates": null,
            "app_hash": b64,
        },
    )
    assert result["height"] == height
    first = env.rpc("block_results", height="1")
    assert first["txs_results"] is None


# -- transactions -------------------------------------------------------------------------------


def test_broadcast_tx_commit(env: Env, committed: dict) -> None:
    ok, _, bad = committed["results"]
    shape = {"check_tx": TX_RESULT, "tx_result": TX_RESULT, "hash": hex32, "height": i64}
    for result in committed["results"]:
        check(result, shape)
    assert ok["hash"] == sha(committed["txs"][0])
    assert ok["check_tx"]["code"] == 0 and ok["tx_result"]["code"] == 0
    assert int(ok["height"]) > 0 and ok["tx_result"]["gas_wanted"] == "200000"
    incr = [e for e in ok["tx_result"]["events"] if e["type"] == "incr"]
    assert incr and {a["key"]: a["value"] for a in incr[0]["attributes"]}["amount"] == "5"
    assert bad["tx_result"]["code"] == 18 and bad["tx_result"]["codespace"] == "sdk"
    assert "amount must be positive" in bad["tx_result"]["log"]


def test_broadcast_tx_commit_check_failure(env: Env) -> None:
    result = env.commit_tx(b"\x0a\x03bad")
    assert result["check_tx"]["code"] == 2 and result["height"] == "0"
    assert result["tx_result"]["code"] == 0 and result["tx_result"]["data"] is None


def test_tx_search_by_hash_like_cosmjs(env: Env, committed: dict) -> None:
    tx = committed["txs"][1]
    result = env.rpc("tx_search", query=f"tx.hash='{sha(tx)}'", page="1")
    check(result, {"txs": [RESULT_TX], "total_count": i64})
    assert result["total_count"] == "1"
    (found,) = result["txs"]
    assert found["hash"] == sha(tx) and base64.b64decode(found["tx"]) == tx
    assert found["height"] == committed["results"][1]["height"]
    assert found["tx_result"] == committed["results"][1]["tx_result"]


def test_tx_and_proof(env: Env, committed: dict) -> None:
    tx = committed["txs"][0]
    result = env.rpc("tx", hash=base64.b64encode(hashlib.sha256(tx).digest()).decode())
    check(result, RESULT_TX)
    proved = env.rpc("tx", hash=base64.b64encode(hashlib.sha256(tx).digest()).decode(), prove=True)
    proof = proved["proof"]
    check(
        proof,
        {
            "root_hash": hex32,
            "data": b64,
            "proof": {"total": i64, "index": i64, "leaf_hash": b64, "aunts": [b64]},
        },
    )
    block = env.rpc("block", height=proved["height"])
    assert proof["root_hash"] == block["block"]["header"]["data_hash"]
    assert base64.b64decode(proof["data"]) == tx
    assert base64.b64decode(proof["proof"]["leaf_hash"]) == merkle.leaf_hash(
        hashlib.sha256(tx).digest()
    )
    with pytest.raises(RPCError) as exc:
        env.rpc("tx", hash=base64.b64encode(b"\x00" * 32).decode())
    assert exc.value.error["code"] == -32603
    assert exc.value.error["data"] == f"tx ({'00' * 32}) not found"


def test_tx_search_paging_and_order(env: Env, committed: dict) -> None:
    query = "incr.denom='aaa'"
    everything = env.rpc("tx_search", query=query)
    assert everything["total_count"] == "2"
    page1 = env.rpc("tx_search", query=query, page="1", per_page="1")
    page2 = env.rpc("tx_search", query=query, page="2", per_page="1")
    assert page1["total_count"] == page2["total_count"] == "2"
    assert [page1["txs"][0]["hash"], page2["txs"][0]["hash"]] == [
        sha(t) for t in committed["txs"][:2]
    ]
    desc = env.rpc("tx_search", query=query, order_by="desc")
    assert [t["hash"] for t in desc["txs"]] == [sha(t) for t in reversed(committed["txs"][:2])]
    with pytest.raises(RPCError) as exc:
        env.rpc("tx_search", query=query, page="3", per_page="1")
    assert exc.value.error["code"] == -32603
    assert exc.value.error["data"] == "page should be within [1, 2] range, given 3"
    big = env.rpc("tx_search", query="tx.height>=1", per_page="1000")
    assert len(big["txs"]) == int(big["total_count"]) <= 100
    with pytest.raises(RPCError) as exc:
        env.rpc("tx_search", query=query, order_by="sideways")
    assert "order_by" in exc.value.error["data"]
    with pytest.raises(RPCError) as exc:
        env.rpc("tx_search", query="incr.denom=")
    assert exc.value.error["code"] == -32603


def test_block_search(env: Env, committed: dict) -> None:
    height = committed["results"][0]["height"]
    result = env.rpc("block_search", query=f"block.height={height}")
    check(result, {"blocks": [{"block_id": BLOCK_ID, "block": BLOCK}], "total_count": i64})
    assert (
        result["total_count"] == "1" and result["blocks"][0]["block"]["header"]["height"] == height
    )
    newest_first = env.rpc("block_search", query="block.height<=3")
    assert [b["block"]["header"]["height"] for b in newest_first["blocks"]] == ["3", "2", "1"]
    oldest_first = env.rpc("block_search", query="block.height<=3", order_by="asc")
    assert [b["block"]["header"]["height"] for b in oldest_first["blocks"]] == ["1", "2", "3"]


def test_broadcast_tx_sync_and_duplicates(env: Env) -> None:
    tx = make_tx("ccc", "1", memo="sync")
    result = env.rpc("broadcast_tx_sync", tx=b64tx(tx))
    check(result, {"code": num, "data": hexs, "log": text, "codespace": text, "hash": hex32})
    assert result["code"] == 0 and result["hash"] == sha(tx)
    again = env.call("broadcast_tx_sync", tx=b64tx(tx))
    assert again["error"] == {
        "code": -32603,
        "message": "Internal error",
        "data": "tx already exists in cache",
    }
    rejected = env.rpc("broadcast_tx_sync", tx=b64tx(b"\xff\xff"))
    assert rejected["code"] == 2 and rejected["codespace"] == "sdk" and rejected["log"]


def test_broadcast_tx_async(env: Env) -> None:
    tx = make_tx("ccc", "2", memo="async")
    result = env.rpc("broadcast_tx_async", tx=b64tx(tx))
    assert result == {"code": 0, "data": "", "log": "", "codespace": "", "hash": sha(tx)}


def test_check_tx(env: Env) -> None:
    result = env.rpc("check_tx", tx=b64tx(make_tx("ddd", "1", memo="check")))
    check(result, TX_RESULT)
    assert result["code"] == 0 and result["gas_wanted"] == "200000"
    bad = env.rpc("check_tx", tx=b64tx(b"\x01"))
    assert bad["code"] == 2 and bad["codespace"] == "sdk"


def test_unconfirmed_txs(env: Env) -> None:
    result = env.rpc("unconfirmed_txs", limit="5")
    check(result, {"n_txs": i64, "total": i64, "total_bytes": i64, "txs": [b64]})
    count = env.rpc("num_unconfirmed_txs")
    check(count, {"n_txs": i64, "total": i64, "total_bytes": i64, "txs": null})


# -- abci_query ---------------------------------------------------------------------------------


def test_abci_query_success_and_errors(env: Env, committed: dict) -> None:
    from sultan.pb.cosmos.base.v1beta1 import coin_pb2

    shape = {
        "code": num,
        "log": text,
        "info": text,
        "index": i64,
        "key": b64_or_null,
        "value": b64_or_null,
        "proofOps": null,
        "height": i64,
        "codespace": text,
    }
    data = coin_pb2.Coin(denom="aaa").SerializeToString().hex()
    ok = env.rpc("abci_query", path="/test.Query/Total", data=data, prove=False)["response"]
    check(ok, shape)
    assert ok["code"] == 0 and int(ok["height"]) > 0 and ok["index"] == "0"
    assert coin_pb2.Coin.FromString(base64.b64decode(ok["value"])).amount == "12"
    at_height = env.rpc(
        "abci_query", path="/test.Query/Total", data=data, height=committed["results"][0]["height"]
    )
    assert coin_pb2.Coin.FromString(base64.b64decode(at_height["response"]["value"])).amount == "5"
    missing = env.rpc("abci_query", path="/test.Query/Missing", data="")["response"]
    check(missing, shape)
    assert (
        missing["code"] == 5 and missing["log"] == "rpc error: code = NotFound desc = nothing here"
    )
    assert missing["value"] is None
    unknown = env.rpc("abci_query", path="/no.Such/Method", data="")["response"]
    assert unknown["code"] == 6 and unknown["codespace"] == "sdk"
    future = env.rpc("abci_query", path="/test.Query/Total", data=data, height="999999")["response"]
    assert future["code"] == 3


# -- transport: URI form, batches, errors ---------------------------------------------------------


def test_uri_form(env: Env, committed: dict) -> None:
    status, body = env.uri("/block?height=1")
    assert status == 200 and body["id"] == -1 and body["jsonrpc"] == "2.0"
    assert body["result"] == env.rpc("block", height="1")
    tx = committed["txs"][0]
    status, body = env.uri(f"/tx?hash=0x{hashlib.sha256(tx).hexdigest()}")
    assert status == 200 and body["result"]["hash"] == sha(tx)
    query = urllib.parse.quote(f"\"tx.hash='{sha(tx)}'\"")
    status, body = env.uri(f"/tx_search?query={query}&page=1&per_page=5")
    assert status == 200 and body["result"]["total_count"] == "1"
    data = "0x" + bytes.fromhex("0a03616161").hex()
    status, body = env.uri(f'/abci_query?path="/test.Query/Total"&data={data}')
    assert status == 200 and body["result"]["response"]["code"] == 0
    status, body = env.uri("/block?height=abc")
    assert status == 500 and body["id"] == -1 and body["error"]["code"] == -32602
    assert "height" in body["error"]["data"]
    status, body = env.uri("/tx_search?query=tx.height>1")
    assert status == 500 and body["error"]["code"] == -32602 and "query" in body["error"]["data"]
    status, _, raw = env.http("GET", env.rpc_url + "/no_such_method")
    assert status == 404


def test_endpoint_list(env: Env) -> None:
    status, headers, body = env.http("GET", env.rpc_url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"broadcast_tx_sync?tx=_" in body and b"/status" in body


def test_batch(env: Env) -> None:
    status, responses = env.post_rpc(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "health", "params": {}},
            {"jsonrpc": "2.0", "id": "two", "method": "nope"},
            {"jsonrpc": "2.0", "method": "health"},  # a notification: no reply
            {"jsonrpc": "2.0", "id": 3, "method": "block", "params": ["1"]},
        ]
    )
    assert status == 200
    assert [r["id"] for r in responses] == [1, "two", 3]
    assert responses[0]["result"] == {}
    assert responses[1]["error"] == {"code": -32601, "message": "Method not found"}
    assert responses[2]["result"]["block"]["header"]["height"] == "1"


@pytest.mark.parametrize(
    "payload, code, fragment",
    [
        ({"jsonrpc": "2.0", "id": 7, "method": "nope"}, -32601, None),
        (
            {"jsonrpc": "2.0", "id": 7, "method": "block", "params": {"height": "abc"}},
            -32602,
            "height",
        ),
        (
            {"jsonrpc": "2.0", "id": 7, "method": "block", "params": {"height": True}},
            -32602,
            "height",
        ),
        (
            {"jsonrpc": "2.0", "id": 7, "method": "block", "params": ["1", "2"]},
            -32602,
            "expected 1 parameters",
        ),
        ({"jsonrpc": "2.0", "id": 7, "method": "block", "params": "1"}, -32602, "params"),
        (
            {"jsonrpc": "2.0", "id": 7, "method": "tx", "params": {"hash": "not base64!"}},
            -32602,
            "hash",
        ),
        (
            {"jsonrpc": "2.0", "id": 7, "method": "abci_query", "params": {"data": "zz"}},
            -32602,
            "data",
        ),
        ({"jsonrpc": "2.0", "id": 7, "method": "broadcast_tx_sync", "params": {}}, -32602, "tx"),
        (
            {"jsonrpc": "2.0", "id": 7, "method": "block", "params": {"height": "-1"}},
            -32603,
            "greater than 0",
        ),
        ({"jsonrpc": "2.0", "id": 7, "method": 5}, -32601, None),
    ],
)
def test_error_codes(env: Env, payload: dict, code: int, fragment: str | None) -> None:
    status, response = env.post_rpc(payload)
    assert status == 200 and response["id"] == 7 and response["jsonrpc"] == "2.0"
    assert response["error"]["code"] == code
    if fragment:
        assert fragment in response["error"]["data"]


def test_height_out_of_range_message(env: Env) -> None:
    response = env.call("block", height="999999999")
    latest = env.node.engine.height
    assert response["error"]["code"] == -32603 and response["error"]["message"] == "Internal error"
    data = response["error"]["data"]
    assert data.startswith(
        "height 999999999 must be less than or equal to the current blockchain height "
    )
    assert int(data.rsplit(" ", 1)[1]) >= latest


def test_ids_echoed_verbatim(env: Env) -> None:
    for rid in (0, 42, "abc", "", 2**53 + 1):
        status, response = env.post_rpc({"jsonrpc": "2.0", "id": rid, "method": "health"})
        assert response["id"] == rid and response["result"] == {}
    status, response = env.post_rpc({"jsonrpc": "2.0", "id": {"x": 1}, "method": "health"})
    assert response["id"] is None and response["error"]["code"] == -32600


def test_parse_error_and_bad_requests(env: Env) -> None:
    status, response = env.post_rpc(None, raw=b'{"jsonrpc": "2.0", "id": 1,')
    assert status == 500 and response["error"]["code"] == -32700 and response["id"] is None
    assert response["error"]["message"].startswith("Parse error")
    status, response = env.post_rpc(None, raw=b"\xff\xfe garbage")
    assert response["error"]["code"] == -32700
    status, response = env.post_rpc(None, raw=b"[" * 100_000)
    assert response["error"]["code"] == -32700
    status, response = env.post_rpc([])
    assert response["error"]["code"] == -32600
    status, response = env.post_rpc([1, "x"])
    assert [r["error"]["code"] for r in response] == [-32600, -32600]
    status, response = env.post_rpc({"jsonrpc": "2.0", "method": "health"})
    assert status == 200 and response is None  # a notification
    assert env.rpc("health") == {}  # still serving


def test_oversize_body(env: Env) -> None:
    limit = env.node.config.node.rpc.max_body_bytes
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync", "params": {"tx": "A" * limit}}
    )
    status, response = env.post_rpc(None, raw=body.encode())
    assert status == 413
    assert response["error"]["code"] == -32600 and "too large" in response["error"]["data"]
    assert env.rpc("health") == {}


def test_event_attribute_shape_inside_results(env: Env, committed: dict) -> None:
    events = committed["results"][0]["tx_result"]["events"]
    assert events
    for event in events:
        check(event, EVENT)
        assert all(a["key"] for a in event["attributes"])  # CosmJS rejects empty keys


def test_merkle_proof_for_multi_tx_block(env: Env) -> None:
    """Several txs in one block: each inclusion proof verifies against data_hash."""
    txs = [make_tx("eee", str(i), memo=f"multi-{i}") for i in range(1, 6)]
    for tx in txs:
        env.rpc("broadcast_tx_sync", tx=b64tx(tx))
    last = env.commit_tx(make_tx("eee", "9", memo="multi-last"))
    for tx in txs:
        proved = env.rpc(
            "tx", hash=base64.b64encode(hashlib.sha256(tx).digest()).decode(), prove=True
        )
        proof = proved["proof"]
        leaf = base64.b64decode(proof["proof"]["leaf_hash"])
        index, total = int(proof["proof"]["index"]), int(proof["proof"]["total"])
        node = leaf
        aunts = [base64.b64decode(a) for a in proof["proof"]["aunts"]]
        assert _root_from_aunts(index, total, node, aunts).hex().upper() == proof["root_hash"]
    assert int(last["height"]) > 0


def _root_from_aunts(index: int, total: int, leaf: bytes, aunts: list[bytes]) -> bytes:
    """CometBFT's computeHashFromAunts."""
    if total == 1:
        assert not aunts
        return leaf
    k = 1 << ((total - 1).bit_length() - 1)
    if index < k:
        left = _root_from_aunts(index, k, leaf, aunts[:-1])
        return merkle.inner_hash(left, aunts[-1])
    right = _root_from_aunts(index - k, total - k, leaf, aunts[:-1])
    return merkle.inner_hash(aunts[-1], right)


BAD_VALUES = [None, -1, 0, "x", "", [], {}, True, "0x", "AAAA", 2**70, "99999999999", 1.5, "-5"]


def test_no_input_crashes_any_method(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """Every method with every kind of bad argument answers with a result or a JSON-RPC error."""
    from sultan.api.rpc import METHODS

    rid = 1000
    for name, method in METHODS.items():
        batch = []
        for param in method.params:
            for value in BAD_VALUES:
                rid += 1
                batch.append(
                    {"jsonrpc": "2.0", "id": rid, "method": name, "params": {param.name: value}}
                )
        if not batch:
            batch = [{"jsonrpc": "2.0", "id": rid, "method": name, "params": {"junk": BAD_VALUES}}]
        status, responses = env.post_rpc(batch)
        assert status == 200, name
        assert len(responses) == len(batch)
        for response in responses:
            assert ("result" in response) != ("error" in response), (name, response)
            if "error" in response:
                assert response["error"]["code"] in (-32602, -32603), (name, response)
    assert env.rpc("health") == {}
    # no handler hit an unexpected exception (those are logged and reported as "<Type>: ...")
    assert not [r for r in caplog.records if r.name == "sultan.rpc" and r.levelname == "ERROR"]
