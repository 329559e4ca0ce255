"""How a round driver carries out each kind of action, one small class per idea.

Each handler is called with one look at the chain and the local miners that want its action, all
at once (their clients trained in one call, their models evaluated in one batch, their
transactions sent before any receipt is awaited):

- :class:`Adoption`: take the head block's model (adopt), learn a round first seen (learn);
- :class:`Claiming`: train, measure, seal and commit (commit); publish and reveal (reveal);
- :class:`Validation`: a seat fetches the candidate itself, measures it and reports (vote);
- :class:`Upkeep`: the transactions anyone may send — draw the committee, finalize, advance.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from offchain.chain.accounts import LocalSigner
from offchain.chain.keys import DEV_CHAIN_IDS
from offchain.chain.tx import PendingTx
from offchain.chain.types import SHARD_UNOPENED_BPS, UNAVAILABLE_BPS, ChainBlock, fetch_deadline, to_bps
from offchain.errors import PoflRuntimeError
from offchain.miner.claims import HeldModel
from offchain.miner.crew import Crew
from offchain.miner.evaluation import Measurement
from offchain.miner.protocol import Action, ChainView, MinerRound
from offchain.miner.round import LocalMiner
from offchain.store.fetching import Untrusted

log = logging.getLogger("pofl.miner")

HEAD_RETRY_FIRST_S = 1.0
HEAD_RETRY_MAX_S = 60.0
CANDIDATE_RETRY_S = 0.5  # between fetches of a candidate the store does not have (yet)

Batch = list[tuple[LocalMiner, Action]]


def _miners(batch: Batch) -> list[LocalMiner]:
    return [m for m, _ in batch]


def _keep(voters: list[LocalMiner], fetched: list[Untrusted[Any]],
          keep: Callable[[Untrusted[Any]], bool]) -> tuple[list[LocalMiner], list[Untrusted[Any]]]:
    """The seats whose fetch ``keep`` accepts, and their fetches."""
    kept = [(m, f) for m, f in zip(voters, fetched, strict=True) if keep(f)]
    return [m for m, _ in kept], [f for _, f in kept]


def _round_of(m: LocalMiner) -> MinerRound:
    assert m.memory.round is not None, "a miner acts in a round only once it knows its part in it"
    return m.memory.round


class Adoption:
    """Adopt the head block's model; learn what the chain holds of a round first seen."""

    def __init__(self, crew: Crew) -> None:
        self.crew = crew

    def adopt(self, view: ChainView, batch: Batch) -> None:
        """Each miner takes the head block's model: the one it holds, a copy it validated, or its own fetch."""
        crew, block = self.crew, view.head
        crew.progress(f"miners adopt block {block.height} ({block.cid[:12]}…)")
        with crew.now.watch("store"):
            list(crew.io.map(lambda m: self._take(m, block), _miners(batch)))
        held = next((m.params for m, _ in batch if m.cid == block.cid and m.params is not None), None)
        if held is not None:
            crew.head = (block.cid, held)
        if crew.started_from is None and any(m.cid == block.cid for m, _ in batch):
            crew.started_from = block

    def _take(self, m: LocalMiner, block: ChainBlock) -> None:
        if m.cid == block.cid and m.params is not None:
            params = m.params
        elif block.cid in m.copies:
            params = m.copies[block.cid]
        else:
            fetched = self.crew.fetch(block.cid)
            if fetched.value is None:
                m.head_failures += 1
                wait = min(HEAD_RETRY_MAX_S, HEAD_RETRY_FIRST_S * 2 ** (m.head_failures - 1))
                m.memory.head_retry_at = time.monotonic() + wait
                log.warning("miner %d cannot fetch block %d's model %s (%s); keeping its model, validating on, "
                            "retrying in %.0f s", m.index, block.height, block.cid, fetched.error[:300], wait)
                return
            params = fetched.value
        m.head_failures = 0
        m.hold(params, block.cid)
        m.memory.adopted_height = block.height
        m.memory.has_model = True
        self.crew.strategy.adopted(m.position, params)
        log.info("miner %d adopted block %d (%s)", m.index, block.height, block.cid)

    def learn(self, view: ChainView, batch: Batch) -> None:
        """A round seen for the first time: what the chain holds of each miner's claim (a resumed miner)."""
        for m in _miners(batch):
            claim = self.crew.contract.claim_of(view.round, m.address)
            m.memory.round = MinerRound(view.round, committed=claim.committed, revealed=claim.revealed)


