// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ScaledBooks} from "./ScaledBooks.sol";

/// @title ScaledPhases: the transitions of PoFLScaled's round, each in one place
/// @notice Claims -> Forced (a root posted, or the Claims window over) -> Reveal (the candidates fixed) -> Vote
/// (the seed block fixed; the committee drawn once it is mined) -> Finalize, or -> Appeal (a claim undecided: the jury's
/// seed block fixed, the jury drawn once it is mined) -> Finalize. `PoFLScaled._advance` applies the clock's rules
/// with these; the actions call them when they end a phase early.
abstract contract ScaledPhases is ScaledBooks {
    /// @dev The forced-inclusion window opens (again, after a fraud proof) for `forcedDuration`.
    function _enterForced(Round storage s) internal {
        (s.phase, s.deadline) = (Phase.Forced, uint40(block.timestamp) + _forcedDuration);
    }
    /// @dev The forced window is over: the K best of the root's top and the direct top, highest claim first (the
    /// root's first on ties), become the candidates; without any, the round goes to Finalize.
    function _fixCandidates(Round storage s) internal {
        (uint256 a, uint256 b) = (0, 0);
        (uint256 rootCount, uint256 directCount) = (s.rootCount, s.directCount);
        uint256 order;
        uint256 n;
        for (; n < _topK && (a < rootCount || b < directCount); ++n) {
            bool fromRoot = b == directCount || (a < rootCount && _rootTop[a].accuracyBps >= _directTop[b].accuracyBps);
            order |= (fromRoot ? a++ : DIRECT + b++) << (5 * n);
        }
        (s.order, s.candidates) = (order, uint8(n));
        if (n == 0) {
            (s.phase, s.deadline) = (Phase.Finalize, 0);
            return;
        }
        uint40 deadline = s.deadline + _revealDuration;
        (s.phase, s.deadline) = (Phase.Reveal, deadline);
        emit CandidatesFixed(s.round, uint8(n), deadline);
    }
    /// @dev The reveals are over: the committee will be sampled from the first `population` miners by the hash of
    /// a block mined `seedLookahead` from now; without any reveal, straight to Finalize.
    function _endReveals(Round storage s) internal {
        if (s.reveals == 0) {
            (s.phase, s.deadline) = (Phase.Finalize, 0);
            return;
        }
        uint256 population = _minerAt.length;
        uint64 seedBlock = uint64(block.number) + _seedLookahead;
        (s.phase, s.deadline, s.population, s.seats, s.seedBlock) = (
            Phase.Vote,
            0,
            uint32(population),
            uint16(Math.min(_seats, population)),
            seedBlock
        );
        emit SeedBlockSet(s.round, seedBlock);
    }
    /// @dev Draws the committee once its seed block is mined (a new seed block if that block's hash is gone); the
    /// vote window opens for `voteDuration`.
    function _drawCommittee(Round storage s) internal {
        if (s.seeded || block.number <= s.seedBlock) return;
        (bool drawn, uint64 seed, uint64 seedBlock) = _drawSeed(s.seedBlock, 0);
        s.seedBlock = seedBlock;
        if (!drawn) return;
        uint40 deadline = uint40(block.timestamp) + _voteDuration;
        (s.seed, s.seeded, s.deadline) = (seed, true, deadline);
        emit CommitteeDrawn(s.round, bytes32(uint256(seed)), s.population, s.seats, deadline);
    }
    /// @dev The round's first undecided claim (disputed, or short of the quorum), candidate `candidate` (`miner`),
    /// goes to appeal: a jury of up to
    /// `appealSeats` of the round's population will be sampled by the hash of a block mined `seedLookahead` from
    /// now.
    function _enterAppeal(Round storage s, uint256 candidate, address miner) internal {
        uint64 seedBlock = uint64(block.number) + _seedLookahead;
        uint16 jurors = uint16(Math.min(_appealSeats, s.population));
        _appeal = Appeal(s.round, uint8(candidate), jurors, false, seedBlock, 0);
        (s.phase, s.deadline) = (Phase.Appeal, 0);
        emit AppealOpened(s.round, uint8(candidate), miner, seedBlock);
    }
    /// @dev Draws the appeal's jury once its seed block is mined (a new seed block if that block's hash is gone);
    /// the appeal window opens for `appealDuration`.
    function _drawJury(Round storage s) internal {
        Appeal storage a = _appeal;
        if (a.seeded || block.number <= a.seedBlock) return;
        (bool drawn, uint64 seed, uint64 seedBlock) = _drawSeed(a.seedBlock, 1);
        a.seedBlock = seedBlock;
        if (!drawn) return;
        uint40 deadline = uint40(block.timestamp) + _appealDuration;
        (a.seed, a.seeded, s.deadline) = (seed, true, deadline);
        emit JuryDrawn(s.round, bytes32(uint256(seed)), s.population, a.jurors, deadline);
    }
    /// @dev The seed that the hash of block `seedBlock` draws for this round's committee (`tag` 0) or jury (1):
    /// 64 bits of keccak256(abi.encode(blockhash, this contract, round, tag)). Once that hash is gone (nobody drew
    /// within 256 blocks) nothing is `drawn` and `next` is a new seed block `seedLookahead` ahead.
    function _drawSeed(uint64 seedBlock, uint256 tag) internal returns (bool drawn, uint64 seed, uint64 next) {
        bytes32 hash = blockhash(seedBlock);
        if (hash != bytes32(0)) {
            return (true, uint64(uint256(keccak256(abi.encode(hash, address(this), _round.round, tag)))), seedBlock);
        }
        next = uint64(block.number) + _seedLookahead;
        emit SeedBlockSet(_round.round, next);
    }
    /// @dev Opens round `round`: its aggregator is drawn among the miners from the head block's hash.
    function _openRound(uint64 round) internal {
        uint256 population = _minerAt.length;
        address aggregator =
            population == 0
                ? address(0)
                : _minerAt[uint256(keccak256(abi.encode(_blocks[_blocks.length - 1].blockHash, round))) % population];
        uint40 now_ = uint40(block.timestamp);
        uint40 deadline = now_ + _aggregatorDuration + _fallbackDuration;
        // slots 3 and 4 (poster, count, seedBlock; order) keep the last round's values: `posted`, the phase and
        // `candidates` say when they are this round's (rewriting them with zeros would cost 20,000 gas each later)
        Round storage s = _round;
        (s.round, s.phase, s.deadline, s.population, s.seats, s.seeded, s.candidates, s.reveals, s.seed) = (
            uint48(round),
            Phase.Claims,
            deadline,
            0,
            0,
            false,
            0,
            0,
            0
        );
        (s.aggregator, s.openedAt, s.rootCount, s.directCount, s.posted) = (aggregator, now_, 0, 0, false);
        emit RoundOpened(round, aggregator, now_ + _aggregatorDuration, deadline);
    }
    /// @dev The drawn aggregator posted nothing in its window: it forfeits the bond (once a round).
    function _penalizeAbsentAggregator(address aggregator) internal {
        Round storage s = _round;
        if (aggregator == address(0)) return;
        s.aggregator = address(0);
        Miner storage m = _miners[aggregator];
        if (!m.registered) return;
        _penalize(aggregator, m, _bond, PenaltyReason.AggregatorAbsent);
        if (m.stake < _minStake) _evict(aggregator, m, s.round);
    }
}
