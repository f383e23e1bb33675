"""The crypto core's state-tree entry point (`native.smt_nodes`) against a reference written
here with hashlib: random programs of new leaves and inner nodes over stored references."""

from __future__ import annotations

import hashlib
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from sultan.kernel import metrics
from sultan.kernel.crypto import native

VERSION = (7).to_bytes(8, "big")
EMPTY = bytes(41)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference(
    nodes: list[tuple[int, int, int]], literals: list[bytes]
) -> tuple[list[bytes], list[bytes]]:
    """Digests of every node and encodings of the inner ones, from the header's definition."""
    digests: list[bytes] = []
    encodings: list[bytes] = []

    def child(operand: int, inner: bool) -> tuple[bytes, bytes]:
        if operand >= 0:
            kind = b"\x02" if nodes[operand][0] == 1 else b"\x01"
            return digests[operand], kind + VERSION + digests[operand]
        ref = literals[-operand - 1]
        if inner and ref[0] == 0:
            return bytes(32), b"\x00"
        return ref[9:], ref

    for tag, a, b in nodes:
        inner = tag == 1
        (ha, ra), (hb, rb) = child(a, inner), child(b, inner)
        digests.append(sha(bytes([tag]) + ha + hb))
        if inner:
            encodings.append(b"\x02" + ra + rb)
    return digests, encodings


def run(nodes: list[tuple[int, int, int]], literals: list[bytes]) -> tuple[bytes, list[bytes]]:
    program = array("i", [x for node in nodes for x in node])
    return native.smt_nodes(program, b"".join(literals), VERSION)


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], list[bytes]]:
    """Well-formed programs: leaves over two literals, inner nodes over earlier nodes or
    stored references (empty, leaf or inner)."""
    literals = [EMPTY]
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from([0, 1, 2]))
        literals.append(bytes([kind]) + draw(st.binary(min_size=40, max_size=40)))
    nodes: list[tuple[int, int, int]] = []
    for i in range(draw(st.integers(1, 24))):
        lit = st.integers(-len(literals), -1)
        if i == 0 or draw(st.booleans()):
            nodes.append((0, draw(lit), draw(lit)))
        else:
            operand = st.one_of(lit, st.integers(0, i - 1))
            nodes.append((1, draw(operand), draw(operand)))
    return nodes, literals


@settings(max_examples=200, deadline=None)
@given(programs())
def test_digests_and_encodings_match_the_definition(case) -> None:
    nodes, literals = case
    digests, encodings = run(nodes, literals)
    want_digests, want_encodings = reference(nodes, literals)
    assert digests == b"".join(want_digests)
    assert encodings == want_encodings


def test_a_small_tree_by_hand() -> None:
    key_hash, value_hash = sha(b"k"), sha(b"v")
    stored = b"\x01" + (3).to_bytes(8, "big") + sha(b"stored leaf")
    literals = [EMPTY, bytes(9) + key_hash, bytes(9) + value_hash, stored]
    # A new leaf; an inner node over it and the stored leaf; the root over that and nothing.
    digests, encodings = run([(0, -2, -3), (1, 0, -4), (1, 1, -1)], literals)
    leaf = sha(b"\x00" + key_hash + value_hash)
    inner = sha(b"\x01" + leaf + stored[9:])
    root = sha(b"\x01" + inner + bytes(32))
    assert digests == leaf + inner + root
    assert encodings == [
        b"\x02" + b"\x01" + VERSION + leaf + stored,
        b"\x02" + b"\x02" + VERSION + inner + b"\x00",
    ]


@pytest.mark.parametrize(
    ("nodes", "why"),
    [
        ([(1, 0, -1)], "itself"),
        ([(1, -1, 1), (0, -2, -2)], "a later node"),
        ([(1, -1, -9)], "a missing literal"),
        ([(0, -2, -2), (0, 0, -2)], "a node under a leaf"),
        ([(2, -1, -1)], "an unknown tag"),
        ([(1, -1, -3)], "a literal of unknown kind"),
    ],
)
def test_malformed_programs_are_refused(nodes, why) -> None:
    literals = [EMPTY, b"\x01" + bytes(40), b"\x07" + bytes(40)]
    with pytest.raises(native.InvalidParameterError):
        run(nodes, literals)


def test_bad_buffers_are_refused() -> None:
    program = array("i", [0, -1, -1])
    with pytest.raises(native.InvalidParameterError):
        native.smt_nodes(program, bytes(40), VERSION)  # not a whole literal
    with pytest.raises(native.InvalidParameterError):
        native.smt_nodes(program, EMPTY, VERSION[:7])
    with pytest.raises(native.InvalidParameterError):
        native.smt_nodes(array("i", [0, -1]), EMPTY, VERSION)  # not whole triples
    with pytest.raises(native.InvalidParameterError):
        native.smt_nodes(array("q", [0, -1, -1]), EMPTY, VERSION)  # not int32
    assert native.smt_nodes(array("i"), b"", VERSION) == (b"", [])


def _calls() -> float:
    registry = CollectorRegistry()
    registry.register(metrics.FFI_CALLS)
    value = registry.get_sample_value("sultan_ffi_calls_total", {"function": "sultan_smt_nodes"})
    return value or 0.0


def test_calls_are_counted() -> None:
    before = _calls()
    run([(0, -1, -1)], [EMPTY])
    assert _calls() == before + 1
