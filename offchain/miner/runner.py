"""N miners in one process: the fast simulation behind ``pofl run``.

Every round: the round's clients are drawn; all miners' drawn clients are trained in
batched calls and averaged per miner; every miner that trained evaluates its model (one
batched pass), publishes it and commits; all reveal; each committee member fetches the
candidate by CID, verifies and loads it itself, and the committee's own copies are evaluated
in one batched pass before each votes; finalize; every miner adopts the block's model (or
keeps its own when the round failed). Each miner signs its own transactions; transactions of
a step are all sent before any receipt is awaited. The chain and the store are the only
channels between miners.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

from offchain.chain.pofl import ChainBlock, Phase, PoFLContract, to_bps
from offchain.chain.rounds import committee_indices
from offchain.chain.tx import PendingTx, wait_all
from offchain.miner.agent import MinerAgent, wait_benign
from offchain.miner.metrics import RoundRecord
from offchain.miner.selection import select_clients
from offchain.miner.workload import Workload

CHEAT_ACCURACY = 0.99
POLL_S = 0.05


class Stopwatch:
    """Seconds spent per category."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, category: str):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[category] += time.perf_counter() - start


class InProcessRun:
    def __init__(self, workload: Workload, contract: PoFLContract, agents: list[MinerAgent],
                 cheaters: frozenset[int] = frozenset(), progress: Callable[[str], None] | None = None) -> None:
        self.workload = workload
        self.contract = contract.without_estimates()  # round actions use known gas limits: fewer round trips
        for agent in agents:
            agent.contract = self.contract
        self.agents = agents
        self.by_address = {a.address: a for a in agents}
        self.cheaters = cheaters
        self.progress = progress or (lambda _msg: None)
        self.records: list[RoundRecord] = []
        self.tolerance_bps = contract.config().tolerance_bps
        self.inactive = {a.address for a in agents if not contract.miner_info(a.address).active}

    # ---------------------------------------------------------------- start

    def bootstrap(self) -> None:
        """Every miner starts from the chain head's model (genesis on a fresh chain), fetched and measured itself."""
        head = self.contract.latest_block()
        self.progress(f"miners fetch block {head.height} ({head.cid[:12]}…) and evaluate it")
        copies = [agent.fetch(head.cid, self.workload.device) for agent in self.agents]
        measured = self.workload.evaluator.accuracies(torch.stack(copies)).tolist()
        for agent, params, acc in zip(self.agents, copies, measured, strict=True):
            agent.measured[head.cid] = acc
            agent.adopt(head, params)

    # ---------------------------------------------------------------- round

    def run_round(self) -> RoundRecord:
        watch = Stopwatch()
        with watch("chain"):
            state = self._settle()
            round_id = state.round
            first_block = self.contract.w3.eth.block_number + 1
        gas = self._train_publish_commit_reveal(round_id, watch)
        gas += self._validate_and_finalize(round_id, watch)
        record = self._conclude(round_id, first_block, watch, gas)
        self.records.append(record)
        return record

    def _settle(self):  # type: ignore[no-untyped-def]
        """The Commit phase to act in. A resumed run may find a round half-done (commitments whose salts
        died with the old process): it is driven to its end, by deadlines, first."""
        while True:
            state = self.contract.current_phase()
            if state.phase == Phase.COMMIT and (self.records or not any(
                    int.from_bytes(self.contract.claim_of(state.round, a.address).commitment, "big")
                    for a in self.agents)):
                return state
            self._step_stalled(state.round)

    def _train_publish_commit_reveal(self, round_id: int, watch: Stopwatch) -> int:
        wl = self.workload
        selected = select_clients(wl.config.seed, round_id, wl.federation.n_clients, wl.config.clients_per_round)
        self.progress(f"round {round_id}: training {len(selected)} clients")
        models = torch.stack([a.model.params for a in self.agents])  # type: ignore[union-attr]
        pool = wl.trainer.train(models, selected)
        watch.seconds["train"] += pool.seconds["train"]
        watch.seconds["aggregate"] += pool.seconds["aggregate"]
        # miners that did not train claim the model they hold: one they have not evaluated yet (a block
        # adopted without validating it) is evaluated here, with the trained models, in the same pass
        unmeasured = [a for a in self.agents if a.index not in pool.trained_miners and a.model.accuracy is None]  # type: ignore[union-attr]
        with watch("evaluate"):
            batch = torch.cat([pool.models, *(a.model.params.unsqueeze(0) for a in unmeasured)])  # type: ignore[union-attr]
            accs = wl.evaluator.accuracies(batch).tolist() if len(batch) else []
        for agent, acc in zip(unmeasured, accs[len(pool.trained_miners):], strict=True):
            agent.record_measurement(acc)
        self._last_accuracies = dict(zip(pool.trained_miners, accs, strict=False))
        self._clients_trained = len(selected)
        with watch("store"), ThreadPoolExecutor(max_workers=8) as publishers:
            list(publishers.map(lambda job: self.agents[job[1]].publish(pool.models[job[0]], job[2], round_id),
                                [(row, miner, acc) for row, (miner, acc) in enumerate(self._last_accuracies.items())]))
        n = len(self.agents)
        self.progress(f"round {round_id} Commit: {len(selected)} clients trained by {len(pool.trained_miners)} "
                      f"miners; {n} miners committing")
        with watch("chain"):
            commits = wait_all([a.commit(round_id, CHEAT_ACCURACY if a.index in self.cheaters else None)
                                for a in self.agents])
            self.progress(f"round {round_id} Reveal: {len(commits)}/{n} miners committed; revealing")
            reveals = wait_all([a.reveal() for a in self.agents])
            self.progress(f"round {round_id}: {len(reveals)}/{n} miners revealed")
        return sum(r["gasUsed"] for r in commits + reveals)

    def _validate_and_finalize(self, round_id: int, watch: Stopwatch) -> int:
        gas = 0
        self._validated: dict[str, list[float]] = defaultdict(list)
        self._fetched: dict[tuple[int, str], torch.Tensor] = {}
        self._rejected_any = False
        with watch("chain"):
            miners = self.contract.miners()
        voted: set[tuple[str, int]] = set()
        while True:
            with watch("chain"):
                state = self.contract.current_phase()
            if state.round != round_id:
                return gas
            if state.phase == Phase.VALIDATION:
                with watch("chain"):
                    info = self.contract.round_info(round_id)
                duties = self._duties(round_id, info, miners, voted)
                if duties:
                    gas += self._vote(round_id, info, duties, voted, watch)
                    continue
            if state.phase == Phase.FINALIZE:
                with watch("chain"):
                    gas += wait_benign(self.agents[0].finalize())
                continue
            with watch("chain"):
                gas += self._step_stalled(round_id)

    def _duties(self, round_id: int, info, miners: list[str], voted: set[tuple[str, int]],  # type: ignore[no-untyped-def]
                ) -> list[tuple[MinerAgent, str, str]]:
        """(agent, candidate, cid) for each of our committee members that has not voted on this candidate."""
        candidate = info.candidate
        owner = self.by_address.get(candidate)
        cid = owner.claim.cid if owner and owner.claim and owner.claim.round_id == round_id else \
            self.contract.claim_of(round_id, candidate).cid
        members = committee_indices(info.seed, info.committee_n, info.committee_k, miners.index(candidate))
        agents = [self.by_address.get(miners[i]) for i in members]
        return [(a, candidate, cid) for a in agents
                if a is not None and a.address not in self.inactive and (cid, a.index) not in voted]

    def _vote(self, round_id: int, info, duties: list[tuple[MinerAgent, str, str]],  # type: ignore[no-untyped-def]
              voted: set[tuple[str, int]], watch: Stopwatch) -> int:
        """Committee members fetch, verify and evaluate the candidate themselves and vote, as many as it
        takes to reach the quorum (the contract refuses votes once a candidate is decided)."""
        candidate, cid = duties[0][1], duties[0][2]
        claimed = self.by_address[candidate].claim.accuracy_bps if candidate in self.by_address else \
            self.contract.claim_of(round_id, candidate).accuracy_bps
        approvals, rejections = info.approvals, info.rejections
        batch = duties[:max(1, info.quorum - max(approvals, rejections))]
        self.progress(f"round {round_id} Validation: {approvals + rejections}/{info.committee_k} votes; "
                      f"{len(batch)} committee members fetch and re-evaluate the candidate")
        with watch("store"), ThreadPoolExecutor(max_workers=8) as fetchers:  # each fetches and verifies its own copy
            copies = list(fetchers.map(lambda duty: duty[0].fetch(cid, self.workload.device), batch))
        with watch("validate"):
            measured = self.workload.evaluator.accuracies(torch.stack(copies)).tolist()
        pending: list[PendingTx] = []
        with watch("chain"):
            for (agent, _, _), params, acc in zip(batch, copies, measured, strict=True):
                if approvals >= info.quorum or rejections >= info.quorum:
                    break
                self._validated[cid].append(acc)
                self._fetched[(agent.index, cid)] = params
                voted.add((cid, agent.index))
                if (p := agent.vote(round_id, candidate, cid, acc)) is not None:
                    pending.append(p)
                if to_bps(acc) + self.tolerance_bps >= claimed:
                    approvals += 1
                else:
                    rejections += 1
            if rejections >= info.quorum:
                self._rejected_any = True
                self.inactive.add(candidate)  # slashed by this vote
            return sum(r["gasUsed"] for r in wait_all(pending))

    def _step_stalled(self, round_id: int) -> int:
        """Nothing to do but wait: once a deadline passes, record it with advance()."""
        if self.contract.deadline_passed():
            return wait_benign(self.agents[0].advance())
        if self.contract.current_phase().phase == Phase.FINALIZE:
            return wait_benign(self.agents[0].finalize())
        time.sleep(POLL_S)
        return 0

    def _conclude(self, round_id: int, first_block: int, watch: Stopwatch, gas: int) -> RoundRecord:
        with watch("chain"):
            head = self.contract.latest_block()
            rejected = [self.by_address[e["args"]["miner"]].index
                        for e in self.contract.events("ClaimRejected", first_block)
                        if e["args"]["round"] == round_id and e["args"]["miner"] in self.by_address
                        ] if self._rejected_any else []
        made_block = head.round == round_id
        if made_block:
            with watch("store"):
                self._adopt(head)
        winner = self.by_address.get(head.miner) if made_block else None
        validated = self._validated.get(head.cid) if made_block else None
        return RoundRecord(
            round=round_id, block_height=head.height if made_block else None,
            winner=winner.index if winner else None,
            claimed_accuracy=head.accuracy if made_block else None,
            validated_accuracy=sum(validated) / len(validated) if validated else None,
            cid=head.cid if made_block else None, chain_accuracy=head.accuracy,
            miner_accuracies=dict(self._last_accuracies), rejected=rejected, gas_used=gas,
            clients_trained=self._clients_trained, seconds={k: round(v, 4) for k, v in watch.seconds.items()})

    def _adopt(self, block: ChainBlock) -> None:
        """Every miner takes the block's model: its own, the copy it validated, or one it fetches itself."""
        def take(agent: MinerAgent) -> None:
            if agent.model is not None and agent.model.cid == block.cid:
                agent.adopt(block, agent.model.params)
                return
            params = self._fetched.get((agent.index, block.cid))
            agent.adopt(block, params if params is not None else agent.fetch(block.cid, self.workload.device))

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(take, self.agents))
