"""Node configuration: `config/config.toml` (CometBFT-style) and `config/app.toml` (Cosmos-style).

Operators bring habits (and files) from CometBFT and the Cosmos SDK, so keys, sections and
value formats are theirs: durations are Go strings ("3s", "168h0m0s"), listen addresses are
"tcp://host:port". Inside Sultan everything is typed and integer-only: a duration becomes
integer milliseconds, so no float ever reaches timing or consensus code.

Each option is declared once, as an attrs field whose metadata (`Opt`) drives loading,
validation, `--flag` overrides and rendering, so the four can never disagree. Wrong types and
values raise `ConfigError` naming the file and key; unknown keys only produce warnings (a
CometBFT or Cosmos file full of options Sultan does not use still loads).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import attrs
import tomli_w

from sultan.kernel.timeutil import format_duration_ms, parse_duration_ms

CONFIG_TOML = "config.toml"
APP_TOML = "app.toml"
MAX_PORT = 65535
DEC_PRECISION = 18  # Cosmos LegacyDec: gas prices are fixed-point ints with 18 decimals
ABCI_CHOICES = ("socket",)
# Who drives the application: the in-process single-validator engine, or an external
# CometBFT node over the ABCI socket (`proxy_app`).
CONSENSUS_ENGINES = ("embedded", "cometbft")
PRUNING_CHOICES = ("default", "nothing", "everything", "custom")
APP_DB_BACKENDS = ("rocksdb",)
# Pruning presets, as the Cosmos SDK defines them: (keep-recent, interval).
PRUNING_PRESETS = {"default": (362880, 10), "everything": (2, 10), "nothing": (0, 0)}

_META = "sultan.opt"
_SECTION = "sultan.section"
T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or flag is missing, unparsable or has a bad value; the message says where."""


# --- value helpers ---------------------------------------------------------------------------


def parse_address(text: str) -> tuple[str, int]:
    """Split "tcp://host:port", "host:port", "[::1]:port" or ":port" into (host, port).

    An empty host means every interface and is returned as "0.0.0.0".
    """
    if not isinstance(text, str):
        raise ValueError(f"address must be a string, got {type(text).__name__}")
    rest = text.strip()
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme != "tcp":
            raise ValueError(f"address {text!r}: only tcp:// addresses are supported")
    if rest.startswith("["):
        host, sep, port_text = rest[1:].partition("]:")
        if not sep:
            raise ValueError(f"address {text!r}: expected [ipv6]:port")
    else:
        host, sep, port_text = rest.rpartition(":")
        if not sep:
            raise ValueError(f"address {text!r}: expected host:port")
        if ":" in host:
            raise ValueError(f"address {text!r}: write IPv6 hosts as [addr]:port")
    if any(c.isspace() or c in "/@" for c in host):
        raise ValueError(f"address {text!r}: invalid host {host!r}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= MAX_PORT:
        raise ValueError(f"address {text!r}: port must be 0..{MAX_PORT}")
    return (host or "0.0.0.0"), int(port_text)


_DEC_COIN_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z][a-zA-Z0-9/:._-]{2,127})")


def parse_gas_prices(text: str) -> tuple[tuple[str, int], ...]:
    """Parse "0.025usultan,1uatom" into ((denom, price * 10**18), ...) sorted by denom."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError('must not be empty (use e.g. "0usultan" to accept free transactions)')
    prices: dict[str, int] = {}
    for part in text.split(","):
        m = _DEC_COIN_RE.fullmatch(part.strip())
        if m is None:
            raise ValueError(f"invalid gas price {part.strip()!r} (expected e.g. 0.025usultan)")
        amount, denom = m.groups()
        whole, _, frac = amount.partition(".")
        if len(frac) > DEC_PRECISION:
            raise ValueError(f"gas price {part.strip()!r} has more than {DEC_PRECISION} decimals")
        if denom in prices:
            raise ValueError(f"duplicate denom {denom!r}")
        prices[denom] = int(whole) * 10**DEC_PRECISION + int(frac.ljust(DEC_PRECISION, "0") or 0)
    return tuple(sorted(prices.items()))


def split_list(text: str) -> list[str]:
    """CometBFT's comma-separated list fields ("a,b, c") as a list; "" is empty."""
    return [p.strip() for p in text.split(",") if p.strip()]


def _check_address(value: str) -> None:
    parse_address(value)


def _check_abci_address(value: str) -> None:
    # CometBFT's proxy_app: tcp://host:port or unix:///path/to/socket.
    if value.startswith("unix://"):
        if len(value) == len("unix://"):
            raise ValueError(f"address {value!r}: empty unix socket path")
        return
    parse_address(value)


