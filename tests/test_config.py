"""config.toml / app.toml: defaults, round trips, durations, overrides and error messages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sultan.kernel.config import (
    OVERRIDES,
    Config,
    ConfigError,
    apply_overrides,
    load_app_toml,
    load_config,
    load_config_toml,
    parse_address,
    parse_gas_prices,
    render_app_toml,
    render_config_toml,
)
from sultan.kernel.timeutil import (
    format_duration_ms,
    format_duration_ns,
    parse_duration_ms,
    parse_duration_ns,
)


def write_home(tmp_path: Path, config_extra: str = "", app_extra: str = "") -> Path:
    """A home whose files are the rendered defaults plus `*_extra` text appended/replaced."""
    cfg = Config()
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(render_config_toml(cfg) + config_extra)
    (tmp_path / "config" / "app.toml").write_text(render_app_toml(cfg) + app_extra)
    return tmp_path


def write_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- defaults and round trip -----------------------------------------------------------------


def test_defaults_match_cometbft_and_cosmos_conventions() -> None:
    cfg = Config()
    n, a = cfg.node, cfg.app
    assert n.proxy_app == "tcp://127.0.0.1:26658" and n.abci == "socket"
    assert n.rpc.laddr == "tcp://127.0.0.1:26657" and n.rpc.listen == ("127.0.0.1", 26657)
    assert n.rpc.max_open_connections == 900 and n.rpc.max_body_bytes == 1000000
    assert n.rpc.max_header_bytes == 1048576 and n.rpc.timeout_broadcast_tx_commit_ms == 10_000
    assert n.p2p.laddr == "tcp://0.0.0.0:26656" and n.p2p.persistent_peers == ""
    assert (n.mempool.size, n.mempool.cache_size) == (5000, 10000)
    assert (n.mempool.max_tx_bytes, n.mempool.max_txs_bytes) == (1048576, 1073741824)
    assert n.mempool.recheck is True
    c = n.consensus
    assert (c.timeout_propose_ms, c.timeout_propose_delta_ms) == (3000, 500)
    assert (c.timeout_prevote_ms, c.timeout_precommit_ms, c.timeout_commit_ms) == (1000, 1000, 1000)
    assert c.create_empty_blocks is True and c.create_empty_blocks_interval_ms == 0
    assert n.instrumentation.prometheus_listen_addr == "127.0.0.1:26660"
    assert n.instrumentation.namespace == "sultan"
    assert n.statesync.enable is False and n.statesync.trust_period_ms == 168 * 3600 * 1000
    assert a.minimum_gas_prices == "0usultan" and a.min_gas_prices == (("usultan", 0),)
    assert a.pruning == "default" and a.pruning_options == (362880, 10)
    assert a.app_db_backend == "rocksdb" and a.halt_height == 0
    assert a.api.enable and not a.api.swagger and a.api.listen == ("127.0.0.1", 1317)
    assert a.api.max_open_connections == 1000 and a.api.rpc_max_body_bytes == 1000000
    assert a.grpc.enable and a.grpc.listen == ("127.0.0.1", 9090)
    assert (a.state_sync.snapshot_interval, a.state_sync.snapshot_keep_recent) == (0, 2)


def test_defaults_round_trip_without_warnings(tmp_path: Path) -> None:
    home = write_home(tmp_path)
    cfg, warnings = load_config(home)
    assert cfg == Config()
    assert warnings == []


def test_rendered_files_are_commented_toml_in_original_formats() -> None:
    text = render_config_toml(Config())
    data = tomllib.loads(text)
    assert data["consensus"]["timeout_commit"] == "1s"
    assert data["statesync"]["trust_period"] == "168h0m0s"
    assert data["rpc"]["cors_allowed_origins"] == []
    lines = text.splitlines()
    for section in ("rpc", "p2p", "mempool", "consensus", "instrumentation", "statesync"):
        i = lines.index(f"[{section}]")
        assert lines[i - 2].startswith("# "), section  # a comment explains every section
    app = tomllib.loads(render_app_toml(Config()))
    assert app["pruning-keep-recent"] == "0"  # Cosmos writes these as strings
    assert app["api"]["rpc-read-timeout"] == 10  # ... and these as integer seconds
    assert "[state-sync]" in render_app_toml(Config())


def test_non_default_values_round_trip(tmp_path: Path) -> None:
    cfg = apply_overrides(
        Config(),
        {
            "consensus.timeout_commit": "1m30s",
            "moniker": "val-1",
            "api.swagger": True,
            "grpc.address": "0.0.0.0:9091",
        },
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(render_config_toml(cfg))
    (tmp_path / "config" / "app.toml").write_text(render_app_toml(cfg))
    loaded, warnings = load_config(tmp_path)
    assert loaded == cfg and warnings == []
    assert loaded.node.consensus.timeout_commit_ms == 90_000


def test_partial_file_fills_defaults(tmp_path: Path) -> None:
    path = write_file(
        tmp_path, "config.toml", 'moniker = "x"\n[consensus]\ntimeout_commit = "5s"\n'
    )
    cfg, warnings = load_config_toml(path)
    assert cfg.moniker == "x" and cfg.consensus.timeout_commit_ms == 5000
    assert cfg.consensus.timeout_propose_ms == 3000 and warnings == []


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("3s", 3000),
        ("500ms", 500),
        ("1m30s", 90_000),
        ("168h0m0s", 604_800_000),
        ("1.5s", 1500),
        ("0", 0),
        ("0s", 0),
        ("2h", 7_200_000),
        ("1h1m1s1ms", 3_661_001),
        ("1000us", 1),
        (".5s", 500),
        ("+1s", 1000),
    ],
)
def test_parse_duration_ms(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "3", "3x", "abc", "1.5", "s", "1s2", "1 s", ".s", "--1s"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration_ms(text)


def test_sub_millisecond_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="whole number of milliseconds"):
        parse_duration_ms("1500us")
    assert parse_duration_ns("1500us") == 1_500_000
    assert parse_duration_ns("-1.5h") == -5_400_000_000_000


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (500, "500ms"),
        (1500, "1.5s"),
        (90_000, "1m30s"),
        (604_800_000, "168h0m0s"),
        (3_723_000, "1h2m3s"),
        (3_600_000, "1h0m0s"),
        (-2000, "-2s"),
        (1, "1ms"),
    ],
)
def test_format_duration_like_go(ms: int, text: str) -> None:
    assert format_duration_ms(ms) == text
    assert parse_duration_ms(text) == ms


def test_format_duration_ns_sub_millisecond_like_go() -> None:
    assert format_duration_ns(1_500_000) == "1.5ms"
    assert format_duration_ns(1500) == "1.5\u00b5s"
    assert format_duration_ns(1) == "1ns"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"3 seconds"', "invalid duration"),
        ("3", "expected a duration string"),
        ('"-1s"', "must be >= 0"),
    ],
)
def test_bad_duration_in_file_names_file_and_key(tmp_path: Path, value: str, message: str) -> None:
    path = write_file(tmp_path, "config.toml", f"[consensus]\ntimeout_commit = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_config_toml(path)
    assert str(path) in str(err.value)
    assert "consensus.timeout_commit" in str(err.value)
    assert message in str(err.value)


def test_secs_option_accepts_integer_seconds_or_duration(tmp_path: Path) -> None:
    path = write_file(
        tmp_path, "app.toml", '[api]\nrpc-read-timeout = "1500ms"\nrpc-write-timeout = 3\n'
    )
    cfg, _ = load_app_toml(path)
    assert cfg.api.rpc_read_timeout_ms == 1500 and cfg.api.rpc_write_timeout_ms == 3000
    rendered = tomllib.loads(render_app_toml(cfg))["api"]
    assert rendered["rpc-read-timeout"] == "1.5s" and rendered["rpc-write-timeout"] == 3


# --- file-level errors -----------------------------------------------------------------------


def test_missing_file_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config\.toml not found: run `sultan init`"):
        load_config(tmp_path)


def test_invalid_toml_names_file_and_parser_message(tmp_path: Path) -> None:
    path = write_file(tmp_path, "config.toml", "[rpc\nladdr = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config_toml(path)
    assert str(path) in str(err.value) and "invalid TOML" in str(err.value)
    assert "line 1" in str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[rpc]\nmax_body_bytes = "abc"\n', "rpc.max_body_bytes", "expected an integer"),
        ('[mempool]\nrecheck = "yes"\n', "mempool.recheck", "expected true or false"),
        ("[mempool]\nsize = 0\n", "mempool.size", "must be >= 1"),
        ("[mempool]\nsize = true\n", "mempool.size", "expected an integer"),
        ("moniker = 5\n", "moniker", "expected a string"),
        ('moniker = ""\n', "moniker", "printable ASCII"),
        ('abci = "grpc"\n', "abci", "allowed: socket"),
        ('[rpc]\nladdr = "tcp://127.0.0.1:70000"\n', "rpc.laddr", "port must be 0..65535"),
        ('[rpc]\nladdr = "unix:///tmp/s"\n', "rpc.laddr", "only tcp://"),
        ('[rpc]\ncors_allowed_origins = "*"\n', "rpc.cors_allowed_origins", "array of strings"),
        ('[p2p]\npersistent_peers = "abc@1.2.3.4:26656"\n', "p2p.persistent_peers", "node id"),
        ('[instrumentation]\nnamespace = "1bad"\n', "instrumentation.namespace", "Prometheus"),
        ('[statesync]\ntrust_hash = "xyz"\n', "statesync.trust_hash", "64 hex"),
    ],
)
def test_bad_config_values_name_file_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = write_file(tmp_path, "config.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config_toml(path)
    assert f"{path}: key '{key}'" in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('pruning = "sometimes"\n', "pruning", "allowed: default, nothing, everything, custom"),
        ('app-db-backend = "goleveldb"\n', "app-db-backend", "allowed: rocksdb"),
        ('minimum-gas-prices = ""\n', "minimum-gas-prices", "must not be empty"),
        ('minimum-gas-prices = "cheap"\n', "minimum-gas-prices", "invalid gas price"),
        ("halt-height = -1\n", "halt-height", "must be >= 0"),
        ('pruning-interval = "ten"\n', "pruning-interval", "expected an integer"),
        ("[grpc]\nenable = 1\n", "grpc.enable", "expected true or false"),
        ('[api]\naddress = "localhost"\n', "api.address", "expected host:port"),
        ('[state-sync]\nsnapshot-interval = "100"\n', "state-sync.snapshot-interval", "integer"),
    ],
)
def test_bad_app_values_name_file_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = write_file(tmp_path, "app.toml", text)
    with pytest.raises(ConfigError) as err:
        load_app_toml(path)
    assert f"{path}: key '{key}'" in str(err.value)
    assert message in str(err.value)


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    path = write_file(tmp_path, "config.toml", "rpc = 5\n")
    with pytest.raises(ConfigError, match=r"\[rpc\] must be a table"):
        load_config_toml(path)


def test_unknown_keys_are_warnings_not_errors(tmp_path: Path) -> None:
    home = write_home(
        tmp_path,
        config_extra='\n[tx_index]\nindexer = "kv"\n',
        app_extra="\n[telemetry]\nenabled = false\n",
    )
    text = (
        (home / "config" / "config.toml")
        .read_text()
        .replace("[mempool]\n", "[mempool]\nbroadcast = true\n")
    )
    (home / "config" / "config.toml").write_text(text)
    cfg, warnings = load_config(home)
    assert cfg == Config()
    assert any("unknown key 'mempool.broadcast'" in w and "config.toml" in w for w in warnings)
    assert any("unknown key 'tx_index'" in w for w in warnings)
    assert any("unknown key 'telemetry'" in w and "app.toml" in w for w in warnings)


def test_module_sections_are_kept_and_rendered(tmp_path: Path) -> None:
    path = write_file(tmp_path, "app.toml", "[bank]\nsend-enabled = true\n[typo]\nx = 1\n")
    cfg, warnings = load_app_toml(path, extra_sections=["bank"])
    assert cfg.extra == {"bank": {"send-enabled": True}}
    assert len(warnings) == 1 and "typo" in warnings[0]
    again = write_file(tmp_path, "app2.toml", render_app_toml(cfg))
    cfg2, _ = load_app_toml(again, extra_sections=["bank"])
    assert cfg2 == cfg


# --- cross-field rules -----------------------------------------------------------------------


def test_custom_pruning_rules(tmp_path: Path) -> None:
    bad = write_file(tmp_path, "a.toml", 'pruning = "custom"\npruning-interval = "5"\n')
    with pytest.raises(ConfigError, match="'pruning-interval' must be >= 10"):
        load_app_toml(bad)
    bad2 = write_file(
        tmp_path,
        "b.toml",
        'pruning = "custom"\npruning-interval = "10"\npruning-keep-recent = "1"\n',
    )
    with pytest.raises(ConfigError, match="'pruning-keep-recent' must be >= 2"):
        load_app_toml(bad2)
    good = write_file(
        tmp_path,
        "c.toml",
        'pruning = "custom"\npruning-interval = 20\npruning-keep-recent = "100"\n',
    )
    cfg, _ = load_app_toml(good)
    assert cfg.pruning_options == (100, 20)
    assert cfg.pruning_keep_recent == 100


def test_statesync_enabled_requires_servers_and_trust(tmp_path: Path) -> None:
    path = write_file(tmp_path, "config.toml", '[statesync]\nenable = true\nrpc_servers = "a:1"\n')
    with pytest.raises(ConfigError, match="at least two"):
        load_config_toml(path)
    complete = (
        '[statesync]\nenable = true\nrpc_servers = "a:1,b:2"\ntrust_height = 5\n'
        f'trust_hash = "{"AB" * 32}"\n'
    )
    # Under CometBFT, CometBFT syncs; an embedded node becomes a follower (sultan.statesync).
    embedded = write_file(tmp_path, "embedded.toml", complete)
    cfg, _ = load_config_toml(embedded)
    assert cfg.statesync.enable and cfg.consensus_engine == "embedded"
    ok = write_file(tmp_path, "ok.toml", 'consensus_engine = "cometbft"\n' + complete)
    cfg, _ = load_config_toml(ok)
    assert cfg.statesync.enable


def test_mempool_single_tx_limit_must_fit_total(tmp_path: Path) -> None:
    path = write_file(tmp_path, "config.toml", "[mempool]\nmax_tx_bytes = 10\nmax_txs_bytes = 5\n")
    with pytest.raises(ConfigError, match="max_tx_bytes"):
        load_config_toml(path)


# --- helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tcp://127.0.0.1:26657", ("127.0.0.1", 26657)),
        ("0.0.0.0:9090", ("0.0.0.0", 9090)),
        (":26660", ("0.0.0.0", 26660)),
        ("[::1]:1317", ("::1", 1317)),
        ("tcp://localhost:0", ("localhost", 0)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["localhost", "h:99999", "h:-1", "h:abc", "udp://h:1", "::1:80"])
def test_parse_address_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


def test_gas_prices_are_fixed_point_integers() -> None:
    assert parse_gas_prices("0.025usultan,1uatom") == (("uatom", 10**18), ("usultan", 25 * 10**15))
    with pytest.raises(ValueError, match="more than 18 decimals"):
        parse_gas_prices("0.0000000000000000001usultan")
    with pytest.raises(ValueError, match="duplicate denom"):
        parse_gas_prices("1usultan,2usultan")


# --- overrides -------------------------------------------------------------------------------


def test_every_documented_override_applies() -> None:
    flags: dict[str, str | bool | None] = {
        "api.enable": "false",
        "api.swagger": True,
        "api.address": "tcp://0.0.0.0:1318",
        "api.workers": "2",
        "grpc.enable": False,
        "grpc.address": "0.0.0.0:9091",
        "rpc.laddr": "tcp://0.0.0.0:26667",
        "instrumentation.prometheus_listen_addr": ":26661",
        "consensus.timeout_commit": "250ms",
        "p2p.laddr": "tcp://0.0.0.0:26666",
        "proxy_app": "tcp://127.0.0.1:26668",
        "abci": "socket",
        "consensus_engine": "cometbft",
        "cometbft_rpc": "http://127.0.0.1:36657",
        "moniker": "flagged",
        "statesync.enable": "true",
        "statesync.rpc_servers": "http://a:26657,http://b:26657",
        "statesync.trust_height": "7",
        "statesync.trust_hash": "CD" * 32,
    }
    assert set(flags) == set(OVERRIDES)
    base = Config()
    cfg = apply_overrides(base, flags)
    assert base == Config()  # the original is untouched
    n, a = cfg.node, cfg.app
    assert a.api.enable is False and a.api.swagger is True and a.api.listen == ("0.0.0.0", 1318)
    assert a.api.workers == 2
    assert a.grpc.enable is False and a.grpc.address == "0.0.0.0:9091"
    assert n.rpc.laddr == "tcp://0.0.0.0:26667"
    assert n.instrumentation.listen == ("0.0.0.0", 26661)
    assert n.consensus.timeout_commit_ms == 250
    assert n.p2p.laddr == "tcp://0.0.0.0:26666" and n.proxy_listen == ("127.0.0.1", 26668)
    assert n.moniker == "flagged"
    assert n.consensus_engine == "cometbft" and n.cometbft_rpc_url == "http://127.0.0.1:36657"
    ss = n.statesync
    assert ss.enable and ss.rpc_servers == "http://a:26657,http://b:26657"
    assert ss.trust_height == 7 and ss.trust_hash == "CD" * 32


def test_consensus_engine_keys() -> None:
    cfg = Config().node
    assert cfg.consensus_engine == "embedded"
    assert cfg.cometbft_rpc_url == "http://127.0.0.1:26657"  # from rpc.laddr
    listen_all = apply_overrides(Config(), {"rpc.laddr": "tcp://0.0.0.0:36657"}).node
    assert listen_all.cometbft_rpc_url == "http://127.0.0.1:36657"
    unix = apply_overrides(Config(), {"proxy_app": "unix:///run/sultan/abci.sock"}).node
    assert unix.proxy_app == "unix:///run/sultan/abci.sock"
    with pytest.raises(ConfigError, match="consensus_engine"):
        apply_overrides(Config(), {"consensus_engine": "tendermint"})
    with pytest.raises(ConfigError, match="cometbft_rpc"):
        apply_overrides(Config(), {"cometbft_rpc": "not a url"})
    with pytest.raises(ConfigError, match="proxy_app"):
        apply_overrides(Config(), {"proxy_app": "unix://"})


def test_none_overrides_are_ignored() -> None:
    assert apply_overrides(Config(), {"api.enable": None, "moniker": None}) == Config()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("api.enable", "maybe", "expected true or false"),
        ("api.address", "nowhere", "expected host:port"),
        ("consensus.timeout_commit", "soon", "invalid duration"),
        ("abci", "grpc", "allowed: socket"),
        ("rpc.laddr", "tcp://1.2.3.4:65536", "port must be"),
    ],
)
def test_bad_override_names_the_flag(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        apply_overrides(Config(), {name: value})
    assert f"flag --{name}" in str(err.value) and message in str(err.value)


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown override --rpc.port"):
        apply_overrides(Config(), {"rpc.port": "1"})
