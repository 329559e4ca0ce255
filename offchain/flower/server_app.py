"""The ServerApp component that the miner's app bundle (FAB) names.

The miner process itself is the ServerApp of its pool: it creates its run on the SuperLink, claims the run's
ServerApp task and drives the Grid round by round as the chain asks (:mod:`offchain.flower.link`). A SuperLink
that launches ServerApps itself (``--isolation subprocess``, Flower's default) would start this one instead; it
fails at once, saying how to start the SuperLink.
"""

from __future__ import annotations

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from offchain.errors import ConfigError

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    raise ConfigError("PoFL-chain's pool runs inside `pofl miner --pool flower`, not in a process the SuperLink "
                      "starts: start the SuperLink with `flower-superlink --isolation process ...`")
