"""Run with cosmpy's own venv: `python cosmpy_scenario.py '<json args>'`; prints one JSON line.

Scenarios: "send" (query, send, wait, query tx) and "negative" (wrong sequence and
insufficient funds, each must fail with the Cosmos code and message).
"""

import json
import sys

from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.client.bank import create_bank_send_msg
from cosmpy.aerial.client.utils import prepare_and_broadcast_basic_transaction  # noqa: F401
from cosmpy.aerial.tx import SigningCfg, Transaction, TxFee
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
    to = Address(args["to"])
    denom = args["denom"]
    out: dict = {"sender": str(wallet.address())}
    if args["scenario"] == "send":
        out["chain_id"] = client.query_chain_id()
        out["height"] = client.query_height()
        out["sender_before"] = client.query_bank_balance(wallet.address(), denom)
        out["recipient_before"] = client.query_bank_balance(to, denom)
        account = client.query_account(wallet.address())
        out["account_number"], out["sequence_before"] = account.number, account.sequence
        submitted = client.send_tokens(to, args["amount"], denom, wallet, memo=args.get("memo"))
        submitted.wait_to_complete()
        out["tx_hash"] = submitted.tx_hash
        response = client.query_tx(submitted.tx_hash)
        out["tx_code"], out["tx_height"], out["gas_used"] = (
            response.code,
            response.height,
            response.gas_used,
        )
        out["sender_after"] = client.query_bank_balance(wallet.address(), denom)
        out["recipient_after"] = client.query_bank_balance(to, denom)
        out["sequence_after"] = client.query_account(wallet.address()).sequence
    elif args["scenario"] == "negative":
        account = client.query_account(wallet.address())
        out["sequence_before"] = account.sequence
        tx = Transaction()
        tx.add_message(create_bank_send_msg(wallet.address(), to, 1, denom))
        tx.seal(
            SigningCfg.direct(wallet.public_key(), account.sequence + 5),
            fee=TxFee(f"5000{denom}", 200000),
        )
        tx.sign(wallet.signer(), args["chain_id"], account.number)
        tx.complete()
        try:
            client.broadcast_tx(tx)
            out["wrong_sequence"] = "accepted"
        except Exception as exc:  # cosmpy raises BroadcastError with the node's log
            out["wrong_sequence"] = str(exc)
        try:
            client.send_tokens(to, args["too_much"], denom, wallet)
            out["insufficient_funds"] = "accepted"
        except Exception as exc:
            out["insufficient_funds"] = str(exc)
        out["sequence_after"] = client.query_account(wallet.address()).sequence
        out["sender_after"] = client.query_bank_balance(wallet.address(), denom)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
