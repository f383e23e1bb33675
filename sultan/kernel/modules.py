"""Module discovery and wiring: entry points, pluggy registration and start-up checks.

A node runs exactly the modules `plugins.toml` names, in that order; installed modules it
does not name are reported, not loaded. Every wiring mistake (unknown or duplicate module,
duplicate store key, duplicate message type URL or query method, a missing dependency, a
hook implementation that matches no spec) stops start-up with an error naming the module.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import pluggy

from sultan.kernel import hookspecs
from sultan.kernel.tx.context import Context

ENTRY_POINT_GROUP = "sultan.modules"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
RESERVED_STORE_KEYS = frozenset({"kernel"})


class ModuleWiringError(RuntimeError):
    """A module set that cannot run; the message names the module at fault."""


@attrs.define
class ModuleDefinition:
    """What a module is, returned from its `sultan_module` hook.

    Lifecycle callables are optional; the kernel calls the ones present, in `plugins.toml`
    order. `keeper` is the module's public interface for other modules (which describe what
    they need from it as Protocols in their own `expected.py`); `bind` receives the keepers
    of the modules this one `requires`. `signature_batch(ctx, tx)` lists the signature checks
    (`sultan.kernel.crypto.sigcache.SignatureCheck`) the module's ante decorators will make
    for `tx`, read from the state at block start: FinalizeBlock verifies those of the whole
    block in one crypto-core batch before executing it (an optimisation only: the ante still
    decides, and a check missing from the list is simply verified by the ante itself).
    """

    name: str
    store_key: str | None = None
    consensus_version: int = 1
    version: str = "0.0.0"
    requires: tuple[str, ...] = ()
    keeper: Any = None
    default_genesis: Callable[[], dict[str, Any]] | None = None
    validate_genesis: Callable[[dict[str, Any]], None] | None = None
    init_genesis: Callable[[Context, dict[str, Any]], Any] | None = None
    export_genesis: Callable[[Context], dict[str, Any]] | None = None
    begin_block: Callable[[Context], None] | None = None
    end_block: Callable[[Context], Any] | None = None
    ante_decorators: Sequence[Any] = ()
    signature_batch: Callable[[Context, Any], Sequence[Any]] | None = None
    migrations: Mapping[int, Callable[[Context], None]] = attrs.field(factory=dict)
    bind: Callable[[Mapping[str, Any]], None] | None = None
    configure: Callable[[dict[str, Any]], None] | None = None


@attrs.frozen
class MsgRoute:
    module: str
    type_url: str
    message_class: Any
    handler: Callable[[Context, Any], Any]
    signers: Callable[[Any], list[str]] | None = None


@attrs.frozen
class QueryRoute:
    module: str
    method: str
    request_class: Any
    response_class: Any
    handler: Callable[[Context, Any], Any]


@attrs.frozen
class RestRoute:
    module: str
    http_method: str
    path: str
    method: str


@attrs.frozen
class InstalledModule:
    name: str
    distribution: str
    version: str


@attrs.define
class ModuleSet:
    """The loaded, validated modules of one node, in consensus order."""

    modules: list[ModuleDefinition]
    msg_routes: dict[str, MsgRoute]
    queries: dict[str, QueryRoute]
    rest_routes: list[RestRoute]
    disabled: list[InstalledModule]
    plugin_manager: pluggy.PluginManager
    hooks_by_module: dict[str, list[str]]

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.modules]

    @property
    def store_keys(self) -> list[str]:
        return [m.store_key for m in self.modules if m.store_key]

    @property
    def keepers(self) -> dict[str, Any]:
        return {m.name: m.keeper for m in self.modules if m.keeper is not None}

    def get(self, name: str) -> ModuleDefinition:
        for module in self.modules:
            if module.name == name:
                return module
        raise KeyError(name)

    def call_each(self, hook: str, make_register: Callable[[str], Callable[..., None]]) -> None:
        """Call `hook` on every module, each with its own `register` callback."""
        caller = getattr(self.plugin_manager.hook, hook)
        impls = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
        for name in self.names:
            impl = impls.get(name)
            if impl is None:
                continue
            kwargs = {"register": make_register(name)}
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})

    def collect(self, hook: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        """Every `register(...)` call a hook makes, as (module, args, kwargs), module order."""
        calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

        def make(module: str) -> Callable[..., None]:
            return lambda *args, **kwargs: calls.append((module, args, kwargs))

        self.call_each(hook, make)
        return calls


def read_plugins_toml(path: str) -> list[str]:
    """The enabled module names from a plugins.toml, validated."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ModuleWiringError(f"{path} not found: run `sultan init`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModuleWiringError(f"{path}: invalid TOML: {exc}") from None
    modules = data.get("modules")
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ModuleWiringError(f"{path}: `modules` must be a list of module names")
    seen: set[str] = set()
    for name in modules:
        if name in seen:
            raise ModuleWiringError(f"{path}: module {name!r} is listed twice")
        seen.add(name)
    unknown_keys = set(data) - {"modules"}
    if unknown_keys:
        raise ModuleWiringError(f"{path}: unknown keys {sorted(unknown_keys)}")
    return modules


