"""Staking commands for the `sultan` CLI (registered through `sultan_cli_commands`):

- `sultan genesis gentx KEY AMOUNT` — sign a MsgCreateValidator for this node's consensus
  key (`config/priv_validator_key.json`) with account key KEY; writes
  `config/gentx/gentx-<node id>.json`;
- `sultan genesis collect-gentxs` — put every `config/gentx/*.json` into the staking genesis
  (`gen_txs`, signatures checked against the chain id) and set genesis `validators` to the
  resulting bonded set;
- `sultan tx staking create-validator|delegate|unbond|redelegate …`;
- `sultan query staking validators|validator|delegation|delegations|unbonding-delegations|
  redelegations|pool|params|historical-info`.

`init_validator` is what `sultan init` runs (through the `sultan_init_home` hook) when
staking is enabled: a `validator` key in the home's test keyring, funded through the
registered `genesis add-account` command, then gentx + collect-gentxs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import click

from sultan.client import cli_support
from sultan.client.errors import ClientError
from sultan.kernel import legacydec
from sultan.kernel.coins import Coin, Coins
from sultan.kernel.crypto.keys import load_node_key, load_priv_validator_key
from sultan.kernel.errors import SdkError
from sultan.kernel.genesis import GenesisValidator, load_genesis, write_genesis
from sultan.kernel.home import Home
from sultan_staking import keys

INIT_KEY_NAME = "validator"
INIT_FUNDS = 1_000_000_000_000  # usultan given to the init validator's operator account
INIT_SELF_BOND = 100_000_000  # usultan bonded at genesis: consensus power 100


class StakingCliError(ClientError):
    """A staking CLI command refused its input (nothing was written)."""


def _coin(text: str, what: str) -> Coin:
    try:
        coins = Coins.parse(text)
    except SdkError as exc:
        raise StakingCliError(f"invalid {what} {text!r}: {exc.message}") from None
    if len(coins) != 1:
        raise StakingCliError(f"invalid {what} {text!r}: give one positive amount like 1000usultan")
    return next(iter(coins))


def _dec(text: str, what: str) -> int:
    try:
        return legacydec.from_string(text)
    except Exception:
        raise StakingCliError(f"invalid {what} {text!r}: give a decimal like 0.05") from None


# -- genesis gentx / collect-gentxs ------------------------------------------------------------


def write_gentx(
    home: Path,
    signer: Any,
    amount: Coin,
    *,
    moniker: str | None = None,
    rate: str = "0.10",
    max_rate: str = "0.20",
    max_change_rate: str = "0.01",
    min_self_delegation: int = 1,
) -> Path:
    """Sign a MsgCreateValidator for the home's consensus key; returns the gentx file."""
    from sultan_staking import gentx

    h = Home(home)
    doc = load_genesis(h.genesis_json, require_validators=False)
    pv = load_priv_validator_key(h.priv_validator_key)
    node_id = load_node_key(h.node_key).node_id
    msg = gentx.create_validator_msg(
        signer.address_bytes,
        pv.pub_key,
        amount,
        moniker=moniker or _moniker(h),
        rate=_dec(rate, "commission rate"),
        max_rate=_dec(max_rate, "max commission rate"),
        max_change_rate=_dec(max_change_rate, "max commission change rate"),
        min_self_delegation=min_self_delegation,
    )
    raw = gentx.build_gentx(signer, msg, doc.chain_id)
    target = h.config_dir / "gentx" / f"gentx-{node_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "chain_id": doc.chain_id,
        "validator_address": msg.validator_address,
        "moniker": msg.description.moniker,
        "amount": str(amount),
        "tx": gentx.encode(raw),
    }
    target.write_text(json.dumps(record, indent=2) + "\n")
    return target


def _moniker(h: Home) -> str:
    try:
        from sultan.kernel.config import load_config

        cfg, _ = load_config(h.root)
        return str(cfg.node.moniker)
    except Exception:
        return "validator"


