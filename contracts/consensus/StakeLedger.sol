// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IStakeLedger} from "../IStakeLedger.sol";
import {Treasury} from "../libraries/Treasury.sol";
import {TreasuryViews} from "./TreasuryViews.sol";

/// @title StakeLedger: members' stakes, the reward pool and credits, for PoWConsensus and PoSConsensus
/// @notice The books of PoFLStaking (Treasury: penalties feed the reward pool, rewards are credited and pulled),
/// for consensus contracts without rounds.
/// @dev A consensus hooks in with `_joined` / `_leaving` (e.g. PoS's stake-weighted draw) and pays with
/// `_reward` and `_penalize`.
abstract contract StakeLedger is IStakeLedger, TreasuryViews, ReentrancyGuard {
    using EnumerableSet for EnumerableSet.AddressSet;
    using Treasury for Treasury.Books;

    uint256 internal immutable _minStake;
    uint256 internal immutable _maxMembers;
    uint256 internal _blockReward;

    EnumerableSet.AddressSet internal _members;
    mapping(address account => uint256) internal _stakes;
    Treasury.Books internal _books;

    /// @dev `minStake_` wei to register, at most `maxMembers_` members, `blockReward_` wei a block.
    constructor(uint256 minStake_, uint256 maxMembers_, uint256 blockReward_) {
        _minStake = minStake_;
        _maxMembers = maxMembers_;
        _blockReward = blockReward_;
    }

    /// @inheritdoc IStakeLedger
    function register() external payable {
        if (_members.contains(msg.sender)) revert StakeAlreadyRegistered(msg.sender);
        if (msg.value < _minStake || msg.value == 0) revert StakeTooLow(msg.value, Math.max(_minStake, 1));
        if (_members.length() >= _maxMembers) revert StakeTooManyMembers(_maxMembers);
        _members.add(msg.sender);
        _stakes[msg.sender] = msg.value;
        _books.stake(msg.value);
        _joined(msg.sender);
        emit MemberRegistered(msg.sender, msg.value);
    }

    /// @inheritdoc IStakeLedger
    function addStake() external payable {
        if (!_members.contains(msg.sender)) revert StakeNotAMember(msg.sender);
        if (msg.value == 0) revert StakeZeroValue();
        uint256 stake = _stakes[msg.sender] + msg.value;
        _stakes[msg.sender] = stake;
        _books.stake(msg.value);
        emit StakeAdded(msg.sender, msg.value, stake);
    }

    /// @inheritdoc IStakeLedger
    function leave() external nonReentrant {
        if (!_members.contains(msg.sender)) revert StakeNotAMember(msg.sender);
        _leaving(msg.sender);
        uint256 stake = _stakes[msg.sender];
        uint256 credit = _books.release(msg.sender, stake);
        delete _stakes[msg.sender];
        _members.remove(msg.sender);
        emit MemberLeft(msg.sender, stake, credit);
        Address.sendValue(payable(msg.sender), stake + credit);
    }

    /// @inheritdoc IStakeLedger
    function fundRewards() external payable {
        if (msg.value == 0) revert StakeZeroValue();
        _fund(msg.sender, msg.value);
    }

    /// @inheritdoc IStakeLedger
    function withdrawRewards() external nonReentrant {
        uint256 amount = _books.takeCredit(msg.sender);
        if (amount == 0) revert StakeNothingToWithdraw(msg.sender);
        emit RewardsWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStakeLedger
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IStakeLedger
    function blockReward() external view returns (uint256) {
        return _blockReward;
    }

    /// @inheritdoc IStakeLedger
    function isMember(address account) public view returns (bool) {
        return _members.contains(account);
    }

    /// @inheritdoc IStakeLedger
    function stakeOf(address account) external view returns (uint256) {
        return _stakes[account];
    }

    /// @inheritdoc IStakeLedger
    function members() external view returns (address[] memory) {
        return _members.values();
    }

    // ----------------------------------------------------------------- hooks

    /// @dev `account` has just registered.
    function _joined(address account) internal virtual {}

    /// @dev `account` is about to leave (its stake not yet paid back); may revert to refuse.
    function _leaving(address account) internal virtual {}

    // ------------------------------------------------------------- accounting

    /// @dev Reverts unless `account` is a member.
    function _onlyMember(address account) internal view {
        if (!_members.contains(account)) revert StakeNotAMember(account);
    }

    /// @dev The ledger's books (TreasuryViews).
    function _treasury() internal view override returns (Treasury.Books storage) {
        return _books;
    }

    /// @dev Adds `amount` wei (sent by `from`) to the reward pool.
    function _fund(address from, uint256 amount) internal {
        _books.fund(amount);
        emit RewardsFunded(from, amount);
    }

    /// @dev Credits `account` the block reward, or what is left of the reward pool if that is less.
    function _reward(address account) internal returns (uint256 paid) {
        return _books.payReward(account, _blockReward);
    }

    /// @dev Moves up to `amount` of `account`'s stake to the reward pool; returns what was taken.
    function _penalize(address account, uint256 amount, Penalty reason) internal returns (uint256 taken) {
        taken = Math.min(amount, _stakes[account]);
        if (taken == 0) return 0;
        _stakes[account] -= taken;
        _books.forfeit(taken);
        emit Penalized(account, reason, taken);
    }

    /// @dev Evicts `account` if its stake is under minStake: the rest of its stake is credited to it.
    function _evictIfUnder(address account) internal returns (bool evicted) {
        uint256 stake = _stakes[account];
        if (stake >= _minStake && stake > 0) return false;
        _leaving(account);
        delete _stakes[account];
        _books.refund(account, stake);
        _members.remove(account);
        emit MemberEvicted(account, stake);
        return true;
    }
}
