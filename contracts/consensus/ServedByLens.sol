// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ServedByLens: a contract whose views are the code of its lens, run on its own storage
/// @notice PoFLConsensus (lens: PoFLLens) and PoFLScaled (lens: PoFLScaledLens) keep room under EIP-170 by moving
/// their views to a lens their constructor deploys; a call of a function the contract does not have runs the
/// lens's code on the contract's storage (DELEGATECALL), so callers see one address with every function.
/// @dev A lens inherits its consensus's storage contract first (every variable at the same slot) and holds views
/// only: tests/unit/test_compile.py checks each lens's layout and that its code holds no instruction that writes
/// state, logs, calls or creates.
abstract contract ServedByLens {
    /// @notice Serves the views of the lens: runs its code on this contract's storage (DELEGATECALL) and returns,
    /// or reverts, with what that code does.
    fallback() external {
        address lens_ = _lensCode();
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            let ok := delegatecall(gas(), lens_, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) {
                revert(ptr, returndatasize())
            }
            return(ptr, returndatasize())
        }
    }

    /// @dev The lens (fixed: this contract's constructor deployed it).
    function _lensCode() internal view virtual returns (address);
}
