"""The node's API servers: CometBFT JSON-RPC (26657), REST gateway (1317) and gRPC (9090).

`sultan.api.servers.start_servers(node)` starts the ones the configuration enables.
"""
