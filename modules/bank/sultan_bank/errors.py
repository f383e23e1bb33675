"""x/bank error codes (codespace "bank"), as registered by the SDK."""

from sultan import register_error

ErrNoInputs = register_error("bank", 2, "no inputs to send transaction")
ErrNoOutputs = register_error("bank", 3, "no outputs to send transaction")
ErrInputOutputMismatch = register_error("bank", 4, "sum inputs != sum outputs")
ErrSendDisabled = register_error("bank", 5, "send transactions are disabled")
ErrDenomMetadataNotFound = register_error("bank", 6, "client denom metadata not found")
ErrInvalidKey = register_error("bank", 7, "invalid key")
ErrDuplicateEntry = register_error("bank", 8, "duplicate entry")
ErrMultipleSenders = register_error("bank", 9, "multiple senders not allowed")
