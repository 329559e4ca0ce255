"""The scaled mode's claim inbox (offchain/miner/claim_inbox.py) on a real Anvil and real HTTP on loopback: a
signed claim handed in is kept for its round; every claim it must not keep is refused with its own status and
reason; a peer that cannot be reached is an error, not a hang."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from web3 import Web3

from offchain.chain.accounts import LocalSigner
from offchain.chain.scaled import ScaledClaim, SignedClaim
from offchain.errors import LauncherError, PoflConnectionError
from offchain.miner.claim_inbox import (
    MAX_BODY_BYTES,
    ClaimInbox,
    ClaimRefused,
    ClaimRelay,
    claim_to_json,
    hand_in,
    say_done,
)
from offchain.testing.rounds import placeholder_cid
from offchain.testing.scaled_rounds import ScaledFederation
from tests.contract.test_scaled import federation


@pytest.fixture
def fed(anvil_w3: Web3, funded: Callable[..., list[LocalSigner]]) -> ScaledFederation:
    return federation(anvil_w3, funded, n=3)


@pytest.fixture
def inbox(fed: ScaledFederation) -> Iterator[ClaimInbox]:
    with ClaimInbox(fed.contract) as box:
        yield box


def signed(fed: ScaledFederation, miner: LocalSigner, bps: int = 8000, round_id: int | None = None) -> SignedClaim:
    r = fed.contract.round_info().round if round_id is None else round_id
    return fed.contract.sign_claim(miner, ScaledClaim.seal(r, placeholder_cid(f"{miner.address}{bps}"), bps,
                                                           miner.address))


def post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read()).get("error", "")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["error"]


def test_a_claim_handed_in_is_kept_for_its_round_and_a_relay_delivers_to_every_peer(
        fed: ScaledFederation, inbox: ClaimInbox) -> None:
    r = fed.contract.round_info().round
    first = signed(fed, fed.miners[0])
    hand_in(inbox.url, first)
    hand_in(inbox.url, first)  # a retry of the same claim is no second claim
    assert inbox.take(r) == [first]
    with ClaimInbox(fed.contract) as other:
        relay = ClaimRelay(other, peers=[inbox.url])
        assert not ClaimRelay(inbox, peers=[other.url]).peers_done(r)
        assert relay.hand_out(r, [signed(fed, m) for m in fed.miners[1:]]) == 2
        assert ClaimRelay(inbox, peers=[other.url]).peers_done(r)  # the other process said it is done
        assert inbox.done(r) == 1 and not ClaimRelay(inbox, peers=[other.url, "x"]).peers_done(r)
        assert relay.hand_out(r, []) == 0 and inbox.done(r) == 1  # said again: one peer is still one
    assert {c.miner for c in ClaimRelay(inbox).collected(r)} == {m.address for m in fed.miners}
    assert inbox.take(r + 1) == []  # a later round's take forgets the earlier rounds
    assert inbox.take(r) == [] and inbox.done(r) == 0


def test_every_claim_the_inbox_must_not_keep_is_refused_with_its_reason(
        fed: ScaledFederation, inbox: ClaimInbox, funded: Callable[..., list[LocalSigner]]) -> None:
    a, b = fed.miners[:2]
    r = fed.contract.round_info().round
    claim = signed(fed, a, 8000)
    hand_in(inbox.url, claim)

    def refused(c: SignedClaim) -> ClaimRefused:
        with pytest.raises(ClaimRefused) as info:
            hand_in(inbox.url, c)
        return info.value

    twice = refused(signed(fed, a, 9000))  # the same miner, another claim: it signed two
    assert twice.status == 409 and "already handed in another claim" in str(twice)
    other = signed(fed, b)
    forged = refused(SignedClaim(r, a.address, 9500, other.commitment, other.signature))
    assert forged.status == 403 and "signature is not" in str(forged)
    outsider = funded(1)[0]
    stranger = refused(fed.contract.sign_claim(outsider, ScaledClaim.seal(r, placeholder_cid("x"), 9000,
                                                                           outsider.address)))
    assert stranger.status == 403 and "not a registered miner" in str(stranger)
    late = refused(signed(fed, b, round_id=r + 5))
    assert late.status == 409 and f"neither round {r} (open now)" in str(late)

    good = claim_to_json(signed(fed, b))
    for body, reason in [
        (b"not json", "not JSON"),
        (b"[1, 2]", "one JSON object"),
        (json.dumps({k: v for k, v in good.items() if k != "signature"}).encode(), "lacks signature"),
        (json.dumps(good | {"accuracyBps": 10_001}).encode(), "accuracyBps must be an integer in 0..10000"),
        (json.dumps(good | {"round": True}).encode(), "round must be a positive integer"),
        (json.dumps(good | {"miner": good["miner"].lower()}).encode(), "checksummed address"),
        (json.dumps(good | {"commitment": "0x1234"}).encode(), "commitment must be 0x and 32 bytes"),
        (json.dumps(good | {"signature": "0x" + "zz" * 65}).encode(), "signature is not hex"),
    ]:
        status, error = post(inbox.url, body)
        assert status == 400 and reason in error, (body, error)
    assert post(inbox.url, b"{" + b" " * MAX_BODY_BYTES + b"}")[0] == 413
    assert post(inbox.url.replace("/claims", "/other"), json.dumps(good).encode())[0] == 404
    done = inbox.url.replace("/claims", "/done")
    for body, status, reason in [
        (b"not json", 400, "not JSON"),
        (json.dumps({"round": r}).encode(), 400, '"sender"'),
        (json.dumps({"round": "7", "sender": "me"}).encode(), 400, "round must be an integer"),
        (json.dumps({"round": r + 5, "sender": "me"}).encode(), 409, "neither round"),
    ]:
        answer = post(done, body)
        assert answer[0] == status and reason in answer[1], (body, answer)
    with pytest.raises(ClaimRefused, match="neither round"):
        say_done(inbox.url, r - 1, "me")
    assert inbox.done(r) == 0
    assert [c.miner for c in inbox.take(r)] == [a.address]  # nothing refused was kept


def test_an_inbox_that_cannot_be_reached_or_cannot_listen_is_an_error(fed: ScaledFederation) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.listen()
        with pytest.raises(LauncherError, match="cannot listen"):
            ClaimInbox(fed.contract, port=port)
    with pytest.raises(PoflConnectionError, match="cannot be reached"):
        hand_in(f"http://127.0.0.1:{port}/claims", signed(fed, fed.miners[0]), timeout_s=5)
    unreachable = ClaimRelay(peers=[f"http://127.0.0.1:{port}/claims"])
    assert unreachable.hand_out(fed.contract.round_info().round, [signed(fed, fed.miners[0])]) == 0
