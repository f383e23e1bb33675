"""One module store's authenticated state: a versioned sparse Merkle tree in RocksDB.

The tree is binary over the 256 bits of sha256(key), most significant bit first (bit 0
goes left), with shortcut leaves: a subtree holding one key is that key's leaf, a subtree
holding none is the empty hash (32 zero bytes). Its root is therefore a function of the
store's contents only — never of insertion order or history — and its hashing is exactly
ICS-23's `SmtSpec` (see `merkle.smt_leaf_hash` / `smt_inner_hash`, docs/state.md).

Persistence (column family `smt`, layout in docs/state.md): every node is written once,
under the version that created it and its position (depth + path bits); a parent stores
each child's kind, version and hash, so reading any retained version is plain point
lookups from that version's root. A commit writes the new nodes along the changed paths
(O(log n) per written key) and records each replaced node in `smt_stale` under the version
from which it is no longer part of the tree; pruning deletes those once no retained version
needs them. All of it is write ops returned to the caller, who puts them in the block's
single atomic batch.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from sultan.kernel.crypto.hashing import sha256, sha256_many
from sultan.kernel.crypto.merkle import SMT_EMPTY, smt_inner_hash, smt_leaf_hash
from sultan.kernel.store import ics23
from sultan.kernel.store.db import Database, WriteOp
from sultan.pb.cosmos.ics23.v1 import proofs_pb2 as pb

NODES_CF = "smt"
STALE_CF = "smt_stale"

EMPTY, LEAF, INNER, _PENDING = 0, 1, 2, 3
_BE64 = struct.Struct(">Q")
_BE16 = struct.Struct(">H")
_TOP_BIT = 1 << 255
_DEPTHS = [_BE16.pack(depth) for depth in range(257)]

# A child reference: (kind, version that wrote the node, hash).
Ref = tuple[int, int, bytes]
EMPTY_REF: Ref = (EMPTY, 0, SMT_EMPTY)
# A change to apply: (int(sha256(key)), sha256(key), key, sha256(value) or None to delete).
_Item = tuple[int, bytes, bytes, bytes | None]
# A leaf whose position is not settled yet: (_PENDING, 0, hash, key-hash int, key-hash,
# key, value-hash). Kind and hash sit where they sit in a Ref.
_Pending = tuple[int, int, bytes, int, bytes, bytes, bytes]


class ProofUnavailableError(LookupError):
    """No ICS-23 proof can be made (an empty tree has no neighbours to prove absence with)."""


class MissingNodeError(LookupError):
    """A node of the requested version is gone (pruned while it was being read)."""


def encode_ref(ref: Ref) -> bytes:
    if ref[0] == EMPTY:
        return b"\x00"
    return bytes((ref[0],)) + _BE64.pack(ref[1]) + ref[2]


def _parse_inner(raw: bytes) -> tuple[Ref, Ref]:
    left, pos = decode_ref(raw, 1)
    return left, decode_ref(raw, pos)[0]


def decode_ref(raw: bytes, pos: int = 0) -> tuple[Ref, int]:
    kind = raw[pos]
    if kind == EMPTY:
        return EMPTY_REF, pos + 1
    if kind not in (LEAF, INNER):
        raise ValueError(f"corrupt SMT node reference (kind {kind})")
    return (kind, _BE64.unpack_from(raw, pos + 1)[0], raw[pos + 9 : pos + 41]), pos + 41


def _split(path: int, depth: int) -> int:
    """The smallest key-hash under `path` whose bit `depth` is 1 (where the right child starts)."""
    shift = 256 - depth
    return ((path >> shift) << shift) | (_TOP_BIT >> depth)


class SparseMerkleTree:
    """The tree of one module store; stateless apart from its name (roots are passed in)."""

    def __init__(self, db: Database, store_key: str) -> None:
        self.db = db
        self.store_key = store_key
        self._tag = store_key.encode() + b"/"
        self._node_prefix = self._tag + b"n"
        self._root_prefix = self._tag + b"r"

    # -- keys and nodes -------------------------------------------------------------------

    def node_key(self, version: int, depth: int, path: int) -> bytes:
        """`<store>/` 'n' be64(version) be16(depth) + the top `depth` bits of `path`, packed
        into ceil(depth / 8) bytes (unused low bits zero)."""
        bits = (
            ((path >> (256 - depth)) << (-depth & 7)).to_bytes((depth + 7) >> 3, "big")
            if depth
            else b""
        )
        return self._node_prefix + _BE64.pack(version) + _DEPTHS[depth] + bits

    def root_key(self, version: int) -> bytes:
        return self._root_prefix + _BE64.pack(version)

    def load_raw(self, node_key: bytes) -> bytes:
        raw = self.db.get(NODES_CF, node_key)
        if raw is None:
            raise MissingNodeError(
                f"SMT node {node_key!r} of store {self.store_key!r} is missing (pruned?)"
            )
        return raw

    def _load(self, ref: Ref, depth: int, path: int) -> bytes:
        return self.load_raw(self.node_key(ref[1], depth, path))

    def load_inner(self, ref: Ref, depth: int, path: int) -> tuple[Ref, Ref]:
        return _parse_inner(self._load(ref, depth, path))

    def load_leaf(self, ref: Ref, depth: int, path: int) -> tuple[bytes, bytes, bytes]:
        """(sha256(key), sha256(value), key) of a stored leaf."""
        raw = self._load(ref, depth, path)
        return raw[1:33], raw[33:65], raw[65:]

    # -- roots ----------------------------------------------------------------------------

    def root_entry(self, version: int) -> tuple[int | None, Ref]:
        """(version of the root record in force at `version`, the root) — (None, empty) if none."""
        found = self.db.seek_prev(NODES_CF, self.root_key(version))
        if (
            found is None
            or len(found[0]) != len(self._root_prefix) + 8
            or not found[0].startswith(self._root_prefix)
        ):
            return None, EMPTY_REF
        return _BE64.unpack(found[0][-8:])[0], decode_ref(found[1])[0]

    # -- updates --------------------------------------------------------------------------

    def update(
        self,
        root: tuple[int | None, Ref],
        changes: Sequence[tuple[bytes, bytes | None]],
        version: int,
    ) -> tuple[tuple[int | None, Ref], list[WriteOp]]:
        """Apply `changes` (module-relative key -> value, None deletes) as `version`.

        Returns the new (root record version, root) and the write ops (new nodes, the root
        record, stale markers of replaced nodes). Reads only committed nodes, so calling it
        again for the same version (e.g. after a crash) gives the same result.
        """
        entry_version, root_ref = root
        keys = [key for key, _ in changes]
        key_hashes = sha256_many(keys)
        present = [value for _, value in changes if value is not None]
        value_hashes = iter(sha256_many(present))
        items: list[_Item] = sorted(
            (
                (
                    int.from_bytes(kh, "big"),
                    kh,
                    key,
                    None if value is None else next(value_hashes),
                )
                for kh, (key, value) in zip(key_hashes, changes, strict=True)
            ),
            key=lambda item: item[0],
        )
        for a, b in zip(items, items[1:], strict=False):
            if a[0] == b[0]:
                raise ValueError(f"key {a[2]!r} changed twice in one commit")
        batch = _Batch(self, version, items)
        result = batch.update(root_ref, 0, 0, len(items))
        new_root = batch.place(result, 0)
        if new_root is root_ref or (new_root[0] == EMPTY and root_ref[0] == EMPTY):
            return root, batch.ops
        batch.ops.append((NODES_CF, self.root_key(version), encode_ref(new_root)))
        if entry_version is not None:
            batch.ops.append((STALE_CF, _BE64.pack(version) + self.root_key(entry_version), b""))
        return (version, new_root), batch.ops

    # -- proofs ---------------------------------------------------------------------------

    def _descend(
        self, root: Ref, path: int
    ) -> tuple[list[tuple[Ref, Ref, bool]], Ref, int, tuple[bytes, bytes, bytes] | None]:
        """Walk towards key-hash `path`: the inner steps (left, right, went right), where the
        walk ended (an empty child or a leaf), its depth, and that leaf's contents."""
        steps: list[tuple[Ref, Ref, bool]] = []
        ref, depth = root, 0
        while ref[0] == INNER:
            left, right = self.load_inner(ref, depth, path)
            went_right = bool(path & (_TOP_BIT >> depth))
            steps.append((left, right, went_right))
            ref = right if went_right else left
            depth += 1
        leaf = self.load_leaf(ref, depth, path) if ref[0] == LEAF else None
        return steps, ref, depth, leaf

    def _edge_leaf(self, ref: Ref, depth: int, path: int, rightmost: bool) -> bytes:
        """The key-hash of the right-most (or left-most) leaf under a non-empty subtree."""
        while ref[0] == INNER:
            left, right = self.load_inner(ref, depth, path)
            take_right = right[0] != EMPTY if rightmost else left[0] == EMPTY
            if take_right:
                path |= _TOP_BIT >> depth
            ref = right if take_right else left
            depth += 1
        return self.load_leaf(ref, depth, path)[0]

    def _existence(
        self, root: Ref, key_hash: bytes, value_of: Callable[[bytes], bytes | None]
    ) -> Any:
        path = int.from_bytes(key_hash, "big")
        steps, _, _, leaf = self._descend(root, path)
        if leaf is None or leaf[0] != key_hash:
            raise MissingNodeError("a neighbour leaf vanished while proving (pruned?)")
        _, value_hash, key = leaf
        value = value_of(key)
        if value is None or sha256(value) != value_hash:
            raise MissingNodeError(f"the value of {key!r} does not match its leaf (pruned?)")
        return ics23.build_existence(
            key,
            value,
            ics23.SMT_SPEC,
            [
                (True, left[2]) if went_right else (False, right[2])
                for left, right, went_right in reversed(steps)
            ],
        )

    def prove(self, root: Ref, key: bytes, value_of: Callable[[bytes], bytes | None]) -> Any:
        """An ICS-23 CommitmentProof (SmtSpec) that `key` is in the tree at `root`, or not.

        `value_of(key)` returns a module-relative key's value at the tree's version.
        """
        if root[0] == EMPTY:
            raise ProofUnavailableError(
                f"store {self.store_key!r} is empty: ICS-23 cannot prove absence without a "
                "neighbouring key"
            )
        key_hash = sha256(key)
        path = int.from_bytes(key_hash, "big")
        steps, _, _, leaf = self._descend(root, path)
        if leaf is not None and leaf[0] == key_hash:
            return pb.CommitmentProof(exist=self._existence(root, key_hash, value_of))
        left_hash = right_hash = None
        if leaf is not None:
            if leaf[0] < key_hash:
                left_hash = leaf[0]
            else:
                right_hash = leaf[0]
        # The nearest subtree left (right) of the walk holds the left (right) neighbour.
        for d in range(len(steps) - 1, -1, -1):
            left, right, went_right = steps[d]
            prefix = (path >> (256 - d)) << (256 - d) if d else 0
            if left_hash is None and went_right and left[0] != EMPTY:
                left_hash = self._edge_leaf(left, d + 1, prefix, rightmost=True)
            if right_hash is None and not went_right and right[0] != EMPTY:
                right_hash = self._edge_leaf(right, d + 1, prefix | (_TOP_BIT >> d), False)
            if left_hash is not None and right_hash is not None:
                break
        proof = pb.NonExistenceProof(key=key)
        if left_hash is not None:
            proof.left.CopyFrom(self._existence(root, left_hash, value_of))
        if right_hash is not None:
            proof.right.CopyFrom(self._existence(root, right_hash, value_of))
        return pb.CommitmentProof(nonexist=proof)


