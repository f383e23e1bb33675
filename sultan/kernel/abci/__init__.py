"""The ABCI 2.0 application and its socket transport."""