def installed_modules() -> dict[str, tuple[importlib.metadata.EntryPoint, InstalledModule]]:
    found: dict[str, tuple[importlib.metadata.EntryPoint, InstalledModule]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        info = InstalledModule(ep.name, dist.name if dist else "?", dist.version if dist else "?")
        if ep.name in found:
            raise ModuleWiringError(
                f"module {ep.name!r} is provided by two installed distributions: "
                f"{found[ep.name][1].distribution} and {info.distribution}"
            )
        found[ep.name] = (ep, info)
    return found


def _new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("SULTAN_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda msg: print(msg, end="", file=sys.stderr))
        pm.enable_tracing()
    return pm


def load_modules(enabled: Sequence[str], plugins: Mapping[str, object] | None = None) -> ModuleSet:
    """Load and wire the enabled modules.

    `plugins` maps names to already-imported plugin objects (used by tests and the testing
    harness); other names are looked up in the `sultan.modules` entry-point group.
    """
    plugins = dict(plugins or {})
    for index, name in enumerate(enabled):
        if name in enabled[:index]:
            raise ModuleWiringError(f"module {name!r} is enabled twice")
    installed = installed_modules()
    pm = _new_plugin_manager()
    for name in enabled:
        if name in plugins:
            obj = plugins[name]
        elif name in installed:
            ep, info = installed[name]
            try:
                obj = ep.load()
            except Exception as exc:
                raise ModuleWiringError(
                    f"module {name!r} ({info.distribution} {info.version}) failed to import: {exc}"
                ) from exc
        else:
            available = sorted(set(installed) | set(plugins))
            raise ModuleWiringError(
                f"module {name!r} is enabled in plugins.toml but not installed "
                f"(installed: {', '.join(available) or 'none'})"
            )
        try:
            pm.register(obj, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            # ValueError: one plugin object registered under two module names.
            raise ModuleWiringError(f"module {name!r}: {exc}") from None
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or "?"
        raise ModuleWiringError(f"module {name!r}: {exc}") from None

    definitions: list[ModuleDefinition] = []
    for name in enabled:
        plugin = pm.get_plugin(name)
        impl = getattr(plugin, "sultan_module", None)
        if impl is None:
            raise ModuleWiringError(f"module {name!r} does not implement the sultan_module hook")
        definition = impl()
        if not isinstance(definition, ModuleDefinition):
            raise ModuleWiringError(
                f"module {name!r}: sultan_module must return a ModuleDefinition"
            )
        if definition.name != name:
            raise ModuleWiringError(
                f"module {name!r}: its sultan_module declares the name {definition.name!r}"
            )
        definitions.append(definition)
    _check_definitions(definitions)

    hooks_by_module = {
        name: sorted(
            h.name
            for h in pm.get_hookcallers(pm.get_plugin(name)) or []
            if h.name != "sultan_module"
        )
        for name in enabled
    }
    module_set = ModuleSet(
        modules=definitions,
        msg_routes={},
        queries={},
        rest_routes=[],
        disabled=[info for n, (_, info) in sorted(installed.items()) if n not in enabled],
        plugin_manager=pm,
        hooks_by_module=hooks_by_module,
    )
    _register_routes(module_set)
    keepers = module_set.keepers
    for definition in definitions:
        if definition.bind is not None:
            definition.bind({r: keepers.get(r) for r in definition.requires})
    return module_set


def _check_definitions(definitions: list[ModuleDefinition]) -> None:
    names = [d.name for d in definitions]
    store_owner: dict[str, str] = {}
    for d in definitions:
        if not _NAME_RE.match(d.name):
            raise ModuleWiringError(f"module {d.name!r}: names must match {_NAME_RE.pattern}")
        if d.consensus_version < 1:
            raise ModuleWiringError(f"module {d.name!r}: consensus_version must be >= 1")
        if d.store_key is not None:
            if not _NAME_RE.match(d.store_key) or d.store_key in RESERVED_STORE_KEYS:
                raise ModuleWiringError(
                    f"module {d.name!r}: invalid store key {d.store_key!r} "
                    f"(must match {_NAME_RE.pattern}, not {sorted(RESERVED_STORE_KEYS)})"
                )
            if d.store_key in store_owner:
                raise ModuleWiringError(
                    f"module {d.name!r}: store key {d.store_key!r} is already owned by module "
                    f"{store_owner[d.store_key]!r}"
                )
            store_owner[d.store_key] = d.name
        for required in d.requires:
            if required not in names:
                raise ModuleWiringError(
                    f"module {d.name!r} requires module {required!r}, which is not enabled "
                    "in plugins.toml"
                )


def _register_routes(module_set: ModuleSet) -> None:
    for module, args, kwargs in module_set.collect("sultan_msg_handlers"):
        route = MsgRoute(module, *args, **kwargs)
        if not route.type_url.startswith("/"):
            raise ModuleWiringError(
                f"module {module!r}: type URL {route.type_url!r} must start with '/'"
            )
        if route.type_url in module_set.msg_routes:
            other = module_set.msg_routes[route.type_url].module
            raise ModuleWiringError(
                f"module {module!r}: message type {route.type_url} is already handled by "
                f"module {other!r}"
            )
        module_set.msg_routes[route.type_url] = route
    for module, args, kwargs in module_set.collect("sultan_query_services"):
        query = QueryRoute(module, *args, **kwargs)
        if query.method in module_set.queries:
            other = module_set.queries[query.method].module
            raise ModuleWiringError(
                f"module {module!r}: query method {query.method} is already served by "
                f"module {other!r}"
            )
        module_set.queries[query.method] = query
    seen: dict[tuple[str, str], str] = {}
    for module, args, kwargs in module_set.collect("sultan_rest_routes"):
        rest = RestRoute(module, *args, **kwargs)
        if rest.method not in module_set.queries:
            raise ModuleWiringError(
                f"module {module!r}: REST route {rest.path} maps to unknown query method {rest.method}"
            )
        key = (rest.http_method.upper(), rest.path)
        if key in seen:
            raise ModuleWiringError(
                f"module {module!r}: REST route {key[0]} {rest.path} already registered by {seen[key]!r}"
            )
        seen[key] = module
        module_set.rest_routes.append(rest)


def default_app_state(plugins_toml_path: str) -> dict[str, Any]:
    """Each enabled module's default genesis, keyed by module name (for `sultan init`)."""
    module_set = load_modules(read_plugins_toml(plugins_toml_path))
    return {m.name: m.default_genesis() if m.default_genesis else {} for m in module_set.modules}
