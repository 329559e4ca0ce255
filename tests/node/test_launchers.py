"""Devnet and IPFS launchers: real Anvil, Hardhat and js-ipfs processes, stopped without orphans."""

from __future__ import annotations

import socket
import time

import ipfshttpclient
import pytest

from offchain.chain.connect import connect
from offchain.errors import PortInUseError, ToolNotFoundError
from offchain.servers import devnet as devnet_mod
from offchain.servers import ipfs as ipfs_mod
from offchain.servers.devnet import launch_devnet, rpc_call, start_devnet
from offchain.servers.ipfs import launch_ipfs_daemon, start_ipfs_daemon
from offchain.servers.process import pid_alive
from offchain.store.ipfs import IpfsStore


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_anvil_starts_answers_and_stops_without_orphan() -> None:
    with start_devnet("anvil") as net:
        pid = net.pid
        assert pid and pid_alive(pid)
        assert net.chain_id() == 31337
        assert int(str(rpc_call(net.rpc_url, "eth_blockNumber")), 16) == 0
    assert _wait_gone(pid), f"anvil pid {pid} still alive after stop"


def test_hardhat_node_starts_and_stops_without_orphan() -> None:
    with start_devnet("hardhat") as net:
        pid = net.pid
        w3 = connect(net.rpc_url)
        assert w3.eth.chain_id == 31337
        assert w3.eth.get_balance("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266") > 0
    assert _wait_gone(pid), f"hardhat pid {pid} still alive after stop"


def test_anvil_state_file_survives_restart(tmp_path) -> None:
    state = tmp_path / "state.json"
    with start_devnet("anvil", state=state) as net:
        rpc_call(net.rpc_url, "evm_mine")
        rpc_call(net.rpc_url, "evm_mine")
    assert state.exists()
    with start_devnet("anvil", state=state) as net:
        assert int(str(rpc_call(net.rpc_url, "eth_blockNumber")), 16) >= 2


