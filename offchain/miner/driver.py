"""The one round loop: local miners acting on what the chain says, with hooks for what varies.

:class:`RoundDriver` looks at the chain (:class:`~offchain.miner.protocol.ChainView`), asks
:func:`~offchain.miner.protocol.next_action` what each of its local miners should do, and does
it — for all local miners that want the same action at once (their clients trained in one call,
their models evaluated in one batch, their transactions all sent before any receipt is awaited).
``pofl run`` drives all N miners from one driver, ``pofl miner`` one, the notebook's pool its
own; each plugs in a :class:`~offchain.miner.strategy.MinerStrategy` (how to train and evaluate)
and a :class:`~offchain.miner.claims.ClaimPolicy` (honest by default).

Nothing another miner chooses can stop a driver: a candidate model that cannot be fetched,
verified or loaded — not found, timed out, corrupt, not safetensors, the wrong architecture, a
header bomb — is measured at 0 and so voted down, with the reason logged; a head block whose
model cannot be fetched is retried with backoff while the miner goes on validating; a
transaction that loses a race or reverts because the round moved on is ignored; transient RPC
errors are retried. Only the miner's own faults end it: an RPC down for longer than
``rpc_grace_s`` (:class:`RpcUnavailable`) or an unfunded key (:class:`~offchain.chain.tx.InsufficientFunds`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests
import torch
from web3.exceptions import ProviderConnectionError, Web3RPCError

from offchain.app.requester import Requester
from offchain.chain.accounts import LocalSigner
from offchain.chain.commitment import SealedClaim
from offchain.chain.errors import ContractRevert, PoFLWrongRound
from offchain.chain.holdout import HoldoutContract
from offchain.chain.keys import DEV_CHAIN_IDS
from offchain.chain.pofl import ChainBlock, ClaimStatus, Phase, PoFLContract, to_bps
from offchain.chain.tx import PendingTx, TransactionFailed
from offchain.errors import PoflConnectionError, PoflRuntimeError, PoflValueError
from offchain.fl.images import LabeledImages
from offchain.fl.training import FlatParams
from offchain.holdout.task import fetch_sealed, unseal_shard
from offchain.miner.claims import ClaimPolicy, HeldModel, HonestClaims
from offchain.miner.metrics import RoundRecord
from offchain.miner.protocol import (
    PRIORITY,
    Action,
    Adopt,
    Advance,
    ChainView,
    Commit,
    Draw,
    Finalize,
    Idle,
    Learn,
    MinerMemory,
    Reveal,
    Vote,
    next_action,
)
from offchain.miner.strategy import MinerStrategy
from offchain.store.base import ModelStore, StoreError
from offchain.store.cid import compute_cid
from offchain.store.fetching import fetch_untrusted
from offchain.store.model_bytes import DEFAULT_MAX_BYTES, model_to_bytes

log = logging.getLogger("pofl.miner")

# Failures of the chain RPC or the store — transport errors, and error answers of the node itself
# (a node behind a load balancer, a pruned range): retried until the grace period runs out.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (requests.exceptions.ConnectionError,
                                                     requests.exceptions.Timeout, ConnectionError, TimeoutError,
                                                     Web3RPCError, ProviderConnectionError)
HEAD_RETRY_FIRST_S = 1.0
HEAD_RETRY_MAX_S = 60.0
CANDIDATE_RETRY_S = 0.5  # between fetches of a candidate the store does not have (yet)


class RpcUnavailable(PoflConnectionError):
    """The chain RPC (or the store) did not answer for longer than the miner's grace period."""

    exit_code = 3


