"""The round driver of the scaled mode (``PoFLScaled``, docs/scaling.md): local miners through a round of
Claims → Forced → Reveal → Vote → (Appeal) → Finalize.

As :class:`~offchain.miner.driver.RoundDriver` does for the per-miner mode, :class:`ScaledRoundDriver` looks at
the chain (``roundInfo()``) and does what is due for all its local miners at once, with the same hooks: a
:class:`~offchain.miner.strategy.MinerStrategy` trains and measures, a
:class:`~offchain.miner.claims.ClaimPolicy` chooses each claim (honest by default), models are checked by the
same :class:`~offchain.store.fetching.UntrustedFetcher`.

- **Claims**: the miners train their round's clients, measure their new models, seal and sign their claims
  (EIP-712); a local aggregator (the round's drawn one, or, once its window has passed, any local miner) posts the
  root of every claim it holds, the list in a blob.
- **Forced**: a local miner whose claim would be a candidate but is not in the posted top commits directly
  (forced inclusion); with no root, the K best local claims commit directly.
- **Reveal**: the local candidates publish their models to the store and reveal.
- **Vote**: once the seed block is mined the committee is drawn (``advance``); each local seat fetches every
  revealed candidate itself, each model is evaluated once, and every seat votes its reports.
- **Appeal** (a claim disputed, or left without a quorum): once the jury's seed block is mined the jury is drawn
  (``advance``); each local juror (never the claimant) reports its measurement of the appealed candidate, or that
  it could not fetch it.
- **Finalize**: one local miner finalizes when the vote window ends; every local miner adopts the new head.

Claims reach an aggregator in another process through a :class:`~offchain.miner.claim_inbox.ClaimRelay` (each
driver's HTTP inbox; its aggregator posts its own claims with those its inbox collected, once every peer said it
is done, it holds a claim of every registered miner, or half of its window has passed); without one, or where a
peer drops a claim, a claim that would be a candidate enters the round by forced inclusion (a direct commit).
On a devnet where the driver runs every registered miner nobody else can act, so the windows a round only waits
out (forced, vote, the seed block) are skipped by moving the devnet's clock (:attr:`ScaledSettings.skip_idle_windows`):
a round takes the time its work takes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from offchain.chain.accounts import LocalSigner
from offchain.chain.keys import DEV_CHAIN_IDS
from offchain.chain.scaled import (
    AppealInfo,
    Candidate,
    ScaledClaim,
    ScaledContract,
    ScaledPhase,
    ScaledRoundInfo,
    SignedClaim,
)
from offchain.chain.tx import PendingTx
from offchain.chain.types import to_bps
from offchain.fl.training import FlatParams
from offchain.miner.claim_inbox import ClaimRelay
from offchain.miner.claims import ClaimPolicy, HeldModel, HonestClaims, HonestReports, ReportPolicy
from offchain.miner.crew import send_all
from offchain.miner.records import RoundRecord
from offchain.miner.round import RoundLoop, Stopwatch
from offchain.miner.strategy import MinerStrategy
from offchain.store.base import ModelStore
from offchain.store.cid import cid_from_digest, compute_cid
from offchain.store.fetching import DEFAULT_FETCH_TIMEOUT_S, Untrusted, UntrustedFetcher
from offchain.store.model_bytes import DEFAULT_MAX_BYTES, model_to_bytes

log = logging.getLogger("pofl.miner")


@dataclass(frozen=True)
class ScaledSettings:
    """How a scaled driver paces itself.

    Parameters:
        poll_s: seconds between looks at the chain when nothing is due.
        fetch_timeout_s: the longest one fetch of a candidate's model may take; a seat that cannot fetch a
            candidate reports nothing for it (never 0: a model others can fetch is not this seat's to fail).
        max_model_bytes: the size limit of a model fetched from the store.
        skip_idle_windows: on a devnet where this driver runs every registered miner, move the devnet's clock past
            a window the round only waits out, instead of sleeping through it.
    """

    poll_s: float = 0.05
    fetch_timeout_s: float = DEFAULT_FETCH_TIMEOUT_S
    max_model_bytes: int = DEFAULT_MAX_BYTES
    skip_idle_windows: bool = True


@dataclass(eq=False)
class ScaledMiner:
    """One miner this process runs: its key, the model it holds and its claim of the round open now."""

    position: int  # place in the driver's list (the strategy's name for it)
    index: int  # the miner's number in the run, for logs and records
    signer: LocalSigner
    params: torch.Tensor | None = None
    cid: str | None = None
    claim: ScaledClaim | None = None
    signed: SignedClaim | None = None
    model_bytes: bytes | None = None  # the claimed model, kept private until the reveal
    registered: bool = True  # False once it left or was evicted: it claims nothing more

    @property
    def address(self) -> str:
        return self.signer.address


@dataclass
class ScaledRound:
    """The round open now, as the driver sees it: what its miners did and what it measured."""

    round: int
    first_block: int
    watch: Stopwatch = field(default_factory=Stopwatch)
    claimed: bool = False
    posted: bool = False
    forced: bool = False
    voted: bool = False
    appealed: bool = False
    gas: int = 0
    clients_trained: int = 0
    validations: int = 0
    miner_accuracies: dict[int, float] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)  # candidate CID -> what the seats measured

    def record(self, head_round: int, head_height: int, head_cid: str, head_bps: int, winner: int | None,
               ) -> RoundRecord:
        made_block = head_round == self.round
        return RoundRecord(
            round=self.round, block_height=head_height if made_block else None, winner=winner,
            claimed_accuracy=head_bps / 10_000 if made_block else None,
            validated_accuracy=self.measured.get(head_cid) if made_block else None,
            cid=head_cid if made_block else None, chain_accuracy=head_bps / 10_000,
            miner_accuracies=dict(self.miner_accuracies), gas_used=self.gas, clients_trained=self.clients_trained,
            seconds={k: round(v, 4) for k, v in self.watch.seconds.items()}, validations=self.validations,
            chain_height=head_height)


class ScaledRoundDriver(RoundLoop):
    """Drives local miners through PoFLScaled rounds (see the module docstring).

    Parameters:
        contract: the deployed PoFLScaled.
        store: the model store every miner publishes to and fetches from.
        flat: the model layout (flat parameter vector <-> state dict).
        architecture: the architecture name every model must have.
        signers: one signer per local miner, in the strategy's positional order (each a registered miner).
        strategy: how the local miners train and evaluate.
        genesis: the genesis model's parameters (what every miner holds before the first block).
        claims: what the local miners claim (honest by default; an attacker in tests).
        reports: what the local seats and jurors report of what they measured (honest by default).
        relay: how the local miners' claims reach other processes' aggregators, and theirs this one's (None:
            within this process only; forced inclusion covers the rest).
        indices: each local miner's number in the run (default: its position).
        settings: pacing (:class:`ScaledSettings`).
        progress: called with a short line whenever the driver starts a step.
    """

    def __init__(self, contract: ScaledContract, store: ModelStore, flat: FlatParams, architecture: str,
                 signers: list[LocalSigner], strategy: MinerStrategy, genesis: torch.Tensor, *,
                 claims: ClaimPolicy | None = None, reports: ReportPolicy | None = None,
                 relay: ClaimRelay | None = None, indices: list[int] | None = None,
                 settings: ScaledSettings | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.contract = contract
        self.store = store
        self.flat = flat
        self.architecture = architecture
        self.strategy = strategy
        self.claims = claims or HonestClaims()
        self.reports = reports or HonestReports()
        self.relay = relay
        self.settings = settings or ScaledSettings()
        self.progress = progress or (lambda _msg: None)
        self.fetcher = UntrustedFetcher(store, timeout_s=self.settings.fetch_timeout_s,
                                        max_model_bytes=self.settings.max_model_bytes)
        indices = indices if indices is not None else list(range(len(signers)))
        self.miners = [ScaledMiner(p, i, s) for p, (i, s) in enumerate(zip(indices, signers, strict=True))]
        self._by_address = {m.address: m for m in self.miners}
        for m in self.miners:
            m.registered = contract.miner_of(m.address)[2]
        self.records: list[RoundRecord] = []
        self.round: ScaledRound | None = None
        head = contract.latest_block()
        self._head_height = contract.block_count() - 1
        params = genesis.to(self.strategy.device) if self._head_height == 0 else self._fetch(head.cid).value
        for m in self.miners:
            m.params, m.cid = params, head.cid
        self._devnet = contract.w3.eth.chain_id in DEV_CHAIN_IDS
        self._config = contract.config()  # fixed at deployment

    # ------------------------------------------------------------------ loop

    def step(self) -> bool:
        """One look at the chain and what is due. True if anything was done."""
        now = self.round
        with (now.watch if now else Stopwatch())("chain"):
            info = self.contract.round_info("pending")  # at the node's time: a devnet mines only on transactions
        if self._track_round(info):
            return True
        ctx = self.round
        assert ctx is not None
        phase = info.phase
        if phase == ScaledPhase.CLAIMS:
            if not ctx.claimed:
                return self._claim(ctx, info)
            if not ctx.posted and self._may_post(info):
                return self._post(ctx, info)
        elif phase == ScaledPhase.FORCED and not ctx.forced:
            return self._force(ctx, info)
        elif phase == ScaledPhase.REVEAL and info.candidates == 0:
            return self._advance()  # the forced window is over, but nobody has fixed the candidates yet
        elif phase == ScaledPhase.REVEAL and self._unrevealed(info):
            return self._reveal(ctx, info)
        elif phase == ScaledPhase.VOTE:
            if info.seed == bytes(32):
                return self._draw(info.seed_block)
            if not ctx.voted:
                return self._vote(ctx, info)
        elif phase == ScaledPhase.APPEAL:
            appeal = self.contract.appeal_info()
            if appeal.seed == bytes(32):
                return self._draw(appeal.seed_block)
            if not ctx.appealed:
                return self._judge_appeal(ctx, appeal)
        elif phase == ScaledPhase.FINALIZE:
            return self._finalize(ctx)
        self._wait(info)
        return False

    def close(self) -> None:
        self.fetcher.close()

    # ------------------------------------------------------------------ phases

    def _claim(self, ctx: ScaledRound, info: ScaledRoundInfo) -> bool:
        """Train the round's clients, measure the new models, seal and sign their claims (the bytes stay here)."""
        r = info.round
        self.progress(f"round {r}: {len(self.miners)} miners train, evaluate and sign their claims")
        with ctx.watch("train"):
            trained = self.strategy.train(r, {m.position: m.params for m in self.miners if m.params is not None})
        ctx.clients_trained += trained.clients_trained
        new = [m for m in self.miners if m.position in trained.models]
        with ctx.watch("evaluate"):
            accuracies = self.strategy.evaluate([trained.models[m.position] for m in new], [m.position for m in new])
        with ctx.watch("sign"):
            for m, acc in zip(new, accuracies, strict=True):
                params = trained.models[m.position]
                data = model_to_bytes(self.flat.unflatten(params.detach().cpu()), self.architecture)
                m.params, m.cid, m.model_bytes = params, compute_cid(data), data
                ctx.miner_accuracies[m.index] = acc
                chosen = self.claims.claim(r, HeldModel(m.position, m.cid, acc))
                if m.registered:  # an evicted miner trains on (its position's clients), but claims nothing
                    m.claim = ScaledClaim.seal(r, chosen.cid, chosen.accuracy_bps, m.address)
                    m.signed = self.contract.sign_claim(m.signer, m.claim)
        ctx.claimed = True
        log.info("round %d: %d miners signed their claims", r, sum(m.registered for m in new))
        if self.relay is not None and self.relay.peers:
            with ctx.watch("relay"):
                signed = [m.signed for m in new if m.registered and m.signed is not None]
                delivered = self.relay.hand_out(r, signed)
            log.info("round %d: %d of %d hand-ins to %d peers delivered", r, delivered,
                     len(signed) * len(self.relay.peers), len(self.relay.peers))
        return True

    def _may_post(self, info: ScaledRoundInfo) -> bool:
        """Whether a local miner may post the root now: it is the round's aggregator, or the aggregator's
        window has passed (or the round has none: it opened before anyone registered); and, with peers, every peer
        said it handed in its claims, or it holds a claim of every registered miner, or half of the aggregator's
        window has passed (a peer that is down does not hold the round up)."""
        ours = info.aggregator in self._by_address or int(info.aggregator, 16) == 0
        if not ours and self._chain_time() < info.opened_at + self._config.aggregator_duration:
            return False
        if self.relay is None or not self.relay.peers:
            return True
        if self.relay.peers_done(info.round) or len(self._round_claims(info.round)) >= self.contract.miner_count():
            return True
        node_time = int(self.contract.w3.eth.get_block("pending")["timestamp"])
        return node_time >= info.opened_at + self._config.aggregator_duration // 2

    def _round_claims(self, round_id: int) -> list[SignedClaim]:
        """The claims this process holds for ``round_id``: its miners' own, then those its inbox collected (one a
        miner: its own first)."""
        local = [m.signed for m in self.miners if m.signed is not None and m.signed.round_id == round_id]
        remote = self.relay.collected(round_id) if self.relay is not None else []
        seen = {c.miner for c in local}
        return local + [c for c in remote if c.miner not in seen]

    def _post(self, ctx: ScaledRound, info: ScaledRoundInfo) -> bool:
        """The aggregator's duty: the root of every claim it holds (signed here, or checked by its inbox), the list
        in a blob."""
        claims = self._round_claims(info.round)
        ctx.posted = True
        if not claims:
            return True
        poster = self._by_address.get(info.aggregator) or min(self.miners, key=lambda m: m.index)
        self.progress(f"round {info.round}: miner {poster.index} posts the root of {len(claims)} claims")
        self._send([(poster, "postRoot", lambda: self.contract.post_root(poster.signer, info.round, claims,
                                                                         verify=False).pending)])
        return True

    def _force(self, ctx: ScaledRound, info: ScaledRoundInfo) -> bool:
        """Forced inclusion: a local claim that is not in the posted top but would be a candidate (the top is not
        full, or it claims more than the top's lowest) commits directly; the K best such claims do."""
        ctx.forced = True
        k = self._config.top_k
        top = self._posted_top(info)
        lowest = min((bps for _, bps in top.values()), default=-1)

        def left_out(claim: ScaledClaim) -> bool:
            in_root = top.get(claim.miner, (b"", 0))[0] == claim.commitment
            return not in_root and (len(top) < k or claim.accuracy_bps > lowest)

        mine = [m for m in self.miners if m.claim is not None and m.claim.round_id == info.round
                and left_out(m.claim)]
        mine = sorted(mine, key=lambda m: -m.claim.accuracy_bps)[:k]  # type: ignore[union-attr]
        if mine:
            self.progress(f"round {info.round}: {len(mine)} claims left out of the root commit directly")
            log.warning("round %d: %d local claim(s) that would be candidates are not in the posted root: "
                        "committing them directly", info.round, len(mine))
            self._send([(m, "commitDirect", lambda m=m: self.contract.commit_direct(m.signer, m.claim))
                        for m in mine])
        return True

    def _posted_top(self, info: ScaledRoundInfo) -> dict[str, tuple[bytes, int]]:
        """The root's top K as posted (miner -> (commitment, accuracy)), read from the posting's calldata."""
        if info.root == bytes(32):
            return {}
        events = [e for e in self.contract.events("RootPosted", self.round.first_block if self.round else 0)
                  if e["args"]["round"] == info.round]
        if not events:
            return {}
        tx = self.contract.w3.eth.get_transaction(events[-1]["transactionHash"])
        _fn, args = self.contract.contract.decode_function_input(tx["input"])
        return {leaf["miner"]: (bytes(leaf["commitment"]), int(leaf["accuracyBps"])) for leaf in args["top"]}

    def _unrevealed(self, info: ScaledRoundInfo) -> list[tuple[int, ScaledMiner]]:
        """The local candidates that have not revealed yet, with their candidate index."""
        out = []
        for i in range(info.candidates):
            cand = self.contract.candidate(i)
            m = self._by_address.get(cand.miner)
            if (m is not None and not cand.revealed and m.claim is not None and m.claim.round_id == info.round
                    and m.claim.commitment == cand.seal):
                out.append((i, m))
        return out

    def _reveal(self, ctx: ScaledRound, info: ScaledRoundInfo) -> bool:
        """Publish each local candidate's model (the claims are fixed: nobody can copy it now), then reveal."""
        due = self._unrevealed(info)
        self.progress(f"round {info.round}: {len(due)} candidates publish and reveal")
        with ctx.watch("store"):
            for _, m in due:
                if m.model_bytes is not None:
                    self.store.put(m.model_bytes)
                    m.model_bytes = None
        self._send([(m, "reveal", lambda i=i, m=m: self.contract.reveal(m.signer, info.round, i, m.claim))
                    for i, m in due])
        return True

    def _draw(self, seed_block: int) -> bool:
        """The committee's (the jury's) seed block: once mined, ``advance()`` draws the seats (the jurors)."""
        w3 = self.contract.w3
        if w3.eth.block_number < seed_block:
            if self._alone():
                for _ in range(seed_block - w3.eth.block_number):
                    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            elif not self._devnet:  # a chain that mines blocks of its own: wait for the seed block
                time.sleep(self.settings.poll_s)
                return False
            # a devnet mines only on transactions: each advance() mines the next block, up to the seed block
        return self._advance()

    def _advance(self) -> bool:
        """Apply the clock's rules on chain (the phase machine is lazy): fixes the candidates, draws the seats."""
        sender = min(self.miners, key=lambda m: m.index)
        self._send([(sender, "advance", lambda: self.contract.advance(sender.signer))])
        return True

    def _vote(self, ctx: ScaledRound, info: ScaledRoundInfo) -> bool:
        """Every local seat votes its reports on the revealed candidates: none for its own claim, an unrevealed
        one, or a model this process could not fetch by the fetch timeout (a model others can fetch is not this
        seat's to fail); 0 for a model that is not a valid model of the architecture. The seats here share one
        machine's store: each candidate is fetched and measured once."""
        ctx.voted = True
        seats = [(seat, self._by_address[a]) for seat, a in enumerate(self.contract.seats()) if a in self._by_address]
        if not seats:
            return True
        candidates = self.contract.candidates()
        cids = [revealed_cid(c) for c in candidates]
        self.progress(f"round {info.round}: {len(seats)} seats fetch and measure {sum(map(bool, cids))} candidates")
        self._measure(ctx, [cid for cid in cids if cid], seats[0][1], len(seats))

        def reports(m: ScaledMiner) -> list[int | None]:
            return [None if cand.miner == m.address else self._report(ctx, m, cand.miner, cid)
                    for cand, cid in zip(candidates, cids, strict=True)]

        self._send([(m, "vote", lambda seat=seat, m=m: self.contract.vote(m.signer, info.round, seat, reports(m)))
                    for seat, m in seats])
        return True

    def _judge_appeal(self, ctx: ScaledRound, appeal: AppealInfo) -> bool:
        """Every local juror (never the appealed claimant) reports its measurement of the appealed candidate, or,
        where this process could not fetch it, that it could not (never a misreport: a model most jurors cannot
        fetch costs its claimant)."""
        ctx.appealed = True
        jurors = [(place, self._by_address[a]) for place, a in enumerate(self.contract.jurors())
                  if a in self._by_address and a != appeal.miner]
        if not jurors:
            return True
        cid = revealed_cid(self.contract.candidate(appeal.candidate))  # revealed: only a revealed claim is appealed
        assert cid is not None
        self.progress(f"round {appeal.round}: {len(jurors)} jurors measure the appealed claim of {appeal.miner}")
        self._measure(ctx, [cid], jurors[0][1], len(jurors))
        due = [(place, m, self._report(ctx, m, appeal.miner, cid)) for place, m in jurors]
        self._send([(m, "appealVote", lambda place=place, m=m, bps=bps: self.contract.appeal_vote(
            m.signer, appeal.round, place, bps)) for place, m, bps in due])
        return True

    def _measure(self, ctx: ScaledRound, cids: list[str], evaluator: ScaledMiner, judges: int) -> None:
        """Fetch and measure each of ``cids`` not measured yet this round (``ctx.measured``; 0 for a model that is
        not a valid model of the architecture, nothing for one this process could not fetch by the fetch
        timeout). The ``judges`` local seats or jurors share one machine's store: each model is measured once."""
        models: dict[str, torch.Tensor] = {}
        with ctx.watch("store"):
            for cid in dict.fromkeys(cids):
                if cid in ctx.measured:
                    continue
                fetched = self._fetch(cid)
                if fetched.value is not None:
                    models[cid] = fetched.value
                elif fetched.unavailable:
                    log.warning("the seats report nothing for candidate %s: %s", cid[:64], fetched.error[:300])
                else:
                    ctx.measured[cid] = 0.0
                    log.warning("the seats measure candidate %s at 0: %s", cid[:64], fetched.error[:300])
        with ctx.watch("validate"):
            accs = self.strategy.evaluate(list(models.values()), [evaluator.position] * len(models))
        ctx.measured.update(zip(models, accs, strict=True))
        ctx.validations += judges * len(cids)

    def _report(self, ctx: ScaledRound, m: ScaledMiner, claimant: str, cid: str | None) -> int | None:
        """What local miner ``m`` reports for ``claimant``'s candidate ``cid`` (None: unrevealed)."""
        if cid is None:
            return None
        measured = to_bps(ctx.measured[cid]) if cid in ctx.measured else None
        return self.reports.report(m.position, claimant, measured)

    def _finalize(self, ctx: ScaledRound) -> bool:
        """Decide the round. Its gas is estimated at the latest block: where that block still sees the vote
        window open (its deadline passed at the node's time only), ``advance()`` first mines one that does not."""
        if self.contract.round_info().phase != ScaledPhase.FINALIZE:
            return self._advance()
        sender = min(self.miners, key=lambda m: m.index)
        self._send([(sender, "finalize", lambda: self.contract.finalize(sender.signer))])
        return True

    # ------------------------------------------------------------------ rounds

    def _track_round(self, info: ScaledRoundInfo) -> bool:
        """Open the context of a round seen for the first time; True if that concluded the one before (its record
        is out, and every local miner has adopted the new head)."""
        ctx, concluded = self.round, False
        if ctx is not None and info.round > ctx.round:
            height = self.contract.block_count() - 1
            head = self.contract.block_at(height)
            winner = self._by_address.get(head.miner)
            self.records.append(ctx.record(head.round, height, head.cid, head.accuracy_bps,
                                           winner.index if winner else None))
            for name in ("MinerEvicted", "MinerLeft"):
                for e in self.contract.events(name, ctx.first_block):
                    if e["args"]["miner"] in self._by_address:
                        self._by_address[e["args"]["miner"]].registered = False
            if height != self._head_height:
                self._adopt(head.cid, winner)
                self._head_height = height
            self.round, concluded = None, True
        if self.round is None:
            self.round = ScaledRound(info.round, self.contract.w3.eth.block_number)
        return concluded

    def _adopt(self, cid: str, winner: ScaledMiner | None) -> None:
        """Every local miner takes the head block's model (the winner's own, or one fetched copy)."""
        params = winner.params if winner is not None and winner.cid == cid else self._fetch(cid).value
        if params is None:
            log.warning("the head block's model %s cannot be fetched; the miners keep their models", cid)
            return
        for m in self.miners:
            m.params, m.cid = params, cid
            self.strategy.adopted(m.position, params)
        log.info("the miners adopted %s", cid)

    # ------------------------------------------------------------------ io

    def _fetch(self, cid: str) -> Untrusted[torch.Tensor]:
        return self.fetcher.params(cid, self.flat, self.architecture, self.strategy.device)

    def _send(self, sends: list[tuple[ScaledMiner, str, Callable[[], PendingTx]]]) -> None:
        """Send every transaction, then wait for them all, counting their gas. A revert (the round moved on, a
        claim too low for the direct top) is logged, not raised."""
        ctx = self.round
        assert ctx is not None
        with ctx.watch("chain"):
            ctx.gas += send_all(sends)[1]

    def _chain_time(self) -> int:
        return int(self.contract.w3.eth.get_block("latest")["timestamp"])

    def _alone(self) -> bool:
        """Whether nobody but this driver can act: every registered miner is local, on a devnet."""
        return (self.settings.skip_idle_windows and self._devnet
                and self.contract.miner_count() == sum(m.registered for m in self.miners))

    def _wait(self, info: ScaledRoundInfo) -> None:
        """Nothing due here: wait for the chain, or, alone on a devnet, move its clock past the window."""
        if info.deadline and self._alone():
            w3 = self.contract.w3
            w3.provider.make_request("evm_increaseTime", [max(0, info.deadline - self._chain_time()) + 1])  # type: ignore[arg-type]
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            return
        time.sleep(self.settings.poll_s)


def revealed_cid(candidate: Candidate) -> str | None:
    """A candidate's CID once revealed (the contract keeps the revealed digest in ``seal``), else None."""
    return cid_from_digest(candidate.seal, candidate.cid_kind) if candidate.revealed else None
