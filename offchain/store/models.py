"""Publishing and fetching models by CID: the codec (model_bytes) over any ModelStore."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from offchain.store.base import ModelStore
from offchain.store.cid import parse_cid
from offchain.store.model_bytes import DEFAULT_MAX_BYTES, load_model_bytes, model_to_bytes


def publish_model(store: ModelStore, state: Mapping[str, torch.Tensor], architecture: str, round_id: int = 0) -> str:
    """Serialize ``state`` canonically, store (and pin) it, return its CID."""
    return store.put(model_to_bytes(state, architecture, round_id))


def fetch_model(store: ModelStore, cid: str, architecture: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                ) -> dict[str, torch.Tensor]:
    """The verified, checked state dict stored under ``cid`` (MalformedCid / IntegrityError / ModelFormatError
    otherwise). The CID is checked here too, before any store sees it, whatever store it is."""
    parse_cid(cid)
    state, _ = load_model_bytes(store.get(cid), architecture, max_bytes=max_bytes)
    return state
