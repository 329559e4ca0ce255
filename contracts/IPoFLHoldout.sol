// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPoFLConsensus} from "./IPoFLConsensus.sol";

/// @title IPoFLHoldout: a requester's committed, encrypted evaluation shards for one PoFL task
/// @notice The requester splits a private evaluation set into shards, encrypts each under its own random key
/// (AES-256-GCM), pins the ciphertexts and records here each shard's CID digest and the keccak256 of its key.
/// Shards are used in order, one per round whose key is revealed: a round's key is accepted only once its
/// commits have closed (so no committed model can have seen the shard), only if the round has enough
/// commitments for a committee whose committers hold more than half the stake (so no minority, however many
/// addresses it uses, spends a shard), and only if it hashes to the record. A key owed but not revealed by the
/// end of the reveal window fails the round and pays the committers `missedKeyPay` from the requester's bond, in
/// proportion to their stake (never per address); that shard stays private and judges a later round. A final shard, revealed when
/// the requester ends the task (never while a round takes commitments), measures every block on data no round
/// ever saw.
interface IPoFLHoldout {
    /// @notice One sealed shard as recorded.
    /// @param digest the sha2-256 digest of the ciphertext's CID
    /// @param cidKind how `digest` becomes the CID
    /// @param keyHash keccak256 of its 32-byte key
    /// @param key the key, once revealed (zero before)
    struct Shard {
        bytes32 digest;
        IPoFLConsensus.CidKind cidKind;
        bytes32 keyHash;
        bytes32 key;
    }

    /// @notice Shards `first` .. `first + count - 1` were recorded.
    event ShardsAppended(uint256 first, uint256 count);

    /// @notice The key of shard `index`, which judges `round`, was revealed (and checked against its hash).
    event KeyRevealed(uint64 indexed round, uint256 indexed index, bytes32 key);

    /// @notice `round`'s key was missing at its deadline: `committers` were credited `amount` of the bond in
    /// all, each in proportion to its stake.
    event MissedKeyPaid(uint64 indexed round, uint256 committers, uint256 amount);

    /// @notice The requester ended the task and revealed the final shard's key; no round after `lastRound`
    /// takes commitments.
    event TaskEnded(uint64 lastRound, bytes32 finalKey);

    /// @notice `account` withdrew `amount` (a missed-key payment, or the requester's bond after the task).
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The caller is not the task's requester.
    error PoFLHoldoutNotRequester(address caller);

    /// @notice Only the task's consensus contract may call this.
    error PoFLHoldoutNotConsensus(address caller);

    /// @notice Shard lists are empty, of different lengths, or hold a zero digest or key hash.
    error PoFLHoldoutBadShards();

    /// @notice Shard `index` does not exist (the task has `shards` shards): append shards first.
    error PoFLHoldoutNoShard(uint256 index, uint256 shards);

    /// @notice The current round `round` has commitments and is still taking them: ending the task now would
    /// publish the final shard to miners that may still commit. End it once the round's commits have closed.
    error PoFLHoldoutCommitsOpen(uint64 round);

    /// @notice The key does not hash to shard `index`'s recorded key hash: reveal the key from the key file.
    error PoFLHoldoutWrongKey(uint256 index);

    /// @notice Shard `index`'s key is already public.
    error PoFLHoldoutKeyAlreadyRevealed(uint256 index);

    /// @notice The task has ended: nothing may be appended or ended again.
    error PoFLHoldoutEnded();

    /// @notice The round running when the task ended (`lastRound`) took commitments and has not closed yet, so
    /// its key may still be owed: withdraw the bond once it has closed.
    error PoFLHoldoutTaskRunning(uint64 lastRound);

    /// @notice `account` has nothing to withdraw.
    error PoFLHoldoutNothingToWithdraw(address account);

    /// @notice The consensus contract this task judges (fixed at deployment).
    function consensus() external view returns (address);

    /// @notice Whether shard `index` exists and the task (not ended) takes commitments to be judged on it.
    function shardAvailable(uint256 index) external view returns (bool);

    /// @notice Called by the consensus when `round`'s key was owed and not revealed in time: credits the
    /// committers `missedKeyPay` (or the bond's rest) in all, each in proportion to its stake in `stakes`.
    function payMissedKey(uint64 round, address[] calldata committers, uint256[] calldata stakes) external;
}

/// @title IPoFLHoldoutHooks: what a hold-out task calls on its consensus contract
interface IPoFLHoldoutHooks {
    /// @notice `round`'s shard key is being revealed: the consensus opens the reveal window and returns the index
    /// of the shard the round gets (the next unused one). It reverts unless `round` is current, its commits have
    /// closed, its key is not revealed yet and it has enough commitments for a committee.
    function onKeyRevealed(uint64 round) external returns (uint256 index);

    /// @notice Shards whose key has been revealed: the current round gets this index when its key is.
    function shardsUsed() external view returns (uint256);

    /// @notice The round now open.
    function currentRound() external view returns (uint64);

    /// @notice The current round's state (`round` must be the current round).
    function roundInfo(uint64 round) external view returns (IPoFLConsensus.RoundInfo memory);
}
