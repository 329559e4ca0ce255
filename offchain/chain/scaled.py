"""Typed client of PoFLScaled, the consensus for thousands of miners a round (issue 25; docs/scaling.md).

A round, from a miner's side and the aggregator's::

    contract, _ = ScaledContract.deploy(owner, ScaledConfig(...), genesis_cid)
    contract.register(miner, stake).wait()
    info = contract.round_info()
    claim = ScaledClaim.seal(info.round, cid, accuracy_bps, miner.address)     # keep it: its salt opens it
    signed = contract.sign_claim(miner, claim)                                  # hand it to info.aggregator
    contract.post_root(aggregator, info.round, [signed, ...]).wait()           # the aggregator: root + blob
    ...                                                                          # Forced: check, or commit_direct
    contract.reveal(miner, info.round, index, claim).wait()                    # if candidate(index) is yours
    contract.vote(seat_miner, info.round, seat, reports).wait()                # if you hold a seat
    contract.finalize(anyone).wait()               # or, on a dispute, opens the appeal (phase APPEAL):
    contract.appeal_vote(juror_miner, info.round, juror, report).wait()        # if you are a juror
    contract.finalize(anyone).wait()

The pure parts (the commitment, the EIP-712 claim, the Merkle tree, the sampling of seats, the packing of the
reports and of the claim list into a blob) are module functions, each equal to its counterpart in
contracts/PoFLScaled.sol (tests/contract/test_scaled.py checks each against the contract). The views are the code
of the contract's lens (contracts/PoFLScaledLens.sol), served at the contract's own address: the client calls them
there with the lens's ABI added.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from offchain.chain.accounts import LocalSigner
from offchain.chain.blobs import BlobSidecar, pack_blob, sidecar, unpack_blob
from offchain.chain.client import StakingClient, View
from offchain.chain.deploy import (
    DeploymentError,
    DeploymentRecord,
    attach,
    deploy_contract,
    load_artifact,
    with_lens_views,
)
from offchain.chain.errors import ErrorDecoder
from offchain.chain.tx import PendingTx, send
from offchain.chain.types import decode_struct, encode_struct
from offchain.errors import PoflValueError
from offchain.paths import DEPLOYMENTS_DIR
from offchain.store.cid import CidKind, cid_from_digest, cid_to_digest

CONTRACT_NAME = "PoFLScaled"
LENS_NAME = "PoFLScaledLens"
DOMAIN_NAME = "PoFLScaled"
DOMAIN_VERSION = "1"
NO_REPORT = 0xFFFF
"""A report lane that says nothing (the seat's own claim, an unrevealed or unfetchable candidate)."""
MAX_TOP_K = 12
CLAIM_BYTES = 20 + 2 + 32 + 65
"""One claim in the blob: miner, accuracy (big-endian), commitment, signature (r, s, v)."""

ADVANCE_GAS = 1_000_000
"""advance()'s gas limit: the most it does is an absent aggregator's penalty and eviction, fixing the K
candidates and ending the reveals (bench/gas.py --scaled measures it)."""

T = TypeVar("T")


class ScaledPhase(IntEnum):
    CLAIMS = 0
    FORCED = 1
    REVEAL = 2
    VOTE = 3
    APPEAL = 4
    FINALIZE = 5


class Outcome(IntEnum):
    ACCEPTED = 0
    BELOW_THRESHOLD = 1
    REJECTED = 2
    DISPUTED = 3
    NO_QUORUM = 4
    UNAVAILABLE = 5


class ScaledPenaltyReason(IntEnum):
    MISSED_REVEAL = 0
    MISSED_VOTE = 1
    FALSE_CLAIM = 2
    MISREPORT = 3
    AGGREGATOR_ABSENT = 4
    WRONG_ROOT = 5
    UNSIGNED_CLAIM = 6
    MISSED_JURY_VOTE = 7
    UNSERVED_CLAIM = 8


class ScaledConfigField(IntEnum):
    THRESHOLD_BPS = 0
    TOLERANCE_BPS = 1
    QUORUM_BPS = 2
    SEATS = 3
    TOP_K = 4
    DURATION = 5
    SEED_LOOKAHEAD = 6
    MIN_STAKE = 7
    BOND = 8
    MISREPORT_PENALTY_BPS = 9
    GENESIS = 10
    APPEAL_SEATS = 11


ENUMS: dict[str, type[IntEnum]] = {"Phase": ScaledPhase, "Outcome": Outcome, "PenaltyReason": ScaledPenaltyReason,
                                   "ConfigField": ScaledConfigField, "CidKind": CidKind}


# ------------------------------------------------------------------ types (named as the ABI's components)


@dataclass(frozen=True)
class ScaledConfig:
    """PoFLScaled's configuration (``IPoFLScaledTypes.Config``): fixed at deployment. The defaults are
    docs/scaling.md's design point (c = 48 seats, K = 8 reveals, a jury of 96)."""

    threshold_bps: int = 6000
    tolerance_bps: int = 200
    quorum_bps: int = 6666
    seats: int = 48
    top_k: int = 8
    min_stake: int = 10**18
    bond: int = 10**17
    misreport_penalty_bps: int = 1000
    block_reward: int = 10**17
    aggregator_duration: int = 60
    fallback_duration: int = 60
    forced_duration: int = 60
    reveal_duration: int = 60
    vote_duration: int = 120
    seed_lookahead: int = 1
    appeal_seats: int = 96
    appeal_duration: int = 120


@dataclass(frozen=True)
class Leaf:
    """A leaf of a round's Merkle root: the claim at ``rank`` (0: the highest accuracy) of the sorted list."""

    rank: int
    miner: str
    accuracy_bps: int
    commitment: bytes


@dataclass(frozen=True)
class Candidate:
    """A candidate of the current round (``candidate(i)``): ``seal`` is its commitment, its digest once revealed."""

    miner: str
    accuracy_bps: int
    from_root: bool
    revealed: bool
    signed: bool
    cid_kind: CidKind
    seal: bytes


@dataclass(frozen=True)
class ScaledRoundInfo:
    """The current round as the contract's clock rules make it (``roundInfo()``)."""

    round: int
    phase: ScaledPhase
    deadline: int
    opened_at: int
    aggregator: str
    poster: str
    root: bytes
    count: int
    list_blob: bytes
    root_count: int
    direct_count: int
    candidates: int
    reveals: int
    population: int
    seats: int
    seed_block: int
    seed: bytes


@dataclass(frozen=True)
class AppealInfo:
    """The current round's appeal (``appealInfo()``): the round's first disputed candidate and its jury (all zero
    while the round has none; ``seed`` zero until the jury is drawn)."""

    round: int
    candidate: int
    miner: str
    jurors: int
    seed_block: int
    seed: bytes


@dataclass(frozen=True)
class ScaledBlock:
    """A block of the scaled chain (``blockAt(height)``)."""

    round: int
    miner: str
    accuracy_bps: int
    cid_kind: CidKind
    digest: bytes
    block_hash: bytes

    @property
    def cid(self) -> str:
        return cid_from_digest(self.digest, self.cid_kind)


# ------------------------------------------------------------------ claims, pure


def commitment(round_id: int, digest: bytes, cid_kind: int, salt: bytes, miner: str) -> bytes:
    """keccak256(abi.encode(round, digest, cidKind, salt, miner)): ``computeCommitment``."""
    return keccak(abi_encode(["uint64", "bytes32", "uint8", "bytes32", "address"],
                             [round_id, digest, int(cid_kind), salt, miner]))


@dataclass(frozen=True)
class ScaledClaim:
    """A miner's claim for one round (its model's CID, its accuracy) and the secret salt that seals it."""

    round_id: int
    cid: str
    accuracy_bps: int
    miner: str
    salt: bytes

    @classmethod
    def seal(cls, round_id: int, cid: str, accuracy_bps: int, miner: str, salt: bytes | None = None) -> ScaledClaim:
        """A claim with a fresh random salt (or ``salt``)."""
        if not 0 <= accuracy_bps <= 10_000:
            raise PoflValueError(f"accuracy {accuracy_bps} bps is not in 0..10000")
        return cls(round_id, cid, accuracy_bps, to_checksum_address(miner), salt or os.urandom(32))

    @property
    def commitment(self) -> bytes:
        digest, kind = cid_to_digest(self.cid)
        return commitment(self.round_id, digest, kind, self.salt, self.miner)


@dataclass(frozen=True)
class SignedClaim:
    """What a miner hands the aggregator: its claim's public part and its EIP-712 signature (65 bytes)."""

    round_id: int
    miner: str
    accuracy_bps: int
    commitment: bytes
    signature: bytes


def claim_typed_data(chain_id: int, contract: str, round_id: int, miner: str, accuracy_bps: int,
                     commitment_: bytes) -> dict[str, Any]:
    """The EIP-712 typed data of a claim (domain: PoFLScaled, version 1, the chain, the contract)."""
    return {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"},
                                   {"name": "verifyingContract", "type": "address"}],
                  "Claim": [{"name": "round", "type": "uint64"}, {"name": "miner", "type": "address"},
                            {"name": "accuracyBps", "type": "uint16"}, {"name": "commitment", "type": "bytes32"}]},
        "primaryType": "Claim",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id,
                   "verifyingContract": to_checksum_address(contract)},
        "message": {"round": round_id, "miner": to_checksum_address(miner), "accuracyBps": accuracy_bps,
                    "commitment": commitment_},
    }


