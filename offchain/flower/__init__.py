"""A miner's pool of real Flower clients (``pofl miner --pool flower``); needs the ``flower`` extra.

- :mod:`offchain.flower.client_app`: the ClientApp the project ships; a SuperNode runs it on its own data, with
  the same local training function as the in-process engine.
- :mod:`offchain.flower.link`: the miner's end of a SuperLink: its run, its ServerApp task and the Grid.
- :mod:`offchain.flower.pool`: :class:`~offchain.flower.pool.FlowerPool`, the pool backend that selects, sends,
  collects and aggregates a round.
- :mod:`offchain.flower.server_app`: the ServerApp component the run's app bundle names.
- :mod:`offchain.flower.servers`: a SuperLink and SuperNodes on loopback, owned by PID (tests, the benchmark).
- :mod:`offchain.flower.address`: the ``--superlink`` address, checked.

Only the modules above import ``flwr``; this one does not, so that the base install can say what is missing.
"""

from __future__ import annotations

from offchain.errors import ConfigError

INSTALL_HINT = "pip install -e '.[flower]'"


class FlowerMissing(ConfigError):
    """``flwr`` is not installed, and the Flower pool needs it."""


def require_flwr() -> None:
    """Raise :class:`FlowerMissing`, naming the extra to install, unless ``flwr`` can be imported."""
    try:
        import flwr  # noqa: F401
    except ImportError:
        raise FlowerMissing(f"--pool flower needs Flower (flwr), which is not installed: {INSTALL_HINT} "
                            "(the project's `flower` extra)") from None
