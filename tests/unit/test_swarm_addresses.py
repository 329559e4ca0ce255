"""The swarm addresses of `pofl ipfs --listen/--peer` and `pofl devnet --host`: what is accepted, and what a bad
one is told (one line, exit 2, naming the option, before any node starts)."""

from __future__ import annotations

import pytest

from offchain.errors import ConfigError
from offchain.servers.ipfs import check_listen_multiaddr, check_peer_multiaddr, launch_ipfs_daemon
from tests.support.cli import one_line_usage_error

PEER_ID = "12D3KooWRKNcsmUDFomZdpY2oZGN94LPfH4Vf9aXojXGbkf5tSRA"
V0_ID = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"


@pytest.mark.parametrize("address", ["/ip4/0.0.0.0/tcp/4001", "/ip4/10.0.0.2/tcp/0", "/ip6/::1/tcp/4001"])
def test_listen_addresses_accepted(address: str) -> None:
    assert check_listen_multiaddr(address) == address


@pytest.mark.parametrize(("address", "says"), [
    ("/ip4/10.0.0.2/tcp/99999", "/ip4/ADDRESS/tcp/PORT"),
    ("/ip4/10.0.0/tcp/4001", "/ip4/ADDRESS/tcp/PORT"),
    ("/ip4/300.0.0.1/tcp/4001", "/ip4/ADDRESS/tcp/PORT"),
    ("10.0.0.2:4001", "/ip4/ADDRESS/tcp/PORT"),
    ("/ip4/10.0.0.2/udp/4001/quic", "/ip4/ADDRESS/tcp/PORT"),
    (f"/ip4/10.0.0.2/tcp/4001/p2p/{PEER_ID}", "has no /p2p/ part"),
])
def test_bad_listen_addresses_say_what_to_write(address: str, says: str) -> None:
    with pytest.raises(ConfigError, match="not a swarm address to listen on") as error:
        check_listen_multiaddr(address)
    assert says in str(error.value)


@pytest.mark.parametrize("address", [f"/ip4/10.0.0.3/tcp/4001/p2p/{PEER_ID}", f"/ip4/10.0.0.3/tcp/4001/ipfs/{V0_ID}",
                                     f"/dns4/miner-2.example.org/tcp/4001/p2p/{PEER_ID}"])
def test_peer_addresses_accepted(address: str) -> None:
    assert check_peer_multiaddr(address) == address


@pytest.mark.parametrize(("address", "says"), [
    ("/ip4/10.0.0.3/tcp/4001", "no /p2p/PEER-ID part"),
    (f"/ip4/10.0.0.3/tcp/0/p2p/{PEER_ID}", "malformed"),
    (f"/ip4/10.0.0.3/tcp/4001/p2p/{PEER_ID[:20]}", "malformed"),
    (f"/ip4/10.0.0.3/tcp/4001/p2p/{PEER_ID[:-1]}0", "malformed"),  # 0 is not base58
    (f"http://10.0.0.3:4001/p2p/{PEER_ID}", "malformed"),
])
def test_bad_peer_addresses_say_what_to_write(address: str, says: str) -> None:
    with pytest.raises(ConfigError, match="not a peer's address") as error:
        check_peer_multiaddr(address)
    assert says in str(error.value) and "/ip4/HOST/tcp/PORT/p2p/PEER-ID" in str(error.value)


def test_the_launcher_refuses_bad_addresses_and_peers_without_listening_before_starting_anything() -> None:
    with pytest.raises(ConfigError, match="not a swarm address"):
        launch_ipfs_daemon(listen=["/ip4/1.2.3/tcp/1"])
    with pytest.raises(ConfigError, match="not a peer's address"):
        launch_ipfs_daemon(listen=["/ip4/127.0.0.1/tcp/0"], peers=["/ip4/127.0.0.1/tcp/4001"])
    with pytest.raises(ConfigError, match="no address to listen on"):
        launch_ipfs_daemon(peers=[f"/ip4/127.0.0.1/tcp/4001/p2p/{PEER_ID}"])


@pytest.mark.parametrize(("argv", "option", "says"), [
    (["ipfs", "--listen", "/ip4/1.2.3/tcp/4001"], "--listen", "/ip4/ADDRESS/tcp/PORT"),
    (["ipfs", "--listen", "/ip4/0.0.0.0/tcp/4001", "--peer", "/ip4/10.0.0.3/tcp/4001"], "--peer", "/p2p/PEER-ID"),
    (["ipfs", "--peer", f"/ip4/10.0.0.3/tcp/4001/p2p/{PEER_ID}"], "--listen", "offline node meets no peer"),
    (["devnet", "--host", "10.0.0.300"], "--host", "not an IPv4 address"),
])
def test_bad_swarm_options_are_one_line_exit_2(argv: list[str], option: str, says: str) -> None:
    assert says in one_line_usage_error(argv, option)
