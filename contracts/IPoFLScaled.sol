// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLScaledTypes} from "./IPoFLScaledTypes.sol";

/// @title IPoFLScaled: PoFL consensus for federations of thousands of miners (issue 25): its actions
/// @notice A round is Claims -> Forced -> Reveal -> Vote -> (Appeal) -> Finalize. Miners sign their claims
/// (EIP-712: round, miner, accuracy, commitment) off chain and hand them to the round's aggregator, a registered
/// miner drawn from the head block's hash; it posts one Merkle root of the claims sorted by accuracy (the list
/// itself rides in an EIP-4844 blob of the same transaction) with the top K leaves and their Merkle proofs. In the
/// forced-inclusion window any miner commits directly on chain (as in the per-miner mode), and anyone proves a
/// wrong root (two leaves out of order, a leaf past the posted count): the poster is slashed, the prover paid, the
/// root dropped and the round goes on with direct commits. The best K claims of the root's top and the direct
/// commits reveal; `seats` miners sampled by index from a later block's hash measure every revealed claim and vote
/// on chain; the lower median of each claim's reports decides it, and the best accepted claim becomes the block.
/// The round's first disputed claim goes to appeal: a jury of `appealSeats` miners sampled from another block's
/// hash re-measures it, and its majority decides it and who misreported. Every action is O(1) or O(K) in gas and
/// `finalize` is O(seats x K + appealSeats): nothing depends on the number of miners.
/// @dev The types, events and errors are in `IPoFLScaledTypes`, the views in `IPoFLScaledLens` (served at the
/// consensus's address by its lens). The ownership-free contract has no settings: its whole configuration is
/// fixed at deployment. docs/scaling.md is the manual.
interface IPoFLScaled is IPoFLScaledTypes {
    // ------------------------------------------------------------ membership

    /// @notice Join with `msg.value` wei of stake (at least minStake); the miner gets the next index.
    function register() external payable;

    /// @notice Leave with the stake and any credit; only in the Claims phase before a root is posted.
    /// @dev The last miner takes the leaver's index.
    function leave() external;

    /// @notice Add `msg.value` wei to the caller's stake.
    function addStake() external payable;

    /// @notice Add `msg.value` wei to the reward pool.
    function fundRewards() external payable;

    /// @notice Withdraw the caller's credit (rewards, a prover's reward, an evicted stake).
    function withdrawRewards() external;

    // ---------------------------------------------------------------- rounds

    /// @notice Post the round's Merkle root of `count` signed claims sorted by accuracy (highest first), with its
    /// first min(K, count) leaves (`top`, ranks 0, 1, ...) and their proofs. The whole list must ride in an
    /// EIP-4844 blob of this transaction (its versioned hash is recorded). Until `aggregatorDuration` after the
    /// round's opening only the drawn aggregator may post; then any registered miner, until the Claims phase ends
    /// (the drawn aggregator then forfeits its bond).
    /// @param round the current round
    /// @param root the Merkle root (OpenZeppelin MerkleProof: sorted pairs, double-hashed leaves)
    /// @param count the number of leaves
    /// @param top the leaves of ranks 0 .. min(K, count) - 1
    /// @param proofs each top leaf's proof
    function postRoot(
        uint64 round,
        bytes32 root,
        uint32 count,
        Leaf[] calldata top,
        bytes32[][] calldata proofs
    ) external;

    /// @notice Commit directly (forced inclusion): a miner left out of the root, or misplaced in it, competes
    /// with the root's top. At most one direct commit a miner and round; it must enter the K best direct commits.
    /// @param round the current round
    /// @param accuracyBps the claimed accuracy
    /// @param commitment `computeCommitment(round, digest, cidKind, salt, msg.sender)`
    function commitDirect(uint64 round, uint16 accuracyBps, bytes32 commitment) external;

    /// @notice Prove that two leaves of the root are out of order (a lower rank with a lower accuracy) or share
    /// a rank: the poster loses its whole stake (half of it credited to the caller), the root is dropped and
    /// the forced-inclusion window opens again for direct commits.
    function proveMisordered(
        uint64 round,
        Leaf calldata higher,
        bytes32[] calldata higherProof,
        Leaf calldata lower,
        bytes32[] calldata lowerProof
    ) external;

    /// @notice Prove that the root holds a leaf at a rank at or past its posted count; as `proveMisordered`.
    function proveOutOfRange(uint64 round, Leaf calldata leaf, bytes32[] calldata proof) external;

    /// @notice Reveal candidate `index`'s model. Only its miner.
    /// @param round the current round
    /// @param index the candidate (`candidate(index)`)
    /// @param digest sha2-256 digest of the model
    /// @param cidKind how the digest becomes its CID
    /// @param salt the commitment's salt
    function reveal(uint64 round, uint8 index, bytes32 digest, IPoFLConsensus.CidKind cidKind, bytes32 salt) external;

    /// @notice Show the EIP-712 signature of root candidate `index`'s claim by its miner: it then owes the bond
    /// if it does not reveal (else the poster pays for an unrevealed root claim). Anyone, until `finalize`.
    function showSignature(uint64 round, uint8 index, bytes calldata signature) external;

    /// @notice Apply the phase rules by the clock, and draw the committee once its seed block is mined.
    function advance() external;

    /// @notice Seat `seat` reports what it measured for each candidate: 16 bits a candidate (candidate i at bits
    /// 16i; 0xFFFF: no report, e.g. its own claim or an unrevealed one), each at most 10000. The vote window
    /// always runs to its deadline: no vote counter is written (each would cost every seat 2,900 gas).
    function vote(uint64 round, uint16 seat, uint256 reports) external;

    /// @notice Juror `juror` of the round's appeal reports what it measured for the appealed candidate
    /// (`appealInfo()`): at most 10000, or NO_REPORT if it could not fetch the model (never a misreport). The
    /// claimant cannot sit on its own jury. The appeal window always runs to its deadline.
    function appealVote(uint64 round, uint16 juror, uint16 reportBps) external;

    /// @notice Decide the revealed candidates from the seats' reports, settle the bonds and penalties, append the
    /// best accepted claim as the block and open the next round. If a claim is disputed (or left without a quorum)
    /// and the round has not been appealed yet, it opens the appeal of the first such claim instead (nothing else changes) and the next
    /// call, after the appeal window, decides the round with the jury's verdict.
    function finalize() external;

    /// @notice The lens whose code serves the views of `IPoFLScaledLens` at this address (deployed by this
    /// contract's constructor); call the views at this contract's address, not at the lens's.
    function lens() external view returns (address);

    /// @notice The EIP-712 digest a miner signs for its claim.
    function claimDigest(
        uint64 round,
        address miner,
        uint16 accuracyBps,
        bytes32 commitment
    ) external view returns (bytes32);
}
