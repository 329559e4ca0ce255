// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPoFLConsensus: Proof-of-Federated-Learning consensus (v2): its types, events, errors and actions
/// @notice A round is Commit -> Reveal -> Validation (one or more candidates) -> Finalize. Miners commit to a
/// model digest and a claimed accuracy, reveal it, and a committee drawn from the round's other committers
/// measures the best claim; the block records the median of the committee's measurements.
/// @dev Every function of `PoFLConsensus` is declared here (the ownership functions are OpenZeppelin's
/// Ownable2Step: owner, pendingOwner, transferOwnership, acceptOwnership, renounceOwnership). Its views are
/// declared in `IPoFLLens`: they are served at the consensus's own address (see `lens()`), so a caller sees one
/// contract with both interfaces.
interface IPoFLConsensus {
    // ------------------------------------------------------------------ enums

    /// @notice Round phases. `Finalize` means: anyone may call `finalize()`.
    enum Phase {
        Commit,
        Reveal,
        Validation,
        Finalize
    }

    /// @notice How a 32-byte sha2-256 digest becomes a CID string again.
    /// @dev `V0DagPb`: base58btc of 0x1220 || digest ("Qm..."). `V1DagPb` / `V1Raw`: multibase base32 ("b...")
    /// of 0x01 || codec (0x70 dag-pb / 0x55 raw) || 0x1220 || digest.
    enum CidKind {
        V0DagPb,
        V1DagPb,
        V1Raw
    }

    /// @notice Where a miner's claim of the current (or its last) round stands.
    /// @dev A report "agrees" with a claim when it is at least the claim minus the tolerance.
    /// `Accepted`: at least 2/3 of the reports agree, 2/3 lie within the tolerance of their (lower) median, and
    /// the median reaches the threshold and beats the parent; `Rejected`: at least 2/3 of the reports do not
    /// agree (the claimant is slashed); `NoQuorum`: too few seats reported by the deadline (no slash, the
    /// next-best claim is validated); `Unimproved`: decided, but the median does not reach the threshold or
    /// beat the parent; `Disputed`: neither side has 2/3 of the reports, or no 2/3 of them agree with the median.
    /// The round's first dispute goes to appeal (`AppealOpened`): the same claim is validated again by every
    /// committer that may still sit, and decided by stake: agreeing voters (the claimant among them) holding
    /// more than half of all staked ether confirm it (Accepted or Unimproved, at the stake-weighted lower median
    /// of their reports), disagreeing seats holding more than half reject it (Rejected, the claimant slashed);
    /// either way every report of either committee on the contradicted side costs `misreportPenaltyBps`;
    /// otherwise the appeal is `Disputed` too. A dispute that stands (on appeal, or a later one in the round):
    /// no slash, no penalty, no block from this claim, and the round's search for a block ends, so no lower claim
    /// can profit from it; `Unavailable`: at least a third of the seats reported the model
    /// unavailable (`UNAVAILABLE`, accepted only once the fetch window has passed): the claimant did not serve it
    /// and pays `misreportPenaltyBps` of its stake, no seat is penalized, and the next-best claim is validated.
    enum ClaimStatus {
        None,
        Committed,
        Revealed,
        Accepted,
        Rejected,
        NoQuorum,
        Unimproved,
        Disputed,
        Unavailable
    }

    /// @notice Why a round ended without a block.
    /// @dev `NoEligibleClaim`: no revealed claim was eligible; `NoCommittee`: fewer than `minCommittee` seats
    /// could validate the candidate; `NoAcceptedClaim`: every candidate was rejected, unimproved, disputed or without
    /// quorum; `KeyMissing` (hold-out mode): the round's shard key was not revealed by the end of the reveal
    /// window (committers forfeit nothing and are paid from the requester's bond); `NotIndependent`: the round's
    /// committers held no more than half of the staked ether, so no committee drawn among them could be
    /// independent of a claimant (see `PoFLPhases._independent`); in hold-out mode no key is owed then (nothing is
    /// paid and no shard is spent).
    /// `ShardUnopened` (hold-out mode): revealers holding more than half the stake declared that the round's shard
    /// does not open with its key (the requester's bond pays the committers, by stake).
    enum FailReason {
        NoEligibleClaim,
        NoCommittee,
        NoAcceptedClaim,
        KeyMissing,
        NotIndependent,
        ShardUnopened
    }

