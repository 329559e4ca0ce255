// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";

/// @title IPoFLScaledTypes: the types, events and errors of PoFLScaled (issue 25)
/// @notice Shared by its actions (`IPoFLScaled`) and its views (`IPoFLScaledLens`, served at the consensus's
/// address by its lens). docs/scaling.md is the manual.
interface IPoFLScaledTypes {
    // ------------------------------------------------------------------ enums

    /// @notice Round phases. `Claims`: the aggregator (then, after `aggregatorDuration`, any miner) posts the
    /// root; `Forced`: direct commits and fraud proofs; `Reveal`: the candidates reveal; `Vote`: the seats vote
    /// (once the seed block is mined: `advance()`); `Appeal`: the jury re-measures the round's first disputed claim
    /// (once its seed block is mined: `advance()`); `Finalize`: anyone may call `finalize()`.
    enum Phase {
        Claims,
        Forced,
        Reveal,
        Vote,
        Appeal,
        Finalize
    }

    /// @notice How a revealed candidate was decided (`ClaimDecided`). `Accepted`: 2/3 of the reports at least
    /// the claim minus the tolerance and 2/3 within the tolerance of their lower median, which reaches the
    /// threshold; `BelowThreshold`: so confirmed, under the threshold; `Rejected`: 2/3 of the reports under the
    /// claim minus the tolerance (the claimant loses its whole stake); `Disputed`: neither; `NoQuorum`: fewer
    /// reports than the quorum (seats that could not fetch the model report nothing). The round's first claim
    /// left `Disputed` or `NoQuorum` goes to appeal; a claim still undecided after it (a dispute that stands, or a
    /// later claim short of the quorum) makes no block from this claim nor from any lower one this round. `Unavailable` (an appeal's verdict only): most of the jurors that answered could
    /// not fetch the model; the claimant pays `misreportPenaltyBps` of its stake and the next claim may be the
    /// block.
    enum Outcome {
        Accepted,
        BelowThreshold,
        Rejected,
        Disputed,
        NoQuorum,
        Unavailable
    }

    /// @notice Why stake was taken. `MissedReveal`: a candidate signed (or committed) a claim and did not reveal
    /// it (the bond); `MissedVote`: a seat did not vote (the bond); `FalseClaim`: 2/3 of the seats rejected the
    /// claim (the whole stake); `Misreport`: a report further than the tolerance from a decided median
    /// (`misreportPenaltyBps` of the stake); `AggregatorAbsent`: the drawn aggregator posted no root in its window
    /// (the bond); `WrongRoot`: a fraud proof against the posted root (the whole stake, half to the prover);
    /// `UnsignedClaim`: a top leaf of the root was not revealed and nobody showed its miner's signature (the
    /// poster's whole stake: it posted a claim nobody signed, or sat on the signature); `MissedJuryVote`: a juror
    /// (not the claimant) did not answer in the appeal window (the bond); `UnservedClaim`: the jury found the
    /// appealed model unavailable (`misreportPenaltyBps` of the claimant's stake). A report that contradicts an
    /// appeal's verdict, a seat's or a juror's, is a `Misreport`; saying it could not fetch a model never is.
    enum PenaltyReason {
        MissedReveal,
        MissedVote,
        FalseClaim,
        Misreport,
        AggregatorAbsent,
        WrongRoot,
        UnsignedClaim,
        MissedJuryVote,
        UnservedClaim
    }

    /// @notice A configuration field out of its range (`ScaledInvalidConfig`).
    enum ConfigField {
        ThresholdBps,
        ToleranceBps,
        QuorumBps,
        Seats,
        TopK,
        Duration,
        SeedLookahead,
        MinStake,
        Bond,
        MisreportPenaltyBps,
        Genesis,
        AppealSeats
    }

    // ------------------------------------------------------------------ types

