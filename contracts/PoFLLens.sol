// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLLens} from "./IPoFLLens.sol";
import {PoFLPhases} from "./consensus/PoFLPhases.sol";
import {PoFLStorage} from "./consensus/PoFLStorage.sol";
import {PoFLMath} from "./libraries/PoFLMath.sol";
import {Treasury} from "./libraries/Treasury.sol";
import {TreasuryViews} from "./consensus/TreasuryViews.sol";

/// @title PoFLLens: the views of PoFLConsensus, read-only
/// @notice Deployed by PoFLConsensus's constructor, which serves these views at its own address: its `fallback`
/// runs this code on its storage (DELEGATECALL). Called at the lens's own address, the views read the lens's
/// empty storage: call them at the consensus.
/// @dev Views only, over the storage layout of PoFLStorage (inherited first here as in PoFLConsensus, so every
/// variable has the same slot) and with the consensus's immutables (the constructor takes the same arguments).
/// The effective phase comes from the same rules the consensus records (PoFLPhases).
contract PoFLLens is IPoFLLens, PoFLPhases, TreasuryViews {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @param config_ the consensus's configuration (its fixed part becomes this contract's immutables)
    /// @param holdout_ the consensus's hold-out task, or zero
    constructor(IPoFLConsensus.Config memory config_, address holdout_) PoFLStorage(config_, holdout_) {}

    // ---------------------------------------------------------------- rounds

    /// @inheritdoc IPoFLLens
    function currentRound() external view returns (uint64) {
        return _round.round;
    }

    /// @inheritdoc IPoFLLens
    function currentPhase() external view returns (uint64 round, IPoFLConsensus.Phase phase, uint64 deadline) {
        (phase, deadline) = _effectivePhase();
        round = _round.round;
    }

    /// @inheritdoc IPoFLLens
    function roundInfo(uint64 round) external view returns (IPoFLConsensus.RoundInfo memory info) {
        LiveRound storage s = _round;
        if (round != s.round) revert IPoFLConsensus.PoFLWrongRound(s.round, round);
        LiveRoundExtra storage x = _extra;
        (info.phase, info.deadline) = _effectivePhase();
        info.round = round;
        info.commits = s.commits;
        info.reveals = s.reveals;
        info.votes = s.votes;
        info.seats = s.seats;
        info.quorum = s.seats == 0 ? 0 : x.quorum;
        info.attempt = s.attempt;
        info.candidate = s.candidate.isNone() ? address(0) : _committerAt[s.candidate.get()];
        info.candidateBps = s.candidateBps;
        info.seedBlock = s.attempt == 0 ? 0 : x.seedBlock;
        info.seed = s.seats == 0 ? bytes32(0) : _seed;
        info.best = x.best.isNone() ? address(0) : _committerAt[x.best.get()];
        info.bestBps = x.bestBps;
        info.headBps = s.headBps;
        info.activeMiners = s.activeNow + s.activePrev;
    }

    /// @inheritdoc IPoFLLens
    function claimOf(uint64 round, address miner) external view returns (IPoFLConsensus.Claim memory claim) {
        Miner storage m = _miners[miner];
        if (!m.registered || m.lastRound != round || m.seal == Sealed.None) return claim;
        bytes32 seal = _seals[miner];
        claim.position = m.position;
        DigestClaim storage d = _digests[seal];
        if (d.miner == miner && d.round == round && d.status != IPoFLConsensus.ClaimStatus.None) {
            (claim.status, claim.eligible, claim.accuracyBps, claim.cidKind, claim.digest) = (
                d.status,
                d.eligible,
                d.claimBps,
                d.cidKind,
                seal
            );
        } else if (m.seal == Sealed.Reused) {
            (claim.status, claim.accuracyBps, claim.cidKind, claim.digest) = (
                IPoFLConsensus.ClaimStatus.Revealed,
                m.reusedBps,
                m.reusedKind,
                seal
            );
        } else {
            (claim.status, claim.commitment) = (IPoFLConsensus.ClaimStatus.Committed, seal);
        }
    }

    /// @inheritdoc IPoFLLens
    function committee(uint64 round) external view returns (address[] memory seats) {
        LiveRound storage s = _round;
        if (round != s.round || s.phase != IPoFLConsensus.Phase.Validation || s.seats == 0) return seats;
        uint256 bits = _seatBits & ~SENTINEL;
        seats = new address[](s.seats);
        uint256 i;
        for (; bits != 0; bits &= bits - 1) {
            seats[i++] = _committerAt[PoFLMath.lowestBit(bits)];
        }
    }

    /// @inheritdoc IPoFLLens
    function digestUse(bytes32 digest) external view returns (bool used, uint64 round) {
        DigestClaim storage d = _digests[digest];
        return (d.status != IPoFLConsensus.ClaimStatus.None, d.round);
    }

    /// @inheritdoc IPoFLLens
    function shardsUsed() external view returns (uint256) {
        return _shardsUsed;
    }

    // ---------------------------------------------------------------- miners

    /// @inheritdoc IPoFLLens
    function minerInfo(address account) external view returns (IPoFLConsensus.MinerInfo memory) {
        Miner storage m = _miners[account];
        return
            IPoFLConsensus.MinerInfo(
                m.stake,
                m.lastRound,
                m.registered,
                m.registered && m.lastRound + 1 >= _round.round
            );
    }

    /// @inheritdoc IPoFLLens
    function miners() external view returns (address[] memory) {
        return _registry.values();
    }

    /// @inheritdoc IPoFLLens
    function activeMinerCount() external view returns (uint256) {
        return uint256(_round.activeNow) + _round.activePrev;
    }

    // ---------------------------------------------------------------- blocks

    /// @inheritdoc IPoFLLens
    function blockCount() external view returns (uint256) {
        return _blocks.length;
    }

    /// @inheritdoc IPoFLLens
    function blockAt(uint256 height) public view returns (IPoFLConsensus.Block memory) {
        if (height >= _blocks.length) revert IPoFLConsensus.PoFLBlockNotFound(height);
        StoredBlock storage b = _blocks[height];
        bytes32 parentHash = height == 0 ? bytes32(0) : _blocks[height - 1].blockHash;
        return
            IPoFLConsensus.Block(
                uint64(height),
                b.round,
                b.miner,
                b.accuracyBps,
                b.cidKind,
                b.digest,
                parentHash,
                b.blockHash
            );
    }

    /// @inheritdoc IPoFLLens
    function latestBlock() external view returns (IPoFLConsensus.Block memory) {
        return blockAt(_blocks.length - 1);
    }

    // ----------------------------------------------------------------- ether

    /// @dev The consensus's books (TreasuryViews answers totalStaked, rewardPool, totalPendingRewards and
    /// pendingRewards from them).
    function _treasury() internal view override returns (Treasury.Books storage) {
        return _books;
    }

    // -------------------------------------------------------------- settings

    /// @inheritdoc IPoFLLens
    function config() external view returns (IPoFLConsensus.Config memory) {
        return _configOf(_params, _blockReward);
    }

    /// @inheritdoc IPoFLLens
    function nextConfig() external view returns (IPoFLConsensus.Config memory) {
        return _configOf(_nextParams, _nextBlockReward);
    }

    /// @inheritdoc IPoFLLens
    function holdout() external view returns (address) {
        return address(_holdout);
    }
}
