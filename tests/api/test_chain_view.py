"""`chain_view`: CometBFT RPC JSON → protobuf is the exact inverse of what CometBFT writes.

The embedded RPC's encoders (`jsonfmt`) produce CometBFT's JSON (the golden-shape tests in
tests/cometbft prove it against a real CometBFT), so decoding their output must give back
the very messages the embedded engine stored — block, block id, results, validators,
consensus params and indexed txs — hashes and all.
"""

from __future__ import annotations

import hashlib

import pytest
from sultan_counter.pb.counter.v1 import counter_pb2 as counter

from sultan.api import jsonfmt as fmt
from sultan.api.chain_view import (
    CometBFTChainView,
    EmbeddedChainView,
    block_from_json,
    block_id_from_json,
    consensus_params_from_json,
    results_from_json,
    tx_result_from_json,
    validator_from_json,
)
from sultan.kernel.engine import hashing
from sultan.testing import ChainHarness, unsigned_tx


@pytest.fixture(scope="module")
def chain():
    with ChainHarness(["counter"]) as h:
        h.block()
        h.block(
            unsigned_tx(counter.MsgIncrement(sender="alice", amount=3)),
            unsigned_tx(counter.MsgIncrement(sender="bob", amount=0)),  # fails: code != 0
        )
        h.block()
        yield h


def test_block_and_block_id_round_trip(chain) -> None:
    blocks = chain.engine.blocks
    for height in (1, 2, 3):
        block, bid = blocks.block(height), blocks.block_id(height)
        decoded = block_from_json(fmt.block(block))
        assert decoded.header == block.header and decoded.data == block.data
        assert hashing.header_hash(decoded.header) == bid.hash
        # (An empty last commit decodes with empty sub-messages set; same hash.)
        assert hashing.commit_hash(decoded.last_commit) == hashing.commit_hash(block.last_commit)
        if height > 1:
            assert decoded.last_commit == block.last_commit
        assert block_id_from_json(fmt.block_id(bid)) == bid


def test_results_validators_params_and_txs_round_trip(chain) -> None:
    blocks = chain.engine.blocks
    results = blocks.results(2)
    assert len(results.tx_results) == 2 and results.tx_results[1].code != 0
    decoded = results_from_json(fmt.block_results(2, results))
    assert list(decoded.tx_results) == list(results.tx_results)
    assert decoded.app_hash == results.app_hash
    vset = blocks.validators(2)
    assert [validator_from_json(fmt.validator(v)) for v in vset.validators] == list(vset.validators)
    params = chain.engine.consensus_params
    assert consensus_params_from_json(fmt.consensus_params(params)) == params
    block = blocks.block(2)
    for tx in block.data.txs:
        record = chain.engine.indexer.tx(hashlib.sha256(tx).digest())
        assert tx_result_from_json(fmt.result_tx(record)) == record


def test_embedded_view_searches_like_the_indexer(chain) -> None:
    from sultan.kernel.engine.query import parse_query

    node = type("N", (), {"engine": chain.engine, "mempool": chain.mempool})()
    view = EmbeddedChainView(node)
    text = "message.sender='alice'"
    found = view.search_txs(text, parse_query(text))
    assert [(r.height, r.index) for r in found] == [(2, 0)]
    assert view.mempool_stats() == (0, 0) and view.syncing() is False
    assert view.node_info() is None


def test_cometbft_view_reports_an_unreachable_rpc_clearly() -> None:
    from sultan.api.chain_view import ChainUnavailableError

    view = CometBFTChainView("http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ChainUnavailableError, match="unreachable"):
        _ = view.blocks.height
    ok, body = view.health()
    assert not ok and "unreachable" in body["reason"]
