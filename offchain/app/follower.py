"""The chain side of watching a run: :class:`ChainFollower` reads one consensus contract's events, only the
logs mined after its block cursor, and hands them to :class:`~offchain.app.watch.WatchState` to fold.

Each :meth:`~ChainFollower.fetch` asks the node for the contract's logs of the blocks after its cursor (one
``eth_getLogs`` over at most ``chunk`` blocks), the gas of their transactions and the phase at the node's time;
the cursor moves past what it returns, and only then, so nothing is read twice and a read that fails loses
nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from offchain.app.watch import FINAL, PHASE, Event, WatchState
from offchain.errors import PoflRuntimeError

if TYPE_CHECKING:
    from offchain.chain.consensus import PoFLContract
    from offchain.store.base import ModelStore

DEFAULT_CHUNK = 2_000
"""Blocks one ``eth_getLogs`` covers at most (public nodes refuse wide ranges)."""


class ChainBehind(PoflRuntimeError):
    """The chain's latest block is below the follower's cursor: the node was reset or restarted without its state."""


class ChainFollower:
    """Reads one consensus contract's events from its deployment on (see the module docstring).

    Parameters:
        contract: the consensus (attached: its code checked).
        from_block: the first block to read (default: :func:`deployment_block`).
        chunk: the most blocks one ``eth_getLogs`` covers.
        final_report: hold-out mode: what measures every block on the final shard once the task has ended
            (:func:`final_report_of`); None: no final report.
    """

    def __init__(self, contract: PoFLContract, *, from_block: int | None = None, chunk: int = DEFAULT_CHUNK,
                 final_report: Callable[[], dict[str, Any]] | None = None) -> None:
        from offchain.chain.holdout import HoldoutContract

        self.contract = contract
        self.w3 = contract.w3
        self.chunk = chunk
        self._events = {event.topic: event for event in contract.contract.events}
        self.start = deployment_block(contract) if from_block is None else from_block
        self.cursor = self.start - 1  # the last block read
        self.latest: int | None = None  # the node's latest block when last asked
        self.holdout = HoldoutContract.of(contract)
        self._final_report = final_report if self.holdout is not None else None
        self._final_done = False

    def initial_state(self) -> WatchState:
        """The state before any event: the contract, its chain, and the threshold it started with."""
        try:
            threshold = self.contract.config(at=self.start).threshold_bps
        except Exception:  # a node without the deployment block's state: the threshold in force now
            threshold = self.contract.config().threshold_bps
        return WatchState(self.contract.address, self.w3.eth.chain_id, self.holdout and self.holdout.address,
                          thresholds={1: threshold})

    @property
    def behind(self) -> bool:
        """Whether blocks the node has were not read yet (the next fetch has more to read at once)."""
        return self.latest is None or self.cursor < self.latest

    def fetch(self) -> list[Event]:
        """The events of the blocks after the cursor (at most ``chunk`` blocks of them), then, once caught up,
        the phase at the node's time (and, in hold-out mode, the final report once the task has ended). The
        cursor moves only when it returns: an exception (the RPC down) loses nothing."""
        head = self.w3.eth.get_block("latest")
        latest = int(head["number"])
        if latest < self.cursor:
            raise ChainBehind(f"the chain's latest block is {latest}, but block {self.cursor} was read already: "
                              f"the node was reset (a devnet restarted without its state?)")
        last = min(latest, self.cursor + self.chunk)
        events = self._logs(self.cursor + 1, last) if last > self.cursor else []
        if last == latest:
            state = self.contract.current_phase("pending")
            events.append(Event(PHASE, {"round": state.round, "phase": state.phase, "deadline": state.deadline,
                                        "offset": self._clock_offset(int(head["timestamp"]))}, latest))
            events += self._final()
        self.cursor, self.latest = last, latest
        return events

    def _logs(self, first: int, last: int) -> list[Event]:
        logs = self.w3.eth.get_logs({"address": self.contract.address, "fromBlock": first, "toBlock": last})
        gas: dict[str, int] = {}
        events = []
        for log in sorted(logs, key=lambda x: (x["blockNumber"], x["logIndex"])):
            decoder = self._events.get("0x" + bytes(log["topics"][0]).hex()) if log["topics"] else None
            if decoder is None:
                continue
            decoded = decoder.process_log(log)
            tx = "0x" + bytes(log["transactionHash"]).hex()
            first_log = tx not in gas
            if first_log:
                gas[tx] = int(self.w3.eth.get_transaction_receipt(tx)["gasUsed"])  # type: ignore[arg-type]
            events.append(Event(decoded["event"], dict(decoded["args"]), int(log["blockNumber"]),
                                int(log["logIndex"]), tx, gas[tx] if first_log else 0))
        return events

    def _clock_offset(self, latest_timestamp: int) -> int:
        """Whole seconds the node's clock is ahead of this machine's (0 when behind), for the page's countdown: from
        the pending block's timestamp, which a devnet stamps with its own now (moved on by ``evm_increaseTime``
        included). The latest block's is older by the time since it was mined: a countdown from it would stand
        still between blocks on a devnet whose clock was moved on."""
        try:
            pending = int(self.w3.eth.get_block("pending")["timestamp"])
        except Exception:  # a node without a pending block: the latest block's time
            pending = latest_timestamp
        return max(0, math.ceil(max(pending, latest_timestamp) - time.time()))  # a timestamp is the second begun

    def _final(self) -> list[Event]:
        if self._final_report is None or self._final_done or not self.holdout.ended():  # type: ignore[union-attr]
            return []
        report = self._final_report()
        self._final_done = True
        return [Event(FINAL, report)]


def deployment_block(contract: PoFLContract) -> int:
    """The block the contract was deployed in: from this chain's deployment record when it names the contract,
    else the first block whose state holds its code (a binary search of ``eth_getCode``), else 0 (a node
    that keeps no old state: the follower then reads the chain from its start)."""
    from offchain.chain.deploy import DeploymentError, chain_key, read_record

    w3 = contract.w3
    try:
        return read_record(chain_key(w3), "PoFLConsensus", address=contract.address).block_number
    except (DeploymentError, OSError, ValueError):
        pass
    try:
        low, high = 0, int(w3.eth.block_number)
        while low < high:
            mid = (low + high) // 2
            if w3.eth.get_code(contract.address, mid):  # type: ignore[arg-type]
                high = mid
            else:
                low = mid + 1
        return low
    except Exception:  # no archive state on this node
        return 0


def final_report_of(contract: PoFLContract, store: ModelStore) -> Callable[[], dict[str, Any]]:
    """Hold-out mode: what measures every block of ``contract`` on its task's final shard from ``store``, for
    the follower to call once the task has ended (``{"rows": [...]}``, or ``{"error": why}``)."""

    def report() -> dict[str, Any]:
        from offchain.app.holdout_report import FinalShardError, final_accuracies
        from offchain.chain.holdout import HoldoutContract
        from offchain.store.base import StoreUnavailable

        holdout = HoldoutContract.of(contract)
        assert holdout is not None
        try:
            rows = final_accuracies(contract, holdout, store) or []
        except (FinalShardError, StoreUnavailable) as exc:
            return {"error": f"no final-shard accuracies: {exc}"}
        return {"rows": [asdict(r) for r in rows]}

    return report
