"""What the notebook pools over a real chain share (PoFL, PoW, PoS): the flex actors, the genesis model in the
store, the devnet and the keys, loading and reading miners' models.

A subclass builds its actors (miners that lead clients, or peers that are both) and passes them here; it deploys
its own contract on the first ``aggregate`` (:meth:`ChainPool._connect` gives it the chain and the keys).
"""

from __future__ import annotations

import copy
import random
import shutil
import tempfile
from collections.abc import Callable

import torch
from web3 import Web3

from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.keys import check_private_key, dev_keys_allowed
from offchain.data import FedDataset
from offchain.errors import ConfigError, KeyPolicyError, PoflError, PoflValueError
from offchain.fl.architectures import architecture_for
from offchain.fl.federation import assign_to_miners
from offchain.fl.training import FlatParams
from offchain.model import FlexModel
from offchain.pool.decorators import INIT, kind_of
from offchain.pool.flex_pool import FlexPool
from offchain.redaction import redact_url
from offchain.servers.devnet import Devnet, launch_devnet
from offchain.store import open_store
from offchain.store.fetching import fetch_model, publish_model


def miners_and_clients(fed_dataset: FedDataset, number_of_miners: int, seed: int) -> tuple[list[str], dict[str, str]]:
    """flexBlock's split for PoFL and PoW: the miners (``miner_<m>``), and client id -> the miner that leads it,
    evenly."""
    if number_of_miners < 1:
        raise PoflValueError(f"the pool needs at least one miner, got {number_of_miners}")
    client_ids = list(fed_dataset)
    owners = assign_to_miners(len(client_ids), number_of_miners, seed)
    miner_ids = [f"miner_{m}" for m in range(number_of_miners)]
    return miner_ids, {c: miner_ids[int(owners[i])] for i, c in enumerate(client_ids)}


