// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IPoFLConsensus} from "../IPoFLConsensus.sol";
import {Treasury} from "../libraries/Treasury.sol";
import {ScaledStorage} from "./ScaledStorage.sol";

/// @title ScaledBooks: PoFLScaled's writes to the miners and the Treasury books
/// @notice Penalties (stake to the reward pool), evictions (the rest of the stake credited back; the last miner
/// takes the evicted one's index) and blocks (appended, the reward credited).
abstract contract ScaledBooks is ScaledStorage {
    using Treasury for Treasury.Books;

    /// @dev Moves up to `amount` of `m`'s stake to the reward pool; returns what it took.
    function _penalize(
        address account,
        Miner storage m,
        uint256 amount,
        PenaltyReason reason
    ) internal returns (uint256 taken) {
        taken = Math.min(amount, m.stake);
        if (taken == 0) return 0;
        m.stake -= uint96(taken);
        _books.forfeit(taken);
        emit Penalized(_round.round, account, reason, taken);
    }
    /// @dev The miner at `index`, a seat or a juror, pays for a report: the bond if it `missed` (the penalty
    /// `absent`), else `misreportPenaltyBps` of its stake (a misreport). Returns its address.
    function _penalizeReporter(uint256 index, bool missed, PenaltyReason absent) internal returns (address account) {
        account = _minerOfIndex(index);
        Miner storage m = _miners[account];
        if (missed) _penalize(account, m, _bond, absent);
        else _penalize(account, m, Math.mulDiv(m.stake, _misreportPenaltyBps, BPS), PenaltyReason.Misreport);
    }
    /// @dev Evicts `account` (under minStake): the rest of its stake is credited to it.
    function _evict(address account, Miner storage m, uint64 round) internal {
        uint256 refund = m.stake;
        _books.refund(account, refund);
        _remove(account);
        emit MinerEvicted(account, round, refund);
    }
    /// @dev Removes `account` from the miners: the last miner takes its index.
    function _remove(address account) internal {
        uint32 index = _miners[account].index;
        address last = _minerAt[_minerAt.length - 1];
        _minerAt[index] = last;
        _miners[last].index = index;
        _minerAt.pop();
        delete _miners[account];
    }
    /// @dev Appends `e`'s revealed model as the next block at `accuracyBps` and credits its miner the reward.
    function _appendBlock(uint64 round, Entry storage e, uint16 accuracyBps) internal {
        (address miner, bytes32 digest, IPoFLConsensus.CidKind cidKind) = (e.miner, e.seal, e.cidKind);
        bytes32 parentHash = _blocks[_blocks.length - 1].blockHash;
        bytes32 blockHash = keccak256(abi.encode(parentHash, round, miner, digest, cidKind, accuracyBps));
        uint64 height = uint64(_blocks.length);
        _blocks.push(Block(round, miner, accuracyBps, cidKind, digest, blockHash));
        uint256 reward = _books.payReward(miner, _blockReward);
        emit BlockFinalized(height, round, miner, digest, cidKind, accuracyBps, parentHash, blockHash, reward);
    }
}
