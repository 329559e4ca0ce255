// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title PoFLConsensus: Proof-of-Federated-Learning rounds on an EVM chain
/// @notice Miners stake, then each round commit to (model CID, accuracy), reveal it, and a
/// committee of other miners re-evaluates the best eligible claim and votes. An approved claim
/// becomes the round's block, hash-linked to its parent; a claim the committee rejects is
/// slashed and the next-best claim is validated instead.
/// @dev Phases advance eagerly when every participant has acted and lazily by
/// `block.timestamp` deadlines otherwise: `_effectivePhase` is the single place that decides
/// deadline transitions, `_advance` records them. Every loop is bounded by MAX_MINERS.
contract PoFLConsensus {
    // ------------------------------------------------------------------ types

    /// @notice Round phases. `Finalize` means: call `finalize()`.
    enum Phase {
        Commit,
        Reveal,
        Validation,
        Finalize
    }

    /// @notice Why a round ended without a block.
    enum FailReason {
        NoEligibleClaim,
        AllClaimsRejected,
        ValidationInconclusive
    }

    /// @notice A validator's vote on a claim.
    enum Vote {
        None,
        Approve,
        Reject
    }

    /// @notice Deploy-time configuration. Bps = basis points (10000 = 1.0).
    struct Config {
        uint16 thresholdBps; // a claim must reach this accuracy to be eligible
        uint16 toleranceBps; // approve iff measured >= claimed - tolerance
        uint16 quorumBps; // share of the committee whose votes decide (> 5000)
        uint16 committeeSize; // validators per claim; 0 = every other miner
        uint32 commitDuration; // seconds, counted from the round's first commit
        uint32 revealDuration; // seconds
        uint32 validationDuration; // seconds
        bool requireImprovement; // a block must beat its parent's accuracy
        uint256 minStake; // wei a miner must stake
        uint256 blockReward; // wei credited to a block's miner
        bytes32 evalSetHash; // sha256 of the evaluation set every miner uses
        bytes32 architectureId; // id of the model architecture
    }

    struct MinerInfo {
        uint256 stake;
        uint32 index; // position in `_miners`
        bool registered;
    }

    struct Claim {
        bytes32 commitment;
        uint16 accuracyBps;
        bool revealed;
        bool eligible;
        bool rejected;
        string cid;
    }

    struct Round {
        uint64 openedAt;
        uint64 commitDeadline; // 0 until the round's first commit
        uint64 revealDeadline;
        uint64 validationDeadline;
        uint16 commits;
        uint16 reveals;
        uint16 approvals; // for the current candidate
        uint16 rejections; // for the current candidate
        uint16 committeeN; // miners.length at the last reveal (committee is drawn from [0, N))
        uint16 committeeK; // committee size for this round
        uint16 quorum; // votes that decide
        Phase phase; // recorded phase; `phase()` gives the effective one
        address candidate; // best unrejected eligible claim
        uint256 seed; // hash chain over every reveal's salt and block.prevrandao
    }

    struct Block {
        uint64 height;
        uint64 round;
        address miner;
        uint16 accuracyBps;
        bytes32 parentHash;
        bytes32 blockHash;
        string cid;
    }

    // -------------------------------------------------------------- constants

    /// @notice The most miners the contract admits; bounds every loop.
    uint256 public constant MAX_MINERS = 256;
    /// @notice The longest CID (bytes) a claim or the genesis may carry.
    uint256 public constant MAX_CID_LENGTH = 128;
    /// @notice Basis points in 1.0 (accuracies and shares are in basis points).
    uint16 public constant BPS = 10000;

    // ------------------------------------------------------------------ state

    /// @notice The account that may change the adjustable configuration.
    address public owner;
    Config private _config;
    /// @notice The round now open (starts at 1).
    uint64 public currentRound;
    /// @notice Wei staked by all miners.
    uint256 public totalStaked;
    /// @notice Wei available for block rewards (funding plus slashed stakes).
    uint256 public rewardPool;
    /// @notice Wei credited to miners and not yet withdrawn.
    uint256 public totalPendingRewards;
    /// @notice Registered miners whose stake is at least minStake.
    uint256 public activeMinerCount;

    address[] private _miners;
    mapping(address => MinerInfo) private _minerInfo;
    /// @notice Wei credited to each miner and not yet withdrawn.
    mapping(address => uint256) public pendingRewards;
    mapping(uint64 => Round) private _rounds;
    mapping(uint64 => mapping(address => Claim)) private _claims;
    mapping(uint64 => address[]) private _eligibleClaimants;
    mapping(uint64 => mapping(address => mapping(address => Vote))) private _votes;
    Block[] private _blocks;
    uint256 private _lock = 1;

    // ----------------------------------------------------------------- events

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event ConfigChanged(bytes32 indexed key, uint256 value);
    event MinerRegistered(address indexed miner, uint256 stake, uint256 index);
    event StakeAdded(address indexed miner, uint256 amount, uint256 stake);
    event MinerLeft(address indexed miner, uint256 stakeReturned, uint256 rewardsPaid);
    event RewardsFunded(address indexed from, uint256 amount);
    event RewardsWithdrawn(address indexed miner, uint256 amount);
    event RoundOpened(uint64 indexed round, uint64 openedAt);
    event PhaseChanged(uint64 indexed round, Phase phase, uint64 deadline);
    event Committed(uint64 indexed round, address indexed miner, bytes32 commitment);
    event Revealed(uint64 indexed round, address indexed miner, string cid, uint16 accuracyBps, bool eligible);
    event ValidationOpened(
        uint64 indexed round,
        address indexed candidate,
        uint16 accuracyBps,
        uint64 deadline,
        uint256 seed,
        uint16 committeeSize,
        uint16 quorum
    );
    event Voted(
        uint64 indexed round, address indexed claimant, address indexed validator, uint16 measuredBps, bool approve
    );
    event ClaimRejected(uint64 indexed round, address indexed miner, uint16 claimedBps, uint16 rejections);
    event Slashed(address indexed miner, uint256 amount);
    event BlockFinalized(
        uint64 indexed height,
        uint64 indexed round,
        address indexed miner,
        string cid,
        uint16 accuracyBps,
        bytes32 parentHash,
        bytes32 blockHash,
        uint256 reward
    );
    event RoundFailed(uint64 indexed round, FailReason reason);

    // ----------------------------------------------------------------- errors

    error NotOwner(address caller);
    error InvalidConfig(string field);
    error NotAMiner(address account);
    error MinerInactive(address miner);
    error AlreadyRegistered(address miner);
    error StakeTooLow(uint256 sent, uint256 required);
    error TooManyMiners(uint256 cap);
    error WrongRound(uint64 expected, uint64 given);
    error WrongPhase(Phase expected, Phase actual);
    error EmptyCommitment();
    error AlreadyCommitted(uint64 round, address miner);
    error NotCommitted(uint64 round, address miner);
    error AlreadyRevealed(uint64 round, address miner);
    error RevealMismatch(bytes32 committed, bytes32 revealed);
    error AccuracyOutOfRange(uint256 accuracyBps);
    error EmptyCid();
    error CidTooLong(uint256 length, uint256 max);
    error StaleCandidate(address current, address given);
    error VotingOnOwnClaim(address miner);
    error NotInCommittee(uint64 round, address miner);
    error AlreadyVoted(uint64 round, address validator);
    error LeaveNotAllowed(string reason);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);
    error Reentrancy();
    error BlockNotFound(uint256 height);
    error ZeroValue();

    // -------------------------------------------------------------- modifiers

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier nonReentrant() {
        if (_lock != 1) revert Reentrancy();
        _lock = 2;
        _;
        _lock = 1;
    }

    // ------------------------------------------------------------ constructor

    /// @notice Deploys the consensus with its configuration and genesis model; opens round 1.
    /// @param config_ the protocol parameters (see `Config`)
    /// @param genesisCid the CID of the initial model every miner starts from
    /// @dev `msg.value` seeds the reward pool.
    constructor(Config memory config_, string memory genesisCid) payable {
        _checkConfig(config_);
        _checkCid(genesisCid);
        _config = config_;
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        bytes32 genesisHash = keccak256(abi.encode(bytes32(0), uint64(0), address(0), genesisCid, uint16(0)));
        _blocks.push(Block(0, 0, address(0), 0, bytes32(0), genesisHash, genesisCid));
        emit BlockFinalized(0, 0, address(0), genesisCid, 0, bytes32(0), genesisHash, 0);
        if (msg.value > 0) {
            rewardPool = msg.value;
            emit RewardsFunded(msg.sender, msg.value);
        }
        _openRound(1);
    }

    // ----------------------------------------------------------------- miners

    /// @notice Registers the caller as a miner with `msg.value` as stake.
    /// @dev Reverts with AlreadyRegistered, StakeTooLow or TooManyMiners.
    function register() external payable {
        if (_minerInfo[msg.sender].registered) revert AlreadyRegistered(msg.sender);
        if (msg.value < _config.minStake) revert StakeTooLow(msg.value, _config.minStake);
        if (_miners.length >= MAX_MINERS) revert TooManyMiners(MAX_MINERS);
        _minerInfo[msg.sender] = MinerInfo(msg.value, uint32(_miners.length), true);
        _miners.push(msg.sender);
        totalStaked += msg.value;
        activeMinerCount += 1;
        emit MinerRegistered(msg.sender, msg.value, _miners.length - 1);
    }

    /// @notice Adds `msg.value` to the caller's stake; a slashed miner becomes active again
    /// once its stake reaches `minStake`.
    function addStake() external payable {
        MinerInfo storage info = _minerInfo[msg.sender];
        if (!info.registered) revert NotAMiner(msg.sender);
        if (msg.value == 0) revert ZeroValue();
        bool wasActive = info.stake >= _config.minStake;
        info.stake += msg.value;
        totalStaked += msg.value;
        if (!wasActive && info.stake >= _config.minStake) activeMinerCount += 1;
        emit StakeAdded(msg.sender, msg.value, info.stake);
    }

    /// @notice Leaves the miner set and pays back the caller's stake and pending rewards.
    /// @dev Allowed only in the Commit phase of a round the caller has not committed to, so
    /// no open claim, reveal or committee seat is abandoned.
    function leave() external nonReentrant {
        MinerInfo memory info = _minerInfo[msg.sender];
        if (!info.registered) revert NotAMiner(msg.sender);
        Round storage r = _rounds[currentRound];
        _advance(r);
        if (r.phase != Phase.Commit) revert LeaveNotAllowed("only during the Commit phase");
        if (_claims[currentRound][msg.sender].commitment != bytes32(0)) {
            revert LeaveNotAllowed("committed to the current round");
        }
        // effects
        address last = _miners[_miners.length - 1];
        _miners[info.index] = last;
        _minerInfo[last].index = info.index;
        _miners.pop();
        delete _minerInfo[msg.sender];
        totalStaked -= info.stake;
        if (info.stake >= _config.minStake) activeMinerCount -= 1;
        uint256 rewards = pendingRewards[msg.sender];
        pendingRewards[msg.sender] = 0;
        totalPendingRewards -= rewards;
        emit MinerLeft(msg.sender, info.stake, rewards);
        if (r.commits > 0 && r.commits >= activeMinerCount) _openReveal(r, uint64(block.timestamp) + _config.revealDuration);
        // interaction
        _pay(msg.sender, info.stake + rewards);
    }

    /// @notice Adds `msg.value` to the pool that pays block rewards.
    function fundRewards() external payable {
        if (msg.value == 0) revert ZeroValue();
        rewardPool += msg.value;
        emit RewardsFunded(msg.sender, msg.value);
    }

    /// @notice Pays the caller the block rewards credited to it.
    function withdrawRewards() external nonReentrant {
        uint256 amount = pendingRewards[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        pendingRewards[msg.sender] = 0;
        totalPendingRewards -= amount;
        emit RewardsWithdrawn(msg.sender, amount);
        _pay(msg.sender, amount);
    }

    // ----------------------------------------------------------------- rounds

    /// @notice Commits to a claim for `round` without revealing it.
    /// @param round must be `currentRound` (guards against acting on a stale round)
    /// @param commitment `computeCommitment(round, cid, accuracyBps, salt, msg.sender)`
    function commit(uint64 round, bytes32 commitment) external {
        Round storage r = _activeRound(round, Phase.Commit);
        if (commitment == bytes32(0)) revert EmptyCommitment();
        Claim storage claim = _claims[round][msg.sender];
        if (claim.commitment != bytes32(0)) revert AlreadyCommitted(round, msg.sender);
        claim.commitment = commitment;
        if (r.commits == 0) {
            r.commitDeadline = uint64(block.timestamp) + _config.commitDuration;
            emit PhaseChanged(round, Phase.Commit, r.commitDeadline);
        }
        r.commits += 1;
        emit Committed(round, msg.sender, commitment);
        if (r.commits >= activeMinerCount) _openReveal(r, uint64(block.timestamp) + _config.revealDuration);
    }

    /// @notice Reveals the committed claim. An eligible claim (at or above the threshold and,
    /// with `requireImprovement`, above the latest block's accuracy) may become the candidate;
    /// ties go to the earliest reveal.
    /// @param round must be `currentRound`
    /// @param cid the IPFS CID of the model (1..MAX_CID_LENGTH bytes)
    /// @param accuracyBps the accuracy the miner measured on the evaluation set
    /// @param salt the secret salt used in the commitment
    function reveal(uint64 round, string calldata cid, uint16 accuracyBps, bytes32 salt) external {
        Round storage r = _activeRound(round, Phase.Reveal);
        Claim storage claim = _claims[round][msg.sender];
        if (claim.commitment == bytes32(0)) revert NotCommitted(round, msg.sender);
        if (claim.revealed) revert AlreadyRevealed(round, msg.sender);
        if (accuracyBps > BPS) revert AccuracyOutOfRange(accuracyBps);
        _checkCid(cid);
        bytes32 expected = computeCommitment(round, cid, accuracyBps, salt, msg.sender);
        if (expected != claim.commitment) revert RevealMismatch(claim.commitment, expected);

        bool eligible = accuracyBps >= _config.thresholdBps
            && (!_config.requireImprovement || accuracyBps > _blocks[_blocks.length - 1].accuracyBps);
        claim.revealed = true;
        claim.eligible = eligible;
        claim.accuracyBps = accuracyBps;
        claim.cid = cid;
        r.reveals += 1;
        // The committee is fixed by the last reveal, before any transaction records the
        // Validation phase: every miner can tell whether it sits on it as soon as reveals close.
        r.seed = uint256(keccak256(abi.encode(r.seed, salt, block.prevrandao)));
        uint256 k = _committeeSize(_miners.length);
        r.committeeN = uint16(_miners.length);
        r.committeeK = uint16(k);
        r.quorum = uint16(k == 0 ? 0 : _max(1, (k * _config.quorumBps + BPS - 1) / BPS));
        if (eligible) {
            _eligibleClaimants[round].push(msg.sender);
            if (r.candidate == address(0) || accuracyBps > _claims[round][r.candidate].accuracyBps) {
                r.candidate = msg.sender;
            }
        }
        emit Revealed(round, msg.sender, cid, accuracyBps, eligible);
        if (r.reveals == r.commits) _closeReveal(r, uint64(block.timestamp) + _config.validationDuration);
    }

    /// @notice Votes on the current candidate after re-evaluating its model. The vote is an
    /// approval iff `measuredBps + toleranceBps >= claimed accuracy`.
    /// @param round must be `currentRound`
    /// @param claimant the candidate voted on (guards against a candidate that changed)
    /// @param measuredBps the accuracy the validator measured itself
    function vote(uint64 round, address claimant, uint16 measuredBps) external {
        Round storage r = _activeRound(round, Phase.Validation);
        if (claimant != r.candidate) revert StaleCandidate(r.candidate, claimant);
        if (msg.sender == claimant) revert VotingOnOwnClaim(msg.sender);
        if (!isValidator(round, msg.sender)) revert NotInCommittee(round, msg.sender);
        if (_votes[round][claimant][msg.sender] != Vote.None) revert AlreadyVoted(round, msg.sender);
        if (measuredBps > BPS) revert AccuracyOutOfRange(measuredBps);

        Claim storage claim = _claims[round][claimant];
        bool approve = uint256(measuredBps) + _config.toleranceBps >= claim.accuracyBps;
        _votes[round][claimant][msg.sender] = approve ? Vote.Approve : Vote.Reject;
        if (approve) r.approvals += 1;
        else r.rejections += 1;
        emit Voted(round, claimant, msg.sender, measuredBps, approve);

        if (r.rejections >= r.quorum) {
            claim.rejected = true;
            emit ClaimRejected(round, claimant, claim.accuracyBps, r.rejections);
            _slash(claimant);
            _setPhase(r, round, Phase.Finalize, 0);
        } else if (r.approvals >= r.quorum || r.approvals + r.rejections >= r.committeeK) {
            _setPhase(r, round, Phase.Finalize, 0);
        }
    }

    /// @notice Records deadline-driven phase changes of the current round. Anyone may call
    /// it; every action does the same implicitly.
    function advance() external {
        _advance(_rounds[currentRound]);
    }

    /// @notice Ends the validation of the current round: appends the approved candidate as a
    /// block (or, after a rejection, opens validation of the next-best claim), credits the
    /// block reward and opens the next round. Anyone may call it in the Finalize phase.
    /// @dev Without a quorum at the deadline the candidate wins iff approvals > rejections.
    function finalize() external {
        uint64 round = currentRound;
        Round storage r = _rounds[round];
        _advance(r);
        if (r.phase != Phase.Finalize) revert WrongPhase(Phase.Finalize, r.phase);
        address candidate = r.candidate;
        if (candidate == address(0)) {
            _failRound(round, FailReason.NoEligibleClaim);
        } else if (_claims[round][candidate].rejected) {
            address next = _nextBestClaim(round);
            if (next == address(0)) {
                _failRound(round, FailReason.AllClaimsRejected);
            } else {
                r.candidate = next;
                _openValidation(r, round, uint64(block.timestamp) + _config.validationDuration);
            }
        } else if (r.committeeK == 0 || r.approvals >= r.quorum || r.approvals > r.rejections) {
            _appendBlock(round, candidate);
        } else {
            _failRound(round, FailReason.ValidationInconclusive);
        }
    }

    // ------------------------------------------------------------------ admin

    /// @notice Sets the three phase durations (seconds, each > 0); applies to phases opened later.
    function setPhaseDurations(uint32 commitSeconds, uint32 revealSeconds, uint32 validationSeconds)
        external
        onlyOwner
    {
        if (commitSeconds == 0 || revealSeconds == 0 || validationSeconds == 0) revert InvalidConfig("duration");
        _config.commitDuration = commitSeconds;
        _config.revealDuration = revealSeconds;
        _config.validationDuration = validationSeconds;
        emit ConfigChanged("commitDuration", commitSeconds);
        emit ConfigChanged("revealDuration", revealSeconds);
        emit ConfigChanged("validationDuration", validationSeconds);
    }

    /// @notice Sets the validation rules; apply from the next validation opened.
    function setValidation(uint16 toleranceBps, uint16 quorumBps, uint16 committeeSize) external onlyOwner {
        Config memory c = _config;
        c.toleranceBps = toleranceBps;
        c.quorumBps = quorumBps;
        c.committeeSize = committeeSize;
        _checkConfig(c);
        _config = c;
        emit ConfigChanged("toleranceBps", toleranceBps);
        emit ConfigChanged("quorumBps", quorumBps);
        emit ConfigChanged("committeeSize", committeeSize);
    }

    /// @notice Sets the reward credited for each block (paid from the reward pool while it lasts).
    function setBlockReward(uint256 reward) external onlyOwner {
        _config.blockReward = reward;
        emit ConfigChanged("blockReward", reward);
    }

    /// @notice Hands ownership (the setters above) to `newOwner`.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert InvalidConfig("owner");
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    // ------------------------------------------------------------------ views

    /// @notice The commitment a miner sends in `commit`.
    function computeCommitment(uint64 round, string calldata cid, uint16 accuracyBps, bytes32 salt, address miner)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(round, cid, accuracyBps, salt, miner));
    }

    /// @notice The configuration in force.
    function config() external view returns (Config memory) {
        return _config;
    }

    /// @notice The current round, its effective phase now (deadlines included) and that
    /// phase's deadline (0: none yet, as in a Commit phase before its first commit, or Finalize).
    function currentPhase() external view returns (uint64 round, Phase phase_, uint64 deadline) {
        round = currentRound;
        Round storage r = _rounds[round];
        uint64 revealDeadline;
        uint64 validationDeadline;
        (phase_, revealDeadline, validationDeadline) = _effectivePhase(r);
        if (phase_ == Phase.Commit) deadline = r.commitDeadline;
        else if (phase_ == Phase.Reveal) deadline = revealDeadline;
        else if (phase_ == Phase.Validation) deadline = validationDeadline;
    }

    /// @notice The recorded state of `round`.
    function roundInfo(uint64 round) external view returns (Round memory) {
        return _rounds[round];
    }

    /// @notice `miner`'s claim in `round` (commitment; cid and accuracy once revealed).
    function claimOf(uint64 round, address miner) external view returns (Claim memory) {
        return _claims[round][miner];
    }

    /// @notice `validator`'s vote on `claimant`'s claim in `round`.
    function voteOf(uint64 round, address claimant, address validator) external view returns (Vote) {
        return _votes[round][claimant][validator];
    }

    /// @notice Whether `miner` sits on the committee of `round`'s current candidate.
    /// @dev The committee is the `committeeK` miners that follow `seed % N` cyclically in the
    /// miner list, skipping the candidate; seed, N and K are fixed by the round's last reveal.
    /// O(1). Meaningful while the round is current.
    function isValidator(uint64 round, address miner) public view returns (bool) {
        Round storage r = _rounds[round];
        MinerInfo storage info = _minerInfo[miner];
        uint256 n = r.committeeN;
        if (n == 0 || !info.registered || miner == r.candidate || info.index >= n) return false;
        if (info.stake < _config.minStake) return false;
        uint256 start = r.seed % n;
        uint256 d = (info.index + n - start) % n;
        uint256 dc = (_minerInfo[r.candidate].index + n - start) % n;
        return dc < r.committeeK ? d <= r.committeeK : d < r.committeeK;
    }

    /// @notice Miner `account`'s stake, position, and whether it is registered and active.
    function minerInfo(address account)
        external
        view
        returns (uint256 stake, uint256 index, bool registered, bool active)
    {
        MinerInfo storage info = _minerInfo[account];
        return (info.stake, info.index, info.registered, info.registered && info.stake >= _config.minStake);
    }

    /// @notice All registered miners, in committee order.
    function miners() external view returns (address[] memory) {
        return _miners;
    }

    /// @notice The number of blocks, genesis included.
    function blockCount() external view returns (uint256) {
        return _blocks.length;
    }

    /// @notice The block at `height` (0 = genesis).
    function blockAt(uint256 height) external view returns (Block memory) {
        if (height >= _blocks.length) revert BlockNotFound(height);
        return _blocks[height];
    }

    /// @notice The newest block.
    function latestBlock() external view returns (Block memory) {
        return _blocks[_blocks.length - 1];
    }

    // -------------------------------------------------------------- internals

    function _activeRound(uint64 round, Phase expected) private returns (Round storage r) {
        MinerInfo storage info = _minerInfo[msg.sender];
        if (!info.registered) revert NotAMiner(msg.sender);
        if (info.stake < _config.minStake) revert MinerInactive(msg.sender);
        if (round != currentRound) revert WrongRound(currentRound, round);
        r = _rounds[round];
        _advance(r);
        if (r.phase != expected) revert WrongPhase(expected, r.phase);
    }

    /// @dev The phase deadlines make of the recorded phase, and the deadlines that follow.
    function _effectivePhase(Round storage r)
        private
        view
        returns (Phase p, uint64 revealDeadline, uint64 validationDeadline)
    {
        p = r.phase;
        revealDeadline = r.revealDeadline;
        validationDeadline = r.validationDeadline;
        uint64 t = uint64(block.timestamp);
        if (p == Phase.Commit) {
            if (r.commits == 0 || t < r.commitDeadline) return (p, revealDeadline, validationDeadline);
            p = Phase.Reveal;
            revealDeadline = r.commitDeadline + _config.revealDuration;
        }
        if (p == Phase.Reveal) {
            if (t < revealDeadline) return (p, revealDeadline, validationDeadline);
            validationDeadline = revealDeadline + _config.validationDuration;
            if (r.candidate == address(0) || r.committeeK == 0) {
                return (Phase.Finalize, revealDeadline, validationDeadline);
            }
            p = Phase.Validation;
        }
        if (p == Phase.Validation && t >= validationDeadline) p = Phase.Finalize;
    }

    /// @dev Records what `_effectivePhase` says has happened.
    function _advance(Round storage r) private {
        (Phase p, uint64 revealDeadline, uint64 validationDeadline) = _effectivePhase(r);
        Phase recorded = r.phase;
        if (p == recorded) return;
        if (recorded == Phase.Commit) _openReveal(r, revealDeadline);
        if (p == Phase.Reveal) return;
        if (recorded != Phase.Validation) _closeReveal(r, validationDeadline);
        if (p == Phase.Finalize && r.phase != Phase.Finalize) _setPhase(r, currentRound, Phase.Finalize, 0);
    }

    function _openReveal(Round storage r, uint64 deadline) private {
        r.revealDeadline = deadline;
        _setPhase(r, currentRound, Phase.Reveal, deadline);
    }

    /// @dev Opens validation of the best claim, or goes to Finalize when there is none to validate.
    function _closeReveal(Round storage r, uint64 validationDeadline) private {
        if (r.candidate == address(0) || r.committeeK == 0) {
            _setPhase(r, currentRound, Phase.Finalize, 0);
        } else {
            _openValidation(r, currentRound, validationDeadline);
        }
    }

    function _openValidation(Round storage r, uint64 round, uint64 deadline) private {
        r.approvals = 0;
        r.rejections = 0;
        r.validationDeadline = deadline;
        _setPhase(r, round, Phase.Validation, deadline);
        emit ValidationOpened(
            round, r.candidate, _claims[round][r.candidate].accuracyBps, deadline, r.seed, r.committeeK, r.quorum
        );
        if (r.committeeK == 0) _setPhase(r, round, Phase.Finalize, 0);
    }

    function _setPhase(Round storage r, uint64 round, Phase p, uint64 deadline) private {
        r.phase = p;
        emit PhaseChanged(round, p, deadline);
    }

    function _committeeSize(uint256 minerCount) private view returns (uint256) {
        if (minerCount <= 1) return 0;
        uint256 others = minerCount - 1;
        uint256 k = _config.committeeSize;
        return k == 0 || k > others ? others : k;
    }

    /// @dev The best eligible, unrejected claim of `round`, earliest reveal first on ties.
    /// Bounded: at most MAX_MINERS claimants.
    function _nextBestClaim(uint64 round) private view returns (address best) {
        address[] storage claimants = _eligibleClaimants[round];
        uint16 bestAcc;
        for (uint256 i = 0; i < claimants.length; ++i) {
            Claim storage c = _claims[round][claimants[i]];
            if (!c.rejected && (best == address(0) || c.accuracyBps > bestAcc)) {
                best = claimants[i];
                bestAcc = c.accuracyBps;
            }
        }
    }

    function _slash(address miner) private {
        MinerInfo storage info = _minerInfo[miner];
        uint256 amount = info.stake;
        if (amount >= _config.minStake) activeMinerCount -= 1;
        info.stake = 0;
        totalStaked -= amount;
        rewardPool += amount;
        emit Slashed(miner, amount);
    }

    function _appendBlock(uint64 round, address miner) private {
        Claim storage claim = _claims[round][miner];
        Block storage parent = _blocks[_blocks.length - 1];
        bytes32 parentHash = parent.blockHash;
        bytes32 blockHash = keccak256(abi.encode(parentHash, round, miner, claim.cid, claim.accuracyBps));
        uint64 height = uint64(_blocks.length);
        _blocks.push(Block(height, round, miner, claim.accuracyBps, parentHash, blockHash, claim.cid));
        uint256 reward = _config.blockReward < rewardPool ? _config.blockReward : rewardPool;
        if (reward > 0) {
            rewardPool -= reward;
            pendingRewards[miner] += reward;
            totalPendingRewards += reward;
        }
        emit BlockFinalized(height, round, miner, claim.cid, claim.accuracyBps, parentHash, blockHash, reward);
        _openRound(round + 1);
    }

    function _failRound(uint64 round, FailReason reason) private {
        emit RoundFailed(round, reason);
        _openRound(round + 1);
    }

    function _openRound(uint64 round) private {
        currentRound = round;
        _rounds[round].openedAt = uint64(block.timestamp);
        emit RoundOpened(round, uint64(block.timestamp));
    }

    /// @dev Sends ETH; a receiver that reverts with data has its error bubbled up, one that
    /// reverts without data gets TransferFailed.
    function _pay(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok, bytes memory data) = to.call{value: amount}("");
        if (!ok) {
            if (data.length == 0) revert TransferFailed(to, amount);
            assembly ("memory-safe") {
                revert(add(data, 32), mload(data))
            }
        }
    }

    function _checkCid(string memory cid) private pure {
        uint256 length = bytes(cid).length;
        if (length == 0) revert EmptyCid();
        if (length > MAX_CID_LENGTH) revert CidTooLong(length, MAX_CID_LENGTH);
    }

    function _checkConfig(Config memory c) private pure {
        if (c.thresholdBps > BPS) revert InvalidConfig("thresholdBps");
        if (c.toleranceBps > BPS) revert InvalidConfig("toleranceBps");
        if (c.quorumBps <= BPS / 2 || c.quorumBps > BPS) revert InvalidConfig("quorumBps");
        if (c.commitDuration == 0 || c.revealDuration == 0 || c.validationDuration == 0) {
            revert InvalidConfig("duration");
        }
        if (c.evalSetHash == bytes32(0)) revert InvalidConfig("evalSetHash");
        if (c.architectureId == bytes32(0)) revert InvalidConfig("architectureId");
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a : b;
    }
}
