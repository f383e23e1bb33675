"""Wire-format facts of the generated protobuf modules (sultan.pb).

The expected names and numbers come from CometBFT v0.38 (proto/tendermint/...) and Cosmos
SDK v0.50 (proto/cosmos/...). They are the contract with CometBFT, cosmpy and CosmJS, so a
change here is a wire break, not a refactor.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PB_DIR = ROOT / "sultan" / "pb"


def _import_pb(name: str):
    return importlib.import_module(f"sultan.pb.{name}")


def _ensure_generated() -> None:
    """Generate sultan/pb on a fresh checkout (it is build output, not checked in)."""
    if (PB_DIR / "tendermint" / "abci" / "types_pb2.py").is_file():
        return
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        pytest.skip(
            "sultan/pb is not generated and grpcio-tools is missing; "
            "run `python scripts/gen_proto.py`",
            allow_module_level=True,
        )
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--root", str(ROOT)],
        check=True,
    )
    importlib.invalidate_caches()


_ensure_generated()

abci = _import_pb("tendermint.abci.types_pb2")
tm_types = _import_pb("tendermint.types.types_pb2")
tm_validator = _import_pb("tendermint.types.validator_pb2")
tm_params = _import_pb("tendermint.types.params_pb2")
tm_canonical = _import_pb("tendermint.types.canonical_pb2")
tx_pb = _import_pb("cosmos.tx.v1beta1.tx_pb2")
signing = _import_pb("cosmos.tx.signing.v1beta1.signing_pb2")
tx_service = _import_pb("cosmos.tx.v1beta1.service_pb2")
tx_service_grpc = _import_pb("cosmos.tx.v1beta1.service_pb2_grpc")
abci_sdk = _import_pb("cosmos.base.abci.v1beta1.abci_pb2")
cmt_query = _import_pb("cosmos.base.tendermint.v1beta1.query_pb2")
cmt_query_grpc = _import_pb("cosmos.base.tendermint.v1beta1.query_pb2_grpc")
cmt_sdk_types = _import_pb("cosmos.base.tendermint.v1beta1.types_pb2")
node_query = _import_pb("cosmos.base.node.v1beta1.query_pb2")
consensus_query = _import_pb("cosmos.consensus.v1.query_pb2")
abci_grpc = _import_pb("tendermint.abci.types_pb2_grpc")


def _numbers(message_cls) -> dict[str, int]:
    return {f.name: f.number for f in message_cls.DESCRIPTOR.fields}


def _oneof_numbers(message_cls, oneof: str = "value") -> dict[str, int]:
    desc = message_cls.DESCRIPTOR.oneofs_by_name[oneof]
    return {f.name: f.number for f in desc.fields}


# --- full names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "full_name"),
    [
        (abci.Request, "tendermint.abci.Request"),
        (abci.Response, "tendermint.abci.Response"),
        (abci.ExecTxResult, "tendermint.abci.ExecTxResult"),
        (tm_types.Header, "tendermint.types.Header"),
        (tm_params.ConsensusParams, "tendermint.types.ConsensusParams"),
        (tx_pb.TxRaw, "cosmos.tx.v1beta1.TxRaw"),
        (tx_pb.SignDoc, "cosmos.tx.v1beta1.SignDoc"),
        (abci_sdk.TxResponse, "cosmos.base.abci.v1beta1.TxResponse"),
        (cmt_sdk_types.Header, "cosmos.base.tendermint.v1beta1.Header"),
        (consensus_query.QueryParamsResponse, "cosmos.consensus.v1.QueryParamsResponse"),
    ],
)
def test_full_names(cls, full_name):
    assert cls.DESCRIPTOR.full_name == full_name


def test_proto_file_names_match_upstream_paths():
    # Any type URLs and descriptor-pool registration depend on package + file layout.
    assert abci.DESCRIPTOR.name == "tendermint/abci/types.proto"
    assert abci.DESCRIPTOR.package == "tendermint.abci"
    assert tx_pb.DESCRIPTOR.name == "cosmos/tx/v1beta1/tx.proto"


# --- ABCI envelopes -------------------------------------------------------------------------


def test_request_oneof_numbers():
    assert _oneof_numbers(abci.Request) == {
        "echo": 1,
        "flush": 2,
        "info": 3,
        "init_chain": 5,
        "query": 6,
        "check_tx": 8,
        "commit": 11,
        "list_snapshots": 12,
        "offer_snapshot": 13,
        "load_snapshot_chunk": 14,
        "apply_snapshot_chunk": 15,
        "prepare_proposal": 16,
        "process_proposal": 17,
        "extend_vote": 18,
        "verify_vote_extension": 19,
        "finalize_block": 20,
    }


def test_response_oneof_numbers():
    assert _oneof_numbers(abci.Response) == {
        "exception": 1,
        "echo": 2,
        "flush": 3,
        "info": 4,
        "init_chain": 6,
        "query": 7,
        "check_tx": 9,
        "commit": 12,
        "list_snapshots": 13,
        "offer_snapshot": 14,
        "load_snapshot_chunk": 15,
        "apply_snapshot_chunk": 16,
        "prepare_proposal": 17,
        "process_proposal": 18,
        "extend_vote": 19,
        "verify_vote_extension": 20,
        "finalize_block": 21,
    }


def test_request_envelope_bytes():
    # Field 20, wire type 2 -> key varint 0xa2 0x01; empty inner message.
    req = abci.Request(finalize_block=abci.RequestFinalizeBlock())
    assert req.SerializeToString() == b"\xa2\x01\x00"
    assert abci.Request.FromString(b"\x0a\x03\x0a\x01x").echo.message == "x"


def test_abci_v038_shapes():
    assert _numbers(abci.ResponseCommit) == {"retain_height": 3}
    assert _numbers(abci.ResponseFinalizeBlock) == {
        "events": 1,
        "tx_results": 2,
        "validator_updates": 3,
        "consensus_param_updates": 4,
        "app_hash": 5,
    }
    assert _numbers(abci.ExecTxResult) == {
        "code": 1,
        "data": 2,
        "log": 3,
        "info": 4,
        "gas_wanted": 5,
        "gas_used": 6,
        "events": 7,
        "codespace": 8,
    }
    assert _numbers(abci.EventAttribute) == {"key": 1, "value": 2, "index": 3}
    assert _numbers(abci.VoteInfo) == {"validator": 1, "block_id_flag": 3}
    assert _numbers(abci.RequestInfo) == {
        "version": 1,
        "block_version": 2,
        "p2p_version": 3,
        "abci_version": 4,
    }
    status = abci.ResponseProcessProposal.ProposalStatus
    assert (status.Value("UNKNOWN"), status.Value("ACCEPT"), status.Value("REJECT")) == (0, 1, 2)
    assert abci.CheckTxType.Value("NEW") == 0 and abci.CheckTxType.Value("RECHECK") == 1


# --- CometBFT block types -------------------------------------------------------------------


def test_header_field_numbers():
    expected = [
        "version",
        "chain_id",
        "height",
        "time",
        "last_block_id",
        "last_commit_hash",
        "data_hash",
        "validators_hash",
        "next_validators_hash",
        "consensus_hash",
        "app_hash",
        "last_results_hash",
        "evidence_hash",
        "proposer_address",
    ]
    assert _numbers(tm_types.Header) == {name: i for i, name in enumerate(expected, start=1)}
    # The SDK's variant keeps the numbers but carries a bech32 string proposer.
    assert _numbers(cmt_sdk_types.Header) == _numbers(tm_types.Header)
    proposer = cmt_sdk_types.Header.DESCRIPTOR.fields_by_name["proposer_address"]
    assert proposer.type == proposer.TYPE_STRING


def test_commit_sig_and_vote():
    assert _numbers(tm_types.CommitSig) == {
        "block_id_flag": 1,
        "validator_address": 2,
        "timestamp": 3,
        "signature": 4,
    }
    assert _numbers(tm_types.Vote) == {
        "type": 1,
        "height": 2,
        "round": 3,
        "block_id": 4,
        "timestamp": 5,
        "validator_address": 6,
        "validator_index": 7,
        "signature": 8,
        "extension": 9,
        "extension_signature": 10,
    }
    flag = tm_validator.BlockIDFlag
    assert [flag.Name(i) for i in range(4)] == [
        "BLOCK_ID_FLAG_UNKNOWN",
        "BLOCK_ID_FLAG_ABSENT",
        "BLOCK_ID_FLAG_COMMIT",
        "BLOCK_ID_FLAG_NIL",
    ]
    assert tm_types.SignedMsgType.Value("SIGNED_MSG_TYPE_PROPOSAL") == 32


def test_canonical_vote_uses_fixed_width_height_and_round():
    fields = tm_canonical.CanonicalVote.DESCRIPTOR.fields_by_name
    assert fields["height"].type == fields["height"].TYPE_SFIXED64
    assert fields["round"].type == fields["round"].TYPE_SFIXED64
    assert _numbers(tm_canonical.CanonicalVote)["chain_id"] == 6


def test_consensus_params_v038():
    assert _numbers(tm_params.ConsensusParams) == {
        "block": 1,
        "evidence": 2,
        "validator": 3,
        "version": 4,
        "abci": 5,
    }
    assert _numbers(tm_params.BlockParams) == {"max_bytes": 1, "max_gas": 2}
    assert _numbers(tm_params.VersionParams) == {"app": 1}


# --- Cosmos SDK transactions ----------------------------------------------------------------


def test_tx_raw_and_sign_doc():
    assert _numbers(tx_pb.TxRaw) == {"body_bytes": 1, "auth_info_bytes": 2, "signatures": 3}
    assert _numbers(tx_pb.SignDoc) == {
        "body_bytes": 1,
        "auth_info_bytes": 2,
        "chain_id": 3,
        "account_number": 4,
    }
    doc = tx_pb.SignDoc(body_bytes=b"\x01", auth_info_bytes=b"\x02", chain_id="c", account_number=7)
    assert doc.SerializeToString() == bytes.fromhex("0a0101120102 1a0163 2007".replace(" ", ""))


def test_tx_body_and_auth_info():
    assert _numbers(tx_pb.TxBody) == {
        "messages": 1,
        "memo": 2,
        "timeout_height": 3,
        "extension_options": 1023,
        "non_critical_extension_options": 2047,
    }
    assert _numbers(tx_pb.AuthInfo) == {"signer_infos": 1, "fee": 2, "tip": 3}
    assert _numbers(tx_pb.SignerInfo) == {"public_key": 1, "mode_info": 2, "sequence": 3}
    assert _numbers(tx_pb.Fee) == {"amount": 1, "gas_limit": 2, "payer": 3, "granter": 4}
    assert _oneof_numbers(tx_pb.ModeInfo, "sum") == {"single": 1, "multi": 2}


def test_sign_modes():
    mode = signing.SignMode
    assert {n: mode.Value(n) for n in mode.keys()} == {
        "SIGN_MODE_UNSPECIFIED": 0,
        "SIGN_MODE_DIRECT": 1,
        "SIGN_MODE_TEXTUAL": 2,
        "SIGN_MODE_DIRECT_AUX": 3,
        "SIGN_MODE_LEGACY_AMINO_JSON": 127,
        "SIGN_MODE_EIP_191": 191,
    }


def test_tx_response_and_simulate():
    assert _numbers(abci_sdk.TxResponse) == {
        "height": 1,
        "txhash": 2,
        "codespace": 3,
        "code": 4,
        "data": 5,
        "raw_log": 6,
        "logs": 7,
        "info": 8,
        "gas_wanted": 9,
        "gas_used": 10,
        "tx": 11,
        "timestamp": 12,
        "events": 13,
    }
    assert _numbers(tx_service.SimulateRequest) == {"tx": 1, "tx_bytes": 2}
    assert _numbers(tx_service.SimulateResponse) == {"gas_info": 1, "result": 2}
    assert _numbers(tx_service.BroadcastTxRequest) == {"tx_bytes": 1, "mode": 2}
    assert tx_service.BroadcastMode.Value("BROADCAST_MODE_SYNC") == 2


# --- gRPC method paths ----------------------------------------------------------------------


class _RecordingChannel:
    """Stands in for grpc.Channel; records the method paths a stub registers."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def _record(self, path, *args, **kwargs):
        self.paths.append(path)
        return lambda *a, **k: None

    unary_unary = unary_stream = stream_unary = stream_stream = _record


