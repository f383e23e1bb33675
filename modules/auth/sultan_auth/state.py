"""The auth module's state, declared once as typed collections."""

from __future__ import annotations

import attrs

from sultan.kernel.store.collections import (
    BYTES_KEY,
    U64,
    Item,
    Map,
    RecordCodec,
    Schema,
    Sequence,
)
from sultan_auth.keys import (
    ACCOUNT_BY_NUMBER_PREFIX,
    ACCOUNTS_PREFIX,
    NEXT_ACCOUNT_NUMBER_PREFIX,
    PARAMS_PREFIX,
)


@attrs.frozen
class Params:
    """The SDK v0.50 defaults."""

    max_memo_characters: int = 256
    tx_sig_limit: int = 7
    tx_size_cost_per_byte: int = 10
    sig_verify_cost_ed25519: int = 590
    sig_verify_cost_secp256k1: int = 1000


@attrs.frozen
class AccountRecord:
    """An account as stored. `pub_key_type` is its Any type URL ("" while unset);
    `module_name` is set (and `permissions` may be) only for module accounts."""

    account_number: int
    sequence: int = 0
    pub_key_type: str = ""
    pub_key: bytes = b""
    module_name: str = ""
    permissions: tuple[str, ...] = ()


class RawBytes:
    """Bytes stored as they are (a value codec)."""

    def encode(self, value: bytes) -> bytes:
        return bytes(value)

    def decode(self, data: bytes) -> bytes:
        return bytes(data)


params: Item[Params] = Item(PARAMS_PREFIX, "params", RecordCodec(Params))
accounts: Map[bytes, AccountRecord] = Map(
    ACCOUNTS_PREFIX, "accounts", BYTES_KEY, RecordCodec(AccountRecord)
)
account_by_number: Map[int, bytes] = Map(
    ACCOUNT_BY_NUMBER_PREFIX, "account_by_number", U64, RawBytes()
)
next_account_number = Sequence(NEXT_ACCOUNT_NUMBER_PREFIX, "next_account_number")

SCHEMA = Schema(params, accounts, account_by_number, next_account_number)
