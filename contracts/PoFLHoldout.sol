// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IPoFLConsensus} from "./IPoFLConsensus.sol";
import {IPoFLHoldout, IPoFLHoldoutHooks} from "./IPoFLHoldout.sol";

/// @title PoFLHoldout: the requester's side of a hold-out PoFL task (see IPoFLHoldout)
/// @notice Deployed by the requester just before its consensus contract, at the address that contract will
/// have (the consensus checks `consensus()` in its constructor), with the sealed shards and a bond.
/// @dev Design:
/// - A shard is used once: the consensus hands out shard indices in order, one per round whose key is revealed;
///   a round whose key is missed (or that has too few commitments, or whose committers hold at most half the
///   stake) uses none, so that shard stays private.
/// - Early keys are impossible: `revealKey` calls the consensus first, which refuses unless the round's commits
///   have closed, so the whole transaction (the key included) reverts. The consensus is fixed at deployment
///   and checked to name this task, so the call cannot re-enter anything else.
/// - The bond pays for the requester's silence: a missed key credits the committers `missedKeyPay` in all (or
///   what is left), each in proportion to its stake, so splitting a stake over many addresses gains nothing;
///   and a key is owed only to a round whose committers hold more than half the stake (the consensus's
///   independence rule). Payments are pulled (`withdraw`).
/// - The final shard's key is revealed by `endTask`; the bond's rest is the requester's once the round that
///   was running then has closed (or if it took no commitments: none can come after the end).
contract PoFLHoldout is IPoFLHoldout, ReentrancyGuard {
    /// @notice The task's requester: appends shards, ends the task, owns the bond.
    address public immutable requester;
    /// @inheritdoc IPoFLHoldout
    address public immutable consensus;
    /// @notice Wei a missed key pays in all, shared by the round's committers in proportion to their stake.
    uint256 public immutable missedKeyPay;

    Shard[] private _shards;
    Shard private _final;
    /// @notice Wei of the bond not yet paid out.
    uint256 public bond;
    /// @notice Whether the requester ended the task.
    bool public ended;
    /// @notice The consensus round running when the task ended (0 while it runs).
    uint64 public lastRound;
    /// @notice Wei credited to each account and not yet withdrawn.
    mapping(address account => uint256) public credit;
    mapping(uint64 round => uint256 indexPlusOne) private _shardOf;

    /// @param consensus_ the address the task's consensus contract will be deployed at
    /// @param digests, cidKinds, keyHashes the selection shards (shard i judges round i + 1)
    /// @param finalShard the final shard (its `key` must be zero)
    /// @param missedKeyPay_ wei a missed key pays in all (shared by stake)
    /// @dev `msg.value` is the bond.
    constructor(
        address consensus_,
        bytes32[] memory digests,
        IPoFLConsensus.CidKind[] memory cidKinds,
        bytes32[] memory keyHashes,
        Shard memory finalShard,
        uint256 missedKeyPay_
    ) payable {
        if (finalShard.digest == bytes32(0) || finalShard.keyHash == bytes32(0) || finalShard.key != bytes32(0)) {
            revert PoFLHoldoutBadShards();
        }
        (requester, consensus, missedKeyPay, bond, _final) = (
            msg.sender,
            consensus_,
            missedKeyPay_,
            msg.value,
            finalShard
        );
        _append(digests, cidKinds, keyHashes);
    }

    modifier onlyRequester() {
        if (msg.sender != requester) revert PoFLHoldoutNotRequester(msg.sender);
        _;
    }

    /// @notice Appends selection shards (they judge the rounds after the last recorded shard's).
    function appendShards(
        bytes32[] calldata digests,
        IPoFLConsensus.CidKind[] calldata cidKinds,
        bytes32[] calldata keyHashes
    ) external onlyRequester {
        if (ended) revert PoFLHoldoutEnded();
        _append(digests, cidKinds, keyHashes);
    }

    /// @notice Reveals `round`'s shard key (anyone holding it may) and opens the round's reveal window; the
    /// round gets the next unused shard (`IPoFLHoldoutHooks.shardsUsed()`).
    /// @dev Reverts with the consensus's PoFLWrongPhase / PoFLWrongRound / PoFLTooFewCommits when `round`'s
    /// commits have not closed, it is not current, or it cannot have a committee.
    function revealKey(uint64 round, bytes32 key) external {
        uint256 index = IPoFLHoldoutHooks(consensus).onKeyRevealed(round); // reverts unless the round may have it
        if (index >= _shards.length) revert PoFLHoldoutNoShard(index, _shards.length);
        Shard storage shard = _shards[index];
        if (keccak256(abi.encodePacked(key)) != shard.keyHash) revert PoFLHoldoutWrongKey(index);
        shard.key = key;
        _shardOf[round] = index + 1;
        emit KeyRevealed(round, index, key);
    }

    /// @notice Ends the task: reveals the final shard's key; rounds after the current one take no commitments.
    function endTask(bytes32 finalKey) external onlyRequester {
        if (ended) revert PoFLHoldoutEnded();
        if (keccak256(abi.encodePacked(finalKey)) != _final.keyHash) revert PoFLHoldoutWrongKey(type(uint256).max);
        IPoFLHoldoutHooks rounds = IPoFLHoldoutHooks(consensus);
        uint64 round = rounds.currentRound();
        IPoFLConsensus.RoundInfo memory info = rounds.roundInfo(round);
        if (info.phase == IPoFLConsensus.Phase.Commit && info.commits != 0) revert PoFLHoldoutCommitsOpen(round);
        (ended, lastRound, _final.key) = (true, round, finalKey);
        emit TaskEnded(round, finalKey);
    }

    /// @inheritdoc IPoFLHoldout
    function payMissedKey(uint64 round, address[] calldata committers, uint256[] calldata stakes) external {
        if (msg.sender != consensus) revert PoFLHoldoutNotConsensus(msg.sender);
        uint256 n = committers.length;
        uint256 staked = 0;
        for (uint256 i = 0; i < n; ++i) {
            staked += stakes[i];
        }
        if (staked == 0) return;
        uint256 total = missedKeyPay < bond ? missedKeyPay : bond;
        uint256 paid = 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 share = (total * stakes[i]) / staked; // rounds down: never more than `total` in all
            credit[committers[i]] += share;
            paid += share;
        }
        bond -= paid;
        emit MissedKeyPaid(round, n, paid);
    }

    /// @notice Pays the caller its credit (missed-key payments).
    function withdraw() external nonReentrant {
        uint256 amount = credit[msg.sender];
        credit[msg.sender] = 0;
        _pay(msg.sender, amount);
    }

    /// @notice Pays the requester the bond's rest once the task has ended and the round running then has closed
    /// (or took no commitments: after the end none can come).
    function withdrawBond() external onlyRequester nonReentrant {
        IPoFLHoldoutHooks rounds = IPoFLHoldoutHooks(consensus);
        if (!ended || (rounds.currentRound() == lastRound && rounds.roundInfo(lastRound).commits != 0)) {
            revert PoFLHoldoutTaskRunning(lastRound);
        }
        uint256 amount = bond;
        bond = 0;
        _pay(msg.sender, amount);
    }

    /// @inheritdoc IPoFLHoldout
    function shardAvailable(uint256 index) external view returns (bool) {
        return !ended && index < _shards.length;
    }

    /// @notice The shard that judges `round`: the one whose key was revealed for it (`revealed`), or, while its
    /// key is not, the one the current round gets when it is (the next unused index).
    function shardOf(uint64 round) external view returns (bool revealed, uint256 index) {
        uint256 stored = _shardOf[round];
        if (stored != 0) return (true, stored - 1);
        return (false, IPoFLHoldoutHooks(consensus).shardsUsed());
    }

    /// @notice The number of selection shards recorded.
    function shardCount() external view returns (uint256) {
        return _shards.length;
    }

    /// @notice Selection shard `index` (it judges round index + 1).
    function shardAt(uint256 index) external view returns (Shard memory) {
        return _shards[index];
    }

    /// @notice The final shard (its key is zero until the task ends).
    function finalShard() external view returns (Shard memory) {
        return _final;
    }

    function _append(
        bytes32[] memory digests,
        IPoFLConsensus.CidKind[] memory cidKinds,
        bytes32[] memory keyHashes
    ) private {
        uint256 n = digests.length;
        if (n == 0 || cidKinds.length != n || keyHashes.length != n) revert PoFLHoldoutBadShards();
        uint256 first = _shards.length;
        for (uint256 i = 0; i < n; ++i) {
            if (digests[i] == bytes32(0) || keyHashes[i] == bytes32(0)) revert PoFLHoldoutBadShards();
            _shards.push(Shard(digests[i], cidKinds[i], keyHashes[i], bytes32(0)));
        }
        emit ShardsAppended(first, n);
    }

    function _pay(address account, uint256 amount) private {
        if (amount == 0) revert PoFLHoldoutNothingToWithdraw(account);
        emit Withdrawn(account, amount);
        Address.sendValue(payable(account), amount);
    }
}
