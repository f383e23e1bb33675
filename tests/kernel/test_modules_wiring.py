"""Module loading and wiring: every mistake stops start-up with an error naming the module."""

from __future__ import annotations

from typing import Any

import pytest

from sultan import hookimpl
from sultan.kernel.modules import (
    ModuleDefinition,
    ModuleWiringError,
    load_modules,
    read_plugins_toml,
)


def make_plugin(
    name: str,
    *,
    declared_name: str | None = None,
    store_key: str | None = None,
    requires: tuple[str, ...] = (),
    keeper: Any = None,
    msgs: tuple[str, ...] = (),
    queries: tuple[str, ...] = (),
    rest: tuple[tuple[str, str, str], ...] = (),
    log: list[tuple[str, str]] | None = None,
    bound: dict[str, Any] | None = None,
    **definition: Any,
) -> Any:
    """A plugin object (a class instance with @hookimpl methods) for module `name`."""
    ns: dict[str, Any] = {}

    def sultan_module(self: Any) -> ModuleDefinition:
        bind = None
        if bound is not None:
            bind = bound.update
        return ModuleDefinition(
            name=declared_name or name,
            store_key=store_key,
            requires=requires,
            keeper=keeper,
            bind=bind,
            **definition,
        )

    ns["sultan_module"] = hookimpl(sultan_module)

    if msgs:

        def sultan_msg_handlers(self: Any, register: Any) -> None:
            if log is not None:
                log.append((name, "msgs"))
            for url in msgs:
                register(url, object, lambda ctx, msg: None)

        ns["sultan_msg_handlers"] = hookimpl(sultan_msg_handlers)

    if queries:

        def sultan_query_services(self: Any, register: Any) -> None:
            if log is not None:
                log.append((name, "queries"))
            for method in queries:
                register(method, object, object, lambda ctx, req: None)

        ns["sultan_query_services"] = hookimpl(sultan_query_services)

    if rest:

        def sultan_rest_routes(self: Any, register: Any) -> None:
            for http_method, path, method in rest:
                register(http_method, path, method)

        ns["sultan_rest_routes"] = hookimpl(sultan_rest_routes)

    if log is not None:

        def sultan_config_sections(self: Any, register: Any) -> None:
            log.append((name, "config"))
            register(name, {"enabled": True})

        ns["sultan_config_sections"] = hookimpl(sultan_config_sections)

    return type(f"Plugin_{name}", (), ns)()


def wiring_error(enabled: list[str], plugins: dict[str, Any]) -> str:
    with pytest.raises(ModuleWiringError) as info:
        load_modules(enabled, plugins=plugins)
    return str(info.value)


# -- wiring errors ------------------------------------------------------------------------------


def test_unknown_module() -> None:
    message = wiring_error(["alpha", "ghost"], {"alpha": make_plugin("alpha")})
    assert "'ghost'" in message and "not installed" in message
    assert "alpha" in message  # lists what is available


def test_duplicate_store_key() -> None:
    message = wiring_error(
        ["alpha", "beta"],
        {
            "alpha": make_plugin("alpha", store_key="shared"),
            "beta": make_plugin("beta", store_key="shared"),
        },
    )
    assert "module 'beta'" in message and "'shared'" in message and "'alpha'" in message


def test_duplicate_message_type_url() -> None:
    url = "/cosmos.bank.v1beta1.MsgSend"
    message = wiring_error(
        ["alpha", "beta"],
        {"alpha": make_plugin("alpha", msgs=(url,)), "beta": make_plugin("beta", msgs=(url,))},
    )
    assert "module 'beta'" in message and url in message and "'alpha'" in message


def test_type_url_must_start_with_slash() -> None:
    message = wiring_error(["alpha"], {"alpha": make_plugin("alpha", msgs=("cosmos.X",))})
    assert "module 'alpha'" in message and "cosmos.X" in message


def test_duplicate_query_method() -> None:
    method = "/cosmos.bank.v1beta1.Query/Balance"
    message = wiring_error(
        ["alpha", "beta"],
        {
            "alpha": make_plugin("alpha", queries=(method,)),
            "beta": make_plugin("beta", queries=(method,)),
        },
    )
    assert "module 'beta'" in message and method in message and "'alpha'" in message


def test_rest_route_to_unknown_method() -> None:
    message = wiring_error(
        ["alpha"],
        {
            "alpha": make_plugin(
                "alpha",
                queries=("/a.Query/Known",),
                rest=(("GET", "/a/v1/thing", "/a.Query/Unknown"),),
            )
        },
    )
    assert "module 'alpha'" in message and "/a.Query/Unknown" in message


