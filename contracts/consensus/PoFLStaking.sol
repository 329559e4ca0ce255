// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IPoFLConsensus} from "../IPoFLConsensus.sol";
import {Treasury} from "../libraries/Treasury.sol";
import {PoFLPhases} from "./PoFLPhases.sol";

/// @title PoFLStaking: miners' stakes, activity and credit, and the reward pool
/// @notice Registering, adding stake, leaving, funding rewards and withdrawing credit; and the bookkeeping the
/// rounds use: activity counters, penalties (stake to the reward pool), credits and evictions.
/// @dev Accounting (the Treasury books, as the StakeLedger of PoW and PoS keeps them): penalties go to the reward
/// pool; miners under `minStake` are evicted when their round closes (the rest of their stake is credited to them).
/// Activity: a miner is active while it committed (or joined) in this round or the previous one; only active
/// miners count for early phase ends (after the commit grace, `PoFLPhases._commitsEnd`) and for the MAX_MINERS cap. `_setLastRound` is the only writer of the
/// activity counters (opening a round shifts them by one round).
abstract contract PoFLStaking is IPoFLConsensus, PoFLPhases, ReentrancyGuard {
    using EnumerableSet for EnumerableSet.AddressSet;
    using Treasury for Treasury.Books;

    /// @inheritdoc IPoFLConsensus
    function register() external payable {
        Miner storage m = _miners[msg.sender];
        if (m.registered) revert PoFLAlreadyRegistered(msg.sender);
        if (msg.value < _minStake) revert PoFLStakeTooLow(msg.value, _minStake);
        m.registered = true;
        m.stake = SafeCast.toUint96(msg.value);
        _setLastRound(m, _round.round);
        _registry.add(msg.sender);
        _books.stake(msg.value);
        emit MinerRegistered(msg.sender, msg.value);
    }

    /// @inheritdoc IPoFLConsensus
    function addStake() external payable {
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert PoFLNotAMiner(msg.sender);
        if (msg.value == 0) revert PoFLZeroValue();
        uint96 stake = m.stake + SafeCast.toUint96(msg.value);
        m.stake = stake;
        _books.stake(msg.value);
        emit StakeAdded(msg.sender, msg.value, stake);
    }

    /// @inheritdoc IPoFLConsensus
    function leave() external nonReentrant {
        Miner storage m = _miners[msg.sender];
        if (!m.registered) revert PoFLNotAMiner(msg.sender);
        _advance();
        LiveRound storage s = _round;
        if (s.phase != Phase.Commit) revert PoFLWrongPhase(Phase.Commit, s.phase);
        if (m.lastRound == s.round && m.seal != Sealed.None) revert PoFLAlreadyCommitted(s.round, msg.sender);
        uint256 stake = m.stake;
        uint256 credit = _books.release(msg.sender, stake);
        _removeMiner(msg.sender);
        emit MinerLeft(msg.sender, stake, credit);
        // one active miner fewer: the others may all have committed already (and the grace passed)
        if (block.timestamp >= _commitsEnd(s.deadline)) _endPhase();
        Address.sendValue(payable(msg.sender), stake + credit);
    }

    /// @inheritdoc IPoFLConsensus
    function fundRewards() external payable {
        if (msg.value == 0) revert PoFLZeroValue();
        _books.fund(msg.value);
        emit RewardsFunded(msg.sender, msg.value);
    }

    /// @inheritdoc IPoFLConsensus
    function withdrawRewards() external nonReentrant {
        uint256 amount = _books.takeCredit(msg.sender);
        if (amount == 0) revert PoFLNothingToWithdraw(msg.sender);
        emit RewardsWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ------------------------------------------------------------ the phases

    /// @dev Records what the phase rules say has happened by now (PoFLConsensus).
    function _advance() internal virtual;

    /// @dev Ends the recorded phase now and enters the one that follows it (PoFLConsensus).
    function _endPhase() internal virtual;

    // ----------------------------------------------------------- bookkeeping

    /// @dev The only writer of the activity counters: moves `m` from its last round to `lastRound` (0: the miner
    /// leaves the set) and records it. Reverts when that would make one miner too many active.
    function _setLastRound(Miner storage m, uint64 lastRound) internal {
        LiveRound storage s = _round;
        uint64 current = s.round;
        uint64 previous = m.lastRound;
        bool wasActive = previous != 0 && previous + 1 >= current;
        if (previous == current) s.activeNow -= 1;
        else if (wasActive) s.activePrev -= 1;
        if (lastRound == current) {
            if (!wasActive && uint256(s.activeNow) + s.activePrev >= MAX_MINERS) revert PoFLTooManyMiners(MAX_MINERS);
            s.activeNow += 1;
        }
        m.lastRound = uint48(lastRound);
    }

    /// @dev Takes `account` out of the miner set (its stake and credit are settled by the caller).
    function _removeMiner(address account) internal {
        _setLastRound(_miners[account], 0);
        _registry.remove(account);
        delete _miners[account];
    }

    /// @dev Moves up to `amount` of `m`'s stake to the reward pool.
    function _penalize(address account, Miner storage m, uint256 amount, PenaltyReason reason) internal {
        uint96 taken = uint96(Math.min(amount, m.stake));
        if (taken == 0) return;
        m.stake -= taken;
        _books.forfeit(taken);
        _extra.penalized += 1;
        emit Penalized(_round.round, account, reason, taken);
    }

    /// @dev Credits `amount` wei to `account` (withdrawRewards pays it).
    function _credit(address account, uint256 amount) internal {
        _books.credit(account, amount);
    }

    /// @dev Evicts `account` (record `m`), whose stake fell under minStake in `round`: the rest of its stake is
    /// credited to it.
    function _evict(address account, Miner storage m, uint64 round) internal {
        uint256 refund = m.stake;
        _books.refund(account, refund);
        _removeMiner(account);
        emit MinerEvicted(account, round, refund);
    }
}
