"""What every typed contract client shares: views with the contract's errors decoded, transactions, events.

:class:`ContractClient` is the base of every client (:class:`StakingClient`, of the consensus contracts, and
:class:`~offchain.chain.holdout.HoldoutContract`). A view that only converts the contract's answer is
declared in one line with :class:`View`::

    class HoldoutContract(ContractClient):
        bond = View("bond", int, "Wei of the requester's bond not yet paid out.")

    holdout.bond()  # an int
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import PendingTx, call_view, send

T = TypeVar("T")


class ContractClient:
    """A deployed contract: ``contract`` answers its functions and events, ``errors`` decodes its reverts."""

    def __init__(self, contract: Contract, errors: ErrorDecoder) -> None:
        self.contract = contract
        self.errors = errors
        self.w3: Web3 = contract.w3
        self.address: str = contract.address

    def _view(self, name: str, *args: Any, at: str | int = "latest") -> Any:
        """The answer of view ``name`` at block ``at`` (``"pending"``: at the node's own current time)."""
        return call_view(getattr(self.contract.functions, name)(*args), self.errors, name, at)

    def _send(self, signer: LocalSigner, name: str, *args: Any, value: int = 0, gas: int | None = None,
              min_gas: int = 0) -> PendingTx:
        """Send function ``name`` signed by ``signer`` (see :func:`~offchain.chain.tx.send`)."""
        return send(signer, getattr(self.contract.functions, name)(*args), self.errors, value=value, gas=gas,
                    min_gas=min_gas, action=name)

    def events(self, name: str, from_block: int = 0, to_block: int | str = "latest") -> list[Any]:
        """Decoded logs of event ``name`` in a block range."""
        return list(getattr(self.contract.events, name).get_logs(from_block=from_block, to_block=to_block))


class StakingClient(ContractClient):
    """A consensus contract (PoFL, PoW, PoS): the staking actions and the accounting they share (PoFLStaking and the
    StakeLedger keep the same books). Each action is a transaction signed by ``signer``."""

    def register(self, signer: LocalSigner, stake: int) -> PendingTx:
        """Join with ``stake`` wei (at least the contract's minimum stake)."""
        return self._send(signer, "register", value=stake)

    def add_stake(self, signer: LocalSigner, amount: int) -> PendingTx:
        """Add ``amount`` wei to ``signer``'s stake."""
        return self._send(signer, "addStake", value=amount)

    def leave(self, signer: LocalSigner) -> PendingTx:
        """Leave: the stake and any credit are paid back."""
        return self._send(signer, "leave")

    def fund_rewards(self, signer: LocalSigner, amount: int) -> PendingTx:
        """Add ``amount`` wei to the reward pool."""
        return self._send(signer, "fundRewards", value=amount)

    def withdraw_rewards(self, signer: LocalSigner) -> PendingTx:
        """Pull the wei credited to ``signer`` (rewards and refunds)."""
        return self._send(signer, "withdrawRewards")

    def balances(self) -> dict[str, int]:
        """The contract's ETH and how it is owed: stakes, reward pool, credit (rewards and refunds); for the
        consensus contracts, whose views these are."""
        return {"balance": self.w3.eth.get_balance(self.address), "totalStaked": self._view("totalStaked"),
                "rewardPool": self._view("rewardPool"), "totalPendingRewards": self._view("totalPendingRewards")}


class View(Generic[T]):
    """A contract view as a method of its client: ``name`` called with the method's arguments, its answer passed
    through ``convert``; ``doc`` is the method's docstring."""

    def __init__(self, name: str, convert: Callable[[Any], T], doc: str = "") -> None:
        self.name = name
        self.convert = convert
        self.__doc__ = doc or f"The contract's ``{name}()``."

    @overload
    def __get__(self, client: None, owner: type) -> View[T]: ...

    @overload
    def __get__(self, client: ContractClient, owner: type) -> Callable[..., T]: ...

    def __get__(self, client: ContractClient | None, owner: type) -> View[T] | Callable[..., T]:
        if client is None:
            return self

        def call(*args: Any) -> T:
            return self.convert(client._view(self.name, *args))

        call.__doc__ = self.__doc__
        return call