    /// @notice Why stake was taken from a miner (it goes to the reward pool).
    /// @dev `FalseClaim`: the whole stake; `Misreport`: `misreportPenaltyBps` of the stake; `MissedReveal` and
    /// `MissedVote`: `missBond` (or what is left of the stake); `UnservedClaim`: `misreportPenaltyBps` of the
    /// stake of a claimant whose model at least a third of its seats could not fetch (`ClaimStatus.Unavailable`).
    enum PenaltyReason {
        FalseClaim,
        Misreport,
        MissedReveal,
        MissedVote,
        UnservedClaim
    }

    /// @notice The configuration value a `PoFLInvalidConfig` error names.
    enum ConfigField {
        ThresholdBps,
        ToleranceBps,
        QuorumBps,
        CommitteeSize,
        MinCommittee,
        Duration,
        SeedLookahead,
        MinStake,
        MissBond,
        MisreportPenaltyBps,
        EvalSetHash,
        ArchitectureId,
        Holdout,
        CommitGrace
    }

    // ---------------------------------------------------------------- structs

    /// @notice The protocol's parameters. Bps = basis points (10000 = 1.0); wei amounts fit in 96 bits.
    /// @dev Fixed at deployment: `thresholdBps`, `requireImprovement`, `seedLookahead`, `minStake`,
    /// `evalSetHash`, `architectureId`, `commitGrace`. The owner may change the others; a change applies from the next round.
    /// @param thresholdBps a claim (and the block's measured accuracy) must reach this
    /// @param toleranceBps largest allowed distance of a claim above the median, and of a report from it (<= 1000)
    /// @param quorumBps share of the seats that must report for a decision (5001..6666: a coalition below 1/3
    /// of the seats can neither block a quorum nor, with a quorum, own the median)
    /// @param committeeSize seats per validation; 0 = every other committer that may still sit (an appeal always
    /// seats them all)
    /// @param minCommittee fewest seats a validation may have (>= 1; default 3): fewer means no block
    /// @param seedLookahead blocks between the end of the reveals and the block whose hash seeds the committee
    /// @param commitDuration seconds, counted from the round's first commit
    /// @param revealDuration seconds
    /// @param validationDuration seconds per candidate
    /// @param requireImprovement a block must beat its parent's accuracy (off: the flexBlock rule)
    /// @param misreportPenaltyBps share of its stake a validator loses for a report beyond tolerance of the median
    /// @param minStake wei a miner must keep staked (> 0); below it the miner is evicted when its round closes
    /// @param missBond wei forfeited for an unrevealed commitment or an unused committee seat (0 < missBond <= minStake)
    /// @param blockReward wei credited to a block's miner (paid from the reward pool while it lasts)
    /// @param evalSetHash sha256 of the evaluation set every miner measures on
    /// @param architectureId id of the model architecture
    /// @param commitGrace seconds from the round's first commit before which the commit phase does not end early
    /// (every active miner committed): a miner returning from a partition, which adopts each block a little
    /// after the others, still gets a commit in (0: end at once; at most `commitDuration`)
    struct Config {
        uint16 thresholdBps;
        uint16 toleranceBps;
        uint16 quorumBps;
        uint16 committeeSize;
        uint16 minCommittee;
        uint16 seedLookahead;
        uint32 commitDuration;
        uint32 revealDuration;
        uint32 validationDuration;
        bool requireImprovement;
        uint16 misreportPenaltyBps;
        uint96 minStake;
        uint96 missBond;
        uint96 blockReward;
        bytes32 evalSetHash;
        bytes32 architectureId;
        uint32 commitGrace;
    }

    /// @notice A miner's account.
    /// @param stake wei at stake
    /// @param lastRound the last round the miner committed in, or joined in
    /// @param registered whether the account is a miner
    /// @param active registered and seen in this round or the previous one (counted for early phase ends)
    struct MinerInfo {
        uint96 stake;
        uint64 lastRound;
        bool registered;
        bool active;
    }

