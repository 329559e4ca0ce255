"""The miner stack in process against real servers (Anvil, js-ipfs): the round driver, verify, the pool, stores."""
