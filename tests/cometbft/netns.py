"""Network namespaces for the partition tests: one namespace per node on a shared bridge.

Layout (names carry the test process's pid, so concurrent runs do not meet):

    root namespace:  bridge  sbr<pid>   10.X.Y.254/24   (the test reaches every node through it)
                     veth    sv<pid>n<i>                 (bridge port of node i)
    namespace sultan-<pid>-n<i>:  lo up, eth0  10.X.Y.(i+1)/24   (node i's every port)

A node's Sultan app and CometBFT both run in its namespace (`ip netns exec`), so their ABCI
link stays inside it while the test reaches RPC/REST/ABCI through the bridge. A partition is
a set of nftables drop rules in each namespace (input and output, matched on the other
side's addresses), so packets between the sides vanish as on a real cut link while the root
namespace (the test) still reaches every node; healing deletes the rules.

Needs root, `ip` (iproute2) and `nft` (nftables); `scripts/install-test-deps.sh` installs them.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

PARTITION_TABLE = "sultan_partition"


class NetnsError(RuntimeError):
    """A namespace command failed; the message holds the command and its error output."""


def run(args: Sequence[str], *, stdin: str | None = None, timeout: float = 60.0) -> str:
    """Run a command; NetnsError (with the command and stderr) unless it exits 0."""
    try:
        result = subprocess.run(
            list(args), input=stdin, capture_output=True, text=True, timeout=timeout
        )
    except FileNotFoundError as exc:
        raise NetnsError(f"{args[0]} not found (install iproute2/nftables): {exc}") from None
    if result.returncode != 0:
        raise NetnsError(
            f"`{' '.join(args)}` failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}"
        )
    return result.stdout


def _used_networks() -> list[ipaddress.IPv4Network]:
    """IPv4 networks of the root namespace's addresses and routes (all tables)."""
    nets = []
    for entry in json.loads(run(["ip", "-j", "-4", "addr", "show"]) or "[]"):
        for a in entry.get("addr_info", []):
            nets.append(ipaddress.IPv4Network(f"{a['local']}/{a['prefixlen']}", strict=False))
    for route in json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            try:
                nets.append(ipaddress.IPv4Network(dst, strict=False))
            except ValueError:
                continue  # e.g. "broadcast"-type entries without a plain prefix
    return nets


