"""The tutorial module: a chain-wide counter with one message and one query."""