class _Batch:
    """One commit's update of one tree: collects the new nodes and stale markers."""

    def __init__(self, tree: SparseMerkleTree, version: int, items: list[_Item]) -> None:
        self.tree = tree
        self.version = version
        self.items = items
        self.key_ints = [item[0] for item in items]
        self.ops: list[WriteOp] = []
        self._stale_prefix = _BE64.pack(version)

    def stale(self, node_key: bytes) -> None:
        self.ops.append((STALE_CF, self._stale_prefix + node_key, b""))

    def update(self, ref: Ref, depth: int, lo: int, hi: int) -> Any:
        """The subtree at (depth, path of items[lo:hi]) after applying items[lo:hi]."""
        if lo == hi:
            return ref
        kind = ref[0]
        items = self.items
        if kind == EMPTY:
            return self.build(depth, [item for item in items[lo:hi] if item[3] is not None])
        path = items[lo][0]
        if kind == LEAF:
            return self.update_leaf(ref, depth, path, lo, hi)
        node_key = self.tree.node_key(ref[1], depth, path)
        left, right = _parse_inner(self.tree.load_raw(node_key))
        mid = bisect_left(self.key_ints, _split(path, depth), lo, hi)
        new_left = self.update(left, depth + 1, lo, mid)
        new_right = self.update(right, depth + 1, mid, hi)
        if new_left is left and new_right is right:
            return ref
        self.stale(node_key)
        return self.combine(depth, path, new_left, new_right)

    def update_leaf(self, ref: Ref, depth: int, path: int, lo: int, hi: int) -> Any:
        node_key = self.tree.node_key(ref[1], depth, path)
        raw = self.tree.load_raw(node_key)
        key_hash, value_hash, key = raw[1:33], raw[33:65], raw[65:]
        existing = int.from_bytes(key_hash, "big")
        at = bisect_left(self.key_ints, existing, lo, hi)
        overridden = at < hi and self.key_ints[at] == existing
        writes = [item for item in self.items[lo:hi] if item[3] is not None]
        if overridden:
            if len(writes) == 1 and writes[0][0] == existing and writes[0][3] == value_hash:
                return ref  # the same value written again
        elif not writes:
            return ref  # only deletes of absent keys
        self.stale(node_key)
        if not overridden:
            writes.append((existing, key_hash, key, value_hash))
            writes.sort()
        return self.build(depth, writes)

    def build(self, depth: int, items: list[_Item]) -> Any:
        """A fresh subtree over `items` (all present, sorted, sharing `depth` top bits)."""
        if not items:
            return EMPTY_REF
        if len(items) == 1:
            key_int, key_hash, key, value_hash = items[0]
            assert value_hash is not None
            return (
                _PENDING,
                0,
                smt_leaf_hash(key_hash, value_hash),
                key_int,
                key_hash,
                key,
                value_hash,
            )
        path = items[0][0]
        mid = bisect_left(items, (_split(path, depth),))
        return self.combine(
            depth, path, self.build(depth + 1, items[:mid]), self.build(depth + 1, items[mid:])
        )

    def combine(self, depth: int, path: int, left: Any, right: Any) -> Any:
        """The node at (depth, path) over two settled children; a lone leaf moves up."""
        lkind, rkind = left[0], right[0]
        if lkind == EMPTY and rkind == EMPTY:
            return EMPTY_REF
        if lkind == EMPTY and rkind in (LEAF, _PENDING):
            return self.lift(right, depth + 1, path | (_TOP_BIT >> depth))
        if rkind == EMPTY and lkind in (LEAF, _PENDING):
            return self.lift(left, depth + 1, path & ~(_TOP_BIT >> depth))
        left = self.place(left, depth + 1)
        right = self.place(right, depth + 1)
        self.ops.append(
            (
                NODES_CF,
                self.tree.node_key(self.version, depth, path),
                b"\x02" + encode_ref(left) + encode_ref(right),
            )
        )
        return (INNER, self.version, smt_inner_hash(left[2], right[2]))

    def lift(self, child: Any, depth: int, path: int) -> Any:
        """A leaf about to move up: a stored one is read and marked stale at its old place."""
        if child[0] == _PENDING:
            return child
        node_key = self.tree.node_key(child[1], depth, path)
        raw = self.tree.load_raw(node_key)
        key_hash, value_hash, key = raw[1:33], raw[33:65], raw[65:]
        self.stale(node_key)
        return (
            _PENDING,
            0,
            child[2],
            int.from_bytes(key_hash, "big"),
            key_hash,
            key,
            value_hash,
        )

    def place(self, node: Any, depth: int) -> Ref:
        """Write a pending leaf at its final depth; settled references pass through."""
        if node[0] != _PENDING:
            return node  # type: ignore[no-any-return]
        _, _, leaf_hash, key_int, key_hash, key, value_hash = node
        self.ops.append(
            (
                NODES_CF,
                self.tree.node_key(self.version, depth, key_int),
                b"\x01" + key_hash + value_hash + key,
            )
        )
        return (LEAF, self.version, leaf_hash)