def collect_gentxs(home: Path, gentx_dir: Path | None = None) -> list[str]:
    """Add every gentx file to staking's `gen_txs`; returns the monikers collected."""
    from sultan_staking import genesis as staking_genesis
    from sultan_staking.msg_server import _ed25519_key

    h = Home(home)
    doc = load_genesis(h.genesis_json, require_validators=False)
    if keys.MODULE_NAME not in doc.app_state:
        raise StakingCliError(
            f"{h.genesis_json} has no staking section: enable staking in {h.plugins_toml} "
            "before `sultan init`"
        )
    folder = gentx_dir or h.config_dir / "gentx"
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise StakingCliError(f"no gentx files in {folder}: run `sultan genesis gentx` first")
    txs, monikers, validators = [], [], []
    seen: set[bytes] = set()
    for path in files:
        try:
            record = json.loads(path.read_text())
            raw = base64.b64decode(record["tx"], validate=True)
            msg = staking_genesis.verify_gentx(raw, doc.chain_id, str(path))
            pub_key = _ed25519_key(msg.pubkey)
        except (ValueError, KeyError, TypeError, SdkError) as exc:
            raise StakingCliError(f"{path}: invalid gentx: {exc}") from None
        if pub_key in seen:
            raise StakingCliError(f"{path}: a second gentx for the same consensus key")
        seen.add(pub_key)
        txs.append(base64.b64encode(raw).decode())
        monikers.append(msg.description.moniker)
        power = int(msg.value.amount) // keys.POWER_REDUCTION
        if power > 0:
            validators.append(
                GenesisValidator.from_pub_key(pub_key, power, msg.description.moniker)
            )
    app_state = dict(doc.app_state)
    section = dict(app_state[keys.MODULE_NAME])
    section["gen_txs"] = txs
    app_state[keys.MODULE_NAME] = section
    validators.sort(key=lambda v: (-v.power, v.address))
    updated = attrs.evolve(doc, app_state=app_state, validators=tuple(validators) or doc.validators)
    write_genesis(h.genesis_json, updated)
    return monikers


def _run_registered(group: str, name: str, args: list[str]) -> None:
    """Run another module's registered CLI command (e.g. bank's `genesis add-account`)."""
    from sultan.cli.main import cli

    target = cli.commands.get(group)
    command = target.commands.get(name) if isinstance(target, click.Group) else None
    if command is None:
        raise StakingCliError(
            f"`sultan {group} {name}` is not available: staking's init needs the bank module"
        )
    command.main(args=args, prog_name=f"sultan {group} {name}", standalone_mode=False)


def init_validator(home: Path, moniker: str) -> None:
    """Make the node's own validator at genesis (what `sultan init` runs for staking)."""
    from sultan.client.keyring import Keyring

    keyring = Keyring(home, "test")
    if keyring.has(INIT_KEY_NAME):
        info = keyring.get(INIT_KEY_NAME)
        mnemonic = None
    else:
        info, mnemonic = keyring.add(INIT_KEY_NAME)
    _run_registered(
        "genesis",
        "add-account",
        [info.address, f"{INIT_FUNDS}usultan", "--home", str(home), "--keyring-backend", "test"],
    )
    signer = keyring.signer(INIT_KEY_NAME)
    write_gentx(home, signer, Coin("usultan", INIT_SELF_BOND), moniker=moniker)
    collect_gentxs(home)
    click.echo(
        f"Validator operator: key {INIT_KEY_NAME!r} in {keyring.dir} (UNENCRYPTED test keyring), "
        f"address {info.address}, {INIT_SELF_BOND}usultan self-delegated at genesis"
    )
    if mnemonic:
        click.echo(f"Operator mnemonic (write it down; it recovers the key): {mnemonic}")


@click.command("gentx")
@click.argument("key")
@click.argument("amount")
@click.option("--moniker", default=None, help="Validator name  [default: the node's moniker]")
@click.option("--commission-rate", default="0.10", show_default=True)
@click.option("--commission-max-rate", default="0.20", show_default=True)
@click.option("--commission-max-change-rate", default="0.01", show_default=True)
@click.option("--min-self-delegation", type=int, default=1, show_default=True)
@cli_support.keyring_flags
def gentx_command(
    key: str,
    amount: str,
    moniker: str | None,
    commission_rate: str,
    commission_max_rate: str,
    commission_max_change_rate: str,
    min_self_delegation: int,
    home: Path | None,
    keyring_backend: str,
    keyring_passphrase_file: Path | None,
) -> None:
    """Sign a genesis MsgCreateValidator bonding AMOUNT from account KEY (fund it first with
    `sultan genesis add-account`)."""
    root = cli_support.resolve_home(home)
    keyring = cli_support.open_keyring(home, keyring_backend, keyring_passphrase_file)
    signer = keyring.signer(key)
    path = write_gentx(
        root,
        signer,
        _coin(amount, "amount"),
        moniker=moniker,
        rate=commission_rate,
        max_rate=commission_max_rate,
        max_change_rate=commission_max_change_rate,
        min_self_delegation=min_self_delegation,
    )
    click.echo(f"gentx written to {path}")