def sign_claim(private_key: Any, chain_id: int, contract: str, claim: ScaledClaim) -> SignedClaim:
    """``claim`` signed (EIP-712) with ``private_key`` (its miner's)."""
    typed = claim_typed_data(chain_id, contract, claim.round_id, claim.miner, claim.accuracy_bps, claim.commitment)
    signature = Account.sign_message(encode_typed_data(full_message=typed), private_key).signature
    return SignedClaim(claim.round_id, claim.miner, claim.accuracy_bps, claim.commitment, bytes(signature))


def claim_signer(chain_id: int, contract: str, claim: SignedClaim) -> str:
    """The address that signed ``claim`` (its miner, if the signature is genuine)."""
    typed = claim_typed_data(chain_id, contract, claim.round_id, claim.miner, claim.accuracy_bps, claim.commitment)
    return str(Account.recover_message(encode_typed_data(full_message=typed), signature=claim.signature))


def sorted_claims(claims: Sequence[SignedClaim]) -> list[SignedClaim]:
    """The aggregator's order: accuracy highest first, ties by miner address (one claim a miner: its first)."""
    seen: set[str] = set()
    unique = [c for c in claims if not (c.miner in seen or seen.add(c.miner))]  # type: ignore[func-returns-value]
    return sorted(unique, key=lambda c: (-c.accuracy_bps, int(c.miner, 16)))


