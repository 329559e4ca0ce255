"""Miners: the protocol's decisions (protocol), the one round loop (driver), its hooks (strategy, claims),
the chain side of a run (network), verification and metrics."""