def _check_url(value: str) -> None:
    if value and not re.fullmatch(r"(https?|tcp)://[^\s/]+(/\S*)?", value):
        raise ValueError(f"{value!r} is not a URL like http://127.0.0.1:26657")


def _check_moniker(value: str) -> None:
    # CometBFT's NodeInfo.Validate: non-empty printable ASCII.
    if not value or not all(" " <= c <= "~" for c in value):
        raise ValueError(f"moniker {value!r} must be non-empty printable ASCII")


def _check_peers(value: str) -> None:
    for peer in split_list(value):
        node_id, sep, addr = peer.partition("@")
        if not sep or not re.fullmatch(r"[0-9a-f]{40}", node_id):
            raise ValueError(f"peer {peer!r}: expected <40 lowercase hex node id>@host:port")
        parse_address(addr)


def _check_namespace(value: str) -> None:
    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", value):
        raise ValueError(f"namespace {value!r} is not a valid Prometheus metric prefix")


def _check_gas_prices(value: str) -> None:
    parse_gas_prices(value)


def _check_trust_hash(value: str) -> None:
    if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError(f"trust_hash {value!r} must be 64 hex characters (a block hash)")


# --- declarative option specs ----------------------------------------------------------------


@attrs.frozen
class Opt:
    """How one TOML key is read, checked and written. `kind` picks the converter."""

    key: str
    kind: str  # str | bool | int | duration | secs | intstr | strlist
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], None] | None = None
    doc: str = ""


def opt(key: str, kind: str, default: Any, doc: str = "", **kw: Any) -> Any:
    """An attrs field carrying its TOML spec. Durations default/hold integer milliseconds."""
    meta = {_META: Opt(key, kind, doc=doc, **kw)}
    if isinstance(default, list):
        return attrs.field(factory=lambda: tuple(default), metadata=meta)
    return attrs.field(default=default, metadata=meta)


def section(cls: type[T]) -> T:
    """An attrs field holding a whole `[table]`."""
    return attrs.field(factory=cls, metadata={_SECTION: cls})


# --- config.toml -----------------------------------------------------------------------------


@attrs.frozen
class RPCSection:
    KEY: ClassVar[str] = "rpc"
    DOC: ClassVar[str] = "CometBFT JSON-RPC server (status, blocks, broadcast_tx_*)."

    laddr: str = opt(
        "laddr", "str", "tcp://127.0.0.1:26657", "Listen address.", check=_check_address
    )
    cors_allowed_origins: tuple[str, ...] = opt(
        "cors_allowed_origins", "strlist", [], 'Origins allowed to call from browsers; ["*"] = any.'
    )
    max_open_connections: int = opt(
        "max_open_connections", "int", 900, "Max simultaneous connections (0 = unlimited).", lo=0
    )
    max_body_bytes: int = opt("max_body_bytes", "int", 1000000, "Max request body size.", lo=1)
    max_header_bytes: int = opt(
        "max_header_bytes", "int", 1048576, "Max request header size.", lo=1
    )
    timeout_broadcast_tx_commit_ms: int = opt(
        "timeout_broadcast_tx_commit",
        "duration",
        10_000,
        "How long broadcast_tx_commit waits for the tx to be committed.",
        lo=0,
    )
    max_subscription_clients: int = opt(
        "max_subscription_clients", "int", 100, "Max clients with event subscriptions.", lo=0
    )
    rate_limit_per_second: int = opt(
        "rate_limit_per_second",
        "int",
        0,
        "Requests per second each client IP may make (token bucket; 0 = no limit). "
        "Over the limit: HTTP 429 with Retry-After.",
        lo=0,
    )
    rate_limit_burst: int = opt(
        "rate_limit_burst",
        "int",
        0,
        "Requests a client may make at once above the rate (0 = one second's worth).",
        lo=0,
    )
    tls_cert_file: str = opt(
        "tls_cert_file",
        "str",
        "",
        "PEM certificate for HTTPS (relative paths: under config/); empty = plain HTTP.",
    )
    tls_key_file: str = opt("tls_key_file", "str", "", "PEM private key matching tls_cert_file.")

    @property
    def listen(self) -> tuple[str, int]:
        return parse_address(self.laddr)


