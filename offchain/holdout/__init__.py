"""Hold-out evaluation: a requester's committed, encrypted evaluation shards (issue 14).

One module per concept: :mod:`.split` (public part, selection shards, final shard),
:mod:`.dataset_file` (a user's .npz), :mod:`.shard_format` (a shard's canonical bytes),
:mod:`.sealing` (AES-256-GCM under a key committed by its keccak256), :mod:`.keyfile` (the
requester's keys, mode 0600), :mod:`.task` (seal a task into a store; open a revealed shard) and
:mod:`.stats` (the standard error of a measured accuracy).
"""

from offchain.holdout.dataset_file import DatasetFileError, load_dataset, save_dataset
from offchain.holdout.keyfile import KeyFileError, Keys, read_keys, write_keys
from offchain.holdout.sealing import FINAL_INDEX, KeyMismatch, SealError, UnsealFailed, key_hash
from offchain.holdout.shard_format import ShardFormatError, shard_from_bytes, shard_to_bytes
from offchain.holdout.split import HoldoutSplit, mnist_split, split_holdout
from offchain.holdout.stats import images_for_resolution, standard_error
from offchain.holdout.task import SealedShard, SealedTask, open_shard, seal_split, seal_task, task_id

__all__ = ["FINAL_INDEX", "DatasetFileError", "HoldoutSplit", "KeyFileError", "KeyMismatch", "Keys", "SealError",
           "SealedShard", "SealedTask", "ShardFormatError", "UnsealFailed", "images_for_resolution", "key_hash",
           "load_dataset", "mnist_split", "open_shard", "read_keys", "save_dataset", "seal_split", "seal_task",
           "shard_from_bytes", "shard_to_bytes", "split_holdout", "standard_error", "task_id", "write_keys"]
