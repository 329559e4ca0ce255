"""The project's economic and storage defaults, in one place.

Every command, the notebook pool and the tests take these from here; a deployment may choose
other values (``pofl deploy --min-stake ...``), which the contract then records.
"""

from __future__ import annotations

ETH = 10**18
MIN_STAKE_WEI = 1 * ETH
"""The contract's ``minStake`` in the default deployment: a miner below it is evicted when its round closes."""

STAKE_WEI = MIN_STAKE_WEI + MIN_STAKE_WEI // 5
"""What each miner stakes when it registers: ``minStake`` and a margin of 20 forfeitable bonds, so that a
missed reveal or vote (a bond each) does not evict an honest miner at once."""

MISS_BOND_WEI = ETH // 100
"""Forfeited for an unrevealed commitment or a committee seat left silent."""

BLOCK_REWARD_WEI = ETH // 10
"""Credited to a block's miner, from the reward pool."""

REWARD_POOL_WEI = 10 * ETH
"""What a default deployment funds the reward pool with."""

HOLDOUT_KEYS_DIR = ".pofl/holdout"
"""Where a hold-out task's key file goes unless told (``--holdout-keys``): ``<dir>/<task address>.json``."""

STORE_DIR = ".pofl/store"
"""The embedded model store's directory when neither ``--store-dir`` nor ``--ipfs-api`` is given."""

MAX_MINERS = 255
"""The contract's cap on active miners (``PoFLConsensus.MAX_MINERS``)."""

IPFS_TIMEOUT_S = 10.0
"""Seconds an IPFS read waits for content before the store reports it absent (``--ipfs-timeout``)."""

IN_PROCESS = "eth-tester"
"""The ``--rpc-url`` of the in-process eth-tester chain (a new chain in every process that connects)."""

HOLDOUT_BOND_WEI = 1 * ETH
"""What a hold-out task's requester deposits: a round whose shard key it fails to reveal pays its committers."""

MISSED_KEY_PAY_WEI = ETH // 20
"""Paid from the requester's bond, in all, to the committers of a round whose shard key was owed and not revealed
in time, each in proportion to its stake (never per address: a sybil's extra addresses gain nothing)."""

HOLDOUT_SHARDS = 30
"""Selection shards of a hold-out split (one judges each round; MNIST's default serves W2's 30 rounds)."""

HOLDOUT_SHARD_SIZE = 250
"""Images per selection shard (standard error 1.9 points at accuracy 0.9: see offchain/holdout/split.py)."""

HOLDOUT_FINAL_SIZE = 1500
"""Images in the final held-out shard (standard error 0.8 points at accuracy 0.9)."""
