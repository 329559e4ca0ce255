"""The silent-seat rule the multi-host tests hold a partitioned or IPFS-restarted miner to
(tests/support/multihost.py's `silent_seat_excess`, read off contracts/consensus): each way of breaking it is
reported, and what the contract takes from a silent seat is not."""

from __future__ import annotations

import pytest

from offchain.chain.types import PenaltyReason
from tests.support.multihost import silent_seat_bound, silent_seat_excess

BOND = 10**17
CAP = 12 * 10**16  # 10% of a 1.2 ETH stake


def penalty(round_id: int, reason: PenaltyReason, amount: int = BOND) -> dict:
    return {"round": round_id, "reason": int(reason), "amount": amount}


def test_a_missed_vote_and_a_missed_reveal_or_an_unserved_claim_a_committed_round_are_a_silent_seats_loss() -> None:
    penalties = [penalty(3, PenaltyReason.MISSED_VOTE), penalty(3, PenaltyReason.MISSED_REVEAL),
                 penalty(5, PenaltyReason.MISSED_VOTE), penalty(5, PenaltyReason.UNSERVED_CLAIM, CAP)]
    assert silent_seat_excess(penalties, {3, 5}, BOND, CAP) == []
    assert sum(p["amount"] for p in penalties) <= silent_seat_bound(2, BOND, CAP) == 2 * (BOND + CAP)


@pytest.mark.parametrize(("penalties", "committed", "says"), [
    ([penalty(4, PenaltyReason.MISSED_VOTE)], {3}, "without a commitment"),
    ([penalty(3, PenaltyReason.MISREPORT, CAP)], {3}, "MISREPORT is not a silent seat's penalty"),
    ([penalty(3, PenaltyReason.FALSE_CLAIM, 10**18)], {3}, "FALSE_CLAIM is not a silent seat's penalty"),
    ([penalty(3, PenaltyReason.MISSED_REVEAL, BOND + 1)], {3}, "over"),
    ([penalty(3, PenaltyReason.UNSERVED_CLAIM, CAP + 1)], {3}, "over"),
    ([penalty(3, PenaltyReason.MISSED_VOTE), penalty(3, PenaltyReason.MISSED_VOTE)], {3}, "2 missed votes"),
    ([penalty(3, PenaltyReason.MISSED_REVEAL), penalty(3, PenaltyReason.UNSERVED_CLAIM, CAP)], {3},
     "penalized twice"),
])
def test_what_the_contract_does_not_take_from_a_silent_seat_is_reported(penalties: list[dict], committed: set[int],
                                                                       says: str) -> None:
    excess = silent_seat_excess(penalties, committed, BOND, CAP)
    assert excess and says in excess[0], excess
