"""Every fixture of the suite, in one place (helpers are in tests/support; no test module imports another).

The tests are layered, each folder needing more than the one before:

- tests/unit: in process only: no server, no subprocess, no socket, no Node. Enforced here: a unit test that
  starts a process (``subprocess.Popen``, and so ``subprocess.run`` and ``ManagedProcess``) or opens a socket
  (connect, bind) fails with "a unit test starts no process" / "a unit test opens no socket".
- tests/contract: the contracts alone on a real chain (Anvil, Hardhat, eth-tester), driven by the typed client.
- tests/node: the miner stack in process against real servers (Anvil, js-ipfs).
- tests/system: `pofl` as a user runs it (CliRunner end to end, or processes).

Accounts: ``funded(n)`` gives n fresh signers (new random keys) holding 100 ETH each on the session Anvil; no
test picks dev-account indices by hand. Tests that drive the `pofl` command line on a devnet keep its dev
accounts (the command line uses them by design), and tests about the dev keys themselves keep them.
"""

from __future__ import annotations

import os
import tempfile

# Deployment records go to the working directory (./deployments); the tests keep theirs out of the checkout.
# Set before any offchain import reads it, and inherited by every `pofl` process a test starts.
os.environ.setdefault("POFL_DEPLOYMENTS", tempfile.mkdtemp(prefix="pofl-test-deployments-"))
# torch's OpenMP threads spin while they wait for work: on a machine whose cores are busy (other jobs, the
# other xdist worker, the `pofl` processes a test starts) that spinning starves everything else, and a
# 25-second test took over 300 under a load of 12. Passive threads sleep instead; the results are the same.
# Set before torch is imported (libgomp reads it once), and inherited by every process a test starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import contextlib
import functools
import json
import logging
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.connect import connect, in_process_web3
from offchain.servers.devnet import Devnet, launch_devnet
from offchain.servers.ipfs import IpfsDaemon, launch_ipfs_daemon
from offchain.servers.process import ManagedProcess
from offchain.testing.accounts import FUNDED_WEI, fresh_signers

UNIT = Path(__file__).resolve().parent / "unit"
SEPOLIA_CHAIN_ID = 11155111


# ------------------------------------------------------------------ the unit layer starts nothing


class UnitBoundaryError(BaseException):
    """A unit test reached for a process or a socket. A BaseException, so that no ``except Exception`` in the
    code under test can turn it into an ordinary error the test expects."""


_refusing = 0  # > 0 while a unit test, or the setting up of its fixtures, runs


