"""The embedded engine's mempool with a fake CheckTx."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sultan.kernel.mempool import Mempool, MempoolError
from sultan.pb.tendermint.abci import types_pb2 as abci


class FakeApp:
    """CheckTx by table: tx -> (code, gas_wanted); unknown txs pass with 10 gas."""

    def __init__(self) -> None:
        self.verdicts: dict[bytes, tuple[int, int]] = {}
        self.calls: list[tuple[bytes, int]] = []

    def check_tx(self, req: Any) -> Any:
        self.calls.append((req.tx, req.type))
        code, gas = self.verdicts.get(req.tx, (0, 10))
        return SimpleNamespace(code=code, gas_wanted=gas, log="" if code == 0 else "rejected")

    def new_calls(self) -> list[tuple[bytes, int]]:
        calls, self.calls = self.calls, []
        return calls


def ok() -> Any:
    return SimpleNamespace(code=0)


def failed() -> Any:
    return SimpleNamespace(code=5)


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


def test_add_and_account(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    notified: list[int] = []
    mp.on_new_tx(lambda: notified.append(len(mp)))
    response = mp.check_and_add(b"tx-one")
    assert response.code == 0
    assert app.new_calls() == [(b"tx-one", abci.NEW)]
    mp.check_and_add(b"tx-two!")
    assert len(mp) == 2 and mp.total_bytes == 6 + 7
    assert mp.txs(10) == [b"tx-one", b"tx-two!"] and mp.txs(1) == [b"tx-one"]
    assert notified == [1, 2]


def test_duplicates_are_refused_without_check_tx(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    mp.check_and_add(b"tx")
    app.new_calls()
    with pytest.raises(MempoolError, match="tx already exists in cache"):
        mp.check_and_add(b"tx")
    assert app.new_calls() == [] and len(mp) == 1


def test_failed_check_tx_is_not_kept_or_cached(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    notified: list[bool] = []
    mp.on_new_tx(lambda: notified.append(True))
    app.verdicts[b"poor"] = (5, 0)
    assert mp.check_and_add(b"poor").code == 5
    assert len(mp) == 0 and mp.total_bytes == 0 and not notified
    # Once funded it may be sent again: the failure was not remembered.
    del app.verdicts[b"poor"]
    assert mp.check_and_add(b"poor").code == 0
    assert [tx for tx, _ in app.new_calls()] == [b"poor", b"poor"]
    assert len(mp) == 1 and notified == [True]


def test_size_limit(app: FakeApp) -> None:
    mp = Mempool(app.check_tx, size=2)
    mp.check_and_add(b"a")
    mp.check_and_add(b"b")
    app.new_calls()
    with pytest.raises(MempoolError, match=r"mempool is full: number of txs 2 \(max: 2\)"):
        mp.check_and_add(b"c")
    assert app.new_calls() == [] and len(mp) == 2


def test_total_bytes_limit(app: FakeApp) -> None:
    mp = Mempool(app.check_tx, max_txs_bytes=10)
    mp.check_and_add(b"12345")
    mp.check_and_add(b"67890")  # exactly at the limit
    with pytest.raises(MempoolError, match=r"total txs bytes 10 \(max: 10\)"):
        mp.check_and_add(b"x")
    assert mp.total_bytes == 10


def test_too_large_tx(app: FakeApp) -> None:
    mp = Mempool(app.check_tx, max_tx_bytes=4)
    assert mp.check_and_add(b"1234").code == 0
    app.new_calls()
    with pytest.raises(MempoolError, match=r"(?i)tx too large. Max size is 4, but got 5"):
        mp.check_and_add(b"12345")
    assert app.new_calls() == []
    # The refusal is not remembered as a duplicate.
    mp.max_tx_bytes = 5
    assert mp.check_and_add(b"12345").code == 0


def test_cache_is_lru_bounded(app: FakeApp) -> None:
    mp = Mempool(app.check_tx, cache_size=2)
    txs = [b"t1", b"t2", b"t3"]
    for tx in txs:
        mp.check_and_add(tx)
    mp.update(txs, [ok(), ok(), ok()])
    assert len(mp) == 0 and mp.total_bytes == 0
    # t1 fell out of the 2-entry cache; t2 and t3 are still known.
    for tx in (b"t2", b"t3"):
        with pytest.raises(MempoolError, match="already exists in cache"):
            mp.check_and_add(tx)
    assert mp.check_and_add(b"t1").code == 0


def test_reap_respects_bytes_and_gas(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    app.verdicts.update({b"aaaa": (0, 5), b"bbb": (0, 7), b"cc": (0, 1), b"d": (0, 0)})
    for tx in (b"aaaa", b"bbb", b"cc", b"d"):
        mp.check_and_add(tx)
    assert mp.reap(-1, -1) == [b"aaaa", b"bbb", b"cc", b"d"]
    assert mp.reap(0, -1) == []
    # Each tx counts its bytes plus 2 bytes of Data.txs framing (tag + length).
    assert mp.reap(11, -1) == [b"aaaa", b"bbb"]  # exactly fits
    assert mp.reap(12, -1) == [b"aaaa", b"bbb"]  # "cc" would overflow: stop, keep order
    assert mp.reap(10, -1) == [b"aaaa"]
    assert mp.reap(-1, 12) == [b"aaaa", b"bbb"]
    assert mp.reap(-1, 11) == [b"aaaa"]
    assert mp.reap(-1, 0) == []
    assert mp.reap(100, 13) == [b"aaaa", b"bbb", b"cc", b"d"]
    # Reaping does not remove anything.
    assert len(mp) == 4


def test_update_removes_committed_and_rechecks(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    for tx in (b"one", b"two", b"three", b"four"):
        mp.check_and_add(tx)
    app.new_calls()
    app.verdicts[b"three"] = (32, 0)  # e.g. its sequence was used by a committed tx
    mp.update([b"one", b"other-node-tx"], [ok(), ok()])
    assert app.new_calls() == [
        (b"two", abci.RECHECK),
        (b"three", abci.RECHECK),
        (b"four", abci.RECHECK),
    ]
    assert mp.txs(10) == [b"two", b"four"]
    assert mp.total_bytes == len(b"two") + len(b"four")
    # Committed txs (even ones this node never saw) are remembered; the dropped one is not.
    for tx in (b"one", b"other-node-tx"):
        with pytest.raises(MempoolError):
            mp.check_and_add(tx)
    del app.verdicts[b"three"]
    assert mp.check_and_add(b"three").code == 0


def test_recheck_runs_in_arrival_order_with_recheck_type(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    for tx in (b"a", b"b", b"c"):
        mp.check_and_add(tx)
    app.new_calls()
    mp.update([b"b"], [ok()])
    assert app.new_calls() == [(b"a", abci.RECHECK), (b"c", abci.RECHECK)]


def test_failed_committed_tx_may_be_resubmitted(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    mp.check_and_add(b"tx")
    mp.update([b"tx"], [failed()])
    assert len(mp) == 0 and mp.total_bytes == 0
    assert mp.check_and_add(b"tx").code == 0


def test_update_without_recheck(app: FakeApp) -> None:
    mp = Mempool(app.check_tx, recheck=False)
    for tx in (b"a", b"b"):
        mp.check_and_add(tx)
    app.new_calls()
    app.verdicts[b"b"] = (5, 0)
    mp.update([b"a"], [ok()])
    assert app.new_calls() == []
    assert mp.txs(10) == [b"b"]


def test_update_needs_one_result_per_tx(app: FakeApp) -> None:
    mp = Mempool(app.check_tx)
    with pytest.raises(ValueError):
        mp.update([b"a", b"b"], [ok()])
