"""Store layout of the staking module (store key "staking"), after SDK v0.50's x/staking.

Addresses in keys are length-prefixed (`len ‖ bytes`); times are big-endian u64 nanoseconds
since the epoch, so byte order is time order.

| prefix | collection             | key                                          | value                 |
|--------|------------------------|----------------------------------------------|-----------------------|
| 0x11   | last_validator_power   | valoper                                      | power (int)           |
| 0x12   | last_total_power       | —                                            | power (int)           |
| 0x21   | validators             | valoper                                      | ValidatorRecord       |
| 0x22   | validators_by_cons     | consensus address                            | valoper               |
| 0x23   | validators_by_power    | power (u64 BE) ‖ len ‖ ^valoper (bits flipped)| valoper               |
| 0x31   | delegations            | delegator ‖ valoper                          | shares (LegacyDec)    |
| 0x32   | unbonding_delegations  | delegator ‖ valoper                          | UnbondingRecord       |
| 0x33   | ubd_by_validator       | valoper ‖ delegator                          | empty (index of 0x32) |
| 0x34   | redelegations          | delegator ‖ src valoper ‖ dst valoper        | RedelegationRecord    |
| 0x35   | red_by_src             | src ‖ delegator ‖ dst                        | empty (index of 0x34) |
| 0x36   | red_by_dst             | dst ‖ delegator ‖ src                        | empty (index of 0x34) |
| 0x37   | unbonding_id           | —                                            | u64 sequence          |
| 0x41   | ubd_queue              | time ‖ delegator ‖ valoper                   | empty                 |
| 0x42   | red_queue              | time ‖ delegator ‖ src ‖ dst                 | empty                 |
| 0x43   | validator_queue        | time ‖ height (u64 BE) ‖ valoper             | empty                 |
| 0x50   | historical_info        | height (u64 BE)                              | HistoricalInfo (pb)   |
| 0x51   | params                 | —                                            | ParamsRecord          |

The power index orders validators by consensus power, then by operator address (the flipped
bits make a reverse scan yield equal powers in ascending address order, as the SDK does).
The queues hold one entry per (time, pair) instead of the SDK's per-time lists, so a block
writes only the entries it adds or removes.
"""

MODULE_NAME = "staking"
STORE_KEY = "staking"

BONDED_POOL = "bonded_tokens_pool"
NOT_BONDED_POOL = "not_bonded_tokens_pool"
AUTHORITY_MODULE = "gov"

LAST_VALIDATOR_POWER_PREFIX = b"\x11"
LAST_TOTAL_POWER_PREFIX = b"\x12"
VALIDATORS_PREFIX = b"\x21"
VALIDATORS_BY_CONS_PREFIX = b"\x22"
VALIDATORS_BY_POWER_PREFIX = b"\x23"
DELEGATIONS_PREFIX = b"\x31"
UNBONDING_DELEGATIONS_PREFIX = b"\x32"
UBD_BY_VALIDATOR_PREFIX = b"\x33"
REDELEGATIONS_PREFIX = b"\x34"
RED_BY_SRC_PREFIX = b"\x35"
RED_BY_DST_PREFIX = b"\x36"
UNBONDING_ID_PREFIX = b"\x37"
UBD_QUEUE_PREFIX = b"\x41"
RED_QUEUE_PREFIX = b"\x42"
VALIDATOR_QUEUE_PREFIX = b"\x43"
HISTORICAL_INFO_PREFIX = b"\x50"
PARAMS_PREFIX = b"\x51"

POWER_REDUCTION = 10**6

MSG_CREATE_VALIDATOR = "/cosmos.staking.v1beta1.MsgCreateValidator"
MSG_EDIT_VALIDATOR = "/cosmos.staking.v1beta1.MsgEditValidator"
MSG_DELEGATE = "/cosmos.staking.v1beta1.MsgDelegate"
MSG_UNDELEGATE = "/cosmos.staking.v1beta1.MsgUndelegate"
MSG_BEGIN_REDELEGATE = "/cosmos.staking.v1beta1.MsgBeginRedelegate"
MSG_CANCEL_UNBONDING = "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation"
MSG_UPDATE_PARAMS = "/cosmos.staking.v1beta1.MsgUpdateParams"

ED25519_PUBKEY_TYPE_URL = "/cosmos.crypto.ed25519.PubKey"

# Bond statuses (cosmos.staking.v1beta1.BondStatus).
UNBONDED = 1
UNBONDING = 2
BONDED = 3
STATUS_NAMES = {
    UNBONDED: "BOND_STATUS_UNBONDED",
    UNBONDING: "BOND_STATUS_UNBONDING",
    BONDED: "BOND_STATUS_BONDED",
}