    /// @notice The deployment's configuration (fixed for its life).
    /// @param thresholdBps the accuracy a block needs (basis points)
    /// @param toleranceBps how far a report may lie under a claim and still agree with it, and from the median
    /// before it is a misreport (at most 1000)
    /// @param quorumBps the share of the seats whose reports a claim needs (above 5000, at most 6666)
    /// @param seats the committee's size c (1 to 128; fewer when fewer miners are registered)
    /// @param topK how many claims reveal, K (1 to 12)
    /// @param minStake the least stake of a miner (wei)
    /// @param bond what a missed reveal, a missed vote or an absent aggregator forfeits (wei, at most minStake)
    /// @param misreportPenaltyBps the share of its stake a misreporting seat loses
    /// @param blockReward wei credited to a block's miner from the reward pool
    /// @param aggregatorDuration seconds from the round's opening in which only the drawn aggregator may post
    /// @param fallbackDuration seconds after that in which any registered miner may post
    /// @param forcedDuration seconds of the forced-inclusion window (direct commits, fraud proofs)
    /// @param revealDuration seconds of the reveal window
    /// @param voteDuration seconds of the vote window, from the committee's draw
    /// @param seedLookahead blocks between the reveals' end (or the appeal's opening) and the block whose hash
    /// draws the committee (the jury) (1-128)
    /// @param appealSeats the jury's size (1 to 128; fewer when fewer miners are registered)
    /// @param appealDuration seconds of the appeal window, from the jury's draw
    struct Config {
        uint16 thresholdBps;
        uint16 toleranceBps;
        uint16 quorumBps;
        uint16 seats;
        uint16 topK;
        uint96 minStake;
        uint96 bond;
        uint16 misreportPenaltyBps;
        uint96 blockReward;
        uint32 aggregatorDuration;
        uint32 fallbackDuration;
        uint32 forcedDuration;
        uint32 revealDuration;
        uint32 voteDuration;
        uint16 seedLookahead;
        uint16 appealSeats;
        uint32 appealDuration;
    }

    /// @notice A leaf of a round's Merkle root: the claim at `rank` (0 = the highest accuracy) of the sorted list.
    /// Its hash is keccak256(bytes.concat(keccak256(abi.encode(round, rank, miner, accuracyBps, commitment))))
    /// (OpenZeppelin's StandardMerkleTree leaf; pairs hash sorted, as MerkleProof verifies).
    struct Leaf {
        uint32 rank;
        address miner;
        uint16 accuracyBps;
        bytes32 commitment;
    }

    /// @notice A candidate of the current round (`candidate(i)`, i in claimed-accuracy order).
    /// @param miner who claimed it
    /// @param accuracyBps the claimed accuracy
    /// @param fromRoot whether it is a leaf of the posted root (else a direct commit)
    /// @param revealed whether it was revealed (then `seal` is the model digest, else the commitment)
    /// @param signed whether its miner's EIP-712 signature was shown (`showSignature`)
    /// @param cidKind how the revealed digest becomes a CID
    /// @param seal the commitment, or the digest once revealed
    struct Candidate {
        address miner;
        uint16 accuracyBps;
        bool fromRoot;
        bool revealed;
        bool signed;
        IPoFLConsensus.CidKind cidKind;
        bytes32 seal;
    }

    /// @notice The current round. `deadline` ends the recorded phase (0 in `Vote` until the committee is drawn);
    /// `population` is the number of miners the committee is sampled from (fixed when the reveals end).
    struct RoundInfo {
        uint64 round;
        Phase phase;
        uint40 deadline;
        uint40 openedAt;
        address aggregator;
        address poster;
        bytes32 root;
        uint32 count;
        bytes32 listBlob;
        uint8 rootCount;
        uint8 directCount;
        uint8 candidates;
        uint8 reveals;
        uint32 population;
        uint16 seats;
        uint64 seedBlock;
        bytes32 seed;
    }

    /// @notice The current round's appeal (`appealInfo()`; all zero while it has none).
    /// @param round the round appealed
    /// @param candidate the appealed candidate (its index), the round's first disputed claim
    /// @param miner its miner (never one of its jurors)
    /// @param jurors the jury's size
    /// @param seedBlock the block whose hash draws the jury
    /// @param seed the jury's seed (zero until drawn)
    struct AppealInfo {
        uint64 round;
        uint8 candidate;
        address miner;
        uint16 jurors;
        uint64 seedBlock;
        bytes32 seed;
    }

    /// @notice A block of the chain (height = its index; the genesis is block 0).
    struct Block {
        uint64 round;
        address miner;
        uint16 accuracyBps;
        IPoFLConsensus.CidKind cidKind;
        bytes32 digest;
        bytes32 blockHash;
    }

    // ----------------------------------------------------------------- events

