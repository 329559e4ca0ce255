"""How a round's models are measured: the one seam between public and hold-out evaluation.

A round driver never asks which mode it runs in; it asks its :class:`EvaluationMode`:

- :meth:`~EvaluationMode.look`: what the mode adds to a look at the chain (in hold-out mode: whether
  the round's shard key is public, whether a shard judges the round at all);
- :meth:`~EvaluationMode.round_opened`: a round has opened (hold-out mode starts fetching its sealed
  shard, and forgets the last round's);
- :attr:`~EvaluationMode.blind`: whether a claim is committed before it can be measured (hold-out
  mode: the model only, measured and declared at the reveal, once the shard key is public);
- :meth:`~EvaluationMode.measure`: the accuracy of models, and of the parent block's model on the
  same data where the mode compares them;
- :meth:`~EvaluationMode.report`: a seat's report of its measurements.

:class:`PublicEvaluation`: every miner measures on the evaluation set whose sha256 the contract
holds. :class:`HoldoutEvaluation`: round r is measured on the hold-out task's shard for r, opened
with the key the chain made public; a shard that cannot be opened (a wrong key, a ciphertext that
does not decrypt, a store that does not have it) measures every model at 0, so nothing is eligible
and the round fails -- never the miner.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import torch

from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.holdout import HoldoutContract, OnChainShard
from offchain.chain.tx import PendingTx
from offchain.chain.types import Phase, to_bps
from offchain.fl.images import LabeledImages
from offchain.holdout.task import MAX_SEALED_BYTES, unseal_shard
from offchain.miner.strategy import MinerStrategy
from offchain.store.fetching import Untrusted, UntrustedFetcher

log = logging.getLogger("pofl.miner")


@dataclass(frozen=True)
class Measurement:
    """Accuracies of the measured models, in order, and of the parent block's model on the same data (0 where
    the mode does not measure it or no local miner holds it)."""

    accuracies: list[float]
    parent: float = 0.0
    shard_unopened: bool = False  # hold-out mode: the round's shard was had and does not open with its key
    shard_unavailable: bool = False  # hold-out mode: the round's shard could not be had (yet): nothing was measured


class EvaluationMode(Protocol):
    """How a driver's local miners measure models and report (see the module docstring)."""

    blind: bool

    def look(self, round_id: int, phase: Phase) -> tuple[bool, bool]:
        """(whether the round's models can be measured now, whether the round takes claims)."""
        ...

    def round_opened(self, round_id: int) -> None:
        """Round ``round_id`` is the one open now."""
        ...

    def measure(self, round_id: int, models: list[torch.Tensor], evaluators: list[int],
                parent: torch.Tensor | None) -> Measurement:
        """The accuracy of each of ``models`` (as measured by the local miner at the same place in ``evaluators``)
        in round ``round_id``, and of ``parent`` (the head block's model, None if no local miner holds it)."""
        ...

    def report(self, contract: PoFLContract, signer: LocalSigner, round_id: int, attempt: int,
               measured: float, parent: float) -> PendingTx:
        """Send a seat's report on validation ``attempt``."""
        ...


class PublicEvaluation:
    """Every miner measures on the public evaluation set; claims are committed with their accuracy."""

    blind = False

    def __init__(self, strategy: MinerStrategy) -> None:
        self.strategy = strategy

    def look(self, round_id: int, phase: Phase) -> tuple[bool, bool]:
        return True, True

    def round_opened(self, round_id: int) -> None:
        pass

    def measure(self, round_id: int, models: list[torch.Tensor], evaluators: list[int],
                parent: torch.Tensor | None) -> Measurement:
        batch = models + ([parent] if parent is not None else [])
        who = evaluators[:len(models)] + ([evaluators[0] if evaluators else 0] if parent is not None else [])
        accs = self.strategy.evaluate(batch, who) if batch else []
        return Measurement(accs[:len(models)], accs[-1] if parent is not None else 0.0)

    def report(self, contract: PoFLContract, signer: LocalSigner, round_id: int, attempt: int,
               measured: float, parent: float) -> PendingTx:
        return contract.vote(signer, round_id, attempt, to_bps(measured), to_bps(parent))


def open_recorded_shard(fetcher: UntrustedFetcher, holdout: HoldoutContract, shard: OnChainShard, name: str,
                        sealed: Future[bytes] | None = None) -> Untrusted[LabeledImages]:
    """``shard`` as the chain records it (CID, key hash, revealed key): fetched (or the read ``sealed`` already
    started), decrypted and parsed; anything wrong is reported, prefixed by ``name`` and its CID, never raised."""
    where = f"{name} (CID {shard.cid})"
    key = shard.key
    if key is None:
        return Untrusted(None, f"{where}: its key was never revealed on chain")
    read = fetcher.wait(sealed) if sealed is not None else fetcher.blob(shard.cid, MAX_SEALED_BYTES)
    opened = read.then(lambda data: unseal_shard(data, key, shard.key_hash, task=holdout.task_id(),
                                                 index=shard.index))
    return opened.named(where)


