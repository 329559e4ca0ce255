"""flexBlock's ``pool.blockchain``, read from the contract: ``chain`` and ``get_last_block()``.

Blocks look as flexBlock's do: ``hash`` and ``previous_hash`` as hex strings, ``timestamp`` (the chain's
time when the block was made, in seconds) and ``weights`` (the block's model, fetched from the store by
its CID and checked against it, as a list of tensors in the model's order); and as the contract stores
them: ``height``, ``round``, ``miner``, ``accuracy``, ``cid``, ``parent_hash``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from offchain.chain.consensus import PoFLContract
from offchain.chain.ledger import LedgerBlock, StakeLedgerClient
from offchain.chain.types import ChainBlock

if TYPE_CHECKING:
    import torch

    from offchain.store.base import ModelStore


def block_weights(store: ModelStore, architecture: str, order: list[str] | None, cid: str) -> list[torch.Tensor]:
    """The model stored under ``cid`` (verified) as a list of tensors in the model's order (``order``)."""
    from offchain.store.fetching import fetch_model

    state = fetch_model(store, cid, architecture)
    return [state[name] for name in (order or list(state))]


class _BlockModel:
    """flexBlock's ``parent_hash`` and ``weights`` of a block dataclass with ``previous_hash``, ``cid`` and a
    ``_load(cid)``."""

    previous_hash: str
    cid: str
    _load: Any

    @property
    def parent_hash(self) -> str:
        return self.previous_hash

    @property
    def weights(self) -> list[torch.Tensor]:
        """The block's model parameters, fetched by CID (verified) the first time they are read."""
        cache = self.__dict__.setdefault("_weights", [])
        if not cache:
            cache.extend(self._load(self.cid))
        return list(cache)


@dataclass(frozen=True)
class PoolBlock(_BlockModel):
    """One block of the pool's chain (see the module docstring)."""

    height: int
    round: int
    miner: str
    accuracy: float
    cid: str
    hash: str
    previous_hash: str
    timestamp: int
    chain_block: ChainBlock = field(repr=False)
    _load: Any = field(repr=False, compare=False, default=None)


class BlockchainView:
    """The on-chain blocks (genesis included), read fresh on every access."""

    def __init__(self, contract: PoFLContract | None, store: ModelStore | None = None,
                 architecture: str | None = None, order: list[str] | None = None) -> None:
        self._contract = contract
        self._store = store
        self._architecture = architecture
        self._order = order  # the model's parameter names, in its own order
        self._times: dict[int, int] = {}  # chain block number -> timestamp

    def _weights(self, cid: str) -> list[torch.Tensor]:
        assert self._store is not None and self._architecture is not None
        return block_weights(self._store, self._architecture, self._order, cid)

    def _timestamp(self, number: int) -> int:
        if number not in self._times:
            assert self._contract is not None
            self._times[number] = int(self._contract.w3.eth.get_block(number)["timestamp"])
        return self._times[number]

    def _made_at(self) -> dict[int, int]:
        """Block height -> the chain block number that made it (genesis: the deployment)."""
        assert self._contract is not None
        made = {int(e["args"]["height"]): int(e["blockNumber"]) for e in self._contract.events("BlockFinalized")}
        opened = self._contract.events("RoundOpened")
        if opened:
            made[0] = int(opened[0]["blockNumber"])
        return made

    def _pool_blocks(self, blocks: list[ChainBlock]) -> list[PoolBlock]:
        made = self._made_at()
        return [PoolBlock(b.height, b.round, b.miner, b.accuracy, b.cid, "0x" + b.block_hash.hex(),
                          "0x" + b.parent_hash.hex(), self._timestamp(made[b.height]) if b.height in made else 0,
                          b, self._weights) for b in blocks]

    @property
    def chain(self) -> list[PoolBlock]:
        return self._pool_blocks(self._contract.blocks()) if self._contract else []

    def get_last_block(self) -> PoolBlock | None:
        return self._pool_blocks([self._contract.latest_block()])[0] if self._contract else None

    def __len__(self) -> int:
        return self._contract.block_count() if self._contract else 0


@dataclass(frozen=True)
class LedgerPoolBlock(_BlockModel):
    """A block of a PoW or PoS pool's chain, as flexBlock's: ``hash``, ``previous_hash``, ``timestamp``,
    ``weights`` (fetched by CID, verified, on first read); and ``height``, ``miner`` (PoS: the proposer), ``cid``
    and the contract's record (``chain_block``: a PoW block's nonce and difficulty)."""

    height: int
    miner: str
    cid: str
    hash: str
    previous_hash: str
    timestamp: int
    chain_block: LedgerBlock = field(repr=False)
    _load: Any = field(repr=False, compare=False, default=None)


class LedgerBlockchainView:
    """The blocks of a PoW or PoS contract (genesis included), read fresh on every access."""

    def __init__(self, contract: StakeLedgerClient | None, store: ModelStore | None = None,
                 architecture: str | None = None, order: list[str] | None = None) -> None:
        self._contract, self._store, self._architecture, self._order = contract, store, architecture, order

    def _block(self, b: LedgerBlock) -> LedgerPoolBlock:
        def load(cid: str) -> list[torch.Tensor]:
            assert self._store is not None and self._architecture is not None
            return block_weights(self._store, self._architecture, self._order, cid)

        return LedgerPoolBlock(b.height, b.maker, b.cid, "0x" + b.block_hash.hex(), "0x" + b.parent_hash.hex(),
                               b.timestamp, b, load)

    @property
    def chain(self) -> list[LedgerPoolBlock]:
        return [self._block(b) for b in self._contract.blocks()] if self._contract else []

    def get_last_block(self) -> LedgerPoolBlock | None:
        return self._block(self._contract.latest_block()) if self._contract else None

    def __len__(self) -> int:
        return self._contract.block_count() if self._contract else 0