@click.command("collect-gentxs")
@click.option(
    "--gentx-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder of gentx files  [default: HOME/config/gentx]",
)
@cli_support.home_option
def collect_gentxs_command(gentx_dir: Path | None, home: Path | None) -> None:
    """Put the gentxs into genesis.json (staking gen_txs and the genesis validator set)."""
    root = cli_support.resolve_home(home)
    monikers = collect_gentxs(root, gentx_dir)
    click.echo(f"collected {len(monikers)} gentx(s): {', '.join(monikers)}")


# -- tx staking ------------------------------------------------------------------------------------


@click.group("staking")
def tx_group() -> None:
    """Staking transactions."""


def _pb() -> Any:
    from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2

    return tx_pb2


@tx_group.command("delegate")
@click.argument("validator")
@click.argument("amount")
@click.option("--from", "from_key", required=True, help="Key name or address that signs.")
@cli_support.tx_flags
def delegate_command(validator: str, amount: str, from_key: str, **flags: Any) -> None:
    """Delegate AMOUNT (e.g. 1000000usultan) to VALIDATOR (sultanvaloper1…)."""
    coin = _coin(amount, "amount")
    cli_support.run_tx(
        flags,
        from_key,
        lambda sender: [
            _pb().MsgDelegate(
                delegator_address=sender, validator_address=validator, amount=coin.to_proto()
            )
        ],
    )


@tx_group.command("unbond")
@click.argument("validator")
@click.argument("amount")
@click.option("--from", "from_key", required=True, help="Key name or address that signs.")
@cli_support.tx_flags
def unbond_command(validator: str, amount: str, from_key: str, **flags: Any) -> None:
    """Undelegate AMOUNT from VALIDATOR; tokens return after the unbonding time."""
    coin = _coin(amount, "amount")
    cli_support.run_tx(
        flags,
        from_key,
        lambda sender: [
            _pb().MsgUndelegate(
                delegator_address=sender, validator_address=validator, amount=coin.to_proto()
            )
        ],
    )


@tx_group.command("redelegate")
@click.argument("src_validator")
@click.argument("dst_validator")
@click.argument("amount")
@click.option("--from", "from_key", required=True, help="Key name or address that signs.")
@cli_support.tx_flags
def redelegate_command(
    src_validator: str, dst_validator: str, amount: str, from_key: str, **flags: Any
) -> None:
    """Move AMOUNT of a delegation from SRC_VALIDATOR to DST_VALIDATOR."""
    coin = _coin(amount, "amount")
    cli_support.run_tx(
        flags,
        from_key,
        lambda sender: [
            _pb().MsgBeginRedelegate(
                delegator_address=sender,
                validator_src_address=src_validator,
                validator_dst_address=dst_validator,
                amount=coin.to_proto(),
            )
        ],
    )


@tx_group.command("create-validator")
@click.argument("amount")
@click.option("--from", "from_key", required=True, help="Operator key name or address.")
@click.option("--pubkey", default=None, help="Base64 ed25519 consensus key [default: this home's]")
@click.option("--moniker", required=True)
@click.option("--identity", default="")
@click.option("--website", default="")
@click.option("--details", default="")
@click.option("--commission-rate", default="0.10", show_default=True)
@click.option("--commission-max-rate", default="0.20", show_default=True)
@click.option("--commission-max-change-rate", default="0.01", show_default=True)
@click.option("--min-self-delegation", type=int, default=1, show_default=True)
@cli_support.tx_flags
def create_validator_command(
    amount: str,
    from_key: str,
    pubkey: str | None,
    moniker: str,
    identity: str,
    website: str,
    details: str,
    commission_rate: str,
    commission_max_rate: str,
    commission_max_change_rate: str,
    min_self_delegation: int,
    **flags: Any,
) -> None:
    """Create a validator bonding AMOUNT from the operator account."""
    from sultan_staking import gentx

    coin = _coin(amount, "amount")
    if pubkey is None:
        h = Home(cli_support.resolve_home(flags.get("home")))
        pub_key = load_priv_validator_key(h.priv_validator_key).pub_key
    else:
        try:
            pub_key = base64.b64decode(pubkey, validate=True)
        except ValueError:
            raise StakingCliError("--pubkey must be base64 (32-byte ed25519 key)") from None
    rates = (
        _dec(commission_rate, "commission rate"),
        _dec(commission_max_rate, "max commission rate"),
        _dec(commission_max_change_rate, "max commission change rate"),
    )

    def build(sender: str) -> list[Any]:
        from sultan.kernel.address import ACCOUNT_CODEC

        return [
            gentx.create_validator_msg(
                ACCOUNT_CODEC.to_bytes(sender),
                pub_key,
                coin,
                moniker=moniker,
                identity=identity,
                website=website,
                details=details,
                rate=rates[0],
                max_rate=rates[1],
                max_change_rate=rates[2],
                min_self_delegation=min_self_delegation,
            )
        ]

    cli_support.run_tx(flags, from_key, build)


