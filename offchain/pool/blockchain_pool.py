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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from offchain.app.deployment import HoldoutSpec, deploy
from offchain.app.holdout_report import FinalAccuracy, final_accuracies
from offchain.app.preflight import ensure_registered
from offchain.app.requester import Requester
from offchain.chain.consensus import PoFLContract
from offchain.chain.types import PoFLConfig, to_bps
from offchain.data import Dataset, FedDataset
from offchain.defaults import MIN_STAKE_WEI
from offchain.errors import PoflValueError
from offchain.fl.architectures import architecture_id
from offchain.fl.images import LabeledImages
from offchain.holdout.split import DEFAULT_FINAL_SIZE, DEFAULT_SHARD_SIZE, DEFAULT_SHARDS
from offchain.miner.driver import RoundDriver
from offchain.miner.strategy import Trained
from offchain.model import FlexModel
from offchain.pool.blockchain import BlockchainView
from offchain.pool.chain_pool import ChainPool, miners_and_clients


class PoFLBlockchainPool(ChainPool):
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
        miner_ids, miner_of = miners_and_clients(fed_dataset, number_of_miners, seed)
        super().__init__(fed_dataset, init_func, miner_ids, miner_of, rpc_url=rpc_url, ipfs_api=ipfs_api,
                         store_dir=store_dir, seed=seed, owner_key=owner_key, miner_keys=miner_keys)
        self._require_improvement, self._phase_seconds = require_improvement, phase_seconds
        self._holdout = (None if holdout is None else
                         HoldoutSpec(holdout.to_labeled(), holdout_shards, holdout_shard_size, holdout_final_size))
        self.requester: Requester | None = None
        self.contract: PoFLContract | None = None
        self._strategy = _PoolStrategy(self)
        self._driver: RoundDriver | None = None
        self.blockchain = BlockchainView(None)

    # ----------------------------------------------------------- chain

    def _ensure_chain(self, threshold: float, eval_dataset: Dataset) -> RoundDriver:
        eval_hash = bytes.fromhex(eval_dataset.to_labeled().sha256())
        if self.contract is not None and self._driver is not None:
            onchain = self.contract.config()
            if onchain.threshold_bps != to_bps(threshold) or onchain.eval_set_hash != eval_hash:
                raise PoflValueError("the accuracy threshold and evaluation set are fixed when the pool's contract is "
                                     "deployed (at the first aggregate); call aggregate with the same ones")
            return self._driver
        _, owner, signers = self._connect()
        config = PoFLConfig(threshold_bps=to_bps(threshold), eval_set_hash=eval_hash,
                            architecture_id=architecture_id(self.architecture),
                            require_improvement=self._require_improvement, commit_duration=self._phase_seconds,
                            reveal_duration=self._phase_seconds, validation_duration=self._phase_seconds,
                            min_committee=max(1, min(3, len(self._servers) - 1)), min_stake=MIN_STAKE_WEI)
        deployment = deploy(owner, config, self._genesis_cid, store=self.store, holdout=self._holdout)
        self.contract = deployment.contract
        if deployment.holdout is not None and deployment.keys is not None:  # the pool is the task's requester
            self.requester = Requester(deployment.holdout, deployment.contract, owner, deployment.keys)
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
        super().close()


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
