"""flexBlock's PoFLBlockchainPool, with a real chain and store underneath.

Miners and clients are FlexPool actors as in flex; ``aggregate`` runs one real on-chain round:
each miner averages the weights it collected, evaluates its model with the user's
``eval_function`` and publishes it to the store; all commit and reveal; the committee members
each fetch the candidate by CID, load it into a copy of their own model and evaluate it with
the same ``eval_function`` before voting; the round is finalized; on a block every miner loads
the block's model. It returns whether a block was finalized.
"""

from __future__ import annotations

import copy
import random
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch

from offchain.errors import PoflValueError
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.pofl import Phase, PoFLConfig, PoFLContract, to_bps
from offchain.chain.tx import wait_all
from offchain.data import Dataset, FedDataset
from offchain.devnet import Devnet, launch_devnet
from offchain.fl.federation import assign_to_miners
from offchain.fl.models import architecture_for, architecture_id
from offchain.fl.training import FlatParams
from offchain.miner.agent import MinerAgent, wait_benign
from offchain.miner.network import STAKE, ensure_registered
from offchain.model import FlexModel
from offchain.pool.blockchain import BlockchainView
from offchain.pool.decorators import INIT, kind_of
from offchain.pool.flex_pool import FlexPool
from offchain.store import open_store
from offchain.store.models import publish_model


