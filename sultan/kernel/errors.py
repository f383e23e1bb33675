"""Cosmos-style errors: every failure a client sees carries a codespace and a code.

Clients (cosmpy, CosmJS, Keplr) show these codes and messages to users, so the numbers and
descriptions follow the Cosmos SDK's `types/errors` registry exactly.
"""

from __future__ import annotations

_REGISTRY: dict[tuple[str, int], str] = {}


class SdkError(Exception):
    """A tx or query failure with a codespace/code; `log` renders it as the SDK does."""

    codespace: str = "sdk"
    code: int = 1
    description: str = "internal"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.description)
        self.message = message

    @property
    def log(self) -> str:
        if self.message and self.message != self.description:
            return f"{self.message}: {self.description}"
        return self.description


def register_error(codespace: str, code: int, description: str) -> type[SdkError]:
    """Create a distinct error class; a (codespace, code) pair may be registered once."""
    if code <= 1 and codespace == "sdk" and description != "internal":
        raise ValueError("codes 0 and 1 are reserved")
    if (codespace, code) in _REGISTRY:
        raise ValueError(
            f"error {codespace}/{code} already registered as {_REGISTRY[codespace, code]!r}"
        )
    _REGISTRY[codespace, code] = description
    name = "".join(part.capitalize() for part in description.replace("-", " ").split()) + "Error"
    return type(
        name, (SdkError,), {"codespace": codespace, "code": code, "description": description}
    )


ErrTxDecode = register_error("sdk", 2, "tx parse error")
ErrInvalidSequence = register_error("sdk", 3, "invalid sequence")
ErrUnauthorized = register_error("sdk", 4, "unauthorized")
ErrInsufficientFunds = register_error("sdk", 5, "insufficient funds")
ErrUnknownRequest = register_error("sdk", 6, "unknown request")
ErrInvalidAddress = register_error("sdk", 7, "invalid address")
ErrInvalidPubKey = register_error("sdk", 8, "invalid pubkey")
ErrUnknownAddress = register_error("sdk", 9, "unknown address")
ErrInvalidCoins = register_error("sdk", 10, "invalid coins")
ErrOutOfGas = register_error("sdk", 11, "out of gas")
ErrMemoTooLarge = register_error("sdk", 12, "memo too large")
ErrInsufficientFee = register_error("sdk", 13, "insufficient fee")
ErrTooManySignatures = register_error("sdk", 14, "maximum number of signatures exceeded")
ErrNoSignatures = register_error("sdk", 15, "no signatures supplied")
ErrJSONMarshal = register_error("sdk", 16, "failed to marshal JSON bytes")
ErrJSONUnmarshal = register_error("sdk", 17, "failed to unmarshal JSON bytes")
ErrInvalidRequest = register_error("sdk", 18, "invalid request")
ErrTxInMempoolCache = register_error("sdk", 19, "tx already in mempool")
ErrMempoolIsFull = register_error("sdk", 20, "mempool is full")
ErrTxTooLarge = register_error("sdk", 21, "tx too large")
ErrKeyNotFound = register_error("sdk", 22, "key not found")
ErrWrongPassword = register_error("sdk", 23, "invalid account password")
ErrorInvalidSigner = register_error("sdk", 24, "tx intended signer does not match the given signer")
ErrorInvalidGasAdjustment = register_error("sdk", 25, "invalid gas adjustment")
ErrInvalidHeight = register_error("sdk", 26, "invalid height")
ErrInvalidVersion = register_error("sdk", 27, "invalid version")
ErrInvalidChainID = register_error("sdk", 28, "invalid chain-id")
ErrInvalidType = register_error("sdk", 29, "invalid type")
ErrTxTimeoutHeight = register_error("sdk", 30, "tx timeout height")
ErrUnknownExtensionOptions = register_error("sdk", 31, "unknown extension options")
ErrWrongSequence = register_error("sdk", 32, "incorrect account sequence")
ErrPackAny = register_error("sdk", 33, "failed packing protobuf message to Any")
ErrUnpackAny = register_error("sdk", 34, "failed unpacking protobuf message from Any")
ErrLogic = register_error("sdk", 35, "internal logic error")
ErrConflict = register_error("sdk", 36, "conflict")
ErrNotSupported = register_error("sdk", 37, "feature not supported")
ErrNotFound = register_error("sdk", 38, "not found")
ErrIO = register_error("sdk", 39, "Internal IO error")
ErrAppConfig = register_error("sdk", 40, "error in app.toml")
ErrInvalidGasLimit = register_error("sdk", 41, "invalid gas limit")


class QueryError(Exception):
    """A query failure with a gRPC status name ("NotFound", "InvalidArgument", …).

    ABCI renders it as `rpc error: code = <Name> desc = <message>`, the text CosmJS and
    cosmpy match on (e.g. /rpc error: code = NotFound/ for unknown accounts).
    """

    GRPC_CODES = {
        "InvalidArgument": 3,
        "NotFound": 5,
        "Unimplemented": 12,
        "Internal": 13,
        "Unavailable": 14,
        "FailedPrecondition": 9,
    }

    def __init__(self, status: str, message: str) -> None:
        if status not in self.GRPC_CODES:
            raise ValueError(f"unknown gRPC status {status!r}")
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def log(self) -> str:
        return f"rpc error: code = {self.status} desc = {self.message}"


class ResultError(SdkError):
    """A failure reported by an ABCI result (code, codespace, log) re-raised as an error."""

    def __init__(self, codespace: str, code: int, log: str) -> None:
        super().__init__(log)
        self.codespace = codespace
        self.code = code
        self._log = log

    @property
    def log(self) -> str:
        return self._log
