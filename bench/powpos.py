#!/usr/bin/env python3
"""PoW and PoS on chain: gas per block, and PoW's off-chain hash rate, as JSON.

    .venv/bin/python bench/powpos.py [--blocks 5] [--pos-members 10] [--seconds 3] [--out powpos.json]
    .venv/bin/python bench/powpos.py --tiny        # a quick smoke run (2 blocks each, 4 PoS members, 0.5 s)

`pow.submit_block` is the gas of PoWConsensus.submitBlock (one keccak256 under the target, the block stored,
the difficulty moved, the reward credited) per block, after the first. `pos` gives each action of a PoS turn
(propose, each attestation, finalize, which appends the block, adds one to the winner's weight, credits the reward
and opens the next turn) and `per_block`, their sum with `quorum` attestations. `hash_rate` compares the batch
keccak256 (numpy, offchain.chain.powhash, batches of `batch` nonces) with one pycryptodome keccak256 per nonce in
a Python loop, on this machine's CPU, one core.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.chain.connect import connect
from offchain.chain.pos import PoSContract, PoSSettings
from offchain.chain.pow import PoWContract, PoWSettings
from offchain.chain.powhash import hash_nonces, pow_prefix, search
from offchain.chain.tx import wait_all
from offchain.servers.devnet import launch_devnet
from offchain.store.cid import cid_to_digest
from offchain.testing.accounts import fresh_signers
from offchain.testing.rounds import placeholder_cid

STAKE = 10**18


def hash_rate(seconds: float, batch: int) -> dict[str, float]:
    from Crypto.Hash import keccak

    prefix = os.urandom(84)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        hash_nonces(prefix, n, batch)
        n += batch
    numpy_rate = n / (time.perf_counter() - start)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i in range(n, n + 4096):
            keccak.new(data=prefix + i.to_bytes(32, "big"), digest_bits=256).digest()
        n += 4096
    loop_rate = n / (time.perf_counter() - start)
    return {"batch": batch, "numpy_batch_hashes_per_s": round(numpy_rate), "pycryptodome_loop_hashes_per_s":
            round(loop_rate), "speedup": round(numpy_rate / loop_rate, 2)}


def pow_gas(w3, blocks: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    (owner,) = fresh_signers(w3, 1, 10**21)
    contract = PoWContract.deploy(owner, placeholder_cid("genesis"), PoWSettings(reward_pool=10**18))
    (miner,) = fresh_signers(w3, 1)
    contract.register(miner, STAKE).wait()
    gas = []
    for b in range(blocks):
        head, cid = contract.head_hash(), placeholder_cid(f"m{b}")
        prefix = pow_prefix(head, cid_to_digest(cid)[0], miner.address)
        start, zeros = 0, contract.difficulty()
        while (found := search(prefix, zeros, start, 1 << 14)) is None:
            start += 1 << 14
        w3.provider.make_request("evm_increaseTime", [2])
        gas.append(int(contract.submit_block(miner, head, cid, found.nonce).wait()["gasUsed"]))
    return {"submit_block": statistics.median(gas[1:] or gas), "first_block": gas[0], "blocks": blocks,
            "difficulty_after": contract.difficulty()}


def pos_gas(w3, blocks: int, members: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    (owner,) = fresh_signers(w3, 1, 10**21)
    settings = PoSSettings(quorum=min(3, members - 1), reward_pool=10**18)
    contract = PoSContract.deploy(owner, placeholder_cid("genesis"), settings)
    signers = fresh_signers(w3, members)
    wait_all([contract.register(s, STAKE) for s in signers])
    by_address = {s.address: s for s in signers}
    gas: dict[str, list[int]] = {"propose": [], "attest": [], "finalize": []}
    for b in range(blocks):
        turn = contract.current_turn()
        while w3.eth.block_number <= turn.seed_block:
            w3.provider.make_request("evm_mine", [])
        proposer = by_address[contract.current_turn().proposer]
        gas["propose"].append(int(contract.propose(proposer, contract.head_hash(), placeholder_cid(f"p{b}"))
                                  .wait()["gasUsed"]))
        turn = contract.current_turn()
        for s in [s for s in signers if s is not proposer][:settings.quorum]:
            gas["attest"].append(int(contract.attest(s, turn.height, turn.attempt, True).wait()["gasUsed"]))
        gas["finalize"].append(int(contract.finalize(owner).wait()["gasUsed"]))
    medians = {k: statistics.median(v[1:] or v) for k, v in gas.items()}
    return {**medians, "quorum": settings.quorum, "members": members, "blocks": blocks,
            "per_block": medians["propose"] + settings.quorum * medians["attest"] + medians["finalize"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--pos-members", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds each hashing method runs")
    parser.add_argument("--batch", type=int, default=1 << 16)
    parser.add_argument("--tiny", action="store_true", help="smoke run: 2 blocks each, 4 PoS members, 0.5 s")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.tiny:
        args.blocks, args.pos_members, args.seconds, args.batch = 2, 4, 0.5, 1 << 12
    devnet = launch_devnet("anvil", accounts=2)
    try:
        w3 = connect(devnet.rpc_url)
        report = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
                  "hash_rate": hash_rate(args.seconds, args.batch), "pow": pow_gas(w3, args.blocks),
                  "pos": pos_gas(w3, args.blocks, args.pos_members)}
    finally:
        devnet.stop()
    emit(report, args.out)


if __name__ == "__main__":
    main()