# -- query staking --------------------------------------------------------------------------------


@click.group("staking")
def query_group() -> None:
    """Staking queries (printed as the REST gateway's JSON)."""


def _query(flags: dict[str, Any], method: str, request: Any) -> None:
    from sultan_staking import queries

    route = next(r for r in queries.ROUTES if r[0] == method)
    client = cli_support.rpc_client(flags.get("home"), flags.get("node"))
    response = client.query(queries.SERVICE + method, request, route[2], flags.get("height", 0))
    cli_support.echo_json(cli_support.proto_json(response))


def _q() -> Any:
    from sultan_staking.pb.cosmos.staking.v1beta1 import query_pb2

    return query_pb2


@query_group.command("validators")
@click.option("--status", default="", help="BOND_STATUS_BONDED, _UNBONDING or _UNBONDED")
@cli_support.query_flags
def validators_command(status: str, **flags: Any) -> None:
    """All validators (or those with --status)."""
    _query(flags, "Validators", _q().QueryValidatorsRequest(status=status))


@query_group.command("validator")
@click.argument("validator")
@cli_support.query_flags
def validator_command(validator: str, **flags: Any) -> None:
    """One validator by operator address."""
    _query(flags, "Validator", _q().QueryValidatorRequest(validator_addr=validator))


@query_group.command("delegation")
@click.argument("delegator")
@click.argument("validator")
@cli_support.query_flags
def delegation_command(delegator: str, validator: str, **flags: Any) -> None:
    """DELEGATOR's delegation to VALIDATOR."""
    _query(
        flags,
        "Delegation",
        _q().QueryDelegationRequest(delegator_addr=delegator, validator_addr=validator),
    )


@query_group.command("delegations")
@click.argument("delegator")
@cli_support.query_flags
def delegations_command(delegator: str, **flags: Any) -> None:
    """Every delegation of DELEGATOR."""
    _query(
        flags,
        "DelegatorDelegations",
        _q().QueryDelegatorDelegationsRequest(delegator_addr=delegator),
    )


@query_group.command("unbonding-delegations")
@click.argument("delegator")
@cli_support.query_flags
def unbonding_command(delegator: str, **flags: Any) -> None:
    """DELEGATOR's unbonding delegations."""
    _query(
        flags,
        "DelegatorUnbondingDelegations",
        _q().QueryDelegatorUnbondingDelegationsRequest(delegator_addr=delegator),
    )


@query_group.command("redelegations")
@click.argument("delegator")
@cli_support.query_flags
def redelegations_command(delegator: str, **flags: Any) -> None:
    """DELEGATOR's redelegations in progress."""
    _query(flags, "Redelegations", _q().QueryRedelegationsRequest(delegator_addr=delegator))


@query_group.command("pool")
@cli_support.query_flags
def pool_command(**flags: Any) -> None:
    """Bonded and not-bonded token totals."""
    _query(flags, "Pool", _q().QueryPoolRequest())


@query_group.command("params")
@cli_support.query_flags
def params_command(**flags: Any) -> None:
    """Staking parameters."""
    _query(flags, "Params", _q().QueryParamsRequest())


@query_group.command("historical-info")
@click.argument("height", type=int)
@cli_support.query_flags
def historical_info_command(height: int, **flags: Any) -> None:
    """The header and bonded validators recorded at HEIGHT."""
    _query(flags, "HistoricalInfo", _q().QueryHistoricalInfoRequest(height=height))


def register_commands(register: Callable[[str, click.Command], None]) -> None:
    register("genesis", gentx_command)
    register("genesis", collect_gentxs_command)
    register("tx", tx_group)
    register("query", query_group)
