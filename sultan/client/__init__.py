"""The client side of Sultan: keys, transactions and queries against a running node.

- `sultan.client.keyring`: BIP-39 mnemonics, BIP-32 derivation (m/44'/118'/0'/0/0) and the
  on-disk keyring (`file` backend encrypted, `test` backend unencrypted, for dev chains);
- `sultan.client.signing`: SIGN_MODE_DIRECT transaction building and signing;
- `sultan.client.txclient`: CometBFT RPC client, account lookup, simulate, broadcast & wait;
- `sultan.client.cli_support`: the shared flags and helpers of `sultan keys|tx|query`.

Submodules are imported on use; importing this package loads nothing heavy.
"""