class Claiming:
    """Commit a claim to each miner's new model, then publish and reveal it.

    Parameters:
        crew: the driver's parts.
        poll_s: the pause between looks while waiting for peers.

    A round needs a committee: ``minCommittee`` seats besides the claimant. While the local miners and the
    other active miners together are fewer, nothing they commit can become a block, and a lone miner would
    close round after round at once (every active miner committed), a transaction each: so the miners wait
    for peers, saying so, and commit anyway once a whole commit phase has passed without one (someone has to
    go first, and rounds of a lone miner then come one a phase, not several a second).
    """

    def __init__(self, crew: Crew, poll_s: float = 0.5) -> None:
        self.crew = crew
        self.poll_s = poll_s
        self._waiting_since: float | None = None

    def _peers_ready(self, round_id: int) -> bool:
        crew = self.crew
        config = crew.contract.config()
        needed = config.min_committee + 1
        local = {m.address for m in crew.miners}
        if len(local) >= needed:
            return True
        active_local = sum(crew.contract.miner_info(a).active for a in local)
        others = crew.contract.round_info(round_id).active_miners - active_local
        if len(local) + others >= needed:
            if self._waiting_since is not None:
                log.info("round %d: %d other miner(s) active: committing", round_id, others)
            self._waiting_since = None
            return True
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
            log.warning("waiting for peers: %d miner(s) here and %d other active miner(s), but a round needs %d "
                        "committers (a committee of %d besides the claimant); committing anyway in %d s",
                        len(local), others, needed, config.min_committee, config.commit_duration)
        if now - self._waiting_since >= config.commit_duration:
            log.info("round %d: no peer within a commit phase: committing without a possible committee", round_id)
            self._waiting_since = None
            return True
        return False

    def commit(self, view: ChainView, batch: Batch) -> None:
        """Train the round's clients, measure the new models (unless the mode measures them only at the reveal),
        seal them (their bytes stay private until the reveal) and commit the claims."""
        crew, ctx, r, miners = self.crew, self.crew.now, view.round, _miners(batch)
        if not self._peers_ready(r):
            time.sleep(self.poll_s)
            return
        crew.progress(f"round {r}: {len(miners)} miners train, evaluate and commit")
        started = time.perf_counter()
        trained = crew.strategy.train(r, {m.position: m.params for m in miners if m.params is not None})
        for k, v in trained.seconds.items():  # the strategy's own split (train, aggregate), the rest is train
            ctx.watch.seconds[k] += v
        ctx.watch.seconds["train"] += time.perf_counter() - started - sum(trained.seconds.values())
        ctx.clients_trained += trained.clients_trained
        new = [m for m in miners if m.position in trained.models]
        with ctx.watch("store"):  # the bytes and their CID now; the store gets them only at the reveal
            sealed = list(crew.io.map(lambda m: crew.encode(trained.models[m.position]), new))
        for m, (cid, data) in zip(new, sealed, strict=True):
            m.hold(trained.models[m.position], cid)
            m.unpublished = {cid: data}
        blind = crew.mode.blind
        parent_bps = 0
        if not blind:  # new models, and held ones this miner has not measured (an adopted block); and the parent
            parent_bps = to_bps(self._measure(r, [m for m in miners if m.accuracy is None], view.head,
                                              recorded=new).parent)
        ready = [m for m in miners if m.cid is not None and (blind or m.accuracy is not None)]
        for m in ready:
            m.claim = crew.claims.claim(r, HeldModel(m.position, m.cid or "", m.accuracy or 0.0))
            if blind:  # the commitment binds the model only
                m.claim = dataclasses.replace(m.claim, accuracy_bps=0, blind=True)
            else:  # declared at the reveal: a claim must beat the parent as measured on the same data
                m.claim = dataclasses.replace(m.claim, parent_bps=parent_bps)
        sent = crew.send_all([(m, "commit", lambda m=m: crew.contract.commit(
            m.signer, r, m.claim.commitment(m.address))) for m in ready])  # type: ignore[union-attr]
        for m in miners:
            if any(m is s for s in sent):
                m.memory.sealed_round = r
            _round_of(m).committed = True
        log.info("round %d: %d miners committed", r, len(sent))

    def _measure(self, r: int, miners: list[LocalMiner], head: ChainBlock, recorded: list[LocalMiner],
                 ) -> Measurement:
        """Each of ``miners`` measures the model it holds (the accuracies of ``recorded`` go into the round's
        record); the measurement (the parent's, whether the hold-out shard opened)."""
        crew = self.crew
        with crew.now.watch("evaluate"):
            measured = crew.mode.measure(r, [m.params for m in miners if m.params is not None],
                                         [m.position for m in miners], crew.parent(head))
        for m, acc in zip(miners, measured.accuracies, strict=True):
            m.measured[m.cid or ""] = acc
            if any(m is n for n in recorded):
                crew.now.miner_accuracies[m.index] = acc
        return measured

    def reveal(self, view: ChainView, batch: Batch) -> None:
        """Publish each claimed model (commits have closed: nobody can copy it into a commitment now), then
        reveal the claims; a blind claim is measured now and declared with the parent's measurement."""
        crew, r, miners = self.crew, view.round, _miners(batch)
        crew.progress(f"round {r}: {len(miners)} miners publish and reveal")
        if crew.mode.blind:
            self._declare(r, miners, view.head)
        jobs = [(m, m.unpublished.pop(m.claim.cid)) for m in miners
                if m.claim is not None and m.claim.cid in m.unpublished]
        with crew.now.watch("store"):
            for (m, _), cid in zip(jobs, crew.io.map(lambda job: crew.store.put(job[1]), jobs), strict=True):
                if cid != m.claim.cid:  # type: ignore[union-attr]
                    raise PoflRuntimeError(f"the store keeps miner {m.index}'s model as {cid}, not as the "
                                           f"committed {m.claim.cid}: it does not use Kubo's layout")  # type: ignore[union-attr]
        for m in miners:
            _round_of(m).revealed = True
        crew.send_all([(m, "reveal", lambda c=m.claim, s=m.signer: crew.contract.reveal(
            s, r, c.cid, c.accuracy_bps, c.salt, c.parent_bps)) for m in miners if m.claim is not None])

    def _declare(self, r: int, miners: list[LocalMiner], head: ChainBlock) -> None:
        """Blind claims: each miner measures its committed model now and claims it (its policy applied to the
        measurement) beside the parent's measurement (a claim must beat it to be validated)."""
        mine = [m for m in miners if m.claim is not None and m.params is not None and m.cid == m.claim.cid]
        measured = self._measure(r, mine, head, recorded=mine)
        # a shard that does not open is declared as such: enough stake saying so makes the requester pay
        parent_bps = SHARD_UNOPENED_BPS if measured.shard_unopened else to_bps(measured.parent)
        for m in miners:
            if m.claim is None:
                continue
            acc = m.measured.get(m.claim.cid, 0.0) if any(m is n for n in mine) else 0.0
            chosen = self.crew.claims.claim(r, HeldModel(m.position, m.claim.cid, acc))
            m.claim = dataclasses.replace(m.claim, accuracy_bps=chosen.accuracy_bps, parent_bps=parent_bps)


