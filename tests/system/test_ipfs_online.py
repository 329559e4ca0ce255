"""`pofl ipfs --listen` as a user runs it: it prints the swarm address peers dial, and when its js-ipfs process
dies it starts it again on the same repository, API port and swarm address (the same peer id), so the miner
using it and the peers dialling it find it where it was."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from offchain.servers.process import pid_alive
from offchain.store.ipfs import IpfsStore
from tests.support.processes import descendants
from tests.support.terminal import Terminal


def test_pofl_ipfs_online_restarts_a_crashed_node_on_the_same_addresses(tmp_path: Path) -> None:
    ipfs = Terminal("ipfs", "--port", "0", "--listen", "/ip4/127.0.0.1/tcp/0", cwd=tmp_path)
    try:
        api = ipfs.expect(r"IPFS RPC API at (\S+)", 120)[1]
        swarm = ipfs.expect(r"swarm address (/ip4/127\.0\.0\.1/tcp/\d+/p2p/12D3\w+)", 5)[1]
        cid = IpfsStore(api).put(b"a block's model")
        node = int(ipfs.expect(r"js-ipfs \(pid (\d+)\) keeps its repository", 5)[1])
        assert node in descendants(ipfs.proc.pid)
        os.kill(node, signal.SIGKILL)
        ipfs.expect(rf"js-ipfs \(pid {node}\) exited with status -9 .*restarting it", 30)
        restarted = int(ipfs.expect(r"js-ipfs restarted \(pid (\d+)\)", 120)[1])
        assert restarted != node and pid_alive(restarted)
        assert IpfsStore(api).get(cid) == b"a block's model"  # same API port, same repository
        assert (tmp_path / ".pofl/ipfs/daemon.log.1").is_file()  # the crashed run's log is kept
        peer_id = swarm.rsplit("/", 1)[1]
        config = (tmp_path / ".pofl/ipfs/config").read_text()
        assert peer_id in config
    finally:
        code = ipfs.interrupt()
    assert code == 0, ipfs.output()[-10:]
    assert "Traceback" not in "\n".join(ipfs.output())
