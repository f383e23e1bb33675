"""The embedded single-validator consensus engine and its block store."""
