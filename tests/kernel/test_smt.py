"""The module stores' sparse Merkle trees: roots, proofs, versions and pruning on RocksDB."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_support import commit, temp_db

from sultan.kernel.store import ics23
from sultan.kernel.store.db import Database
from sultan.kernel.store.smt import (
    EMPTY,
    INNER,
    LEAF,
    NODES_CF,
    STALE_CF,
    Ref,
    SparseMerkleTree,
)
from sultan.kernel.store.versioned import (
    CommittedState,
    ProofUnavailableError,
    VersionUnavailableError,
)

STORES = ["alpha", "beta"]
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Short keys over a small alphabet: plenty of overwrites, deletes and re-inserts.
REL_KEYS = st.lists(st.sampled_from([0x00, 0x01, 0x61, 0xFF]), min_size=1, max_size=2).map(bytes)
CHANGES = st.dictionaries(REL_KEYS, st.none() | st.binary(min_size=1, max_size=3), max_size=8)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def model_root(items: dict[bytes, bytes]) -> bytes:
    """An independent SmtSpec root: split on bit `depth` of sha256(key), MSB first."""

    def rec(leaves: list[tuple[int, bytes]], depth: int) -> bytes:
        if not leaves:
            return bytes(32)
        if len(leaves) == 1:
            return leaves[0][1]
        bit = 1 << (255 - depth)
        left = [leaf for leaf in leaves if not leaf[0] & bit]
        right = [leaf for leaf in leaves if leaf[0] & bit]
        return sha(b"\x01" + rec(left, depth + 1) + rec(right, depth + 1))

    return rec(
        [(int.from_bytes(sha(k), "big"), sha(b"\x00" + sha(k) + sha(v))) for k, v in items.items()],
        0,
    )


def apply(model: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> dict[bytes, bytes]:
    new = dict(model)
    for key, value in changes.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    return new


def commit_store(
    state: CommittedState, store: str, changes: dict[bytes, bytes | None], keep_recent: int = 0
) -> bytes:
    prefix = store.encode() + b"/"
    return commit(state, [(prefix + k, v) for k, v in changes.items()], keep_recent)


def walk(tree: SparseMerkleTree, ref: Ref, depth: int = 0, path: int = 0) -> Iterator[tuple]:
    """Every node under `ref`: ("node", node key) and ("leaf", key, value hash)."""
    if ref[0] == EMPTY:
        return
    yield ("node", tree.node_key(ref[1], depth, path))
    if ref[0] == LEAF:
        key_hash, value_hash, key = tree.load_leaf(ref, depth, path)
        assert key_hash == sha(key)
        assert int.from_bytes(key_hash, "big") >> (256 - depth) == path >> (256 - depth)
        yield ("leaf", key, value_hash)
        return
    assert ref[0] == INNER
    left, right = tree.load_inner(ref, depth, path)
    # No inner node has a lone leaf under it (that leaf would sit here instead).
    assert not (left[0] == EMPTY and right[0] in (EMPTY, LEAF))
    assert not (right[0] == EMPTY and left[0] == LEAF)
    yield from walk(tree, left, depth + 1, path)
    yield from walk(tree, right, depth + 1, path | (1 << (255 - depth)))


def check_tree(state: CommittedState, store: str, version: int, model: dict[bytes, bytes]) -> set:
    """The tree of `version` holds exactly `model`; returns its node keys."""
    tree = state.trees[store]
    root = state.roots_at(version)[store]
    assert root[2] == model_root(model)
    entries = list(walk(tree, root))
    leaves = {e[1]: e[2] for e in entries if e[0] == "leaf"}
    assert leaves == {k: sha(v) for k, v in model.items()}
    return {e[1] for e in entries if e[0] == "node"}


def check_proofs(state: CommittedState, store: str, version: int, model, extra=()) -> None:
    root = state.roots_at(version)[store][2]
    for key in [*model, *extra]:
        value, proof, top = state.prove(store, key, version)
        if key in model:
            assert value == model[key]
            assert ics23.verify_membership(ics23.SMT_SPEC, root, proof, key, value)
            assert not ics23.verify_non_membership(ics23.SMT_SPEC, root, proof, key)
        else:
            assert value is None
            assert ics23.verify_non_membership(ics23.SMT_SPEC, root, proof, key), key
            assert not ics23.verify_membership(ics23.SMT_SPEC, root, proof, key, b"x")
        assert ics23.verify_membership(
            ics23.TENDERMINT_SPEC, top_root(state, version), top, store.encode(), root
        )


def top_root(state: CommittedState, version: int) -> bytes:
    return state.compute_app_hash({k: ref[2] for k, ref in state.roots_at(version).items()})


@given(history=st.lists(CHANGES, min_size=1, max_size=8), seed=st.integers(0, 2**16))
@SETTINGS
def test_roots_and_proofs_match_the_model_at_every_version(history, seed) -> None:
    rng = random.Random(seed)
    models = [{}]
    with temp_db() as db:
        state = CommittedState(db, STORES)
        for changes in history:
            items = list(changes.items())
            rng.shuffle(items)
            commit_store(state, "alpha", dict(items))
            models.append(apply(models[-1], changes))
            assert state.module_roots["alpha"] == model_root(models[-1])
            assert state.module_roots["beta"] == bytes(32)
        for version in range(1, len(history) + 1):
            check_tree(state, "alpha", version, models[version])
            if models[version]:
                check_proofs(state, "alpha", version, models[version], [b"\x02", b"zz"])


@given(history=st.lists(CHANGES, min_size=1, max_size=12), keep_recent=st.integers(1, 3))
@SETTINGS
def test_pruning_keeps_retained_trees_whole_and_drops_the_rest(history, keep_recent) -> None:
    models = [{}]
    with temp_db() as db:
        state = CommittedState(db, STORES)
        for version, changes in enumerate(history, start=1):
            commit_store(state, "alpha", changes, keep_recent)
            models.append(apply(models[-1], changes))
            earliest = state.earliest
            live = {
                kept: check_tree(state, "alpha", kept, models[kept])
                for kept in range(earliest, version + 1)
            }
            stale = {key[8:]: int.from_bytes(key[:8], "big") for key, _ in db.iterate(STALE_CF)}
            stored = {key for key, _ in db.iterate(NODES_CF)}
            nodes = {key for key in stored if key.startswith(b"alpha/n")}
            # A node stale since s belongs to versions < s only; markers point at stored
            # nodes; every stored node is live in a retained version or marked stale, and
            # pruning left no marker that no retained version needs (one commit may lag).
            for key, since in stale.items():
                assert key in stored
                assert since >= earliest
                assert all(key not in live[kept] for kept in live if kept >= since)
            assert nodes - set().union(*live.values()) <= set(stale)


def keys_sharing_prefix(bits: int, count: int, salt: bytes = b"") -> list[bytes]:
    """`count` keys whose sha256 agree on the first `bits` bits (a deep, narrow subtree)."""
    target = None
    found: list[bytes] = []
    i = 0
    while len(found) < count:
        key = salt + i.to_bytes(4, "big")
        top = int.from_bytes(sha(key)[:4], "big") >> (32 - bits)
        if target is None:
            target = top
        if top == target:
            found.append(key)
        i += 1
    return found


def test_deep_chains_of_placeholders_prove_and_collapse(db: Database) -> None:
    a, b, c = keys_sharing_prefix(14, 3)
    others = [bytes([i]) for i in range(6)]
    state = CommittedState(db, STORES)
    model = {k: b"v" + k for k in [a, b, *others]}
    commit_store(state, "alpha", dict(model))
    check_tree(state, "alpha", 1, model)
    check_proofs(state, "alpha", 1, model, [c, b"absent"])
    # Deleting b lifts a back up to where the chain of one-sided inner nodes began.
    commit_store(state, "alpha", {b: None})
    model.pop(b)
    nodes_v2 = check_tree(state, "alpha", 2, model)
    check_proofs(state, "alpha", 2, model, [b, c])
    with temp_db() as fresh_db:  # no leftover chain: the same shape as a tree built fresh
        fresh = CommittedState(fresh_db, STORES)
        commit_store(fresh, "alpha", dict(model))
        assert len(check_tree(fresh, "alpha", 1, model)) == len(nodes_v2)
    # The older version is still whole and provable.
    check_proofs(state, "alpha", 1, {k: b"v" + k for k in [a, b, *others]}, [c])


def test_history_independence_same_contents_same_nodes_shape(tmp_path) -> None:
    rng = random.Random(7)
    final = {rng.randbytes(3): rng.randbytes(4) for _ in range(60)}
    with Database(str(tmp_path / "one")) as db_one, Database(str(tmp_path / "two")) as db_two:
        one = CommittedState(db_one, STORES)
        commit_store(one, "alpha", dict(final))
        two = CommittedState(db_two, STORES)
        junk = {rng.randbytes(2): b"x" for _ in range(40)}
        commit_store(two, "alpha", dict(junk))
        keys = list(final)
        commit_store(two, "alpha", {k: final[k] for k in keys[:30]} | dict.fromkeys(junk))
        commit_store(two, "alpha", {k: b"old" for k in keys[30:]})
        commit_store(two, "alpha", {k: final[k] for k in keys[30:]})
        assert one.module_roots == two.module_roots
        assert len(check_tree(one, "alpha", 1, final)) == len(check_tree(two, "alpha", 4, final))


def test_unchanged_writes_and_absent_deletes_change_nothing(db: Database) -> None:
    state = CommittedState(db, STORES)
    commit_store(state, "alpha", {b"k": b"1", b"j": b"2"})
    before = sum(1 for _ in db.iterate(NODES_CF))
    commit_store(state, "alpha", {b"k": b"1", b"nope": None})
    assert sum(1 for _ in db.iterate(NODES_CF)) == before
    assert sum(1 for _ in db.iterate(STALE_CF)) == 0
    assert state.roots_at(1) == state.roots_at(2)


def test_empty_store_and_pruned_versions_have_no_proof(db: Database) -> None:
    state = CommittedState(db, STORES)
    commit_store(state, "alpha", {b"k": b"1"}, keep_recent=1)
    with pytest.raises(ProofUnavailableError):
        state.prove("beta", b"k", 1)
    commit_store(state, "alpha", {b"k": b"2"}, keep_recent=1)
    with pytest.raises(VersionUnavailableError):
        state.prove("alpha", b"k", 1)
    with pytest.raises(VersionUnavailableError):
        state.prove("alpha", b"k", 3)
    value, proof, _ = state.prove("alpha", b"k", 2)
    assert value == b"2"
    assert ics23.verify_membership(ics23.SMT_SPEC, state.module_roots["alpha"], proof, b"k", b"2")
    # A tree that became empty again.
    commit_store(state, "alpha", {b"k": None}, keep_recent=1)
    assert state.module_roots["alpha"] == bytes(32)
    with pytest.raises(ProofUnavailableError):
        state.prove("alpha", b"k", 3)


def test_single_leaf_tree_root_is_the_leaf(db: Database) -> None:
    state = CommittedState(db, STORES)
    commit_store(state, "beta", {b"only": b"one"})
    assert state.module_roots["beta"] == sha(b"\x00" + sha(b"only") + sha(b"one"))
    _, proof, _ = state.prove("beta", b"only", 1)
    assert len(proof.exist.path) == 0
    _, absent, _ = state.prove("beta", b"other", 1)
    assert ics23.verify_non_membership(ics23.SMT_SPEC, state.module_roots["beta"], absent, b"other")


def test_reopen_continues_with_the_same_trees(tmp_path) -> None:
    path = str(tmp_path / "db")
    model: dict[bytes, bytes] = {}
    with Database(path) as db:
        state = CommittedState(db, STORES)
        for i in range(5):
            changes = {bytes([i, j]): bytes([j + 1]) for j in range(i + 3)}
            commit_store(state, "alpha", changes, keep_recent=2)
            model = apply(model, changes)
        saved = dict(state.tree_roots)
    with Database(path) as db:
        state = CommittedState(db, STORES)
        assert state.tree_roots == saved
        commit_store(state, "alpha", {b"\x00\x00": None}, keep_recent=2)
        model.pop(b"\x00\x00")
        check_tree(state, "alpha", 6, model)
        check_proofs(state, "alpha", 6, model, [b"\x00\x00"])
