"""Local multi-validator networks: one CometBFT node + one Sultan application per validator.

`sultan testnet init|start|stop|status|add-node` (sultan/cli/testnet_cmd.py) is a thin
shell over this module; the CometBFT tests drive the same `Testnet` object, so what they
prove is what operators run. Layout of an output directory D:

    D/testnet.json                 what start/stop/status need (ports, ids, paths)
    D/node<i>/sultan/              the Sultan home (config.toml: consensus_engine = "cometbft")
    D/node<i>/cometbft/            the CometBFT home (`cometbft init`, then rewritten)
    D/node<i>/logs/{sultan,cometbft}.log
    D/node<i>/{sultan,cometbft}.pid

Ports of node i are `starting_port + 10*i + k`: k = 0 P2P, 1 RPC (CometBFT's), 2 ABCI,
3 REST, 4 gRPC, 5 Sultan metrics, 6 CometBFT metrics; everything listens on 127.0.0.1, or
on the node's own address with `Testnet.init(hosts=...)` (e.g. one network namespace per
node, its processes started under `Testnet.spawn_prefix`).

Every validator's genesis is the same file: all validators with their power, `app_state`
from the enabled modules' defaults plus any funded accounts. CometBFT's config.toml gets
its consensus and mempool tuning (timeout_propose, timeout_commit, mempool size,
cache_size, max_tx_bytes, max_txs_bytes, …) from the Sultan config, so the two never
disagree. Processes are started Sultan-first (CometBFT connects to its ABCI port at once)
and stopped CometBFT-first, with SIGTERM and, after a timeout, SIGKILL.

Proof of stake: when an enabled module provides `sultan genesis gentx` (staking), every node
becomes a validator the way operators make one, through the modules' registered genesis
commands: its Sultan home takes the CometBFT home's priv_validator_key.json and
node_key.json (CometBFT is what signs), gets an operator key `validator` in its test keyring
(`D/node<i>/sultan/keyring-test/`, mnemonic in `D/node<i>/sultan/key_seed.json`), funded
with `genesis add-account`; `genesis gentx` self-bonds power * 10^6 of the bond denom, the
gentxs are gathered in `D/gentxs/` and `genesis collect-gentxs` puts them (and the
validator set they bond) into the one genesis every node gets.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import tomli_w

from sultan.kernel.coins import Coins
from sultan.kernel.config import (
    AppConfig,
    Config,
    NodeConfig,
    StateSyncSection,
    load_config_toml,
    render_app_toml,
    render_config_toml,
)
from sultan.kernel.crypto.keys import load_node_key, load_priv_validator_key, write_file_atomic
from sultan.kernel.genesis import (
    GenesisDoc,
    GenesisValidator,
    load_genesis,
    validate_chain_id,
    write_genesis,
)
from sultan.kernel.home import init_home
from sultan.kernel.timeutil import format_duration_ms, now_ns

MANIFEST = "testnet.json"
PORTS_PER_NODE = 10
PORT_OFFSETS = {"p2p": 0, "rpc": 1, "abci": 2, "rest": 3, "grpc": 4, "metrics": 5, "cmt_metrics": 6}
DEFAULT_STARTING_PORT = 26656
HOST = "127.0.0.1"
KINDS = ("sultan", "cometbft")


class TestnetError(RuntimeError):
    """A testnet cannot be created, started or stopped; the message says why."""

    __test__ = False  # not a pytest test class


# -- config.toml rewriting ----------------------------------------------------------------------


def set_toml_values(text: str, values: Mapping[tuple[str, str], Any], where: str = "") -> str:
    """Replace `key = value` lines of a TOML file in place, by (section, key); "" = top level.

    Comments and layout of CometBFT's template stay as they are. A key that is not in the
    file raises, so a CometBFT version whose template moved a key is noticed at once."""
    remaining = dict(values)
    section = ""
    out = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]") and not stripped.startswith("[["):
            section = stripped[1:-1].strip()
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            if (section, key) in remaining:
                value = remaining.pop((section, key))
                newline = "\n" if line.endswith("\n") else ""
                line = tomli_w.dumps({key: value}).rstrip("\n") + newline
        out.append(line)
    if remaining:
        missing = ", ".join(f"[{s}] {k}" if s else k for s, k in remaining)
        raise TestnetError(f"{where or 'config.toml'}: keys not found: {missing}")
    return "".join(out)


def cometbft_config_values(
    cfg: NodeConfig,
    *,
    ports: Mapping[str, int],
    peers: Sequence[str],
    moniker: str,
    host: str = HOST,
) -> dict[tuple[str, str], Any]:
    """CometBFT config.toml values for one validator, taken from its Sultan config."""
    cons, mp, rpc = cfg.consensus, cfg.mempool, cfg.rpc
    return {
        ("", "moniker"): moniker,
        ("", "proxy_app"): f"tcp://{host}:{ports['abci']}",
        ("", "abci"): "socket",
        ("rpc", "laddr"): f"tcp://{host}:{ports['rpc']}",
        ("rpc", "pprof_laddr"): "",
        ("rpc", "grpc_laddr"): "",
        ("rpc", "max_body_bytes"): rpc.max_body_bytes,
        ("rpc", "max_header_bytes"): rpc.max_header_bytes,
        ("rpc", "max_open_connections"): rpc.max_open_connections,
        ("rpc", "timeout_broadcast_tx_commit"): format_duration_ms(
            rpc.timeout_broadcast_tx_commit_ms
        ),
        ("p2p", "laddr"): f"tcp://{host}:{ports['p2p']}",
        ("p2p", "persistent_peers"): ",".join(peers),
        ("p2p", "addr_book_strict"): False,
        ("p2p", "allow_duplicate_ip"): True,
        ("p2p", "max_num_inbound_peers"): cfg.p2p.max_num_inbound_peers,
        ("p2p", "max_num_outbound_peers"): cfg.p2p.max_num_outbound_peers,
        ("mempool", "size"): mp.size,
        ("mempool", "cache_size"): mp.cache_size,
        ("mempool", "max_tx_bytes"): mp.max_tx_bytes,
        ("mempool", "max_txs_bytes"): mp.max_txs_bytes,
        ("mempool", "recheck"): mp.recheck,
        ("consensus", "timeout_propose"): format_duration_ms(cons.timeout_propose_ms),
        ("consensus", "timeout_propose_delta"): format_duration_ms(cons.timeout_propose_delta_ms),
        ("consensus", "timeout_prevote"): format_duration_ms(cons.timeout_prevote_ms),
        ("consensus", "timeout_prevote_delta"): format_duration_ms(cons.timeout_prevote_delta_ms),
        ("consensus", "timeout_precommit"): format_duration_ms(cons.timeout_precommit_ms),
        ("consensus", "timeout_precommit_delta"): format_duration_ms(
            cons.timeout_precommit_delta_ms
        ),
        ("consensus", "timeout_commit"): format_duration_ms(cons.timeout_commit_ms),
        ("consensus", "create_empty_blocks"): cons.create_empty_blocks,
        ("consensus", "create_empty_blocks_interval"): format_duration_ms(
            cons.create_empty_blocks_interval_ms
        ),
        ("tx_index", "indexer"): "kv",
        ("instrumentation", "prometheus_listen_addr"): f"{host}:{ports['cmt_metrics']}",
        # Under CometBFT it is CometBFT that state-syncs (from the Sultan apps' snapshots).
        ("statesync", "enable"): cfg.statesync.enable,
        ("statesync", "rpc_servers"): cfg.statesync.rpc_servers,
        ("statesync", "trust_height"): cfg.statesync.trust_height,
        ("statesync", "trust_hash"): cfg.statesync.trust_hash,
        ("statesync", "trust_period"): format_duration_ms(cfg.statesync.trust_period_ms),
    }


# -- the network --------------------------------------------------------------------------------


@attrs.frozen
class TestnetNode:
    __test__ = False  # not a pytest test class

    index: int
    name: str
    dir: Path
    ports: dict[str, int]
    node_id: str
    validator_address: str
    host: str = HOST  # the address all its ports listen on
    operator_address: str = ""  # its operator account, when genesis made it a validator

    @property
    def sultan_home(self) -> Path:
        return self.dir / "sultan"

    @property
    def cometbft_home(self) -> Path:
        return self.dir / "cometbft"

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.ports['rpc']}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.ports['rest']}"

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.ports['grpc']}"

    @property
    def abci_address(self) -> str:
        return f"tcp://{self.host}:{self.ports['abci']}"

    @property
    def p2p_address(self) -> str:
        return f"{self.node_id}@{self.host}:{self.ports['p2p']}"

    def log_path(self, kind: str) -> Path:
        return self.dir / "logs" / f"{kind}.log"

    def pid_path(self, kind: str) -> Path:
        return self.dir / f"{kind}.pid"

    def log_text(self, kind: str, tail: int = 0) -> str:
        try:
            text = self.log_path(kind).read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text[-tail:] if tail else text


def _port_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers bind: connections of a killed process in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def parse_accounts(specs: Iterable[str]) -> list[tuple[str, Coins]]:
    """`ADDRESS=COINS` (e.g. sultan1...=1000000usultan,5stake) → [(address, Coins)]."""
    out = []
    for spec in specs:
        address, sep, coins = spec.partition("=")
        if not sep or not address.strip() or not coins.strip():
            raise TestnetError(f"--account {spec!r}: expected ADDRESS=COINS")
        try:
            out.append((address.strip(), Coins.parse(coins.strip())))
        except Exception as exc:
            raise TestnetError(f"--account {spec!r}: {exc}") from None
    return out


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _pid_alive(pid: int, marker: str) -> bool:
    """The process exists, is not a zombie, and its command line mentions `marker`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    return state not in ("Z", "X") and marker in cmdline


