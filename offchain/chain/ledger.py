"""Typed client of the StakeLedger that PoWConsensus and PoSConsensus share (``contracts/IStakeLedger.sol``):
members' stakes, the reward pool and credits. :class:`~offchain.chain.pow.PoWContract` and
:class:`~offchain.chain.pos.PoSContract` extend it with their consensus."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, ClassVar, Self

from offchain.chain.accounts import LocalSigner
from offchain.chain.client import StakingClient, View
from offchain.chain.deploy import deploy_contract, load_artifact
from offchain.chain.errors import ErrorDecoder
from offchain.chain.types import snake_case
from offchain.store.cid import CidKind, cid_from_digest, cid_to_digest


class Penalty(IntEnum):
    """``IStakeLedger.Penalty``: why a member's stake was cut."""

    UNAVAILABLE = 0
    MISSED = 1


def decode_fields(values: tuple[Any, ...], components: list[dict[str, Any]],
                  enums: Mapping[str, type[IntEnum]]) -> dict[str, Any]:
    """An ABI tuple as ``{snake_case name: value}``: enums by their Solidity name in ``enums``, bytes as bytes."""
    out = {}
    for c, v in zip(components, values, strict=True):
        internal = str(c.get("internalType", ""))
        if internal.startswith("enum "):
            v = enums[internal.rsplit(".", 1)[-1]](v)
        elif c["type"].startswith("bytes"):
            v = bytes(v)
        out[snake_case(c["name"])] = v
    return out


@dataclass(frozen=True)
class LedgerBlock:
    """What a PoW or a PoS block shares: height, hashes, the model (its CID), who made it, when (chain time)."""

    height: int
    block_hash: bytes
    parent_hash: bytes
    cid: str
    maker: str
    timestamp: int


class StakeLedgerClient(StakingClient):
    """A deployed PoW or PoS consensus: its StakeLedger views (the staking actions: :class:`StakingClient`)."""

    ENUMS: ClassVar[Mapping[str, type[IntEnum]]] = {"CidKind": CidKind, "Penalty": Penalty}
    CONTRACT: ClassVar[str]  # the contract's name (its artifact in contracts/out)

    min_stake = View("minStake", int, "Wei a member stakes at least.")
    block_reward = View("blockReward", int, "Wei credited per block out of the reward pool.")
    is_member = View("isMember", bool, "Whether ``account`` is a member.")
    stake_of = View("stakeOf", int, "The stake of ``account`` (wei).")
    members = View("members", list, "Every member, in registration order.")
    pending_rewards = View("pendingRewards", int, "Wei credited to ``account`` and not yet withdrawn.")
    block_count = View("blockCount", int, "The number of blocks, genesis included.")
    head_hash = View("headHash", bytes, "The head block's hash: the parent the next block names.")

    @classmethod
    def _deploy(cls, signer: LocalSigner, genesis_cid: str, args: list[Any], *, value: int,
                deployments_dir: Path | None) -> Self:
        """Deploy ``CONTRACT`` with the genesis model ``genesis_cid`` and then ``args`` as its constructor's
        arguments; ``value`` wei fund the reward pool."""
        artifact = load_artifact(cls.CONTRACT)
        digest, kind = cid_to_digest(genesis_cid)
        decoder = ErrorDecoder.from_artifact(artifact, cls.ENUMS)
        contract, _ = deploy_contract(signer, artifact, [digest, kind, *args], value=value,
                                      deployments_dir=deployments_dir, decoder=decoder)
        return cls(contract, decoder)

    def _fields(self, name: str, *args: Any) -> dict[str, Any]:
        fn = next(e for e in self.contract.abi if e.get("type") == "function" and e["name"] == name)
        return decode_fields(self._view(name, *args), fn["outputs"][0]["components"], self.ENUMS)

    def _block(self, height: int) -> LedgerBlock:
        raise NotImplementedError

    def block_at(self, height: int) -> LedgerBlock:
        return self._block(height)

    def latest_block(self) -> LedgerBlock:
        return self._block(self.block_count() - 1)

    def blocks(self) -> list[LedgerBlock]:
        return [self._block(h) for h in range(self.block_count())]

    @staticmethod
    def _ledger_block(height: int, f: dict[str, Any], maker: str) -> LedgerBlock:
        return LedgerBlock(height, f["block_hash"], f["parent_hash"], cid_from_digest(f["digest"], f["cid_kind"]),
                           maker, int(f["timestamp"]))
