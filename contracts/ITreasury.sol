// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ITreasury: where a consensus contract's ether belongs (PoFL, PoW and PoS alike)
/// @notice Stakes, the reward pool that pays block rewards (funded by anyone and by penalties), and credit that
/// accounts pull with withdrawRewards().
/// @dev The contract holds at least totalStaked() + rewardPool() + totalPendingRewards() (equal unless someone
/// force-feeds it with SELFDESTRUCT: that surplus is nobody's).
interface ITreasury {
    /// @notice Wei staked by all members.
    function totalStaked() external view returns (uint256);

    /// @notice Wei available for block rewards (funding, penalties and slashes).
    function rewardPool() external view returns (uint256);

    /// @notice Wei credited to accounts (rewards, refunds of evicted stake) and not yet withdrawn.
    function totalPendingRewards() external view returns (uint256);

    /// @notice Wei credited to `account` and not yet withdrawn (withdrawRewards).
    function pendingRewards(address account) external view returns (uint256);
}
