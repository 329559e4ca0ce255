"""The requester's duty in a hold-out task: reveal each round's shard key once the round's commits close.

:class:`Requester` is what ``pofl requester`` runs in a loop, and what ``pofl run --holdout`` runs in
process beside its miners (the round driver hands it each look at the chain, so it costs no extra
RPC call there). A key is checked against the chain's key hash before it is sent: a key file of
another task is refused at once (:class:`~offchain.holdout.sealing.KeyMismatch`), never sent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.consensus import PoFLContract
from offchain.chain.deploy import chain_key
from offchain.chain.errors import ContractRevert, PoFLHoldoutCommitsOpen, PoFLNotIndependent
from offchain.chain.holdout import HoldoutContract, plan_holdout_task
from offchain.chain.types import Phase
from offchain.defaults import HOLDOUT_KEYS_DIR
from offchain.errors import ConfigError, PoflValueError
from offchain.fl.images import LabeledImages
from offchain.holdout.keyfile import Keys, write_keys
from offchain.holdout.sealing import check_key
from offchain.holdout.task import seal_more_shards
from offchain.miner.protocol import ChainView
from offchain.store.base import ModelStore

log = logging.getLogger("pofl.requester")


class Requester:
    """Reveals shard keys on time for the task ``holdout`` of ``consensus``, signing with ``signer``.

    Parameters:
        holdout: the task contract.
        consensus: the consensus contract it judges.
        signer: any funded account (anyone holding a key may reveal it; the requester's key is usual).
        keys: the task's keys (``pofl deploy --holdout`` wrote them); their task id must be the contract's.
    """

    def __init__(self, holdout: HoldoutContract, consensus: PoFLContract, signer: LocalSigner, keys: Keys) -> None:
        if keys.task != holdout.task_id():
            raise PoflValueError(f"the key file is for task 0x{keys.task.hex()}, not for this contract's "
                             f"0x{holdout.task_id().hex()}: pass the key file `pofl deploy --holdout` wrote for it")
        self.holdout = holdout
        self.consensus = consensus
        self.signer = signer
        self.keys = keys
        self.revealed: set[int] = set()
        self.skipped: set[int] = set()  # rounds whose shard stays sealed (too few commitments, no key)
        self._config_round = (0, 0)  # (round, its minCommittee)

    def observe(self, view: ChainView) -> bool:
        """Given a round driver's look at the chain: reveal the round's key if its commits have closed and it is
        not public yet. True if a key was revealed."""
        if view.phase != Phase.REVEAL or view.key_revealed or view.round in self.revealed:
            return False
        return self.reveal(view.round)

    def step(self) -> bool:
        """One look at the chain (``pofl requester``'s loop); True if a key was revealed."""
        state = self.consensus.current_phase()
        if state.phase != Phase.REVEAL or state.round in self.revealed:
            return False
        if self.holdout.shard_of(state.round)[0]:  # someone else revealed it
            self.revealed.add(state.round)
            return False
        return self.reveal(state.round)

    def reveal(self, round_id: int) -> bool:
        """Reveal the key of the shard ``round_id`` gets (checked against the chain's hash first), if the round has
        enough commitments for a committee and its committers hold more than half the stake (else the round uses
        no shard: the contract refuses the key, ``PoFLNotIndependent``); a lost race is only logged."""
        if round_id in self.skipped:
            return False
        shard = self.holdout.shard_for_round(round_id)
        if shard is None or shard.index >= len(self.keys.shards):
            log.warning("no shard key for round %d: the task has %d shards, the key file %d", round_id,
                        self.holdout.shard_count(), len(self.keys.shards))
            self.skipped.add(round_id)
            return False
        key = self.keys.shards[shard.index]
        check_key(key, shard.key_hash)
        commits = self.consensus.round_info(round_id).commits
        if commits <= self._min_committee(round_id):
            log.info("round %d has %d commitments, too few for a committee: its shard stays sealed", round_id,
                     commits)
            self.skipped.add(round_id)
            return False
        try:
            self.holdout.reveal_key(self.signer, round_id, key).wait()
        except PoFLNotIndependent as exc:  # the independence rule: no shard is owed to a stake minority
            log.info("round %d's committers hold %d of %d staked wei, not more than half: its shard stays sealed",
                     round_id, exc.args_by_name["committedStake"], exc.args_by_name["totalStaked"])
            self.skipped.add(round_id)
            return False
        except ContractRevert as exc:
            log.info("round %d's key not revealed: %s", round_id, exc)
            return False
        self.revealed.add(round_id)
        log.info("revealed the key of shard %d for round %d", shard.index, round_id)
        return True

    def append(self, data: LabeledImages, n_shards: int, store: ModelStore, *, shard_size: int,
               seed: int = 0) -> Keys:
        """Seal ``n_shards`` more shards of ``data`` (images no earlier shard held), put them into ``store`` and
        append them to the task; the keys, with the new ones (write them back to the key file)."""
        first = self.holdout.shard_count()
        if first != len(self.keys.shards):
            raise PoflValueError(f"the key file holds {len(self.keys.shards)} shard keys but the task has {first} "
                                 f"shards: pass the key file that holds every shard's key")
        sealed, keys = seal_more_shards(data, n_shards, store, task=self.keys.task, first_index=first,
                                        shard_size=shard_size, seed=seed)
        self.holdout.append_shards(self.signer, sealed).wait()
        self.keys = Keys(self.keys.task, self.keys.shards + keys, self.keys.final)
        return self.keys

    def _min_committee(self, round_id: int) -> int:
        """The round's ``minCommittee`` (its configuration is fixed for the round: read once a round)."""
        if self._config_round[0] != round_id:
            self._config_round = (round_id, self.consensus.config().min_committee)
        return self._config_round[1]

    def end_task(self, *, wait_s: float = 120.0, poll_s: float = 0.5) -> None:
        """End the task: reveal the final shard's key (every block can then be measured on it). The task refuses
        while the current round takes commitments (the final shard must stay unseen by every committed
        model): this waits up to ``wait_s`` for that round's commits to close."""
        check_key(self.keys.final, self.holdout.final_shard().key_hash)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.holdout.end_task(self.signer, self.keys.final).wait()
                return
            except PoFLHoldoutCommitsOpen:
                if time.monotonic() > deadline:
                    raise
                time.sleep(poll_s)


@contextlib.contextmanager
def requester_thread(requester: Requester | None, poll_s: float = 0.2) -> Iterator[None]:
    """Run ``requester`` in a thread of this process while the block runs (miner processes run in their own)."""
    if requester is None:
        yield
        return
    stop = threading.Event()

    def reveal_keys() -> None:
        while not stop.wait(poll_s):
            try:
                requester.step()
            except Exception as exc:  # a failed look is retried: the miners must not stop for it
                log.warning("requester: %s: %s", exc.__class__.__name__, exc)

    thread = threading.Thread(target=reveal_keys, name="pofl-requester", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def default_keys_path(w3: Web3, task: str) -> Path:
    """``<HOLDOUT_KEYS_DIR>/<chain id>-<genesis>/<task address>.json``: every chain's tasks apart (each new devnet
    deploys its first task at the same address, as Anvil's and Hardhat's first accounts are the same)."""
    return Path(HOLDOUT_KEYS_DIR) / chain_key(w3) / f"{task}.json"


def planned_keys_path(owner: LocalSigner, path: Path | None) -> Path:
    """Where the keys of the hold-out task ``owner`` deploys next go: ``path``, or :func:`default_keys_path`.
    Checked before anything is sealed or sent: an existing file is never overwritten (ConfigError naming
    ``--holdout-keys``)."""
    path = path or default_keys_path(owner.w3, plan_holdout_task(owner).holdout)
    if path.exists():
        raise ConfigError(f"--holdout-keys {path} exists: it may hold another task's keys and is never overwritten; "
                          f"move it away or give another path")
    return path


def save_keys(keys: Keys, path: Path) -> Path:
    """Write a task's shard keys to ``path`` (mode 0600, never over an existing file); the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_keys(path, keys)
    return path