@attrs.frozen
class P2PSection:
    KEY: ClassVar[str] = "p2p"
    DOC: ClassVar[str] = "Peer-to-peer networking (used by CometBFT in multi-validator setups)."

    laddr: str = opt("laddr", "str", "tcp://0.0.0.0:26656", "Listen address.", check=_check_address)
    persistent_peers: str = opt(
        "persistent_peers",
        "str",
        "",
        "Comma-separated id@host:port peers to stay connected to.",
        check=_check_peers,
    )
    max_num_inbound_peers: int = opt("max_num_inbound_peers", "int", 40, "Max inbound peers.", lo=0)
    max_num_outbound_peers: int = opt(
        "max_num_outbound_peers", "int", 10, "Max outbound peers.", lo=0
    )

    @property
    def listen(self) -> tuple[str, int]:
        return parse_address(self.laddr)

    @property
    def peers(self) -> list[str]:
        return split_list(self.persistent_peers)


@attrs.frozen
class MempoolSection:
    KEY: ClassVar[str] = "mempool"
    DOC: ClassVar[str] = "Pending-transaction pool: bounds and re-checking after each block."

    size: int = opt("size", "int", 5000, "Max number of txs.", lo=1)
    cache_size: int = opt("cache_size", "int", 10000, "Seen-tx cache for dedup (0 = off).", lo=0)
    max_tx_bytes: int = opt("max_tx_bytes", "int", 1048576, "Max size of one tx.", lo=1)
    max_txs_bytes: int = opt("max_txs_bytes", "int", 1073741824, "Max total size of all txs.", lo=1)
    recheck: bool = opt("recheck", "bool", True, "Re-run CheckTx on remaining txs after a block.")


@attrs.frozen
class ConsensusSection:
    KEY: ClassVar[str] = "consensus"
    DOC: ClassVar[str] = "Consensus timeouts; timeout_commit sets the block interval."

    timeout_propose_ms: int = opt(
        "timeout_propose", "duration", 3000, "How long to wait for a block proposal.", lo=0
    )
    timeout_propose_delta_ms: int = opt(
        "timeout_propose_delta", "duration", 500, "Added to timeout_propose each round.", lo=0
    )
    timeout_prevote_ms: int = opt(
        "timeout_prevote", "duration", 1000, "Wait after +2/3 prevotes for anything.", lo=0
    )
    timeout_prevote_delta_ms: int = opt(
        "timeout_prevote_delta", "duration", 500, "Added to timeout_prevote each round.", lo=0
    )
    timeout_precommit_ms: int = opt(
        "timeout_precommit", "duration", 1000, "Wait after +2/3 precommits for anything.", lo=0
    )
    timeout_precommit_delta_ms: int = opt(
        "timeout_precommit_delta",
        "duration",
        500,
        "Added to timeout_precommit each round.",
        lo=0,
    )
    timeout_commit_ms: int = opt(
        "timeout_commit", "duration", 1000, "Wait after a commit before the next height.", lo=0
    )
    create_empty_blocks: bool = opt(
        "create_empty_blocks", "bool", True, "Produce blocks even without transactions."
    )
    create_empty_blocks_interval_ms: int = opt(
        "create_empty_blocks_interval",
        "duration",
        0,
        "With create_empty_blocks, max wait before an empty block (0s = every timeout_commit).",
        lo=0,
    )


@attrs.frozen
class InstrumentationSection:
    KEY: ClassVar[str] = "instrumentation"
    DOC: ClassVar[str] = "Prometheus metrics endpoint (/metrics)."

    prometheus: bool = opt("prometheus", "bool", True, "Serve metrics.")
    prometheus_listen_addr: str = opt(
        "prometheus_listen_addr",
        "str",
        "127.0.0.1:26660",
        "host:port serving /metrics.",
        check=_check_address,
    )
    namespace: str = opt(
        "namespace", "str", "sultan", "Metric name prefix.", check=_check_namespace
    )

    @property
    def listen(self) -> tuple[str, int]:
        return parse_address(self.prometheus_listen_addr)


@attrs.frozen
class StateSyncSection:
    KEY: ClassVar[str] = "statesync"
    DOC: ClassVar[str] = "Bootstrap from a snapshot served by other nodes instead of replaying."

    enable: bool = opt("enable", "bool", False, "Sync from a snapshot on first start.")
    rpc_servers: str = opt("rpc_servers", "str", "", "Comma-separated RPC servers (at least 2).")
    trust_height: int = opt(
        "trust_height", "int", 0, "Trusted height for light-client checks.", lo=0
    )
    trust_hash: str = opt(
        "trust_hash", "str", "", "Block hash at trust_height.", check=_check_trust_hash
    )
    trust_period_ms: int = opt(
        "trust_period",
        "duration",
        168 * 3600 * 1000,
        "How long a trusted header stays valid.",
        lo=0,
    )


