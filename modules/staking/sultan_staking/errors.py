"""x/staking error codes (codespace "staking"), as registered by SDK v0.50."""

from sultan import register_error

_S = "staking"
ErrEmptyValidatorAddr = register_error(_S, 2, "empty validator address")
ErrNoValidatorFound = register_error(_S, 3, "validator does not exist")
ErrValidatorOwnerExists = register_error(
    _S,
    4,
    "validator already exist for this operator address; must use new validator operator address",
)
ErrValidatorPubKeyExists = register_error(
    _S, 5, "validator already exist for this pubkey; must use new validator pubkey"
)
ErrValidatorPubKeyTypeNotSupported = register_error(_S, 6, "validator pubkey type is not supported")
ErrValidatorJailed = register_error(_S, 7, "validator for this address is currently jailed")
ErrBadRemoveValidator = register_error(_S, 8, "failed to remove validator")
ErrCommissionNegative = register_error(_S, 9, "commission must be positive")
ErrCommissionHuge = register_error(_S, 10, "commission cannot be more than 100%")
ErrCommissionGTMaxRate = register_error(_S, 11, "commission cannot be more than the max rate")
ErrCommissionUpdateTime = register_error(
    _S, 12, "commission cannot be changed more than once in 24h"
)
ErrCommissionChangeRateNegative = register_error(_S, 13, "commission change rate must be positive")
ErrCommissionChangeRateGTMaxRate = register_error(
    _S, 14, "commission change rate cannot be more than the max rate"
)
ErrCommissionGTMaxChangeRate = register_error(
    _S, 15, "commission cannot be changed more than max change rate"
)
ErrSelfDelegationBelowMinimum = register_error(
    _S, 16, "validator's self delegation must be greater than their minimum self delegation"
)
ErrMinSelfDelegationDecreased = register_error(_S, 17, "minimum self delegation cannot be decrease")
ErrEmptyDelegatorAddr = register_error(_S, 18, "empty delegator address")
ErrNoDelegation = register_error(_S, 19, "no delegation for (address, validator) tuple")
ErrBadDelegatorAddr = register_error(_S, 20, "delegator does not exist with address")
ErrNoDelegatorForAddress = register_error(_S, 21, "delegator does not contain delegation")
ErrInsufficientShares = register_error(_S, 22, "insufficient delegation shares")
ErrDelegationValidatorEmpty = register_error(_S, 23, "cannot delegate to an empty validator")
ErrNotEnoughDelegationShares = register_error(_S, 24, "not enough delegation shares")
ErrNotMature = register_error(_S, 25, "entry not mature")
ErrNoUnbondingDelegation = register_error(_S, 26, "no unbonding delegation found")
ErrMaxUnbondingDelegationEntries = register_error(
    _S, 27, "too many unbonding delegation entries for (delegator, validator) tuple"
)
ErrNoRedelegation = register_error(_S, 28, "no redelegation found")
ErrSelfRedelegation = register_error(_S, 29, "cannot redelegate to the same validator")
ErrTinyRedelegationAmount = register_error(
    _S, 30, "too few tokens to redelegate (truncates to zero tokens)"
)
ErrBadRedelegationDst = register_error(_S, 31, "redelegation destination validator not found")
ErrTransitiveRedelegation = register_error(
    _S,
    32,
    "redelegation to this validator already in progress; first redelegation to this "
    "validator must complete before next redelegation",
)
ErrMaxRedelegationEntries = register_error(
    _S, 33, "too many redelegation entries for (delegator, src-validator, dst-validator) tuple"
)
ErrDelegatorShareExRateInvalid = register_error(
    _S, 34, "cannot delegate to validators with invalid (zero) ex-rate"
)
ErrBothShareMsgsGiven = register_error(_S, 35, "both shares amount and shares percent provided")
ErrNeitherShareMsgsGiven = register_error(
    _S, 36, "neither shares amount nor shares percent provided"
)
ErrInvalidHistoricalInfo = register_error(_S, 37, "invalid historical info")
ErrNoHistoricalInfo = register_error(_S, 38, "no historical info found")
ErrEmptyValidatorPubKey = register_error(_S, 39, "empty validator public key")
ErrCommissionLTMinRate = register_error(_S, 40, "commission cannot be less than min rate")
ErrUnbondingNotFound = register_error(_S, 41, "unbonding operation not found")
ErrUnbondingOnHoldRefCountNegative = register_error(
    _S, 42, "cannot un-hold unbonding operation that is not on hold"
)
ErrInvalidSigner = register_error(
    _S, 43, "expected authority account as only signer for proposal message"
)
ErrBadRedelegationSrc = register_error(_S, 44, "redelegation source validator not found")
ErrNoUnbondingType = register_error(_S, 45, "unbonding type not found")
