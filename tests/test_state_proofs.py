"""State proofs end to end: abci_query prove=true, checked by our verifier and by cosmos/ics23.

The Go checker (tests/ics23_go, the released github.com/cosmos/ics23/go) is built once into
.cache/ and fed the proofs the node serves: two independent verifiers must agree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sultan_counter.pb.counter.v1 import counter_pb2 as counter

from sultan.api import jsonfmt
from sultan.kernel.store import ics23
from sultan.kernel.store.db import Database
from sultan.kernel.store.versioned import CommittedState
from sultan.pb.cosmos.ics23.v1 import proofs_pb2 as pb
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.testing import ChainHarness, unsigned_tx

ROOT = Path(__file__).resolve().parents[1]
GO_SRC = ROOT / "tests" / "ics23_go"


@pytest.fixture(scope="session")
def go_checker() -> Path:
    """The Go checker binary, rebuilt only when its sources change."""
    go = shutil.which("go")
    assert go, "the Go toolchain is needed to build tests/ics23_go (install golang)"
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod", "go.sum"):
        digest.update((GO_SRC / name).read_bytes())
    out = ROOT / ".cache" / "ics23_go" / f"ics23check-{digest.hexdigest()[:16]}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        subprocess.run(
            [go, "build", "-o", str(tmp), "."],
            cwd=GO_SRC,
            check=True,
            timeout=600,
            env={**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"},
        )
        tmp.replace(out)
    return out


def go_verify(checker: Path, requests: list[dict]) -> list[str]:
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    done = subprocess.run(
        [str(checker)], input=lines, capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout.splitlines()


def request(spec: str, root: bytes, proof: bytes, key: bytes, value: bytes | None) -> dict:
    return {
        "spec": spec,
        "root": root.hex(),
        "proof": proof.hex(),
        "key": key.hex(),
        "value": None if value is None else value.hex(),
    }


def proven_query(chain: ChainHarness, store: str, key: bytes, height: int = 0):
    return chain.app.query(
        abci.RequestQuery(path=f"/store/{store}/key", data=key, height=height, prove=True)
    )


def incr(amount: int) -> bytes:
    return unsigned_tx(counter.MsgIncrement(sender="alice", amount=amount))


@pytest.fixture
def chain() -> Iterator[ChainHarness]:
    with ChainHarness(["counter"]) as h:
        yield h


def verify_ops(response, app_hash: bytes) -> None:
    """What a light client does: store proof -> store root, multistore proof -> app hash."""
    store_op, top_op = response.proof_ops.ops
    assert (store_op.type, top_op.type) == ("ics23:smt", "ics23:simple")
    assert store_op.key == response.key
    store_proof = pb.CommitmentProof.FromString(store_op.data)
    top_proof = pb.CommitmentProof.FromString(top_op.data)
    store_root = ics23.calculate(store_proof)
    assert ics23.verify_membership(
        ics23.TENDERMINT_SPEC, app_hash, top_proof, top_op.key, store_root
    )
    if response.value:
        assert ics23.verify_membership(
            ics23.SMT_SPEC, store_root, store_proof, response.key, response.value
        )
    else:
        assert ics23.verify_non_membership(ics23.SMT_SPEC, store_root, store_proof, response.key)


def test_proof_for_height_h_verifies_against_header_h_plus_1(chain, go_checker) -> None:
    chain.deliver(incr(3))
    chain.deliver(incr(4))
    present = proven_query(chain, "counter", b"\x01", height=1)
    absent = proven_query(chain, "counter", b"\x7fnope", height=2)
    assert present.code == 0 and absent.code == 0, (present.log, absent.log)
    assert present.height == 1 and int.from_bytes(present.value, "big") == 3
    assert absent.value == b""
    chain.block()  # block 3 carries the app hash of version 2
    app_hash = {h: chain.engine.blocks.block(h + 1).header.app_hash for h in (1, 2)}
    verify_ops(present, app_hash[1])
    verify_ops(absent, app_hash[2])
    # CometBFT JSON-RPC shape of the same response (abci_query's `proofOps`).
    rendered = jsonfmt.response_query(present)["proofOps"]["ops"]
    assert [op["type"] for op in rendered] == ["ics23:smt", "ics23:simple"]
    assert base64.b64decode(rendered[1]["key"]) == b"counter"
    assert base64.b64decode(rendered[0]["data"]) == present.proof_ops.ops[0].data
    # The same proofs through the reference Go implementation.
    requests = []
    for response in (present, absent):
        store_op, top_op = response.proof_ops.ops
        store_root = ics23.calculate(pb.CommitmentProof.FromString(store_op.data))
        requests.append(
            request("tendermint", app_hash[response.height], top_op.data, top_op.key, store_root)
        )
        requests.append(
            request("smt", store_root, store_op.data, store_op.key, response.value or None)
        )
    assert go_verify(go_checker, requests) == ["ok"] * 4


def test_proof_queries_reject_what_cannot_be_proven(chain) -> None:
    none_yet = proven_query(chain, "counter", b"\x01")
    assert none_yet.code != 0
    chain.deliver(incr(1))
    future = proven_query(chain, "counter", b"\x01", height=9)
    assert future.code != 0 and "future" in future.log
    plain = chain.app.query(abci.RequestQuery(path="/store/counter/key", data=b"\x01"))
    assert plain.code == 0 and not plain.HasField("proof_ops")


def test_many_store_proofs_verify_in_go_and_python(tmp_path, go_checker) -> None:
    """Membership and non-membership (left edge, right edge, middle, deep placeholders) at
    several retained versions, with several stores in the multistore."""
    rng = random.Random(23)
    stores = ["acc", "bank", "kernel", "staking", "zeta"]
    requests: list[dict] = []
    expected: list[str] = []
    with Database(str(tmp_path / "db")) as db:
        state = CommittedState(db, stores)
        model: dict[bytes, bytes] = {}
        for version in range(1, 6):
            changes: dict[bytes, bytes | None] = {}
            for _ in range(120):
                key = rng.randbytes(rng.randint(1, 6))
                changes[b"bank/" + key] = rng.randbytes(rng.randint(1, 40))
            for key in rng.sample(sorted(model), min(len(model), 30)):
                changes[key] = None
            changes[b"kernel/version"] = str(version).encode()
            changes[b"zeta/z"] = b"z"
            ops, app_hash, roots = state.prepare_commit(list(changes.items()), version, 3)
            db.write(ops)
            state.apply_commit(version, app_hash, roots, 3)
            for key, value in changes.items():
                if key.startswith(b"bank/"):
                    if value is None:
                        model.pop(key, None)
                    else:
                        model[key] = value
            present = rng.sample(sorted(model), 15)
            absent = [b"bank/" + rng.randbytes(8) for _ in range(15)]
            for key in present + absent:
                rel = key[len(b"bank/") :]
                value, store_proof, top_proof = state.prove("bank", rel, version)
                assert value == model.get(key)
                root = state.module_roots["bank"]
                if value is None:
                    assert ics23.verify_non_membership(ics23.SMT_SPEC, root, store_proof, rel)
                    kinds = (
                        store_proof.nonexist.HasField("left"),
                        store_proof.nonexist.HasField("right"),
                    )
                    assert kinds != (False, False)
                else:
                    assert ics23.verify_membership(ics23.SMT_SPEC, root, store_proof, rel, value)
                requests.append(request("smt", root, store_proof.SerializeToString(), rel, value))
                requests.append(
                    request("tendermint", app_hash, top_proof.SerializeToString(), b"bank", root)
                )
                expected += ["ok", "ok"]
                # A wrong value or a wrong root must fail in Go as well.
                if value is not None:
                    requests.append(
                        request("smt", root, store_proof.SerializeToString(), rel, value + b"!")
                    )
                    expected.append("fail")
            # The edges of the key-hash order: absence proofs with one neighbour only.
            hashes = sorted(hashlib.sha256(k[len(b"bank/") :]).digest() for k in model)
            edges = {"left": None, "right": None}
            i = 0
            while None in edges.values():
                probe = b"edge" + i.to_bytes(4, "big")
                digest = hashlib.sha256(probe).digest()
                if digest < hashes[0] and edges["left"] is None:
                    edges["left"] = probe
                if digest > hashes[-1] and edges["right"] is None:
                    edges["right"] = probe
                i += 1
            for side, probe in edges.items():
                assert probe is not None
                value, store_proof, _ = state.prove("bank", probe, version)
                assert value is None
                has = store_proof.nonexist.HasField("right" if side == "left" else "left")
                lacks = store_proof.nonexist.HasField(side)
                assert has and not lacks
                root = state.module_roots["bank"]
                assert ics23.verify_non_membership(ics23.SMT_SPEC, root, store_proof, probe)
                requests.append(request("smt", root, store_proof.SerializeToString(), probe, None))
                expected.append("ok")
    results = go_verify(go_checker, requests)
    assert [r.split(":")[0] for r in results] == expected, [
        (r, q) for r, q in zip(results, requests, strict=True) if not r.startswith("ok")
    ][:3]
