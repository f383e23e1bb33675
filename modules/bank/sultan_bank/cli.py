"""Bank commands for the `sultan` CLI (registered through `sultan_cli_commands`):

- `sultan tx bank send FROM TO COINS` — FROM is a key name (or address) in the keyring;
- `sultan query bank balances ADDRESS [--denom D]`;
- `sultan genesis add-account ADDRESS_OR_KEY COINS` — fund an account in `genesis.json`
  before the chain starts (a BaseAccount in `auth.accounts`, a balance in `bank.balances`,
  `bank.supply` updated), as the SDK's `genesis add-genesis-account` does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import click

from sultan.client import cli_support
from sultan.client.errors import ClientError
from sultan.kernel.address import ACCOUNT_CODEC
from sultan.kernel.coins import Coins
from sultan.kernel.errors import SdkError
from sultan.kernel.genesis import load_genesis, write_genesis
from sultan.kernel.home import Home
from sultan_bank.keys import MODULE_NAME

BASE_ACCOUNT_TYPE_URL = "/cosmos.auth.v1beta1.BaseAccount"
MODULE_ACCOUNT_TYPE_URL = "/cosmos.auth.v1beta1.ModuleAccount"


class GenesisEditError(ClientError):
    """genesis add-account refused the change (the genesis file is left untouched)."""


def parse_coins(text: str) -> Coins:
    """Positive coins from "1000usultan,5stake"; a clear error otherwise."""
    try:
        coins = Coins.parse(text)
    except SdkError as exc:
        raise GenesisEditError(f"invalid coins {text!r}: {exc.message}") from None
    if not coins:
        raise GenesisEditError(f"invalid coins {text!r}: give a positive amount like 1000usultan")
    return coins


def _address_or_key(value: str, flags: dict[str, Any]) -> str:
    """A `sultan1…` address as is, else the address of that key in the keyring."""
    if ACCOUNT_CODEC.is_valid(value):
        return value
    if value.startswith(ACCOUNT_CODEC.prefix + "1"):
        try:
            ACCOUNT_CODEC.to_bytes(value)
        except SdkError as exc:
            raise GenesisEditError(f"invalid address {value!r}: {exc.message}") from None
    keyring = cli_support.open_keyring(
        flags.get("home"), flags["keyring_backend"], flags.get("keyring_passphrase_file")
    )
    return keyring.find(value).address


# -- tx bank send --------------------------------------------------------------------------------


@click.group("bank")
def tx_group() -> None:
    """Bank transactions (MsgSend)."""


@tx_group.command("send")
@click.argument("from_key", metavar="FROM")
@click.argument("to_address", metavar="TO")
@click.argument("amount", metavar="COINS")
@cli_support.tx_flags
def send_command(from_key: str, to_address: str, amount: str, **flags: Any) -> None:
    """Send COINS (e.g. 1000usultan) from key FROM to address TO (or a key name)."""
    try:
        coins = Coins.parse(amount)
    except SdkError as exc:
        raise click.BadParameter(exc.message, param_hint="COINS") from None
    if not coins:
        raise click.BadParameter("give a positive amount like 1000usultan", param_hint="COINS")
    recipient = _address_or_key(to_address, flags)

    def build(sender: str) -> list[Any]:
        from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2

        return [tx_pb2.MsgSend(from_address=sender, to_address=recipient, amount=coins.to_proto())]

    cli_support.run_tx(flags, from_key, build)


# -- query bank ----------------------------------------------------------------------------------


@click.group("bank")
def query_group() -> None:
    """Bank queries (balances)."""


@query_group.command("balances")
@click.argument("address")
@click.option("--denom", default=None, help="Only this denom (prints {denom, amount}).")
@cli_support.query_flags
def balances_command(
    address: str, denom: str | None, home: Path | None, node: str | None, height: int
) -> None:
    """Balances of ADDRESS as JSON (all denoms, or one with --denom)."""
    from sultan_bank.pb.cosmos.bank.v1beta1 import query_pb2 as q

    client = cli_support.rpc_client(home, node)
    if denom:
        response = client.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            q.QueryBalanceRequest(address=address, denom=denom),
            q.QueryBalanceResponse,
            height,
        )
        cli_support.echo_json(cli_support.proto_json(response.balance))
        return
    response = client.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        q.QueryAllBalancesRequest(address=address),
        q.QueryAllBalancesResponse,
        height,
    )
    cli_support.echo_json(cli_support.proto_json(response))


# -- genesis add-account -------------------------------------------------------------------------


def _account_address(account: Any) -> str:
    if not isinstance(account, dict):
        return ""
    if account.get("@type") == MODULE_ACCOUNT_TYPE_URL:
        base = account.get("base_account") or {}
        return str(base.get("address", "")) if isinstance(base, dict) else ""
    return str(account.get("address", ""))


def _account_number(account: Any) -> int:
    base = account.get("base_account", account) if isinstance(account, dict) else {}
    try:
        return int(base.get("account_number", 0))
    except (TypeError, ValueError, AttributeError):
        return 0


def _address_key(entry: Any) -> bytes:
    try:
        return ACCOUNT_CODEC.to_bytes(entry["address"])
    except (SdkError, KeyError, TypeError):
        return b""


def add_genesis_account(
    home: Path, address: str, coins: Coins, *, append: bool = False
) -> dict[str, Any]:
    """Fund `address` with `coins` in `<home>/config/genesis.json`; returns the new balance.

    Adds a BaseAccount (the next account number) to `auth.accounts` and the balance to
    `bank.balances` (kept sorted by address), updates `bank.supply`, then checks the whole
    app_state with every enabled module's `validate_genesis` before writing. An address
    already in genesis is refused unless `append` (then the coins are added to it)."""
    from sultan.kernel.modules import load_modules, read_plugins_toml

    h = Home(home)
    doc = load_genesis(h.genesis_json)
    module_set = load_modules(read_plugins_toml(str(h.plugins_toml)))
    for needed in ("auth", MODULE_NAME):
        if needed not in module_set.names or needed not in doc.app_state:
            raise GenesisEditError(
                f"{h.genesis_json}: genesis add-account needs the auth and bank modules: "
                f"enable them in {h.plugins_toml} before `sultan init` "
                f"(enabled: {', '.join(module_set.names) or 'none'})"
            )

    def validate(app_state: dict[str, Any], when: str) -> None:
        for module in module_set.modules:
            if module.validate_genesis is not None and module.name in app_state:
                try:
                    module.validate_genesis(app_state[module.name])
                except ValueError as exc:
                    raise GenesisEditError(
                        f"{h.genesis_json}: {module.name} genesis {when}: {exc}"
                    ) from None

    validate(doc.app_state, "is invalid already")
    try:
        ACCOUNT_CODEC.to_bytes(address)
    except SdkError as exc:
        raise GenesisEditError(f"invalid address {address!r}: {exc.message}") from None
    app_state = copy.deepcopy(doc.app_state)
    auth, bank = app_state["auth"], app_state[MODULE_NAME]
    accounts: list[Any] = auth.setdefault("accounts", [])
    balances: list[Any] = bank.get("balances") or []
    has_account = any(_account_address(a) == address for a in accounts)
    balance = next((b for b in balances if b.get("address") == address), None)
    if (has_account or balance is not None) and not append:
        where = "auth.accounts" if has_account else "bank.balances"
        raise GenesisEditError(
            f"account {address} is already in genesis ({where}); "
            "use --append to add coins to its balance"
        )
    if not has_account:
        number = max((_account_number(a) + 1 for a in accounts), default=0)
        accounts.append(
            {
                "@type": BASE_ACCOUNT_TYPE_URL,
                "address": address,
                "pub_key": None,
                "account_number": str(number),
                "sequence": "0",
            }
        )
    try:
        if balance is None:
            balance = {"address": address, "coins": coins.to_dicts()}
            balances.append(balance)
        else:
            balance["coins"] = (Coins.from_dicts(balance["coins"]) + coins).to_dicts()
        total = Coins()
        for entry in balances:
            total = total + Coins.from_dicts(entry["coins"])
    except SdkError as exc:
        raise GenesisEditError(f"cannot add {coins} to genesis: {exc.message}") from None
    bank["balances"] = sorted(balances, key=_address_key)
    bank["supply"] = total.to_dicts()
    validate(app_state, "would become invalid")
    write_genesis(h.genesis_json, attrs.evolve(doc, app_state=app_state))
    return dict(balance)


@click.command("add-account")
@click.argument("address_or_key", metavar="ADDRESS_OR_KEY")
@click.argument("coins", metavar="COINS")
@click.option("--append", is_flag=True, help="Add COINS to an account already in genesis.")
@cli_support.keyring_flags
def add_account_command(
    address_or_key: str,
    coins: str,
    append: bool,
    home: Path | None,
    keyring_backend: str,
    keyring_passphrase_file: Path | None,
) -> None:
    """Fund an account in genesis: ADDRESS_OR_KEY is a sultan1… address or a key name."""
    flags = {
        "home": home,
        "keyring_backend": keyring_backend,
        "keyring_passphrase_file": keyring_passphrase_file,
    }
    parsed = parse_coins(coins)
    address = _address_or_key(address_or_key, flags)
    root = cli_support.resolve_home(home)
    balance = add_genesis_account(root, address, parsed, append=append)
    total = Coins.from_dicts(balance["coins"])
    click.echo(f"genesis account {address}: {total} ({Home(root).genesis_json})")


def register_commands(register: Callable[[str, click.Command], None]) -> None:
    register("tx", tx_group)
    register("query", query_group)
    register("genesis", add_account_command)
