"""Deploying contract artifacts and keeping a record of where they live.

A deployment is recorded in ``deployments/<chainId>.json`` (as Foundry's ``broadcast`` and
Hardhat Ignition do): per contract name, its address, transaction, block, deployer,
constructor arguments and the sha256 of the artifact. :func:`attach` re-opens a recorded
deployment and checks that the chain still holds its code.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import send
from offchain.errors import PoflRuntimeError
from offchain.paths import ARTIFACTS_DIR, DEPLOYMENTS_DIR


class DeploymentError(PoflRuntimeError):
    """A recorded deployment is missing or does not match the chain."""


def load_artifact(name: str, artifacts_dir: Path = ARTIFACTS_DIR) -> dict[str, Any]:
    """The compiled artifact ``contracts/out/<name>.json``."""
    path = artifacts_dir / f"{name}.json"
    if not path.is_file():
        raise DeploymentError(f"no artifact {path}: run `pofl compile` first")
    return dict(json.loads(path.read_text()))


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


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def record_path(chain_id: int, deployments_dir: Path = DEPLOYMENTS_DIR) -> Path:
    return deployments_dir / f"{chain_id}.json"


def write_record(record: DeploymentRecord, deployments_dir: Path = DEPLOYMENTS_DIR) -> Path:
    path = record_path(record.chain_id, deployments_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = json.loads(path.read_text()) if path.exists() else {"chainId": record.chain_id, "contracts": {}}
    records["contracts"][record.contract] = asdict(record)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def read_record(chain_id: int, contract: str, deployments_dir: Path = DEPLOYMENTS_DIR) -> DeploymentRecord:
    path = record_path(chain_id, deployments_dir)
    if not path.exists():
        raise DeploymentError(f"no deployment record {path}: deploy first with `pofl deploy --rpc-url URL`")
    entry = json.loads(path.read_text())["contracts"].get(contract)
    if entry is None:
        raise DeploymentError(f"{path} has no {contract} deployment: deploy it with `pofl deploy`")
    return DeploymentRecord(**entry)


def deploy_contract(signer: LocalSigner, artifact: dict[str, Any], args: list[Any], *, value: int = 0,
                    deployments_dir: Path | None = DEPLOYMENTS_DIR, decoder: ErrorDecoder | None = None,
                    ) -> tuple[Contract, DeploymentRecord]:
    """Deploy ``artifact`` with constructor ``args``; record it unless ``deployments_dir`` is None."""
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
        deployed_at=int(time.time()))
    if deployments_dir is not None:
        write_record(record, deployments_dir)
    return w3.eth.contract(address=address, abi=artifact["abi"]), record


def attach(w3: Web3, artifact: dict[str, Any], address: str | None = None,
           deployments_dir: Path = DEPLOYMENTS_DIR) -> Contract:
    """The contract at ``address`` (or at the recorded address on this chain), checked to hold its code."""
    if address is None:
        address = read_record(w3.eth.chain_id, artifact["contractName"], deployments_dir).address
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
