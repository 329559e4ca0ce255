"""Local servers owned by this process: Anvil and Hardhat devnets, a js-ipfs node (each killed with it)."""