def pick_subnet(seed: int) -> ipaddress.IPv4Network:
    """A /24 in 10.231.0.0/16 that overlaps nothing the root namespace has."""
    used = _used_networks()
    for k in range(256):
        net = ipaddress.IPv4Network(f"10.231.{(seed + k) % 256}.0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise NetnsError("no free /24 in 10.231.0.0/16 for the test bridge")


def _links() -> set[str]:
    return {e["ifname"] for e in json.loads(run(["ip", "-j", "link", "show"]) or "[]")}


def _namespaces() -> set[str]:
    return {e["name"] for e in json.loads(run(["ip", "-j", "netns", "list"]) or "[]")}


def sweep_stale() -> list[str]:
    """Delete the namespaces, bridges and veths of earlier runs whose test process is gone
    (killed before its teardown could run); the names deleted. Processes still inside an
    orphaned namespace are left alone: without its bridge port they reach nothing."""
    removed = []
    pattern = re.compile(r"sultan-(\d+)-n\d+|sbr(\d+)|sv(\d+)n\d+")
    links = _links()
    for name in sorted(links) + sorted(_namespaces()):
        m = pattern.fullmatch(name)
        if m is None:
            continue
        pid = next(g for g in m.groups() if g is not None)
        if Path(f"/proc/{pid}").exists():
            continue  # that run may still be going (or the pid was reused: then keep it)
        try:
            if name in links:
                run(["ip", "link", "del", name])
            else:
                run(["ip", "netns", "del", name])
        except NetnsError:
            continue  # a veth already gone with its peer, or raced with another sweeper
        removed.append(name)
    return removed


class NetnsLab:
    """`count` namespaces on one bridge; create() / destroy() (idempotent) or `with`."""

    def __init__(self, count: int, *, tag: str | None = None) -> None:
        if not 1 <= count <= 200:
            raise ValueError("count must be 1..200")
        self.count = count
        self.tag = tag or str(os.getpid())
        self.bridge = f"sbr{self.tag}"
        self.namespaces = [f"sultan-{self.tag}-n{i}" for i in range(count)]
        self.host_veths = [f"sv{self.tag}n{i}" for i in range(count)]
        for name in (self.bridge, *self.host_veths):
            if len(name) > 15:  # IFNAMSIZ - 1
                raise ValueError(f"interface name {name!r} is too long: use a shorter tag")
        self.subnet: ipaddress.IPv4Network | None = None
        self.addresses: list[str] = []
        self.bridge_address = ""

    # -- set-up and tear-down ------------------------------------------------------------

    @staticmethod
    def check_tools() -> None:
        """Fail with the missing tool's name (not a confusing error half-way through)."""
        for tool in ("ip", "nft"):
            if shutil.which(tool) is None:
                raise NetnsError(f"`{tool}` not found: run scripts/install-test-deps.sh")
        if os.geteuid() != 0:
            raise NetnsError("network namespaces need root")

    def create(self) -> None:
        self.check_tools()
        sweep_stale()  # earlier runs killed before their teardown
        self.destroy()  # leftovers of a crashed earlier run with the same names
        subnet = pick_subnet(int(self.tag) if self.tag.isdigit() else 0)
        hosts = list(subnet.hosts())
        self.subnet = subnet
        self.addresses = [str(hosts[i]) for i in range(self.count)]
        self.bridge_address = str(hosts[-1])
        run(["ip", "link", "add", self.bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{self.bridge_address}/{subnet.prefixlen}", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])
        for ns, veth, address in zip(self.namespaces, self.host_veths, self.addresses, strict=True):
            peer = f"{veth}p"
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])  # own-address traffic goes via lo
            run(["ip", "link", "add", veth, "type", "veth", "peer", "name", peer])
            run(["ip", "link", "set", peer, "netns", ns])
            run(["ip", "-n", ns, "link", "set", peer, "name", "eth0"])
            run(["ip", "-n", ns, "addr", "add", f"{address}/{subnet.prefixlen}", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(["ip", "link", "set", veth, "master", self.bridge])
            run(["ip", "link", "set", veth, "up"])

    def destroy(self) -> None:
        """Delete what exists of ours (bridge ports, bridge, namespaces); errors are collected
        and raised at the end so one failure does not leave the rest behind."""
        errors = []
        links = _links()
        for name in (*self.host_veths, self.bridge):
            if name in links:
                try:
                    run(["ip", "link", "del", name])  # a veth takes its peer with it
                except NetnsError as exc:
                    errors.append(str(exc))
        existing = _namespaces()
        for ns in self.namespaces:
            if ns in existing:
                try:
                    run(["ip", "netns", "del", ns])
                except NetnsError as exc:
                    errors.append(str(exc))
        if errors:
            raise NetnsError("; ".join(errors))

    def leftovers(self) -> list[str]:
        """Our names that still exist (empty after destroy())."""
        links, namespaces = _links(), _namespaces()
        return [n for n in (self.bridge, *self.host_veths) if n in links] + [
            n for n in self.namespaces if n in namespaces
        ]

    def __enter__(self) -> NetnsLab:
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    # -- use -----------------------------------------------------------------------------

    def prefix(self, i: int) -> tuple[str, ...]:
        """argv prefix running a command in node i's namespace (`ip netns exec` execs it)."""
        return ("ip", "netns", "exec", self.namespaces[i])

    def partition(self, *groups: Sequence[int]) -> None:
        """Cut the network into `groups` plus one group of every node not named: packets
        between different groups are dropped, inside a group they flow. Replaces any
        earlier partition."""
        named = [i for g in groups for i in g]
        if len(set(named)) != len(named) or any(not 0 <= i < self.count for i in named):
            raise ValueError(f"groups must be disjoint node indexes 0..{self.count - 1}: {groups}")
        rest = [i for i in range(self.count) if i not in named]
        sides = [list(g) for g in groups if g] + ([rest] if rest else [])
        for side in sides:
            others = [self.addresses[j] for j in range(self.count) if j not in side]
            for i in side:
                self._set_rules(i, others)

    def heal(self) -> None:
        for i in range(self.count):
            self._set_rules(i, [])

    def _set_rules(self, i: int, blocked: Sequence[str]) -> None:
        # "add table" then "delete table" removes it whether or not it existed; the script
        # is applied atomically, so the old and new rules never both hold or both miss.
        script = f"add table inet {PARTITION_TABLE}\ndelete table inet {PARTITION_TABLE}\n"
        if blocked:
            addresses = ", ".join(blocked)
            script += (
                f"table inet {PARTITION_TABLE} {{\n"
                "  chain input { type filter hook input priority 0; policy accept;\n"
                f"    ip saddr {{ {addresses} }} drop\n  }}\n"
                "  chain output { type filter hook output priority 0; policy accept;\n"
                f"    ip daddr {{ {addresses} }} drop\n  }}\n"
                "}\n"
            )
        run([*self.prefix(i), "nft", "-f", "-"], stdin=script)

    def can_connect(self, src: int, address: str, port: int, timeout: float = 3.0) -> bool:
        """Whether a TCP connection from node `src`'s namespace to address:port opens."""
        result = subprocess.run(
            [
                *self.prefix(src),
                "timeout",
                str(timeout),
                "bash",
                "-c",
                f"exec 3<>/dev/tcp/{address}/{port}",
            ],
            capture_output=True,
            timeout=timeout + 60,
        )
        return result.returncode == 0
