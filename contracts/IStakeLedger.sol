// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ITreasury} from "./ITreasury.sol";

/// @title IStakeLedger: the ETH stakes and reward accounting of the PoW and PoS consensus contracts
/// @notice Members register with a stake (at least `minStake()`), may add to it and leave with it; block rewards
/// come out of a reward pool that anyone may fund and that penalties feed; rewards are credited and withdrawn
/// (pull payments).
/// @dev The books and their invariant: ITreasury, as in PoFLConsensus.
interface IStakeLedger is ITreasury {
    /// @notice Why a member's stake was cut.
    /// @dev `Unavailable`: a PoS proposer's model could not be fetched or loaded by its attesters.
    /// `Missed`: a PoS proposer did not propose before its deadline.
    enum Penalty {
        Unavailable,
        Missed
    }

    // ----------------------------------------------------------------- events

    /// @notice `member` registered with `stake` wei.
    event MemberRegistered(address indexed member, uint256 stake);
    /// @notice `member` added `amount` wei; its stake is now `stake`.
    event StakeAdded(address indexed member, uint256 amount, uint256 stake);
    /// @notice `member` left with its `stake` and `credit` wei.
    event MemberLeft(address indexed member, uint256 stake, uint256 credit);
    /// @notice `from` added `amount` wei to the reward pool.
    event RewardsFunded(address indexed from, uint256 amount);
    /// @notice `member` withdrew `amount` wei of credit.
    event RewardsWithdrawn(address indexed member, uint256 amount);
    /// @notice `amount` wei of `member`'s stake went to the reward pool, for `reason`.
    event Penalized(address indexed member, Penalty reason, uint256 amount);
    /// @notice `member` was evicted: its stake fell under minStake(); the `refund` wei left were credited to it.
    event MemberEvicted(address indexed member, uint256 refund);

    // ----------------------------------------------------------------- errors

    /// @notice The caller is not a registered member. Register first: register() with at least minStake() wei.
    error StakeNotAMember(address account);
    /// @notice The account is registered already; use addStake() to add to its stake.
    error StakeAlreadyRegistered(address account);
    /// @notice The stake sent is under the minimum: send at least minStake() wei.
    error StakeTooLow(uint256 sent, uint256 minimum);
    /// @notice The call needs a non-zero value (wei) attached.
    error StakeZeroValue();
    /// @notice There is no credit to withdraw for this account.
    error StakeNothingToWithdraw(address account);
    /// @notice The member set is full (`maximum` members); no one else can register until a member leaves.
    error StakeTooManyMembers(uint256 maximum);

    // ---------------------------------------------------------------- actions

    /// @notice Register the caller as a member, staking the value sent (at least minStake()).
    function register() external payable;

    /// @notice Add the value sent to the caller's stake.
    function addStake() external payable;

    /// @notice Leave: the caller's stake and credit are paid back and it stops being a member.
    function leave() external;

    /// @notice Add the value sent to the reward pool that pays block rewards.
    function fundRewards() external payable;

    /// @notice Pay the caller the credit it has earned (block rewards).
    function withdrawRewards() external;

    // ------------------------------------------------------------------ views

    /// @notice The least stake a member registers with (wei).
    function minStake() external view returns (uint256);

    /// @notice Wei credited to each block's miner or proposer out of the reward pool (less when the pool has less).
    function blockReward() external view returns (uint256);

    /// @notice Whether `account` is a member.
    function isMember(address account) external view returns (bool);

    /// @notice The stake of `account` (wei; 0 for a non-member).
    function stakeOf(address account) external view returns (uint256);

    /// @notice Every member, in registration order (a member that left is replaced by the last one).
    function members() external view returns (address[] memory);
}
