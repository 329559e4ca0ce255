"""PoFL-chain."""
