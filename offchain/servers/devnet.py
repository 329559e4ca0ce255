"""Local EVM devnets: an Anvil or Hardhat 2 node on loopback, owned by this process.

    with start_devnet() as devnet:            # Anvil on a free port
        w3 = Web3(Web3.HTTPProvider(devnet.rpc_url))

Both chains use chain id 31337 and the well-known development mnemonic, so the same
:func:`offchain.chain.accounts.dev_key` keys are funded on either.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from offchain.chain.accounts import DEV_CHAIN_ID, DEV_MNEMONIC
from offchain.errors import LauncherError, ToolNotFoundError
from offchain.paths import NODE_MODULES, PROJECT_ROOT, SETUP_HINT, which_or_none
from offchain.servers.process import ManagedProcess, ensure_port_free, free_port

DevnetKind = Literal["anvil", "hardhat"]
LOOPBACK = "127.0.0.1"


def anvil_binary() -> Path:
    """Anvil from node_modules (``@foundry-rs/anvil-<os>-<arch>``), else ``anvil`` on PATH."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    bundled = NODE_MODULES / "@foundry-rs" / f"anvil-{platform.system().lower()}-{arch}" / "bin" / "anvil"
    explicit = os.environ.get("POFL_ANVIL")
    found = which_or_none(*(c for c in (explicit, bundled, "anvil") if c))
    if found is None:
        raise ToolNotFoundError(
            f"Anvil not found: looked at {explicit or '$POFL_ANVIL (unset)'}, {bundled} and PATH. "
            f"Install it: {SETUP_HINT}, or install Foundry, or set POFL_ANVIL to the binary.")
    return found


def hardhat_cli() -> Path:
    """The Hardhat 2 CLI script in node_modules."""
    cli = NODE_MODULES / "hardhat" / "internal" / "cli" / "cli.js"
    if not cli.is_file():
        raise ToolNotFoundError(f"Hardhat not found at {cli}. Install it: {SETUP_HINT}.")
    return cli


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    """One JSON-RPC call over HTTP; returns ``result`` or raises with the node's error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        raise LauncherError(f"{method} on {url} failed: {reply['error']}")
    return reply["result"]


@dataclass
class Devnet:
    """A running local chain."""

    kind: DevnetKind
    host: str
    port: int
    process: ManagedProcess = field(repr=False)
    temp_log_dir: Path | None = None  # removed on stop: the log of a devnet nobody asked to keep

    @property
    def log_path(self) -> Path | None:
        return self.process.log_path

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def chain_id(self) -> int:
        return int(str(rpc_call(self.rpc_url, "eth_chainId")), 16)

    def stop(self) -> None:
        self.process.stop()
        if self.temp_log_dir is not None:
            shutil.rmtree(self.temp_log_dir, ignore_errors=True)


def _anvil_argv(port: int, accounts: int, state: Path | None, block_time: float | None,
                host: str = LOOPBACK, tx_gas_limit: bool = False) -> list[str]:
    argv = [str(anvil_binary()), "--host", host, "--port", str(port), "--chain-id", str(DEV_CHAIN_ID),
            "--mnemonic", DEV_MNEMONIC, "--accounts", str(accounts), "--balance", "1000000",
            # Anvil otherwise writes every old block's state under ~/.foundry/anvil/tmp and never removes it:
            # ~800 MB a test session's devnet, 78 GB on this machine before it was seen. Nothing here reads
            # state older than the states Anvil keeps in memory (events and block hashes stay).
            "--max-persisted-states", "0"]
    if state is not None:
        # --state loads the file when it exists and dumps to it on exit; the interval dump keeps
        # it current if this process is killed without a chance to stop Anvil gracefully.
        argv += ["--state", str(state), "--state-interval", "1"]
    if block_time:
        argv += ["--block-time", str(block_time)]
    if tx_gas_limit:  # EIP-7825 (Osaka): no transaction may use more than 16,777,216 gas
        argv += ["--enable-tx-gas-limit"]
    return argv


def _hardhat_argv(host: str, port: int) -> list[str]:
    return ["node", str(hardhat_cli()), "node", "--hostname", host, "--port", str(port)]


def launch_devnet(kind: DevnetKind = "anvil", *, port: int = 0, accounts: int = 20, state: Path | None = None,
                  block_time: float | None = None, log_dir: Path | None = None, host: str = LOOPBACK,
                  ready_timeout: float = 60.0, tx_gas_limit: bool = False) -> Devnet:
    """Start a devnet and return once its RPC answers ``eth_chainId``; the caller stops it.

    It listens on ``host`` (loopback unless told: another address of this machine, for miners elsewhere).
    Its log is ``log_dir/<kind>-<port>.log``; without ``log_dir``, a temporary folder removed on stop.
    ``tx_gas_limit`` (Anvil): enforce EIP-7825's cap of 16,777,216 gas a transaction."""
    if port:
        ensure_port_free(host, port, f"{kind} devnet")
    else:
        port = free_port(host)
    env = dict(os.environ)
    if state is not None:  # the node runs in the checkout: a relative path must mean the caller's directory
        state = state.expanduser().resolve()
        state.parent.mkdir(parents=True, exist_ok=True)
    if kind == "anvil":
        argv = _anvil_argv(port, accounts, state, block_time, host, tx_gas_limit)
    elif kind == "hardhat":
        if state is not None or block_time or tx_gas_limit:
            raise LauncherError("--state, --block-time and the tx gas limit are Anvil options; use --kind anvil for "
                                "them")
        argv = _hardhat_argv(host, port)
        env.update(HARDHAT_DISABLE_TELEMETRY_PROMPT="true", HARDHAT_ACCOUNTS=str(accounts))
    else:
        raise LauncherError(f"unknown devnet kind {kind!r}: use 'anvil' or 'hardhat'")
    temp_log_dir = None
    if log_dir is None:
        log_dir = temp_log_dir = Path(tempfile.mkdtemp(prefix=f"pofl-{kind}-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(kind, argv, env=env, cwd=PROJECT_ROOT, log_path=log_dir / f"{kind}-{port}.log").start()
    devnet = Devnet(kind, LOOPBACK if host == "0.0.0.0" else host, port, proc, temp_log_dir)
    try:
        proc.wait_until(lambda: devnet.chain_id() == DEV_CHAIN_ID, ready_timeout, f"its RPC answering on {port}")
    except BaseException:
        devnet.stop()
        raise
    return devnet


@contextmanager
def start_devnet(kind: DevnetKind = "anvil", **kwargs: object) -> Iterator[Devnet]:
    """Context manager around :func:`launch_devnet` that always stops the node."""
    devnet = launch_devnet(kind, **kwargs)  # type: ignore[arg-type]
    try:
        yield devnet
    finally:
        devnet.stop()