def leaves_of(claims: Sequence[SignedClaim]) -> list[Leaf]:
    """The leaves of ``claims`` in their order (rank = position)."""
    return [Leaf(rank, c.miner, c.accuracy_bps, c.commitment) for rank, c in enumerate(claims)]


# ------------------------------------------------------------------ the Merkle tree, pure


def leaf_hash(round_id: int, leaf: Leaf) -> bytes:
    """keccak256(bytes.concat(keccak256(abi.encode(round, rank, miner, accuracyBps, commitment)))): ``leafHash``."""
    inner = keccak(abi_encode(["uint64", "uint32", "address", "uint16", "bytes32"],
                              [round_id, leaf.rank, leaf.miner, leaf.accuracy_bps, leaf.commitment]))
    return keccak(inner)


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


class MerkleTree:
    """A Merkle tree over leaf hashes in their order, as OpenZeppelin's MerkleProof verifies it: each pair
    hashed sorted, an odd node carried up unchanged."""

    def __init__(self, hashes: Sequence[bytes]) -> None:
        if not hashes:
            raise PoflValueError("a Merkle tree needs at least one leaf")
        self.levels: list[list[bytes]] = [list(hashes)]
        while len(self.levels[-1]) > 1:
            level = self.levels[-1]
            self.levels.append([_hash_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                                for i in range(0, len(level), 2)])

    @classmethod
    def of_leaves(cls, round_id: int, leaves: Sequence[Leaf]) -> MerkleTree:
        return cls([leaf_hash(round_id, leaf) for leaf in leaves])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """The sibling hashes from leaf ``index`` up to the root."""
        proof = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index //= 2
        return proof


