"""Miners: one miner's protocol steps (agent), its per-process loop (worker), and the in-process runner."""
