"""flexBlock's ``pool.blockchain``, read from the contract: ``chain`` and ``get_last_block()``.

Blocks look as flexBlock's do: ``hash`` and ``previous_hash`` as hex strings, ``timestamp`` (the chain's
time when the block was made, in seconds) and ``weights`` (the block's model, fetched from the store by
its CID and checked against it, as a list of tensors in the model's order); and as the contract stores
them: ``height``, ``round``, ``miner``, ``accuracy``, ``cid``, ``parent_hash``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from offchain.chain.consensus import PoFLContract
from offchain.chain.ledger import LedgerBlock, StakeLedgerClient
from offchain.chain.types import ChainBlock

if TYPE_CHECKING:
    import torch

    from offchain.store.base import ModelStore


B = TypeVar("B")


def block_weights(store: ModelStore, architecture: str, order: list[str] | None, cid: str) -> list[torch.Tensor]:
    """The model stored under ``cid`` (verified) as a list of tensors in the model's order (``order``)."""
    from offchain.store.fetching import fetch_model

    state = fetch_model(store, cid, architecture)
    return [state[name] for name in (order or list(state))]


@dataclass(frozen=True)
class _BlockModel:
    """What flexBlock's blocks show, in every consensus: ``hash``, ``previous_hash`` (and ``parent_hash``),
    ``timestamp`` and ``weights`` (fetched by CID, verified, on first read); and ``height``, ``miner``, ``cid``."""

    height: int
    miner: str
    cid: str
    hash: str
    previous_hash: str
    timestamp: int
    _load: Any = field(repr=False, compare=False, default=None, kw_only=True)  # cid -> the model's tensors

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
    """One block of a PoFL pool's chain (see the module docstring): also its ``round`` and ``accuracy``."""

    round: int
    accuracy: float
    chain_block: ChainBlock = field(repr=False)


@dataclass(frozen=True)
class LedgerPoolBlock(_BlockModel):
    """A block of a PoW or PoS pool's chain (``miner``: PoS's proposer), and the contract's record
    (``chain_block``: a PoW block's nonce and difficulty)."""

    chain_block: LedgerBlock = field(repr=False)


class _ChainView(Generic[B]):
    """flexBlock's ``chain``, ``get_last_block()`` and ``len()`` over a consensus contract's blocks (genesis
    included), read fresh on every access; a subclass turns the contract's blocks into pool blocks."""

    def __init__(self, contract: PoFLContract | StakeLedgerClient | None, store: ModelStore | None = None,
                 architecture: str | None = None, order: list[str] | None = None) -> None:
        self._contract = contract
        self._store = store
        self._architecture = architecture
        self._order = order  # the model's parameter names, in its own order

    def _weights(self, cid: str) -> list[torch.Tensor]:
        assert self._store is not None and self._architecture is not None
        return block_weights(self._store, self._architecture, self._order, cid)

    def _pool_blocks(self, blocks: list[Any]) -> list[B]:
        raise NotImplementedError

    @property
    def chain(self) -> list[B]:
        return self._pool_blocks(self._contract.blocks()) if self._contract else []

    def get_last_block(self) -> B | None:
        return self._pool_blocks([self._contract.latest_block()])[0] if self._contract else None

    def __len__(self) -> int:
        return self._contract.block_count() if self._contract else 0


class BlockchainView(_ChainView[PoolBlock]):
    """The PoFL contract's blocks; a block's timestamp is that of the chain block that finalized it."""

    def __init__(self, contract: PoFLContract | None, store: ModelStore | None = None,
                 architecture: str | None = None, order: list[str] | None = None) -> None:
        super().__init__(contract, store, architecture, order)
        self._times: dict[int, int] = {}  # chain block number -> timestamp

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
        return [PoolBlock(b.height, b.miner, b.cid, "0x" + b.block_hash.hex(), "0x" + b.parent_hash.hex(),
                          self._timestamp(made[b.height]) if b.height in made else 0, b.round, b.accuracy, b,
                          _load=self._weights) for b in blocks]


class LedgerBlockchainView(_ChainView[LedgerPoolBlock]):
    """The blocks of a PoW or PoS contract; a block's timestamp is the one the contract recorded."""

    def _pool_blocks(self, blocks: list[LedgerBlock]) -> list[LedgerPoolBlock]:
        return [LedgerPoolBlock(b.height, b.maker, b.cid, "0x" + b.block_hash.hex(), "0x" + b.parent_hash.hex(),
                                b.timestamp, b, _load=self._weights) for b in blocks]
