"""The Cosmos SDK x/staking module for Sultan."""
