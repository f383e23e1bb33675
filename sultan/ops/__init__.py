"""Operator tooling that talks to a running node over its public APIs (stress testing)."""
