"""flexBlock's PoFLBlockchainPool, with a real chain and store underneath.

Miners and clients are FlexPool actors as in flex; ``aggregate`` runs one real on-chain round
through the project's one round driver (:class:`~offchain.miner.driver.RoundDriver`), with a
strategy made of the user's functions: each miner averages the weights it collected
(``aggregate_fn``, ``set_weights_fn``) and evaluates its model with ``eval_function``; the driver
publishes, commits and reveals; the committee members each fetch the candidate by CID, load it
into a copy of their own model and evaluate it with the same ``eval_function`` before voting; the
round is finalized; on a block every miner loads the block's model. It returns whether a block was
finalized.
"""

from __future__ import annotations

import copy
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from offchain.app.deployment import HoldoutSpec, deploy
from offchain.app.holdout_report import FinalAccuracy, final_accuracies
from offchain.app.preflight import ensure_registered
from offchain.app.requester import Requester
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.consensus import PoFLContract
from offchain.chain.keys import check_private_key, dev_keys_allowed
from offchain.chain.types import PoFLConfig, to_bps
from offchain.data import Dataset, FedDataset
from offchain.defaults import MIN_STAKE_WEI
from offchain.errors import ConfigError, KeyPolicyError, PoflValueError
from offchain.fl.architectures import architecture_for, architecture_id
from offchain.fl.federation import assign_to_miners
from offchain.fl.images import LabeledImages
from offchain.fl.training import FlatParams
from offchain.holdout.split import DEFAULT_FINAL_SIZE, DEFAULT_SHARD_SIZE, DEFAULT_SHARDS
from offchain.miner.driver import RoundDriver
from offchain.miner.strategy import Trained
from offchain.model import FlexModel
from offchain.pool.blockchain import BlockchainView
from offchain.pool.decorators import INIT, kind_of
from offchain.pool.flex_pool import FlexPool
from offchain.redaction import redact_url
from offchain.servers.devnet import Devnet, launch_devnet
from offchain.store import open_store
from offchain.store.fetching import publish_model


class PoFLBlockchainPool:
    """flexBlock's PoFL pool: ``number_of_miners`` miners, the federation's clients split evenly among them."""

    def __init__(self, fed_dataset: FedDataset, init_func: Callable[[], FlexModel], number_of_miners: int, *,
                 rpc_url: str | None = None, ipfs_api: str | None = None, store_dir: str | None = None,
                 require_improvement: bool = True, phase_seconds: int = 60, seed: int = 0,
                 owner_key: str | None = None, miner_keys: list[str] | None = None,
                 holdout: Dataset | None = None, holdout_shards: int = DEFAULT_SHARDS,
                 holdout_shard_size: int = DEFAULT_SHARD_SIZE, holdout_final_size: int = DEFAULT_FINAL_SIZE) -> None:
        """``rpc_url`` and ``ipfs_api`` select a chain and an IPFS node (default: an auto-started Anvil and
        a temporary embedded store). Off a local devnet the public test keys are refused: give
        ``owner_key`` (deploys the contract) and ``miner_keys`` (one per miner).

        Hold-out evaluation: give ``holdout``, a private evaluation set. The first ``aggregate`` splits it
        (``holdout_shards`` shards of ``holdout_shard_size`` images, a final shard of ``holdout_final_size``;
        the rest is public), seals the shards into the store and deploys a hold-out task with the contract;
        round r is then judged on shard r (the pool, as the task's requester, reveals each key once the
        round's commits close), and the ``eval_function`` runs on the shard. :meth:`end_task` reveals the
        final shard and measures every block on it."""
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
        self._owner_key, self._miner_keys = owner_key, miner_keys
        self._holdout = (None if holdout is None else
                         HoldoutSpec(holdout.to_labeled(), holdout_shards, holdout_shard_size, holdout_final_size))
        self.requester: Requester | None = None
        self._devnet: Devnet | None = None
        # without a store given, a temporary embedded one, removed by close()
        self._temp_store = None if ipfs_api or store_dir else tempfile.mkdtemp(prefix="pofl-pool-store-")
        self.store = open_store(ipfs_api, store_dir or self._temp_store)
        self._genesis_cid = publish_model(self.store, genesis, self.architecture)
        self.contract: PoFLContract | None = None
        self._strategy = _PoolStrategy(self)
        self._driver: RoundDriver | None = None
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

    def _ensure_chain(self, threshold: float, eval_dataset: Dataset) -> RoundDriver:
        eval_hash = bytes.fromhex(eval_dataset.to_labeled().sha256())
        if self.contract is not None and self._driver is not None:
            onchain = self.contract.config()
            if onchain.threshold_bps != to_bps(threshold) or onchain.eval_set_hash != eval_hash:
                raise PoflValueError("the accuracy threshold and evaluation set are fixed when the pool's contract is "
                                     "deployed (at the first aggregate); call aggregate with the same ones")
            return self._driver
        if self._rpc_url is None:
            self._devnet = launch_devnet("anvil", accounts=len(self._servers) + 2)
            self._rpc_url = self._devnet.rpc_url
        w3 = connect(self._rpc_url)
        owner_key, miner_keys = self._keys(self._rpc_url, w3.eth.chain_id)
        owner = LocalSigner(w3, owner_key)
        config = PoFLConfig(threshold_bps=to_bps(threshold), eval_set_hash=eval_hash,
                            architecture_id=architecture_id(self.architecture),
                            require_improvement=self._require_improvement, commit_duration=self._phase_seconds,
                            reveal_duration=self._phase_seconds, validation_duration=self._phase_seconds,
                            min_committee=max(1, min(3, len(self._servers) - 1)), min_stake=MIN_STAKE_WEI)
        deployment = deploy(owner, config, self._genesis_cid, store=self.store, holdout=self._holdout)
        self.contract = deployment.contract
        if deployment.holdout is not None and deployment.keys is not None:  # the pool is the task's requester
            self.requester = Requester(deployment.holdout, deployment.contract, owner, deployment.keys)
        signers = [LocalSigner(w3, k) for k in miner_keys]
        ensure_registered(self.contract, signers)
        self._driver = RoundDriver(self.contract, self.store, self.flat, self.architecture, signers, self._strategy,
                                   observers=[self.requester.observe] if self.requester else [])
        self.blockchain = BlockchainView(self.contract, self.store, self.architecture,
                                         list(self.flat.module.state_dict()))
        return self._driver

    def end_task(self) -> list[FinalAccuracy]:
        """Hold-out mode: end the task (the final shard's key becomes public) and return every block's
        accuracy on the final shard beside the accuracy its round's shard recorded."""
        if self.requester is None or self.contract is None:
            raise PoflValueError("end_task: this pool evaluates in public (pass holdout= and aggregate first)")
        if not self.requester.holdout.ended():
            self.requester.end_task()
        return final_accuracies(self.contract, self.requester.holdout, self.store) or []

    def _keys(self, rpc_url: str, chain_id: int) -> tuple[str, list[str]]:
        """The owner's and the miners' keys: the given ones, or the dev accounts on a local devnet."""
        n = len(self._servers)
        if self._owner_key is not None and self._miner_keys is not None:
            if len(self._miner_keys) != n:
                raise ConfigError(f"miner_keys: {n} miners need {n} keys, got {len(self._miner_keys)}")
            return (check_private_key(self._owner_key, "owner_key"),
                    [check_private_key(k, f"miner_keys[{i}]") for i, k in enumerate(self._miner_keys)])
        if not dev_keys_allowed(rpc_url, chain_id, started_here=self._devnet is not None):
            raise KeyPolicyError(f"chain {chain_id} at {redact_url(rpc_url)} is not a local devnet, so the public "
                                 f"test keys are not used there: pass owner_key= and miner_keys= (e.g. from "
                                 f"POFL_KEY or a keystore)")
        return dev_key(0), [dev_key(i + 1) for i in range(n)]

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
        driver = self._ensure_chain(accuracy, eval_dataset)
        with self._strategy.using(_RoundFunctions(aggregate_fn, set_weights_fn, eval_function, eval_dataset)):
            record = driver.run_round()
        return record.block_height is not None

    def close(self) -> None:
        """Stop the auto-started devnet and remove the temporary store, if any (its models go with it)."""
        if self._driver is not None:
            self._driver.close()
        if self._devnet is not None:
            self._devnet.stop()
            self._devnet = None
        if self._temp_store is not None:
            shutil.rmtree(self._temp_store, ignore_errors=True)
            self._temp_store = None


