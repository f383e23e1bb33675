"""The Cosmos SDK x/distribution module for Sultan."""
