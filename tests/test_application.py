"""The application's tx path and determinism, through the real engine on a real RocksDB."""

from __future__ import annotations

import random

import pytest
from google.protobuf import any_pb2
from sultan_counter.pb.counter.v1 import counter_pb2 as counter

from sultan.kernel.abci.app import GenesisStateError
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan.testing import ChainHarness, unsigned_tx

COUNT = "/counter.v1.Query/Count"


def incr(amount: int, sender: str = "alice") -> bytes:
    return unsigned_tx(counter.MsgIncrement(sender=sender, amount=amount))


def count(h: ChainHarness, height: int = 0) -> int:
    return h.query(COUNT, counter.QueryCountRequest(), height).value


@pytest.fixture
def chain():
    with ChainHarness(["counter"]) as h:
        yield h


def test_message_changes_state_and_emits_events(chain):
    (result,) = chain.deliver(incr(5))
    assert result.code == 0, result.log
    assert count(chain) == 5
    types = [e.type for e in result.events]
    assert types == ["message", "increment"]
    message = {a.key: a.value for a in result.events[0].attributes}
    assert message == {
        "action": "/counter.v1.MsgIncrement",
        "sender": "alice",
        "module": "counter",
        "msg_index": "0",
    }
    assert result.gas_used > 0 and result.gas_wanted == 200_000


def test_failing_message_reverts_only_its_own_writes(chain):
    ok, bad, ok2 = chain.deliver(incr(2), incr(0), incr(3))
    assert (ok.code, ok2.code) == (0, 0)
    assert (bad.codespace, bad.code) == ("counter", 2)
    assert bad.log == (
        "failed to execute message; message index: 0: "
        "amount must be between 1 and 1000, got 0: invalid amount"
    )
    assert bad.events == [] or all(e.type != "increment" for e in bad.events)
    assert count(chain) == 5


def test_multi_message_tx_is_atomic(chain):
    tx = unsigned_tx(
        counter.MsgIncrement(sender="a", amount=4), counter.MsgIncrement(sender="a", amount=0)
    )
    (result,) = chain.deliver(tx)
    assert result.code == 2
    assert count(chain) == 0


@pytest.mark.parametrize(
    "raw, code, fragment",
    [
        (b"\xff\xff\xff", 2, "invalid TxRaw"),
        (b"", 2, "empty"),
        (tx_pb2.TxRaw(body_bytes=b"\x0a\x05junk").SerializeToString(), 2, "invalid tx body"),
    ],
)
def test_undecodable_tx_is_rejected_by_checktx(chain, raw, code, fragment):
    response = chain.check_tx(raw)
    assert response.code == code and response.codespace == "sdk"
    assert fragment in response.log


def test_unknown_message_type_is_rejected(chain):
    any_msg = any_pb2.Any(type_url="/nope.v1.MsgNothing", value=b"")
    body = tx_pb2.TxBody(messages=[any_msg]).SerializeToString()
    raw = tx_pb2.TxRaw(
        body_bytes=body, auth_info_bytes=tx_pb2.AuthInfo().SerializeToString()
    ).SerializeToString()
    response = chain.check_tx(raw)
    assert response.code == 2
    assert "unable to resolve type URL /nope.v1.MsgNothing" in response.log


def test_tx_without_messages_is_invalid(chain):
    response = chain.check_tx(unsigned_tx())
    assert (response.code, response.codespace) == (18, "sdk")


def test_out_of_gas_fails_the_tx_but_not_the_block(chain):
    low, ok = chain.deliver(
        unsigned_tx(counter.MsgIncrement(sender="a", amount=1), gas_limit=1500), incr(1)
    )
    assert (low.code, low.codespace) == (11, "sdk")
    assert "out of gas" in low.log
    assert ok.code == 0
    assert count(chain) == 1


def test_timeout_height(chain):
    chain.deliver()
    chain.deliver()
    (result,) = chain.deliver(
        unsigned_tx(counter.MsgIncrement(sender="a", amount=1), timeout_height=2)
    )
    assert (result.code, result.codespace) == (30, "sdk")


def test_checktx_does_not_execute_messages(chain):
    assert chain.check_tx(incr(0)).code == 0  # amount is checked by the handler, not the ante
    assert count(chain) == 0