    /// @notice A miner's claim in a round.
    /// @param status where the claim stands
    /// @param eligible revealed, at or above the threshold, above the head (if required) and with a fresh digest
    /// (a reused digest leaves the claim Revealed and ineligible)
    /// @param accuracyBps the claimed accuracy (once revealed)
    /// @param cidKind how `digest` becomes a CID (once revealed)
    /// @param position the miner's commit position in the round (0-based)
    /// @param commitment the commitment (until revealed; zero afterwards)
    /// @param digest the model's sha2-256 digest (once revealed; zero before)
    struct Claim {
        ClaimStatus status;
        bool eligible;
        uint16 accuracyBps;
        CidKind cidKind;
        uint16 position;
        bytes32 commitment;
        bytes32 digest;
    }

    /// @notice The current round as recorded, with its effective phase.
    /// @param round the round id
    /// @param phase the effective phase now
    /// @param deadline that phase's deadline (0: none yet)
    /// @param commits commitments received
    /// @param reveals claims revealed
    /// @param votes reports on the current candidate
    /// @param seats seats of the current candidate's committee (0 until drawn)
    /// @param quorum reports needed for a decision on the current candidate (0 until drawn)
    /// @param attempt validations opened this round (the current one included)
    /// @param candidate the best claim (during reveals) or the claim under validation
    /// @param candidateBps its claimed accuracy
    /// @param seedBlock the block whose hash seeds the committees (0 until the reveals end)
    /// @param seed the committee seed (zero until drawn)
    /// @param best the accepted claim with the highest median so far
    /// @param bestBps that median
    /// @param headBps the head block's accuracy when the round opened
    /// @param activeMiners miners counted for early phase ends
    struct RoundInfo {
        uint64 round;
        Phase phase;
        uint64 deadline;
        uint16 commits;
        uint16 reveals;
        uint16 votes;
        uint16 seats;
        uint16 quorum;
        uint16 attempt;
        address candidate;
        uint16 candidateBps;
        uint64 seedBlock;
        bytes32 seed;
        address best;
        uint16 bestBps;
        uint16 headBps;
        uint16 activeMiners;
    }

    /// @notice One block of the PoFL chain.
    /// @param height 0 = genesis
    /// @param round the round that produced it (0 for genesis)
    /// @param miner the miner whose model it is (zero for genesis)
    /// @param accuracyBps the median of the committee's measurements (0 for genesis)
    /// @param cidKind how `digest` becomes the model's CID
    /// @param digest the model's sha2-256 digest
    /// @param parentHash the previous block's hash (zero for genesis)
    /// @param blockHash keccak256(abi.encode(parentHash, round, miner, digest, cidKind, accuracyBps))
    struct Block {
        uint64 height;
        uint64 round;
        address miner;
        uint16 accuracyBps;
        CidKind cidKind;
        bytes32 digest;
        bytes32 parentHash;
        bytes32 blockHash;
    }

    // ----------------------------------------------------------------- events

    /// @notice `miner` registered with `stake` wei.
    event MinerRegistered(address indexed miner, uint256 stake);

    /// @notice `miner` added `amount` wei; its stake is now `stake`.
    event StakeAdded(address indexed miner, uint256 amount, uint256 stake);

    /// @notice `miner` left and was paid its stake and credit.
    event MinerLeft(address indexed miner, uint256 stakeReturned, uint256 creditPaid);

    /// @notice `miner`'s stake fell below minStake in `round`; it is no longer a miner and the rest of its stake,
    /// `stakeCredited`, is credited to it (withdrawRewards).
    event MinerEvicted(address indexed miner, uint64 indexed round, uint256 stakeCredited);

    /// @notice `amount` wei were added to the reward pool.
    event RewardsFunded(address indexed from, uint256 amount);

    /// @notice `account` withdrew `amount` wei of credit (rewards and refunds).
    event RewardsWithdrawn(address indexed account, uint256 amount);

    /// @notice The owner changed the configuration; `config` applies from round `fromRound`.
    event ConfigUpdated(uint64 indexed fromRound, Config config);

    /// @notice Round `round` opened at `openedAt` (seconds).
    event RoundOpened(uint64 indexed round, uint64 openedAt);