@attrs.frozen
class NodeConfig:
    """config/config.toml. Every `*_ms` field is a duration in integer milliseconds."""

    FILE: ClassVar[str] = CONFIG_TOML
    DOC: ClassVar[str] = (
        'Sultan node configuration (CometBFT-style). Durations are Go strings: "500ms", '
        '"3s", "1m30s".\nUnknown keys are reported as warnings and ignored.'
    )

    moniker: str = opt(
        "moniker", "str", "node0", "A human-readable name for this node.", check=_check_moniker
    )
    proxy_app: str = opt(
        "proxy_app",
        "str",
        "tcp://127.0.0.1:26658",
        "ABCI address: where the app serves an external CometBFT node "
        '(consensus_engine = "cometbft"): tcp://host:port or unix:///path.',
        check=_check_abci_address,
    )
    abci: str = opt("abci", "str", "socket", "ABCI transport.", choices=ABCI_CHOICES)
    consensus_engine: str = opt(
        "consensus_engine",
        "str",
        "embedded",
        "embedded: this process produces the blocks (one validator); cometbft: serve ABCI on "
        "proxy_app to an external CometBFT node (multi-validator networks).",
        choices=CONSENSUS_ENGINES,
    )
    cometbft_rpc: str = opt(
        "cometbft_rpc",
        "str",
        "",
        'With consensus_engine = "cometbft": the CometBFT RPC that REST/gRPC read blocks and '
        "txs from and broadcast to (empty = rpc.laddr).",
        check=_check_url,
    )
    abci_max_message_bytes: int = opt(
        "abci_max_message_bytes",
        "int",
        100 * 1024 * 1024,
        "Largest ABCI message accepted; a bigger length prefix closes that connection.",
        lo=1,
    )
    rpc: RPCSection = section(RPCSection)
    p2p: P2PSection = section(P2PSection)
    mempool: MempoolSection = section(MempoolSection)
    consensus: ConsensusSection = section(ConsensusSection)
    instrumentation: InstrumentationSection = section(InstrumentationSection)
    statesync: StateSyncSection = section(StateSyncSection)

    @property
    def proxy_listen(self) -> tuple[str, int]:
        return parse_address(self.proxy_app)

    @property
    def cometbft_rpc_url(self) -> str:
        """The CometBFT RPC as an http:// URL (`cometbft_rpc`, else `rpc.laddr`)."""
        url = self.cometbft_rpc or self.rpc.laddr
        if url.startswith("tcp://"):
            url = "http://" + url[len("tcp://") :]
        scheme, _, rest = url.partition("://")
        host_port = rest.split("/", 1)[0]
        for wildcard in ("0.0.0.0:", "[::]:"):
            if host_port.startswith(wildcard):  # a listen-anywhere address: call it locally
                url = f"{scheme}://127.0.0.1:{host_port[len(wildcard) :]}"
        return url.rstrip("/")


# --- app.toml --------------------------------------------------------------------------------


@attrs.frozen
class APISection:
    KEY: ClassVar[str] = "api"
    DOC: ClassVar[str] = "REST API (Cosmos grpc-gateway paths such as /cosmos/bank/v1beta1/...)."

    enable: bool = opt("enable", "bool", True, "Serve the REST API.")
    swagger: bool = opt("swagger", "bool", False, "Serve the OpenAPI/Swagger UI.")
    address: str = opt(
        "address", "str", "tcp://127.0.0.1:1317", "Listen address.", check=_check_address
    )
    max_open_connections: int = opt(
        "max-open-connections", "int", 1000, "Max simultaneous connections (0 = unlimited).", lo=0
    )
    rpc_read_timeout_ms: int = opt(
        "rpc-read-timeout",
        "secs",
        10_000,
        "Seconds (or a duration string) to read a request.",
        lo=0,
    )
    rpc_write_timeout_ms: int = opt(
        "rpc-write-timeout", "secs", 0, "Seconds to write a response (0 = no limit).", lo=0
    )
    rpc_max_body_bytes: int = opt("rpc-max-body-bytes", "int", 1000000, "Max request body.", lo=1)
    rate_limit_per_second: int = opt(
        "rate-limit-per-second",
        "int",
        0,
        "Requests per second each client IP may make (token bucket; 0 = no limit). "
        "Over the limit: HTTP 429 with Retry-After.",
        lo=0,
    )
    rate_limit_burst: int = opt(
        "rate-limit-burst",
        "int",
        0,
        "Requests a client may make at once above the rate (0 = one second's worth).",
        lo=0,
    )
    tls_cert_file: str = opt(
        "tls-cert-file",
        "str",
        "",
        "PEM certificate for HTTPS (relative paths: under config/); empty = plain HTTP.",
    )
    tls_key_file: str = opt("tls-key-file", "str", "", "PEM private key matching tls-cert-file.")
    workers: int = opt(
        "workers",
        "int",
        0,
        "Processes serving REST and gRPC beside the node (0 = in the node's own process). "
        "Workers read committed state from the database, so queries do not wait while the "
        "node executes and writes blocks; transactions they receive go to the node. "
        "Rate limits and max-open-connections then apply per process.",
        lo=0,
        hi=64,
    )

    @property
    def listen(self) -> tuple[str, int]:
        return parse_address(self.address)


