"""One miner's side of the protocol, as non-blocking steps over the chain and the store.

A :class:`MinerAgent` owns one key, its current model and the accuracies it computed itself.
It publishes models, commits and reveals claims, fetches candidates by CID (verified and
loaded safely) for validation, votes, finalizes, and adopts blocks. It computes nothing on
the learning side: the caller trains and evaluates (batched for many agents in one process,
or alone in a worker process) and hands the numbers in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from offchain.errors import PoflRuntimeError
from offchain.chain.accounts import LocalSigner
from offchain.chain.errors import ContractRevert, StaleCandidate, WrongPhase, WrongRound
from offchain.chain.pofl import ChainBlock, Phase, PoFLContract, to_bps
from offchain.chain.rounds import SealedClaim
from offchain.chain.tx import PendingTx
from offchain.fl.training import FlatParams
from offchain.store.base import ModelStore
from offchain.store.model_bytes import DEFAULT_MAX_BYTES
from offchain.store.models import fetch_model, publish_model

BENIGN = (WrongPhase, WrongRound, StaleCandidate)  # the round moved on or was decided by others first


def wait_benign(pending: PendingTx | None) -> int:
    """Gas used by ``pending``, or 0 when it was None or lost a race that another miner won."""
    if pending is None:
        return 0
    try:
        return int(pending.wait()["gasUsed"])
    except BENIGN:
        return 0


@dataclass
class LocalModel:
    """A model this miner holds, with its CID and the accuracy the miner measured itself."""

    params: torch.Tensor
    cid: str
    accuracy: float | None  # None until this miner has evaluated it itself


@dataclass
class MinerAgent:
    index: int
    signer: LocalSigner
    contract: PoFLContract
    store: ModelStore
    flat: FlatParams
    architecture: str
    model: LocalModel | None = None
    adopted_height: int = 0
    claim: SealedClaim | None = None
    measured: dict[str, float] = field(default_factory=dict)  # cid -> accuracy this miner computed
    max_model_bytes: int = DEFAULT_MAX_BYTES

    @property
    def address(self) -> str:
        return self.signer.address

    # ------------------------------------------------------------ models

    def publish(self, params: torch.Tensor, accuracy: float, round_id: int) -> LocalModel:
        """Store ``params`` (its accuracy measured by this miner) and make it the current model."""
        cid = publish_model(self.store, self.flat.unflatten(params.detach().cpu()), self.architecture, round_id)
        self.measured[cid] = accuracy
        self.model = LocalModel(params, cid, accuracy)
        return self.model

    def fetch(self, cid: str, device: torch.device) -> torch.Tensor:
        """The model stored under ``cid``: bytes verified against the CID, tensors checked, never unpickled."""
        state = fetch_model(self.store, cid, self.architecture, max_bytes=self.max_model_bytes)
        return self.flat.flatten(state).to(device)

    def adopt(self, block: ChainBlock, params: torch.Tensor) -> None:
        """Make the block's model (fetched and verified by the caller) the current model. Its accuracy is
        what this miner measured itself, or unknown until it does (never the block's claimed number)."""
        self.model = LocalModel(params, block.cid, self.measured.get(block.cid))
        self.adopted_height = block.height

    def record_measurement(self, accuracy: float) -> None:
        """This miner's own evaluation of its current model."""
        assert self.model is not None
        self.model.accuracy = accuracy
        self.measured[self.model.cid] = accuracy

    # ------------------------------------------------------------- chain

    def commit(self, round_id: int, claimed_accuracy: float | None = None) -> PendingTx:
        """Commit the current model and its self-measured accuracy for ``round_id``.

        ``claimed_accuracy`` overrides the claim: only a dishonest miner (a test, a demo) does that.
        """
        if self.model is None:
            raise PoflRuntimeError(f"miner {self.index} has no model to claim")
        accuracy = self.model.accuracy if claimed_accuracy is None else claimed_accuracy
        if accuracy is None:
            raise PoflRuntimeError(f"miner {self.index} has not measured its model {self.model.cid}: evaluate it first")
        self.claim = SealedClaim(round_id, self.model.cid, to_bps(accuracy))
        return self.contract.commit(self.signer, round_id, self.claim.commitment(self.contract, self.address))

    def reveal(self) -> PendingTx:
        if self.claim is None:
            raise PoflRuntimeError(f"miner {self.index} has nothing committed to reveal")
        c = self.claim
        return self.contract.reveal(self.signer, c.round_id, c.cid, c.accuracy_bps, c.salt)

    def validation_duty(self, round_id: int) -> tuple[str, str] | None:
        """(candidate, its CID) if this miner sits on the committee and has not voted on it yet."""
        state = self.contract.current_phase()
        if state.round != round_id or state.phase != Phase.VALIDATION:
            return None
        if not self.contract.is_validator(round_id, self.address):
            return None
        info = self.contract.round_info(round_id)
        if int(self.contract.vote_of(round_id, info.candidate, self.address)):
            return None
        return info.candidate, self.contract.claim_of(round_id, info.candidate).cid

    def vote(self, round_id: int, candidate: str, cid: str, measured: float) -> PendingTx | None:
        """Vote the accuracy this miner measured for ``candidate``'s model; None if already decided."""
        self.measured[cid] = measured
        try:
            return self.contract.vote(self.signer, round_id, candidate, to_bps(measured))
        except BENIGN:
            return None

    def finalize(self) -> PendingTx | None:
        """Call finalize(); None if another miner already did."""
        try:
            return self.contract.finalize(self.signer)
        except BENIGN:
            return None

    def advance(self) -> PendingTx | None:
        try:
            return self.contract.advance(self.signer)
        except ContractRevert:
            return None
