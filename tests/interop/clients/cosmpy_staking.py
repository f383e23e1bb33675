"""Run with cosmpy's own venv: `python cosmpy_staking.py '<json args>'`; prints one JSON line.

Scenario: query_validators, delegate_tokens, query_staking_summary (with rewards),
undelegate_tokens, then the staking summary again; balances and tx hashes are reported so
the test can check every amount exactly.
"""

import json
import sys
import time

from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.address import Address


def main() -> None:
    args = json.loads(sys.argv[1])
    cfg = NetworkConfig(
        chain_id=args["chain_id"],
        url=args["url"],
        fee_minimum_gas_price=args["gas_price"],
        fee_denomination=args["denom"],
        staking_denomination=args["denom"],
    )
    client = LedgerClient(cfg)
    wallet = LocalWallet.from_mnemonic(args["mnemonic"], prefix="sultan")
    denom = args["denom"]
    out: dict = {"sender": str(wallet.address())}
    validators = client.query_validators()
    out["validators"] = [
        {
            "address": str(v.address),
            "tokens": v.tokens,
            "moniker": v.moniker,
            "status": v.status.name,
        }
        for v in validators
    ]
    validator = Address(args["validator"])
    out["balance_start"] = client.query_bank_balance(wallet.address(), denom)
    delegated = client.delegate_tokens(validator, args["delegate"], wallet)
    delegated.wait_to_complete()
    out["delegate_hash"] = delegated.tx_hash
    out["balance_after_delegate"] = client.query_bank_balance(wallet.address(), denom)
    # let a few blocks' fees be allocated so the delegation earns rewards
    start = client.query_height()
    while client.query_height() < start + 2:
        time.sleep(0.2)
    summary = client.query_staking_summary(wallet.address())
    out["positions"] = [
        {
            "validator": str(p.validator),
            "amount": p.amount,
            "reward": p.reward,
            "reward_dec": str(p.reward_dec),
        }
        for p in summary.current_positions
    ]
    undelegated = client.undelegate_tokens(validator, args["undelegate"], wallet)
    undelegated.wait_to_complete()
    out["undelegate_hash"] = undelegated.tx_hash
    out["balance_after_undelegate"] = client.query_bank_balance(wallet.address(), denom)
    summary = client.query_staking_summary(wallet.address())
    out["positions_after"] = [
        {"validator": str(p.validator), "amount": p.amount} for p in summary.current_positions
    ]
    out["unbonding"] = [
        {"validator": str(u.validator), "amount": u.amount} for u in summary.unbonding_positions
    ]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
