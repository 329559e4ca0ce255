"""The one round loop: local miners acting on what the chain says, with hooks for what varies.

:class:`RoundDriver` looks at the chain (:class:`~offchain.miner.protocol.ChainView`), asks
:func:`~offchain.miner.protocol.next_action` what each of its local miners should do, and does
it — for all local miners that want the same action at once (their clients trained in one call,
their models evaluated in one batch, their transactions all sent before any receipt is awaited).
``pofl run`` drives all N miners from one driver, ``pofl miner`` one, the notebook's pool its
own. What varies plugs in, as Flower's strategies do: a
:class:`~offchain.miner.strategy.MinerStrategy` (how to train and evaluate), a
:class:`~offchain.miner.claims.ClaimPolicy` (honest by default) and an
:class:`~offchain.miner.evaluation.EvaluationMode` (public or hold-out, chosen by the contract).

Nothing another miner chooses can stop a driver: a candidate model that cannot be fetched,
verified or loaded — not found, timed out, corrupt, not safetensors, the wrong architecture, a
header bomb — is measured at 0 and so voted down, with the reason logged; a head block whose
model cannot be fetched is retried with backoff while the miner goes on validating; a
transaction that loses a race or reverts because the round moved on is ignored; transient RPC
errors are retried. Only the miner's own faults end it: an RPC down for longer than
``rpc_grace_s`` (:class:`RpcUnavailable`) or an unfunded key (:class:`~offchain.chain.tx.InsufficientFunds`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests
from web3.exceptions import ProviderConnectionError, Web3RPCError

from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.errors import PoFLWrongRound
from offchain.chain.holdout import HoldoutContract
from offchain.chain.types import ChainBlock, ClaimStatus, Phase
from offchain.errors import PoflConnectionError
from offchain.fl.training import FlatParams
from offchain.miner.claims import ClaimPolicy, HonestClaims
from offchain.miner.crew import Crew
from offchain.miner.evaluation import EvaluationMode, HoldoutEvaluation, PublicEvaluation
from offchain.miner.handlers import Adoption, Batch, Claiming, Upkeep, Validation
from offchain.miner.protocol import (
    PRIORITY,
    Adopt,
    Advance,
    ChainView,
    Commit,
    Draw,
    Finalize,
    Idle,
    Learn,
    MinerMemory,
    MinerRound,
    Reveal,
    Vote,
    next_action,
)
from offchain.miner.records import RoundRecord
from offchain.miner.round import LocalMiner, RoundContext, RoundLoop, Stopwatch
from offchain.miner.strategy import MinerStrategy
from offchain.store.base import ModelStore
from offchain.store.fetching import DEFAULT_FETCH_TIMEOUT_S, UntrustedFetcher
from offchain.store.model_bytes import DEFAULT_MAX_BYTES

log = logging.getLogger("pofl.miner")

# Failures of the chain RPC or the store — transport errors, and error answers of the node itself
# (a node behind a load balancer, a pruned range): retried until the grace period runs out.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (requests.exceptions.ConnectionError,
                                                     requests.exceptions.Timeout, ConnectionError, TimeoutError,
                                                     Web3RPCError, ProviderConnectionError)
ViewObserver = Callable[[ChainView], object]
"""Called with every look the driver takes at the chain (the in-process hold-out requester is one)."""


class RpcUnavailable(PoflConnectionError):
    """The chain RPC (or the store) did not answer for longer than the miner's grace period."""

    exit_code = 3


@dataclass(frozen=True)
class DriverSettings:
    """How a driver paces itself and how long it waits for others.

    Parameters:
        poll_s: seconds between looks at the chain when nothing is due.
        fetch_timeout_s: the longest one fetch of a model may take (a seat fetches a candidate again until the
            fetch deadline on chain, then reports it unavailable).
        rpc_grace_s: how long transient RPC/store failures are retried before the driver gives up.
        max_model_bytes: the size limit of a model fetched from the store.
        finalize_stagger_s: a pause before finalize/advance, times the miner's index, so that usually one of
            many miner processes sends it (0 in one process).
    """

    poll_s: float = 0.05
    fetch_timeout_s: float = DEFAULT_FETCH_TIMEOUT_S
    rpc_grace_s: float = 60.0
    max_model_bytes: int = DEFAULT_MAX_BYTES
    finalize_stagger_s: float = 0.0