class Validation:
    """A committee seat measures the candidate itself and reports.

    Parameters:
        crew: the driver's parts.
    """

    def __init__(self, crew: Crew) -> None:
        self.crew = crew

    def vote(self, view: ChainView, batch: Batch) -> None:
        """Every local seat of the committee fetches the candidate's model itself (fail-safe: anything wrong
        with it is a measurement of 0), the copies are evaluated in one batch, and each seat reports."""
        crew, ctx = self.crew, self.crew.now
        assert view.info is not None
        r, candidate, attempt = view.round, view.info.candidate, view.info.attempt
        if candidate not in ctx.cids:
            with ctx.watch("chain"):
                ctx.cids[candidate] = crew.contract.claim_of(r, candidate).cid or ""
        cid, voters = ctx.cids[candidate], _miners(batch)
        crew.progress(f"round {r} validation {attempt}: {len(voters)} seats fetch and re-evaluate {cid[:14]}…")
        with ctx.watch("store"):
            fetched = list(crew.io.map(lambda _m: crew.fetch(cid), voters))
        # a model the store does not have (yet), or a store that does not answer, is fetched again until the
        # fetch deadline on chain (the draw plus half the validation window), then reported UNAVAILABLE (never
        # a misreport; a third of the seats saying so makes the claimant pay): a claimant that publishes late or
        # to some seats only, or a store that lags, must not make honest seats report 0 and be penalized
        if any(f.unavailable for f in fetched) and self._may_wait(view):
            for m, f in zip(voters, fetched, strict=True):
                if f.unavailable:
                    _round_of(m).vote_retry_at = time.monotonic() + CANDIDATE_RETRY_S
            log.info("round %d validation %d: %s is not in the store yet; fetching it again", r, attempt, cid[:64])
            voters, fetched = _keep(voters, fetched, lambda f: not f.unavailable)
        elif any(f.store_down for f in fetched):
            # past the fetch deadline, a seat whose own store does not answer (its node down) cannot tell a
            # withheld model from its own fault: it stays silent (a missed vote's bond), never UNAVAILABLE, which
            # would make an honest claimant pay when a third of the seats are such seats
            down = [m for m, f in zip(voters, fetched, strict=True) if f.store_down]
            for m in down:
                _round_of(m).voted.add(attempt)
            log.warning("round %d validation %d: %d seat(s) stay silent: their own store did not answer by the "
                        "fetch deadline (a missed vote's bond each)", r, attempt, len(down))
            voters, fetched = _keep(voters, fetched, lambda f: not f.store_down)
        valid = [(m, f.value) for m, f in zip(voters, fetched, strict=True) if f.value is not None]
        with ctx.watch("validate"):
            measured = crew.mode.measure(r, [p for _, p in valid], [m.position for m, _ in valid],
                                         crew.parent(view.head))
        # hold-out mode: the data to measure on (the round's shard) not had, e.g. this seat's own node down: never
        # a measurement of 0 (a misreport); read again until the fetch deadline, then the seats stay silent (a
        # missed vote's bond each): an UNAVAILABLE report would say the claimant did not serve its model, and a
        # third of the seats saying so makes it pay, for what may be this seat's own fault
        if measured.shard_unavailable:
            if self._may_wait(view):
                for m in voters:
                    _round_of(m).vote_retry_at = time.monotonic() + CANDIDATE_RETRY_S
                log.info("round %d validation %d: the round's shard is not read yet; measuring again", r, attempt)
            else:
                for m in voters:
                    _round_of(m).voted.add(attempt)
                log.warning("round %d validation %d: the round's shard was not read by the fetch deadline: %d "
                            "seat(s) stay silent (a missed vote's bond each)", r, attempt, len(voters))
            return
        ctx.validations += len(voters)
        for m, f in zip(voters, fetched, strict=True):
            if f.value is None:
                log.warning("miner %d measures candidate %s at 0: %s", m.index, cid[:64], f.error[:300])
        accs = {m.address: 0.0 for m in voters}
        for (m, params), acc in zip(valid, measured.accuracies, strict=True):
            accs[m.address] = acc
            m.copies[cid] = params
        missing = {m.address for m, f in zip(voters, fetched, strict=True) if f.unavailable}
        for m in voters:
            m.measured[cid] = accs[m.address]
            _round_of(m).voted.add(attempt)
        if missing:
            log.warning("round %d validation %d: %d seat(s) report %s unavailable (not fetched by the fetch "
                        "deadline)", r, attempt, len(missing), cid[:64])
        crew.send_all([(m, "vote", lambda m=m: crew.contract.vote(m.signer, r, attempt, UNAVAILABLE_BPS,
                                                                  to_bps(measured.parent))
                        if m.address in missing else crew.mode.report(crew.contract, m.signer, r, attempt,
                                                                      accs[m.address], measured.parent))
                       for m in voters])

    def _may_wait(self, view: ChainView) -> bool:
        """Whether a seat may still wait for the candidate of ``view``'s validation to reach the store: until
        the fetch deadline on chain (the committee's draw plus half the validation window; the contract refuses
        an UNAVAILABLE report before it), at the node's current time. Every seat, in every process, gives up at
        the same chain time, however late it first asked."""
        assert view.info is not None
        give_up, attempt = self.crew.now.give_up, view.info.attempt
        if attempt not in give_up:
            give_up[attempt] = fetch_deadline(view.info.deadline, self.crew.contract.config().validation_duration)
        return int(self.crew.contract.w3.eth.get_block("pending")["timestamp"]) < give_up[attempt]


