"""Typed client of PoWConsensus (``contracts/IPoWConsensus.sol``): flexBlock's proof of work on chain.

    contract = PoWContract.deploy(owner, genesis_cid, PoWSettings())
    contract.register(miner, stake).wait()
    prefix = pow_prefix(contract.head_hash(), digest, miner.address)      # offchain.chain.powhash
    solution = search(prefix, contract.difficulty(), start, count)
    contract.submit_block(miner, parent, cid, solution.nonce).wait()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offchain.chain.accounts import LocalSigner
from offchain.chain.client import View
from offchain.chain.ledger import LedgerBlock, StakeLedgerClient
from offchain.chain.tx import PendingTx
from offchain.store.cid import cid_to_digest

CONTRACT_NAME = "PoWConsensus"


@dataclass(frozen=True)
class PoWSettings:
    """A PoW deployment's settings: flexBlock's difficulty (3 zero hex digits to start), bounded to
    [``min_difficulty``, ``max_difficulty``]; the stake a miner registers with and the reward a block earns."""

    initial_difficulty: int = 3
    min_difficulty: int = 1
    max_difficulty: int = 8
    min_stake: int = 10**17
    block_reward: int = 10**16
    reward_pool: int = 0


@dataclass(frozen=True)
class PoWBlock(LedgerBlock):
    """A PoW block: its nonce and the difficulty it met."""

    nonce: int
    difficulty: int


class PoWContract(StakeLedgerClient):
    """A deployed PoWConsensus."""

    CONTRACT = CONTRACT_NAME

    difficulty = View("difficulty", int, "Zero hex digits the next block's hash needs.")

    @classmethod
    def deploy(cls, signer: LocalSigner, genesis_cid: str, settings: PoWSettings = PoWSettings(), *,
               deployments_dir: Path | None = None) -> PoWContract:
        """Deploy with the genesis model ``genesis_cid``; the ``settings.reward_pool`` wei fund block rewards."""
        s = settings
        return cls._deploy(signer, genesis_cid, [s.initial_difficulty, s.min_difficulty, s.max_difficulty, s.min_stake,
                                                 s.block_reward], value=s.reward_pool, deployments_dir=deployments_dir)

    def difficulty_bounds(self) -> tuple[int, int]:
        low, high = self._view("difficultyBounds")
        return int(low), int(high)

    def pow_hash(self, parent_hash: bytes, digest: bytes, miner: str, nonce: int) -> bytes:
        """The contract's own hash of these fields (what submit_block checks)."""
        return bytes(self._view("powHash", parent_hash, digest, miner, nonce))

    def _block(self, height: int) -> PoWBlock:
        f = self._fields("blockAt", height)
        base = self._ledger_block(height, f, f["miner"])
        return PoWBlock(**vars(base), nonce=int(f["nonce"]), difficulty=int(f["difficulty"]))

    def submit_block(self, signer: LocalSigner, parent_hash: bytes, cid: str, nonce: int) -> PendingTx:
        """Append ``cid``'s model on ``parent_hash`` with ``nonce`` (a solution for ``signer``'s address)."""
        digest, kind = cid_to_digest(cid)
        return self._send(signer, "submitBlock", parent_hash, digest, kind, nonce)
