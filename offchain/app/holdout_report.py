"""What a hold-out task's shards say about a chain's blocks: shards opened with the keys the chain
recorded, and the final held-out report.

Every block after genesis was judged on the selection shard of its round: its recorded accuracy is
the committee's median on that shard. Once the requester ends the task, the final shard's key is
public and every block's model is measured on the final shard, which no round ever saw. A block's
*gap* is its recorded (selection-shard) accuracy minus its final-shard accuracy: how much selection
on a small shard over-estimated it.

:func:`final_accuracies` is the report ``pofl blocks`` prints; ``pofl verify`` builds the same
records (:meth:`FinalAccuracy.of`) in its own pass over the models, and checks that the shards open.
Nothing a shard or a model points at raises here, except :class:`FinalShardError` for a final shard
that does not open; what cannot be had is told apart from what is bad (``unavailable``).
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from offchain.errors import PoflValueError
from offchain.fl.architectures import architecture_named, build_model
from offchain.fl.evaluation import Evaluator
from offchain.fl.images import LabeledImages
from offchain.fl.training import FlatParams
from offchain.miner.evaluation import open_recorded_shard
from offchain.store.base import ModelStore
from offchain.store.fetching import Untrusted, UntrustedFetcher

if TYPE_CHECKING:
    from offchain.chain.consensus import PoFLContract
    from offchain.chain.holdout import HoldoutContract
    from offchain.chain.types import ChainBlock


@dataclass(frozen=True)
class FinalAccuracy:
    """One block measured on the task's final shard."""

    height: int
    round: int
    cid: str
    selection_accuracy: float | None  # recorded: the committee's median on its round's shard; None for genesis
    final_accuracy: float | None  # measured on the final shard; None when the model could not be had or read
    gap: float | None  # selection_accuracy - final_accuracy, when both are known
    error: str = ""  # why final_accuracy is None

    @classmethod
    def of(cls, block: ChainBlock, final_accuracy: float | None, error: str = "") -> FinalAccuracy:
        selection = None if block.height == 0 else block.accuracy
        gap = None if selection is None or final_accuracy is None else selection - final_accuracy
        return cls(block.height, block.round, block.cid, selection, final_accuracy, gap, error)


class FinalShardError(PoflValueError):
    """The task has ended but its final shard does not open (``unavailable``: the store does not have it)."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


def open_round_shard(fetcher: UntrustedFetcher, holdout: HoldoutContract, round_id: int,
                     ) -> Untrusted[LabeledImages]:
    """The selection shard that judged ``round_id`` (the one whose key was revealed for it), opened with its
    recorded key."""
    shard = holdout.shard_for_round(round_id)
    if shard is None:
        return Untrusted(None, f"no shard of the task judges round {round_id}")
    return open_recorded_shard(fetcher, holdout, shard, f"round {round_id}'s shard {shard.index}")


def open_final_shard(fetcher: UntrustedFetcher, holdout: HoldoutContract) -> LabeledImages | None:
    """The final shard once the task has ended, None before; :class:`FinalShardError` if it does not open."""
    if not holdout.ended():
        return None
    opened = open_recorded_shard(fetcher, holdout, holdout.final_shard(), "the final shard")
    if opened.value is None:
        raise FinalShardError(opened.error, unavailable=opened.unavailable)
    return opened.value


def final_accuracies(contract: PoFLContract, holdout: HoldoutContract, store: ModelStore,
                     device: torch.device | None = None) -> list[FinalAccuracy] | None:
    """Every block of ``contract`` (genesis included) measured on ``holdout``'s final shard.

    Parameters:
        contract: the consensus whose blocks are measured (its configuration names the architecture).
        holdout: its hold-out task (:meth:`HoldoutContract.of`).
        store: where the sealed final shard and the models are.
        device: where to measure (default: CPU).
    Returns:
        one :class:`FinalAccuracy` per block, in height order; None while the task has not ended. A model
        that cannot be had or read has ``final_accuracy`` None and its ``error``.
    Raises:
        FinalShardError: the task has ended but its final shard does not open (a key that does not match its
            hash, a ciphertext that does not decrypt or parse, or a store that does not have it).
        PoflValueError: the contract's architecture id is not a known architecture.
    """
    with closing(UntrustedFetcher(store)) as fetcher:
        return _final_accuracies(contract, holdout, fetcher, device)


def _final_accuracies(contract: PoFLContract, holdout: HoldoutContract, fetcher: UntrustedFetcher,
                      device: torch.device | None) -> list[FinalAccuracy] | None:
    final = open_final_shard(fetcher, holdout)
    if final is None:
        return None
    config = contract.config()
    architecture = architecture_named(config.architecture_id)
    if architecture is None:
        raise PoflValueError(f"unknown architecture id {config.architecture_id.hex()}: cannot measure the models")
    device = device or torch.device("cpu")
    flat = FlatParams(build_model(architecture).to(device))
    evaluator = Evaluator(final, flat, architecture, device)
    records = []
    for block in contract.blocks():
        params = fetcher.params(block.cid, flat, architecture, device)
        records.append(FinalAccuracy.of(block, None if params.value is None else evaluator.accuracy(params.value),
                                        params.error))
    return records
