"""Store layout of the counter module (store key "counter")."""

STORE_KEY = "counter"
MODULE_NAME = "counter"

# One-byte prefixes inside the module's store.
VALUE_PREFIX = b"\x01"
INCREMENTS_PREFIX = b"\x02"
PARAMS_PREFIX = b"\x03"