class Testnet:
    """An initialised testnet directory: start, stop, kill and inspect its processes."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        path = self.root / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise TestnetError(
                f"{self.root} is not a testnet directory (no {MANIFEST}): run `sultan testnet init`"
            ) from None
        self.chain_id: str = manifest["chain_id"]
        self.cometbft = Path(manifest["cometbft"])
        self.nodes = [
            TestnetNode(
                index=n["index"],
                name=n["name"],
                dir=self.root / n["dir"],
                ports=dict(n["ports"]),
                node_id=n["node_id"],
                validator_address=n["validator_address"],
                host=n.get("host", HOST),
                operator_address=n.get("operator_address", ""),
            )
            for n in manifest["nodes"]
        ]
        self._procs: dict[tuple[int, str], subprocess.Popen[bytes]] = {}
        # Per node index: argv prepended when spawning its processes, e.g.
        # ("ip", "netns", "exec", NS). The prefix must exec the command (so the pid is
        # the real process); ports are then not checked here (another namespace).
        self.spawn_prefix: dict[int, tuple[str, ...]] = {}

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        root: str | os.PathLike[str],
        *,
        validators: int,
        cometbft: str | os.PathLike[str],
        chain_id: str = "sultan-testnet-1",
        starting_port: int = DEFAULT_STARTING_PORT,
        modules: Sequence[str] = ("auth", "bank"),
        accounts: Sequence[tuple[str, Coins]] = (),
        power: int = 10,
        node_config: NodeConfig | None = None,
        app_config: AppConfig | None = None,
        minimum_gas_prices: str | None = None,
        overwrite: bool = False,
        hosts: Sequence[str] | None = None,
        powers: Sequence[int] | None = None,
        app_state_overrides: Mapping[str, Any] | None = None,
    ) -> Testnet:
        """Write the homes of `validators` nodes and their shared genesis (see the module
        doc). `powers` gives each validator its own power (default: `power` for all);
        `app_state_overrides` ({module: {...}}) is laid over the modules' default genesis.
        If an enabled module provides `sultan genesis gentx` (staking), the genesis is a
        proof-of-stake one: each node's operator self-bonds `power * 10^6` in a gentx."""
        root = Path(root).absolute()
        validate_chain_id(chain_id)
        if validators < 1:
            raise TestnetError("--validators must be at least 1")
        if hosts is not None:
            _check_hosts(hosts, validators)
        powers = [power] * validators if powers is None else list(powers)
        if len(powers) != validators or any(p < 1 for p in powers):
            raise TestnetError(
                f"powers: expected {validators} positive integers, one per validator"
            )
        last_port = starting_port + PORTS_PER_NODE * validators - 1
        if starting_port < 1024 or last_port > 65535:
            raise TestnetError(
                f"ports {starting_port}..{last_port} do not fit 1024..65535 "
                f"({PORTS_PER_NODE} per validator)"
            )
        if (root / MANIFEST).exists() or any(root.glob("node*")):
            if not overwrite:
                raise TestnetError(f"{root} already holds a testnet: use --overwrite to replace it")
            existing = Testnet(root) if (root / MANIFEST).exists() else None
            if existing is not None and existing.running():
                raise TestnetError(f"{root}: stop the running testnet first")
            for child in root.glob("node*"):
                shutil.rmtree(child)
            (root / MANIFEST).unlink(missing_ok=True)
            shutil.rmtree(root / GENTX_DIR, ignore_errors=True)
        if accounts and "bank" not in modules:
            raise TestnetError("funded accounts (--account) need the bank module")
        # Refused before anything is written: bad overrides, a gentx module without its tools.
        overridden = _overridden_sections(app_state_overrides or {}, modules)
        commands = genesis_commands(modules)
        if "gentx" in commands:
            _check_gentx_commands(commands)
        base = node_config or NodeConfig()
        root.mkdir(parents=True, exist_ok=True)
        plugins_text = "modules = [" + ", ".join(json.dumps(m) for m in modules) + "]\n"

        # 1. CometBFT homes (keys) and Sultan homes.
        nodes: list[dict[str, Any]] = []
        keys = []
        for i in range(validators):
            entry, pv = _cometbft_init(cometbft, root, i, starting_port + PORTS_PER_NODE * i)
            if hosts is not None:
                entry["host"] = hosts[i]  # only then: default manifests stay as they were
            nodes.append(entry)
            keys.append(pv)

        # 2. One genesis for everyone.
        from sultan.kernel.modules import default_app_state

        plugins_file = root / ".plugins.toml"
        plugins_file.write_text(plugins_text)
        try:
            app_state = default_app_state(str(plugins_file))
        finally:
            plugins_file.unlink()
        app_state.update(overridden)
        if accounts:
            bank = app_state["bank"]
            balances = {b["address"]: Coins.from_dicts(b["coins"]) for b in bank["balances"]}
            for address, coins in accounts:
                balances[address] = balances.get(address, Coins()) + coins
            bank["balances"] = [
                {"address": a, "coins": c.to_dicts()} for a, c in sorted(balances.items())
            ]
        genesis = GenesisDoc(
            genesis_time_ns=now_ns(),
            chain_id=chain_id,
            validators=tuple(
                GenesisValidator.from_pub_key(pv.pub_key, powers[i], nodes[i]["name"])
                for i, pv in enumerate(keys)
            ),
            app_state=app_state,
        )

        # 3. Per-node configs.
        for n in nodes:
            host = n.get("host", HOST)
            peers = [
                f"{m['node_id']}@{m.get('host', HOST)}:{m['ports']['p2p']}"
                for m in nodes
                if m is not n
            ]
            sultan_cfg = _sultan_config(
                base, n["name"], n["ports"], peers, minimum_gas_prices, app_config, host
            )
            _write_node_homes(
                root / n["dir"], sultan_cfg, n["ports"], peers, genesis, plugins_text, host
            )
        if "gentx" in commands:
            _proof_of_stake_genesis(root, nodes, powers, commands)
        manifest = {
            "chain_id": chain_id,
            "cometbft": str(Path(cometbft).absolute()),
            "genesis_time": genesis.genesis_time,
            "nodes": nodes,
        }
        (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return cls(root)

    def add_node(
        self,
        *,
        starting_port: int | None = None,
        node_config: NodeConfig | None = None,
        app_config: AppConfig | None = None,
        state_sync: bool = False,
        minimum_gas_prices: str | None = None,
    ) -> TestnetNode:
        """Add a full node (not a validator) that peers with every existing node.

        It gets the network's genesis, its own CometBFT and Sultan homes and the next port
        block (or `starting_port`). It becomes a validator only if a MsgCreateValidator with
        its consensus key (`<node>/cometbft/config/priv_validator_key.json`) is bonded. With
        `state_sync`, its CometBFT restores the newest snapshot the Sultan apps serve instead
        of replaying from genesis; the trusted height and hash are read from node 0's RPC,
        so the network must be running."""
        index = len(self.nodes)
        if starting_port is None:
            starting_port = self.nodes[0].ports["p2p"] + PORTS_PER_NODE * index
        node0 = self.nodes[0]
        genesis = load_genesis(node0.cometbft_home / "config" / "genesis.json")
        plugins_text = (node0.sultan_home / "config" / "plugins.toml").read_text()
        base = node_config or load_config_toml(node0.sultan_home / "config" / "config.toml")[0]
        if state_sync:
            base = attrs.evolve(base, statesync=self._trusted_statesync(base))
        entry, _pv = _cometbft_init(self.cometbft, self.root, index, starting_port)
        for port in entry["ports"].values():
            if not _port_free(port):
                shutil.rmtree(self.root / entry["dir"])
                raise TestnetError(f"port {port} is in use: pass another starting port")
        peers = [n.p2p_address for n in self.nodes]
        sultan_cfg = _sultan_config(
            base, entry["name"], entry["ports"], peers, minimum_gas_prices, app_config
        )
        _write_node_homes(
            self.root / entry["dir"], sultan_cfg, entry["ports"], peers, genesis, plugins_text
        )
        # So that `sultan tx staking create-validator --home <node>/sultan` bonds the key
        # this node's CometBFT signs with.
        _adopt_cometbft_keys(self.root / entry["dir"])
        manifest = json.loads((self.root / MANIFEST).read_text())
        manifest["nodes"].append(entry)
        write_file_atomic(self.root / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        node = TestnetNode(
            index=index,
            name=entry["name"],
            dir=self.root / entry["dir"],
            ports=dict(entry["ports"]),
            node_id=entry["node_id"],
            validator_address=entry["validator_address"],
        )
        self.nodes.append(node)
        return node

    def _trusted_statesync(self, base: NodeConfig) -> StateSyncSection:
        """State-sync settings trusting node 0's latest block (light-client checked against
        two validators' RPC, as CometBFT requires)."""
        servers = [n for n in self.nodes if self.pid(n, "cometbft") is not None][:2]
        if len(servers) < 2:
            raise TestnetError("state sync needs at least two running nodes to serve it")
        status = self.rpc(servers[0].index, "status")["sync_info"]
        return attrs.evolve(
            base.statesync,
            enable=True,
            rpc_servers=",".join(n.rpc_url for n in servers),
            trust_height=int(status["latest_block_height"]),
            trust_hash=status["latest_block_hash"],
        )

    # -- processes ------------------------------------------------------------------------

    def node(self, index: int) -> TestnetNode:
        try:
            return self.nodes[index]
        except IndexError:
            raise TestnetError(f"no node {index} (this testnet has {len(self.nodes)})") from None

    def _select(self, indexes: Iterable[int] | None) -> list[TestnetNode]:
        return self.nodes if indexes is None else [self.node(i) for i in indexes]

    def _marker(self, node: TestnetNode, kind: str) -> str:
        return str(node.sultan_home if kind == "sultan" else node.cometbft_home)

    def pid(self, node: TestnetNode, kind: str) -> int | None:
        """The pid of a running `kind` process of `node`, or None."""
        proc = self._procs.get((node.index, kind))
        if proc is not None:
            if proc.poll() is None:
                return proc.pid  # started here (its /proc cmdline may not show the exec yet)
            self._procs.pop((node.index, kind))
        pid = _read_pid(node.pid_path(kind))
        if pid is None or not _pid_alive(pid, self._marker(node, kind)):
            return None
        return pid

    def running(self) -> bool:
        return any(self.pid(n, k) is not None for n in self.nodes for k in KINDS)

    def _spawn(self, node: TestnetNode, kind: str, args: list[str], env: Mapping[str, str]) -> int:
        node.log_path(kind).parent.mkdir(parents=True, exist_ok=True)
        with open(node.log_path(kind), "ab") as log:
            log.write(
                f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {kind} ====\n".encode()
            )
            log.flush()
            proc = subprocess.Popen(
                [*self.spawn_prefix.get(node.index, ()), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
                start_new_session=True,  # survives the CLI that started it; no shared signals
            )
        self._procs[(node.index, kind)] = proc
        node.pid_path(kind).write_text(f"{proc.pid}\n")
        return proc.pid

    def start_app(
        self,
        index: int,
        *,
        python_args: Sequence[str] = ("-m", "sultan.cli.main"),
        env: Mapping[str, str] | None = None,
        wait: bool = True,
        timeout: float = 120.0,
    ) -> int:
        """Start node `index`'s Sultan application (`sultan run` in socket mode)."""
        node = self.node(index)
        if self.pid(node, "sultan") is not None:
            raise TestnetError(f"{node.name}: the Sultan application is already running")
        for key in ("abci", "rest", "grpc") if node.index not in self.spawn_prefix else ():
            if not _port_free(node.ports[key], node.host):
                raise TestnetError(f"{node.name}: port {node.ports[key]} ({key}) is in use")
        args = [sys.executable, *python_args, "run", "--home", str(node.sultan_home)]
        pid = self._spawn(node, "sultan", args, env or {})
        if wait:
            self.wait_for_app(index, timeout)
        return pid

    def start_cometbft(self, index: int, *, wait: bool = True, timeout: float = 120.0) -> int:
        node = self.node(index)
        if self.pid(node, "cometbft") is not None:
            raise TestnetError(f"{node.name}: CometBFT is already running")
        for key in ("p2p", "rpc") if node.index not in self.spawn_prefix else ():
            if not _port_free(node.ports[key], node.host):
                raise TestnetError(f"{node.name}: port {node.ports[key]} ({key}) is in use")
        args = [str(self.cometbft), "start", "--home", str(node.cometbft_home)]
        pid = self._spawn(node, "cometbft", args, {})
        if wait:
            self.wait_for_rpc(index, timeout)
        return pid

    def start(
        self, indexes: Iterable[int] | None = None, *, timeout: float = 120.0
    ) -> list[TestnetNode]:
        """Start the Sultan apps, then the CometBFT nodes, and wait until all answer."""
        chosen = self._select(indexes)
        for node in chosen:
            if self.pid(node, "sultan") is None:
                self.start_app(node.index, wait=False)
        for node in chosen:
            self.wait_for_app(node.index, timeout)
        for node in chosen:
            if self.pid(node, "cometbft") is None:
                self.start_cometbft(node.index, wait=False)
        for node in chosen:
            self.wait_for_rpc(node.index, timeout)
        return chosen

    def _died(self, node: TestnetNode, kind: str) -> TestnetError:
        return TestnetError(
            f"{node.name}: {kind} exited during start-up; last log lines:\n"
            + node.log_text(kind, 3000)
        )

    def wait_for_app(self, index: int, timeout: float = 120.0) -> None:
        """Until the app accepts connections on its ABCI port (fails if it exits)."""
        node = self.node(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(node, "sultan") is None:
                raise self._died(node, "sultan")
            try:
                with socket.create_connection((node.host, node.ports["abci"]), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise TestnetError(f"{node.name}: ABCI port {node.ports['abci']} not up in {timeout}s")

    def wait_for_rpc(self, index: int, timeout: float = 120.0) -> dict[str, Any]:
        node = self.node(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(node, "cometbft") is None:
                raise self._died(node, "cometbft")
            try:
                return dict(self.rpc(index, "status", timeout=2))
            except (OSError, RuntimeError, ValueError):
                time.sleep(0.1)
        raise TestnetError(f"{node.name}: CometBFT RPC {node.rpc_url} not up in {timeout}s")

    def send_signal(self, index: int, kind: str, sig: int = signal.SIGKILL) -> bool:
        """Send `sig` to a node's process; False if it was not running."""
        node = self.node(index)
        pid = self.pid(node, kind)
        if pid is None:
            return False
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
        return True

    def wait_exit(self, index: int, kind: str, timeout: float) -> bool:
        """Wait until the process is gone; True if it exited in time."""
        node = self.node(index)
        proc = self._procs.get((index, kind))
        if proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while self.pid(node, kind) is not None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def kill(self, index: int, kinds: Sequence[str] = KINDS, sig: int = signal.SIGKILL) -> None:
        """Kill a validator's processes at once (a crash) and reap them."""
        for kind in kinds:
            if self.send_signal(index, kind, sig):
                self.wait_exit(index, kind, 30)
            self.node(index).pid_path(kind).unlink(missing_ok=True)

    def stop_process(self, index: int, kind: str, timeout: float = 20.0) -> str:
        """SIGTERM, then SIGKILL after `timeout`: "stopped", "killed" or "not running"."""
        if not self.send_signal(index, kind, signal.SIGTERM):
            self.node(index).pid_path(kind).unlink(missing_ok=True)
            return "not running"
        outcome = "stopped"
        if not self.wait_exit(index, kind, timeout):
            self.send_signal(index, kind, signal.SIGKILL)
            self.wait_exit(index, kind, 30)
            outcome = "killed"
        self.node(index).pid_path(kind).unlink(missing_ok=True)
        return outcome

    def stop(
        self, indexes: Iterable[int] | None = None, *, timeout: float = 20.0
    ) -> dict[str, dict[str, str]]:
        """Stop CometBFT first (it stops calling the app), then the app."""
        out: dict[str, dict[str, str]] = {}
        for node in self._select(indexes):
            out[node.name] = {
                "cometbft": self.stop_process(node.index, "cometbft", timeout),
                "sultan": self.stop_process(node.index, "sultan", timeout),
            }
        return out

    # -- inspection -----------------------------------------------------------------------

    def rpc(self, index: int, method: str, timeout: float = 10.0, **params: Any) -> Any:
        """Call node `index`'s CometBFT JSON-RPC; RuntimeError on a JSON-RPC error."""
        node = self.node(index)
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(
            node.rpc_url, body.encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            reply = json.loads(exc.read() or b"{}")
        if reply.get("error"):
            raise RuntimeError(f"{node.name} RPC {method}: {reply['error']}")
        return reply["result"]

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for node in self.nodes:
            row: dict[str, Any] = {
                "name": node.name,
                "sultan_pid": self.pid(node, "sultan"),
                "cometbft_pid": self.pid(node, "cometbft"),
                "rpc": node.rpc_url,
                "rest": node.rest_url,
                "grpc": node.grpc_address,
                "abci": node.abci_address,
                "p2p": node.p2p_address,
            }
            if row["cometbft_pid"] is not None:
                try:
                    sync = self.rpc(node.index, "status", timeout=3)["sync_info"]
                    peers = self.rpc(node.index, "net_info", timeout=3)["n_peers"]
                    row.update(
                        height=int(sync["latest_block_height"]),
                        app_hash=sync["latest_app_hash"],
                        catching_up=sync["catching_up"],
                        peers=int(peers),
                    )
                except (OSError, RuntimeError, ValueError, KeyError) as exc:
                    row["error"] = str(exc)
            rows.append(row)
        return rows


def _check_hosts(hosts: Sequence[str], validators: int) -> None:
    """One distinct IPv4 address per validator (URLs and peer strings are built as
    host:port, so IPv6 is not accepted)."""
    if isinstance(hosts, str) or len(hosts) != validators:
        raise TestnetError(f"hosts: expected {validators} addresses, one per validator")
    for host in hosts:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise TestnetError(f"hosts: {host!r} is not an IPv4 address") from None
    if len(set(hosts)) != len(hosts):
        raise TestnetError("hosts: every validator needs its own address")


def _cometbft_init(
    cometbft: str | os.PathLike[str], root: Path, index: int, first_port: int
) -> tuple[dict[str, Any], Any]:
    """`cometbft init` node `index`'s CometBFT home; its manifest entry and validator key."""
    name = f"node{index}"
    node_dir = root / name
    (node_dir / "logs").mkdir(parents=True, exist_ok=True)
    cmt_home = node_dir / "cometbft"
    result = subprocess.run(
        [str(cometbft), "init", "--home", str(cmt_home)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise TestnetError(f"`cometbft init` failed for {name}:\n{result.stderr[-2000:]}")
    pv = load_priv_validator_key(cmt_home / "config" / "priv_validator_key.json")
    node_key = load_node_key(cmt_home / "config" / "node_key.json")
    entry = {
        "index": index,
        "name": name,
        "dir": name,
        "ports": {k: first_port + off for k, off in PORT_OFFSETS.items()},
        "node_id": node_key.node_id,
        "validator_address": pv.address_hex,
    }
    return entry, pv


def _write_node_homes(
    node_dir: Path,
    sultan_cfg: Config,
    ports: Mapping[str, int],
    peers: Sequence[str],
    genesis: GenesisDoc,
    plugins_text: str,
    host: str = HOST,
) -> None:
    """The Sultan home (configs, genesis) and CometBFT's config.toml and genesis of a node."""
    name = sultan_cfg.node.moniker
    init_home(
        node_dir / "sultan",
        chain_id=genesis.chain_id,
        moniker=name,
        app_state=genesis.app_state,
        plugins_toml_text=plugins_text,
        overwrite=True,
    )
    home_config = node_dir / "sultan" / "config"
    (home_config / "config.toml").write_text(render_config_toml(sultan_cfg))
    (home_config / "app.toml").write_text(render_app_toml(sultan_cfg))
    write_genesis(home_config / "genesis.json", genesis)
    cmt_config = node_dir / "cometbft" / "config"
    write_genesis(cmt_config / "genesis.json", genesis)
    toml_path = cmt_config / "config.toml"
    toml_path.write_text(
        set_toml_values(
            toml_path.read_text(),
            cometbft_config_values(
                sultan_cfg.node, ports=ports, peers=peers, moniker=name, host=host
            ),
            str(toml_path),
        )
    )


def _sultan_config(
    base: NodeConfig,
    name: str,
    ports: Mapping[str, int],
    peers: Sequence[str],
    minimum_gas_prices: str | None,
    app_config: AppConfig | None = None,
    host: str = HOST,
) -> Config:
    node = attrs.evolve(
        base,
        moniker=name,
        proxy_app=f"tcp://{host}:{ports['abci']}",
        consensus_engine="cometbft",
        cometbft_rpc="",
        rpc=attrs.evolve(base.rpc, laddr=f"tcp://{host}:{ports['rpc']}"),
        p2p=attrs.evolve(
            base.p2p, laddr=f"tcp://{host}:{ports['p2p']}", persistent_peers=",".join(peers)
        ),
        instrumentation=attrs.evolve(
            base.instrumentation, prometheus_listen_addr=f"{host}:{ports['metrics']}"
        ),
    )
    app = app_config or Config().app
    app = attrs.evolve(
        app,
        api=attrs.evolve(app.api, address=f"tcp://{host}:{ports['rest']}"),
        grpc=attrs.evolve(app.grpc, address=f"{host}:{ports['grpc']}"),
    )
    if minimum_gas_prices is not None:
        app = attrs.evolve(app, minimum_gas_prices=minimum_gas_prices)
    return Config(node=node, app=app)


# -- proof-of-stake genesis (an enabled module provides `sultan genesis gentx`) -----------------

OPERATOR_KEY = "validator"  # the operator key's name in a node's test keyring, as `sultan init`
OPERATOR_SPARE = 1_000_000_000  # bond-denom units an operator gets beyond its self-bond (fees)
POWER_REDUCTION = 10**6  # Cosmos DefaultPowerReduction: consensus power = bonded tokens / 10^6
DEFAULT_BOND_DENOM = "usultan"
GENTX_DIR = "gentxs"
KEY_SEED = "key_seed.json"


def genesis_commands(modules: Sequence[str]) -> dict[str, tuple[str, Any]]:
    """The `sultan genesis …` commands the enabled `modules` register: name → (module, command).

    Read from each module's `sultan_cli_commands` hook, as the CLI does: a testnet then runs
    the operators' own commands, and neither the kernel nor this file names a module."""
    from sultan.kernel.modules import installed_modules

    installed = installed_modules()
    found: dict[str, tuple[str, Any]] = {}
    for name in modules:
        if name not in installed:
            continue  # default_app_state has already refused it
        hook = getattr(installed[name][0].load(), "sultan_cli_commands", None)
        if hook is None:
            continue

        def register(group: str, command: Any, module: str = name) -> None:
            if group == "genesis" and command.name:
                found.setdefault(command.name, (module, command))

        hook(register=register)
    return found


def _run_genesis_command(command: Any, args: Sequence[str]) -> str:
    """Run a registered `sultan genesis` command in-process; its output, or TestnetError."""
    import contextlib
    import io

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            command.main(
                args=list(args), prog_name=f"sultan genesis {command.name}", standalone_mode=False
            )
    except Exception as exc:  # the command's own message is what the operator needs to see
        raise TestnetError(
            f"`sultan genesis {command.name} {' '.join(args)}` failed: {exc}\n{out.getvalue()}"
        ) from exc
    return out.getvalue()


def _adopt_cometbft_keys(node_dir: Path) -> None:
    """Give the Sultan home the keys of the node's CometBFT: `init_home` made keys of its own,
    but CometBFT is what signs, so a gentx or `sultan tx staking create-validator` run in
    the Sultan home must bond CometBFT's consensus key (and name its node id)."""
    for name in ("priv_validator_key.json", "node_key.json"):
        data = (node_dir / "cometbft" / "config" / name).read_bytes()
        write_file_atomic(node_dir / "sultan" / "config" / name, data, mode=0o600)


def _check_gentx_commands(commands: Mapping[str, tuple[str, Any]]) -> None:
    module = commands["gentx"][0]
    if "collect-gentxs" not in commands:
        raise TestnetError(f"module {module!r} provides `gentx` but not `collect-gentxs`")
    if "add-account" not in commands:
        raise TestnetError(
            f"module {module!r} makes validators from gentxs, whose operators must be funded "
            "in genesis: enable a module that provides `sultan genesis add-account` (bank)"
        )


def _proof_of_stake_genesis(
    root: Path,
    nodes: list[dict[str, Any]],
    powers: Sequence[int],
    commands: Mapping[str, tuple[str, Any]],
) -> None:
    """Make every node a validator the way operators do on a proof-of-stake chain: an
    operator key in the node's test keyring, funded in the shared genesis (node 0's Sultan
    home collects it), a gentx bonding `power * 10^6` for the node's CometBFT consensus key,
    all gentxs collected (which also sets genesis `validators`); then every home gets that
    genesis. Records each operator address in the node's manifest entry."""
    from sultan.client.keyring import Keyring

    module = commands["gentx"][0]
    coordinator = root / nodes[0]["dir"] / "sultan"
    doc = load_genesis(coordinator / "config" / "genesis.json")
    section = doc.app_state.get(module)
    params = section.get("params") if isinstance(section, dict) else None
    denom = (params or {}).get("bond_denom") or DEFAULT_BOND_DENOM
    gentx_dir = root / GENTX_DIR
    gentx_dir.mkdir()
    for n, power in zip(nodes, powers, strict=True):
        home = root / n["dir"] / "sultan"
        _adopt_cometbft_keys(root / n["dir"])
        info, mnemonic = Keyring(home, "test").add(OPERATOR_KEY)
        seed = {"name": OPERATOR_KEY, "address": info.address, "mnemonic": mnemonic}
        write_file_atomic(home / KEY_SEED, (json.dumps(seed, indent=2) + "\n").encode())
        self_bond = power * POWER_REDUCTION
        _run_genesis_command(
            commands["add-account"][1],
            [info.address, f"{self_bond + OPERATOR_SPARE}{denom}", "--home", str(coordinator)],
        )
        home_args = ["--home", str(home), "--keyring-backend", "test"]
        _run_genesis_command(
            commands["gentx"][1],
            [OPERATOR_KEY, f"{self_bond}{denom}", "--moniker", n["name"], *home_args],
        )
        for path in sorted((home / "config" / "gentx").glob("*.json")):
            shutil.copyfile(path, gentx_dir / path.name)
        n["operator_address"] = info.address
    _run_genesis_command(
        commands["collect-gentxs"][1], ["--gentx-dir", str(gentx_dir), "--home", str(coordinator)]
    )
    genesis = load_genesis(coordinator / "config" / "genesis.json")
    expected = {(n["validator_address"], p) for n, p in zip(nodes, powers, strict=True)}
    got = {(v.address_hex, v.power) for v in genesis.validators}
    if got != expected:
        raise TestnetError(
            f"collect-gentxs made the validator set {sorted(got)}, expected {sorted(expected)}"
        )
    for n in nodes:
        for kind in KINDS:
            write_genesis(root / n["dir"] / kind / "config" / "genesis.json", genesis)


def _merge(base: Any, patch: Any) -> Any:
    """`patch` laid over `base`: objects merge key by key, anything else replaces."""
    if not isinstance(base, dict) or not isinstance(patch, Mapping):
        return patch
    out = dict(base)
    for key, value in patch.items():
        out[key] = _merge(out.get(key), value)
    return out


def _overridden_sections(overrides: Mapping[str, Any], modules: Sequence[str]) -> dict[str, Any]:
    """{module: its default genesis with `overrides[module]` laid over it}, each checked by
    the module's `validate_genesis`, so a bad value is refused now rather than at InitChain."""
    if not overrides:
        return {}
    from sultan.kernel.errors import SdkError
    from sultan.kernel.modules import load_modules

    by_name = {m.name: m for m in load_modules(list(modules)).modules}
    out: dict[str, Any] = {}
    for name, patch in overrides.items():
        module = by_name.get(name)
        if module is None or not isinstance(patch, Mapping):
            raise TestnetError(
                f"app_state override {name!r}: give an object for one of the enabled modules "
                f"({', '.join(modules)})"
            )
        section = _merge(module.default_genesis() if module.default_genesis else {}, patch)
        if module.validate_genesis is not None:
            try:
                module.validate_genesis(section)
            except (ValueError, SdkError) as exc:
                raise TestnetError(f"app_state override {name!r}: {exc}") from None
        out[name] = section
    return out


def parse_app_state_sets(specs: Iterable[str]) -> dict[str, Any]:
    """`MODULE.KEY[.KEY…]=VALUE` (VALUE as JSON, else as a string) → nested overrides, e.g.
    staking.params.max_validators=4 → {"staking": {"params": {"max_validators": 4}}}."""
    out: dict[str, Any] = {}
    for spec in specs:
        path, sep, text = spec.partition("=")
        keys = path.strip().split(".")
        if not sep or len(keys) < 2 or not all(k.strip() for k in keys):
            raise TestnetError(f"--genesis-set {spec!r}: expected MODULE.KEY=VALUE")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        target = out
        for key in keys[:-1]:
            nxt = target.setdefault(key.strip(), {})
            if not isinstance(nxt, dict):
                raise TestnetError(f"--genesis-set {spec!r}: {key} is set to a value already")
            target = nxt
        target[keys[-1].strip()] = value
    return out


def load_node_config_template(path: str | os.PathLike[str]) -> NodeConfig:
    """A Sultan config.toml whose [consensus]/[mempool]/[rpc]/[p2p] tuning every validator
    gets (addresses, moniker and peers are set per node)."""
    cfg, _warnings = load_config_toml(path)
    return cfg


__all__ = [
    "DEFAULT_STARTING_PORT",
    "PORTS_PER_NODE",
    "Testnet",
    "TestnetError",
    "TestnetNode",
    "cometbft_config_values",
    "parse_accounts",
    "set_toml_values",
]