@attrs.frozen
class GRPCSection:
    KEY: ClassVar[str] = "grpc"
    DOC: ClassVar[str] = "gRPC server (cosmos.*.v1beta1 query and tx services)."

    enable: bool = opt("enable", "bool", True, "Serve gRPC.")
    address: str = opt(
        "address", "str", "127.0.0.1:9090", "host:port to listen on.", check=_check_address
    )
    max_recv_msg_size: int = opt(
        "max-recv-msg-size", "int", 10485760, "Max message size received, bytes.", lo=1
    )
    max_send_msg_size: int = opt(
        "max-send-msg-size", "int", 2147483647, "Max message size sent, bytes.", lo=1
    )
    rate_limit_per_second: int = opt(
        "rate-limit-per-second",
        "int",
        0,
        "Calls per second each client IP may make (token bucket; 0 = no limit). "
        "Over the limit: RESOURCE_EXHAUSTED with retry-after metadata.",
        lo=0,
    )
    rate_limit_burst: int = opt(
        "rate-limit-burst",
        "int",
        0,
        "Calls a client may make at once above the rate (0 = one second's worth).",
        lo=0,
    )
    tls_cert_file: str = opt(
        "tls-cert-file",
        "str",
        "",
        "PEM certificate for TLS (relative paths: under config/); empty = plaintext.",
    )
    tls_key_file: str = opt("tls-key-file", "str", "", "PEM private key matching tls-cert-file.")

    @property
    def listen(self) -> tuple[str, int]:
        return parse_address(self.address)


@attrs.frozen
class AppStateSyncSection:
    KEY: ClassVar[str] = "state-sync"
    DOC: ClassVar[str] = "State-sync snapshots this node takes and serves to bootstrapping peers."

    snapshot_interval: int = opt(
        "snapshot-interval", "int", 0, "Take a snapshot every N blocks (0 = off).", lo=0
    )
    snapshot_keep_recent: int = opt(
        "snapshot-keep-recent", "int", 2, "Snapshots to keep (0 = all).", lo=0
    )


@attrs.frozen
class AppConfig:
    """config/app.toml. `*_ms` fields are integer milliseconds."""

    FILE: ClassVar[str] = APP_TOML
    DOC: ClassVar[str] = (
        "Sultan application configuration (Cosmos SDK style).\n"
        "Unknown keys are reported as warnings and ignored."
    )

    minimum_gas_prices: str = opt(
        "minimum-gas-prices",
        "str",
        "0usultan",
        'Lowest fee per gas this node accepts into its mempool, e.g. "0.025usultan".',
        check=_check_gas_prices,
    )
    pruning: str = opt(
        "pruning",
        "str",
        "default",
        "default (keep 362880) | nothing (archive) | everything (keep 2) | custom.",
        choices=PRUNING_CHOICES,
    )
    pruning_keep_recent: int = opt(
        "pruning-keep-recent",
        "intstr",
        0,
        'With pruning = "custom": versions to keep (>= 2).',
        lo=0,
    )
    pruning_interval: int = opt(
        "pruning-interval",
        "intstr",
        0,
        'With pruning = "custom": prune every N blocks (>= 10).',
        lo=0,
    )
    halt_height: int = opt(
        "halt-height", "int", 0, "Stop after committing this height (0 = never).", lo=0
    )
    app_db_backend: str = opt(
        "app-db-backend",
        "str",
        "rocksdb",
        "Storage engine (only rocksdb).",
        choices=APP_DB_BACKENDS,
    )
    api: APISection = section(APISection)
    grpc: GRPCSection = section(GRPCSection)
    state_sync: AppStateSyncSection = section(AppStateSyncSection)
    # Module-owned tables (e.g. [bank]) named in `extra_sections` when loading; kept raw.
    extra: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    @property
    def min_gas_prices(self) -> tuple[tuple[str, int], ...]:
        """((denom, price * 10**18), ...), sorted by denom."""
        return parse_gas_prices(self.minimum_gas_prices)

    @property
    def pruning_options(self) -> tuple[int, int]:
        """Effective (keep_recent, interval); (0, 0) means keep everything."""
        return PRUNING_PRESETS.get(self.pruning, (self.pruning_keep_recent, self.pruning_interval))


