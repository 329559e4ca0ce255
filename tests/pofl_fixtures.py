"""Deploying a fresh PoFLConsensus with registered miners, and playing rounds, for the contract tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.pofl import Phase, PoFLConfig, PoFLContract
from offchain.chain.rounds import SealedClaim, cast_votes, commit_claims, draw_committee, reveal_claims
from offchain.chain.tx import wait_all
from offchain.store.cid import CidKind, cid_from_digest
from tests.conftest import signers

STAKE = 10**18
MISS_BOND = 10**16
BASE_CONFIG = PoFLConfig(threshold_bps=6000, eval_set_hash=b"\x11" * 32, architecture_id=b"\x22" * 32,
                         min_stake=STAKE, miss_bond=MISS_BOND, block_reward=10**17, commit_duration=60,
                         reveal_duration=60, validation_duration=60)


def cid_of(tag: str, kind: CidKind = CidKind.V0_DAG_PB) -> str:
    """A well-formed CID standing for the model named ``tag`` (its digest is sha256(tag))."""
    return cid_from_digest(hashlib.sha256(tag.encode()).digest(), kind)


GENESIS_CID = cid_of("genesis")


@dataclass
class Deployed:
    contract: PoFLContract
    owner: LocalSigner
    miners: list[LocalSigner]

    @property
    def w3(self) -> Web3:
        return self.contract.w3

    def by_address(self, address: str) -> LocalSigner:
        return next(m for m in self.miners if m.address == address)


def deploy_with_miners(w3: Web3, n_miners: int, *, register: bool = True, first_key: int = 1,
                       reward_pool: int = 10**19, stake: int = STAKE, **config: object) -> Deployed:
    owner = signers(w3, [0])[0]
    contract, _ = PoFLContract.deploy(owner, replace(BASE_CONFIG, **config), GENESIS_CID, reward_pool=reward_pool,
                                      deployments_dir=None)
    miners = signers(w3, range(first_key, first_key + n_miners))
    if register:
        wait_all([contract.register(m, stake) for m in miners])
    return Deployed(contract, owner, miners)


Measure = Callable[[str, LocalSigner], int]
"""What a seat reports for a candidate: measure(candidate address, seat) -> bps."""


def truthful(truth: Mapping[str, int]) -> Measure:
    """Seats that report each candidate's true accuracy (0 for a model they do not know)."""
    return lambda candidate, _seat: truth.get(candidate, 0)


@dataclass
class RoundResult:
    round_id: int
    claims: dict[str, SealedClaim]
    candidates: list[str]  # in the order they were validated


def play_round(d: Deployed, claims: Sequence[tuple[LocalSigner, int]], measure: Measure, *, tag: str = "",
               revealers: Sequence[LocalSigner] | None = None, voters: Sequence[LocalSigner] | None = None,
               cids: Mapping[str, str] | None = None) -> RoundResult:
    """Play one round to its end: ``claims`` commit (each (miner, claimed bps)), ``revealers`` (default: all
    committers) reveal, the committee is drawn, and every seat in ``voters`` (default: everyone) reports
    ``measure``; deadlines are passed by moving the devnet's clock. Returns the claims and the candidates."""
    c = d.contract
    r = c.current_round()
    sealed = {m.address: SealedClaim(r, (cids or {}).get(m.address) or cid_of(f"{tag}r{r}{m.address}"), acc)
              for m, acc in claims}
    by_address = {m.address: m for m, _ in claims}
    commit_claims(c, [(by_address[a], s) for a, s in sealed.items()])
    if c.current_phase().phase == Phase.COMMIT:
        advance_time(d, c.round_info(r).deadline)
    revealing = list(revealers) if revealers is not None else [m for m, _ in claims]
    reveal_claims(c, [(m, sealed[m.address]) for m in revealing])
    if c.current_phase("pending").phase == Phase.REVEAL:
        advance_time(d, c.round_info(r).deadline)
    candidates: list[str] = []
    allowed = None if voters is None else {v.address for v in voters}
    while c.current_round() == r:
        if c.current_phase("pending").phase == Phase.VALIDATION:
            seats = draw_committee(c, d.owner)
            info = c.round_info(r)
            candidates.append(info.candidate)
            everyone = {m.address: m for m in d.miners}
            votes = [(everyone[a], measure(info.candidate, everyone[a])) for a in seats
                     if a in everyone and (allowed is None or a in allowed)]
            cast_votes(c, r, votes)
            if c.current_phase().phase == Phase.VALIDATION:
                advance_time(d, c.round_info(r).deadline)
        c.finalize(d.owner).wait()
    return RoundResult(r, sealed, candidates)


def advance_time(d: Deployed, deadline: int) -> None:
    """Move the devnet's clock past ``deadline`` and record what that changed (advance())."""
    now = d.w3.eth.get_block("latest")["timestamp"]
    d.w3.provider.make_request("evm_increaseTime", [max(0, deadline - now) + 1])
    d.contract.advance(d.owner).wait()