class ChainPool:
    """Actors as FlexPools, a store holding the genesis model, and (from the first aggregate) a chain.

    ``server_ids`` are the miners; ``miner_of`` maps each client to the miner that leads it; a client that is its
    own miner (a peer, PoS) shares that miner's FlexModel. Keyword arguments as in
    :class:`~offchain.pool.PoFLBlockchainPool`."""

    def __init__(self, fed_dataset: FedDataset, init_func: Callable[[], FlexModel], server_ids: list[str],
                 miner_of: dict[str, str], *,
                 rpc_url: str | None = None, ipfs_api: str | None = None, store_dir: str | None = None,
                 seed: int = 0, owner_key: str | None = None, miner_keys: list[str] | None = None) -> None:
        if kind_of(init_func) not in (INIT, None):
            raise PoflValueError("init_func must build a miner's FlexModel (decorate it with @init_server_model)")
        rng = random.Random(seed)
        servers = {m: init_func() for m in server_ids}
        first = next(iter(servers.values()))
        genesis = copy.deepcopy(first["model"].state_dict())
        for m, model in servers.items():  # every miner starts from the genesis model, as on chain
            model.actor_id = m
            model["model"].load_state_dict(genesis)
        clients = {c: servers[c] if c in servers else FlexModel() for c in fed_dataset}
        self._servers = FlexPool(servers, {}, miner_of, rng)
        self._clients = FlexPool(clients, dict(fed_dataset.items()), miner_of, rng)
        self.rng = rng
        self.architecture = architecture_for(first["model"])
        self.flat = FlatParams(copy.deepcopy(first["model"]).cpu())
        self._rpc_url, self._owner_key, self._miner_keys = rpc_url, owner_key, miner_keys
        self._devnet: Devnet | None = None
        # without a store given, a temporary embedded one, removed by close()
        self._temp_store = None if ipfs_api or store_dir else tempfile.mkdtemp(prefix="pofl-pool-store-")
        self.store = open_store(ipfs_api, store_dir or self._temp_store)
        self._genesis_cid = publish_model(self.store, genesis, self.architecture)

    # ----------------------------------------------------------- flex API

    @property
    def clients(self) -> FlexPool:
        return self._clients

    @property
    def servers(self) -> FlexPool:
        return self._servers

    @property
    def aggregators(self) -> FlexPool:
        return self._servers

    def __len__(self) -> int:
        """The pool's nodes: miners plus clients (a peer that is both counts once)."""
        return len(set(self._servers.models) | set(self._clients.models))

    # ----------------------------------------------------------- chain

    def _connect(self, extra_accounts: int = 2) -> tuple[Web3, LocalSigner, list[LocalSigner]]:
        """The chain (an auto-started Anvil unless ``rpc_url`` was given), the owner's signer and one signer per
        miner, in the servers' order."""
        if self._rpc_url is None:
            self._devnet = launch_devnet("anvil", accounts=len(self._servers) + extra_accounts)
            self._rpc_url = self._devnet.rpc_url
        w3 = connect(self._rpc_url)
        owner_key, miner_keys = self._keys(self._rpc_url, w3.eth.chain_id)
        return w3, LocalSigner(w3, owner_key), [LocalSigner(w3, k) for k in miner_keys]

    def _keys(self, rpc_url: str, chain_id: int) -> tuple[str, list[str]]:
        """The owner's and the miners' keys: the given ones, or the dev accounts on a local devnet."""
        n = len(self._servers)
        if self._owner_key is not None and self._miner_keys is not None:
            if len(self._miner_keys) != n:
                raise ConfigError(f"miner_keys: {n} miners need {n} keys, got {len(self._miner_keys)}")
            return (check_private_key(self._owner_key, "owner_key"),
                    [check_private_key(k, f"miner_keys[{i}]") for i, k in enumerate(self._miner_keys)])
        if not dev_keys_allowed(rpc_url, chain_id, started_here=self._devnet is not None):
            raise KeyPolicyError(f"chain {chain_id} at {redact_url(rpc_url)} is not a local devnet, so the public "
                                 f"test keys are not used there: pass owner_key= and miner_keys= (e.g. from "
                                 f"POFL_KEY or a keystore)")
        return dev_key(0), [dev_key(i + 1) for i in range(n)]

    # ----------------------------------------------------------- models

    def _params_of(self, miner_id: str) -> torch.Tensor:
        return self.flat.flatten({k: v.detach().cpu() for k, v in self._servers.models[miner_id]["model"]
                                  .state_dict().items()})

    def _load(self, model: FlexModel, params: torch.Tensor) -> None:
        module = model["model"]
        device = next(module.parameters()).device
        module.load_state_dict({k: v.to(device) for k, v in self.flat.unflatten(params).items()})

    def _publish(self, miner_id: str) -> str:
        """Pin miner ``miner_id``'s model to the store; its CID."""
        state = {k: v.detach().cpu() for k, v in self._servers.models[miner_id]["model"].state_dict().items()}
        return publish_model(self.store, state, self.architecture)

    def _fetch(self, cid: str) -> torch.Tensor | None:
        """The model stored under ``cid``, verified and checked against the architecture, as flat parameters;
        None if it cannot be fetched or loaded."""
        try:
            return self.flat.flatten(fetch_model(self.store, cid, self.architecture))
        except (PoflError, OSError, ValueError, RuntimeError, KeyError):
            return None

    def _adopt(self, params: torch.Tensor) -> None:
        """Every miner loads ``params`` (the new block's model) and drops the weights it collected."""
        for model in self._servers.models.values():
            self._load(model, params)
            model.pop("weights", None)

    def close(self) -> None:
        """Stop the auto-started devnet and remove the temporary store, if any (its models go with it)."""
        if self._devnet is not None:
            self._devnet.stop()
            self._devnet = None
        if self._temp_store is not None:
            shutil.rmtree(self._temp_store, ignore_errors=True)
            self._temp_store = None