def test_queries_read_committed_versions(chain):
    chain.deliver(incr(1))
    chain.deliver(incr(10))
    assert count(chain, height=1) == 1
    assert count(chain, height=2) == 11
    assert count(chain) == 11
    future = chain.abci_query(COUNT, b"", height=99)
    assert future.code != 0 and "future" in future.log


def test_unknown_query_path_and_bad_request_bytes(chain):
    assert "Unimplemented" in chain.abci_query("/x.Query/Y").log
    bad = chain.abci_query(COUNT, b"\xff\xff")
    assert bad.code == 3 and "InvalidArgument" in bad.log


def test_store_query_path(chain):
    chain.deliver(incr(3))
    response = chain.abci_query("/store/counter/key", b"\x01")
    assert response.code == 0 and int.from_bytes(response.value, "big") == 3
    assert chain.abci_query("/store/nope/key", b"\x01").code != 0


def test_genesis_import_and_export_round_trip():
    with ChainHarness(
        ["counter"], app_state={"counter": {"value": "42", "params": {"max_amount": "7"}}}
    ) as h:
        h.deliver()
        assert count(h) == 42
        assert h.export_genesis() == {"counter": {"value": "42", "params": {"max_amount": "7"}}}
        (result,) = h.deliver(incr(8))
        assert result.code == 2 and "between 1 and 7" in result.log


def test_genesis_for_a_disabled_module_is_rejected():
    with pytest.raises(GenesisStateError, match="not enabled: bank"):
        ChainHarness(["counter"], app_state={"bank": {}})


def test_invalid_module_genesis_is_rejected():
    with pytest.raises(GenesisStateError, match="module 'counter'"):
        ChainHarness(["counter"], app_state={"counter": {"value": "-1"}})


def _random_blocks(seed: int) -> list[list[bytes]]:
    rng = random.Random(seed)
    return [
        [
            incr(rng.randint(0, 1200), sender=f"s{rng.randint(0, 5)}")
            for _ in range(rng.randint(0, 6))
        ]
        for _ in range(15)
    ]


def test_two_nodes_fed_the_same_blocks_reach_the_same_app_hashes(tmp_path):
    blocks = _random_blocks(7)
    hashes = []
    for name in ("a", "b"):
        with ChainHarness(["counter"], path=tmp_path / name) as h:
            hashes.append([h.block(*txs).block.header.app_hash for txs in blocks] + [h.app_hash])
    assert hashes[0] == hashes[1]
    assert len(set(hashes[0])) > 1


def test_different_blocks_give_different_app_hashes(tmp_path):
    with (
        ChainHarness(["counter"], path=tmp_path / "a") as a,
        ChainHarness(["counter"], path=tmp_path / "b") as b,
    ):
        a.deliver(incr(1))
        b.deliver(incr(2))
        assert a.app_hash != b.app_hash


def test_restart_continues_from_the_last_committed_block(tmp_path):
    with ChainHarness(["counter"], path=tmp_path) as h:
        h.deliver(incr(4))
        block2 = h.block(incr(5))
        app_hash = h.app_hash
    with ChainHarness(["counter"], path=tmp_path) as h:
        assert h.height == 2 and h.app_hash == app_hash
        assert h.engine.blocks.block_id(2).hash == block2.block_id.hash
        assert count(h) == 9
        h.deliver(incr(1))
        assert h.height == 3 and count(h) == 10


def test_a_query_of_a_version_pruned_while_it_ran_is_refused() -> None:
    """Pruning deletes a version's data in the commit's batch, before the in-memory view
    moves on: a query that read the version meanwhile gets an error, not partial data."""
    from sultan.kernel.errors import QueryError

    with ChainHarness(["counter"], keep_recent=2) as h:
        for _ in range(3):
            h.block(incr(1))
        old = h.height - 1
        assert count(h, old) == 2  # retained: keep_recent=2
        # The next commit's batch is written (pruning `old`), apply_commit has not run yet.
        committed = h.app.committed
        ops, _, _ = committed.prepare_commit([], committed.height + 1, keep_recent=2)
        h.db.write(ops)
        with pytest.raises(QueryError, match=f"version {old} was pruned while the query ran"):
            count(h, old)
