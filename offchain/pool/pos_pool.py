"""flexBlock's PoSBlockchainPool over a real PoSConsensus contract, models in the store.

Every node is client, aggregator and miner (flexBlock's p2p pool) and registers with the contract, starting at
``initial_stake`` (flexBlock's 32) in the draw. Each ``aggregate`` is one turn: the nodes gossip their weights
(flexBlock's default PoolConfig), the proposer is drawn by stake from the hash of a block mined after the turn
opened, averages every node's weights into its model, pins it to the store and proposes it on the head; a
quorum of other nodes each fetch the model by CID and load it into their own model, and attest whether they
could; the contract decides. Accepted, the block is appended, the proposer's stake + 1 (flexBlock), and every
node loads the block's model; rejected (unloadable: what flexBlock lacks), the proposer loses the turn and a
bond, and ``aggregate`` returns False.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from offchain.chain.accounts import LocalSigner
from offchain.chain.pos import PoSContract, PoSSettings, TurnPhase
from offchain.chain.tx import wait_all
from offchain.data import FedDataset
from offchain.errors import PoflRuntimeError, PoflValueError
from offchain.model import FlexModel
from offchain.pool.blockchain import LedgerBlockchainView
from offchain.pool.chain_pool import ChainPool
from offchain.pool.config import PoolConfig

INITIAL_STAKE = 32
"""flexBlock's initial stake of every node."""
STAKE_MARGIN_BONDS = 10
"""Each node stakes the contract's minimum plus this many bonds."""


class PoSBlockchainPool(ChainPool):
    """flexBlock's PoS pool: every node of ``fed_dataset`` a miner (see the module docstring)."""

    def __init__(self, fed_dataset: FedDataset, init_func: Callable[[], FlexModel],
                 initial_stake: int = INITIAL_STAKE, *, config: PoolConfig | None = None,
                 settings: PoSSettings | None = None, rpc_url: str | None = None, ipfs_api: str | None = None,
                 store_dir: str | None = None, seed: int = 0, owner_key: str | None = None,
                 miner_keys: list[str] | None = None, **_flex_kwargs: Any) -> None:
        """``settings``: the contract's quorum (3 attesters by default, fewer with fewer nodes), bond, durations,
        stake and reward (its ``initial_weight`` is ``initial_stake``). The chain, store and key arguments are
        :class:`~offchain.pool.PoFLBlockchainPool`'s; ``miner_keys``: one per node."""
        nodes = list(fed_dataset)
        if len(nodes) < 2:
            raise PoflValueError(f"a PoS pool needs at least two nodes (one proposes, the others attest), got "
                                 f"{len(nodes)}")
        if initial_stake < 1:
            raise PoflValueError(f"initial_stake must be at least 1, got {initial_stake}")
        super().__init__(fed_dataset, init_func, nodes, {c: c for c in nodes}, rpc_url=rpc_url, ipfs_api=ipfs_api,
                         store_dir=store_dir, seed=seed, owner_key=owner_key, miner_keys=miner_keys)
        self.config = config or PoolConfig()
        base = settings or PoSSettings(reward_pool=10**18)
        self.settings = PoSSettings(**{**vars(base), "initial_weight": initial_stake,
                                       "quorum": max(1, min(base.quorum, len(nodes) - 1))})
        self.contract: PoSContract | None = None
        self._owner: LocalSigner | None = None
        self._signers: dict[str, LocalSigner] = {}
        self._node_of: dict[str, str] = {}
        self.blockchain = LedgerBlockchainView(None)

    def deploy(self) -> PoSContract:
        """Deploy the contract and register the nodes, once (the first aggregate does it otherwise)."""
        if self.contract is not None:
            return self.contract
        _, owner, signers = self._connect()
        contract = PoSContract.deploy(owner, self._genesis_cid, self.settings)
        stake = contract.min_stake() + STAKE_MARGIN_BONDS * contract.bond()  # a lost turn does not evict
        wait_all([contract.register(s, stake) for s in signers if not contract.is_member(s.address)])
        self.contract, self._owner = contract, owner
        self._signers = dict(zip(self.servers.models, signers, strict=True))
        self._node_of = {s.address: node for node, s in self._signers.items()}
        self.blockchain = LedgerBlockchainView(contract, self.store, self.architecture,
                                               list(self.flat.module.state_dict()))
        return contract

    def stake_of(self, node: str) -> int:
        """``node``'s stake in the draw (flexBlock's ``stake``), read from the contract."""
        return self.deploy().weight_of(self._signers[node].address)

    def signer_of(self, node: str) -> LocalSigner:
        """The account ``node`` acts with on chain."""
        self.deploy()
        return self._signers[node]

    # ----------------------------------------------------------- a turn

    def draw(self) -> str:
        """The node drawn to propose this turn (mines the turn's seed block first if it is not yet)."""
        contract = self.deploy()
        turn = contract.current_turn()
        if turn.phase != TurnPhase.DRAWING:
            assert turn.proposer is not None
            return self._node_of[turn.proposer]
        assert self._owner is not None
        while contract.w3.eth.block_number <= turn.seed_block:
            contract.fund_rewards(self._owner, 1).wait()  # any transaction mines a block on a devnet
        turn = contract.current_turn()
        if turn.proposer is None:  # the seed block's hash expired: the contract moves the seed ahead
            contract.draw(self._owner).wait()
            return self.draw()
        return self._node_of[turn.proposer]

    def aggregate(self, aggregate_fn: Callable[[list[Any]], Any], set_weights_fn: Callable[[FlexModel, Any], None],
                  **_consensus_kwargs: Any) -> bool:
        """One turn (see the module docstring); True iff it appended a block."""
        contract = self.deploy()
        models = self.servers.models
        everyone = [w for m in models.values() for w in m.get("weights", [])]
        proposer = self.draw()
        weights = everyone if self.config.gossips else models[proposer].get("weights", [])
        if not weights:
            raise PoflValueError("no node holds client weights: map a @send_weights_to_miner function from "
                                 "pool.aggregators to the trained clients first")
        set_weights_fn(models[proposer], aggregate_fn(weights))
        cid = self._publish(proposer)
        contract.propose(self._signers[proposer], contract.head_hash(), cid).wait()
        return self.attest_and_finalize()

    def attest_and_finalize(self) -> bool:
        """The proposal's attesters (a quorum of other nodes, drawn here) each fetch and load it and attest; the
        contract decides. True iff a block was appended (every node then loads its model)."""
        contract = self.deploy()
        turn = contract.current_turn()
        if turn.phase != TurnPhase.ATTESTING or turn.cid is None or turn.proposer is None:
            raise PoflRuntimeError(f"turn {turn.height}.{turn.attempt} has no proposal to attest")
        others = [n for n in self._signers if self._signers[n].address != turn.proposer]
        block_params = None
        for node in self.rng.sample(others, contract.quorum()):
            params = self._fetch(turn.cid)  # each attester fetches and loads it itself
            contract.attest(self._signers[node], turn.height, turn.attempt, params is not None).wait()
            block_params = params if params is not None else block_params
        before = contract.block_count()
        assert self._owner is not None
        contract.finalize(self._owner).wait()
        for model in self.servers.models.values():
            model.pop("weights", None)
        if contract.block_count() == before:
            return False
        if block_params is None:
            raise PoflRuntimeError(f"block {before} was accepted but its model {turn.cid} cannot be loaded here")
        self._adopt(block_params)
        return True