def _guard(original: Callable[..., Any], what: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _refusing > 0:
            raise UnitBoundaryError(f"a unit test {what} ({original.__qualname__}); "
                                    "move the test to tests/contract, tests/node or tests/system")
        return original(*args, **kwargs)

    return guarded


# Wrapped once for the whole session; they refuse only while _refusing is set. (os.system and os.fork are left
# alone: pickle must still find os.system itself, and nothing here forks but through subprocess.Popen.)
subprocess.Popen.__init__ = _guard(subprocess.Popen.__init__, "starts no process")  # type: ignore[method-assign]
for _name in ("connect", "connect_ex", "bind"):
    setattr(socket.socket, _name, _guard(getattr(socket.socket, _name), "opens no socket"))


@contextlib.contextmanager
def _refuse_processes_and_sockets() -> Iterator[None]:
    global _refusing
    _refusing += 1
    try:
        yield
    finally:
        _refusing -= 1


def _is_unit(item: pytest.Item) -> bool:
    return UNIT in Path(str(item.path)).resolve().parents


@pytest.fixture(autouse=True)
def unit_tests_start_no_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under tests/unit: starting a process (subprocess.Popen, and so ManagedProcess and subprocess.run) or
    opening a socket fails the test with "a unit test starts no process" / "a unit test opens no socket"."""
    if not _is_unit(request.node):
        yield
        return
    with _refuse_processes_and_sockets():
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """The same refusal while a unit test's module- and session-scoped fixtures are set up (pytest sets them up
    before any function-scoped fixture, the autouse one above included)."""
    if not _is_unit(item):
        return (yield)
    with _refuse_processes_and_sockets():
        return (yield)


@pytest.fixture(autouse=True)
def _pofl_logger_restored() -> Iterator[None]:
    """Each test leaves the `pofl` logger as it found it: a command run in process (CliRunner) gives it a stderr
    handler and stops its propagation, after which caplog, on the root logger, would see none of its lines in the
    tests that follow (whichever layer runs first)."""
    logger = logging.getLogger("pofl")
    handlers, propagate, level = list(logger.handlers), logger.propagate, logger.level
    yield
    logger.handlers[:] = handlers
    logger.propagate = propagate
    logger.setLevel(level)


# ------------------------------------------------------------------ servers, started once per session


def _running(server: Devnet | IpfsDaemon) -> Iterator[Devnet | IpfsDaemon]:
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def anvil() -> Iterator[Devnet]:
    # 20 dev accounts, as `pofl devnet` funds: the `pofl` runs that tests start on it use the first of them
    yield from _running(launch_devnet("anvil", accounts=20))  # type: ignore[misc]


@pytest.fixture(scope="session")
def anvil_w3(anvil: Devnet) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture(scope="session")
def hardhat() -> Iterator[Devnet]:
    yield from _running(launch_devnet("hardhat", accounts=20))  # type: ignore[misc]


@pytest.fixture(scope="session")
def ipfs_daemon() -> Iterator[IpfsDaemon]:
    yield from _running(launch_ipfs_daemon())  # type: ignore[misc]


@pytest.fixture(params=["anvil", "eth-tester"])
def any_w3(request: pytest.FixtureRequest) -> Web3:
    """The same test on a real Anvil and on the in-process eth-tester chain."""
    if request.param == "anvil":
        return request.getfixturevalue("anvil_w3")
    return in_process_web3()


@pytest.fixture
def funded(anvil_w3: Web3) -> Callable[..., list[LocalSigner]]:
    """``funded(n)`` -> n fresh signers (new random keys) holding 100 ETH each on the session Anvil;
    ``funded(n, wei)`` for another balance."""

    def make(n: int, wei: int = FUNDED_WEI) -> list[LocalSigner]:
        return fresh_signers(anvil_w3, n, wei)

    return make


@pytest.fixture(scope="session")
def sepolia_like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback Anvil that reports Sepolia's chain id: a chain the dev keys must not touch."""
    from offchain.servers.devnet import LOOPBACK, _anvil_argv
    from offchain.servers.process import free_port

    port = free_port(LOOPBACK)
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    argv = _anvil_argv(port, 3, None, None)
    argv[argv.index("--chain-id") + 1] = str(SEPOLIA_CHAIN_ID)
    proc = ManagedProcess("anvil", argv, log_path=log).start()
    devnet = Devnet("anvil", LOOPBACK, port, proc)
    proc.wait_until(lambda: devnet.chain_id() == SEPOLIA_CHAIN_ID, 60, "anvil with chain id 11155111")
    try:
        yield devnet.rpc_url
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def devnet20() -> Iterator[Devnet]:
    """A devnet like `pofl devnet`'s: 20 funded accounts (the owner and 19 miners)."""
    net = launch_devnet("anvil", accounts=20)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def ipfs_store(ipfs_daemon: IpfsDaemon):  # type: ignore[no-untyped-def]
    from offchain.store.ipfs import IpfsStore

    return IpfsStore(ipfs_daemon.api_multiaddr)


@pytest.fixture
def lying_daemon() -> Iterator[str]:
    """The API address of an IPFS stand-in that answers with other bytes than those asked for."""
    from tests.support.stores import LyingDaemon, serve

    yield from serve(LyingDaemon)


