// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLScaledLens} from "./IPoFLScaledLens.sol";
import {ScaledStorage} from "./consensus/ScaledStorage.sol";
import {TreasuryViews} from "./consensus/TreasuryViews.sol";
import {IndexSampling} from "./libraries/IndexSampling.sol";
import {Treasury} from "./libraries/Treasury.sol";

/// @title PoFLScaledLens: the views of PoFLScaled, read-only
/// @notice Deployed by PoFLScaled's constructor, which serves these views at its own address: its `fallback` runs
/// this code on its storage (DELEGATECALL). Called at the lens's own address, the views read the lens's empty
/// storage: call them at the consensus.
/// @dev Views only, over the storage layout of ScaledStorage (inherited first here as in PoFLScaled, so every
/// variable has the same slot) and with the consensus's immutables (the constructor takes the same arguments).
contract PoFLScaledLens is IPoFLScaledLens, ScaledStorage, TreasuryViews {
    /// @param config_ the consensus's configuration (its immutables become this contract's)
    /// @param genesisDigest the consensus's genesis digest (checked as the consensus checks it)
    constructor(Config memory config_, bytes32 genesisDigest) ScaledStorage(config_, genesisDigest) {}

    /// @inheritdoc IPoFLScaledLens
    function config() external view returns (Config memory) {
        return
            Config({
                thresholdBps: _thresholdBps,
                toleranceBps: _toleranceBps,
                quorumBps: _quorumBps,
                seats: _seats,
                topK: _topK,
                minStake: _minStake,
                bond: _bond,
                misreportPenaltyBps: _misreportPenaltyBps,
                blockReward: _blockReward,
                aggregatorDuration: _aggregatorDuration,
                fallbackDuration: _fallbackDuration,
                forcedDuration: _forcedDuration,
                revealDuration: _revealDuration,
                voteDuration: _voteDuration,
                seedLookahead: _seedLookahead,
                appealSeats: _appealSeats,
                appealDuration: _appealDuration
            });
    }

    /// @inheritdoc IPoFLScaledLens
    function roundInfo() external view returns (RoundInfo memory info) {
        Round memory s = _round;
        (Phase phase, uint40 deadline) = (s.phase, s.deadline);
        // the clock's rules, as `PoFLScaled._advance` applies them (without their side effects)
        while (deadline != 0 && block.timestamp >= deadline && phase != Phase.Finalize) {
            if (phase == Phase.Claims) (phase, deadline) = (Phase.Forced, deadline + _forcedDuration);
            else if (phase == Phase.Forced) {
                (phase, deadline) = s.rootCount + s.directCount == 0
                    ? (Phase.Finalize, 0)
                    : (Phase.Reveal, deadline + _revealDuration);
            } else if (phase == Phase.Reveal) (phase, deadline) = (s.reveals == 0 ? Phase.Finalize : Phase.Vote, 0);
            else (phase, deadline) = (Phase.Finalize, 0); // the vote or the appeal window is over
        }
        info = RoundInfo({
            round: s.round,
            phase: phase,
            deadline: deadline,
            openedAt: s.openedAt,
            aggregator: s.aggregator,
            poster: s.posted ? s.poster : address(0),
            root: s.rootCount == 0 ? bytes32(0) : _root,
            count: s.posted ? s.count : 0,
            listBlob: s.rootCount == 0 ? bytes32(0) : _listBlob,
            rootCount: s.rootCount,
            directCount: s.directCount,
            candidates: s.candidates,
            reveals: s.reveals,
            population: s.population,
            seats: s.seats,
            seedBlock: phase >= Phase.Vote ? s.seedBlock : 0,
            seed: s.seeded ? bytes32(uint256(s.seed)) : bytes32(0)
        });
    }

    /// @inheritdoc IPoFLScaledLens
    function candidate(uint256 index) external view returns (Candidate memory c) {
        Round storage s = _round;
        if (index >= s.candidates) revert ScaledNotACandidate(index, msg.sender);
        uint256 slot = _slotOf(s.order, index);
        Entry storage e = _entryAt(slot);
        return Candidate(e.miner, e.accuracyBps, slot < DIRECT, e.revealed, e.signed, e.cidKind, e.seal);
    }

    /// @inheritdoc IPoFLScaledLens
    function seatIndex(uint256 seat) external view returns (uint256) {
        Round storage s = _round;
        if (!s.seeded) revert ScaledSeedPending(s.seedBlock);
        if (seat >= s.seats) revert ScaledNotInCommittee(seat, msg.sender);
        return IndexSampling.permute(bytes32(uint256(s.seed)), seat, s.population);
    }

    /// @inheritdoc IPoFLScaledLens
    function appealInfo() external view returns (AppealInfo memory info) {
        Appeal memory a = _appeal;
        Round storage s = _round;
        if (a.round != s.round) return info;
        return
            AppealInfo({
                round: a.round,
                candidate: a.candidate,
                miner: _entry(s.order, a.candidate).miner,
                jurors: a.jurors,
                seedBlock: a.seedBlock,
                seed: a.seeded ? bytes32(uint256(a.seed)) : bytes32(0)
            });
    }

    /// @inheritdoc IPoFLScaledLens
    function jurorIndex(uint256 juror) external view returns (uint256) {
        Appeal storage a = _appeal;
        Round storage s = _round;
        if (a.round != s.round || !a.seeded) revert ScaledSeedPending(a.seedBlock);
        if (juror >= a.jurors) revert ScaledNotAJuror(juror, msg.sender);
        return IndexSampling.permute(bytes32(uint256(a.seed)), juror, s.population);
    }

    /// @inheritdoc IPoFLScaledLens
    function minerAt(uint256 index) external view returns (address) {
        return _minerAt[index];
    }

    /// @inheritdoc IPoFLScaledLens
    function minerCount() external view returns (uint256) {
        return _minerAt.length;
    }

    /// @inheritdoc IPoFLScaledLens
    function minerOf(address account) external view returns (uint96 stake, uint32 index, bool registered) {
        Miner storage m = _miners[account];
        return (m.stake, m.index, m.registered);
    }

    /// @inheritdoc IPoFLScaledLens
    function blockAt(uint256 height) external view returns (Block memory) {
        if (height >= _blocks.length) revert ScaledBlockNotFound(height);
        return _blocks[height];
    }

    /// @inheritdoc IPoFLScaledLens
    function blockCount() external view returns (uint256) {
        return _blocks.length;
    }

    /// @inheritdoc IPoFLScaledLens
    function computeCommitment(
        uint64 round,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        bytes32 salt,
        address miner
    ) external pure returns (bytes32) {
        return _commitment(round, digest, cidKind, salt, miner);
    }

    /// @inheritdoc IPoFLScaledLens
    function leafHash(uint64 round, Leaf calldata leaf) external pure returns (bytes32) {
        return _leafHash(round, leaf);
    }

    /// @dev The books TreasuryViews reads (ITreasury: totalStaked, rewardPool, totalPendingRewards, pendingRewards).
    function _treasury() internal view override returns (Treasury.Books storage) {
        return _books;
    }
}