    /// @notice The recorded phase of `round` changed to `phase`, which ends at `deadline` (0: no deadline yet).
    event PhaseChanged(uint64 indexed round, Phase phase, uint64 deadline);

    /// @notice `miner` committed in `round` (its commit position: claimOf).
    event Committed(uint64 indexed round, address indexed miner);

    /// @notice `miner` revealed its claim in `round`; the model is now public under (digest, cidKind).
    event Revealed(
        uint64 indexed round,
        address indexed miner,
        bytes32 digest,
        CidKind cidKind,
        uint16 accuracyBps,
        bool eligible
    );

    /// @notice `miner`'s claim in `round` gains nothing: `digest` was revealed in round `firstRound` (an earlier
    /// round, or this round by an earlier committer).
    event DigestReused(uint64 indexed round, address indexed miner, bytes32 indexed digest, uint64 firstRound);

    /// @notice Validation number `attempt` of `round` opened for `candidate`'s claim of `claimedBps`; its
    /// committee is drawn from the hash of block `seedBlock` once that block is mined.
    event ValidationOpened(
        uint64 indexed round,
        address indexed candidate,
        uint16 claimedBps,
        uint16 attempt,
        uint64 seedBlock
    );

    /// @notice The committee of validation `attempt` of `round` was drawn from `seed`: `seats` seats, `quorum`
    /// reports needed, due by `deadline`.
    event CommitteeDrawn(
        uint64 indexed round,
        uint16 attempt,
        bytes32 seed,
        uint16 seats,
        uint16 quorum,
        uint64 deadline
    );

    /// @notice `validator` reported measuring `measuredBps` for the claim of validation `attempt`.
    event Voted(uint64 indexed round, address indexed validator, uint16 attempt, uint16 measuredBps);

    /// @notice `claimant`'s claim of `claimedBps` was decided as `outcome`; `medianBps` is the median of the
    /// `reports` reports of `seats` seats (0 without a quorum).
    event ClaimDecided(
        uint64 indexed round,
        address indexed claimant,
        ClaimStatus outcome,
        uint16 claimedBps,
        uint16 medianBps,
        uint16 reports,
        uint16 seats
    );

    /// @notice `amount` wei of `miner`'s stake went to the reward pool, for `reason`.
    event Penalized(uint64 indexed round, address indexed miner, PenaltyReason reason, uint256 amount);

    /// @notice Block `height` appended: `miner`'s model (digest, cidKind) at its measured `accuracyBps`.
    event BlockFinalized(
        uint64 indexed height,
        uint64 indexed round,
        address indexed miner,
        bytes32 digest,
        CidKind cidKind,
        uint16 accuracyBps,
        bytes32 parentHash,
        bytes32 blockHash,
        uint256 reward
    );

    /// @notice `round` ended without a block.
    event RoundFailed(uint64 indexed round, FailReason reason);

    /// @notice `claimant`'s claim in `round` was disputed (the round's first dispute): validation `attempt`, its
    /// appeal, opens at once with every committer that may still sit (not the claimant) as a seat, and is decided
    /// by stake (see `ClaimStatus`). Seats report as in any validation.
    event AppealOpened(uint64 indexed round, address indexed claimant, uint16 attempt);

    /// @notice The committee's (lower) median measurement of the parent block's model on the candidate's data
    /// (the evaluation set, or in hold-out mode the round's shard), which the candidate under validation
    /// `attempt` had to beat.
    event ParentMeasured(uint64 indexed round, uint16 attempt, uint16 parentBps);

    // ----------------------------------------------------------------- errors

    /// @notice A configuration value is out of range.
    /// @dev Ranges: thresholdBps <= 10000; toleranceBps <= 1000; 5000 < quorumBps <= 6666; committeeSize 0 or
    /// >= minCommittee; minCommittee >= 1; durations > 0; 1 <= seedLookahead <= 128; minStake > 0;
    /// 0 < missBond <= minStake; misreportPenaltyBps <= 10000; non-zero evalSetHash and architectureId;
    /// commitGrace <= commitDuration.
    error PoFLInvalidConfig(ConfigField field);

    /// @notice `account` is not a registered miner.
    /// @dev Register with register() and at least minStake wei (an evicted miner registers again).
    error PoFLNotAMiner(address account);

