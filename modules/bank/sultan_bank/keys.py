"""Store layout of the bank module (store key "bank"), as in SDK v0.50's x/bank.

| prefix | collection     | key                                   | value                     |
|--------|----------------|---------------------------------------|---------------------------|
| 0x00   | supply         | denom (UTF-8)                         | amount (base-10 ASCII)    |
| 0x01   | denom_metadata | denom (UTF-8)                         | Metadata (protobuf)       |
| 0x02   | balances       | len(address) ‖ address ‖ denom        | amount (base-10 ASCII)    |
| 0x03   | denom_owners   | len(denom) ‖ denom ‖ address          | empty (index of 0x02)     |
| 0x04   | send_enabled   | denom (UTF-8)                         | 0x01 enabled / 0x00 not   |
| 0x05   | params         | —                                     | Params record             |

Balances are kept per (address, denom), so a transfer writes only the entries it changes;
zero balances are deleted, never stored.
"""

MODULE_NAME = "bank"
STORE_KEY = "bank"

SUPPLY_PREFIX = b"\x00"
DENOM_METADATA_PREFIX = b"\x01"
BALANCES_PREFIX = b"\x02"
DENOM_OWNERS_PREFIX = b"\x03"
SEND_ENABLED_PREFIX = b"\x04"
PARAMS_PREFIX = b"\x05"

# Message type URLs.
MSG_SEND = "/cosmos.bank.v1beta1.MsgSend"
MSG_MULTI_SEND = "/cosmos.bank.v1beta1.MsgMultiSend"
MSG_UPDATE_PARAMS = "/cosmos.bank.v1beta1.MsgUpdateParams"
MSG_SET_SEND_ENABLED = "/cosmos.bank.v1beta1.MsgSetSendEnabled"

# The account allowed to change params (the SDK's default authority: the gov module).
AUTHORITY_MODULE = "gov"
