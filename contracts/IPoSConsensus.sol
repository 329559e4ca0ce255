// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IHashChain} from "./IHashChain.sol";
import {IStakeLedger} from "./IStakeLedger.sol";

/// @title IPoSConsensus: proof of stake over federated-learning models (flexBlock's PoS, on chain)
/// @notice Each turn one proposer is drawn with probability proportional to its weight (flexBlock's "stake":
/// every member starts at `initialWeight()`, flexBlock's 32, and a member whose block is accepted gains one),
/// from the hash of a block mined after the turn opened (`seedLookahead()` blocks later): no one can know the
/// draw when the turn opens. The proposer proposes its model (a CID's digest) on the head; other members
/// attest whether they could fetch and load it. Accepted, it becomes a block; rejected (more attesters could
/// not load it than could), the proposer loses its turn and `bond()` wei of its stake, and a new proposer is
/// drawn. A proposer that does not propose by its deadline loses its turn and the bond too (`skip()`).
/// @dev The draw reads a Fenwick tree of weights (O(log n)); members whose stake falls under minStake() are
/// evicted (their stake left is credited to them).
interface IPoSConsensus is IStakeLedger, IHashChain {
    /// @notice Where a turn stands. `Drawing`: waiting for the seed block; `Proposing`: the proposer may propose
    /// until the deadline; `Attesting`: members attest until the deadline or until `quorum()` attested.
    enum TurnPhase {
        Drawing,
        Proposing,
        Attesting
    }

    /// @notice The current turn: which block it makes (`height`), its `attempt` (1 + proposers that lost it).
    struct Turn {
        uint64 height;
        uint32 attempt;
        TurnPhase phase;
        uint64 seedBlock;
        uint40 deadline;
        uint16 loaded;
        uint16 unloadable;
        address proposer;
        IPoFLConsensus.CidKind cidKind;
        bytes32 digest;
    }

    /// @notice A block as stored; its height is its index, genesis (height 0, proposer 0) included.
    struct Block {
        bytes32 blockHash;
        bytes32 parentHash;
        bytes32 digest;
        IPoFLConsensus.CidKind cidKind;
        address proposer;
        uint64 timestamp;
    }

    /// @notice Turn (`height`, `attempt`) opened; its proposer is drawn from the hash of block `seedBlock`.
    event TurnOpened(uint256 indexed height, uint256 attempt, uint256 seedBlock);
    /// @notice `proposer` was drawn for turn (`height`, `attempt`); it may propose until `deadline`.
    event ProposerDrawn(uint256 indexed height, uint256 attempt, address indexed proposer, uint256 deadline);
    /// @notice `proposer` proposed model `digest` for block `height`.
    event Proposed(
        uint256 indexed height,
        uint256 attempt,
        address indexed proposer,
        bytes32 digest,
        IPoFLConsensus.CidKind cidKind
    );
    /// @notice `attester` attested whether it could fetch and load the proposal (`loaded`).
    event Attested(uint256 indexed height, uint256 attempt, address indexed attester, bool loaded);
    /// @notice Block `height` was appended: `proposer`'s model; its weight is now `weight`; `reward` wei credited.
    event BlockAccepted(
        uint256 indexed height,
        address indexed proposer,
        bytes32 blockHash,
        bytes32 digest,
        uint256 weight,
        uint256 reward
    );
    /// @notice The proposer of turn (`height`, `attempt`) lost it: its model could not be loaded (`missed`
    /// false) or it did not propose in time (`missed` true).
    event TurnLost(uint256 indexed height, uint256 attempt, address indexed proposer, bool missed);

    /// @notice The caller is not this turn's proposer (`proposer`; zero while none is drawn). Wait for your turn:
    /// currentTurn() names the proposer once the seed block is mined.
    error PoSNotProposer(address proposer, address caller);
    /// @notice The proposal names a parent that is not the head; propose on headHash().
    error PoSStaleParent(bytes32 head, bytes32 given);
    /// @notice The turn is in another phase than the action needs.
    error PoSWrongPhase(TurnPhase expected, TurnPhase actual);
    /// @notice The seed block (`seedBlock`) is not mined yet (or its hash is no longer readable: call draw()).
    error PoSSeedPending(uint256 seedBlock);
    /// @notice The attestation names another turn than the current one (`height`, `attempt`).
    error PoSWrongTurn(uint256 height, uint256 attempt);
    /// @notice This member attested this proposal already.
    error PoSAlreadyAttested(address attester);
    /// @notice The proposer does not attest its own proposal.
    error PoSProposerCannotAttest(address proposer);
    /// @notice The phase's deadline (`deadline`) has not passed, and (attesting) the quorum has not attested.
    error PoSDeadlinePending(uint256 deadline);
    /// @notice The model digest is zero: propose the sha2-256 digest of the model's CID.
    error PoSEmptyDigest();
    /// @notice No one can be drawn: no member has weight. Register members first.
    error PoSNoWeight();
    /// @notice Every slot of the draw was used (`maximum` registrations ever); no one else can register.
    error PoSSlotsExhausted(uint256 maximum);
    /// @notice A setting is out of range: initialWeight, seedLookahead, quorum and the durations must be > 0,
    /// seedLookahead <= 128.
    error PoSInvalidConfig();

    /// @notice Record the proposer of the current turn, once its seed block is mined (propose() does it too);
    /// if the seed block's hash is no longer readable (256 blocks), move the seed to a block ahead instead.
    function draw() external;

    /// @notice Propose the model `digest` (of kind `cidKind`) as the next block on `parentHash`: only the drawn
    /// proposer, in the Proposing phase.
    function propose(bytes32 parentHash, bytes32 digest, IPoFLConsensus.CidKind cidKind) external;

    /// @notice Attest whether the caller (a member, not the proposer) could fetch and load the proposal of turn
    /// (`height`, `attempt`).
    function attest(uint64 height, uint32 attempt, bool loaded) external;

    /// @notice Decide the proposal once the quorum attested or the deadline passed: accepted unless more
    /// attesters could not load it than could; rejected, the proposer loses the bond and the turn.
    function finalize() external;

    /// @notice After the proposing deadline without a proposal: the proposer loses the bond and the turn.
    function skip() external;

    /// @notice The current turn (its proposer as drawn now if the seed block is mined and no one recorded it).
    function currentTurn() external view returns (Turn memory);

    /// @notice The weight (flexBlock's stake) of `account` in the draw (0 for a non-member).
    function weightOf(address account) external view returns (uint256);

    /// @notice The weight of all members.
    function totalWeight() external view returns (uint256);

    /// @notice The weight every member starts with (flexBlock's initial_stake).
    function initialWeight() external view returns (uint256);

    /// @notice Blocks between a turn's opening and its seed block.
    function seedLookahead() external view returns (uint256);

    /// @notice Attestations that decide a proposal before its deadline.
    function quorum() external view returns (uint256);

    /// @notice Wei of stake a proposer loses with its turn.
    function bond() external view returns (uint256);

    /// @notice (proposing, attesting): the seconds each phase lasts at most.
    function durations() external view returns (uint256 proposing, uint256 attesting);

    /// @notice Block `height` (reverts with BlockNotFound past the head).
    function blockAt(uint256 height) external view returns (Block memory);

    /// @notice The head block.
    function latestBlock() external view returns (Block memory);
}