    /// @notice `miner` is already registered.
    error PoFLAlreadyRegistered(address miner);

    /// @notice `sent` wei is below the `required` minimum stake.
    /// @dev register() needs minStake wei. (A miner whose stake falls below it is evicted when its round closes,
    /// with the rest credited; it may register again.)
    error PoFLStakeTooLow(uint256 sent, uint256 required);

    /// @notice `cap` miners are already active.
    /// @dev Only active miners count: an idle miner stops counting after a round without a commitment.
    error PoFLTooManyMiners(uint256 cap);

    /// @notice The action named round `given`, but round `expected` is open.
    /// @dev Read currentPhase() and act in the round it names.
    error PoFLWrongRound(uint64 expected, uint64 given);

    /// @notice The action needs phase `expected` but the round is in phase `actual`.
    /// @dev Wait for the phase (currentPhase()); leave() is allowed only in the Commit phase.
    error PoFLWrongPhase(Phase expected, Phase actual);

    /// @notice A zero commitment.
    /// @dev Commit computeCommitment(round, digest, cidKind, accuracyBps, salt, miner).
    error PoFLEmptyCommitment();

    /// @notice `miner` already committed in `round`.
    /// @dev A miner commits once per round, and cannot leave in a round it committed in.
    error PoFLAlreadyCommitted(uint64 round, address miner);

    /// @notice `miner` did not commit in `round`.
    error PoFLNotCommitted(uint64 round, address miner);

    /// @notice `miner` already revealed in `round`.
    error PoFLAlreadyRevealed(uint64 round, address miner);

    /// @notice The opening hashes to `revealed`, not to the `committed` commitment.
    /// @dev Reveal exactly the digest, CID kind, accuracy and salt that were committed.
    error PoFLRevealMismatch(bytes32 committed, bytes32 revealed);

    /// @notice A report of `UNAVAILABLE` before the fetch deadline `until` (the committee's draw plus half the
    /// validation window): keep fetching the candidate until then, then report it unavailable.
    error PoFLFetchWindowOpen(uint256 until);

    /// @notice An accuracy above 10000 basis points.
    error PoFLAccuracyOutOfRange(uint256 accuracyBps);

    /// @notice A zero model digest.
    /// @dev Give the sha2-256 digest that the model's CID carries.
    error PoFLEmptyDigest();

    /// @notice The vote is for validation `given` of the round, but validation `current` is open.
    /// @dev Read roundInfo(): `attempt` numbers the validation, `candidate` is the claim to measure.
    error PoFLStaleValidation(uint16 current, uint16 given);

    /// @notice `miner` holds no seat on the current committee of `round`.
    /// @dev Only drawn seats report (committee()).
    error PoFLNotInCommittee(uint64 round, address miner);

    /// @notice `validator` already reported on the current candidate of `round`.
    error PoFLAlreadyVoted(uint64 round, address validator);

    /// @notice The committee is drawn from the hash of block `seedBlock`, which is not mined yet.
    /// @dev Wait for block seedBlock + 1 (on an automining devnet, send any transaction, e.g. advance()).
    error PoFLCommitteePending(uint64 seedBlock);

    /// @notice `account` has no credit to withdraw.
    error PoFLNothingToWithdraw(address account);

    /// @notice There is no block at `height`.
    /// @dev Heights run from 0 (genesis) to blockCount() - 1.
    error PoFLBlockNotFound(uint256 height);

    /// @notice Hold-out mode: no shard judges `round` (the requester has run out of shards or ended the task):
    /// wait for the requester to append shards.
    error PoFLNoShard(uint64 round);

    /// @notice Hold-out mode: `round`'s shard key is not revealed yet, so no accuracy on it can be claimed:
    /// wait for the requester's `KeyRevealed`.
    error PoFLShardKeyPending(uint64 round);

    /// @notice Only the hold-out task may call this (`caller` is not it).
    error PoFLNotHoldout(address caller);

    /// @notice Hold-out mode: the round has `commits` commitments, fewer than the `needed` a committee needs, so
    /// no shard is spent on it (its key is not taken; the round ends without a block and without a payment).
    error PoFLTooFewCommits(uint256 commits, uint256 needed);

