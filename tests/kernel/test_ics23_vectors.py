"""Our ICS-23 verifier against the official cosmos/ics23 test vectors (every file of them)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from sultan.kernel.store import ics23
from sultan.pb.cosmos.ics23.v1 import proofs_pb2 as pb

VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "ics23-testdata"
SPECS = {"iavl": ics23.IAVL_SPEC, "tendermint": ics23.TENDERMINT_SPEC, "smt": ics23.SMT_SPEC}
PROOF_FILES = [
    "exist_left.json",
    "exist_right.json",
    "exist_middle.json",
    "nonexist_left.json",
    "nonexist_right.json",
    "nonexist_middle.json",
]


def load(name: str) -> Any:
    path = VECTORS / name
    assert path.exists(), f"ICS-23 vectors missing at {path}"
    return json.loads(path.read_text())


def msg(cls: Any, data: dict[str, Any] | None) -> Any:
    return json_format.ParseDict(data or {}, cls())


def b64(data: str | None) -> bytes | None:
    return None if data is None else base64.b64decode(data)


def field(case: dict[str, Any], name: str) -> Any:
    """Go's encoding/json matches field names case-insensitively (the files mix them)."""
    for key, value in case.items():
        if key.lower() == name.lower():
            return value
    raise KeyError(name)


def test_every_vector_file_is_exercised() -> None:
    files = {p.relative_to(VECTORS).as_posix() for p in VECTORS.rglob("*.json")}
    covered = {
        "TestCheckAgainstSpecData.json",
        "TestCheckLeafData.json",
        "TestDoHashData.json",
        "TestEmptyBranchData.json",
        "TestExistenceProofData.json",
        "TestInnerOpData.json",
        "TestLeafOpData.json",
    } | {f"{d}/{f}" for d in SPECS for f in PROOF_FILES}
    assert files == covered


@pytest.mark.parametrize("name", sorted(load("TestDoHashData.json")))
def test_do_hash(name: str) -> None:
    case = load("TestDoHashData.json")[name]
    got = ics23.do_hash(field(case, "HashOp"), field(case, "Preimage").encode())
    assert got.hex() == field(case, "ExpectedHash")


@pytest.mark.parametrize("name", sorted(load("TestLeafOpData.json")))
def test_leaf_op(name: str) -> None:
    case = load("TestLeafOpData.json")[name]
    op = msg(pb.LeafOp, case["Op"])
    if case["IsErr"]:
        with pytest.raises(ics23.ProofError):
            ics23.apply_leaf(op, b64(case["Key"]), b64(case["Value"]))
    else:
        assert ics23.apply_leaf(op, b64(case["Key"]), b64(case["Value"])) == b64(case["Expected"])


@pytest.mark.parametrize("name", sorted(load("TestInnerOpData.json")))
def test_inner_op(name: str) -> None:
    case = load("TestInnerOpData.json")[name]
    op = msg(pb.InnerOp, case["Op"])
    if case["IsErr"]:
        with pytest.raises(ics23.ProofError):
            ics23.apply_inner(op, b64(case["Child"]))
    else:
        assert ics23.apply_inner(op, b64(case["Child"])) == b64(case["Expected"])


@pytest.mark.parametrize("name", sorted(load("TestExistenceProofData.json")))
def test_existence_proof_calculate(name: str) -> None:
    case = load("TestExistenceProofData.json")[name]
    proof = msg(pb.ExistenceProof, case["Proof"])
    if case["IsErr"]:
        with pytest.raises(ics23.ProofError):
            ics23.calculate_existence(proof)
    else:
        assert ics23.calculate_existence(proof) == b64(case["Expected"])


@pytest.mark.parametrize("name", sorted(load("TestCheckLeafData.json")))
def test_check_leaf(name: str) -> None:
    case = load("TestCheckLeafData.json")[name]
    leaf = msg(pb.LeafOp, case["Leaf"])
    spec = pb.ProofSpec(leaf_spec=msg(pb.LeafOp, case["Spec"]))
    if case["IsErr"]:
        with pytest.raises(ics23.ProofError):
            ics23.check_leaf(leaf, spec)
    else:
        ics23.check_leaf(leaf, spec)


@pytest.mark.parametrize("name", sorted(load("TestCheckAgainstSpecData.json")))
def test_check_against_spec(name: str) -> None:
    case = load("TestCheckAgainstSpecData.json")[name]
    proof = msg(pb.ExistenceProof, case["Proof"])
    spec = msg(pb.ProofSpec, case["Spec"])
    if case["Err"]:
        with pytest.raises(ics23.ProofError) as info:
            ics23.check_existence_against_spec(proof, spec)
        assert str(info.value) == case["Err"]
    else:
        ics23.check_existence_against_spec(proof, spec)


