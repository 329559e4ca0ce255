// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {ITreasury} from "./ITreasury.sol";

/// @title IPoFLLens: the views of PoFL consensus
/// @notice Call these at the consensus contract's address: it serves them with the code of its `lens()`
/// (PoFLLens), run on its own storage. The types, events and errors are IPoFLConsensus's.
interface IPoFLLens is ITreasury {
    // ---------------------------------------------------------------- rounds

    /// @notice The round now open.
    function currentRound() external view returns (uint64);

    /// @notice The current round, its effective phase now (deadlines included) and that phase's deadline
    /// (0: none yet, as before the first commit, before the committee is drawn, or in Finalize).
    /// @dev The same rules that `advance()` records (PoFLPhases): ask at the "pending" block tag for the phase
    /// at the node's own time.
    function currentPhase() external view returns (uint64 round, IPoFLConsensus.Phase phase, uint64 deadline);

    /// @notice The state of the current round, with its effective phase; reverts (PoFLWrongRound) for any other
    /// round.
    function roundInfo(uint64 round) external view returns (IPoFLConsensus.RoundInfo memory info);

    /// @notice `miner`'s claim in `round` (empty unless it is the miner's last round with a commitment).
    function claimOf(uint64 round, address miner) external view returns (IPoFLConsensus.Claim memory claim);

    /// @notice The seats of the committee of `round`'s current candidate, in commit order: empty until the
    /// committee is drawn (the first transaction after the seed block draws it, e.g. `advance()`), and once its
    /// validation is over.
    function committee(uint64 round) external view returns (address[] memory seats);

    /// @notice Whether `digest` was revealed (or is the genesis), and in which round first.
    function digestUse(bytes32 digest) external view returns (bool used, uint64 round);

    /// @notice Hold-out mode: the index of the shard the current round gets when its key is revealed (shards
    /// are used in order, each by exactly one round; a round whose key is never revealed uses none).
    function shardsUsed() external view returns (uint256);

    // ---------------------------------------------------------------- miners

    /// @notice Miner `account`'s stake and activity.
    function minerInfo(address account) external view returns (IPoFLConsensus.MinerInfo memory);

    /// @notice All registered miners (active or not).
    function miners() external view returns (address[] memory);

    /// @notice Miners that committed or joined in this round or the previous one.
    function activeMinerCount() external view returns (uint256);

    // ---------------------------------------------------------------- blocks

    /// @notice The number of blocks, genesis included.
    function blockCount() external view returns (uint256);

    /// @notice The block at `height` (0 = genesis); reverts (PoFLBlockNotFound) past the newest.
    function blockAt(uint256 height) external view returns (IPoFLConsensus.Block memory);

    /// @notice The newest block.
    function latestBlock() external view returns (IPoFLConsensus.Block memory);

    // ------------------------------------------------------------ settings

    /// @notice The configuration in force in the current round.
    function config() external view returns (IPoFLConsensus.Config memory);

    /// @notice The configuration that applies from the next round (the owner's latest settings).
    function nextConfig() external view returns (IPoFLConsensus.Config memory);

    /// @notice The hold-out task judging the rounds (zero: public evaluation).
    function holdout() external view returns (address);
}
