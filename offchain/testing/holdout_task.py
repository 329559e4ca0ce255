"""A hold-out task on a devnet whose keys the caller holds: for tests and benchmarks that play rounds in hold-out
mode with scripted measurements (its shards are placeholders: nothing is measured on them)."""

from __future__ import annotations

from web3 import Web3

from offchain.chain.holdout import deploy_holdout_task, plan_holdout_task
from offchain.chain.types import PoFLConfig
from offchain.holdout.sealing import key_hash, new_key
from offchain.holdout.task import SealedShard, SealedTask
from offchain.testing.accounts import fresh_signers
from offchain.testing.rounds import placeholder_cid


class HoldoutTask:
    """A deployed hold-out task and its consensus; the requester, owner and miners are fresh funded accounts.

    Parameters:
        w3: the devnet.
        n_miners: miners registered with ``stake``.
        n_shards: selection shards (placeholder CIDs, fresh keys the task holds in ``keys``).
        config: the consensus's configuration.
        genesis: the genesis model's CID.
        bond, pay: the requester's bond and what a missed key pays from it in all, shared by the committers'
            stake (wei).
    """

    def __init__(self, w3: Web3, n_miners: int, n_shards: int, config: PoFLConfig, genesis: str, *, stake: int,
                 bond: int = 10**18, pay: int = 10**16) -> None:
        self.requester, self.owner, *self.miners = fresh_signers(w3, 2 + n_miners)
        plan = plan_holdout_task(self.requester)
        self.keys = [new_key() for _ in range(n_shards)]
        self.final_key = new_key()
        sealed = SealedTask(plan.task, tuple(SealedShard(i, placeholder_cid(f"shard{i}"), key_hash(k))
                                             for i, k in enumerate(self.keys)),
                            SealedShard(2**32 - 1, placeholder_cid("final"), key_hash(self.final_key)),
                            None, None)  # type: ignore[arg-type]
        self.contract, self.holdout, _ = deploy_holdout_task(
            self.requester, plan, sealed, config, genesis, bond=bond, missed_key_pay=pay, reward_pool=10**19,
            deployments_dir=None)
        for m in self.miners:
            self.contract.register(m, stake).wait()

    def reveal(self, round_id: int) -> None:
        """Reveal the key of the shard ``round_id`` gets (the next unused one)."""
        shard = self.holdout.shard_for_round(round_id)
        assert shard is not None
        self.holdout.reveal_key(self.requester, round_id, self.keys[shard.index]).wait()
