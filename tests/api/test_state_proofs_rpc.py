"""CometBFT JSON-RPC `abci_query` with prove=true: `proofOps` that verify against a header."""

from __future__ import annotations

import base64

from api_env import Env

from sultan.kernel.store import ics23
from sultan.pb.cosmos.ics23.v1 import proofs_pb2 as pb


def _verify(response: dict, app_hash: bytes) -> None:
    ops = response["proofOps"]["ops"]
    assert [op["type"] for op in ops] == ["ics23:smt", "ics23:simple"]
    key = base64.b64decode(response["key"])
    assert base64.b64decode(ops[0]["key"]) == key
    store_proof = pb.CommitmentProof.FromString(base64.b64decode(ops[0]["data"]))
    top_proof = pb.CommitmentProof.FromString(base64.b64decode(ops[1]["data"]))
    root = ics23.calculate(store_proof)
    assert ics23.verify_membership(
        ics23.TENDERMINT_SPEC, app_hash, top_proof, base64.b64decode(ops[1]["key"]), root
    )
    value = base64.b64decode(response["value"] or "")
    if value:
        assert ics23.verify_membership(ics23.SMT_SPEC, root, store_proof, key, value)
    else:
        assert ics23.verify_non_membership(ics23.SMT_SPEC, root, store_proof, key)


def test_abci_query_prove_returns_verifiable_proof_ops(env: Env) -> None:
    height = int(env.rpc("status")["sync_info"]["latest_block_height"]) - 1
    env.wait_height(height + 1)
    present = env.rpc(
        "abci_query",
        path="/store/kernel/key",
        data=b"version/apitest".hex(),
        height=str(height),
        prove=True,
    )["response"]
    absent = env.rpc(
        "abci_query",
        path="/store/kernel/key",
        data=b"\xffnope".hex(),
        height=str(height),
        prove=True,
    )["response"]
    assert present["code"] == 0 and absent["code"] == 0, (present["log"], absent["log"])
    assert int(present["height"]) == height and present["value"]
    header = env.rpc("header", height=str(height + 1))["header"]
    app_hash = bytes.fromhex(header["app_hash"])
    _verify(present, app_hash)
    _verify(absent, app_hash)
    plain = env.rpc("abci_query", path="/store/kernel/key", data=b"x".hex(), prove=False)
    assert plain["response"]["proofOps"] is None
