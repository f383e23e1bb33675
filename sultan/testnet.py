"""Local multi-validator networks: one CometBFT node + one Sultan application per validator.

`sultan testnet init|start|stop|status` (sultan/cli/testnet_cmd.py) is a thin shell over
this module; the CometBFT tests drive the same `Testnet` object, so what they prove is what
operators run. Layout of an output directory D:

    D/testnet.json                 what start/stop/status need (ports, ids, paths)
    D/node<i>/sultan/              the Sultan home (config.toml: consensus_engine = "cometbft")
    D/node<i>/cometbft/            the CometBFT home (`cometbft init`, then rewritten)
    D/node<i>/logs/{sultan,cometbft}.log
    D/node<i>/{sultan,cometbft}.pid

Ports of node i are `starting_port + 10*i + k`: k = 0 P2P, 1 RPC (CometBFT's), 2 ABCI,
3 REST, 4 gRPC, 5 Sultan metrics, 6 CometBFT metrics; everything listens on 127.0.0.1.

Every validator's genesis is the same file: all validators with their power, `app_state`
from the enabled modules' defaults plus any funded accounts. CometBFT's config.toml gets
its consensus and mempool tuning (timeout_propose, timeout_commit, mempool size,
cache_size, max_tx_bytes, max_txs_bytes, …) from the Sultan config, so the two never
disagree. Processes are started Sultan-first (CometBFT connects to its ABCI port at once)
and stopped CometBFT-first, with SIGTERM and, after a timeout, SIGKILL.
"""

