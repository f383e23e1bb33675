"""The order-insensitive hooks reach the node: config sections, collectors, CLI commands."""

from __future__ import annotations

from types import SimpleNamespace

import click
from click.testing import CliRunner
from prometheus_client import Counter, generate_latest

from sultan import ModuleDefinition, hookimpl
from sultan.kernel.home import init_home
from sultan.node import Node


class Probe:
    """A module that uses every non-consensus hook."""

    def __init__(self) -> None:
        self.configured: dict | None = None
        self.counter = Counter("sultan_probe_events_total", "Probe events", registry=None)

    @hookimpl
    def sultan_module(self):
        return ModuleDefinition(name="probe", configure=self.configure)

    def configure(self, values):
        self.configured = values

    @hookimpl
    def sultan_config_sections(self, register):
        register("probe", {"greeting": "hello", "loud": False})

    @hookimpl
    def sultan_prometheus_collectors(self, register):
        register(self.counter)


def make_node(tmp_path, app_toml_extra: str = "") -> tuple[Node, Probe]:
    home = init_home(
        tmp_path,
        chain_id="t-1",
        moniker="t",
        app_state={},
        plugins_toml_text='modules = ["probe"]\n',
    )
    if app_toml_extra:
        with open(home.app_toml, "a") as fh:
            fh.write(app_toml_extra)
    probe = Probe()
    return Node(home, plugins={"probe": probe}), probe


def test_module_config_section_defaults_and_overrides(tmp_path):
    node, probe = make_node(tmp_path, "\n[probe]\nloud = true\n")
    node.open()
    try:
        assert probe.configured == {"greeting": "hello", "loud": True}
        assert not any("probe" in w for w in node.warnings)
    finally:
        node.close()


def test_module_collectors_are_in_the_node_registry(tmp_path):
    node, probe = make_node(tmp_path)
    node.open()
    try:
        probe.counter.inc(3)
        assert b"sultan_probe_events_total 3.0" in generate_latest(node.metrics_registry)
    finally:
        node.close()


def test_cli_commands_from_modules_are_registered(monkeypatch):
    from sultan.cli import main as cli_main

    @click.command("hello")
    def hello():
        click.echo("hi from a module")

    plugin = SimpleNamespace(sultan_cli_commands=lambda register: register("query", hello))
    fake_ep = SimpleNamespace(load=lambda: plugin)
    info = SimpleNamespace(distribution="probe-dist")
    monkeypatch.setattr(
        "sultan.kernel.modules.installed_modules", lambda: {"probe": (fake_ep, info)}
    )
    group = click.Group("sultan")
    monkeypatch.setattr(cli_main, "cli", group)
    cli_main._register_module_commands()
    result = CliRunner().invoke(group, ["query", "hello"])
    assert result.exit_code == 0 and "hi from a module" in result.output