class Upkeep:
    """The transactions anyone may send: one local miner sends each (gas limit fixed: it holds whatever the phase
    is when mined).

    Parameters:
        crew: the driver's parts.
        poll_s: the pause while a seed block is not mined yet.
        stagger_s: a pause before sending, times the miner's index, so that usually one of many miner
            processes sends it.
    """

    def __init__(self, crew: Crew, poll_s: float, stagger_s: float) -> None:
        self.crew = crew
        self.poll_s = poll_s
        self.stagger_s = stagger_s
        self._devnet = crew.contract.w3.eth.chain_id in DEV_CHAIN_IDS  # mines a block per transaction
        self._last_block = (-1, 0.0)  # (the chain's block number, when this driver first saw it)

    def draw(self, view: ChainView, batch: Batch) -> None:
        """The validation's seed block: once mined, ``advance()`` draws the committee. Before it, a chain
        that has mined nothing for a second, or a devnet, is taken to mine only on transactions: the same
        transaction mines the next block."""
        assert view.info is not None
        number = self.crew.contract.w3.eth.block_number
        if number != self._last_block[0]:
            self._last_block = (number, time.monotonic())
        stalled = self._devnet or time.monotonic() - self._last_block[1] > 1.0
        if number >= view.info.seed_block or stalled:
            self._send(batch, "advance", self.crew.contract.advance)
        else:
            time.sleep(self.poll_s)

    def finalize(self, view: ChainView, batch: Batch) -> None:
        self._send(batch, "finalize", self.crew.contract.finalize)

    def advance(self, view: ChainView, batch: Batch) -> None:
        self._send(batch, "advance", self.crew.contract.advance)

    def _send(self, batch: Batch, what: str, send: Callable[[LocalSigner], PendingTx]) -> None:
        m = min(_miners(batch), key=lambda m: m.index)
        if self.stagger_s:
            time.sleep(self.stagger_s * (m.index % 8))
        self.crew.send_all([(m, what, lambda: send(m.signer))])
