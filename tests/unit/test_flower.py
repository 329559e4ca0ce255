"""`pofl miner --pool flower` refuses bad input before anything connects: a one-line error naming the option,
exit status 2; the --superlink address is checked by form; without Flower installed the error names the extra to
install. (The Flower pool against real SuperNodes: tests/node/test_flower.py and tests/system/test_flower.py.)"""

from __future__ import annotations

import sys

import pytest

from offchain.errors import ConfigError
from offchain.flower import FlowerMissing, require_flwr
from offchain.flower.address import SuperLinkAddress
from tests.support.cli import one_line_usage_error

MINER = ["miner", "--rpc-url", "http://127.0.0.1:9", "--clients", "0/3", "--key",
         "0x" + "11" * 32]


@pytest.mark.parametrize(("text", "host", "port", "loopback"), [
    ("127.0.0.1:9093", "127.0.0.1", 9093, True), ("localhost:1", "localhost", 1, True),
    ("[::1]:9093", "::1", 9093, True), ("link.example.org:443", "link.example.org", 443, False),
    ("10.1.2.3:9093", "10.1.2.3", 9093, False)])
def test_a_superlink_address_is_host_and_port(text: str, host: str, port: int, loopback: bool) -> None:
    address = SuperLinkAddress.parse(text)
    assert (address.host, address.port, address.is_loopback) == (host, port, loopback)
    assert SuperLinkAddress.parse(str(address)) == address


@pytest.mark.parametrize(("text", "why"), [
    ("http://127.0.0.1:9093", "without a scheme"), ("127.0.0.1", "expected HOST:PORT"),
    ("127.0.0.1:0", "1..65535"), ("127.0.0.1:70000", "1..65535"), ("", "expected HOST:PORT"),
    ("a b:1", "expected HOST:PORT")])
def test_a_bad_superlink_address_is_refused_saying_what_was_expected(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=rf"^--superlink {text!r}: .*{why}"):
        SuperLinkAddress.parse(text)


def test_a_bad_superlink_on_the_command_line_is_a_usage_error(started: list[str]) -> None:
    line = one_line_usage_error([*MINER, "--pool", "flower", "--superlink", "http://127.0.0.1:9093"], "--superlink")
    assert "without a scheme" in line
    assert started == []


def test_the_flower_pool_needs_a_superlink(started: list[str]) -> None:
    line = one_line_usage_error([*MINER, "--pool", "flower"], "--superlink")
    assert "--pool flower needs --superlink HOST:PORT" in line
    assert started == []


@pytest.mark.parametrize("option", [["--superlink", "127.0.0.1:9093"], ["--min-nodes", "3"],
                                    ["--reply-timeout", "30"]])
def test_flower_options_without_the_flower_pool_are_refused(option: list[str], started: list[str]) -> None:
    line = one_line_usage_error([*MINER, *option], option[0])
    assert "apply to --pool flower only" in line
    assert started == []


def test_without_flower_installed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                            started: list[str]) -> None:
    monkeypatch.setitem(sys.modules, "flwr", None)  # `import flwr` raises ImportError, as on the base install
    with pytest.raises(FlowerMissing, match=r"pip install -e '\.\[flower\]'"):
        require_flwr()
    line = one_line_usage_error([*MINER, "--pool", "flower", "--superlink", "127.0.0.1:9093"], "--pool flower")
    assert "pip install -e '.[flower]'" in line
    assert started == []


def test_flower_is_imported_only_by_the_flower_package() -> None:
    """The base install works without the extra: no module outside offchain/flower imports flwr, and within it
    the package itself, the address and the launchers import it nowhere at module level."""
    import ast

    from tests.support.paths import ROOT

    def imports_flwr(nodes: list[ast.stmt] | list[ast.AST]) -> bool:
        return any((isinstance(n, ast.Import) and any(a.name.split(".")[0] == "flwr" for a in n.names))
                   or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "flwr") for n in nodes)

    offenders = []
    for path in (ROOT / "offchain").rglob("*.py"):
        tree = ast.parse(path.read_text())
        if path.parent.name != "flower" and imports_flwr(list(ast.walk(tree))):
            offenders.append(str(path.relative_to(ROOT)))
        if path.parent.name == "flower" and path.name in ("__init__.py", "address.py", "servers.py") \
                and imports_flwr(tree.body):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_a_flower_pool_refuses_simulated_attacks_before_it_connects() -> None:
    import numpy as np

    from offchain.flower.pool import FlowerPool, FlowerSettings
    from offchain.miner.run_config import RunConfig
    from offchain.miner.workload import Workload

    workload = Workload(RunConfig(n_miners=3, min_committee=2, partition="iid", n_clients=6, clients_per_round=6,
                                  attack="labelflip"))
    with pytest.raises(ConfigError, match=r"--attack labelflip: attacks are simulated in process; .*--pool in-process"):
        FlowerPool(workload, workload.trainer, np.arange(2), FlowerSettings(SuperLinkAddress("127.0.0.1", 9)))


def test_flower_settings_refuse_nonsense() -> None:
    from offchain.flower.pool import FlowerSettings

    with pytest.raises(ConfigError, match=r"--min-nodes must be at least 1, got 0"):
        FlowerSettings(SuperLinkAddress("127.0.0.1", 9), min_nodes=0)
    with pytest.raises(ConfigError, match=r"--reply-timeout and the connect timeout must be positive"):
        FlowerSettings(SuperLinkAddress("127.0.0.1", 9), reply_timeout_s=0)