def test_duplicate_rest_route() -> None:
    message = wiring_error(
        ["alpha", "beta"],
        {
            "alpha": make_plugin(
                "alpha", queries=("/a.Query/A",), rest=(("GET", "/x/{id}", "/a.Query/A"),)
            ),
            "beta": make_plugin(
                "beta", queries=("/b.Query/B",), rest=(("get", "/x/{id}", "/b.Query/B"),)
            ),
        },
    )
    assert "module 'beta'" in message and "/x/{id}" in message and "'alpha'" in message


def test_requires_a_module_that_is_not_enabled() -> None:
    message = wiring_error(
        ["beta"], {"beta": make_plugin("beta", requires=("alpha",)), "alpha": make_plugin("alpha")}
    )
    assert "module 'beta'" in message and "'alpha'" in message and "not enabled" in message


def test_plugin_without_sultan_module() -> None:
    class NoModule:
        @hookimpl
        def sultan_config_sections(self, register: Any) -> None:
            pass

    message = wiring_error(["alpha", "beta"], {"alpha": make_plugin("alpha"), "beta": NoModule()})
    assert "module 'beta'" in message and "sultan_module" in message


def test_sultan_module_returning_wrong_name() -> None:
    message = wiring_error(["alpha"], {"alpha": make_plugin("alpha", declared_name="alfa")})
    assert "module 'alpha'" in message and "'alfa'" in message


def test_sultan_module_returning_wrong_type() -> None:
    class Wrong:
        @hookimpl
        def sultan_module(self) -> dict[str, str]:
            return {"name": "alpha"}

    message = wiring_error(["alpha"], {"alpha": Wrong()})
    assert "module 'alpha'" in message and "ModuleDefinition" in message


def test_misspelled_hook_is_caught() -> None:
    class Typo:
        @hookimpl
        def sultan_module(self) -> ModuleDefinition:
            return ModuleDefinition(name="beta")

        @hookimpl
        def sultan_msg_handler(self, register: Any) -> None:  # missing the trailing "s"
            pass

    message = wiring_error(["alpha", "beta"], {"alpha": make_plugin("alpha"), "beta": Typo()})
    assert "module 'beta'" in message and "sultan_msg_handler" in message


def test_hook_with_unknown_argument_is_caught() -> None:
    class BadArgs:
        @hookimpl
        def sultan_module(self) -> ModuleDefinition:
            return ModuleDefinition(name="alpha")

        @hookimpl
        def sultan_msg_handlers(self, register: Any, router: Any) -> None:
            pass

    message = wiring_error(["alpha"], {"alpha": BadArgs()})
    assert "module 'alpha'" in message and "router" in message


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("Alpha", {}),
        ("1alpha", {}),
        ("al-pha", {}),
        ("a" * 33, {}),
        ("alpha", {"store_key": "Bad/Key"}),
        ("alpha", {"store_key": "kernel"}),
        ("alpha", {"store_key": ""}),
        ("alpha", {"consensus_version": 0}),
    ],
)
def test_invalid_names_and_fields(name: str, fields: dict[str, Any]) -> None:
    message = wiring_error([name], {name: make_plugin(name, **fields)})
    assert f"module {name!r}" in message


def test_same_module_enabled_twice() -> None:
    message = wiring_error(["alpha", "alpha"], {"alpha": make_plugin("alpha")})
    assert "module 'alpha'" in message and "twice" in message


def test_one_plugin_object_under_two_names() -> None:
    shared = make_plugin("alpha")
    message = wiring_error(["alpha", "beta"], {"alpha": shared, "beta": shared})
    assert "module 'beta'" in message


# -- plugins.toml ------------------------------------------------------------------------------


def test_read_plugins_toml(tmp_path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text('modules = ["bank", "staking", "counter"]\n')
    assert read_plugins_toml(str(path)) == ["bank", "staking", "counter"]
    path.write_text("modules = []\n")
    assert read_plugins_toml(str(path)) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        ('modules = ["bank"', "invalid TOML"),
        ('modules = "bank"\n', "must be a list"),
        ("modules = [1, 2]\n", "must be a list"),
        ("[modules]\nbank = true\n", "must be a list"),
        ("", "must be a list"),
        ('modules = ["bank", "staking", "bank"]\n', "'bank' is listed twice"),
        ('modules = ["bank"]\nmodule = ["staking"]\n', "unknown keys ['module']"),
    ],
)
def test_read_plugins_toml_errors(tmp_path, content: str | None, expected: str) -> None:
    path = tmp_path / "plugins.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ModuleWiringError) as info:
        read_plugins_toml(str(path))
    assert expected in str(info.value)
    assert str(path) in str(info.value)


# -- a correctly wired set -----------------------------------------------------------------------


