// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ITreasury} from "../ITreasury.sol";
import {Treasury} from "../libraries/Treasury.sol";

/// @title TreasuryViews: ITreasury's views over a contract's Treasury.Books
/// @dev The books live where each contract's storage layout puts them (PoFLStorage, StakeLedger): `_treasury()`
/// points at them.
abstract contract TreasuryViews is ITreasury {
    /// @dev The contract's books.
    function _treasury() internal view virtual returns (Treasury.Books storage);

    /// @inheritdoc ITreasury
    function totalStaked() external view returns (uint256) {
        return _treasury().totalStaked;
    }

    /// @inheritdoc ITreasury
    function rewardPool() external view returns (uint256) {
        return _treasury().rewardPool;
    }

    /// @inheritdoc ITreasury
    function totalPendingRewards() external view returns (uint256) {
        return _treasury().totalPending;
    }

    /// @inheritdoc ITreasury
    function pendingRewards(address account) external view returns (uint256) {
        return _treasury().pending[account];
    }
}
