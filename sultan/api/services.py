"""Cosmos query services the node itself serves, independent of transport.

`cosmos.base.tendermint.v1beta1.Service` (blocks, validator sets, node info, ABCI query),
`cosmos.base.node.v1beta1.Service` (node config and status) and `cosmos.consensus.v1.Query`
(consensus params) are answered from the chain (`chain_view`: the embedded engine's block
store, or the CometBFT node's RPC when CometBFT drives the app) and the application, the
way the Cosmos SDK answers them from CometBFT.
gRPC (`grpc_server`) and the REST gateway (`rest`) both call `CosmosServices`, so the two
can never disagree. Errors are `QueryError`s carrying a gRPC status name.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable
from typing import Any

import attrs
import grpc
from google.protobuf import any_pb2

from sultan import __version__
from sultan.api.chain_view import chain_view
from sultan.kernel.address import CONSENSUS_PREFIX, encode
from sultan.kernel.errors import QueryError, SdkError
from sultan.pb.cosmos.base.node.v1beta1 import query_pb2 as node_pb
from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2
from sultan.pb.cosmos.base.tendermint.v1beta1 import query_pb2 as tm_pb
from sultan.pb.cosmos.base.tendermint.v1beta1 import types_pb2 as sdk_types
from sultan.pb.cosmos.consensus.v1 import query_pb2 as consensus_pb
from sultan.pb.cosmos.crypto.ed25519 import keys_pb2 as ed25519_pb
from sultan.pb.cosmos.crypto.secp256k1 import keys_pb2 as secp256k1_pb
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.p2p import types_pb2 as p2p_pb

COMETBFT_VERSION = "0.38.17"
P2P_PROTOCOL = 8
BLOCK_PROTOCOL = 11
ABCI_SEMVER = "2.0.0"
CHANNELS = bytes.fromhex("40202122233038606100")
COSMOS_SDK_COMPAT = "v0.50.0"  # the SDK release whose wire formats Sultan serves
HEIGHT_HEADER = "x-cosmos-block-height"
DEFAULT_LIMIT = 100  # cosmos.base.query DefaultLimit
MAX_PER_PAGE = 100  # CometBFT's validators per_page cap

TM_SERVICE = "cosmos.base.tendermint.v1beta1.Service"
NODE_SERVICE = "cosmos.base.node.v1beta1.Service"
CONSENSUS_SERVICE = "cosmos.consensus.v1.Query"


# -- errors and heights ---------------------------------------------------------------------


def grpc_status(name: str) -> grpc.StatusCode:
    """ "NotFound" → grpc.StatusCode.NOT_FOUND (any gRPC status name)."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
    return grpc.StatusCode.__members__.get(snake, grpc.StatusCode.UNKNOWN)


# SDK errors the Cosmos SDK registers with a specific gRPC code; the rest are Unknown.
_SDK_GRPC = {("sdk", 18): "InvalidArgument", ("sdk", 37): "Unimplemented", ("sdk", 38): "NotFound"}