@pytest.mark.parametrize("index", range(len(load("TestEmptyBranchData.json"))))
def test_empty_branch(index: int) -> None:
    case = load("TestEmptyBranchData.json")[index]
    op = msg(pb.InnerOp, case["Op"])
    spec = msg(pb.ProofSpec, case["Spec"])
    ics23.check_inner(op, spec, 1)
    assert ics23.left_branches_are_empty(spec.inner_spec, op) == case["IsLeft"]
    assert ics23.right_branches_are_empty(spec.inner_spec, op) == case["IsRight"]


def load_proof(kind: str, filename: str) -> tuple[Any, bytes, bytes, bytes | None]:
    data = load(f"{kind}/{filename}")
    proof = pb.CommitmentProof.FromString(bytes.fromhex(data["proof"]))
    value = bytes.fromhex(data["value"]) if data["value"] else None
    return proof, bytes.fromhex(data["root"]), bytes.fromhex(data["key"]), value


@pytest.mark.parametrize("kind", sorted(SPECS))
@pytest.mark.parametrize("filename", PROOF_FILES)
def test_vector_proofs_verify(kind: str, filename: str) -> None:
    proof, root, key, value = load_proof(kind, filename)
    spec = SPECS[kind]
    assert ics23.calculate(proof) == root
    if value is None:
        assert ics23.verify_non_membership(spec, root, proof, key)
        assert not ics23.verify_membership(spec, root, proof, key, b"anything")
    else:
        assert ics23.verify_membership(spec, root, proof, key, value)
        assert not ics23.verify_membership(spec, root, proof, key, value + b"x")
        assert not ics23.verify_non_membership(spec, root, proof, key)
    bad_root = bytes([root[0] ^ 1]) + root[1:]
    assert not ics23.verify_membership(spec, bad_root, proof, key, value or b"")
    assert not ics23.verify_non_membership(spec, bad_root, proof, key)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_vector_proofs_batched_and_compressed(kind: str) -> None:
    """As cosmos/ics23's batch tests: all six proofs of a spec in one compressed batch."""
    loaded = [load_proof(kind, f) for f in PROOF_FILES]
    batch = ics23.combine([proof for proof, *_ in loaded])
    assert batch.WhichOneof("proof") == "compressed"
    raw = batch.SerializeToString()
    expanded = ics23.decompress(batch)
    assert len(raw) < len(expanded.SerializeToString())
    assert ics23.compress(expanded).SerializeToString() == raw
    spec = SPECS[kind]
    for _, root, key, value in loaded:
        if value is None:
            assert ics23.verify_non_membership(spec, root, batch, key)
        else:
            assert ics23.verify_membership(spec, root, batch, key, value)
    # A spec that differs only for non-existence proofs rejects them.
    other = ics23.TENDERMINT_SPEC if kind != "tendermint" else ics23.IAVL_SPEC
    _, root, key, _ = loaded[4]
    assert not ics23.verify_non_membership(other, root, batch, key)


def test_specs_match_cosmos_ics23_field_by_field() -> None:
    smt = ics23.SMT_SPEC
    assert (smt.leaf_spec.hash, smt.leaf_spec.prehash_key, smt.leaf_spec.prehash_value) == (
        pb.SHA256,
        pb.SHA256,
        pb.SHA256,
    )
    assert smt.leaf_spec.length == pb.NO_PREFIX and smt.leaf_spec.prefix == b"\x00"
    assert list(smt.inner_spec.child_order) == [0, 1] and smt.inner_spec.child_size == 32
    assert (smt.inner_spec.min_prefix_length, smt.inner_spec.max_prefix_length) == (1, 1)
    assert smt.inner_spec.empty_child == bytes(32) and smt.inner_spec.hash == pb.SHA256
    assert smt.max_depth == 256 and smt.min_depth == 0 and smt.prehash_key_before_comparison
    tm = ics23.TENDERMINT_SPEC
    assert (tm.leaf_spec.hash, tm.leaf_spec.prehash_key, tm.leaf_spec.prehash_value) == (
        pb.SHA256,
        pb.NO_HASH,
        pb.SHA256,
    )
    assert tm.leaf_spec.length == pb.VAR_PROTO and tm.leaf_spec.prefix == b"\x00"
    assert list(tm.inner_spec.child_order) == [0, 1] and tm.inner_spec.child_size == 32
    assert (tm.inner_spec.min_prefix_length, tm.inner_spec.max_prefix_length) == (1, 1)
    assert tm.inner_spec.empty_child == b"" and tm.max_depth == 0
    assert not tm.prehash_key_before_comparison
