"""Kernel cryptography: ed25519 node/validator keys, hashing and Merkle helpers."""
