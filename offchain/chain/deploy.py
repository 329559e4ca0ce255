"""Deploying contract artifacts and keeping a record of where they live.

Deployments are recorded in the working directory, as Foundry's ``broadcast/`` and Hardhat
Ignition's ``ignition/deployments/`` are: ``deployments/<chainId>-<genesis>/`` (``$POFL_DEPLOYMENTS``
overrides ``deployments``), where ``<genesis>`` begins the hash of the chain's block 0. Every
Anvil and Hardhat node has chain id 31337, but each new one has a genesis block of its own (its
timestamp differs), so the record of one devnet is never read for another, while an Anvil
restarted from its ``--state`` file keeps its genesis and finds its record again. In that folder
``<Contract>.json`` is the latest deployment (address, transaction, block, deployer, constructor
arguments, the sha256 of the artifact and, for PoFLConsensus, the run's settings every miner
reads) and ``history.jsonl`` every deployment, one JSON object a line. :func:`attach` re-opens a
recorded deployment and checks that the chain still holds its code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import send
from offchain.errors import PoflRuntimeError
from offchain.paths import ARTIFACTS_DIR, DEPLOYMENTS_DIR

log = logging.getLogger("pofl.deploy")

GENESIS_PREFIX = 12
"""Hex digits of the genesis block hash in a record folder's name."""


class DeploymentError(PoflRuntimeError):
    """A recorded deployment is missing or does not match the chain."""


def load_artifact(name: str, artifacts_dir: Path = ARTIFACTS_DIR) -> dict[str, Any]:
    """The compiled artifact ``contracts/out/<name>.json``."""
    path = artifacts_dir / f"{name}.json"
    if not path.is_file():
        raise DeploymentError(f"no artifact {path}: run `pofl compile` first")
    return dict(json.loads(path.read_text()))


def with_lens_views(abi: list[dict[str, Any]], lens_abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``abi`` with the functions of ``lens_abi`` added: the views a contract serves with its lens's code (its
    ``fallback`` DELEGATECALLs the lens). A function both have, such as a public constant, is listed once."""
    def key(e: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
        return e["name"], tuple(i["type"] for i in e["inputs"])

    have = {key(e) for e in abi if e.get("type") == "function"}
    return abi + [e for e in lens_abi if e.get("type") == "function" and key(e) not in have]


def artifact_sha256(artifact: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(artifact, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class DeploymentRecord:
    contract: str
    chain_id: int
    address: str
    tx_hash: str
    block_number: int
    deployer: str
    constructor_args: list[Any]
    artifact_sha256: str
    deployed_at: int
    genesis_hash: str = ""
    settings: dict[str, Any] | None = field(default=None)  # what every miner of the deployment must agree on
    value_wei: int = 0  # sent with the deployment (a reward pool, a bond)
    gas_used: int = 0
    cost_wei: int = 0  # gas_used x the effective gas price: what deploying cost, besides value_wei

    @property
    def chain_key(self) -> str:
        return chain_key_of(self.chain_id, self.genesis_hash)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def chain_key_of(chain_id: int, genesis_hash: str) -> str:
    """``<chainId>-<first hex digits of the genesis hash>``: the name of a chain's record folder."""
    digits = genesis_hash.removeprefix("0x")[:GENESIS_PREFIX]
    return f"{chain_id}-{digits}" if digits else str(chain_id)


def chain_key(w3: Web3) -> str:
    """The record folder name of the chain ``w3`` talks to (its chain id and genesis block)."""
    genesis = w3.eth.get_block(0)["hash"]
    return chain_key_of(w3.eth.chain_id, "0x" + bytes(genesis).hex())