@pytest.fixture
def recording_daemon() -> Iterator[tuple[str, list[str]]]:
    """The API address of an IPFS stand-in, and the request paths it has been sent."""
    from tests.support.stores import RecordingDaemon, serve

    seen: list[str] = []
    for api in serve(type("Recorder", (RecordingDaemon,), {"seen": seen})):
        yield api, seen


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One child process (web3 imported) that loads the model bytes it is sent (tests.support.models.Loader)."""
    from tests.support.models import Loader

    with open(tmp_path_factory.mktemp("loader") / "stderr", "w+") as stderr:
        child = Loader(stderr)
        yield child
        child.close()


# ------------------------------------------------------------------ contracts


@pytest.fixture(scope="session")
def test_contract_artifacts() -> dict[str, dict]:
    """tests/contracts/*.sol compiled: the attackers and the proxy miner."""
    from offchain.chain.compile import compile_contracts
    from tests.support.paths import TEST_CONTRACTS

    return compile_contracts(TEST_CONTRACTS)


@pytest.fixture(scope="module")
def attackers(test_contract_artifacts: dict[str, dict]) -> dict[str, dict]:
    return test_contract_artifacts


@pytest.fixture(scope="module")
def proxy_artifact(test_contract_artifacts: dict[str, dict]) -> dict:
    return test_contract_artifacts["MinerProxy"]


@pytest.fixture(scope="session")
def fresh_artifacts() -> dict[str, dict]:
    """The consensus contracts compiled now (solcjs through Node), to compare with the committed artifacts."""
    from offchain.chain import compile as comp

    return comp.compile_contracts()


@pytest.fixture
def d5(anvil_w3: Web3):  # type: ignore[no-untyped-def]
    """A fresh PoFLConsensus with five registered miners (tests.support.contracts.Deployed)."""
    from tests.support.contracts import deploy_with_miners

    return deploy_with_miners(anvil_w3, 5)


@pytest.fixture
def _quiet_hypothesis_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a temporary folder: nothing a Hypothesis run writes lands in the checkout."""
    monkeypatch.chdir(tmp_path)


# ------------------------------------------------------------------ runs, on the session Anvil


@pytest.fixture(scope="module")
def workload(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The workload of the test module's ``CONFIG`` (a RunConfig), on its ``DEVICE`` if it names one, built once
    per module."""
    from offchain.miner.workload import Workload

    return Workload(request.module.CONFIG, getattr(request.module, "DEVICE", None))


@pytest.fixture(scope="module")
def honest_chain(anvil: Devnet, workload: Any, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Two honest blocks made by three miners of the module's ``CONFIG``; an Anvil snapshot to return to."""
    from offchain.store import LocalStore
    from tests.support.runs import HonestChain, deploy_run, mine_blocks

    store_dir = tmp_path_factory.mktemp("store")
    store = LocalStore(store_dir)
    run = deploy_run(anvil.rpc_url, workload.config, workload, store)
    contract, signers, w3 = run.contract, run.signers, run.contract.w3
    mine_blocks(run, workload, store, 2)
    return HonestChain(contract, signers, store_dir, w3.provider.make_request("evm_snapshot", [])["result"])


@pytest.fixture
def chain(honest_chain: Any, tmp_path: Path) -> Iterator[Any]:
    """The honest chain as it was, with a store of its own that a test may tamper with."""
    import dataclasses

    w3 = honest_chain.contract.w3
    store_dir = tmp_path / "store"
    shutil.copytree(honest_chain.store_dir, store_dir)
    for s in honest_chain.signers:
        s.resync()
    yield dataclasses.replace(honest_chain, store_dir=store_dir)
    assert w3.provider.make_request("evm_revert", [honest_chain.snapshot])["result"]
    honest_chain.snapshot = w3.provider.make_request("evm_snapshot", [])["result"]


@pytest.fixture(scope="module")
def honest_holdout_chain(anvil_w3: Web3, ipfs_daemon: IpfsDaemon):  # type: ignore[no-untyped-def]
    """A hold-out task with genesis and three honest blocks (rounds 1-3, models m1-m3); a snapshot to return to."""
    from tests.support.holdout import deploy_holdout_chain, play_honest

    chain = deploy_holdout_chain(anvil_w3, ipfs_daemon)
    play_honest(chain, [("m1", "genesis"), ("m2", "m1"), ("m3", "m2")])
    chain.snapshot = anvil_w3.provider.make_request("evm_snapshot", [])["result"]
    return chain


@pytest.fixture
def holdout_chain(honest_holdout_chain: Any) -> Iterator[Any]:
    """The honest hold-out chain as it was (the task running, round 4 open); whatever a test adds is undone."""
    w3 = honest_holdout_chain.contract.w3
    honest_holdout_chain.resync()
    yield honest_holdout_chain
    assert w3.provider.make_request("evm_revert", [honest_holdout_chain.snapshot])["result"]
    honest_holdout_chain.snapshot = w3.provider.make_request("evm_snapshot", [])["result"]


@pytest.fixture(scope="module")
def broken_holdout_chain(anvil_w3: Web3, ipfs_daemon: IpfsDaemon):  # type: ignore[no-untyped-def]
    """A task whose recorded CIDs are wrong for shards 1 and 2 and the final shard; three blocks; ended."""
    import dataclasses

    from offchain.holdout.sealing import seal
    from tests.support.holdout import deploy_holdout_chain, play_honest

    def tamper(sealed, keys, store):  # type: ignore[no-untyped-def]
        shards = list(sealed.shards)
        shards[1] = dataclasses.replace(shards[1], cid=store.put(b"not a sealed shard, " * 10))
        garbage = seal(b"decrypts, but is not a shard", keys.shards[2], sealed.task, 2)
        shards[2] = dataclasses.replace(shards[2], cid=store.put(garbage))
        final = dataclasses.replace(sealed.final, cid=sealed.shards[3].cid)  # shard 3's: another key and index
        return dataclasses.replace(sealed, shards=tuple(shards), final=final)

    chain = deploy_holdout_chain(anvil_w3, ipfs_daemon, tamper)
    play_honest(chain, [("m1", "genesis")])
    chain.play("m2", 9000, 8000)  # rounds 2 and 3: nobody can measure on these shards; the committee says so
    chain.play("m3", 9100, 8100)
    chain.end()
    return chain


# ------------------------------------------------------------------ the command line


@pytest.fixture(scope="module")
def inputs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A folder of bad input files for `pofl` (one holds the test module's ``KEY`` and a malformed key)."""
    tmp = tmp_path_factory.mktemp("inputs")
    (tmp / "garbage.npz").write_bytes(b"not a zip file")
    (tmp / "garbage.json").write_text("{not json")
    (tmp / "other.json").write_text(json.dumps({"rounds": "many"}))
    (tmp / "ok.json").write_text(json.dumps({"meta": {}, "rounds": []}))
    (tmp / "bad-keys").write_text(f"{request.module.KEY}\n0x1234\n")
    return {"tmp": str(tmp)}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the servers and miners a command started (none may be)."""
    names: list[str] = []
    real = ManagedProcess.start

    def start(self: ManagedProcess) -> ManagedProcess:
        names.append(self.name)
        return real(self)

    monkeypatch.setattr(ManagedProcess, "start", start)
    return names


# ------------------------------------------------------------------ data sets and trained models (in process)


@pytest.fixture(scope="module")
def train_set():  # type: ignore[no-untyped-def]
    """MNIST's training set (LabeledImages)."""
    from offchain.fl.mnist import load_mnist

    return load_mnist("train")


@pytest.fixture(scope="module")
def test_set():  # type: ignore[no-untyped-def]
    """MNIST's test set (LabeledImages)."""
    from offchain.fl.mnist import load_mnist

    return load_mnist("test")


@pytest.fixture(scope="module")
def data(train_set: Any):  # type: ignore[no-untyped-def]
    """MNIST's training set as a DeviceDataset on the CPU."""
    from offchain.fl.training import DeviceDataset

    return DeviceDataset(train_set.images, train_set.labels, torch.device("cpu"))


@pytest.fixture(scope="module")
def mnist():  # type: ignore[no-untyped-def]
    """(MNIST's training set, it as a DeviceDataset on the CPU, the benchmark federation)."""
    from offchain.fl.federation import BENCHMARK_FEDERATION, from_file
    from offchain.fl.mnist import load_mnist
    from offchain.fl.training import DeviceDataset

    train = load_mnist("train")
    return train, DeviceDataset(train.images, train.labels, torch.device("cpu")), from_file(BENCHMARK_FEDERATION)


@pytest.fixture(scope="module")
def start():  # type: ignore[no-untyped-def]
    """A seeded SimpleNet's FlatParams and its flat starting parameters."""
    from offchain.fl.architectures import SimpleNet
    from offchain.fl.training import FlatParams

    torch.manual_seed(0)
    flat = FlatParams(SimpleNet())
    return flat, flat.flatten(flat.module.state_dict())


@pytest.fixture(scope="module")
def setup(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Real client models: the test module's ``CLIENTS`` of the benchmark federation trained one epoch from one
    start."""
    from offchain.fl.architectures import SimpleNet
    from offchain.fl.federation import BENCHMARK_FEDERATION, from_file
    from offchain.fl.mnist import load_mnist
    from offchain.fl.training import DeviceDataset, FlatParams, TrainConfig, make_plan, train_clients
    clients, cpu = request.module.CLIENTS, torch.device("cpu")
    train = load_mnist("train")
    data = DeviceDataset(train.images, train.labels, cpu)
    fed = from_file(BENCHMARK_FEDERATION)
    torch.manual_seed(0)
    flat = FlatParams(SimpleNet())
    start = flat.flatten(flat.module.state_dict())
    plan = make_plan([fed.client(c) for c in clients], TrainConfig(), cpu)
    models = train_clients(flat, start.unsqueeze(0).repeat(len(clients), 1), data, plan, TrainConfig())
    sizes = torch.tensor([len(fed.client(c)) for c in clients], dtype=torch.float32)
    return fed, data, flat, start, models, sizes


@pytest.fixture(scope="module")
def split():  # type: ignore[no-untyped-def]
    """The hold-out split of MNIST's test set, seed 0."""
    from offchain.holdout.split import mnist_split

    return mnist_split(0)


@pytest.fixture
def sealed(tmp_path: Path, split: Any):  # type: ignore[no-untyped-def]
    """(a store that counts its reads, the split sealed into it for tests.support.holdout.TASK, its keys, the
    split)."""
    from offchain.holdout.task import seal_split
    from tests.support.holdout import TASK, CountingStore

    store = CountingStore(tmp_path / "store")
    task, keys = seal_split(split, store, TASK)
    return store, task, keys, split


@pytest.fixture(scope="module")
def installed() -> Path:
    """Debian's Fashion-MNIST package directory: required in CI (.ci/run installs it and sets
    POFL_REQUIRE_FASHION_MNIST; CI=true requires it too), skipped with the reason elsewhere."""
    from offchain.fl import fashion_mnist as fm

    if all((fm.DEBIAN_DIR / name).is_file() for name, _ in fm.FASHION_MNIST_FILES.values()):
        return fm.DEBIAN_DIR
    message = f"Fashion-MNIST is not installed in {fm.DEBIAN_DIR}: {fm.INSTALL_HINT}"
    if os.environ.get("POFL_REQUIRE_FASHION_MNIST") or os.environ.get("CI", "").lower() in ("1", "true"):
        pytest.fail(f"{message} (.ci/run installs it; CI must not skip these tests)")
    pytest.skip(message)


# ------------------------------------------------------------------ Flower: a SuperLink and SuperNodes, per test


@pytest.fixture
def superlink() -> Iterator[Any]:
    """A Flower SuperLink on a free loopback port (``--isolation process``: the test's miner is its ServerApp),
    owned by PID and stopped after the test. Needs the `flower` extra."""
    from offchain.flower.servers import launch_superlink

    link = launch_superlink()
    try:
        yield link
    finally:
        link.stop()


@pytest.fixture
def supernodes(superlink: Any) -> Iterator[Callable[..., list[Any]]]:
    """``supernodes(clients)`` -> one SuperNode per client number, connected to the test's SuperLink, each with
    its own runtime port and Flower home; all stopped after the test."""
    from offchain.flower.servers import launch_supernode

    started: list[Any] = []

    def make(clients: list[int]) -> list[Any]:
        nodes = [launch_supernode(superlink.address, int(c)) for c in clients]
        started.extend(nodes)
        return nodes

    try:
        yield make
    finally:
        for node in started:
            node.stop()
