"""The flexBlock notebook's API over real miners, a real chain and a real store."""

from offchain.pool.blockchain_pool import PoFLBlockchainPool
from offchain.pool.config import PoolConfig
from offchain.pool.decorators import (
           collect_to_send_wrapper,
           deploy_miner_model,
           deploy_server_to_miner_wrapper,
           init_server_model,
           send_weights_to_miner,
           set_aggregated_weights,
)
from offchain.pool.flex_pool import FlexPool
from offchain.pool.pos_pool import PoSBlockchainPool
from offchain.pool.pow_pool import PoWBlockchainPool
from offchain.pool.primitives import fed_avg

__all__ = ["FlexPool", "PoFLBlockchainPool", "PoSBlockchainPool", "PoWBlockchainPool", "PoolConfig",
           "collect_to_send_wrapper", "deploy_miner_model", "deploy_server_to_miner_wrapper", "fed_avg",
           "init_server_model", "send_weights_to_miner", "set_aggregated_weights"]
