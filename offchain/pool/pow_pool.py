"""flexBlock's PoWBlockchainPool over a real PoWConsensus contract, models in the store.

Miners and clients are disjoint (clients split evenly among ``number_of_miners`` miners, as in flexBlock). Each
``aggregate`` makes one block: every miner averages the client weights it holds (with flexBlock's PoW config,
``gossip_on_agg``, every miner's clients' weights: the model flexBlock's winner aggregates), pins the model to
the store, and hashes keccak256(head || model digest || its address || nonce) for nonces until one has the
contract's number of leading zero hex digits; the miners race side by side
(:func:`offchain.chain.powhash.race`) and the first solution is submitted, checked on chain, and appended. Every
miner then loads the block's model, fetched from the store by its CID and verified.

The one departure from flexBlock: a miner averages *before* it hashes, since the block's hash binds its model
(flexBlock's winner averages after winning a race over the previous block alone).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from offchain.chain.pow import PoWContract, PoWSettings
from offchain.chain.powhash import pow_prefix, race
from offchain.chain.tx import wait_all
from offchain.data import FedDataset
from offchain.errors import PoflRuntimeError, PoflValueError
from offchain.model import FlexModel
from offchain.pool.blockchain import LedgerBlockchainView
from offchain.pool.chain_pool import ChainPool, miners_and_clients
from offchain.pool.config import PoolConfig
from offchain.store.cid import cid_to_digest

POW_CONFIG = PoolConfig(gossip_before_consensus=False, gossip_on_agg=True, aggregate_before_consensus=False)
"""flexBlock's PoW pool configuration."""


class PoWBlockchainPool(ChainPool):
    """flexBlock's PoW pool: ``number_of_miners`` miners racing for each block (see the module docstring)."""

    def __init__(self, fed_dataset: FedDataset, init_func: Callable[[], FlexModel], number_of_miners: int, *,
                 config: PoolConfig = POW_CONFIG, settings: PoWSettings | None = None, batch: int = 4096,
                 rpc_url: str | None = None, ipfs_api: str | None = None, store_dir: str | None = None,
                 seed: int = 0, owner_key: str | None = None, miner_keys: list[str] | None = None,
                 **_flex_kwargs: Any) -> None:
        """``settings``: the contract's difficulty (flexBlock's 3 to start; bounded within [1, 8] by default),
        stake and reward; ``batch``: nonces a miner hashes between looks at the others. The chain, store and key
        arguments are :class:`~offchain.pool.PoFLBlockchainPool`'s."""
        if batch < 1:
            raise PoflValueError(f"batch must be at least 1 nonce, got {batch}")
        miner_ids, miner_of = miners_and_clients(fed_dataset, number_of_miners, seed)
        super().__init__(fed_dataset, init_func, miner_ids, miner_of, rpc_url=rpc_url, ipfs_api=ipfs_api,
                         store_dir=store_dir, seed=seed, owner_key=owner_key, miner_keys=miner_keys)
        self.config = config
        self.settings = settings or PoWSettings(reward_pool=10**18)
        self._batch = batch
        self.contract: PoWContract | None = None
        self._signers: dict[str, Any] = {}
        self.blockchain = LedgerBlockchainView(None)
        self.hashes = 0
        """Hashes computed by all miners so far."""
        self.hashing_seconds = 0.0
        """Wall time spent hashing so far (one process hashes for every miner)."""

    def deploy(self) -> PoWContract:
        """Deploy the contract and register the miners, once (the first aggregate does it otherwise)."""
        if self.contract is not None:
            return self.contract
        _, owner, signers = self._connect()
        contract = PoWContract.deploy(owner, self._genesis_cid, self.settings)
        stake = contract.min_stake()
        wait_all([contract.register(s, stake) for s in signers if not contract.is_member(s.address)])
        self.contract = contract
        self._signers = dict(zip(self.servers.models, signers, strict=True))
        self.blockchain = LedgerBlockchainView(contract, self.store, self.architecture,
                                               list(self.flat.module.state_dict()))
        return contract

    def _candidates(self, aggregate_fn: Callable[[list[Any]], Any],
                    set_weights_fn: Callable[[FlexModel, Any], None]) -> dict[str, str]:
        """Each miner holding weights averages them into its model and pins it: miner -> CID."""
        models = self.servers.models
        everyone = [w for m in models.values() for w in m.get("weights", [])]
        candidates = {}
        for miner_id, model in models.items():
            weights = everyone if self.config.gossips else model.get("weights", [])
            if weights:
                set_weights_fn(model, aggregate_fn(weights))
                candidates[miner_id] = self._publish(miner_id)
        return candidates

    def aggregate(self, aggregate_fn: Callable[[list[Any]], Any], set_weights_fn: Callable[[FlexModel, Any], None],
                  **_consensus_kwargs: Any) -> bool:
        """One block: the miners' race, the winner's block checked and appended on chain, every miner on its
        model. Returns True (flexBlock's PoW always makes a block)."""
        contract = self.deploy()
        candidates = self._candidates(aggregate_fn, set_weights_fn)
        if not candidates:
            raise PoflValueError("no miner holds client weights: map a @send_weights_to_miner function from "
                                 "pool.aggregators to the trained clients first")
        parent, zeros = contract.head_hash(), contract.difficulty()
        prefixes = {m: pow_prefix(parent, cid_to_digest(cid)[0], self._signers[m].address)
                    for m, cid in candidates.items()}
        started = time.perf_counter()
        winner, solution, hashed = race(prefixes, zeros, self._batch, self.rng)
        self.hashing_seconds += time.perf_counter() - started
        self.hashes += hashed
        contract.submit_block(self._signers[winner], parent, candidates[winner], solution.nonce).wait()
        params = self._fetch(candidates[winner])
        if params is None:
            raise PoflRuntimeError(f"the block's model {candidates[winner]} cannot be read back from the store")
        self._adopt(params)
        return True
