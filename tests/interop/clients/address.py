"""Print the sultan address cosmpy derives from a mnemonic (m/44'/118'/0'/0/0)."""

import json
import sys

from cosmpy.aerial.wallet import LocalWallet

args = json.loads(sys.argv[1])
print(
    json.dumps(
        {"address": str(LocalWallet.from_mnemonic(args["mnemonic"], prefix="sultan").address())}
    )
)
