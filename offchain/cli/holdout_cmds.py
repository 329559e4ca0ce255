"""Hold-out evaluation on the command line: the options ``pofl deploy`` and ``pofl run`` share, and
``pofl requester``, which reveals each round's shard key on time and ends the task.

``--holdout mnist`` splits MNIST's 10,000 test images (1,000 public, shards of 250, a final shard of
1,500: :mod:`offchain.holdout.split`); ``--holdout FILE.npz`` takes the requester's own set
(:mod:`offchain.holdout.dataset_file`). The shard keys go to ``--holdout-keys`` (mode 0600).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from offchain.cli.options import Endpoint, contract_option, key_options, key_sources, rpc_url_option, signing_key
from offchain.cli.output import json_option, output
from offchain.cli.store_cmds import store_options
from offchain.cli.types import HOLDOUT_DATA
from offchain.defaults import (
    ETH,
    HOLDOUT_BOND_WEI,
    HOLDOUT_FINAL_SIZE,
    HOLDOUT_KEYS_DIR,
    HOLDOUT_SHARD_SIZE,
    HOLDOUT_SHARDS,
    MISSED_KEY_PAY_WEI,
)

if TYPE_CHECKING:
    from offchain.app.deployment import HoldoutSpec

F = TypeVar("F", bound=Callable[..., Any])

def holdout_options(fn: F) -> F:
    """``--holdout DATA`` and the options that shape its split, its bond and its key file."""
    for option in reversed([
        click.option("--holdout", "holdout_data", type=HOLDOUT_DATA, default=None,
                     help="Hold-out evaluation: split this evaluation set (mnist: MNIST's test set) into a public "
                          "part and sealed shards, one judging each round; the keys stay with you."),
        click.option("--holdout-shards", type=click.IntRange(min=1), default=None,
                     help=f"Selection shards, one a round (default: {HOLDOUT_SHARDS}, or the run's rounds)."),
        click.option("--holdout-shard-size", type=click.IntRange(min=1), default=HOLDOUT_SHARD_SIZE,
                     show_default=True, help="Images per selection shard."),
        click.option("--holdout-final-size", type=click.IntRange(min=1), default=HOLDOUT_FINAL_SIZE,
                     show_default=True, help="Images in the final held-out shard."),
        click.option("--holdout-keys", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help=f"The shard key file to write (deploying) or read (--contract): default "
                          f"{HOLDOUT_KEYS_DIR}/<task address>.json, mode 0600."),
        click.option("--holdout-bond", type=click.FloatRange(min=0), default=HOLDOUT_BOND_WEI / ETH,
                     show_default=True, help="ETH the requester deposits; a missed key pays the round's "
                                             f"committers {MISSED_KEY_PAY_WEI / ETH:g} ETH from it, by stake."),
    ]):
        fn = option(fn)
    return fn


def holdout_spec(data: str, shards: int | None, shard_size: int, final_size: int, bond: float,
                 default_shards: int = HOLDOUT_SHARDS) -> HoldoutSpec:
    """The split of ``--holdout DATA`` (``mnist`` or an .npz file)."""
    from offchain.app.deployment import HoldoutSpec
    from offchain.fl.mnist import load_mnist
    from offchain.holdout.dataset_file import load_dataset

    images = load_mnist("test") if data == "mnist" else load_dataset(data)
    return HoldoutSpec(images, shards or default_shards, shard_size, final_size, round(bond * ETH),
                       MISSED_KEY_PAY_WEI)


@click.command("requester")
@rpc_url_option(required=True)
@contract_option("The PoFLConsensus address whose hold-out task this is; default: this chain's recorded one.")
@key_options("Key that signs the reveals (any funded account may reveal a key; the requester's is usual).")
@click.option("--keys", "keys_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The task's key file (`pofl deploy --holdout` wrote it).")
@click.option("--append", "append_data", type=HOLDOUT_DATA, default=None,
              help="Seal shards of this set (images no earlier shard held) into the store, append them to the task "
                   "and add their keys to --keys, then go on.")
@click.option("--append-shards", type=click.IntRange(min=1), default=None, help="How many shards --append seals.")
@click.option("--append-shard-size", type=click.IntRange(min=1), default=HOLDOUT_SHARD_SIZE, show_default=True,
              help="Images per appended shard.")
@store_options
@click.option("--end", "end_now", is_flag=True, help="End the task now: reveal the final shard's key and exit.")
@click.option("--end-after-last-shard", is_flag=True,
              help="End the task once the round judged on the last shard has closed.")
@click.option("--poll", type=click.FloatRange(min=0.01), default=0.5, show_default=True,
              help="Seconds between looks at the chain.")
@json_option
def requester_cmd(rpc_url: str, address: str | None, key: str | None, key_file: Path | None, keystore: Path | None,
                  keys_path: Path, append_data: str | None, append_shards: int | None, append_shard_size: int,
                  ipfs_api: str | None, store_dir: str, ipfs_timeout: float, end_now: bool,
                  end_after_last_shard: bool, poll: float, as_json: bool) -> None:
    """Reveal each round's shard key as soon as its commits close (until Ctrl-C), append shards, or end the task."""
    from offchain.app.requester import Requester
    from offchain.chain.accounts import LocalSigner
    from offchain.chain.connect import connect
    from offchain.chain.consensus import PoFLContract
    from offchain.chain.holdout import HoldoutContract
    from offchain.errors import ConfigError
    from offchain.holdout.keyfile import read_keys

    out = output(as_json)
    w3 = connect(rpc_url)
    contract = PoFLContract.attach(w3, address)
    holdout = HoldoutContract.of(contract)
    if holdout is None:
        raise ConfigError(f"the PoFLConsensus at {contract.address} evaluates in public: it has no hold-out task")
    signer = LocalSigner(w3, signing_key(Endpoint(rpc_url), w3.eth.chain_id, key_sources(key, key_file, keystore)))
    requester = Requester(holdout, contract, signer, read_keys(keys_path))
    appended = 0
    if append_data is not None:
        if append_shards is None:
            raise click.UsageError("--append needs --append-shards N")
        from offchain.cli.store_cmds import open_checked_store
        from offchain.fl.mnist import load_mnist
        from offchain.holdout.dataset_file import load_dataset
        from offchain.holdout.keyfile import write_keys

        data = load_mnist("test") if append_data == "mnist" else load_dataset(append_data)
        store = open_checked_store(ipfs_api, store_dir, ipfs_timeout)
        write_keys(keys_path, requester.append(data, append_shards, store, shard_size=append_shard_size),
                   overwrite=True)
        appended = append_shards
        out.note(f"appended {appended} shards (the task has {holdout.shard_count()}); their keys are in {keys_path}")
    revealed: list[int] = []
    try:
        while not end_now:
            if requester.step():
                revealed.append(max(requester.revealed))
                out.note(f"revealed the shard key of round {revealed[-1]}")
            if end_after_last_shard and contract.current_round() > holdout.shard_count():
                break
            time.sleep(poll)
    except KeyboardInterrupt:
        out.note("stopped")
    ended = False
    if end_now or end_after_last_shard:
        requester.end_task()
        ended = True
        out.note("ended the task: the final shard's key is public (`pofl blocks` reports every block on it)")
    out.result({"task": holdout.address, "appended_shards": appended, "revealed_rounds": revealed, "ended": ended},
               lambda: click.echo(f"task {holdout.address}: revealed {len(revealed)} keys"
                                  + ("; ended" if ended else "")))


COMMANDS = [requester_cmd]