class PoFLBlockchainPool:
    """flexBlock's PoFL pool: ``number_of_miners`` miners, the federation's clients split evenly among them."""

    def __init__(self, fed_dataset: FedDataset, init_func: Callable[[], FlexModel], number_of_miners: int, *,
                 rpc_url: str | None = None, ipfs_api: str | None = None, store_dir: str | None = None,
                 require_improvement: bool = True, phase_seconds: int = 60, seed: int = 0) -> None:
        if kind_of(init_func) not in (INIT, None):
            raise PoflValueError("init_func must build a miner's FlexModel (decorate it with @init_server_model)")
        if number_of_miners < 1:
            raise PoflValueError(f"a PoFL pool needs at least one miner, got {number_of_miners}")
        rng = random.Random(seed)
        client_ids = list(fed_dataset)
        owners = assign_to_miners(len(client_ids), number_of_miners, seed)
        miner_ids = [f"miner_{m}" for m in range(number_of_miners)]
        miner_of = {c: miner_ids[int(owners[i])] for i, c in enumerate(client_ids)}
        servers = {m: init_func() for m in miner_ids}
        genesis = copy.deepcopy(servers[miner_ids[0]]["model"].state_dict())
        for m, model in servers.items():  # every miner starts from the genesis model, as on chain
            model.actor_id = m
            model["model"].load_state_dict(genesis)
        clients = {c: FlexModel() for c in client_ids}
        self._servers = FlexPool(servers, {}, miner_of, rng)
        self._clients = FlexPool(clients, dict(fed_dataset.items()), miner_of, rng)
        self.architecture = architecture_for(servers[miner_ids[0]]["model"])
        self.flat = FlatParams(copy.deepcopy(servers[miner_ids[0]]["model"]).cpu())
        self._rpc_url, self._require_improvement, self._phase_seconds = rpc_url, require_improvement, phase_seconds
        self._devnet: Devnet | None = None
        self.store = open_store(ipfs_api, store_dir or tempfile.mkdtemp(prefix="pofl-pool-store-"))
        self._genesis_cid = publish_model(self.store, genesis, self.architecture)
        self.contract: PoFLContract | None = None
        self.agents: dict[str, MinerAgent] = {}
        self.blockchain = BlockchainView(None)

    # ----------------------------------------------------------- flex API

    @property
    def clients(self) -> FlexPool:
        return self._clients

    @property
    def servers(self) -> FlexPool:
        return self._servers

    @property
    def aggregators(self) -> FlexPool:
        return self._servers

    def __len__(self) -> int:
        return len(self._servers) + len(self._clients)

    # ----------------------------------------------------------- chain

    def _ensure_chain(self, threshold: float, eval_dataset: Dataset) -> PoFLContract:
        eval_hash = bytes.fromhex(eval_dataset.to_labeled().sha256())
        if self.contract is not None:
            onchain = self.contract.config()
            if onchain.threshold_bps != to_bps(threshold) or onchain.eval_set_hash != eval_hash:
                raise PoflValueError("the accuracy threshold and evaluation set are fixed when the pool's contract is "
                                 "deployed (at the first aggregate); call aggregate with the same ones")
            return self.contract
        if self._rpc_url is None:
            self._devnet = launch_devnet("anvil", accounts=len(self._servers) + 2)
            self._rpc_url = self._devnet.rpc_url
        w3 = connect(self._rpc_url)
        owner = LocalSigner(w3, dev_key(0))
        config = PoFLConfig(threshold_bps=to_bps(threshold), eval_set_hash=eval_hash,
                            architecture_id=architecture_id(self.architecture),
                            require_improvement=self._require_improvement, commit_duration=self._phase_seconds,
                            reveal_duration=self._phase_seconds, validation_duration=self._phase_seconds,
                            min_stake=STAKE)
        self.contract, _ = PoFLContract.deploy(owner, config, self._genesis_cid, reward_pool=10 * 10**18,
                                               deployments_dir=None)
        signers = [LocalSigner(w3, dev_key(i + 1)) for i in range(len(self._servers))]
        ensure_registered(self.contract, signers)
        for signer, miner_id in zip(signers, self._servers, strict=True):
            agent = MinerAgent(len(self.agents), signer, self.contract, self.store, self.flat, self.architecture)
            self.agents[miner_id] = agent
        self.blockchain = BlockchainView(self.contract)
        return self.contract

    def _params_of(self, miner_id: str) -> torch.Tensor:
        return self.flat.flatten({k: v.detach().cpu() for k, v in self._servers.models[miner_id]["model"]
                                  .state_dict().items()})

    def _load(self, model: FlexModel, params: torch.Tensor) -> None:
        module = model["model"]
        device = next(module.parameters()).device
        module.load_state_dict({k: v.to(device) for k, v in self.flat.unflatten(params).items()})

    # ----------------------------------------------------------- a round

    def aggregate(self, aggregate_fn: Callable[[list[Any]], Any], set_weights_fn: Callable[[FlexModel, Any], None],
                  eval_function: Callable[[FlexModel, Dataset], float], eval_dataset: Dataset,
                  accuracy: float) -> bool:
        """One on-chain PoFL round; True iff it finalized a block (see the module docstring)."""
        contract = self._ensure_chain(accuracy, eval_dataset)
        round_id = contract.current_round()
        for miner_id, model in self._servers.models.items():
            agent = self.agents[miner_id]
            weights = model.pop("weights", [])
            if weights:
                set_weights_fn(model, aggregate_fn(weights))
            if weights or agent.model is None or agent.model.accuracy is None:
                params = self._params_of(miner_id)
                if agent.model is None and self._genesis_cid in agent.measured:
                    agent.publish(params, agent.measured[self._genesis_cid], round_id)
                else:
                    agent.publish(params, float(eval_function(model, eval_dataset)), round_id)
        agents = list(self.agents.values())
        wait_all([a.commit(round_id) for a in agents])
        wait_all([a.reveal() for a in agents])
        self._validate(round_id, eval_function, eval_dataset)
        head = contract.latest_block()
        if head.round != round_id:
            return False
        for miner_id, model in self._servers.models.items():
            agent = self.agents[miner_id]
            params = agent.model.params if agent.model and agent.model.cid == head.cid else agent.fetch(
                head.cid, torch.device("cpu"))
            agent.adopt(head, params)
            self._load(model, params)
        return True

    def _validate(self, round_id: int, eval_function: Callable[[FlexModel, Dataset], float],
                  eval_dataset: Dataset) -> None:
        contract = self.contract
        assert contract is not None
        while True:
            state = contract.current_phase()
            if state.round != round_id:
                return
            if state.phase == Phase.FINALIZE:
                wait_benign(next(iter(self.agents.values())).finalize())
                continue
            duties = [(miner_id, d) for miner_id, a in self.agents.items() if (d := a.validation_duty(round_id))]
            if not duties:  # undecided with every vote cast (or a seat empty): the deadline decides
                if contract.deadline_passed():
                    wait_benign(next(iter(self.agents.values())).advance())
                else:
                    time.sleep(0.1)
                continue
            for miner_id, (candidate, cid) in duties:
                agent = self.agents[miner_id]
                trial = copy.deepcopy(self._servers.models[miner_id])  # the validator's own copy
                self._load(trial, agent.fetch(cid, torch.device("cpu")))
                wait_benign(agent.vote(round_id, candidate, cid, float(eval_function(trial, eval_dataset))))

    def close(self) -> None:
        """Stop the auto-started devnet, if any."""
        if self._devnet is not None:
            self._devnet.stop()
            self._devnet = None
