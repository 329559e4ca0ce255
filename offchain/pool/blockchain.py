"""flexBlock's ``pool.blockchain``, read from the contract: ``chain`` and ``get_last_block()``."""

from __future__ import annotations

from offchain.chain.pofl import ChainBlock, PoFLContract


class BlockchainView:
    """The on-chain blocks (genesis included), read fresh on every access."""

    def __init__(self, contract: PoFLContract | None) -> None:
        self._contract = contract

    @property
    def chain(self) -> list[ChainBlock]:
        return self._contract.blocks() if self._contract else []

    def get_last_block(self) -> ChainBlock | None:
        return self._contract.latest_block() if self._contract else None

    def __len__(self) -> int:
        return self._contract.block_count() if self._contract else 0
