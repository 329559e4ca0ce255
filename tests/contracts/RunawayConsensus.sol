// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Test helper: a consensus that hands a hold-out task shard indices past its last shard (PoFLConsensus
/// never does: it refuses commits while no shard is left), so that the task's own check can be seen to hold.
contract RunawayConsensus {
    uint256 public next;

    constructor(uint256 next_) {
        next = next_;
    }

    function onKeyRevealed(uint64) external returns (uint256 index) {
        return next++;
    }
}
