// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IPoFLMinerActions {
    function register() external payable;
    function leave() external;
    function withdrawRewards() external;
}

/// @notice Test helper: a contract miner that accepts, rejects or re-enters on payment.
contract MinerProxy {
    IPoFLMinerActions public immutable target;
    uint8 public mode; // 0 accept, 1 revert without data, 2 re-enter leave()

    constructor(IPoFLMinerActions target_) {
        target = target_;
    }

    function setMode(uint8 mode_) external {
        mode = mode_;
    }

    function register() external payable {
        target.register{value: msg.value}();
    }

    function leave() external {
        target.leave();
    }

    receive() external payable {
        if (mode == 1) revert();
        if (mode == 2) target.leave();
    }
}
