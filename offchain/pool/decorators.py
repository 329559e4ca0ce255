"""flex/flexBlock decorators: they mark what a user function does, and ``FlexPool.map`` routes it.

- ``init_server_model``: builds a miner's FlexModel (called once per miner).
- ``deploy_miner_model`` / ``deploy_server_to_miner_wrapper``: miner -> its own clients.
- ``send_weights_to_miner`` / ``collect_to_send_wrapper``: a client's weights -> its miner's
  ``"weights"`` list.
- ``set_aggregated_weights``: writes an aggregate into a miner's model (used by ``aggregate``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

KIND = "_pofl_kind"
INIT, DEPLOY, COLLECT, SET_WEIGHTS = "init", "deploy", "collect", "set_weights"


def _mark(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, KIND, kind)
        return func

    return decorate


init_server_model = _mark(INIT)
deploy_miner_model = _mark(DEPLOY)
deploy_server_to_miner_wrapper = _mark(DEPLOY)
send_weights_to_miner = _mark(COLLECT)
collect_to_send_wrapper = _mark(COLLECT)
set_aggregated_weights = _mark(SET_WEIGHTS)


def kind_of(func: Callable[..., Any]) -> str | None:
    return getattr(func, KIND, None)
