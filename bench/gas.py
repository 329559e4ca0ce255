#!/usr/bin/env python3
"""Gas per PoFLConsensus action at 10 and 100 miners, as JSON.

    .venv/bin/python bench/gas.py [--miners 10 100] [--out gas.json]

Round A is honest (every miner commits and reveals, the committee approves); in round B the
top claim is false, the committee rejects it (slash), `finalize` opens validation of the next
best (the bounded search), and that one is approved. For each action: min / median / max gas.
`o1` compares the medians of commit, reveal and vote between the smallest and largest set.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import emit
from offchain.chain.accounts import LocalSigner, dev_key
from offchain.chain.connect import connect
from offchain.chain.pofl import PoFLConfig, PoFLContract
from offchain.chain.rounds import SealedClaim, committee_of
from offchain.chain.tx import wait_all
from offchain.devnet import start_devnet

CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"  # a real-length CIDv0


def summary(gas: list[int]) -> dict[str, int]:
    return {"min": min(gas), "median": int(statistics.median(gas)), "max": max(gas), "count": len(gas)}


def measure(rpc_url: str, n: int) -> dict[str, dict[str, int]]:
    w3 = connect(rpc_url)
    owner = LocalSigner(w3, dev_key(0))
    config = PoFLConfig(threshold_bps=6000, eval_set_hash=b"\x11" * 32, architecture_id=b"\x22" * 32)
    contract, record = PoFLContract.deploy(owner, config, CID, reward_pool=10**19, deployments_dir=None)
    deploy_gas = w3.eth.get_transaction_receipt(record.tx_hash)["gasUsed"]
    miners = [LocalSigner(w3, dev_key(i)) for i in range(1, n + 1)]
    gas: dict[str, list[int]] = {"deploy": [deploy_gas], "commit": [], "reveal": [], "vote": [],
                                 "finalize (approved)": [], "vote (rejecting, slashes)": [],
                                 "finalize (after a rejection: next-best search)": []}
    gas["register"] = [r["gasUsed"] for r in wait_all([contract.register(m, config.min_stake) for m in miners])]

    def play(round_accs: list[int], truth_of_top: int, reject_first: bool) -> None:
        r = contract.current_round()
        claims = [(m, SealedClaim(r, CID, acc)) for m, acc in zip(miners, round_accs, strict=True)]
        gas["commit"] += [x["gasUsed"] for x in wait_all(
            [contract.commit(m, r, c.commitment(contract, m.address)) for m, c in claims])]
        gas["reveal"] += [x["gasUsed"] for x in wait_all(
            [contract.reveal(m, r, c.cid, c.accuracy_bps, c.salt) for m, c in claims])]
        committee = committee_of(contract, r, miners)
        candidate = contract.round_info(r).candidate
        quorum = contract.round_info(r).quorum
        key = "vote (rejecting, slashes)" if reject_first else "vote"
        receipts = wait_all([contract.vote(v, r, candidate, truth_of_top) for v in committee[:quorum]])
        gas[key] += [x["gasUsed"] for x in receipts[:-1]]
        gas[key if reject_first else "vote"].append(receipts[-1]["gasUsed"])
        fin = contract.finalize(owner).wait()["gasUsed"]
        if reject_first:
            gas["finalize (after a rejection: next-best search)"].append(fin)
            candidate = contract.round_info(r).candidate
            committee = committee_of(contract, r, miners)
            gas["vote"] += [x["gasUsed"] for x in wait_all(
                [contract.vote(v, r, candidate, 10_000) for v in committee[:contract.round_info(r).quorum]])]
            gas["finalize (approved)"].append(contract.finalize(owner).wait()["gasUsed"])
        else:
            gas["finalize (approved)"].append(fin)

    play([6000 + i for i in range(n)], 10_000, reject_first=False)
    play([7000 + i for i in range(n - 1)] + [9900], 1_000, reject_first=True)
    return {action: summary(values) for action, values in gas.items() if values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--miners", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with start_devnet("anvil", accounts=max(args.miners) + 1) as devnet:
        report = {f"{n} miners": measure(devnet.rpc_url, n) for n in args.miners}
    lo, hi = f"{min(args.miners)} miners", f"{max(args.miners)} miners"
    report["o1"] = {a: {"median_small": report[lo][a]["median"], "median_large": report[hi][a]["median"],
                        "same": report[lo][a]["median"] == report[hi][a]["median"]}
                    for a in ("commit", "reveal", "vote")}
    emit(report, args.out)


if __name__ == "__main__":
    main()