def process_proof(proof: Sequence[bytes], leaf: bytes) -> bytes:
    """The root that ``proof`` makes of ``leaf`` (MerkleProof.processProof)."""
    node = leaf
    for sibling in proof:
        node = _hash_pair(node, sibling)
    return node


# ------------------------------------------------------------------ the claim list in a blob, pure


def encode_claim_list(claims: Sequence[SignedClaim]) -> bytes:
    """The sorted list as the blob carries it: a 4-byte count, then each claim's miner, accuracy, commitment and
    signature (:data:`CLAIM_BYTES` a claim; 1,066 claims fit one blob)."""
    out = [len(claims).to_bytes(4, "big")]
    for c in claims:
        if len(c.signature) != 65:
            raise PoflValueError(f"the signature of {c.miner}'s claim has {len(c.signature)} bytes, not 65")
        out.append(bytes.fromhex(c.miner[2:]) + c.accuracy_bps.to_bytes(2, "big") + c.commitment + c.signature)
    return pack_blob(b"".join(out))


def decode_claim_list(round_id: int, blob: bytes) -> list[SignedClaim]:
    """The list :func:`encode_claim_list` packed into ``blob`` (what any miner reads back to check the root)."""
    data = unpack_blob(blob)
    count = int.from_bytes(data[:4], "big")
    claims = []
    for i in range(count):
        at = 4 + i * CLAIM_BYTES
        raw = data[at:at + CLAIM_BYTES]
        claims.append(SignedClaim(round_id, to_checksum_address(raw[:20]), int.from_bytes(raw[20:22], "big"),
                                  raw[22:54], raw[54:119]))
    return claims


# ------------------------------------------------------------------ the committee, pure


def permute(seed: bytes, x: int, n: int) -> int:
    """IndexSampling.permute: place ``x`` (< n) of the permutation of 0 .. n - 1 that ``seed`` draws."""
    if n <= 1:
        return 0
    if len(seed) != 32:
        raise PoflValueError(f"a seed has 32 bytes, got {len(seed)}")
    half = ((n - 1).bit_length() + 1) // 2
    mask = (1 << half) - 1
    while True:
        left, right = x >> half, x & mask
        for r in range(4):
            f = int.from_bytes(keccak(seed + r.to_bytes(32, "big") + right.to_bytes(32, "big")), "big")
            left, right = right, left ^ (f & mask)
        x = (left << half) | right
        if x < n:
            return x


def seat_indices(seed: bytes, population: int, seats: int) -> list[int]:
    """The miner index of each seat 0 .. seats - 1 (distinct); of each juror, with the jury's seed."""
    return [permute(seed, j, population) for j in range(seats)]


def pack_reports(reports: Sequence[int | None]) -> int:
    """A seat's reports, candidate i at bits 16i (None: :data:`NO_REPORT`)."""
    if len(reports) > MAX_TOP_K:
        raise PoflValueError(f"{len(reports)} reports: at most {MAX_TOP_K} candidates")
    return sum((NO_REPORT if r is None else r) << (16 * i) for i, r in enumerate(reports))


# ------------------------------------------------------------------ the client


@dataclass(frozen=True)
class RootPosting:
    """What ``post_root`` sent: the sorted list, its tree and the pending transaction."""

    claims: list[SignedClaim]
    tree: MerkleTree
    pending: PendingTx

    def wait(self, timeout: float = 120.0) -> Any:
        return self.pending.wait(timeout)


