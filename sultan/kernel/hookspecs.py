"""The plugin surface: pluggy hooks every Sultan module may implement.

Hooks here carry the *order-insensitive* surfaces (declaring a module, its message handlers,
query services, REST routes, CLI commands, Prometheus collectors and node start/stop
notifications). Consensus-relevant
calls (genesis, begin/end block, ante decorators, migrations) are methods of the
`ModuleDefinition` a plugin returns from `sultan_module`, and the kernel calls them in the
order `plugins.toml` lists the modules — never in pluggy's registration order.

Every hook takes keyword arguments only; an implementation may accept fewer arguments
than the spec names, so specs can grow without breaking modules. Hooks receive a
`register` callback instead of returning lists, so the registrar knows which module
registered what and can name it in wiring errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

PROJECT = "sultan"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

if TYPE_CHECKING:
    from pathlib import Path

    from sultan.kernel.modules import ModuleDefinition
    from sultan.node import Node


@hookspec(firstresult=True)
def sultan_module() -> ModuleDefinition:
    """Declare the module: its name, store key, consensus version and lifecycle methods.

    Fires once per enabled plugin while the node loads its modules. Every plugin in the
    `sultan.modules` entry-point group must implement it.

    :return: the module's `sultan.kernel.modules.ModuleDefinition`.
    """
    raise NotImplementedError


@hookspec
def sultan_msg_handlers(register: Callable[..., None]) -> None:
    """Register the module's transaction message handlers.

    Fires once at start-up. Call ``register(type_url, message_class, handler)`` once per
    message type: ``type_url`` is the Any type URL clients put in a tx body (for example
    ``"/cosmos.bank.v1beta1.MsgSend"``), ``message_class`` the protobuf class to decode it
    with, ``handler(ctx, msg)`` runs the message against ``ctx`` (a `sultan.kernel.tx.Context`
    whose writes are discarded if the handler raises) and returns a protobuf response
    message or None. Two modules registering one type URL stop start-up.

    :param register: the registration callback described above.
    """


@hookspec
def sultan_query_services(register: Callable[..., None]) -> None:
    """Register gRPC-style query methods, served over gRPC, REST and ABCI ``abci_query``.

    Fires once at start-up. Call ``register(method, request_class, response_class, handler)``
    where ``method`` is the full gRPC method name (``"/cosmos.bank.v1beta1.Query/Balance"``),
    and ``handler(ctx, request)`` returns a response message; it reads state at the
    queried height through ``ctx`` and may raise `sultan.kernel.errors.QueryError`.

    :param register: the registration callback described above.
    """


@hookspec
def sultan_rest_routes(register: Callable[..., None]) -> None:
    """Map REST (grpc-gateway style) paths onto registered query methods.

    Fires once when the REST server starts. Call ``register(http_method, path, method)``,
    e.g. ``register("GET", "/cosmos/bank/v1beta1/balances/{address}",
    "/cosmos.bank.v1beta1.Query/AllBalances")``: path parameters and query-string
    parameters fill request fields by name, the response is rendered as proto JSON.

    :param register: the registration callback described above.
    """


@hookspec
def sultan_cli_commands(register: Callable[..., None]) -> None:
    """Add commands to the ``sultan`` CLI.

    Fires when the CLI starts. Call ``register(group, command)`` with ``group`` one of
    ``"root"``, ``"tx"``, ``"query"``, ``"genesis"`` and a ``click.Command`` (often a
    ``click.Group`` named after the module, e.g. ``sultan tx bank send``).

    :param register: the registration callback described above.
    """


@hookspec
def sultan_prometheus_collectors(register: Callable[..., None]) -> None:
    """Contribute Prometheus collectors to the node's metrics registry.

    Fires once when the node starts. Call ``register(collector)`` with a
    ``prometheus_client`` collector (metric objects are collectors). Names must start with
    ``sultan_``.

    :param register: the registration callback described above.
    """


@hookspec
def sultan_config_sections(register: Callable[..., None]) -> None:
    """Declare the module's own section in ``app.toml``.

    Fires when configuration is loaded. Call ``register(section, defaults)`` where
    ``defaults`` is a dict of key -> default value; the loaded values are given to the
    module as ``ModuleDefinition.configure(values)``.

    :param register: the registration callback described above.
    """


@hookspec
def sultan_node_started(node: Node) -> None:
    """React to a node that is running: its engine produces blocks, its API servers listen.

    Fires once in ``sultan run``, after the RPC, REST and gRPC servers have started and
    block production has begun (before the start-up banner). Use it to start a
    module-owned server or background task (the metrics module starts its Prometheus
    endpoint here). Order among modules is not defined. Raising stops start-up: the
    servers are stopped, the node is closed and ``sultan run`` exits with an error that
    names the module.

    :param node: the running `sultan.node.Node` (config, engine, mempool, app,
        ``metrics_registry``); read it, do not replace its parts.
    """


@hookspec
def sultan_node_stopping(node: Node) -> None:
    """Release what ``sultan_node_started`` started, before the node stops.

    Fires once in ``sultan run`` when it is shutting down (a signal, a failed block,
    halt-height), before the API servers stop and the database closes; it also fires if a
    later ``sultan_node_started`` implementation failed. Order among modules is not
    defined. An exception is logged and the other modules still get the call.

    :param node: the `sultan.node.Node` that is stopping.
    """


@hookspec
def sultan_init_home(home: Path, chain_id: str, moniker: str) -> None:
    """Finish a freshly initialised home's genesis, at the end of ``sultan init``.

    Fires once per module that ``plugins.toml`` enables, in that file's order, after the
    config, keys and default ``genesis.json`` are written. A module may edit
    ``config/genesis.json`` (the staking module creates the node's own validator here: an
    operator key, its funding, a gentx, collected into genesis) and print what it did.
    Raising a ``ValueError`` or ``sultan.client.errors.ClientError`` stops ``sultan init``
    with an error naming the module; the home then stays as written so far.

    :param home: the home directory being initialised.
    :param chain_id: the chain id written to genesis.
    :param moniker: the node's moniker.
    """


def _all_hook_names() -> list[str]:
    return [name for name in globals() if name.startswith("sultan_")]


HOOK_NAMES: list[str] = _all_hook_names()
