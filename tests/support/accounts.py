"""What the ``funded`` fixture of tests/conftest.py is: ``funded(n)`` -> n fresh signers (new random keys) holding
100 ETH each on the session Anvil, ``funded(n, wei)`` for another balance (offchain.testing.accounts)."""

from __future__ import annotations

from collections.abc import Callable

from offchain.chain.accounts import LocalSigner

Funded = Callable[..., list[LocalSigner]]
