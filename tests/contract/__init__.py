"""The contracts alone on a real chain (Anvil, Hardhat, eth-tester), driven by the typed client."""