@attrs.frozen
class Config:
    """Both files: `node` is config.toml, `app` is app.toml."""

    node: NodeConfig = attrs.field(factory=NodeConfig)
    app: AppConfig = attrs.field(factory=AppConfig)


# --- conversion ------------------------------------------------------------------------------

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)


def _convert(spec: Opt, raw: Any, *, from_flag: bool) -> Any:
    """Turn a TOML (or flag string) value into the model's type; ValueError says why."""
    kind = spec.kind
    if from_flag and isinstance(raw, str):
        raw = _flag_to_toml(kind, raw)
    if kind == "str":
        if not isinstance(raw, str):
            raise ValueError(f"expected a string, got {_type_name(raw)} {raw!r}")
        value: Any = raw
    elif kind == "bool":
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {_type_name(raw)} {raw!r}")
        value = raw
    elif kind in ("int", "intstr"):
        if kind == "intstr" and isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected an integer, got {_type_name(raw)} {raw!r}")
        value = raw
    elif kind == "duration":
        if not isinstance(raw, str):
            raise ValueError(f'expected a duration string like "3s", got {_type_name(raw)} {raw!r}')
        value = parse_duration_ms(raw)
    elif kind == "secs":
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw * 1000
        elif isinstance(raw, str):
            value = parse_duration_ms(raw)
        else:
            raise ValueError(f'expected seconds (integer) or a duration like "10s", got {raw!r}')
    elif kind == "strlist":
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise ValueError(f"expected an array of strings, got {_type_name(raw)} {raw!r}")
        value = tuple(raw)
    else:  # pragma: no cover - programming error in a spec
        raise AssertionError(f"unknown option kind {kind!r}")
    if spec.lo is not None and value < spec.lo:
        raise ValueError(f"must be >= {spec.lo}, got {raw!r}")
    if spec.hi is not None and value > spec.hi:
        raise ValueError(f"must be <= {spec.hi}, got {raw!r}")
    if spec.choices and value not in spec.choices:
        raise ValueError(f"unsupported value {value!r} (allowed: {', '.join(spec.choices)})")
    if spec.check is not None:
        spec.check(value)
    return value


def _flag_to_toml(kind: str, text: str) -> Any:
    """Flags arrive as strings; read them as the TOML value they stand for."""
    if kind == "bool":
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind in ("int", "secs") and re.fullmatch(r"\s*-?\d+\s*", text):
        return int(text)
    if kind == "strlist":
        return split_list(text)
    return text


def _specs(cls: type) -> list[attrs.Attribute[Any]]:
    return list(attrs.fields(cls))


def _load_table(
    cls: type[T],
    table: Mapping[str, Any],
    file: str,
    prefix: str,
    warnings: list[str],
    extra_sections: Collection[str] = (),
) -> T:
    kwargs: dict[str, Any] = {}
    known: set[str] = set()
    extra: dict[str, Any] = {}
    for field in _specs(cls):
        if field.metadata.get(_SECTION):
            sub_cls = field.metadata[_SECTION]
            key = sub_cls.KEY
            known.add(key)
            if key in table:
                sub = table[key]
                if not isinstance(sub, dict):
                    raise ConfigError(f"{file}: [{key}] must be a table, got {_type_name(sub)}")
                kwargs[field.name] = _load_table(sub_cls, sub, file, f"{key}.", warnings)
            continue
        spec: Opt | None = field.metadata.get(_META)
        if spec is None:
            continue
        known.add(spec.key)
        if spec.key in table:
            try:
                kwargs[field.name] = _convert(spec, table[spec.key], from_flag=False)
            except ValueError as exc:
                raise ConfigError(f"{file}: key '{prefix}{spec.key}': {exc}") from None
    for key in table:
        if key in known:
            continue
        if key in extra_sections and isinstance(table[key], dict):
            extra[key] = table[key]
        else:
            warnings.append(f"{file}: unknown key '{prefix}{key}' (ignored)")
    if extra:
        kwargs["extra"] = extra
    return cls(**kwargs)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: run `sultan init`") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config_toml(path: str | os.PathLike[str]) -> tuple[NodeConfig, list[str]]:
    """Load and validate config.toml; returns the config and unknown-key warnings."""
    p = Path(path)
    warnings: list[str] = []
    cfg = _load_table(NodeConfig, _read_toml(p), str(p), "", warnings)
    validate_node_config(cfg, str(p))
    return cfg, warnings