    /// @notice Round `round` opened; `aggregator` may post its root until `aggregatorUntil`, anyone until
    /// `deadline`.
    event RoundOpened(uint64 indexed round, address indexed aggregator, uint40 aggregatorUntil, uint40 deadline);
    /// @notice `poster` posted the round's root of `count` claims; the list is the blob whose versioned hash is
    /// `listBlob`.
    event RootPosted(uint64 indexed round, address indexed poster, bytes32 root, uint32 count, bytes32 listBlob);
    /// @notice `miner` committed directly (forced inclusion) at `accuracyBps`.
    event DirectCommitted(uint64 indexed round, address indexed miner, uint16 accuracyBps);
    /// @notice `prover` proved the root of `poster` wrong: the root is dropped, the poster slashed.
    event FraudProven(uint64 indexed round, address indexed poster, address indexed prover, uint256 reward);
    /// @notice The candidates are fixed: `count` claims reveal until `deadline`.
    event CandidatesFixed(uint64 indexed round, uint8 count, uint40 deadline);
    /// @notice Candidate `index` (`miner`) revealed `digest`.
    event Revealed(
        uint64 indexed round,
        uint8 index,
        address indexed miner,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind
    );
    /// @notice A candidate's EIP-712 signature was shown: its miner pays the bond if it does not reveal.
    event SignatureShown(uint64 indexed round, uint8 index, address indexed miner);
    /// @notice The reveals ended: the committee is drawn from the hash of block `seedBlock`.
    event SeedBlockSet(uint64 indexed round, uint64 seedBlock);
    /// @notice The committee was drawn: `seats` seats sampled from `population` miners by `seed`; votes until
    /// `deadline`.
    event CommitteeDrawn(uint64 indexed round, bytes32 seed, uint32 population, uint16 seats, uint40 deadline);
    /// @notice Seat `seat` (`miner`) voted `reports` (16 bits a candidate, candidate 0 lowest).
    event Voted(uint64 indexed round, uint16 seat, address indexed miner, uint256 reports);
    /// @notice Candidate `miner`'s claim was decided: `median` of `reports` reports.
    event ClaimDecided(
        uint64 indexed round,
        address indexed miner,
        Outcome outcome,
        uint16 claimedBps,
        uint16 median,
        uint16 reports
    );
    /// @notice Candidate `candidate` (`miner`) was disputed, or left without a quorum: it goes to appeal; the jury is drawn from the hash of
    /// block `seedBlock`.
    event AppealOpened(uint64 indexed round, uint8 candidate, address indexed miner, uint64 seedBlock);
    /// @notice The jury was drawn: `jurors` jurors sampled from `population` miners by `seed`; reports until
    /// `deadline`.
    event JuryDrawn(uint64 indexed round, bytes32 seed, uint32 population, uint16 jurors, uint40 deadline);
    /// @notice Juror `juror` (`miner`) reported `reportBps` for the appealed candidate.
    event JuryVoted(uint64 indexed round, uint16 juror, address indexed miner, uint16 reportBps);
    /// @notice The appeal of `miner`'s claim was decided from `reports` jurors' reports, at their lower median
    /// `median`: `Accepted` or `BelowThreshold` (the claim upheld), `Rejected`, `Unavailable` (most jurors that
    /// answered could not fetch it), or `Disputed` (no quorum of jurors, or a tie: the dispute stands).
    event AppealDecided(uint64 indexed round, address indexed miner, Outcome outcome, uint16 median, uint16 reports);
    /// @notice Stake moved from `miner` to the reward pool.
    event Penalized(uint64 indexed round, address indexed miner, PenaltyReason reason, uint256 amount);
    /// @notice Block `height` was appended.
    event BlockFinalized(
        uint64 indexed height,
        uint64 indexed round,
        address indexed miner,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind,
        uint16 accuracyBps,
        bytes32 parentHash,
        bytes32 blockHash,
        uint256 reward
    );
    /// @notice Round `round` ended without a block.
    event RoundFailed(uint64 indexed round);
    /// @notice `miner` registered with `stake` wei at index `index`.
    event MinerRegistered(address indexed miner, uint256 stake, uint32 index);
    /// @notice `miner` added `amount` wei; its stake is now `stake`.
    event StakeAdded(address indexed miner, uint256 amount, uint256 stake);
    /// @notice `miner` left with its stake and credit.
    event MinerLeft(address indexed miner, uint256 stake, uint256 credit);
    /// @notice `miner`'s stake fell under minStake: it was removed and the rest credited to it.
    event MinerEvicted(address indexed miner, uint64 round, uint256 refund);
    /// @notice `from` added `amount` wei to the reward pool.
    event RewardsFunded(address indexed from, uint256 amount);
    /// @notice `miner` withdrew `amount` wei of credit.
    event RewardsWithdrawn(address indexed miner, uint256 amount);