    /// @notice Hold-out mode: the round's committers hold `committedStake` wei of the `totalStaked` staked, not
    /// more than half (the independence rule), so no shard is spent on it (its key is not taken; the round ends
    /// `NotIndependent`, without a block and without a payment): a minority, however many addresses it uses, can
    /// neither burn shards nor draw on the bond.
    error PoFLNotIndependent(uint256 committedStake, uint256 totalStaked);

    /// @notice The call needs a non-zero `msg.value`.
    error PoFLZeroValue();

    // -------------------------------------------------------------- staking

    /// @notice Registers the caller as a miner with `msg.value` (at least minStake) as stake.
    /// @dev The new miner is active from this round (it counts for the commit phase's early end).
    function register() external payable;

    /// @notice Adds `msg.value` to the caller's stake (a margin above minStake absorbs bonds and penalties).
    function addStake() external payable;

    /// @notice Leaves the miner set and pays back the caller's stake and credit.
    /// @dev Only in the Commit phase of a round the caller has not committed to: every penalty of earlier
    /// rounds is settled when they close, so leaving never escapes one.
    function leave() external;

    /// @notice Adds `msg.value` to the pool that pays block rewards.
    function fundRewards() external payable;

    /// @notice Pays the caller its credit: block rewards and the stake refunded on eviction.
    function withdrawRewards() external;

    // --------------------------------------------------------------- rounds

    /// @notice Commits to a claim for `round` without revealing it (the model stays private).
    /// @param round must be the current round (guards against acting on a stale one)
    /// @param commitment `computeCommitment(round, digest, cidKind, accuracyBps, salt, msg.sender)`
    /// @dev An inactive miner becomes active again (if the MAX_MINERS cap allows). The commit phase ends
    /// early once every active miner has committed, but not before `commitGrace` seconds from the round's first
    /// commit (then the first transaction or view after it sees the phase ended).
    function commit(uint64 round, bytes32 commitment) external;

    /// @notice Reveals the committed claim; publish the model (under its CID) now, not before.
    /// @param round must be the current round
    /// @param digest the model's content digest: the sha2-256 digest its canonical CID carries (a model is its
    /// weights: every reader refuses another encoding or CID kind of the same tensors)
    /// @param cidKind how the digest becomes the CID
    /// @param accuracyBps the accuracy the miner measured on the evaluation set (hold-out mode: on the round's
    /// shard)
    /// @param parentBps the parent (head) block's accuracy as the miner measured it on the same data (the
    /// evaluation set, or the round's shard): the claim must beat it to be eligible, and it is the claimant's
    /// parent report if its claim goes to appeal (weighed by its stake); hold-out mode: 65535
    /// (SHARD_UNOPENED) if the round's shard does not open with its revealed key (the claim is then ineligible)
    /// @param salt the secret salt of the commitment
    /// @dev Eligible: at or above the threshold, above `parentBps` (with requireImprovement; the committee then
    /// measures the parent itself, so a low `parentBps` buys nothing, and a recorded head that was faked cannot
    /// make every later claim ineligible) and a digest not revealed before (see PoFLConsensus's
    /// notes). The best eligible claim (ties: earliest commit) is the first candidate. The reveal phase ends
    /// early once every committer has revealed.
    function reveal(
        uint64 round,
        bytes32 digest,
        CidKind cidKind,
        uint16 accuracyBps,
        uint16 parentBps,
        bytes32 salt
    ) external;

    /// @notice Reports the accuracy the caller measured for the claim under validation and for the parent (head)
    /// block's model, on the same data (public mode: the evaluation set; hold-out mode: the round's shard).
    /// @param round must be the current round
    /// @param attempt the validation measured (`roundInfo(round).attempt`; guards against a candidate that
    /// changed since the caller measured it)
    /// @param measuredBps the candidate's accuracy (0 for a model that was fetched but does not load), or
    /// `UNAVAILABLE` (65534) for a model the caller could not fetch: accepted only from the fetch deadline on
    /// (the committee's draw plus half the validation window, `PoFLFetchWindowOpen` before it), never penalized;
    /// at least a third of the seats reporting it makes the claim `Unavailable` (the claimant pays)
    /// @param parentBps the head block's accuracy on the same data: "must beat the parent" is decided on these
    /// reports by the candidate's rules (2/3 within the tolerance of their lower median, else a dispute), and a
    /// parent report further than the tolerance from that median is penalized as a misreport
    /// @dev Only seats of the drawn committee report; the first report after the seed block is mined may draw
    /// the committee. Validation ends early once every seat has reported.
    function vote(uint64 round, uint16 attempt, uint16 measuredBps, uint16 parentBps) external;

