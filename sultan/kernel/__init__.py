"""The kernel: ABCI application, storage, embedded consensus engine and module system.

The kernel knows nothing of bank, staking or any other module; modules plug in through
`sultan.kernel.hookspecs` and the `sultan.modules` entry-point group.
"""