    // ----------------------------------------------------------------- errors

    /// @notice A configuration field is out of its range (see `Config`).
    error ScaledInvalidConfig(ConfigField field);
    /// @notice `account` is not a registered miner: register first.
    error ScaledNotAMiner(address account);
    /// @notice `account` is already registered.
    error ScaledAlreadyRegistered(address account);
    /// @notice The stake sent is under the minimum: send at least `minStake` wei.
    error ScaledStakeTooLow(uint256 sent, uint256 minStake);
    /// @notice A payment of zero wei.
    error ScaledZeroValue();
    /// @notice `account` has no credit to withdraw.
    error ScaledNothingToWithdraw(address account);
    /// @notice The action names round `given` but the current round is `current`.
    error ScaledWrongRound(uint64 current, uint64 given);
    /// @notice The action belongs to phase `expected`; the round is in `actual` (after the clock's rules).
    error ScaledWrongPhase(Phase expected, Phase actual);
    /// @notice Until the aggregator's window ends only `aggregator` may post the root.
    error ScaledNotAggregator(address aggregator, address sender);
    /// @notice `postRoot` carries no blob: the claim list must ride in an EIP-4844 blob of the same transaction.
    error ScaledListMissing();
    /// @notice The root is zero, or `count` is zero or under the number of top leaves.
    error ScaledBadRoot(uint32 count, uint256 topLeaves);
    /// @notice Top leaf `index` is not the root's leaf at rank `index` (wrong rank, not in the root, out of order,
    /// empty commitment, accuracy over 10000, its miner is not registered or already has a top leaf), or the top is
    /// not the first min(K, count) leaves.
    error ScaledBadLeaf(uint256 index);
    /// @notice `miner` already committed directly this round.
    error ScaledAlreadyCommitted(uint64 round, address miner);
    /// @notice A zero commitment.
    error ScaledEmptyCommitment();
    /// @notice An accuracy over 10000 basis points.
    error ScaledAccuracyOutOfRange(uint16 bps);
    /// @notice The direct commit's accuracy cannot enter the K best direct commits (the lowest of them: `lowest`).
    error ScaledClaimTooLow(uint16 accuracyBps, uint16 lowest);
    /// @notice No root was posted (or it was dropped): there is nothing to prove fraud against.
    error ScaledNoRoot(uint64 round);
    /// @notice A leaf and its proof do not verify against the round's root.
    error ScaledNotInRoot(uint32 rank);
    /// @notice The leaves shown prove no fraud (they are in order, or the rank is within the count).
    error ScaledNoFraud();
    /// @notice There is no candidate `index`, or `sender` is not its miner.
    error ScaledNotACandidate(uint256 index, address sender);
    /// @notice Candidate `index` was already revealed.
    error ScaledAlreadyRevealed(uint256 index);
    /// @notice The opening does not match the commitment (`committed` vs `opened`).
    error ScaledRevealMismatch(bytes32 committed, bytes32 opened);
    /// @notice A zero digest.
    error ScaledEmptyDigest();
    /// @notice `digest` was revealed before (in round `round`): a copy is never a new block.
    error ScaledDigestUsed(bytes32 digest, uint64 round);
    /// @notice The signature shown for candidate `index` recovers to `signer`, not to its miner `miner` (or the
    /// candidate is a direct commit, which needs none).
    error ScaledBadSignature(uint256 index, address signer, address miner);
    /// @notice The committee (or the jury) is drawn from the hash of block `seedBlock`, not mined yet: call
    /// `advance()` after it.
    error ScaledSeedPending(uint64 seedBlock);
    /// @notice `sender` does not hold seat `seat` of this round's committee.
    error ScaledNotInCommittee(uint256 seat, address sender);
    /// @notice Seat `seat` already voted this round.
    error ScaledAlreadyVoted(uint256 seat);
    /// @notice `sender` does not hold juror place `juror` of this round's appeal (or it is the appealed claimant).
    error ScaledNotAJuror(uint256 juror, address sender);
    /// @notice Juror `juror` already reported this round.
    error ScaledJurorAlreadyVoted(uint256 juror);
    /// @notice No block at `height`.
    error ScaledBlockNotFound(uint256 height);
}
