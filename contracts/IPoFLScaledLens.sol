// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLScaledTypes} from "./IPoFLScaledTypes.sol";
import {ITreasury} from "./ITreasury.sol";

/// @title IPoFLScaledLens: the views of PoFLScaled
/// @notice Call these at the PoFLScaled contract's address: it serves them with the code of its lens
/// (PoFLScaledLens), run on its own storage. The types, events and errors are IPoFLScaledTypes's.
interface IPoFLScaledLens is IPoFLScaledTypes, ITreasury {
    // ----------------------------------------------------------------- views

    /// @notice The configuration.
    function config() external view returns (Config memory);

    /// @notice The current round as the clock's rules make it now.
    function roundInfo() external view returns (RoundInfo memory);

    /// @notice The current round's candidate `index` (claimed-accuracy order, once fixed).
    function candidate(uint256 index) external view returns (Candidate memory);

    /// @notice The miner index of seat `seat` of the current committee (drawn: a permutation of the indices).
    function seatIndex(uint256 seat) external view returns (uint256);

    /// @notice The current round's appeal (all zero while it has none).
    function appealInfo() external view returns (AppealInfo memory);

    /// @notice The miner index of juror `juror` of the current appeal (drawn: a permutation of the indices).
    function jurorIndex(uint256 juror) external view returns (uint256);

    /// @notice The miner at index `index`.
    function minerAt(uint256 index) external view returns (address);

    /// @notice The number of registered miners.
    function minerCount() external view returns (uint256);

    /// @notice `account`'s stake (0 if not a miner) and index.
    function minerOf(address account) external view returns (uint96 stake, uint32 index, bool registered);

    /// @notice Block `height`.
    function blockAt(uint256 height) external view returns (Block memory);

    /// @notice The number of blocks (the genesis included).
    function blockCount() external view returns (uint256);

    /// @notice The commitment a miner makes: keccak256(abi.encode(round, digest, cidKind, salt, miner)).
    function computeCommitment(
        uint64 round,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        bytes32 salt,
        address miner
    ) external pure returns (bytes32);

    /// @notice The Merkle leaf hash of `leaf` in `round`.
    function leafHash(uint64 round, Leaf calldata leaf) external pure returns (bytes32);
}
