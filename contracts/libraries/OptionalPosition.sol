// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev A commit position of the current round (0-based, < MAX_MINERS), or none. It is stored as position + 1, so
/// that the zero a fresh or reset storage slot holds reads as "none"; this file is the only place that knows the
/// encoding. The round's candidate and its best accepted claim are OptionalPositions.
type OptionalPosition is uint16;

using {isNone, get, equals} for OptionalPosition global;

/// @dev No position.
OptionalPosition constant NO_POSITION = OptionalPosition.wrap(0);

/// @dev `position` as an OptionalPosition.
function toOptional(uint256 position) pure returns (OptionalPosition) {
    return OptionalPosition.wrap(uint16(position + 1));
}

/// @dev Whether `p` holds no position.
function isNone(OptionalPosition p) pure returns (bool) {
    return OptionalPosition.unwrap(p) == 0;
}

/// @dev The position `p` holds (reverts with an arithmetic panic when it holds none).
function get(OptionalPosition p) pure returns (uint256) {
    return OptionalPosition.unwrap(p) - 1;
}

/// @dev Whether `p` holds exactly `position`.
function equals(OptionalPosition p, uint256 position) pure returns (bool) {
    return OptionalPosition.unwrap(p) == position + 1;
}