@dataclass(frozen=True)
class _RoundFunctions:
    """The functions of one ``aggregate`` call."""

    aggregate_fn: Callable[[list[Any]], Any]
    set_weights_fn: Callable[[FlexModel, Any], None]
    eval_function: Callable[[FlexModel, Dataset], float]
    eval_dataset: Dataset


class _PoolStrategy:
    """The driver's hooks for the notebook pool: the user's aggregation, weights setter and evaluation."""

    device = torch.device("cpu")

    def __init__(self, pool: PoFLBlockchainPool) -> None:
        self.pool = pool
        self._fns: _RoundFunctions | None = None

    @contextmanager
    def using(self, fns: _RoundFunctions) -> Iterator[None]:
        """Within the block, train and evaluate with ``fns`` (one ``aggregate`` call)."""
        self._fns = fns
        try:
            yield
        finally:
            self._fns = None

    def _miner_ids(self) -> list[str]:
        return list(self.pool.servers.models)

    def train(self, round_id: int, models: dict[int, torch.Tensor]) -> Trained:
        """Each miner that collected client weights averages them into its model."""
        assert self._fns is not None, "the pool's strategy is used only inside aggregate()"
        ids, new = self._miner_ids(), {}
        for position in models:
            server = self.pool.servers.models[ids[position]]
            weights = server.pop("weights", [])
            if weights:
                self._fns.set_weights_fn(server, self._fns.aggregate_fn(weights))
                new[position] = self.pool._params_of(ids[position])
        return Trained(new, 0)

    def evaluate(self, models: list[torch.Tensor], evaluators: list[int]) -> list[float]:
        """Each evaluator loads the model into a copy of its own model and runs the user's eval_function."""
        assert self._fns is not None, "the pool's strategy is used only inside aggregate()"
        return self._evaluate(models, evaluators, self._fns.eval_dataset)

    def evaluate_on(self, models: list[torch.Tensor], data: LabeledImages) -> list[float]:
        """Hold-out mode: the user's eval_function on the round's shard (in the first miner's model copy)."""
        return self._evaluate(models, [0] * len(models), Dataset.from_labeled(data))

    def _evaluate(self, models: list[torch.Tensor], evaluators: list[int], dataset: Dataset) -> list[float]:
        assert self._fns is not None, "the pool's strategy is used only inside aggregate()"
        ids, accuracies = self._miner_ids(), []
        for params, position in zip(models, evaluators, strict=True):
            trial = copy.deepcopy(self.pool.servers.models[ids[position]])
            self.pool._load(trial, params)
            accuracies.append(float(self._fns.eval_function(trial, dataset)))
        return accuracies

    def adopted(self, position: int, params: torch.Tensor) -> None:
        self.pool._load(self.pool.servers.models[self._miner_ids()[position]], params)
