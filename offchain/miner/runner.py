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
from contextlib import contextmanager

import torch

from offchain.chain.pofl import ChainBlock, Phase, PoFLContract, chain_time
from offchain.chain.tx import PendingTx, wait_all
from offchain.miner.agent import MinerAgent
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
        self.contract = contract
        self.agents = agents
        self.by_address = {a.address: a for a in agents}
        self.cheaters = cheaters
        self.progress = progress or (lambda _msg: None)
        self.records: list[RoundRecord] = []

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
        with watch("evaluate"):
            accs = wl.evaluator.accuracies(pool.models).tolist() if pool.trained_miners else []
        self._last_accuracies = dict(zip(pool.trained_miners, accs, strict=True))
        self._clients_trained = len(selected)
        with watch("store"):
            for row, (miner, acc) in enumerate(self._last_accuracies.items()):
                self.agents[miner].publish(pool.models[row], acc, round_id)
        self.progress(f"round {round_id}: commit and reveal")
        with watch("chain"):
            commits = wait_all([a.commit(round_id, CHEAT_ACCURACY if a.index in self.cheaters else None)
                                for a in self.agents])
            reveals = wait_all([a.reveal() for a in self.agents])
        return sum(r["gasUsed"] for r in commits + reveals)

    def _validate_and_finalize(self, round_id: int, watch: Stopwatch) -> int:
        gas = 0
        self._validated: dict[str, list[float]] = defaultdict(list)
        self._fetched: dict[tuple[int, str], torch.Tensor] = {}
        while True:
            with watch("chain"):
                state = self.contract.current_phase()
            if state.round != round_id:
                return gas
            if state.phase == Phase.VALIDATION:
                with watch("chain"):
                    duties = [(a, d) for a in self.agents if (d := a.validation_duty(round_id))]
                if duties:
                    gas += self._vote(round_id, duties, watch)
                    continue
            if state.phase == Phase.FINALIZE:
                with watch("chain"):
                    pending = next((p for a in self.agents if (p := a.finalize()) is not None), None)
                    if pending is not None:
                        gas += pending.wait()["gasUsed"]
                continue
            with watch("chain"):
                gas += self._step_stalled(round_id)

    def _vote(self, round_id: int, duties: list, watch: Stopwatch) -> int:  # type: ignore[type-arg]
        self.progress(f"round {round_id}: {len(duties)} validators re-evaluate the candidate")
        with watch("store"):
            copies = [agent.fetch(cid, self.workload.device) for agent, (_, cid) in duties]
        with watch("validate"):
            measured = self.workload.evaluator.accuracies(torch.stack(copies)).tolist()
        pending: list[PendingTx] = []
        with watch("chain"):
            for (agent, (candidate, cid)), params, acc in zip(duties, copies, measured, strict=True):
                self._validated[cid].append(acc)
                self._fetched[(agent.index, cid)] = params
                p = agent.vote(round_id, candidate, cid, acc)
                if p is not None:
                    pending.append(p)
            return sum(r["gasUsed"] for r in wait_all(pending))

    def _step_stalled(self, round_id: int) -> int:
        """Nothing to do but wait: once a deadline passes, record it with advance()."""
        state = self.contract.current_phase()
        if state.deadline and chain_time(self.contract.w3) < state.deadline <= time.time():
            pending = self.agents[0].advance()
            return pending.wait()["gasUsed"] if pending else 0
        if state.phase == Phase.FINALIZE:
            pending = self.agents[0].finalize()
            return pending.wait()["gasUsed"] if pending else 0
        time.sleep(POLL_S)
        return 0

    def _conclude(self, round_id: int, first_block: int, watch: Stopwatch, gas: int) -> RoundRecord:
        with watch("chain"):
            head = self.contract.latest_block()
            rejected = [self.by_address[e["args"]["miner"]].index
                        for e in self.contract.events("ClaimRejected", first_block)
                        if e["args"]["round"] == round_id and e["args"]["miner"] in self.by_address]
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
        for agent in self.agents:
            if agent.model is not None and agent.model.cid == block.cid:
                agent.adopt(block, agent.model.params)
                continue
            params = self._fetched.get((agent.index, block.cid))
            agent.adopt(block, params if params is not None else agent.fetch(block.cid, self.workload.device))
