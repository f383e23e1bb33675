"""Errors of the client side (keyring, node RPC, transactions): all are the user's to fix.

The `sultan` CLI prints them as one `Error: …` line and exits 1. This module imports
nothing heavy, so the CLI can name these classes without loading crypto or RPC code.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base class: a message meant for the person at the terminal."""


class KeyringError(ClientError):
    """A keyring problem: unknown or duplicate key, bad name, unreadable file."""


class KeyNotFoundError(KeyringError):
    pass


class DuplicateKeyError(KeyringError):
    pass


class WrongPassphraseError(KeyringError):
    pass


class InvalidMnemonicError(KeyringError):
    pass


class NodeError(ClientError):
    """The node could not be reached, or answered with an RPC error."""


class QueryFailedError(ClientError):
    """An `abci_query` returned a non-zero code; carries the Cosmos codespace/code/log."""

    def __init__(self, path: str, code: int, codespace: str, log: str) -> None:
        self.path = path
        self.code = code
        self.codespace = codespace
        self.log = log
        where = f" (codespace {codespace}, code {code})" if codespace else f" (code {code})"
        super().__init__(f"{log or 'query failed'}{where}")


class TxFailedError(ClientError):
    """A transaction was refused (CheckTx or simulation) or failed in its block."""

    def __init__(self, message: str, *, code: int = 1, codespace: str = "", txhash: str = ""):
        self.code = code
        self.codespace = codespace
        self.txhash = txhash
        super().__init__(message)