class ScaledContract(StakingClient):
    """A deployed PoFLScaled (its staking actions and books are every consensus client's: register, add_stake,
    leave, fund_rewards, withdraw_rewards, balances). Every action takes the :class:`LocalSigner` that sends it
    and returns a :class:`~offchain.chain.tx.PendingTx` (``post_root``: a :class:`RootPosting`); reverts surface
    as the contract's own errors (``offchain.chain.errors``: ``Scaled*``)."""

    def __init__(self, contract: Contract, artifact: dict[str, Any] | None = None) -> None:
        self.artifact = artifact or load_artifact(CONTRACT_NAME)
        abi = with_lens_views(self.artifact["abi"], load_artifact(LENS_NAME)["abi"])
        super().__init__(contract.w3.eth.contract(address=contract.address, abi=abi),
                         ErrorDecoder.from_artifact(self.artifact, ENUMS))
        self._abi = {e["name"]: e for e in abi if e.get("type") == "function"}
        self._leaf_components = self._abi["leafHash"]["inputs"][1]["components"]
        self._chain_id: int | None = None

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def deploy(cls, signer: LocalSigner, config: ScaledConfig, genesis_cid: str, *, reward_pool: int = 0,
               deployments_dir: Path | None = DEPLOYMENTS_DIR) -> tuple[ScaledContract, DeploymentRecord]:
        """Deploy with ``config`` and the genesis model; ``reward_pool`` wei fund block rewards. Recorded in
        ``deployments_dir`` (unless None) as every deployment is."""
        artifact = load_artifact(CONTRACT_NAME)
        constructor = next(e for e in artifact["abi"] if e["type"] == "constructor")
        digest, kind = cid_to_digest(genesis_cid)
        args = [encode_struct(config, constructor["inputs"][0]["components"]), digest, kind]
        contract, record = deploy_contract(signer, artifact, args, value=reward_pool, deployments_dir=deployments_dir,
                                           decoder=ErrorDecoder.from_artifact(artifact, ENUMS))
        return cls(contract, artifact), record

    @classmethod
    def attach(cls, w3: Web3, address: str | None = None, deployments_dir: Path = DEPLOYMENTS_DIR) -> ScaledContract:
        """The contract at ``address``, or the one recorded for this chain; checks its code is there, and its
        lens's."""
        artifact = load_artifact(CONTRACT_NAME)
        contract = cls(attach(w3, artifact, address, deployments_dir), artifact)
        lens = contract.lens_address()
        try:
            attach(w3, load_artifact(LENS_NAME), lens, deployments_dir)
        except DeploymentError as exc:
            raise DeploymentError(f"the lens of the contract at {contract.address} (at {lens}): {exc}") from None
        return contract

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    # ---------------------------------------------------------------- views

    miner_count = View("minerCount", int, "The number of registered miners.")
    miner_at = View("minerAt", str, "The miner at index ``index``.")
    block_count = View("blockCount", int, "The number of blocks, genesis included.")
    pending_rewards = View("pendingRewards", int, "Wei credited to ``account`` and not yet withdrawn.")
    lens_address = View("lens", str, "The lens whose code serves the views (called at this contract's address).")

    def _struct(self, cls: type[T], name: str, *args: Any, at: str | int = "latest") -> T:
        return decode_struct(cls, self._abi[name]["outputs"][0]["components"], self._view(name, *args, at=at),
                             ENUMS)

    def config(self) -> ScaledConfig:
        return self._struct(ScaledConfig, "config")

    def round_info(self, at: str | int = "latest") -> ScaledRoundInfo:
        """The current round, as the clock's rules make it at block ``at`` (``"pending"``: at the node's own
        current time, which a devnet that mines only on transactions needs to see a deadline pass)."""
        return self._struct(ScaledRoundInfo, "roundInfo", at=at)

    def candidate(self, index: int) -> Candidate:
        return self._struct(Candidate, "candidate", index)

    def candidates(self) -> list[Candidate]:
        """The current round's candidates, highest claim first (empty until the forced window ends)."""
        return [self.candidate(i) for i in range(self.round_info().candidates)]

    def block_at(self, height: int) -> ScaledBlock:
        return self._struct(ScaledBlock, "blockAt", height)

    def latest_block(self) -> ScaledBlock:
        return self.block_at(self.block_count() - 1)

    def miner_of(self, account: str) -> tuple[int, int, bool]:
        """``account``'s stake, index and whether it is registered."""
        stake, index, registered = self._view("minerOf", account)
        return int(stake), int(index), bool(registered)

    def stake_of(self, account: str) -> int:
        return self.miner_of(account)[0]

    def seats(self) -> list[str]:
        """The current committee's miners, seat by seat (computed here as the contract does; empty until the
        committee is drawn)."""
        info = self.round_info()
        return self._sampled(info.seed, info.population, info.seats)

    def appeal_info(self, at: str | int = "latest") -> AppealInfo:
        """The current round's appeal (all zero while it has none)."""
        return self._struct(AppealInfo, "appealInfo", at=at)

    def jurors(self) -> list[str]:
        """The current appeal's jurors, place by place (computed here as the contract does; empty until the jury
        is drawn). The appealed claimant may be among them: its place does not count."""
        appeal = self.appeal_info()
        return self._sampled(appeal.seed, self.round_info().population, appeal.jurors)

    def _sampled(self, seed: bytes, population: int, count: int) -> list[str]:
        """The miners at the first ``count`` places of ``seed``'s permutation of the round's population (none while
        the seed is not drawn)."""
        if seed == bytes(32):
            return []
        return [self.miner_at(i) for i in seat_indices(seed, population, count)]

    # --------------------------------------------------------------- claims

    def sign_claim(self, signer: LocalSigner, claim: ScaledClaim) -> SignedClaim:
        """``claim`` signed by ``signer`` (its miner) for this deployment."""
        if signer.address != claim.miner:
            raise PoflValueError(f"the claim is {claim.miner}'s; {signer.address} cannot sign it")
        return sign_claim(signer.account.key, self.chain_id, self.address, claim)

    def verify_claim(self, claim: SignedClaim) -> bool:
        """Whether ``claim``'s signature is its miner's, for this deployment and its round."""
        try:
            return claim_signer(self.chain_id, self.address, claim) == claim.miner
        except Exception:  # a malformed signature
            return False

    def _leaf(self, leaf: Leaf) -> tuple[Any, ...]:
        return encode_struct(leaf, self._leaf_components)

    # --------------------------------------------------------------- actions

    def post_root(self, signer: LocalSigner, round_id: int, claims: Sequence[SignedClaim], *,
                  verify: bool = True, presorted: bool = False, count: int | None = None,
                  gas: int | None = None) -> RootPosting:
        """Post the root of ``claims`` (sorted here unless ``presorted``; with ``verify``, claims whose signature
        is not their miner's for ``round_id`` are dropped) with the top K leaves, their proofs and the list in a
        blob. ``count`` overrides the posted count (only an attack test does). A top-K claim of an account that is
        not a registered miner makes the contract refuse the root (ScaledBadLeaf): collect claims from miners."""
        if verify:
            claims = [c for c in claims if c.round_id == round_id and self.verify_claim(c)]
        ordered = list(claims) if presorted else sorted_claims(claims)
        leaves = leaves_of(ordered)
        tree = MerkleTree.of_leaves(round_id, leaves)
        k = min(self.config().top_k, len(leaves))
        top = [self._leaf(leaf) for leaf in leaves[:k]]
        proofs = [tree.proof(i) for i in range(k)]
        blob = sidecar(encode_claim_list(ordered))
        pending = self._send_blob(signer, "postRoot", blob, round_id, tree.root,
                                  len(leaves) if count is None else count, top, proofs, gas=gas)
        return RootPosting(ordered, tree, pending)

    def _send_blob(self, signer: LocalSigner, name: str, blob: BlobSidecar, *args: Any,
                   gas: int | None) -> PendingTx:
        """Function ``name`` sent as an EIP-4844 transaction carrying ``blob``."""
        return send(signer, getattr(self.contract.functions, name)(*args), self.errors, gas=gas, action=name,
                    blobs=[blob])

    def commit_direct(self, signer: LocalSigner, claim: ScaledClaim) -> PendingTx:
        """Forced inclusion: commit ``claim`` on chain (in the Forced phase)."""
        return self._send(signer, "commitDirect", claim.round_id, claim.accuracy_bps, claim.commitment)

    def prove_misordered(self, signer: LocalSigner, round_id: int, tree: MerkleTree, higher: Leaf,
                         lower: Leaf) -> PendingTx:
        """Prove that ``higher`` (lower rank) claims less than ``lower``, or that both hold one rank."""
        return self._send(signer, "proveMisordered", round_id, self._leaf(higher), tree.proof(higher.rank),
                          self._leaf(lower), tree.proof(lower.rank))

    def prove_out_of_range(self, signer: LocalSigner, round_id: int, tree: MerkleTree, leaf: Leaf) -> PendingTx:
        """Prove that the root holds ``leaf`` at a rank at or past the posted count."""
        return self._send(signer, "proveOutOfRange", round_id, self._leaf(leaf), tree.proof(leaf.rank))

    def reveal(self, signer: LocalSigner, round_id: int, index: int, claim: ScaledClaim) -> PendingTx:
        """Reveal candidate ``index``, ``signer``'s ``claim``."""
        digest, kind = cid_to_digest(claim.cid)
        return self._send(signer, "reveal", round_id, index, digest, kind, claim.salt)

    def show_signature(self, signer: LocalSigner, round_id: int, index: int, signature: bytes) -> PendingTx:
        """Show root candidate ``index``'s signature: its miner, not the poster, owes the bond if it does not
        reveal."""
        return self._send(signer, "showSignature", round_id, index, signature)

    def advance(self, signer: LocalSigner) -> PendingTx:
        """Apply the clock's rules; draws the committee once its seed block is mined. Never estimated (it never
        reverts, and what it does depends on the clock of the block that mines it): ADVANCE_GAS."""
        return self._send(signer, "advance", gas=ADVANCE_GAS)

    def vote(self, signer: LocalSigner, round_id: int, seat: int, reports: Sequence[int | None]) -> PendingTx:
        """Seat ``seat``'s reports, one a candidate in order (None: no report)."""
        return self._send(signer, "vote", round_id, seat, pack_reports(reports))

    def appeal_vote(self, signer: LocalSigner, round_id: int, juror: int, report_bps: int | None) -> PendingTx:
        """Juror ``juror``'s report of the appealed candidate (``appeal_info().candidate``); None: it could not
        fetch the model (:data:`NO_REPORT`, never a misreport; a juror that does not answer at all pays the
        bond)."""
        return self._send(signer, "appealVote", round_id, juror, NO_REPORT if report_bps is None else report_bps)

    def finalize(self, signer: LocalSigner, gas: int | None = None) -> PendingTx:
        """Decide the round and open the next (in the Finalize phase); with a disputed claim in a round not yet
        appealed, open its appeal instead (phase APPEAL; call again once the appeal window is over). Its gas is
        estimated against the latest block: right after the vote (appeal) deadline, before any block has a later
        timestamp, the estimate still sees the window open (ScaledWrongPhase); call :meth:`advance` first, or pass
        ``gas`` (bench/results/gas_scaled.json has the largest measured)."""
        return self._send(signer, "finalize", gas=gas)

    # ------------------------------------------------------------------ reads of the contract's pure helpers

    def leaf_hash_on_chain(self, round_id: int, leaf: Leaf) -> bytes:
        return bytes(self._view("leafHash", round_id, self._leaf(leaf)))

    def claim_digest_on_chain(self, claim: SignedClaim | ScaledClaim) -> bytes:
        return bytes(self._view("claimDigest", claim.round_id, claim.miner, claim.accuracy_bps, claim.commitment))

    def commitment_on_chain(self, claim: ScaledClaim) -> bytes:
        digest, kind = cid_to_digest(claim.cid)
        return bytes(self._view("computeCommitment", claim.round_id, digest, kind, claim.salt, claim.miner))

    def seat_index_on_chain(self, seat: int) -> int:
        return int(self._view("seatIndex", seat))

    def juror_index_on_chain(self, juror: int) -> int:
        return int(self._view("jurorIndex", juror))
