"""Golden RPC shapes: what the real CometBFT v0.38 RPC returns when it fronts Sultan, and the
embedded engine's RPC (`sultan/api/rpc.py`) must return the same keys and JSON types.

The shapes (keys and JSON types only, never values) are recorded in tests/cometbft/golden/.
After a deliberate change (e.g. a CometBFT upgrade) re-record them with
`SULTAN_UPDATE_GOLDEN=1 pytest tests/cometbft/test_golden_rpc.py` and review the diff.

Shape rules: an object's shape is its key set with each value's shape; a list's shape is
the merge of its elements' shapes; `null` is compatible with any type (CometBFT writes
`null` for empty byte slices and absent lists), and an empty list with any list.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cmt_env import CAROL, CHAIN_ID, DENOM, FUNDS, Net
from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2, tx_pb2

from sultan.testing import NodeProcess, init_home
from sultan.testing.wallet import Wallet

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("SULTAN_UPDATE_GOLDEN") == "1"
METHODS = (
    "status",
    "block",
    "block_results",
    "tx_search",
    "tx",
    "validators",
    "abci_query",
    "abci_info",
    "commit",
)
DAVE = Wallet.from_seed("cometbft-dave")


# -- shapes ---------------------------------------------------------------------------------


def shape(value: Any) -> Any:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = merge(merged, shape(item))
        return [] if merged is None else [merged]
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    raise TypeError(type(value))


def merge(a: Any, b: Any) -> Any:
    if a is None or a == "null":
        return b
    if b == "null":
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: merge(a.get(k), b.get(k)) for k in sorted(set(a) | set(b))}
    if isinstance(a, list) and isinstance(b, list):
        return a if not b else b if not a else [merge(a[0], b[0])]
    if a != b:
        raise AssertionError(f"list elements of different types: {a!r} vs {b!r}")
    return a


def differences(expected: Any, got: Any, path: str = "$") -> list[str]:
    """Where `got` does not fit `expected` (empty list = same keys and types)."""
    if expected == "null" or got == "null":
        return []
    if isinstance(expected, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: missing" for k in sorted(set(expected) - set(got))]
        out += [f"{path}.{k}: unexpected" for k in sorted(set(got) - set(expected))]
        for k in sorted(set(expected) & set(got)):
            out += differences(expected[k], got[k], f"{path}.{k}")
        return out
    if isinstance(expected, list) and isinstance(got, list):
        if not expected or not got:
            return []
        return differences(expected[0], got[0], f"{path}[]")
    if expected != got:
        return [f"{path}: expected {json.dumps(expected)}, got {json.dumps(got)}"]
    return []


# -- samples --------------------------------------------------------------------------------


def bank_send(sender: Wallet, to: str, account_number: int, sequence: int) -> bytes:
    msg = tx_pb2.MsgSend(
        from_address=sender.address, to_address=to, amount=[{"denom": DENOM, "amount": "3"}]
    )
    return sender.sign_tx(
        [msg],
        sequence=sequence,
        account_number=account_number,
        chain_id=CHAIN_ID,
        fee=f"2000{DENOM}",
        gas=200_000,
    )


def collect(call: Any, wait_tx: Any, tx: bytes) -> dict[str, Any]:
    """Every METHODS result for one committed bank tx, through `call(method, **params)`."""
    tx_hash = hashlib.sha256(tx).hexdigest().upper()
    res = call("broadcast_tx_sync", tx=base64.b64encode(tx).decode())
    assert res["code"] == 0, res
    committed = wait_tx(tx_hash)
    height = committed["height"]
    balance_req = query_pb2.QueryBalanceRequest(address=CAROL.address, denom=DENOM)
    return {
        "status": call("status"),
        "block": call("block", height=height),
        "block_results": call("block_results", height=height),
        "tx_search": call("tx_search", query=f"tx.hash='{tx_hash}'", page="1"),
        "tx": committed,
        "validators": call("validators", height=height),
        "abci_query": call(
            "abci_query",
            path="/cosmos.bank.v1beta1.Query/Balance",
            data=balance_req.SerializeToString().hex(),
        ),
        "abci_info": call("abci_info"),
        "commit": call("commit", height=height),
    }


@pytest.fixture(scope="module")
def cometbft_results(network: Net) -> dict[str, Any]:
    account_number = int(
        network.rest(0, f"/cosmos/auth/v1beta1/accounts/{CAROL.address}")[1]["account"][
            "account_number"
        ]
    )
    tx = bank_send(CAROL, DAVE.address, account_number, 0)
    return collect(lambda m, **p: network.rpc(0, m, **p), lambda h: network.wait_tx(0, h), tx)


@pytest.fixture(scope="module")
def embedded_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    home = init_home(
        tmp_path_factory.mktemp("embedded") / "home", ["auth", "bank"], chain_id=CHAIN_ID
    )
    genesis_path = home / "config" / "genesis.json"
    doc = json.loads(genesis_path.read_text())
    doc["app_state"]["bank"]["balances"] = [
        {"address": CAROL.address, "coins": [{"denom": DENOM, "amount": str(FUNDS)}]}
    ]
    genesis_path.write_text(json.dumps(doc, indent=2))
    node = NodeProcess(home, timeout_commit="200ms")
    try:
        node.start()
        yield node
    finally:
        node.kill()


@pytest.fixture(scope="module")
def embedded_results(embedded_node: NodeProcess) -> dict[str, Any]:
    def wait_tx(tx_hash: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                return dict(
                    embedded_node.rpc("tx", hash=base64.b64encode(bytes.fromhex(tx_hash)).decode())
                )
            except RuntimeError:
                time.sleep(0.1)
        raise TimeoutError(tx_hash)

    url = f"{embedded_node.rest_url}/cosmos/auth/v1beta1/accounts/{CAROL.address}"
    with urllib.request.urlopen(url, timeout=10) as response:
        account_number = int(json.loads(response.read())["account"]["account_number"])
    tx = bank_send(CAROL, DAVE.address, account_number, 0)
    return collect(embedded_node.rpc, wait_tx, tx)


def golden(method: str) -> Any:
    return json.loads((GOLDEN / f"{method}.json").read_text())["shape"]


@pytest.mark.parametrize("method", METHODS)
def test_cometbft_rpc_matches_the_recorded_golden_shape(
    cometbft_results: dict[str, Any], method: str
) -> None:
    got = shape(cometbft_results[method])
    path = GOLDEN / f"{method}.json"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path} is missing: record it with SULTAN_UPDATE_GOLDEN=1")
        GOLDEN.mkdir(exist_ok=True)
        record = {
            "method": method,
            "recorded_from": "CometBFT v0.38 RPC fronting a Sultan app (auth, bank), after a bank MsgSend",
            "shape": got,
        }
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    assert differences(golden(method), got) == []


@pytest.mark.parametrize("method", METHODS)
def test_embedded_rpc_has_the_same_shape_as_cometbft(
    embedded_results: dict[str, Any], method: str
) -> None:
    assert differences(golden(method), shape(embedded_results[method])) == []


def test_shape_comparison_catches_differences() -> None:
    base = shape({"a": "1", "b": [{"c": 1}], "d": None})
    assert differences(base, shape({"a": "2", "b": [], "d": "x"})) == []
    assert differences(base, shape({"a": 1, "b": [{"c": 1}], "d": None})) == [
        '$.a: expected "string", got "number"'
    ]
    assert differences(base, shape({"b": [{"c": 1, "e": 2}], "d": None})) == [
        "$.a: missing",
        "$.b[].e: unexpected",
    ]