def record_path(key: str, contract: str, deployments_dir: Path = DEPLOYMENTS_DIR) -> Path:
    return deployments_dir / key / f"{contract}.json"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_record(record: DeploymentRecord, deployments_dir: Path = DEPLOYMENTS_DIR) -> Path:
    """Make ``record`` its chain's latest deployment of its contract and add it to the history. Replacing a
    record of another address is said in a warning: commands without an address follow the new one."""
    path = record_path(record.chain_key, record.contract, deployments_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        replaced: DeploymentRecord | None = _record_from(json.loads(path.read_text()), path)
    except (OSError, ValueError, DeploymentError):
        replaced = None
    if replaced is not None and replaced.address.lower() != record.address.lower():
        log.warning("%s named %s %s, deployed %d s ago by %s; it now names %s at %s: commands without a contract "
                    "address use the new one (history.jsonl keeps both). For two runs at once on one chain, give "
                    "each its own --deployments-dir or POFL_DEPLOYMENTS", path, replaced.contract, replaced.address,
                    max(0, record.deployed_at - replaced.deployed_at), replaced.deployer, record.contract,
                    record.address)
    entry = asdict(record)
    _write_atomic(path, json.dumps(entry, indent=2, sort_keys=True) + "\n")
    with (path.parent / "history.jsonl").open("a") as history:
        history.write(json.dumps(entry, sort_keys=True) + "\n")
    return path


def _record_from(entry: Any, source: Path) -> DeploymentRecord:
    try:
        return DeploymentRecord(**entry)
    except TypeError as exc:
        raise DeploymentError(f"{source} is not a deployment record ({exc}); delete it or deploy again") from None


def read_record(key: str, contract: str, deployments_dir: Path = DEPLOYMENTS_DIR,
                address: str | None = None) -> DeploymentRecord:
    """The latest deployment of ``contract`` on the chain ``key`` (see :func:`chain_key`), or, with
    ``address``, the recorded deployment at that address (the latest one first, then the history)."""
    path = record_path(key, contract, deployments_dir)
    if not path.exists():
        raise DeploymentError(f"no deployment record {path} for this chain: deploy first with "
                              f"`pofl deploy --rpc-url URL`, or pass the contract's address")
    try:
        latest = _record_from(json.loads(path.read_text()), path)
    except json.JSONDecodeError:
        raise DeploymentError(f"{path} is not JSON: delete it or deploy again") from None
    if latest.contract != contract:
        raise DeploymentError(f"{path} records {latest.contract}, not {contract}: deploy it with `pofl deploy`")
    if address is None or latest.address.lower() == address.lower():
        return latest
    history = path.parent / "history.jsonl"
    for line in reversed(history.read_text().splitlines() if history.exists() else []):
        with_address = json.loads(line)
        if with_address.get("contract") == contract and str(with_address.get("address")).lower() == address.lower():
            return _record_from(with_address, history)
    raise DeploymentError(f"no deployment of {contract} at {address} is recorded in {path.parent}")


def deploy_contract(signer: LocalSigner, artifact: dict[str, Any], args: list[Any], *, value: int = 0,
                    deployments_dir: Path | None = DEPLOYMENTS_DIR, settings: dict[str, Any] | None = None,
                    decoder: ErrorDecoder | None = None) -> tuple[Contract, DeploymentRecord]:
    """Deploy ``artifact`` with constructor ``args``; record it (with the run's ``settings``) in
    ``deployments_dir`` unless that is None. ``decoder`` names the constructor's custom errors."""
    w3 = signer.w3
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    pending = send(signer, factory.constructor(*args), decoder or ErrorDecoder.from_artifact(artifact), value=value,
                   action=f"deploy {artifact['contractName']}")
    receipt = pending.wait()
    address = receipt["contractAddress"]
    record = DeploymentRecord(
        contract=artifact["contractName"], chain_id=w3.eth.chain_id, address=address,
        tx_hash="0x" + pending.tx_hash.hex(), block_number=receipt["blockNumber"], deployer=signer.address,
        constructor_args=_jsonable(list(args)), artifact_sha256=artifact_sha256(artifact),
        deployed_at=int(time.time()), genesis_hash="0x" + bytes(w3.eth.get_block(0)["hash"]).hex(),
        settings=settings, value_wei=value, gas_used=int(receipt["gasUsed"]),
        cost_wei=int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0)))
    if deployments_dir is not None:
        write_record(record, deployments_dir)
    return w3.eth.contract(address=address, abi=artifact["abi"]), record


def attach(w3: Web3, artifact: dict[str, Any], address: str | None = None,
           deployments_dir: Path = DEPLOYMENTS_DIR) -> Contract:
    """The contract at ``address`` (or at the recorded address on this chain), checked to hold its code."""
    if address is None:
        address = read_record(chain_key(w3), artifact["contractName"], deployments_dir).address
    address = Web3.to_checksum_address(address)
    code = bytes(w3.eth.get_code(address))
    if not code:
        raise DeploymentError(
            f"no contract code at {address} on chain {w3.eth.chain_id}: the chain was reset "
            f"(a restarted devnet without --state?). Deploy again with `pofl deploy`.")
    if _without_immutables(code, artifact) != _without_immutables(bytes.fromhex(artifact["deployedBytecode"][2:]),
                                                                  artifact):
        raise DeploymentError(f"the code at {address} is not {artifact['contractName']} as compiled in "
                              f"contracts/out: it was deployed from another version; deploy again or pass "
                              f"the right --contract address")
    return w3.eth.contract(address=address, abi=artifact["abi"])


def _without_immutables(code: bytes, artifact: dict[str, Any]) -> bytes:
    """Runtime code with the immutables (values the constructor wrote, zeros in the artifact) zeroed."""
    masked = bytearray(code)
    for start, length in artifact.get("immutableReferences", []):
        masked[start:start + length] = bytes(length)
    return bytes(masked)
