"""Store layout of the auth module (store key "acc").

| prefix | collection        | key                              | value                      |
|--------|-------------------|----------------------------------|----------------------------|
| 0x00   | params            | —                                | Params record              |
| 0x01   | accounts          | len(address) ‖ address           | AccountRecord              |
| 0x02   | account_by_number | account number (8 bytes, BE)     | address bytes              |
| 0x03   | next_account_number | —                              | u64 (8 bytes, BE)          |
"""

MODULE_NAME = "auth"
STORE_KEY = "acc"

PARAMS_PREFIX = b"\x00"
ACCOUNTS_PREFIX = b"\x01"
ACCOUNT_BY_NUMBER_PREFIX = b"\x02"
NEXT_ACCOUNT_NUMBER_PREFIX = b"\x03"

FEE_COLLECTOR_NAME = "fee_collector"

# Module account permissions (the SDK's authtypes.Minter/Burner/Staking).
MINTER = "minter"
BURNER = "burner"
STAKING = "staking"
PERMISSIONS = frozenset({MINTER, BURNER, STAKING})

BASE_ACCOUNT_TYPE_URL = "/cosmos.auth.v1beta1.BaseAccount"
MODULE_ACCOUNT_TYPE_URL = "/cosmos.auth.v1beta1.ModuleAccount"
SECP256K1_PUBKEY_TYPE_URL = "/cosmos.crypto.secp256k1.PubKey"
ED25519_PUBKEY_TYPE_URL = "/cosmos.crypto.ed25519.PubKey"
MULTISIG_PUBKEY_TYPE_URL = "/cosmos.crypto.multisig.LegacyAminoPubKey"
