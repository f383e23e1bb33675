"""x/auth as a Sultan module: the plugin object named by the `auth` entry point.

It owns accounts and the signature/fee ante chain. It requires `bank` (fees are moved to
the `fee_collector` module account through the bank keeper); bank requires auth in turn —
keepers are bound after every module has loaded, so the mutual requirement is fine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sultan import ModuleDefinition, hookimpl
from sultan_auth import genesis, queries
from sultan_auth.ante import AuthAnte, signature_checks
from sultan_auth.keeper import AccountKeeper
from sultan_auth.keys import MODULE_NAME, STORE_KEY

VERSION = "0.1.0"

keeper = AccountKeeper()
ante = AuthAnte(keeper)


def _bind(keepers: Mapping[str, Any]) -> None:
    ante.bank = keepers.get("bank")


@hookimpl
def sultan_module() -> ModuleDefinition:
    # Called for every enabled module before any `bind`: module accounts are declared anew
    # by the modules of this module set only.
    keeper.reset_declarations()
    return ModuleDefinition(
        name=MODULE_NAME,
        store_key=STORE_KEY,
        consensus_version=1,
        version=VERSION,
        requires=("bank",),
        keeper=keeper,
        bind=_bind,
        default_genesis=genesis.default_genesis,
        validate_genesis=genesis.validate_genesis,
        init_genesis=partial(genesis.init_genesis, keeper),
        export_genesis=partial(genesis.export_genesis, keeper),
        ante_decorators=ante.decorators,
        signature_batch=partial(signature_checks, keeper),
    )


@hookimpl
def sultan_query_services(register: Callable[..., None]) -> None:
    for method, request, response, handler, _path in queries.ROUTES:
        register(queries.SERVICE + method, request, response, partial(handler, keeper))


@hookimpl
def sultan_rest_routes(register: Callable[..., None]) -> None:
    for method, _request, _response, _handler, path in queries.ROUTES:
        if path is not None:
            register("GET", path, queries.SERVICE + method)


@hookimpl
def sultan_cli_commands(register: Callable[..., None]) -> None:
    from sultan_auth import cli  # imported only by the CLI, not by a running node

    cli.register_commands(register)