def test_anvil_writes_no_block_states_to_disk(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anvil persists old blocks' states under ~/.foundry/anvil/tmp and never removes them (78 GB filled this
    machine's disk); the launcher's devnets keep no state on disk."""
    monkeypatch.setenv("HOME", str(tmp_path))
    with start_devnet("anvil") as devnet:
        w3 = connect(devnet.rpc_url)
        sender = w3.eth.accounts[0]
        for _ in range(1500):  # blocks with a state change each (Anvil keeps a few hundred in memory)
            rpc_call(devnet.rpc_url, "eth_sendTransaction", [{"from": sender, "to": sender, "value": "0x1"}])
        assert w3.eth.block_number >= 1400  # (the last few may still be mining)
    persisted = tmp_path / ".foundry" / "anvil" / "tmp"
    assert not persisted.exists() or not any(persisted.rglob("*.json")), sorted(persisted.rglob("*"))[:5]


def test_port_in_use_gives_a_clear_message() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            launch_devnet("anvil", port=port)
        with pytest.raises(PortInUseError, match=f"port {port}"):
            ipfs_mod.launch_ipfs_daemon(api_port=port)


def test_missing_anvil_binary_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(devnet_mod, "NODE_MODULES", tmp_path)
    monkeypatch.delenv("POFL_ANVIL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="Anvil not found.*setup.sh"):
        launch_devnet("anvil")


def test_missing_hardhat_and_jsipfs_say_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(devnet_mod, "NODE_MODULES", tmp_path)
    monkeypatch.setattr(ipfs_mod, "NODE_MODULES", tmp_path)
    with pytest.raises(ToolNotFoundError, match="Hardhat not found"):
        launch_devnet("hardhat")
    with pytest.raises(ToolNotFoundError, match="js-ipfs not found"):
        ipfs_mod.launch_ipfs_daemon()


def test_unknown_devnet_kind_is_refused() -> None:
    with pytest.raises(Exception, match="unknown devnet kind"):
        launch_devnet("ganache")  # type: ignore[arg-type]


def test_jsipfs_add_cat_pin_round_trip_and_stop() -> None:
    with start_ipfs_daemon() as node:
        pid = node.pid
        client = ipfshttpclient.Client(node.api_multiaddr)
        cid = client.add_bytes(b"hello\n")
        assert cid == "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"  # what Kubo's `ipfs add` gives
        assert client.cat(cid) == b"hello\n"
        client.pin.add(cid)
        assert cid in client.pin.ls(type="recursive")["Keys"]
        repo = node.repo
    assert _wait_gone(pid), f"js-ipfs pid {pid} still alive after stop"
    assert not repo.exists()


def test_online_nodes_move_content_by_bitswap_and_meet_again_after_a_restart(tmp_path) -> None:
    """Two online nodes on loopback: B's peer keeper, told A's address, dials it (B has no bootstrap list of its
    own here, so that dial is the only one: a keeper that does not dial fails), B fetches what A holds; A killed
    and restarted on the same repository (same id, same address) is redialled, and B fetches from it again."""
    a = launch_ipfs_daemon(listen=["/ip4/127.0.0.1/tcp/0"], repo=tmp_path / "a")
    b = None
    try:
        assert a.online and a.swarm_addresses[0].endswith(f"/p2p/{a.peer_id}")
        b = launch_ipfs_daemon(listen=["/ip4/127.0.0.1/tcp/0"])  # knows no peer
        b.keeper = ipfs_mod.PeerKeeper(b.api_multiaddr, a.swarm_addresses)
        assert a.peer_id not in b.keeper.connected()
        b.keeper.dial_missing()  # one pass
        assert a.peer_id in b.keeper.connected()
        b.keeper.start()
        cid = IpfsStore(a.api_multiaddr).put(b"model bytes " * 1000)
        assert IpfsStore(b.api_multiaddr, timeout=20).get(cid) == b"model bytes " * 1000
        assert b.keeper is not None and a.peer_id in b.keeper.connected()

        port = a.swarm_addresses[0].split("/tcp/")[1].split("/")[0]
        a.process.stop()
        a = launch_ipfs_daemon(listen=[f"/ip4/127.0.0.1/tcp/{port}"], repo=tmp_path / "a")
        again = IpfsStore(a.api_multiaddr).put(b"the next block")
        deadline = time.monotonic() + 60
        while a.peer_id not in b.keeper.connected():  # redialled within a pass or two
            assert time.monotonic() < deadline, "B's keeper never redialled the restarted A"
            time.sleep(0.5)
        assert IpfsStore(b.api_multiaddr, timeout=20).get(again) == b"the next block"
    finally:
        a.stop()
        if b is not None:
            b.stop()


def test_the_shim_survives_an_abandoned_bitswap_want_and_nothing_else(tmp_path) -> None:
    """js-ipfs exits on any unhandled rejection; run through the shim, a "Want for <CID> aborted" one (a read
    given up at its timeout) is logged and the node goes on, and any other still ends it (exit 1)."""
    import subprocess

    fake_cli = tmp_path / "cli.mjs"  # registers js-ipfs's handler, then rejects as ipfs-bitswap does
    fake_cli.write_text(
        "process.once('unhandledRejection', (e) => { console.error('fatal', e.message); process.exit(1) })\n"
        "console.log('args', process.argv.slice(2).join(' '))\n"
        "Promise.reject(new Error('Want for QmYtJay6ed3JfcSNa9yZgsN3wvsxRAunGUCQhuXdoS6rcV aborted'))\n"
        "setTimeout(() => { console.log('still running'); Promise.reject(new Error('disk full')) }, 200)\n")
    done = subprocess.run(["node", str(ipfs_mod.SHIM), str(fake_cli), "daemon", "--offline"], capture_output=True,
                          text=True, timeout=30, check=False)
    assert "args daemon --offline" in done.stdout  # js-ipfs sees its own arguments
    assert "Want for QmYtJay6ed3JfcSNa9yZgsN3wvsxRAunGUCQhuXdoS6rcV aborted (a read given up" in done.stderr
    assert "still running" in done.stdout
    assert done.returncode == 1 and "fatal disk full" in done.stderr


def test_an_offline_node_has_no_swarm() -> None:
    with start_ipfs_daemon() as node:
        assert not node.online and node.keeper is None and node.peer_id


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free_again() -> None:
    """A server stopped a moment ago (`pofl devnet --state` restarted) leaves its port in TIME-WAIT; the
    port is free for the next server, as the probe binds with SO_REUSEADDR as servers do."""
    from offchain.servers.process import ensure_port_free

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end of the connection waits in TIME-WAIT
    client.close()
    server.close()
    ensure_port_free("127.0.0.1", port, "a devnet")
    with start_devnet("anvil", port=port) as net:
        assert net.port == port and net.chain_id() == 31337
