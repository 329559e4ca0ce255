// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev The PoFLConsensus functions the attackers call (enums as their ABI type, uint8).
interface IPoFLTarget {
    function register() external payable;
    function leave() external;
    function commit(uint64 round, bytes32 commitment) external;
    function reveal(
        uint64 round,
        bytes32 digest,
        uint8 cidKind,
        uint16 accuracyBps,
        uint16 parentBps,
        bytes32 salt
    ) external;
    function finalize() external;
    function currentRound() external view returns (uint64);
    function committee(uint64 round) external view returns (address[] memory);
    function computeCommitment(
        uint64 round,
        bytes32 digest,
        uint8 cidKind,
        uint16 accuracyBps,
        bytes32 salt,
        address miner
    ) external pure returns (bytes32);
}

/// @notice Test attacker: registers, commits 10000 bps, reveals, finalizes and leaves in one transaction, to
/// make its garbage model the chain head before anybody else is there (worked against v1: an empty committee
/// accepted the claim unvalidated).
contract SoloBootstrap {
    IPoFLTarget public immutable target;

    constructor(IPoFLTarget target_) {
        target = target_;
    }

    function attack(bytes32 digest) external payable {
        target.register{value: msg.value}();
        uint64 round = target.currentRound();
        bytes32 salt = keccak256("solo");
        target.commit(round, target.computeCommitment(round, digest, 0, 10000, salt, address(this)));
        target.reveal(round, digest, 0, 10000, 0, salt);
        target.finalize();
        target.leave();
        payable(msg.sender).transfer(address(this).balance);
    }

    receive() external payable {}
}

/// @notice Test attacker: a miner contract whose false claim should only ever be revealed when its sybils hold a
/// majority of the committee that will validate it; it reveals and, in the same transaction, checks the
/// committee, reverting (not revealing) when it is unfavourable (worked against v1, whose seed the last reveal
/// itself made).
contract GrindingRevealer {
    IPoFLTarget public immutable target;

    constructor(IPoFLTarget target_) {
        target = target_;
    }

    function register() external payable {
        target.register{value: msg.value}();
    }

    function commit(bytes32 digest, uint16 accuracyBps, bytes32 salt) external {
        uint64 round = target.currentRound();
        target.commit(round, target.computeCommitment(round, digest, 0, accuracyBps, salt, address(this)));
    }

    /// @notice Reveal, then keep the reveal only if `sybils` hold a majority of the committee.
    function revealIfFavourable(bytes32 digest, uint16 accuracyBps, bytes32 salt, address[] calldata sybils) external {
        uint64 round = target.currentRound();
        target.reveal(round, digest, 0, accuracyBps, 0, salt);
        address[] memory seats = target.committee(round);
        uint256 friends;
        for (uint256 i = 0; i < seats.length; ++i) {
            for (uint256 j = 0; j < sybils.length; ++j) {
                if (seats[i] == sybils[j]) ++friends;
            }
        }
        require(seats.length > 0 && 2 * friends > seats.length, "committee unknown or unfavourable");
    }

    receive() external payable {}
}
