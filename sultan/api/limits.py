"""Per-client rate limiting (token bucket) and TLS settings shared by the API servers.

`TokenBucketLimiter(rate, burst)`: each client key (the client's IP address) gets a bucket
of `burst` tokens refilled at `rate` tokens per second; a request takes one token or is
refused with the number of seconds after which one will be available (the `Retry-After`
the servers send). Buckets of idle clients are forgotten, so memory stays bounded however
many addresses call. Thread-safe: the gRPC server calls it from its worker threads.
"""

from __future__ import annotations

import math
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

MAX_TRACKED_CLIENTS = 65536


class TokenBucketLimiter:
    def __init__(
        self,
        rate: int,
        burst: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self.burst = burst if burst > 0 else rate
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, t)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> tuple[bool, int]:
        """(allowed, retry_after_seconds); retry_after is 0 when allowed."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)  # the least recently seen client
        if allowed:
            return True, 0
        return False, max(1, math.ceil((1.0 - tokens) / self.rate))


def make_limiter(rate: int, burst: int) -> TokenBucketLimiter | None:
    """A limiter for a server's `rate-limit-*` settings, or None when limiting is off."""
    return TokenBucketLimiter(rate, burst) if rate > 0 else None


def client_ip_from_grpc_peer(peer: str) -> str:
    """ "ipv4:127.0.0.1:5555" / "ipv6:[::1]:5555" / "unix:..." → the address part."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    if kind == "ipv6":
        host = rest.rpartition(":")[0]
        return host.strip("[]") or rest
    return peer


def resolve_path(path: str, config_dir: Path) -> Path:
    """A TLS file path from config: absolute, or relative to the home's config/ directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else config_dir / p


def read_tls_pair(
    cert_file: str, key_file: str, config_dir: Path, what: str
) -> tuple[bytes, bytes]:
    """The PEM bytes of a configured (cert, key) pair; ConfigError naming the key if unreadable."""
    from sultan.kernel.config import ConfigError

    out = []
    for key, value in (("tls-cert-file", cert_file), ("tls-key-file", key_file)):
        path = resolve_path(value, config_dir)
        try:
            out.append(path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"{what} {key} {path}: {exc.strerror or exc}") from None
    return out[0], out[1]


def server_ssl_context(
    cert_file: str, key_file: str, config_dir: Path, what: str
) -> ssl.SSLContext:
    """A TLS server context (TLS 1.2+) for an HTTP server; ConfigError if the pair is bad."""
    from sultan.kernel.config import ConfigError

    read_tls_pair(cert_file, key_file, config_dir, what)  # clear errors for missing files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(
            resolve_path(cert_file, config_dir), resolve_path(key_file, config_dir)
        )
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"{what}: invalid TLS certificate or key: {exc}") from None
    return context
