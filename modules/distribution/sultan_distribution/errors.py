"""x/distribution error codes (codespace "distribution"), as registered by SDK v0.50."""

from sultan import register_error

_D = "distribution"
ErrEmptyDelegatorAddr = register_error(_D, 2, "delegator address is empty")
ErrEmptyWithdrawAddr = register_error(_D, 3, "withdraw address is empty")
ErrEmptyValidatorAddr = register_error(_D, 4, "validator address is empty")
ErrEmptyDelegationDistInfo = register_error(_D, 5, "no delegation distribution info")
ErrNoValidatorDistInfo = register_error(_D, 6, "no validator distribution info")
ErrNoValidatorCommission = register_error(_D, 7, "no validator commission to withdraw")
ErrSetWithdrawAddrDisabled = register_error(_D, 8, "set withdraw address disabled")
ErrBadDistribution = register_error(
    _D, 9, "community pool does not have sufficient coins to distribute"
)
ErrInvalidProposalAmount = register_error(_D, 10, "invalid community pool spend proposal amount")
ErrEmptyProposalRecipient = register_error(
    _D, 11, "invalid community pool spend proposal recipient"
)
ErrNoValidatorExists = register_error(_D, 12, "validator does not exist")
ErrNoDelegationExists = register_error(_D, 13, "delegation does not exist")
