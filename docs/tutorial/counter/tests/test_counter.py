"""The tutorial module, tested the way a module author would: in-process and end to end."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
from sultan_counter.pb.counter.v1 import counter_pb2

from sultan.testing import ChainHarness, NodeProcess, init_home, unsigned_tx

COUNT = "/counter.v1.Query/Count"


def increment(amount: int, sender: str = "alice") -> bytes:
    return unsigned_tx(counter_pb2.MsgIncrement(sender=sender, amount=amount))


def test_increment_adds_to_the_counter():
    with ChainHarness(["counter"]) as chain:
        (result,) = chain.deliver(increment(2))
        assert result.code == 0
        assert (
            counter_pb2.MsgIncrementResponse.FromString(_first_msg_response(result.data)).value == 2
        )
        chain.deliver(increment(3), increment(4))
        response = chain.query(COUNT, counter_pb2.QueryCountRequest())
        assert (response.value, response.increments) == (9, 3)


def test_amount_above_the_param_is_refused():
    with ChainHarness(
        ["counter"], app_state={"counter": {"value": "0", "params": {"max_amount": "5"}}}
    ) as chain:
        (result,) = chain.deliver(increment(6))
        assert (result.codespace, result.code) == ("counter", 2)
        assert chain.query(COUNT, counter_pb2.QueryCountRequest()).value == 0


def test_empty_sender_is_refused(sultan_chain):
    # `sultan_chain` comes from Sultan's pytest plugin (installed with the sultan package).
    chain = sultan_chain(["counter"])
    (result,) = chain.deliver(increment(1, sender=""))
    assert (result.codespace, result.code) == ("counter", 3)


def test_genesis_validation_names_the_problem():
    with pytest.raises(ValueError, match="params.max_amount must be positive"):
        ChainHarness(["counter"], app_state={"counter": {"params": {"max_amount": "0"}}})


def _first_msg_response(data: bytes) -> bytes:
    from sultan.pb.cosmos.base.abci.v1beta1 import abci_pb2

    return abci_pb2.TxMsgData.FromString(data).msg_responses[0].value


def test_counter_through_a_running_node(tmp_path):
    home = init_home(tmp_path / "home", ["counter"])
    with NodeProcess(home, timeout_commit="100ms") as node:
        tx = base64.b64encode(increment(7)).decode()
        committed = node.rpc("broadcast_tx_commit", tx=tx)
        assert committed["tx_result"]["code"] == 0
        # The same query over CometBFT abci_query, REST and the tx index.
        answer = node.rpc("abci_query", path=COUNT, data="")
        value = counter_pb2.QueryCountResponse.FromString(
            base64.b64decode(answer["response"]["value"])
        )
        assert value.value == 7
        with urllib.request.urlopen(f"{node.rest_url}/counter/v1/count", timeout=10) as resp:
            assert json.loads(resp.read()) == {"value": "7", "increments": "1"}
        found = node.rpc("tx_search", query="increment.sender='alice'")
        assert found["total_count"] == "1"
