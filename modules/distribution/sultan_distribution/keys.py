"""Store layout of the distribution module (store key "distribution"), after SDK v0.50.

Addresses in keys are length-prefixed; periods are big-endian u64.

| prefix | collection              | key                   | value                                       |
|--------|-------------------------|-----------------------|---------------------------------------------|
| 0x00   | fee_pool                | —                     | community pool (DecCoins)                   |
| 0x01   | previous_proposer       | —                     | consensus address                           |
| 0x02   | outstanding_rewards     | valoper               | DecCoins                                    |
| 0x03   | withdraw_addresses      | delegator             | withdraw address                            |
| 0x04   | starting_infos          | valoper ‖ delegator   | (previous_period, stake LegacyDec, height)  |
| 0x05   | historical_rewards      | valoper ‖ period      | (cumulative reward ratio DecCoins, refcount)|
| 0x06   | current_rewards         | valoper               | (rewards DecCoins, period)                  |
| 0x07   | accumulated_commission  | valoper               | DecCoins                                    |
| 0x09   | params                  | —                     | ParamsRecord                                |
| 0x0a   | block_provision         | —                     | Coins minted each block (Sultan extension)  |

(0x08, validator slash events, stays empty: Sultan has no slashing module yet.)
"""

MODULE_NAME = "distribution"
STORE_KEY = "distribution"
FEE_COLLECTOR = "fee_collector"
AUTHORITY_MODULE = "gov"

FEE_POOL_PREFIX = b"\x00"
PREVIOUS_PROPOSER_PREFIX = b"\x01"
OUTSTANDING_REWARDS_PREFIX = b"\x02"
WITHDRAW_ADDRESSES_PREFIX = b"\x03"
STARTING_INFOS_PREFIX = b"\x04"
HISTORICAL_REWARDS_PREFIX = b"\x05"
CURRENT_REWARDS_PREFIX = b"\x06"
ACCUMULATED_COMMISSION_PREFIX = b"\x07"
PARAMS_PREFIX = b"\x09"
BLOCK_PROVISION_PREFIX = b"\x0a"

MSG_SET_WITHDRAW_ADDRESS = "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress"
MSG_WITHDRAW_DELEGATOR_REWARD = "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward"
MSG_WITHDRAW_VALIDATOR_COMMISSION = "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission"
MSG_FUND_COMMUNITY_POOL = "/cosmos.distribution.v1beta1.MsgFundCommunityPool"
MSG_UPDATE_PARAMS = "/cosmos.distribution.v1beta1.MsgUpdateParams"
MSG_COMMUNITY_POOL_SPEND = "/cosmos.distribution.v1beta1.MsgCommunityPoolSpend"
MSG_DEPOSIT_VALIDATOR_REWARDS_POOL = "/cosmos.distribution.v1beta1.MsgDepositValidatorRewardsPool"