def load_app_toml(
    path: str | os.PathLike[str], *, extra_sections: Collection[str] = ()
) -> tuple[AppConfig, list[str]]:
    """Load and validate app.toml. Tables named in `extra_sections` (module-owned) are kept
    raw in `AppConfig.extra` instead of being reported as unknown."""
    p = Path(path)
    warnings: list[str] = []
    cfg = _load_table(AppConfig, _read_toml(p), str(p), "", warnings, extra_sections)
    validate_app_config(cfg, str(p))
    return cfg, warnings


def load_config(
    home: str | os.PathLike[str], *, extra_sections: Collection[str] = ()
) -> tuple[Config, list[str]]:
    """Load `<home>/config/config.toml` and `<home>/config/app.toml`."""
    config_dir = Path(home) / "config"
    node, w1 = load_config_toml(config_dir / CONFIG_TOML)
    app, w2 = load_app_toml(config_dir / APP_TOML, extra_sections=extra_sections)
    return Config(node=node, app=app), w1 + w2


# --- cross-field validation ------------------------------------------------------------------


def _check_tls_pair(cert: str, key: str, cert_key: str, key_key: str, where: str) -> None:
    if bool(cert) != bool(key):
        missing = key_key if cert else cert_key
        raise ConfigError(
            f"{where}: TLS needs both '{cert_key}' and '{key_key}' (missing '{missing}')"
        )


def validate_node_config(cfg: NodeConfig, where: str = CONFIG_TOML) -> None:
    """Rules that span keys (single-key rules live in the field specs)."""
    _check_tls_pair(
        cfg.rpc.tls_cert_file, cfg.rpc.tls_key_file, "rpc.tls_cert_file", "rpc.tls_key_file", where
    )
    if cfg.mempool.max_tx_bytes > cfg.mempool.max_txs_bytes:
        raise ConfigError(
            f"{where}: key 'mempool.max_tx_bytes' ({cfg.mempool.max_tx_bytes}) exceeds "
            f"'mempool.max_txs_bytes' ({cfg.mempool.max_txs_bytes})"
        )
    ss = cfg.statesync
    if ss.enable:  # CometBFT's StateSyncConfig.ValidateBasic
        problem = ""
        if len(split_list(ss.rpc_servers)) < 2:
            problem = "'statesync.rpc_servers' needs at least two comma-separated servers"
        elif ss.trust_height <= 0:
            problem = "'statesync.trust_height' is required (> 0)"
        elif not ss.trust_hash:
            problem = "'statesync.trust_hash' is required"
        elif ss.trust_period_ms <= 0:
            problem = "'statesync.trust_period' must be > 0"
        # Under CometBFT, CometBFT syncs; under the embedded engine the node becomes a
        # follower that syncs and then follows from these servers (sultan.statesync).
        if problem:
            raise ConfigError(f"{where}: statesync is enabled but {problem}")


def validate_app_config(cfg: AppConfig, where: str = APP_TOML) -> None:
    for name, sec in (("api", cfg.api), ("grpc", cfg.grpc)):
        _check_tls_pair(
            sec.tls_cert_file,
            sec.tls_key_file,
            f"{name}.tls-cert-file",
            f"{name}.tls-key-file",
            where,
        )
    if cfg.pruning == "custom":  # the Cosmos SDK's PruningOptions.Validate
        if cfg.pruning_interval < 10:
            raise ConfigError(
                f"{where}: key 'pruning-interval' must be >= 10 with pruning = \"custom\" "
                f'(got {cfg.pruning_interval}); to keep everything use pruning = "nothing"'
            )
        if cfg.pruning_keep_recent < 2:
            raise ConfigError(
                f"{where}: key 'pruning-keep-recent' must be >= 2 with pruning = \"custom\" "
                f"(got {cfg.pruning_keep_recent})"
            )


# --- operator flags --------------------------------------------------------------------------

