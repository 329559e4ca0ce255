"""Scaffolding for the PoW and PoS contract tests: deployments with fresh funded members, a miner's nonce search,
the draw recomputed in Python, the devnet's clock and blocks."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode as abi_encode
from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.pos import PoSContract, PoSSettings
from offchain.chain.pow import PoWContract, PoWSettings
from offchain.chain.powhash import pow_prefix, search
from offchain.chain.tx import wait_all
from offchain.store.cid import cid_to_digest
from offchain.testing.accounts import FUNDED_WEI, fresh_signers
from offchain.testing.rounds import placeholder_cid

STAKE = 10**18
GENESIS = placeholder_cid("genesis")
POW_SETTINGS = PoWSettings(reward_pool=10**18)
POS_SETTINGS = PoSSettings(quorum=2, reward_pool=10**18)


@dataclass
class PoW:
    contract: PoWContract
    owner: LocalSigner
    miners: list[LocalSigner]


@dataclass
class PoS:
    contract: PoSContract
    owner: LocalSigner
    members: list[LocalSigner]

    def by_address(self, address: str) -> LocalSigner:
        return next(m for m in self.members if m.address == address)


def deploy_pow(w3: Web3, n: int, settings: PoWSettings = POW_SETTINGS) -> PoW:
    (owner,) = fresh_signers(w3, 1, settings.reward_pool + FUNDED_WEI)
    contract = PoWContract.deploy(owner, GENESIS, settings)
    miners = fresh_signers(w3, n)
    wait_all([contract.register(m, STAKE) for m in miners])
    return PoW(contract, owner, miners)


def deploy_pos(w3: Web3, n: int, settings: PoSSettings = POS_SETTINGS) -> PoS:
    (owner,) = fresh_signers(w3, 1, settings.reward_pool + FUNDED_WEI)
    contract = PoSContract.deploy(owner, GENESIS, settings)
    members = fresh_signers(w3, n)
    wait_all([contract.register(m, STAKE) for m in members])
    return PoS(contract, owner, members)


def mine_nonce(parent: bytes, cid: str, miner: str, zeros: int) -> int:
    """A nonce whose PoW hash has ``zeros`` leading zero hex digits."""
    prefix = pow_prefix(parent, cid_to_digest(cid)[0], miner)
    start = 0
    while (found := search(prefix, zeros, start, 1 << 14)) is None:
        start += 1 << 14
    return found.nonce


def increase_time(w3: Web3, seconds: int) -> None:
    """Move the devnet's clock on and mine a block at the new time (gas is estimated against the latest block)."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    mine_empty_block(w3)


def mine_empty_block(w3: Web3) -> None:
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def expected_proposer(pos: PoS) -> str:
    """The draw recomputed here: keccak256(abi.encode(seedHash, height, attempt)) mod the total weight, walked
    over the members' weights in registration (slot) order."""
    turn = pos.contract.current_turn()
    seed_hash = bytes(pos.contract.w3.eth.get_block(turn.seed_block)["hash"])
    total = pos.contract.total_weight()
    r = int.from_bytes(Web3.keccak(abi_encode(["bytes32", "uint256", "uint256"],
                                              [seed_hash, turn.height, turn.attempt])), "big") % total
    for member in pos.members:
        weight = pos.contract.weight_of(member.address)
        if r < weight:
            return member.address
        r -= weight
    raise AssertionError("the draw fell past the last member")