@dataclass
class _RoundShard:
    """Hold-out mode's state of the round open now (dropped when the next opens)."""

    round: int
    sealed: tuple[str, Future[bytes]] | None = None  # its shard's CID and ciphertext, fetched from the round's opening
    ready: bool = False  # a shard judges the round
    told_no_shard: bool = False
    opened: Untrusted[LabeledImages] | None = field(default=None)  # None: its key is not public yet


class HoldoutEvaluation:
    """Round r is measured on the hold-out task's shard for r, once its key is public (see the module docstring).

    Parameters:
        strategy: evaluates models on a shard.
        contract: the consensus (which shard the current round gets).
        holdout: its hold-out task.
        fetcher: reads the sealed shards.
    """

    blind = True

    def __init__(self, strategy: MinerStrategy, contract: PoFLContract, holdout: HoldoutContract,
                 fetcher: UntrustedFetcher) -> None:
        self.strategy = strategy
        self.contract = contract
        self.holdout = holdout
        self.fetcher = fetcher
        self._round: _RoundShard | None = None

    def _current(self, round_id: int) -> _RoundShard:
        if self._round is None or self._round.round != round_id:
            self.round_opened(round_id)
        assert self._round is not None
        return self._round

    def round_opened(self, round_id: int) -> None:
        """Start fetching the round's sealed shard now (its bytes are public from the task's deployment), so that
        only decryption is left when its key is revealed; forget the last round's."""
        if self._round is not None and self._round.round == round_id:
            return
        if self._round is not None and self._round.sealed is not None:
            self._round.sealed[1].cancel()
        shard = self.holdout.shard_for_round(round_id)
        sealed = None if shard is None else (shard.cid, self.fetcher.start_blob(shard.cid, MAX_SEALED_BYTES))
        self._round = _RoundShard(round_id, sealed)

    def look(self, round_id: int, phase: Phase) -> tuple[bool, bool]:
        state = self._current(round_id)
        key_revealed = True
        if phase == Phase.REVEAL and state.opened is None:
            key_revealed = self.holdout.shard_of(round_id)[0]
        if phase == Phase.COMMIT and not state.ready:
            state.ready = self.holdout.shard_available(self.contract.shards_used())
            if not state.ready and not state.told_no_shard:
                state.told_no_shard = True
                log.warning("the hold-out task has no shard for round %d (it has %d, or it has ended): waiting for "
                            "the requester to append shards", round_id, self.holdout.shard_count())
        return key_revealed, state.ready or phase != Phase.COMMIT

    def _shard(self, round_id: int) -> LabeledImages | None:
        """The round's shard, opened with the key the chain made public (once a round), or None if it cannot be
        opened. Never raises for what the requester published."""
        state = self._current(round_id)
        if state.opened is None:
            revealed, index = self.holdout.shard_of(round_id)
            if not revealed:
                return None  # not public yet: look again later
            shard = self.holdout.shard_at(index)  # a revealed shard is read once, then cached
            early = state.sealed[1] if state.sealed is not None and state.sealed[0] == shard.cid else None
            state.opened = open_recorded_shard(self.fetcher, self.holdout, shard, f"round {round_id}'s shard", early)
            if state.opened.value is None and state.opened.unavailable:
                # not had (the store down, a peer not reached): nothing is measured on it, and it is read again
                # next time (a seat reports UNAVAILABLE past the fetch deadline, never a measurement of 0)
                log.warning("%s: not read yet; fetching it again", state.opened.error[:400])
                state.sealed = None
                return None
            if state.opened.value is None:
                log.error("%s: every model measures 0 on it", state.opened.error[:400])
        return state.opened.value

    def measure(self, round_id: int, models: list[torch.Tensor], evaluators: list[int],
                parent: torch.Tensor | None) -> Measurement:
        shard = self._shard(round_id)
        batch = models + ([parent] if parent is not None else [])
        accs = (self.strategy.evaluate_on(batch, shard) if shard is not None and batch else []) or [0.0] * len(batch)
        opened = self._current(round_id).opened
        unopened = opened is not None and opened.value is None and not opened.unavailable  # the requester's fault
        unavailable = shard is None and opened is not None and opened.unavailable
        if unavailable:
            self._current(round_id).opened = None  # read again next time
        return Measurement(accs[:len(models)], accs[-1] if parent is not None else 0.0, unopened, unavailable)

    def report(self, contract: PoFLContract, signer: LocalSigner, round_id: int, attempt: int,
               measured: float, parent: float) -> PendingTx:
        return contract.vote(signer, round_id, attempt, to_bps(measured), to_bps(parent))