class RoundDriver(RoundLoop):
    """Drives local miners through PoFL rounds (see the module docstring).

    Parameters:
        contract: the consensus contract (its round actions are sent with fixed gas limits).
        store: the model store every miner publishes to and fetches from.
        flat: the model layout (flat parameter vector <-> state dict).
        architecture: the architecture name every model must have.
        signers: one signer per local miner, in the strategy's positional order.
        strategy: how the local miners train and evaluate.
        claims: what the local miners claim (honest by default; an attacker in tests).
        indices: each local miner's number in the run (default: its position).
        settings: pacing and waiting (:class:`DriverSettings`).
        progress: called with a short line whenever the driver starts a step.
        observers: called with every look at the chain (``pofl run --holdout`` reveals shard keys from it).
    """

    def __init__(self, contract: PoFLContract, store: ModelStore, flat: FlatParams, architecture: str,
                 signers: list[LocalSigner], strategy: MinerStrategy, *, claims: ClaimPolicy | None = None,
                 indices: list[int] | None = None, settings: DriverSettings | None = None,
                 progress: Callable[[str], None] | None = None, observers: Sequence[ViewObserver] = ()) -> None:
        settings = settings or DriverSettings()
        contract = contract.without_estimates()
        fetcher = UntrustedFetcher(store, timeout_s=settings.fetch_timeout_s, max_model_bytes=settings.max_model_bytes)
        holdout = HoldoutContract.of(contract)
        mode: EvaluationMode = (PublicEvaluation(strategy) if holdout is None else
                                HoldoutEvaluation(strategy, contract, holdout, fetcher))
        indices = indices if indices is not None else list(range(len(signers)))
        miners = [LocalMiner(p, i, s, MinerMemory(s.address)) for p, (i, s) in
                  enumerate(zip(indices, signers, strict=True))]
        self.crew = crew = Crew(contract, store, fetcher, mode, strategy, claims or HonestClaims(), flat, architecture,
                                miners, progress or (lambda _msg: None))
        self.settings = settings
        self.observers = list(observers)
        self.records: list[RoundRecord] = []
        self._failing_since: float | None = None
        adoption, claiming = Adoption(crew), Claiming(crew, max(settings.poll_s, 0.5))
        validation = Validation(crew)
        upkeep = Upkeep(crew, settings.poll_s, settings.finalize_stagger_s)
        self._handlers: dict[type, Callable[[ChainView, Batch], None]] = {
            Adopt: adoption.adopt, Learn: adoption.learn, Commit: claiming.commit, Reveal: claiming.reveal,
            Vote: validation.vote, Draw: upkeep.draw, Finalize: upkeep.finalize, Advance: upkeep.advance}

    @property
    def contract(self) -> PoFLContract:
        return self.crew.contract

    @property
    def miners(self) -> list[LocalMiner]:
        return self.crew.miners

    @property
    def started_from(self) -> ChainBlock | None:
        """The first block the local miners adopted (the point a resumed run started from)."""
        return self.crew.started_from

    # ------------------------------------------------------------------ loop

    def step(self) -> bool:
        """One look at the chain and what is due; transient failures are retried within the grace period.
        True if anything was done."""
        try:
            acted = self._step()
        except TRANSIENT_ERRORS as exc:
            self._transient(exc)
            return False
        except PoFLWrongRound as exc:  # the round ended between two reads of one look: look again
            log.info("the round moved on while the chain was being read (%s); looking again", exc.args_by_name)
            return False
        self._failing_since = None
        return acted

    def _transient(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        down = now - self._failing_since
        grace = self.settings.rpc_grace_s
        if down > grace:
            raise RpcUnavailable(f"the chain RPC or the store has failed for {down:.0f} s (last: "
                                 f"{exc.__class__.__name__}: {exc}); check the node and --rpc-url/--ipfs-api, "
                                 f"then restart the miner: it resumes from the chain") from None
        log.warning("transient failure (%s: %s); retrying for up to %.0f s more", exc.__class__.__name__,
                    str(exc)[:200], grace - down)
        for m in self.miners:
            m.signer.resync()
        time.sleep(min(2.0, 0.1 * 2 ** min(down, 5)))

    def close(self) -> None:
        self.crew.io.shutdown(wait=False, cancel_futures=True)
        self.crew.fetcher.close()

    def _step(self) -> bool:
        with (self.crew.round.watch if self.crew.round else Stopwatch())("chain"):
            view = self._view()
        if self._track_round(view):
            # a round just ended: its record is out before anything of the next round is done, so a caller
            # that steps round by round (run_round: the notebook pool trains its clients between calls) acts on
            # the new round only in its next call, with what it has prepared for it
            return True
        for observe in self.observers:
            observe(view)
        now = time.monotonic()
        wanted: dict[type, Batch] = defaultdict(list)
        for m in self.miners:
            action = next_action(view, m.memory, now)
            wanted[type(action)].append((m, action))
        kind = next(k for k in PRIORITY if k in wanted)
        if kind is Idle:
            time.sleep(self.settings.poll_s)
            return False
        log.debug("round %d, %s: %s for miners %s", view.round, view.phase.name.lower(), kind.__name__.lower(),
                  [m.index for m, _ in wanted[kind]])
        self._handlers[kind](view, wanted[kind])
        return True

    def _view(self) -> ChainView:
        c = self.contract
        state = c.current_phase()
        pending = c.current_phase("pending")
        head = c.latest_block()
        info, committee = None, frozenset[str]()
        if state.phase == Phase.VALIDATION:
            info = c.round_info(state.round)
            if info.seats:
                committee = self._committee(state.round, info.attempt)
        key_revealed, shard_ready = self.crew.mode.look(state.round, state.phase)
        return ChainView(state.round, state.phase, pending != state, head, info, committee, key_revealed,
                         shard_ready)

    def _committee(self, round_id: int, attempt: int) -> frozenset[str]:
        """The seats of validation ``attempt`` (read once: a drawn committee never changes)."""
        now = self.crew.round
        known = now.committees if now is not None and now.round == round_id else {}
        if attempt not in known:
            known[attempt] = frozenset(self.contract.committee(round_id))
        return known[attempt]

    # ------------------------------------------------------------------ round bookkeeping

    def _track_round(self, view: ChainView) -> bool:
        """Open the context of a round seen for the first time; True if that concluded the one before."""
        crew, concluded = self.crew, False
        if crew.round is not None and view.round > crew.round.round:
            self.records.append(crew.round.record(view.head, crew.miners, self._rejected(crew.round)))
            crew.round = None
            for m in crew.miners:
                m.forget_round(keep=view.head.cid)
            concluded = True
        if crew.round is None:
            opened_here = bool(self.records)  # this driver saw the round open: no claim of ours is in it yet
            crew.round = RoundContext(view.round, self.contract.w3.eth.block_number)
            crew.mode.round_opened(view.round)
            for m in crew.miners:  # once a round: is another process signing with a miner's key?
                m.signer.check_exclusive()
            for m in self.miners:
                if opened_here and view.phase == Phase.COMMIT:
                    m.memory.round = MinerRound(view.round)
        return concluded

    def _rejected(self, ctx: RoundContext) -> list[int | str]:
        """The claimants the committees of ``ctx``'s round rejected (local miners by index)."""
        by_address = {m.address: m.index for m in self.miners}
        with ctx.watch("chain"):
            return [by_address.get(a["claimant"], a["claimant"]) for a in
                    (e["args"] for e in self.contract.events("ClaimDecided", ctx.first_block))
                    if a["round"] == ctx.round and a["outcome"] == ClaimStatus.REJECTED]
