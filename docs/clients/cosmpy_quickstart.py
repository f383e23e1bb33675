"""Send tokens on a Sultan chain with cosmpy. Run: python cosmpy_quickstart.py

Settings come from the environment; the defaults match `make run`'s dev chain.
"""

import os

from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.address import Address

config = NetworkConfig(
    chain_id=os.environ.get("SULTAN_CHAIN_ID", "sultan-local-1"),
    # "rest+http://…:1317" or "grpc+http://…:9090": both work.
    url=os.environ.get("SULTAN_URL", "rest+http://127.0.0.1:1317"),
    fee_minimum_gas_price=float(os.environ.get("SULTAN_GAS_PRICE", "0.025")),
    fee_denomination="usultan",
    staking_denomination="usultan",
)
client = LedgerClient(config)
wallet = LocalWallet.from_mnemonic(os.environ["SULTAN_MNEMONIC"], prefix="sultan")
recipient = Address(os.environ.get("SULTAN_TO", "sultan1gfpyysjzgfpyysjzgfpyysjzgfpyysjzj9ktzu"))

print("balance before:", client.query_bank_balance(wallet.address(), "usultan"))
tx = client.send_tokens(recipient, 1000, "usultan", wallet)
tx.wait_to_complete()
print("sent in tx", tx.tx_hash)
print("balance after:", client.query_bank_balance(wallet.address(), "usultan"))
print("recipient has:", client.query_bank_balance(recipient, "usultan"))
