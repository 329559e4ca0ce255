"""The ClientApp the project ships: what a data owner's SuperNode runs for a miner's pool.

The node's own data never leaves it. Which data is the node's is its node config
(``flower-supernode --node-config ...``):

- ``partition-id=I``: the client's number in the run (the miner trains client I when the round's draw names it);
  without ``data-file`` its samples are client I's share of the run's federation over the shipped MNIST training
  set (tests, benchmarks, demonstrations);
- ``data-file="PATH.npz"`` (optional): the owner's own samples, arrays ``images`` (N, 28, 28) uint8 and
  ``labels`` (N,) int.

A ``query`` message asks who the node is (its client number); a ``train`` message carries the
start model (``arrays``/``params``, the flat parameter vector) and the run's settings (``config``/``run-config``,
the JSON of :class:`~offchain.miner.run_config.RunConfig`), and the reply carries the trained parameters and
``num-examples``. Training is :func:`offchain.fl.training.train_one`, the in-process engine's own function, by
the run's rule (optimizer, batch, epochs). The node holds no key and never touches the chain.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from offchain.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from offchain.fl.training import DeviceDataset
    from offchain.miner.run_config import RunConfig

# Flower starts a ClientApp process per message: the learning stack (torch, the data) is imported only by the
# messages that train, so that a query costs little more than Flower's own start.
app = ClientApp()

PARTITION_KEY = "partition-id"
DATA_FILE_KEY = "data-file"


def client_number(context: Context) -> int:
    """The node's client number, from its node config; a ConfigError saying how to set it when absent."""
    value = context.node_config.get(PARTITION_KEY)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"this SuperNode has no client number: start it with --node-config '{PARTITION_KEY}=I' "
                          f"(I >= 0, the client's number in the run), got {value!r}")
    return value


def owner_data(config: RunConfig, client: int, data_file: str | None,
               device: torch.device) -> tuple[DeviceDataset, np.ndarray]:
    """The node's training samples: its own file's, or client ``client``'s share of the run's federation."""
    import numpy as np

    from offchain.fl.mnist import load_mnist
    from offchain.fl.training import DeviceDataset
    from offchain.miner.workload import build_federation

    if data_file:
        path = Path(data_file)
        try:
            with np.load(path) as arrays:
                images, labels = arrays["images"], arrays["labels"]
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"{DATA_FILE_KEY} {path}: not an .npz file with arrays 'images' and 'labels' "
                              f"({exc})") from None
        return DeviceDataset(images, labels, device), np.arange(len(labels), dtype=np.int64)
    train = load_mnist("train")
    federation = build_federation(config, train)
    if client >= federation.n_clients:
        raise ConfigError(f"{PARTITION_KEY}={client}: the run's federation has clients 0..{federation.n_clients - 1}")
    return DeviceDataset(train.images, train.labels, device), federation.client(client)


def _data_file(context: Context) -> str | None:
    value = context.node_config.get(DATA_FILE_KEY)
    return str(value) if value else None


@app.query()
def query(msg: Message, context: Context) -> Message:
    """Who this node is: its client number (its data stays unread until it trains)."""
    return Message(RecordDict({"metrics": MetricRecord({"client": client_number(context)})}), reply_to=msg)


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Train the received model on this node's samples by the run's local rule; reply with the result."""
    import numpy as np
    import torch

    from offchain.fl.device import default_device
    from offchain.fl.simulation import genesis_model
    from offchain.fl.training import FlatParams, train_one
    from offchain.miner.run_config import RunConfig

    t0 = time.perf_counter()
    config = RunConfig.from_json(str(msg.content["config"]["run-config"]), "the miner's train message")
    client = client_number(context)
    device = default_device()
    data, samples = owner_data(config, client, _data_file(context), device)
    flat = FlatParams(genesis_model(config.architecture, config.seed).to(device))
    start = torch.from_numpy(np.array(msg.content["arrays"]["params"].numpy(), dtype=np.float32)).to(device)
    if start.shape != (flat.numel,):
        raise ConfigError(f"the start model has {tuple(start.shape)} parameters; a {config.architecture} has "
                          f"{flat.numel}")
    t1 = time.perf_counter()
    trained = train_one(flat, start, data, samples, config.train)
    t2 = time.perf_counter()
    return Message(RecordDict({
        "arrays": ArrayRecord({"params": Array(trained.cpu().numpy())}),
        "metrics": MetricRecord({"client": client, "num-examples": len(samples), "load-seconds": t1 - t0,
                                 "train-seconds": t2 - t1}),
        "config": ConfigRecord({"device": str(device)})}), reply_to=msg)