from __future__ import annotations

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
    Config,
    NodeConfig,
    load_config_toml,
    render_app_toml,
    render_config_toml,
)
from sultan.kernel.crypto.keys import load_node_key, load_priv_validator_key
from sultan.kernel.genesis import GenesisDoc, GenesisValidator, validate_chain_id, write_genesis
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
    cfg: NodeConfig, *, ports: Mapping[str, int], peers: Sequence[str], moniker: str
) -> dict[tuple[str, str], Any]:
    """CometBFT config.toml values for one validator, taken from its Sultan config."""
    cons, mp, rpc = cfg.consensus, cfg.mempool, cfg.rpc
    return {
        ("", "moniker"): moniker,
        ("", "proxy_app"): f"tcp://{HOST}:{ports['abci']}",
        ("", "abci"): "socket",
        ("rpc", "laddr"): f"tcp://{HOST}:{ports['rpc']}",
        ("rpc", "pprof_laddr"): "",
        ("rpc", "grpc_laddr"): "",
        ("rpc", "max_body_bytes"): rpc.max_body_bytes,
        ("rpc", "max_header_bytes"): rpc.max_header_bytes,
        ("rpc", "max_open_connections"): rpc.max_open_connections,
        ("rpc", "timeout_broadcast_tx_commit"): format_duration_ms(
            rpc.timeout_broadcast_tx_commit_ms
        ),
        ("p2p", "laddr"): f"tcp://{HOST}:{ports['p2p']}",
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
        ("instrumentation", "prometheus_listen_addr"): f"{HOST}:{ports['cmt_metrics']}",
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

    @property
    def sultan_home(self) -> Path:
        return self.dir / "sultan"

    @property
    def cometbft_home(self) -> Path:
        return self.dir / "cometbft"

    @property
    def rpc_url(self) -> str:
        return f"http://{HOST}:{self.ports['rpc']}"

    @property
    def rest_url(self) -> str:
        return f"http://{HOST}:{self.ports['rest']}"

    @property
    def grpc_address(self) -> str:
        return f"{HOST}:{self.ports['grpc']}"

    @property
    def abci_address(self) -> str:
        return f"tcp://{HOST}:{self.ports['abci']}"

    @property
    def p2p_address(self) -> str:
        return f"{self.node_id}@{HOST}:{self.ports['p2p']}"

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


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers bind: connections of a killed process in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
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
            )
            for n in manifest["nodes"]
        ]
        self._procs: dict[tuple[int, str], subprocess.Popen[bytes]] = {}

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
        minimum_gas_prices: str | None = None,
        overwrite: bool = False,
    ) -> Testnet:
        root = Path(root).absolute()
        validate_chain_id(chain_id)
        if validators < 1:
            raise TestnetError("--validators must be at least 1")
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
        if accounts and "bank" not in modules:
            raise TestnetError("funded accounts (--account) need the bank module")
        base = node_config or NodeConfig()
        root.mkdir(parents=True, exist_ok=True)
        plugins_text = "modules = [" + ", ".join(json.dumps(m) for m in modules) + "]\n"

        # 1. CometBFT homes (keys) and Sultan homes.
        nodes: list[dict[str, Any]] = []
        keys = []
        for i in range(validators):
            name = f"node{i}"
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
            keys.append(pv)
            ports = {k: starting_port + PORTS_PER_NODE * i + off for k, off in PORT_OFFSETS.items()}
            nodes.append(
                {
                    "index": i,
                    "name": name,
                    "dir": name,
                    "ports": ports,
                    "node_id": node_key.node_id,
                    "validator_address": pv.address_hex,
                }
            )

        # 2. One genesis for everyone.
        from sultan.kernel.modules import default_app_state

        plugins_file = root / ".plugins.toml"
        plugins_file.write_text(plugins_text)
        try:
            app_state = default_app_state(str(plugins_file))
        finally:
            plugins_file.unlink()
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
                GenesisValidator.from_pub_key(pv.pub_key, power, nodes[i]["name"])
                for i, pv in enumerate(keys)
            ),
            app_state=app_state,
        )

        # 3. Per-node configs.
        for n in nodes:
            node_dir, ports = root / n["dir"], n["ports"]
            peers = [f"{m['node_id']}@{HOST}:{m['ports']['p2p']}" for m in nodes if m is not n]
            sultan_cfg = _sultan_config(base, n["name"], ports, peers, minimum_gas_prices)
            init_home(
                node_dir / "sultan",
                chain_id=chain_id,
                moniker=n["name"],
                app_state=app_state,
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
                        sultan_cfg.node, ports=ports, peers=peers, moniker=n["name"]
                    ),
                    str(toml_path),
                )
            )
        manifest = {
            "chain_id": chain_id,
            "cometbft": str(Path(cometbft).absolute()),
            "genesis_time": genesis.genesis_time,
            "nodes": nodes,
        }
        (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return cls(root)

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
                args,
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
        for key in ("abci", "rest", "grpc"):
            if not _port_free(node.ports[key]):
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
        for key in ("p2p", "rpc"):
            if not _port_free(node.ports[key]):
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
                with socket.create_connection((HOST, node.ports["abci"]), timeout=1):
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


def _sultan_config(
    base: NodeConfig,
    name: str,
    ports: Mapping[str, int],
    peers: Sequence[str],
    minimum_gas_prices: str | None,
) -> Config:
    node = attrs.evolve(
        base,
        moniker=name,
        proxy_app=f"tcp://{HOST}:{ports['abci']}",
        consensus_engine="cometbft",
        cometbft_rpc="",
        rpc=attrs.evolve(base.rpc, laddr=f"tcp://{HOST}:{ports['rpc']}"),
        p2p=attrs.evolve(
            base.p2p, laddr=f"tcp://{HOST}:{ports['p2p']}", persistent_peers=",".join(peers)
        ),
        instrumentation=attrs.evolve(
            base.instrumentation, prometheus_listen_addr=f"{HOST}:{ports['metrics']}"
        ),
    )
    app = Config().app
    app = attrs.evolve(
        app,
        api=attrs.evolve(app.api, address=f"tcp://{HOST}:{ports['rest']}"),
        grpc=attrs.evolve(app.grpc, address=f"{HOST}:{ports['grpc']}"),
    )
    if minimum_gas_prices is not None:
        app = attrs.evolve(app, minimum_gas_prices=minimum_gas_prices)
    return Config(node=node, app=app)


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