class Stopwatch:
    """Seconds spent per category."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, category: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[category] += time.perf_counter() - start


@dataclass
class LocalMiner:
    """One miner this process runs: its key, its model and what it measured itself."""

    position: int  # place in the driver's list (the strategy's name for it)
    index: int  # the miner's number in the run, for logs and records
    signer: LocalSigner
    memory: MinerMemory
    params: torch.Tensor | None = None
    cid: str | None = None
    measured: dict[str, float] = field(default_factory=dict)  # CID -> accuracy this miner computed
    claim: SealedClaim | None = None
    copies: dict[str, torch.Tensor] = field(default_factory=dict)  # candidates fetched this round
    unpublished: dict[str, bytes] = field(default_factory=dict)  # CID -> model bytes kept private until reveal
    head_failures: int = 0

    @property
    def address(self) -> str:
        return self.signer.address

    @property
    def accuracy(self) -> float | None:
        return self.measured.get(self.cid) if self.cid is not None else None


@dataclass
class _RoundLog:
    """What the driver saw of one round, for its :class:`RoundRecord`."""

    round: int
    first_block: int
    watch: Stopwatch = field(default_factory=Stopwatch)
    gas: int = 0
    clients_trained: int = 0
    validations: int = 0
    miner_accuracies: dict[int, float] = field(default_factory=dict)


class RoundDriver:
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
        poll_s: seconds between looks at the chain when nothing is due.
        fetch_timeout_s: the longest a validator waits for a candidate's model before measuring 0.
        rpc_grace_s: how long transient RPC/store failures are retried before the driver gives up.
        max_model_bytes: the size limit of a model fetched from the store.
        finalize_stagger_s: a pause before finalize/advance, times the miner's index, so that
            usually one of many miner processes sends it (0 in one process).
        progress: called with a short line whenever the driver starts a step.
        requester: in hold-out mode, a requester this process runs beside its miners (``pofl run
            --holdout``): it reveals each round's shard key as soon as the driver sees the commits closed.

    In hold-out mode (the contract names a hold-out task) the driver commits each model blind, and
    measures claims, candidates and the parent block on the round's shard once its key is public:
    a shard that cannot be opened (a wrong key, a ciphertext that does not decrypt) measures every
    model at 0, so nothing is eligible and the round fails -- the driver never stops for it.
    """

    def __init__(self, contract: PoFLContract, store: ModelStore, flat: FlatParams, architecture: str,
                 signers: list[LocalSigner], strategy: MinerStrategy, *, claims: ClaimPolicy | None = None,
                 indices: list[int] | None = None, poll_s: float = 0.05, fetch_timeout_s: float = 20.0,
                 rpc_grace_s: float = 60.0, max_model_bytes: int = DEFAULT_MAX_BYTES,
                 finalize_stagger_s: float = 0.0, progress: Callable[[str], None] | None = None,
                 requester: Requester | None = None) -> None:
        self.contract = contract.without_estimates()
        self.holdout = HoldoutContract.of(contract)
        self.requester = requester
        self.store = store
        self.flat = flat
        self.architecture = architecture
        self.strategy = strategy
        self.claims = claims or HonestClaims()
        indices = indices if indices is not None else list(range(len(signers)))
        self.miners = [LocalMiner(p, i, s, MinerMemory(s.address)) for p, (i, s) in
                       enumerate(zip(indices, signers, strict=True))]
        self.by_address = {m.address: m for m in self.miners}
        self.poll_s = poll_s
        self.fetch_timeout_s = fetch_timeout_s
        self.rpc_grace_s = rpc_grace_s
        self.max_model_bytes = max_model_bytes
        self.finalize_stagger_s = finalize_stagger_s
        self.progress = progress or (lambda _msg: None)
        self.records: list[RoundRecord] = []
        self.started_from: ChainBlock | None = None  # the first block the local miners adopted (the resume point)
        self._log: _RoundLog | None = None
        self._cids: dict[tuple[int, str], str] = {}  # (round, claimant) -> revealed CID
        self._committees: dict[tuple[int, int], list[str]] = {}  # (round, attempt) -> seats
        self._last_block = (-1, 0.0)  # (the chain's block number, when this driver first saw it)
        self._devnet = self.contract.w3.eth.chain_id in DEV_CHAIN_IDS  # mines a block per transaction
        self._io = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pofl-io")
        # fetches run apart from the jobs that wait for them (no pool waits on itself); a fetch that
        # overruns fetch_timeout_s is abandoned to the store's own timeout
        self._fetcher = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pofl-fetch")
        self._failing_since: float | None = None
        self._shards: dict[int, LabeledImages | None] = {}  # hold-out mode: round -> its opened shard (None: unusable)
        self._ready: set[int] = set()  # hold-out mode: rounds a shard judges
        self._give_up: dict[tuple[int, int], float] = {}  # (round, attempt) -> when seats stop waiting for its model
        self._sealed: dict[int, Future[bytes]] = {}  # hold-out mode: round -> its sealed shard, fetched early
        self._told_no_shard: set[int] = set()
        self._head: tuple[str, torch.Tensor] | None = None  # the head block's CID and model (the parent in a vote)

    # ------------------------------------------------------------------ loop

    def run(self, stop: Callable[[], bool]) -> None:
        """Step until ``stop()`` is true."""
        while not stop():
            self.step()

    def run_round(self, max_seconds: float | None = None) -> RoundRecord:
        """Step until the round current at the call has ended; its record."""
        done = len(self.records)
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while len(self.records) == done:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"round did not end within {max_seconds:.0f} s")
            self.step()
        return self.records[-1]

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
        if down > self.rpc_grace_s:
            raise RpcUnavailable(f"the chain RPC or the store has failed for {down:.0f} s (last: "
                                 f"{exc.__class__.__name__}: {exc}); check the node and --rpc-url/--ipfs-api, "
                                 f"then restart the miner: it resumes from the chain") from None
        log.warning("transient failure (%s: %s); retrying for up to %.0f s more", exc.__class__.__name__,
                    str(exc)[:200], self.rpc_grace_s - down)
        for m in self.miners:
            m.signer.resync()
        time.sleep(min(2.0, 0.1 * 2 ** min(down, 5)))

    def close(self) -> None:
        self._io.shutdown(wait=False, cancel_futures=True)
        self._fetcher.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ one step

    def _step(self) -> bool:
        log_ = self._log
        watch = log_.watch if log_ else Stopwatch()
        with watch("chain"):
            view = self._view()
        if self._track_round(view):
            # a round just ended: its record is out before anything of the next round is done, so a caller
            # that steps round by round (run_round: the notebook pool trains its clients between calls) acts on
            # the new round only in its next call, with what it has prepared for it
            return True
        if self.requester is not None:
            self.requester.observe(view.round, view.phase, view.key_revealed)
        now = time.monotonic()
        wanted: dict[type, list[tuple[LocalMiner, Action]]] = defaultdict(list)
        for m in self.miners:
            action = next_action(view, m.memory, now)
            wanted[type(action)].append((m, action))
        kind = next(k for k in PRIORITY if k in wanted)
        batch = wanted[kind]
        if kind is Idle:
            time.sleep(self.poll_s)
            return False
        handler = {Adopt: self._adopt, Learn: self._learn, Commit: self._commit, Reveal: self._reveal,
                   Vote: self._vote, Draw: self._draw, Finalize: self._finalize, Advance: self._advance}[kind]
        handler(view, batch)
        return True

    def _view(self) -> ChainView:
        c = self.contract
        state = c.current_phase()
        pending = c.current_phase("pending")
        head = c.latest_block()
        info, committee = None, frozenset()
        if state.phase == Phase.VALIDATION:
            info = c.round_info(state.round)
            if info.seats:
                committee = frozenset(self._committee(state.round, info.attempt))
        key_revealed = shard_ready = True
        if self.holdout is not None and state.phase == Phase.REVEAL and state.round not in self._shards:
            key_revealed = self.holdout.shard_of(state.round)[0]
        if self.holdout is not None and state.phase == Phase.COMMIT and state.round not in self._ready:
            shard_ready = self.holdout.shard_available(self.contract.shards_used())
            if shard_ready:
                self._ready.add(state.round)
            elif state.round not in self._told_no_shard:
                self._told_no_shard.add(state.round)
                log.warning("the hold-out task has no shard for round %d (it has %d, or it has ended): waiting for "
                            "the requester to append shards", state.round, self.holdout.shard_count())
        return ChainView(state.round, state.phase, pending != state, head, info, committee, key_revealed,
                         shard_ready)

    def _committee(self, round_id: int, attempt: int) -> list[str]:
        """The seats of validation ``attempt`` of ``round_id`` (read once: a drawn committee never changes)."""
        key = (round_id, attempt)
        if key not in self._committees:
            self._committees[key] = self.contract.committee(round_id)
        return self._committees[key]

    # ------------------------------------------------------------------ round bookkeeping

    def _track_round(self, view: ChainView) -> bool:
        """Open the log of a round seen for the first time; True if that concluded the one before."""
        concluded = False
        if self._log is not None and view.round > self._log.round:
            self._conclude(self._log, view.head)
            self._log = None
            self._forget_before(view.round)
            concluded = True
        if self._log is None:
            opened_here = bool(self.records)  # this driver saw the round open: no claim of ours is in it yet
            self._log = _RoundLog(view.round, self.contract.w3.eth.block_number)
            self._prefetch_shard(view.round)
            for m in self.miners:
                m.copies.clear()
                if opened_here and view.phase == Phase.COMMIT:
                    m.memory.committed.setdefault(view.round, False)
                    m.memory.revealed.setdefault(view.round, False)
        return concluded

    def _forget_before(self, round_id: int) -> None:
        """Drop what only concerned rounds before ``round_id`` (a long-running miner keeps no history)."""
        self._cids = {k: v for k, v in self._cids.items() if k[0] >= round_id}
        self._committees = {k: v for k, v in self._committees.items() if k[0] >= round_id}
        self._shards = {k: v for k, v in self._shards.items() if k >= round_id}
        self._give_up = {k: v for k, v in self._give_up.items() if k[0] >= round_id}
        self._ready = {r for r in self._ready if r >= round_id}
        for r in [r for r in self._sealed if r < round_id]:
            self._sealed.pop(r).cancel()
        self._told_no_shard = {r for r in self._told_no_shard if r >= round_id}
        for m in self.miners:
            mem = m.memory
            mem.committed = {r: v for r, v in mem.committed.items() if r >= round_id}
            mem.revealed = {r: v for r, v in mem.revealed.items() if r >= round_id}
            mem.voted = {key for key in mem.voted if key[0] >= round_id}

    def _conclude(self, log_: _RoundLog, head: ChainBlock) -> None:
        made_block = head.round == log_.round
        rejected = []
        with log_.watch("chain"):
            for event in self.contract.events("ClaimDecided", log_.first_block):
                args = event["args"]
                if args["round"] == log_.round and args["outcome"] == ClaimStatus.REJECTED:
                    owner = self.by_address.get(args["claimant"])
                    rejected.append(owner.index if owner else args["claimant"])
        winner = self.by_address.get(head.miner) if made_block else None
        validated = [m.measured[head.cid] for m in self.miners
                     if made_block and head.cid in m.measured and m.address != head.miner]
        record = RoundRecord(
            round=log_.round, block_height=head.height if made_block else None,
            winner=winner.index if winner else None,
            claimed_accuracy=head.accuracy if made_block else None,
            validated_accuracy=sum(validated) / len(validated) if validated else None,
            cid=head.cid if made_block else None, chain_accuracy=head.accuracy, chain_height=head.height,
            miner_accuracies=dict(log_.miner_accuracies), rejected=rejected, gas_used=log_.gas,
            clients_trained=log_.clients_trained, validations=log_.validations,
            seconds={k: round(v, 4) for k, v in log_.watch.seconds.items()})
        self.records.append(record)

    def _gas(self, pending: list[PendingTx]) -> None:
        """Wait for ``pending``; count the gas of those mined; a lost race or stale revert is only logged."""
        assert self._log is not None
        for p in pending:
            try:
                self._log.gas += int(p.wait()["gasUsed"])
            except ContractRevert as exc:
                log.info("%s lost to the chain moving on: %s", p.action, exc)
            except TransactionFailed as exc:
                log.warning("%s", exc)

    def _send(self, make: Callable[[], PendingTx], what: str) -> PendingTx | None:
        """Send a transaction; a revert at estimation (the round moved on) is logged, not raised."""
        try:
            return make()
        except ContractRevert as exc:
            log.info("%s not sent: %s", what, exc)
            return None

    # ------------------------------------------------------------------ actions

    def _adopt(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        """Each miner takes the head block's model: the one it holds, a copy it validated, or its own fetch."""
        assert self._log is not None
        block = view.head
        self.progress(f"miners adopt block {block.height} ({block.cid[:12]}…)")

        def take(m: LocalMiner) -> None:
            if m.cid == block.cid and m.params is not None:
                params = m.params
            elif block.cid in m.copies:
                params = m.copies[block.cid]
            else:
                fetched, error, _ = self._fetch(block.cid)
                if fetched is None:
                    m.head_failures += 1
                    wait = min(HEAD_RETRY_MAX_S, HEAD_RETRY_FIRST_S * 2 ** (m.head_failures - 1))
                    m.memory.head_retry_at = time.monotonic() + wait
                    log.warning("miner %d cannot fetch block %d's model %s (%s); keeping its model, validating "
                                "on, retrying in %.0f s", m.index, block.height, block.cid, error[:300], wait)
                    return
                params = fetched
            m.head_failures = 0
            m.params, m.cid = params, block.cid
            m.memory.adopted_height = block.height
            m.memory.has_model = True
            self.strategy.adopted(m.position, params)
            log.info("miner %d adopted block %d (%s)", m.index, block.height, block.cid)

        with self._log.watch("store"):
            list(self._io.map(take, [m for m, _ in batch]))
        held = next((m.params for m, _ in batch if m.cid == block.cid and m.params is not None), None)
        if held is not None:
            self._head = (block.cid, held)
        if self.started_from is None and any(m.cid == block.cid for m, _ in batch):
            self.started_from = block

    def _learn(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        """A round seen for the first time: what the chain holds of each miner's claim (a resumed miner)."""
        for m, _ in batch:
            claim = self.contract.claim_of(view.round, m.address)
            m.memory.committed[view.round] = claim.committed
            m.memory.revealed[view.round] = claim.revealed

    def _commit(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        assert self._log is not None
        r, watch = view.round, self._log.watch
        miners = [m for m, _ in batch]
        self.progress(f"round {r}: {len(miners)} miners train, evaluate and commit")
        started = time.perf_counter()
        trained = self.strategy.train(r, {m.position: m.params for m in miners if m.params is not None})
        for k, v in trained.seconds.items():  # the strategy's own split (train, aggregate), the rest is train
            watch.seconds[k] += v
        watch.seconds["train"] += time.perf_counter() - started - sum(trained.seconds.values())
        self._log.clients_trained += trained.clients_trained
        # new models, and held models this miner has not measured itself (an adopted block), in one batch; in
        # hold-out mode nothing can be measured yet (the round's shard is sealed): the commitment is blind
        todo = [(m, trained.models[m.position], True) for m in miners if m.position in trained.models]
        todo += [(m, m.params, False) for m in miners if m.position not in trained.models and m.accuracy is None]
        blind = self.holdout is not None
        if blind:
            todo = [(m, p, new) for m, p, new in todo if new]
        with watch("evaluate"):
            accs = ([0.0] * len(todo) if blind else
                    self.strategy.evaluate([p for _, p, _ in todo], [m.position for m, _, _ in todo]))
        fresh = []
        for (m, params, new), acc in zip(todo, accs, strict=True):
            if new:
                if not blind:
                    self._log.miner_accuracies[m.index] = acc
                fresh.append((m, params, acc))
            else:
                m.measured[m.cid] = acc  # type: ignore[index]
        with watch("store"):  # the bytes and their CID now; the store gets them only at the reveal
            sealed = list(self._io.map(lambda job: self._encode(job[1], r), fresh))
        for (m, params, acc), (cid, data) in zip(fresh, sealed, strict=True):
            m.params, m.cid = params, cid
            m.measured[cid] = acc
            m.unpublished = {cid: data}
        with watch("chain"):
            pending = []
            for m in miners:
                if m.cid is None or (m.accuracy is None and not blind):
                    continue
                m.claim = self.claims.claim(r, HeldModel(m.position, m.cid, m.accuracy or 0.0))
                if blind:
                    m.claim = dataclasses.replace(m.claim, accuracy_bps=0, blind=True)
                tx = self._send(lambda m=m: self.contract.commit(m.signer, r, m.claim.commitment(  # type: ignore[union-attr]
                    m.address)), f"miner {m.index} commit")
                if tx is not None:
                    pending.append(tx)
                    m.memory.sealed_round = r
                m.memory.committed[r] = True
            self._gas(pending)
        log.info("round %d: %d miners committed", r, len(pending))

    def _reveal(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        """Publish each claimed model (commits have closed: nobody can copy it into a commitment now), then
        reveal the claims."""
        assert self._log is not None
        r = view.round
        self.progress(f"round {r}: {len(batch)} miners publish and reveal")
        if self.holdout is not None:
            self._measure_claims_on_shard(r, [m for m, _ in batch], view.head)
        jobs = [(m, m.unpublished.pop(m.claim.cid)) for m, _ in batch
                if m.claim is not None and m.claim.cid in m.unpublished]
        with self._log.watch("store"):
            for (m, _), cid in zip(jobs, self._io.map(lambda job: self.store.put(job[1]), jobs), strict=True):
                if cid != m.claim.cid:  # type: ignore[union-attr]
                    raise PoflRuntimeError(f"the store keeps miner {m.index}'s model as {cid}, not as the "
                                           f"committed {m.claim.cid}: it does not use Kubo's layout")  # type: ignore[union-attr]
        with self._log.watch("chain"):
            pending = []
            for m, _ in batch:
                c = m.claim
                assert c is not None and c.round_id == r
                tx = self._send(lambda m=m, c=c: self.contract.reveal(m.signer, r, c.cid, c.accuracy_bps, c.salt,
                                                                      c.parent_bps),
                                f"miner {m.index} reveal")
                m.memory.revealed[r] = True
                if tx is not None:
                    pending.append(tx)
            self._gas(pending)

    def _vote(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        """Every local seat of the committee fetches the candidate's model itself (fail-safe: anything wrong
        with it is a measurement of 0), the copies are evaluated in one batch, and each seat reports."""
        assert self._log is not None and view.info is not None
        r, candidate, attempt, watch = view.round, view.info.candidate, view.info.attempt, self._log.watch
        if (r, candidate) not in self._cids:
            with watch("chain"):
                self._cids[(r, candidate)] = self.contract.claim_of(r, candidate).cid or ""
        cid = self._cids[(r, candidate)]
        voters = [m for m, _ in batch]
        self.progress(f"round {r} validation {attempt}: {len(voters)} seats fetch and re-evaluate {cid[:14]}…")
        with watch("store"):
            fetched = list(self._io.map(lambda _m: self._fetch(cid), voters))
        # a model the store does not have (yet), or a store that does not answer, is fetched again until half of
        # the time left to vote has passed: a claimant that publishes late, or a store that lags, must not make
        # honest seats report 0 (and be penalized for it by the seats that fetched later)
        missing = {m.address for m, (p, _e, unavailable) in zip(voters, fetched, strict=True)
                   if p is None and unavailable}
        if missing and self._may_wait(view):
            for m in voters:
                if m.address in missing:
                    m.memory.vote_retry_at = time.monotonic() + CANDIDATE_RETRY_S
            log.info("round %d validation %d: %s is not in the store yet; fetching it again", r, attempt, cid[:64])
            fetched = [f for m, f in zip(voters, fetched, strict=True) if m.address not in missing]
            voters = [m for m in voters if m.address not in missing]
        self._log.validations += len(voters)
        for m, (p, error, _u) in zip(voters, fetched, strict=True):
            if p is None:
                log.warning("miner %d measures candidate %s at 0: %s", m.index, cid[:64], error[:300])
        valid = [(m, p) for m, (p, _e, _u) in zip(voters, fetched, strict=True) if p is not None]
        parent = 0.0
        with watch("validate"):
            if self.holdout is None:
                accs = self.strategy.evaluate([p for _, p in valid], [m.position for m, _ in valid])
            else:
                accs, parent = self._on_shard(r, [p for _, p in valid], view.head)
        measured = {m.address: 0.0 for m in voters}
        for (m, params), acc in zip(valid, accs, strict=True):
            measured[m.address] = acc
            m.copies[cid] = params
        with watch("chain"):
            pending = []
            for m in voters:
                m.measured[cid] = measured[m.address]
                m.memory.voted.add((r, attempt))
                tx = self._send(lambda m=m: self._report(m, r, attempt, measured[m.address], parent),
                                f"miner {m.index} vote")
                if tx is not None:
                    pending.append(tx)
            self._gas(pending)

    def _may_wait(self, view: ChainView) -> bool:
        """Whether a seat may still wait for the candidate of ``view``'s validation to reach the store: for at
        most ``fetch_timeout_s``, and at most half of the time the validation had left when first asked."""
        assert view.info is not None
        key = (view.round, view.info.attempt)
        if key not in self._give_up:
            left = view.info.deadline - int(self.contract.w3.eth.get_block("latest")["timestamp"])
            self._give_up[key] = time.monotonic() + min(self.fetch_timeout_s, max(0.0, left / 2))
        return time.monotonic() < self._give_up[key]

    def _report(self, m: LocalMiner, r: int, attempt: int, measured: float, parent: float) -> PendingTx:
        if self.holdout is None:
            return self.contract.vote(m.signer, r, attempt, to_bps(measured))
        return self.contract.vote_on_shard(m.signer, r, attempt, to_bps(measured), to_bps(parent))

    def _draw(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        """The validation's seed block: once mined, ``advance()`` draws the committee. Before it, a chain
        that has mined nothing for a second, or a devnet, is taken to mine only on transactions: the same
        transaction mines the next block."""
        assert view.info is not None
        number = self.contract.w3.eth.block_number
        if number != self._last_block[0]:
            self._last_block = (number, time.monotonic())
        stalled = self._devnet or time.monotonic() - self._last_block[1] > 1.0
        if number >= view.info.seed_block or stalled:
            self._deadline_tx(batch, "advance", self.contract.advance)
        else:
            time.sleep(self.poll_s)

    def _finalize(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        self._deadline_tx(batch, "finalize", self.contract.finalize)

    def _advance(self, view: ChainView, batch: list[tuple[LocalMiner, Action]]) -> None:
        self._deadline_tx(batch, "advance", self.contract.advance)

    def _deadline_tx(self, batch: list[tuple[LocalMiner, Action]], what: str,
                     send: Callable[[LocalSigner], PendingTx]) -> None:
        """One local miner sends ``what`` (gas limit fixed: it holds whatever the phase is when mined)."""
        assert self._log is not None
        m = min((m for m, _ in batch), key=lambda m: m.index)
        if self.finalize_stagger_s:
            time.sleep(self.finalize_stagger_s * (m.index % 8))
        with self._log.watch("chain"):
            tx = self._send(lambda: send(m.signer), f"miner {m.index} {what}")
            if tx is not None:
                self._gas([tx])

    # ------------------------------------------------------------------ hold-out shards

    def _shard(self, round_id: int) -> LabeledImages | None:
        """Round ``round_id``'s shard, opened with the key the chain made public (once per round), or None if it
        cannot be opened: a key that does not match, a ciphertext that does not decrypt or parse, a store that
        does not have it. Never raises for what the requester published."""
        if round_id not in self._shards:
            assert self.holdout is not None
            revealed, index = self.holdout.shard_of(round_id)
            if not revealed:
                return None  # not public yet: look again later
            shard = self.holdout.shard_at(index)  # a revealed shard is read once, then cached
            assert shard.key is not None
            try:
                future = self._sealed.pop(round_id, None) or self._fetcher.submit(fetch_sealed, self.store, shard.cid)
                self._shards[round_id] = unseal_shard(future.result(timeout=self.fetch_timeout_s), shard.key,
                                                      shard.key_hash, task=self.holdout.task_id(),
                                                      index=shard.index)
            except (PoflValueError, StoreError, FutureTimeout, *TRANSIENT_ERRORS) as exc:
                log.error("round %d's shard %s cannot be opened (%s: %s): every model measures 0 on it",
                          round_id, shard.cid, exc.__class__.__name__, str(exc)[:300])
                self._shards[round_id] = None
        return self._shards[round_id]

    def _on_shard(self, round_id: int, models: list[torch.Tensor], head: ChainBlock) -> tuple[list[float], float]:
        """The accuracy of each of ``models`` and of ``head``'s model (the parent) on ``round_id``'s shard, in one
        batch; 0 for all if the shard cannot be opened, 0 for the parent if no local miner holds its model."""
        shard = self._shard(round_id)
        parent = self._head[1] if self._head is not None and self._head[0] == head.cid else None
        batch = models + ([parent] if parent is not None else [])
        accs = (self.strategy.evaluate_on(batch, shard) if shard is not None and batch else []) or [0.0] * len(batch)
        return accs[:len(models)], (accs[-1] if parent is not None else 0.0)

    def _prefetch_shard(self, round_id: int) -> None:
        """Hold-out mode: start fetching ``round_id``'s sealed shard now (its bytes are public from the task's
        deployment), so that only decryption is left when the key is revealed."""
        if self.holdout is None or round_id in self._sealed:
            return
        shard = self.holdout.shard_for_round(round_id)
        if shard is not None:
            self._sealed[round_id] = self._fetcher.submit(fetch_sealed, self.store, shard.cid)

    def _measure_claims_on_shard(self, r: int, miners: list[LocalMiner], head: ChainBlock) -> None:
        """Hold-out mode: each revealing miner measures its committed model, and the head block's, on the round's
        shard, and claims its own (its policy applied to it) beside the head's; 0 if the shard cannot be opened
        (a claim must beat the head's measurement to be validated)."""
        assert self._log is not None
        mine = [m for m in miners if m.claim is not None and m.params is not None and m.cid == m.claim.cid]
        with self._log.watch("evaluate"):
            accs, parent = self._on_shard(r, [m.params for m in mine if m.params is not None], head)
        parent_bps = to_bps(parent)
        measured = dict(zip((m.address for m in mine), accs, strict=True))
        for m in miners:
            if m.claim is None:
                continue
            acc = measured.get(m.address, 0.0)
            if m.address in measured:
                self._log.miner_accuracies[m.index] = acc
                m.measured[m.claim.cid] = acc
            chosen = self.claims.claim(r, HeldModel(m.position, m.claim.cid, acc))
            m.claim = dataclasses.replace(m.claim, accuracy_bps=chosen.accuracy_bps, parent_bps=parent_bps)

    # ------------------------------------------------------------------ models

    def _encode(self, params: torch.Tensor, round_id: int) -> tuple[str, bytes]:
        """The model's canonical bytes and their CID (as the store will name them)."""
        data = model_to_bytes(self.flat.unflatten(params.detach().cpu()), self.architecture, round_id)
        return compute_cid(data), data

    def _fetch(self, cid: str) -> tuple[torch.Tensor | None, str, bool]:
        """This miner's own copy of the model under ``cid`` — bytes verified against the CID, tensors checked,
        never unpickled, within ``fetch_timeout_s`` — or None, the reason, and whether the model could not be
        had (absent, timed out, store down) rather than being bad. Never raises for what the CID or its bytes
        are: another miner chose them."""
        future = self._fetcher.submit(fetch_untrusted, self.store, cid, self.architecture,
                                      max_bytes=self.max_model_bytes)
        try:
            fetched = future.result(timeout=self.fetch_timeout_s)
        except FutureTimeout:
            future.cancel()
            return None, f"TimeoutError: not fetched within {self.fetch_timeout_s:.0f} s", True
        if fetched.state is None:
            return None, fetched.error, fetched.unavailable
        return self.flat.flatten(fetched.state).to(self.strategy.device), "", False