def _stub_paths(stub_cls) -> set[str]:
    channel = _RecordingChannel()
    stub_cls(channel)
    return set(channel.paths)


def _descriptor_paths(module, service: str) -> set[str]:
    svc = module.DESCRIPTOR.services_by_name[service]
    return {f"/{svc.full_name}/{m.name}" for m in svc.methods}


def test_tx_service_methods():
    expected = {
        f"/cosmos.tx.v1beta1.Service/{m}"
        for m in (
            "Simulate",
            "GetTx",
            "BroadcastTx",
            "GetTxsEvent",
            "GetBlockWithTxs",
            "TxDecode",
            "TxEncode",
            "TxEncodeAmino",
            "TxDecodeAmino",
        )
    }
    assert _descriptor_paths(tx_service, "Service") == expected
    assert _stub_paths(tx_service_grpc.ServiceStub) == expected


def test_cometbft_service_methods():
    expected = {
        f"/cosmos.base.tendermint.v1beta1.Service/{m}"
        for m in (
            "GetNodeInfo",
            "GetSyncing",
            "GetLatestBlock",
            "GetBlockByHeight",
            "GetLatestValidatorSet",
            "GetValidatorSetByHeight",
            "ABCIQuery",
        )
    }
    assert _descriptor_paths(cmt_query, "Service") == expected
    assert _stub_paths(cmt_query_grpc.ServiceStub) == expected
    assert _numbers(cmt_query.GetLatestBlockResponse) == {
        "block_id": 1,
        "block": 2,
        "sdk_block": 3,
    }


def test_other_service_methods():
    assert _descriptor_paths(node_query, "Service") == {
        "/cosmos.base.node.v1beta1.Service/Config",
        "/cosmos.base.node.v1beta1.Service/Status",
    }
    assert _descriptor_paths(consensus_query, "Query") == {"/cosmos.consensus.v1.Query/Params"}
    abci_paths = _stub_paths(abci_grpc.ABCIStub)
    assert "/tendermint.abci.ABCI/FinalizeBlock" in abci_paths
    assert len(abci_paths) == 16


# --- generated code hygiene -----------------------------------------------------------------


def test_generated_code_has_no_top_level_cosmos_or_tendermint_imports():
    bad = re.compile(r"^\s*(from|import)\s+(tendermint|cosmos)\b", re.MULTILINE)
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in sorted(PB_DIR.rglob("*"))
        if p.suffix in (".py", ".pyi") and bad.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert abci.Request.__module__ == "sultan.pb.tendermint.abci.types_pb2"
