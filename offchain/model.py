"""flex's FlexModel: a miner's or client's model and its companions, in a dict."""

from __future__ import annotations

from typing import Any


class FlexModel(dict[str, Any]):
    """A dict holding ``"model"`` (an nn.Module) and whatever training needs beside it
    (``"criterion"``, ``"optimizer_func"``, ``"optimizer_kwargs"``, collected ``"weights"``...)."""

    actor_id: str | None = None

    def __repr__(self) -> str:
        return f"FlexModel({self.actor_id or ''}: {sorted(self)})"
