// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IPoFLConsensus} from "../IPoFLConsensus.sol";
import {PoFLStorage} from "./PoFLStorage.sol";

/// @title PoFLSettings: the owner's configuration, checked, and applied from the next round
/// @notice Owner changes go to `nextConfig()` and are copied into the round's snapshot when the next round opens.
/// Ownership is two-step (OpenZeppelin Ownable2Step).
abstract contract PoFLSettings is IPoFLConsensus, PoFLStorage, Ownable2Step {
    /// @inheritdoc IPoFLConsensus
    function setPhaseDurations(
        uint32 commitSeconds,
        uint32 revealSeconds,
        uint32 validationSeconds
    ) external onlyOwner {
        Config memory c = _configOf(_nextParams, _nextBlockReward);
        (c.commitDuration, c.revealDuration, c.validationDuration) = (commitSeconds, revealSeconds, validationSeconds);
        _storeConfig(c);
    }

    /// @inheritdoc IPoFLConsensus
    function setValidation(
        uint16 toleranceBps,
        uint16 quorumBps,
        uint16 committeeSize,
        uint16 minCommittee
    ) external onlyOwner {
        Config memory c = _configOf(_nextParams, _nextBlockReward);
        (c.toleranceBps, c.quorumBps, c.committeeSize, c.minCommittee) = (
            toleranceBps,
            quorumBps,
            committeeSize,
            minCommittee
        );
        _storeConfig(c);
    }

    /// @inheritdoc IPoFLConsensus
    function setPenalties(uint96 missBond, uint16 misreportPenaltyBps) external onlyOwner {
        Config memory c = _configOf(_nextParams, _nextBlockReward);
        (c.missBond, c.misreportPenaltyBps) = (missBond, misreportPenaltyBps);
        _storeConfig(c);
    }

    /// @inheritdoc IPoFLConsensus
    function setBlockReward(uint96 reward) external onlyOwner {
        Config memory c = _configOf(_nextParams, _nextBlockReward);
        c.blockReward = reward;
        _storeConfig(c);
    }

    /// @dev Validates `c` and stores its adjustable part for the next round.
    function _storeConfig(Config memory c) internal {
        _checkConfig(c);
        _nextParams = Params({
            toleranceBps: c.toleranceBps,
            quorumBps: c.quorumBps,
            committeeSize: c.committeeSize,
            minCommittee: c.minCommittee,
            misreportPenaltyBps: c.misreportPenaltyBps,
            commitDuration: c.commitDuration,
            revealDuration: c.revealDuration,
            validationDuration: c.validationDuration,
            missBond: c.missBond
        });
        _nextBlockReward = c.blockReward;
        emit ConfigUpdated(_round.round + 1, c);
    }

    /// @dev Reverts (PoFLInvalidConfig) unless every value of `c` is in its range (see the error's notes).
    function _checkConfig(Config memory c) internal pure {
        if (c.thresholdBps > BPS) revert PoFLInvalidConfig(ConfigField.ThresholdBps);
        if (c.toleranceBps > MAX_TOLERANCE_BPS) revert PoFLInvalidConfig(ConfigField.ToleranceBps);
        if (c.quorumBps <= BPS / 2 || c.quorumBps > MAX_QUORUM_BPS) revert PoFLInvalidConfig(ConfigField.QuorumBps);
        if (c.minCommittee == 0 || c.minCommittee >= MAX_MINERS) revert PoFLInvalidConfig(ConfigField.MinCommittee);
        if (c.committeeSize != 0 && c.committeeSize < c.minCommittee) {
            revert PoFLInvalidConfig(ConfigField.CommitteeSize);
        }
        if (c.commitDuration == 0 || c.revealDuration == 0 || c.validationDuration == 0) {
            revert PoFLInvalidConfig(ConfigField.Duration);
        }
        if (c.commitGrace > c.commitDuration) revert PoFLInvalidConfig(ConfigField.CommitGrace);
        if (c.seedLookahead == 0 || c.seedLookahead > MAX_SEED_LOOKAHEAD) {
            revert PoFLInvalidConfig(ConfigField.SeedLookahead);
        }
        if (c.minStake == 0) revert PoFLInvalidConfig(ConfigField.MinStake);
        if (c.missBond == 0 || c.missBond > c.minStake) revert PoFLInvalidConfig(ConfigField.MissBond);
        if (c.misreportPenaltyBps > BPS) revert PoFLInvalidConfig(ConfigField.MisreportPenaltyBps);
        if (c.evalSetHash == bytes32(0)) revert PoFLInvalidConfig(ConfigField.EvalSetHash);
        if (c.architectureId == bytes32(0)) revert PoFLInvalidConfig(ConfigField.ArchitectureId);
    }
}