def classify(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """(gRPC status, message) for an error raised by a query handler."""
    if isinstance(exc, QueryError):
        return grpc_status(exc.status), exc.message
    if isinstance(exc, SdkError):
        return grpc_status(_SDK_GRPC.get((exc.codespace, exc.code), "Unknown")), exc.log
    return grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"


def parse_height(value: str | None) -> int:
    """The `x-cosmos-block-height` header/metadata: absent = 0 (latest)."""
    if value is None or value == "":
        return 0
    text = value.strip()
    if not re.fullmatch(r"\d{1,19}", text) or int(text) >= 2**63:
        raise QueryError(
            "InvalidArgument", f"invalid {HEIGHT_HEADER} {value!r}: want a non-negative integer"
        )
    return int(text)


# -- services -----------------------------------------------------------------------------------


@attrs.frozen
class BuiltinMethod:
    method: str  # full gRPC method name, "/pkg.Service/Method"
    request_class: Any
    response_class: Any
    call: Callable[[Any], Any]  # request message -> response message (raises QueryError)
    rest: tuple[tuple[str, str], ...] = ()  # (HTTP method, grpc-gateway path)


class CosmosServices:
    """The node-level Cosmos services shared by gRPC, REST and abci_query."""

    def __init__(self, node: Any) -> None:
        self.node = node

    @property
    def chain(self) -> Any:
        """Where blocks, txs and node info come from (`chain_view.ChainView`)."""
        return chain_view(self.node)

    @property
    def blocks(self) -> Any:
        return self.chain.blocks

    def methods(self) -> list[BuiltinMethod]:
        from sultan.api.tx_service import TxService  # it builds on BuiltinMethod from here

        tm = f"/{TM_SERVICE}/"
        base = "/cosmos/base/tendermint/v1beta1"
        nd = f"/{NODE_SERVICE}/"
        return [
            BuiltinMethod(
                tm + "GetNodeInfo",
                tm_pb.GetNodeInfoRequest,
                tm_pb.GetNodeInfoResponse,
                self.get_node_info,
                (("GET", base + "/node_info"),),
            ),
            BuiltinMethod(
                tm + "GetSyncing",
                tm_pb.GetSyncingRequest,
                tm_pb.GetSyncingResponse,
                self.get_syncing,
                (("GET", base + "/syncing"),),
            ),
            BuiltinMethod(
                tm + "GetLatestBlock",
                tm_pb.GetLatestBlockRequest,
                tm_pb.GetLatestBlockResponse,
                self.get_latest_block,
                (("GET", base + "/blocks/latest"),),
            ),
            BuiltinMethod(
                tm + "GetBlockByHeight",
                tm_pb.GetBlockByHeightRequest,
                tm_pb.GetBlockByHeightResponse,
                self.get_block_by_height,
                (("GET", base + "/blocks/{height}"),),
            ),
            BuiltinMethod(
                tm + "GetLatestValidatorSet",
                tm_pb.GetLatestValidatorSetRequest,
                tm_pb.GetLatestValidatorSetResponse,
                self.get_latest_validator_set,
                (("GET", base + "/validatorsets/latest"),),
            ),
            BuiltinMethod(
                tm + "GetValidatorSetByHeight",
                tm_pb.GetValidatorSetByHeightRequest,
                tm_pb.GetValidatorSetByHeightResponse,
                self.get_validator_set_by_height,
                (("GET", base + "/validatorsets/{height}"),),
            ),
            BuiltinMethod(
                tm + "ABCIQuery",
                tm_pb.ABCIQueryRequest,
                tm_pb.ABCIQueryResponse,
                self.abci_query,
                (("GET", base + "/abci_query"),),
            ),
            BuiltinMethod(
                nd + "Config",
                node_pb.ConfigRequest,
                node_pb.ConfigResponse,
                self.node_config,
                (("GET", "/cosmos/base/node/v1beta1/config"),),
            ),
            BuiltinMethod(
                nd + "Status",
                node_pb.StatusRequest,
                node_pb.StatusResponse,
                self.node_status,
                (("GET", "/cosmos/base/node/v1beta1/status"),),
            ),
            BuiltinMethod(
                f"/{CONSENSUS_SERVICE}/Params",
                consensus_pb.QueryParamsRequest,
                consensus_pb.QueryParamsResponse,
                self.consensus_params,
                (("GET", "/cosmos/consensus/v1/params"),),
            ),
            *TxService(self.node).methods(),
        ]

    # -- cosmos.consensus.v1.Query ---------------------------------------------------------

    def consensus_params(self, req: Any) -> Any:
        """The chain's consensus parameters (cosmpy reads `params.block.max_gas`)."""
        return consensus_pb.QueryParamsResponse(params=self.chain.consensus_params())

    # -- cosmos.base.tendermint.v1beta1.Service -------------------------------------------

    def default_node_info(self) -> Any:
        node = self.node
        external = self.chain.node_info()  # CometBFT's own, when it drives the app
        if external is not None:
            return external
        return p2p_pb.DefaultNodeInfo(
            protocol_version=p2p_pb.ProtocolVersion(
                p2p=P2P_PROTOCOL, block=BLOCK_PROTOCOL, app=self.app_version()
            ),
            default_node_id=node.node_id,
            listen_addr=node.config.node.p2p.laddr,
            network=node.chain_id,
            version=COMETBFT_VERSION,
            channels=CHANNELS,
            moniker=node.moniker,
            other=p2p_pb.DefaultNodeInfoOther(
                tx_index="on", rpc_address=node.config.node.rpc.laddr
            ),
        )

    def app_version(self) -> int:
        return int(self.node.app.info(abci_request_info()).app_version)

    def get_node_info(self, req: Any) -> Any:
        modules = [tm_pb.Module(path=m.name, version=m.version) for m in self.node.modules.modules]
        return tm_pb.GetNodeInfoResponse(
            default_node_info=self.default_node_info(),
            application_version=tm_pb.VersionInfo(
                name="sultan",
                app_name="sultan",
                version=__version__,
                git_commit="",
                build_tags="",
                go_version=f"python {platform.python_version()}",
                build_deps=modules,
                cosmos_sdk_version=COSMOS_SDK_COMPAT,
            ),
        )

    def get_syncing(self, req: Any) -> Any:
        return tm_pb.GetSyncingResponse(syncing=self.chain.syncing())

    def _block_response(self, cls: Any, height: int) -> Any:
        block = self.blocks.block(height)
        bid = self.blocks.block_id(height)
        if block is None or bid is None:
            raise QueryError("NotFound", f"block at height {height} not found")
        return cls(block_id=bid, block=block, sdk_block=sdk_block(block))

    def get_latest_block(self, req: Any) -> Any:
        height = self.blocks.height
        if height == 0:
            raise QueryError("NotFound", "no block has been committed yet")
        return self._block_response(tm_pb.GetLatestBlockResponse, height)

    def _check_height(self, height: int) -> int:
        latest = self.blocks.height
        if height > latest:
            raise QueryError(
                "InvalidArgument", "requested block height is bigger then the chain length"
            )
        if height <= 0:
            raise QueryError("InvalidArgument", f"height must be greater than 0, but got {height}")
        base = self.blocks.base
        if height < base:
            raise QueryError(
                "InvalidArgument", f"height {height} is not available, lowest height is {base}"
            )
        return height

    def get_block_by_height(self, req: Any) -> Any:
        return self._block_response(
            tm_pb.GetBlockByHeightResponse, self._check_height(int(req.height))
        )

    def _validator_set(self, cls: Any, height: int, pagination: Any) -> Any:
        vset = self.blocks.validators(height)
        if vset is None:
            raise QueryError("NotFound", f"no validator set stored for height {height}")
        offset = int(pagination.offset) if pagination is not None else 0
        limit = int(pagination.limit) if pagination is not None else 0
        limit = limit or DEFAULT_LIMIT
        per_page = min(limit, MAX_PER_PAGE)
        page = offset // limit + 1
        total = len(vset.validators)
        pages = max((total - 1) // per_page + 1, 1)
        if page > pages:
            raise QueryError(
                "InvalidArgument", f"page should be within [1, {pages}] range, given {page}"
            )
        chosen = vset.validators[(page - 1) * per_page : page * per_page]
        return cls(
            block_height=height,
            validators=[sdk_validator(v) for v in chosen],
            pagination=pagination_pb2.PageResponse(total=total),
        )

    def get_latest_validator_set(self, req: Any) -> Any:
        height = self.blocks.height
        if height == 0:
            raise QueryError("NotFound", "no block has been committed yet")
        pagination = req.pagination if req.HasField("pagination") else None
        return self._validator_set(tm_pb.GetLatestValidatorSetResponse, height, pagination)

    def get_validator_set_by_height(self, req: Any) -> Any:
        height = self._check_height(int(req.height))
        pagination = req.pagination if req.HasField("pagination") else None
        return self._validator_set(tm_pb.GetValidatorSetByHeightResponse, height, pagination)

    def abci_query(self, req: Any) -> Any:
        if not req.path:
            raise QueryError("InvalidArgument", "empty query path")
        if req.height < 0:
            raise QueryError("InvalidArgument", "height must be non-negative")
        res = self.node.app.query(
            abci.RequestQuery(data=req.data, path=req.path, height=req.height, prove=req.prove)
        )
        out = tm_pb.ABCIQueryResponse(
            code=res.code,
            log=res.log,
            info=res.info,
            index=res.index,
            key=res.key,
            value=res.value,
            height=res.height,
            codespace=res.codespace,
        )
        if res.HasField("proof_ops"):
            for op in res.proof_ops.ops:
                out.proof_ops.ops.add(type=op.type, key=op.key, data=op.data)
        return out

    # -- cosmos.base.node.v1beta1.Service ------------------------------------------------

    def node_config(self, req: Any) -> Any:
        app_cfg = self.node.config.app
        keep_recent, interval = app_cfg.pruning_options
        return node_pb.ConfigResponse(
            minimum_gas_price=app_cfg.minimum_gas_prices,
            pruning_keep_recent=str(keep_recent),
            pruning_interval=str(interval),
            halt_height=app_cfg.halt_height,
        )

    def node_status(self, req: Any) -> Any:
        app = self.node.app
        out = node_pb.StatusResponse(
            earliest_store_height=max(app.committed.earliest, 1) if app.last_height else 0,
            height=app.last_height,
            app_hash=app.last_app_hash,
        )
        height = self.blocks.height
        block = self.blocks.block(height) if height else None
        if block is not None:
            out.timestamp.CopyFrom(block.header.time)
            out.validator_hash = block.header.next_validators_hash
        return out


def abci_request_info() -> Any:
    return abci.RequestInfo(
        version=COMETBFT_VERSION,
        block_version=BLOCK_PROTOCOL,
        p2p_version=P2P_PROTOCOL,
        abci_version=ABCI_SEMVER,
    )


def sdk_block(block: Any) -> Any:
    """tendermint.types.Block → the SDK's Block (proposer as a bech32 consensus address)."""
    h = block.header
    header = sdk_types.Header(
        version=h.version,
        chain_id=h.chain_id,
        height=h.height,
        time=h.time,
        last_block_id=h.last_block_id,
        last_commit_hash=h.last_commit_hash,
        data_hash=h.data_hash,
        validators_hash=h.validators_hash,
        next_validators_hash=h.next_validators_hash,
        consensus_hash=h.consensus_hash,
        app_hash=h.app_hash,
        last_results_hash=h.last_results_hash,
        evidence_hash=h.evidence_hash,
        proposer_address=encode(CONSENSUS_PREFIX, h.proposer_address),
    )
    return sdk_types.Block(
        header=header, data=block.data, evidence=block.evidence, last_commit=block.last_commit
    )


def sdk_validator(v: Any) -> Any:
    which = v.pub_key.WhichOneof("sum")
    pk = any_pb2.Any()
    if which == "ed25519":
        pk.Pack(ed25519_pb.PubKey(key=v.pub_key.ed25519), type_url_prefix="/")
    elif which == "secp256k1":
        pk.Pack(secp256k1_pb.PubKey(key=v.pub_key.secp256k1), type_url_prefix="/")
    return tm_pb.Validator(
        address=encode(CONSENSUS_PREFIX, v.address),
        pub_key=pk,
        voting_power=v.voting_power,
        proposer_priority=v.proposer_priority,
    )