    /// @notice Hold-out mode, called by the hold-out task only: `round`'s shard key is being revealed. Opens the
    /// round's reveal window (a full `revealDuration` from now) and returns the index of the shard the round
    /// gets (the next unused one; see IPoFLHoldoutHooks).
    /// @dev Reverts unless `round` is current, its commits have closed, its key is not revealed yet, it has
    /// enough commitments for a committee (more than minCommittee) and its committers hold more than half the
    /// staked wei (the independence rule; `PoFLNotIndependent` otherwise).
    function onKeyRevealed(uint64 round) external returns (uint256 index);

    /// @notice Records what deadlines and the seed block have made happen (phase changes, the committee draw).
    /// Anyone may call it; every action does the same first.
    function advance() external;

    /// @notice Decides the claim under validation and then opens the next validation, or appends the block
    /// (the accepted claim with the highest median) or records a failed round, and opens the next round.
    /// Anyone may call it in the Finalize phase.
    /// @dev Decision ("agreeing": reports at least the claim minus the tolerance; "clustered": 2/3 of the reports
    /// within the tolerance of their lower median): fewer reports than the quorum -> NoQuorum; >= 2/3 agreeing
    /// and clustered, and (with requireImprovement) the parent's reports clustered too -> Unimproved when the
    /// median is under the threshold or does not beat the parent's median (the search ends where more than a
    /// third of the seats measured the candidate above the parent), else Accepted at
    /// the median; >= 2/3 not agreeing -> Rejected (whole stake slashed);
    /// otherwise Disputed: the round's first dispute opens its appeal (the same claim, every committer that may
    /// still sit, decided by stake: see `ClaimStatus`); a later one, or one that stands on appeal, has no slash
    /// and no penalty and ends the search. Seats that did not report forfeit missBond
    /// and their own claims' eligibility; where clustered, reports further than the tolerance from the median
    /// cost misreportPenaltyBps of the reporter's stake, and so do parent reports beyond the tolerance of the
    /// parent's median where those cluster. The next candidate is the best unvalidated eligible
    /// claim that could still beat the best median.
    function finalize() external;

    // ---------------------------------------------------------------- admin

    /// @notice Sets the phase durations (seconds, each > 0); they apply from the next round. Owner only.
    function setPhaseDurations(uint32 commitSeconds, uint32 revealSeconds, uint32 validationSeconds) external;

    /// @notice Sets the validation rules; they apply from the next round. Owner only.
    function setValidation(uint16 toleranceBps, uint16 quorumBps, uint16 committeeSize, uint16 minCommittee) external;

    /// @notice Sets the bond for an unrevealed commitment or unused seat and the misreport penalty; they apply
    /// from the next round. Owner only.
    function setPenalties(uint96 missBond, uint16 misreportPenaltyBps) external;

    /// @notice Sets the reward credited for each block; it applies from the next round. Owner only.
    function setBlockReward(uint96 reward) external;

    // ---------------------------------------------------------------- views

    /// @notice The commitment a miner sends in `commit` (in hold-out mode with `accuracyBps` 0: the accuracy is
    /// measured on the round's shard after commits close, and declared in `reveal`).
    /// @return keccak256(abi.encode(round, digest, cidKind, accuracyBps, salt, miner))
    function computeCommitment(
        uint64 round,
        bytes32 digest,
        CidKind cidKind,
        uint16 accuracyBps,
        bytes32 salt,
        address miner
    ) external pure returns (bytes32);

    /// @notice The read-only contract whose code serves this contract's views (`IPoFLLens`): a call of a
    /// function this contract does not have runs that code on this contract's storage. Deployed by this
    /// contract's constructor; call the views at this contract's address, not at the lens's.
    function lens() external view returns (address);
}
