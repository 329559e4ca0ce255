"""One miner in its own process (or machine): ``pofl miner``.

It polls the chain and acts on what it sees: adopt a new block (fetched by CID, verified,
evaluated itself); in a Commit phase it has not acted in, train its drawn clients, evaluate,
publish and commit; reveal; as a committee member, fetch, evaluate and vote on the
candidate; finalize a decided round; record passed deadlines. The chain is its checkpoint:
restarted with the same key it resumes at the current round from the latest block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import torch

from offchain.chain.pofl import Phase, PoFLContract
from offchain.miner.agent import BENIGN, MinerAgent, wait_benign
from offchain.miner.selection import select_clients
from offchain.miner.workload import Workload

log = logging.getLogger("pofl.miner")


class MinerWorker:
    def __init__(self, agent: MinerAgent, workload: Workload, clients: np.ndarray, *, poll_s: float = 0.1,
                 finalize_delay_s: float = 0.15) -> None:
        self.agent = agent
        self.workload = workload
        self.contract: PoFLContract = agent.contract
        self.clients = clients
        self.trainer = workload.restricted_to(clients)
        self.poll_s = poll_s
        self.finalize_delay_s = finalize_delay_s
        self.rounds_committed: list[int] = []

    def _evaluate(self, params: torch.Tensor) -> float:
        return self.workload.evaluator.accuracy(params)

    def sync_head(self) -> None:
        """Adopt the latest block if it is newer than the one this miner holds."""
        head = self.contract.latest_block()
        if self.agent.model is not None and head.height <= self.agent.adopted_height:
            return
        if self.agent.model is not None and self.agent.model.cid == head.cid:
            params = self.agent.model.params
        else:
            params = self.agent.fetch(head.cid, self.workload.device)
        if head.cid not in self.agent.measured:  # never trust a number it did not compute
            self.agent.measured[head.cid] = self._evaluate(params)
        self.agent.adopt(head, params)
        log.info("miner %d adopted block %d (%s, accuracy %.4f)", self.agent.index, head.height, head.cid,
                 self.agent.measured[head.cid])

    def commit_round(self, round_id: int) -> None:
        wl = self.workload
        drawn = select_clients(wl.config.seed, round_id, wl.federation.n_clients, wl.config.clients_per_round)
        mine = np.intersect1d(drawn, self.clients)
        if len(mine):
            assert self.agent.model is not None
            pool = self.trainer.train(self.agent.model.params.unsqueeze(0), mine)
            params = pool.models[0]
            self.agent.publish(params, self._evaluate(params), round_id)
        self.agent.commit(round_id).wait()
        self.rounds_committed.append(round_id)
        log.info("miner %d committed round %d (%d clients trained, accuracy %.4f)", self.agent.index, round_id,
                 len(mine), self.agent.model.accuracy if self.agent.model else -1)

    def step(self) -> None:
        """Look at the chain once and do what is due."""
        self.sync_head()
        state = self.contract.current_phase()
        r = state.round
        me = self.agent.address
        claim = self.contract.claim_of(r, me)
        committed = bool(int.from_bytes(claim.commitment, "big"))
        if state.phase == Phase.COMMIT and not committed:
            self.commit_round(r)
        elif state.phase == Phase.REVEAL and committed and not claim.revealed and self.agent.claim is not None \
                and self.agent.claim.round_id == r:
            self.agent.reveal().wait()
        elif state.phase == Phase.VALIDATION and (duty := self.agent.validation_duty(r)):
            candidate, cid = duty
            measured = self._evaluate(self.agent.fetch(cid, self.workload.device))
            wait_benign(self.agent.vote(r, candidate, cid, measured))
        elif state.phase == Phase.FINALIZE:
            time.sleep(self.finalize_delay_s * (self.agent.index % 8))  # stagger: usually one miner finalizes
            if self.contract.current_phase().phase == Phase.FINALIZE:
                wait_benign(self.agent.finalize())
        elif self.contract.deadline_passed():
            wait_benign(self.agent.advance())
        else:
            time.sleep(self.poll_s)

    def run(self, stop: Callable[[], bool]) -> None:
        while not stop():
            try:
                self.step()
            except BENIGN as exc:  # a deadline or another miner moved the round on: look again
                log.info("miner %d: %s", self.agent.index, exc)
