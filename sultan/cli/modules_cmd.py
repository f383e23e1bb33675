"""`sultan modules`: what a home's plugins.toml loads, and what is installed but disabled."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sultan.kernel.home import Home, default_home
from sultan.kernel.modules import installed_modules, load_modules, read_plugins_toml


@click.command("modules")
@click.option(
    "--home",
    "home_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Node home (default $SULTAN_HOME or ~/.sultan).",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def modules_command(home_dir: Path | None, as_json: bool) -> None:
    """List the modules this node runs (in consensus order) and the disabled ones."""
    home = Home(home_dir or default_home())
    if home.plugins_toml.exists():
        enabled = read_plugins_toml(str(home.plugins_toml))
    else:
        enabled = []
    module_set = load_modules(enabled)
    installed = installed_modules()
    loaded = []
    for m in module_set.modules:
        dist = installed.get(m.name)
        loaded.append(
            {
                "name": m.name,
                "version": m.version,
                "distribution": dist[1].distribution if dist else None,
                "consensus_version": m.consensus_version,
                "store_key": m.store_key,
                "requires": list(m.requires),
                "messages": sorted(
                    u for u, r in module_set.msg_routes.items() if r.module == m.name
                ),
                "queries": sorted(q for q, r in module_set.queries.items() if r.module == m.name),
                "hooks": module_set.hooks_by_module.get(m.name, []),
            }
        )
    disabled = [
        {"name": d.name, "distribution": d.distribution, "version": d.version}
        for d in module_set.disabled
    ]
    if as_json:
        click.echo(json.dumps({"enabled": loaded, "disabled": disabled}, indent=2))
        return
    click.echo(
        f"plugins.toml: {home.plugins_toml}" + ("" if home.plugins_toml.exists() else " (missing)")
    )
    if not loaded:
        click.echo("No modules enabled.")
    for i, m in enumerate(loaded, 1):
        click.echo(
            f"{i}. {m['name']} {m['version']} (consensus version {m['consensus_version']}, store {m['store_key'] or '-'})"
        )
        if m["requires"]:
            click.echo(f"   requires: {', '.join(m['requires'])}")
        for url in m["messages"]:
            click.echo(f"   msg    {url}")
        for q in m["queries"]:
            click.echo(f"   query  {q}")
        click.echo(f"   hooks: {', '.join(m['hooks']) or '-'}")
    if disabled:
        click.echo("Installed but not enabled (add to plugins.toml to run them):")
        for d in disabled:
            click.echo(f"  {d['name']} ({d['distribution']} {d['version']})")


COMMANDS = [modules_command]