# flag name -> (file attribute on Config, section attribute or None, field name)
OVERRIDES: dict[str, tuple[str, str | None, str]] = {
    "api.enable": ("app", "api", "enable"),
    "api.swagger": ("app", "api", "swagger"),
    "api.address": ("app", "api", "address"),
    "api.workers": ("app", "api", "workers"),
    "grpc.enable": ("app", "grpc", "enable"),
    "grpc.address": ("app", "grpc", "address"),
    "rpc.laddr": ("node", "rpc", "laddr"),
    "instrumentation.prometheus_listen_addr": ("node", "instrumentation", "prometheus_listen_addr"),
    "consensus.timeout_commit": ("node", "consensus", "timeout_commit_ms"),
    "p2p.laddr": ("node", "p2p", "laddr"),
    "proxy_app": ("node", None, "proxy_app"),
    "abci": ("node", None, "abci"),
    "consensus_engine": ("node", None, "consensus_engine"),
    "cometbft_rpc": ("node", None, "cometbft_rpc"),
    "moniker": ("node", None, "moniker"),
    "statesync.enable": ("node", "statesync", "enable"),
    "statesync.rpc_servers": ("node", "statesync", "rpc_servers"),
    "statesync.trust_height": ("node", "statesync", "trust_height"),
    "statesync.trust_hash": ("node", "statesync", "trust_hash"),
}


def apply_overrides(cfg: Config, overrides: Mapping[str, str | bool | None]) -> Config:
    """Apply `--api.enable=false`-style flags (dotted names in OVERRIDES); None = not given.

    Values are converted and validated exactly like the TOML value they replace.
    """
    files: dict[str, Any] = {"node": cfg.node, "app": cfg.app}
    for name, raw in overrides.items():
        if raw is None:
            continue
        target = OVERRIDES.get(name)
        if target is None:
            raise ConfigError(f"unknown override --{name} (known: {', '.join(sorted(OVERRIDES))})")
        file_attr, section_attr, field_name = target
        holder = files[file_attr]
        obj = getattr(holder, section_attr) if section_attr else holder
        spec: Opt = attrs.fields_dict(type(obj))[field_name].metadata[_META]
        try:
            value = _convert(spec, raw, from_flag=True)
        except ValueError as exc:
            raise ConfigError(f"flag --{name}: {exc}") from None
        obj = attrs.evolve(obj, **{field_name: value})
        files[file_attr] = attrs.evolve(holder, **{section_attr: obj}) if section_attr else obj
    node, app = files["node"], files["app"]
    validate_node_config(node, "flags")
    validate_app_config(app, "flags")
    return Config(node=node, app=app)


# --- rendering -------------------------------------------------------------------------------


def _to_toml_value(spec: Opt, value: Any) -> Any:
    if spec.kind == "duration":
        return format_duration_ms(value)
    if spec.kind == "secs":
        return value // 1000 if value % 1000 == 0 else format_duration_ms(value)
    if spec.kind == "intstr":
        return str(value)
    if spec.kind == "strlist":
        return list(value)
    return value


def _render_table(obj: Any, header: str | None) -> list[str]:
    lines: list[str] = []
    sections: list[Any] = []
    if header is not None:
        lines += ["", "#" * 80, f"# {type(obj).DOC}", "#" * 80, f"[{header}]"]
    for field in _specs(type(obj)):
        if field.metadata.get(_SECTION):
            sections.append(getattr(obj, field.name))
            continue
        spec: Opt | None = field.metadata.get(_META)
        if spec is None:
            continue
        if spec.doc:
            lines.append(f"# {spec.doc}")
        item = {spec.key: _to_toml_value(spec, getattr(obj, field.name))}
        lines.append(tomli_w.dumps(item).rstrip("\n"))
    for sub in sections:
        lines += _render_table(sub, type(sub).KEY)
    return lines


def _render_file(obj: Any) -> str:
    head = [f"# {line}" if line else "#" for line in type(obj).DOC.splitlines()]
    return "\n".join(head + [""] + _render_table(obj, None)) + "\n"


def render_config_toml(cfg: Config | NodeConfig) -> str:
    """config.toml text with a comment per section; loads back to an equal NodeConfig."""
    return _render_file(cfg.node if isinstance(cfg, Config) else cfg)


def render_app_toml(cfg: Config | AppConfig) -> str:
    """app.toml text with a comment per section; loads back to an equal AppConfig."""
    app = cfg.app if isinstance(cfg, Config) else cfg
    text = _render_file(app)
    if app.extra:
        text += "\n# Module-owned sections.\n" + tomli_w.dumps(dict(app.extra))
    return text