def test_positive_wiring() -> None:
    log: list[tuple[str, str]] = []
    bound_mid: dict[str, Any] = {}
    bound_alpha: dict[str, Any] = {}
    zeta_keeper, alpha_keeper = object(), object()
    plugins = {
        "zeta": make_plugin(
            "zeta",
            store_key="zeta",
            keeper=zeta_keeper,
            msgs=("/zeta.v1.MsgZ",),
            queries=("/zeta.v1.Query/Z",),
            rest=(("GET", "/zeta/v1/z", "/zeta.v1.Query/Z"),),
            log=log,
        ),
        "alpha": make_plugin(
            "alpha",
            store_key="alpha_store",
            keeper=alpha_keeper,
            requires=("zeta",),
            msgs=("/alpha.v1.MsgA", "/alpha.v1.MsgB"),
            log=log,
            bound=bound_alpha,
        ),
        "mid": make_plugin(
            "mid",
            requires=("zeta", "alpha"),
            queries=("/mid.v1.Query/M",),
            rest=(("POST", "/mid/v1/m", "/mid.v1.Query/M"),),
            log=log,
            bound=bound_mid,
        ),
    }
    enabled = ["zeta", "alpha", "mid"]
    ms = load_modules(enabled, plugins=plugins)

    assert ms.names == enabled
    assert ms.store_keys == ["zeta", "alpha_store"]
    assert ms.keepers == {"zeta": zeta_keeper, "alpha": alpha_keeper}
    assert ms.get("alpha").requires == ("zeta",)
    with pytest.raises(KeyError):
        ms.get("nope")
    assert all(info.name not in enabled for info in ms.disabled)

    assert {url: r.module for url, r in ms.msg_routes.items()} == {
        "/zeta.v1.MsgZ": "zeta",
        "/alpha.v1.MsgA": "alpha",
        "/alpha.v1.MsgB": "alpha",
    }
    assert {m: q.module for m, q in ms.queries.items()} == {
        "/zeta.v1.Query/Z": "zeta",
        "/mid.v1.Query/M": "mid",
    }
    assert [(r.module, r.http_method, r.path, r.method) for r in ms.rest_routes] == [
        ("zeta", "GET", "/zeta/v1/z", "/zeta.v1.Query/Z"),
        ("mid", "POST", "/mid/v1/m", "/mid.v1.Query/M"),
    ]
    assert ms.hooks_by_module == {
        "zeta": [
            "sultan_config_sections",
            "sultan_msg_handlers",
            "sultan_query_services",
            "sultan_rest_routes",
        ],
        "alpha": ["sultan_config_sections", "sultan_msg_handlers"],
        "mid": ["sultan_config_sections", "sultan_query_services", "sultan_rest_routes"],
    }

    # bind receives exactly the keepers of the required modules (None if one has no keeper).
    assert bound_alpha == {"zeta": zeta_keeper}
    assert bound_mid == {"zeta": zeta_keeper, "alpha": alpha_keeper}

    # Route registration ran in plugins.toml order, and so do later hook calls.
    assert [entry for entry in log if entry[1] == "msgs"] == [("zeta", "msgs"), ("alpha", "msgs")]
    log.clear()
    calls = ms.collect("sultan_config_sections")
    assert [module for module, _, _ in calls] == enabled
    assert [args for _, args, _ in calls] == [(n, {"enabled": True}) for n in enabled]
    assert [name for name, _ in log] == enabled

    seen: list[str] = []
    ms.call_each("sultan_msg_handlers", lambda module: lambda *a, **k: seen.append(module))
    assert seen == ["zeta", "alpha", "alpha"]


def test_call_each_order_follows_plugins_toml_not_registration() -> None:
    for enabled in (["c", "a", "b"], ["b", "c", "a"], ["a", "b", "c"]):
        log: list[tuple[str, str]] = []
        plugins = {n: make_plugin(n, log=log) for n in ("a", "b", "c")}
        ms = load_modules(enabled, plugins=plugins)
        assert [m for m, _, _ in ms.collect("sultan_config_sections")] == enabled


def test_requires_a_module_listed_later_is_bound() -> None:
    """Keepers are bound after every module is loaded, so order does not limit `requires`."""
    bound_alpha: dict[str, Any] = {}
    keeper = object()
    ms = load_modules(
        ["alpha", "beta"],
        plugins={
            "alpha": make_plugin("alpha", requires=("beta",), bound=bound_alpha),
            "beta": make_plugin("beta", keeper=keeper),
        },
    )
    assert ms.names == ["alpha", "beta"]
    assert bound_alpha == {"beta": keeper}


def test_module_without_keeper_binds_none() -> None:
    bound: dict[str, Any] = {}
    load_modules(
        ["alpha", "beta"],
        plugins={
            "alpha": make_plugin("alpha"),
            "beta": make_plugin("beta", requires=("alpha",), bound=bound),
        },
    )
    assert bound == {"alpha": None}
