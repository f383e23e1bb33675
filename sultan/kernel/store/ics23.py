"""ICS-23 commitment proofs: our own verifier, the proof specs, batch (de)compression.

This follows the semantics of cosmos/ics23 (the Go reference, including the stricter
shape checks of its later releases) so that a proof this module accepts is one every
ICS-23 verifier accepts, and the other way round. The proofs are the `cosmos.ics23.v1`
protobuf messages (proto/cosmos/ics23/v1/proofs.proto), byte-compatible with ibc-go's.

Entry points: `verify_membership` / `verify_non_membership` (bool, as ICS-23 defines them),
`verify_existence` / `verify_non_existence` (raise `ProofError` with the reason), the
specs `SMT_SPEC` (our module stores), `TENDERMINT_SPEC` (the multistore's simple Merkle
tree over store roots) and `IAVL_SPEC` (for completeness: the official vectors use it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sultan.kernel.crypto.hashing import sha256
from sultan.pb.cosmos.ics23.v1 import proofs_pb2 as pb

DEFAULT_MAX_DEPTH = 128  # what verifiers use when a spec leaves max_depth at 0

# The proof type strings of CometBFT ProofOps carrying a CommitmentProof (Cosmos SDK names).
PROOF_OP_SMT = "ics23:smt"
PROOF_OP_SIMPLE = "ics23:simple"
PROOF_OP_IAVL = "ics23:iavl"


class ProofError(ValueError):
    """A proof that is malformed, does not match its spec, or does not reach the root."""


def _spec(
    leaf: dict[str, Any], inner: dict[str, Any], max_depth: int = 0, prehash_compare: bool = False
) -> Any:
    return pb.ProofSpec(
        leaf_spec=pb.LeafOp(**leaf),
        inner_spec=pb.InnerSpec(**inner),
        max_depth=max_depth,
        prehash_key_before_comparison=prehash_compare,
    )


IAVL_SPEC = _spec(
    dict(
        hash=pb.SHA256,
        prehash_key=pb.NO_HASH,
        prehash_value=pb.SHA256,
        length=pb.VAR_PROTO,
        prefix=b"\x00",
    ),
    dict(
        child_order=[0, 1],
        child_size=33,
        min_prefix_length=4,
        max_prefix_length=12,
        hash=pb.SHA256,
    ),
)

# cosmos/ics23 `TendermintSpec`: CometBFT's crypto/merkle simple tree (RFC 6962), as the
# Cosmos SDK multistore commits its stores' roots.
TENDERMINT_SPEC = _spec(
    dict(
        hash=pb.SHA256,
        prehash_key=pb.NO_HASH,
        prehash_value=pb.SHA256,
        length=pb.VAR_PROTO,
        prefix=b"\x00",
    ),
    dict(
        child_order=[0, 1],
        child_size=32,
        min_prefix_length=1,
        max_prefix_length=1,
        hash=pb.SHA256,
    ),
)

# cosmos/ics23 `SmtSpec`: a sparse Merkle tree over sha256(key) with shortcut leaves.
SMT_SPEC = _spec(
    dict(
        hash=pb.SHA256,
        prehash_key=pb.SHA256,
        prehash_value=pb.SHA256,
        length=pb.NO_PREFIX,
        prefix=b"\x00",
    ),
    dict(
        child_order=[0, 1],
        child_size=32,
        min_prefix_length=1,
        max_prefix_length=1,
        empty_child=bytes(32),
        hash=pb.SHA256,
    ),
    max_depth=256,
    prehash_compare=True,
)


# -- hashing and length prefixes ---------------------------------------------------------------


def _ripemd160(data: bytes) -> bytes:
    try:
        return hashlib.new("ripemd160", data).digest()
    except ValueError:  # OpenSSL 3 without the legacy provider
        from cryptography.hazmat.primitives import hashes

        algorithm = getattr(hashes, "RIPEMD160", None)
        if algorithm is None:
            raise ProofError("unsupported hashop: RIPEMD160 is not available here") from None
        h = hashes.Hash(algorithm())
        h.update(data)
        return h.finalize()


def do_hash(op: int, data: bytes) -> bytes:
    """The hash `op` of `data` (NO_HASH is an error here, as in ICS-23's doHash)."""
    if op == pb.SHA256:
        return sha256(data)
    if op == pb.SHA512:
        return hashlib.sha512(data).digest()
    if op == pb.RIPEMD160:
        return _ripemd160(data)
    if op == pb.BITCOIN:
        return _ripemd160(sha256(data))
    if op == pb.SHA512_256:
        return hashlib.new("sha512_256", data).digest()
    if op == pb.BLAKE2B_512:
        return hashlib.blake2b(data, digest_size=64).digest()
    if op == pb.BLAKE2S_256:
        return hashlib.blake2s(data, digest_size=32).digest()
    raise ProofError(f"unsupported hashop: {op}")


def _hash_or_noop(op: int, data: bytes) -> bytes:
    return data if op == pb.NO_HASH else do_hash(op, data)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def do_length(op: int, data: bytes) -> bytes:
    n = len(data)
    if op == pb.NO_PREFIX:
        return data
    if op == pb.VAR_PROTO:
        return _uvarint(n) + data
    if op == pb.REQUIRE_32_BYTES:
        if n != 32:
            raise ProofError(f"data was {n} bytes, not 32")
        return data
    if op == pb.REQUIRE_64_BYTES:
        if n != 64:
            raise ProofError(f"data was {n} bytes, not 64")
        return data
    if op == pb.FIXED32_BIG:
        return (n & 0xFFFFFFFF).to_bytes(4, "big") + data
    if op == pb.FIXED32_LITTLE:
        return (n & 0xFFFFFFFF).to_bytes(4, "little") + data
    if op == pb.FIXED64_BIG:
        return n.to_bytes(8, "big") + data
    if op == pb.FIXED64_LITTLE:
        return n.to_bytes(8, "little") + data
    raise ProofError(f"unsupported lengthop: {op}")


def apply_leaf(op: Any, key: bytes | None, value: bytes | None) -> bytes:
    """The leaf hash of key/value under leaf operation `op`."""
    if not key:
        raise ProofError("leaf op needs key")
    if not value:
        raise ProofError("leaf op needs value")
    pkey = do_length(op.length, _hash_or_noop(op.prehash_key, key))
    pvalue = do_length(op.length, _hash_or_noop(op.prehash_value, value))
    return do_hash(op.hash, op.prefix + pkey + pvalue)


def apply_inner(op: Any, child: bytes | None) -> bytes:
    """The parent hash of `child` under inner operation `op`."""
    if not child:
        raise ProofError("inner op needs child value")
    return do_hash(op.hash, op.prefix + child + op.suffix)


# -- shape checks against a spec ----------------------------------------------------------------


def spec_equals(a: Any, b: Any) -> bool:
    """ICS-23's (deliberately loose) `SpecEquals`: selects the spec-specific strict checks."""
    return (
        a.leaf_spec.hash == b.leaf_spec.hash
        and a.leaf_spec.prehash_key == b.leaf_spec.prehash_key
        and a.leaf_spec.prehash_value == b.leaf_spec.prehash_value
        and a.leaf_spec.length == b.leaf_spec.length
        and a.inner_spec.hash == b.inner_spec.hash
        and a.inner_spec.min_prefix_length == b.inner_spec.min_prefix_length
        and a.inner_spec.max_prefix_length == b.inner_spec.max_prefix_length
        and a.inner_spec.child_size == b.inner_spec.child_size
        and len(a.inner_spec.child_order) == len(b.inner_spec.child_order)
    )


def _read_varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """Go's binary.ReadVarint (zigzag-signed) at `pos`; returns (value, next position)."""
    result = shift = 0
    start = pos
    while True:
        if pos >= len(data):
            reason = "EOF" if pos == start else "unexpected EOF"
            raise ProofError(f"failed to read IAVL {what} varint: {reason}")
        byte = data[pos]
        pos += 1
        if pos - start == 10 and byte > 1:
            raise ProofError(
                f"failed to read IAVL {what} varint: varint overflows a 64-bit integer"
            )
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    value = result >> 1
    if result & 1:
        value = -value - 1
    return value, pos


def _validate_iavl_op(prefix: bytes, hash_op: int, layer: int) -> None:
    height, pos = _read_varint(prefix, 0, "height")
    if height < 0 or height < layer:
        raise ProofError(
            f"IAVL height ({height}) must be non-negative and greater than or equal "
            f"to the layer number ({layer})"
        )
    size, pos = _read_varint(prefix, pos, "size")
    if size < 0:
        raise ProofError("IAVL size must be non-negative")
    version, pos = _read_varint(prefix, pos, "version")
    if version < 0:
        raise ProofError("IAVL version must be non-negative")
    remaining = len(prefix) - pos
    if layer == 0:
        if remaining != 0:
            raise ProofError(f"expected remaining prefix length to be 0, got: {remaining}")
    else:
        if remaining not in (1, 34):
            raise ProofError(f"remainder of prefix must be of length 1 or 34, got: {remaining}")
        if hash_op != pb.SHA256:
            raise ProofError("IAVL hash op must be SHA256")


def _validate_tendermint_inner(op: Any) -> None:
    if not op.prefix:
        raise ProofError("inner op prefix must not be empty")
    if op.suffix:
        if op.prefix != b"\x01":
            raise ProofError(f"expected inner op prefix: [1], got: {list(op.prefix)}")
    elif op.prefix[0] != 1:
        raise ProofError(f"expected inner op prefix to begin with: [1], got: [{op.prefix[0]}]")


def check_leaf(op: Any, spec: Any) -> None:
    """The leaf operation is exactly the spec's (its prefix may only extend the spec's)."""
    lspec = spec.leaf_spec
    if spec.HasField("inner_spec") and spec_equals(spec, IAVL_SPEC):
        _validate_iavl_op(op.prefix, op.hash, 0)
    if op.hash != lspec.hash:
        raise ProofError(f"unexpected HashOp: {op.hash}")
    if op.prehash_key != lspec.prehash_key:
        raise ProofError(f"unexpected PrehashKey: {op.prehash_key}")
    if op.prehash_value != lspec.prehash_value:
        raise ProofError(f"unexpected PrehashValue: {op.prehash_value}")
    if op.length != lspec.length:
        raise ProofError(f"unexpected LengthOp: {op.length}")
    if not op.prefix.startswith(lspec.prefix):
        raise ProofError(f"leaf Prefix doesn't start with {lspec.prefix.hex().upper()}")


def check_inner(op: Any, spec: Any, layer: int) -> None:
    """One inner step fits the spec: hash, prefix length bounds, whole-child suffix."""
    inner = spec.inner_spec
    if op.hash != inner.hash:
        raise ProofError(f"unexpected HashOp: {op.hash}")
    if spec_equals(spec, IAVL_SPEC):
        _validate_iavl_op(op.prefix, op.hash, layer)
    elif spec_equals(spec, TENDERMINT_SPEC):
        _validate_tendermint_inner(op)
    leaf_prefix = spec.leaf_spec.prefix
    if op.prefix.startswith(leaf_prefix):
        raise ProofError(f"inner Prefix starts with {leaf_prefix.hex().upper()}")
    if len(op.prefix) < inner.min_prefix_length:
        raise ProofError(f"innerOp prefix too short ({len(op.prefix)})")
    if inner.child_size <= 0:
        raise ProofError("spec.InnerSpec.ChildSize must be >= 1")
    if inner.max_prefix_length >= inner.min_prefix_length + inner.child_size:
        raise ProofError(
            "spec.InnerSpec.MaxPrefixLength must be < "
            "spec.InnerSpec.MinPrefixLength + spec.InnerSpec.ChildSize"
        )
    max_left_child_bytes = (len(inner.child_order) - 1) * inner.child_size
    if len(op.prefix) > inner.max_prefix_length + max_left_child_bytes:
        raise ProofError(f"innerOp prefix too long ({len(op.prefix)})")
    if len(op.suffix) % inner.child_size != 0:
        raise ProofError("InnerOp suffix malformed")


def check_existence_against_spec(proof: Any, spec: Any) -> None:
    if not proof.HasField("leaf"):
        raise ProofError("existence Proof needs defined LeafOp")
    try:
        check_leaf(proof.leaf, spec)
    except ProofError as exc:
        raise ProofError(f"leaf, {exc}") from None
    depth = len(proof.path)
    if spec.min_depth > 0 and depth < spec.min_depth:
        raise ProofError(f"innerOps depth too short: {depth}")
    max_depth = spec.max_depth or DEFAULT_MAX_DEPTH
    if depth > max_depth:
        raise ProofError(f"innerOps depth too long: {depth}")
    for layer, step in enumerate(proof.path, start=1):
        try:
            check_inner(step, spec, layer)
        except ProofError as exc:
            raise ProofError(f"inner, {exc}") from None


# -- existence and non-existence ----------------------------------------------------------------


def calculate_existence(proof: Any, spec: Any | None = None) -> bytes:
    """The root an existence proof commits to (`spec` adds the child-size bound per step)."""
    if not proof.HasField("leaf"):
        raise ProofError("existence Proof needs defined LeafOp")
    try:
        result = apply_leaf(proof.leaf, proof.key, proof.value)
    except ProofError as exc:
        raise ProofError(f"leaf, {exc}") from None
    for step in proof.path:
        try:
            result = apply_inner(step, result)
        except ProofError as exc:
            raise ProofError(f"inner, {exc}") from None
        if spec is not None:
            size = spec.inner_spec.child_size
            if len(result) > size and size >= 32:
                raise ProofError("inner, result longer than the spec's child size")
    return result


def verify_existence(proof: Any, spec: Any, root: bytes, key: bytes, value: bytes) -> None:
    """Raise ProofError unless `proof` shows key -> value under `root` in `spec`'s shape."""
    check_existence_against_spec(proof, spec)
    if key != proof.key:
        raise ProofError("provided key doesn't match proof")
    if value != proof.value:
        raise ProofError("provided value doesn't match proof")
    try:
        calculated = calculate_existence(proof, spec)
    except ProofError as exc:
        raise ProofError(f"error calculating root, {exc}") from None
    if calculated != root:
        raise ProofError("calculated root doesn't match provided root")


def _key_for_comparison(spec: Any, key: bytes) -> bytes:
    if not spec.prehash_key_before_comparison:
        return key
    return _hash_or_noop(spec.leaf_spec.prehash_key, key)


def calculate_non_existence(proof: Any) -> bytes:
    if proof.HasField("left"):
        return calculate_existence(proof.left)
    if proof.HasField("right"):
        return calculate_existence(proof.right)
    raise ProofError("nonexistence proof has empty Left and Right proof")


def verify_non_existence(proof: Any, spec: Any, root: bytes, key: bytes) -> None:
    """Raise ProofError unless `proof` shows `key` absent under `root` in `spec`'s shape."""
    left = proof.left if proof.HasField("left") else None
    right = proof.right if proof.HasField("right") else None
    if left is not None:
        try:
            verify_existence(left, spec, root, left.key, left.value)
        except ProofError as exc:
            raise ProofError(f"left proof, {exc}") from None
    if right is not None:
        try:
            verify_existence(right, spec, root, right.key, right.value)
        except ProofError as exc:
            raise ProofError(f"right proof, {exc}") from None
    if left is None and right is None:
        raise ProofError("both left and right proofs missing")
    ckey = _key_for_comparison(spec, key)
    if right is not None and ckey >= _key_for_comparison(spec, right.key):
        raise ProofError("key is not left of right proof")
    if left is not None and ckey <= _key_for_comparison(spec, left.key):
        raise ProofError("key is not right of left proof")
    if left is None:
        assert right is not None
        if not is_left_most(spec.inner_spec, right.path):
            raise ProofError("left proof missing, right proof must be left-most")
    elif right is None:
        if not is_right_most(spec.inner_spec, left.path):
            raise ProofError("right proof missing, left proof must be right-most")
    elif not is_left_neighbor(spec.inner_spec, left.path, right.path):
        raise ProofError("left and right proofs are not neighbors")


# -- tree-position checks (non-existence) -------------------------------------------------------


def _position(order: Sequence[int], branch: int) -> int:
    if branch < 0 or branch >= len(order):
        raise ProofError(f"invalid branch: {branch}")
    for i, item in enumerate(order):
        if item == branch:
            return i
    raise ProofError(f"branch {branch} not found in order {list(order)}")


def _padding(inner: Any, branch: int) -> tuple[int, int, int]:
    idx = _position(inner.child_order, branch)
    prefix = idx * inner.child_size
    suffix = (len(inner.child_order) - 1 - idx) * inner.child_size
    return prefix + inner.min_prefix_length, prefix + inner.max_prefix_length, suffix


def _has_padding(op: Any, min_prefix: int, max_prefix: int, suffix: int) -> bool:
    return min_prefix <= len(op.prefix) <= max_prefix and len(op.suffix) == suffix


def _order_from_padding(inner: Any, op: Any) -> int:
    for branch in range(len(inner.child_order)):
        if _has_padding(op, *_padding(inner, branch)):
            return branch
    raise ProofError("cannot find any valid spacing for this node")


def left_branches_are_empty(inner: Any, op: Any) -> bool:
    """Every sibling left of this step is the spec's empty child (a placeholder step)."""
    try:
        idx = _order_from_padding(inner, op)
    except ProofError:
        return False
    if idx == 0:
        return False
    actual_prefix = len(op.prefix) - idx * inner.child_size
    if actual_prefix < 0:
        return False
    for i in range(idx):
        start = actual_prefix + _position(inner.child_order, i) * inner.child_size
        if op.prefix[start : start + inner.child_size] != inner.empty_child:
            return False
    return True


def right_branches_are_empty(inner: Any, op: Any) -> bool:
    """Every sibling right of this step is the spec's empty child (a placeholder step)."""
    try:
        idx = _order_from_padding(inner, op)
    except ProofError:
        return False
    right_branches = len(inner.child_order) - 1 - idx
    if right_branches == 0:
        return False
    if len(op.suffix) != right_branches * inner.child_size:
        return False
    for i in range(right_branches):
        start = _position(inner.child_order, i) * inner.child_size
        if op.suffix[start : start + inner.child_size] != inner.empty_child:
            return False
    return True


def is_left_most(inner: Any, path: Sequence[Any]) -> bool:
    padding = _padding(inner, 0)
    return all(
        _has_padding(step, *padding) or left_branches_are_empty(inner, step) for step in path
    )


def is_right_most(inner: Any, path: Sequence[Any]) -> bool:
    padding = _padding(inner, len(inner.child_order) - 1)
    return all(
        _has_padding(step, *padding) or right_branches_are_empty(inner, step) for step in path
    )


def is_left_neighbor(inner: Any, left: Sequence[Any], right: Sequence[Any]) -> bool:
    """`right` is the path of the next leaf after `left`'s (both paths leaf-first)."""
    li, ri = len(left) - 1, len(right) - 1
    if li < 0 or ri < 0:
        return False
    while left[li].prefix == right[ri].prefix and left[li].suffix == right[ri].suffix:
        li, ri = li - 1, ri - 1
        if li < 0 or ri < 0:
            return False
    try:
        if _order_from_padding(inner, right[ri]) != _order_from_padding(inner, left[li]) + 1:
            return False
    except ProofError:
        return False
    return is_right_most(inner, left[:li]) and is_left_most(inner, right[:ri])


# -- commitment proofs, batches and compression -----------------------------------------------


def decompress(proof: Any) -> Any:
    """A CompressedBatchProof expanded into a BatchProof (other proofs are returned as is)."""
    if proof.WhichOneof("proof") != "compressed":
        return proof
    lookup = list(proof.compressed.lookup_inners)

    def expand(exist: Any) -> Any:
        try:
            path = [lookup[i] for i in exist.path]
        except IndexError:
            raise ProofError("compressed path step out of the lookup table") from None
        if any(i < 0 for i in exist.path):
            raise ProofError("compressed path step out of the lookup table")
        return pb.ExistenceProof(key=exist.key, value=exist.value, leaf=exist.leaf, path=path)

    entries = []
    for entry in proof.compressed.entries:
        if entry.WhichOneof("proof") == "exist":
            entries.append(pb.BatchEntry(exist=expand(entry.exist)))
        else:
            non = entry.nonexist
            out = pb.NonExistenceProof(key=non.key)
            if non.HasField("left"):
                out.left.CopyFrom(expand(non.left))
            if non.HasField("right"):
                out.right.CopyFrom(expand(non.right))
            entries.append(pb.BatchEntry(nonexist=out))
    return pb.CommitmentProof(batch=pb.BatchProof(entries=entries))


def compress(proof: Any) -> Any:
    """A BatchProof with each distinct inner op stored once (other proofs are returned as is)."""
    if proof.WhichOneof("proof") != "batch":
        return proof
    lookup: list[Any] = []
    index: dict[bytes, int] = {}

    def shrink(exist: Any) -> Any:
        path = []
        for step in exist.path:
            raw = step.SerializeToString()
            if raw not in index:
                index[raw] = len(lookup)
                lookup.append(step)
            path.append(index[raw])
        return pb.CompressedExistenceProof(
            key=exist.key, value=exist.value, leaf=exist.leaf, path=path
        )

    entries = []
    for entry in proof.batch.entries:
        if entry.WhichOneof("proof") == "exist":
            entries.append(pb.CompressedBatchEntry(exist=shrink(entry.exist)))
        else:
            non = entry.nonexist
            out = pb.CompressedNonExistenceProof(key=non.key)
            if non.HasField("left"):
                out.left.CopyFrom(shrink(non.left))
            if non.HasField("right"):
                out.right.CopyFrom(shrink(non.right))
            entries.append(pb.CompressedBatchEntry(nonexist=out))
    return pb.CommitmentProof(
        compressed=pb.CompressedBatchProof(entries=entries, lookup_inners=lookup)
    )


def calculate(proof: Any) -> bytes:
    """The root of a CommitmentProof (of its first entry, for batches)."""
    kind = proof.WhichOneof("proof")
    if kind == "exist":
        return calculate_existence(proof.exist)
    if kind == "nonexist":
        return calculate_non_existence(proof.nonexist)
    if kind in ("batch", "compressed"):
        entries = decompress(proof).batch.entries
        if not entries:
            raise ProofError("batch proof has empty entry")
        first = entries[0]
        if first.WhichOneof("proof") == "exist":
            return calculate_existence(first.exist)
        if first.WhichOneof("proof") == "nonexist":
            return calculate_non_existence(first.nonexist)
    raise ProofError("unrecognized proof type")


def _exist_for_key(proof: Any, key: bytes) -> Any | None:
    kind = proof.WhichOneof("proof")
    if kind == "exist":
        return proof.exist if proof.exist.key == key else None
    if kind == "batch":
        for entry in proof.batch.entries:
            if entry.WhichOneof("proof") == "exist" and entry.exist.key == key:
                return entry.exist
    return None


def _nonexist_for_key(spec: Any, proof: Any, key: bytes) -> Any | None:
    ckey = _key_for_comparison(spec, key)

    def brackets(non: Any) -> bool:
        left_ok = not non.HasField("left") or _key_for_comparison(spec, non.left.key) < ckey
        right_ok = not non.HasField("right") or _key_for_comparison(spec, non.right.key) > ckey
        return left_ok and right_ok

    kind = proof.WhichOneof("proof")
    if kind == "nonexist":
        return proof.nonexist if brackets(proof.nonexist) else None
    if kind == "batch":
        for entry in proof.batch.entries:
            if entry.WhichOneof("proof") == "nonexist" and brackets(entry.nonexist):
                return entry.nonexist
    return None


def verify_membership(spec: Any, root: bytes, proof: Any, key: bytes, value: bytes) -> bool:
    """ICS-23 verifyMembership: `proof` (or a batch entry) shows key -> value under `root`."""
    try:
        proof = decompress(proof)
        exist = _exist_for_key(proof, key)
        if exist is None:
            return False
        verify_existence(exist, spec, root, key, value)
    except ProofError:
        return False
    return True


def verify_non_membership(spec: Any, root: bytes, proof: Any, key: bytes) -> bool:
    """ICS-23 verifyNonMembership: `proof` (or a batch entry) shows `key` absent under `root`."""
    try:
        proof = decompress(proof)
        non = _nonexist_for_key(spec, proof, key)
        if non is None:
            return False
        verify_non_existence(non, spec, root, key)
    except ProofError:
        return False
    return True


def combine(proofs: Sequence[Any]) -> Any:
    """Several commitment proofs as one compressed batch (ICS-23 CombineProofs)."""
    entries = []
    for proof in proofs:
        kind = proof.WhichOneof("proof")
        if kind == "exist":
            entries.append(pb.BatchEntry(exist=proof.exist))
        elif kind == "nonexist":
            entries.append(pb.BatchEntry(nonexist=proof.nonexist))
        elif kind in ("batch", "compressed"):
            entries.extend(decompress(proof).batch.entries)
        else:
            raise ProofError("proof neither exist or nonexist")
    return compress(pb.CommitmentProof(batch=pb.BatchProof(entries=entries)))


def build_existence(
    key: bytes, value: bytes, spec: Any, siblings: Sequence[tuple[bool, bytes]]
) -> Any:
    """An ExistenceProof in `spec`'s shape for a binary tree whose inner nodes hash
    0x01 || left || right (both our trees): `siblings` from the leaf up, as
    (sibling_is_left, sibling_hash)."""
    hash_op = spec.inner_spec.hash
    return pb.ExistenceProof(
        key=key,
        value=value,
        leaf=spec.leaf_spec,
        path=[
            pb.InnerOp(hash=hash_op, prefix=b"\x01" + sibling)
            if is_left
            else pb.InnerOp(hash=hash_op, prefix=b"\x01", suffix=sibling)
            for is_left, sibling in siblings
        ],
    )
