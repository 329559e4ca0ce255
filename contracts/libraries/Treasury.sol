// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Treasury: the ether books every consensus contract keeps (PoFLConsensus, PoWConsensus, PoSConsensus)
/// @notice Where the ether a consensus contract holds belongs: to the stakes, to the reward pool, or to the accounts
/// it was credited to (rewards, refunds of evicted stake), which pull it. Penalties move stake to the pool, block
/// rewards move the pool to credit, leaving and withdrawing pay credit out.
/// @dev The invariant every function keeps: the contract's balance >= totalStaked + rewardPool + totalPending
/// (equal unless someone force-feeds the contract ether, which is then nobody's). Who holds which stake is each
/// contract's own record; these books hold the sum.
library Treasury {
    /// @dev The books: 3 slots and a mapping.
    struct Books {
        uint256 totalStaked; // wei staked by all members
        uint256 rewardPool; // wei available for block rewards (funding, penalties and slashes)
        uint256 totalPending; // wei credited to accounts and not yet withdrawn
        mapping(address account => uint256) pending; // wei credited to each account
    }

    /// @dev `amount` wei more are staked.
    function stake(Books storage b, uint256 amount) internal {
        b.totalStaked += amount;
    }

    /// @dev `amount` wei more fund the reward pool.
    function fund(Books storage b, uint256 amount) internal {
        b.rewardPool += amount;
    }

    /// @dev `amount` wei of stake go to the reward pool (a penalty).
    function forfeit(Books storage b, uint256 amount) internal {
        b.totalStaked -= amount;
        b.rewardPool += amount;
    }

    /// @dev `amount` wei are credited to `account`.
    function credit(Books storage b, address account, uint256 amount) internal {
        b.pending[account] += amount;
        b.totalPending += amount;
    }

    /// @dev `amount` wei of stake are credited back to `account` (an evicted member's stake left).
    function refund(Books storage b, address account, uint256 amount) internal {
        b.totalStaked -= amount;
        credit(b, account, amount);
    }

    /// @dev Credits `account` `reward` wei out of the reward pool, or what the pool holds if that is less.
    function payReward(Books storage b, address account, uint256 reward) internal returns (uint256 paid) {
        paid = Math.min(reward, b.rewardPool);
        if (paid == 0) return 0;
        b.rewardPool -= paid;
        credit(b, account, paid);
    }

    /// @dev Takes all of `account`'s credit off the books (the caller pays it out); returns it.
    function takeCredit(Books storage b, address account) internal returns (uint256 amount) {
        amount = b.pending[account];
        if (amount == 0) return 0;
        b.pending[account] = 0;
        b.totalPending -= amount;
    }

    /// @dev `account` leaves with its `amount` wei of stake: takes the stake and its credit off the books (the
    /// caller pays both out); returns the credit.
    function release(Books storage b, address account, uint256 amount) internal returns (uint256 creditTaken) {
        b.totalStaked -= amount;
        return takeCredit(b, account);
    }
}
