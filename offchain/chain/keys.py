"""Where signing keys come from, and the rule that keeps the public test keys on test chains.

The development mnemonic's keys are public (every Anvil and Hardhat node prints them), so they
sign only on a devnet this project started itself, on the in-process eth-tester chain, or on a
loopback RPC whose chain id is a devnet's (31337, 1337). Anywhere else a key must come from
``POFL_KEY``, a key file (``--key-file``) or an encrypted eth-account keystore (``--keystore``,
its password from ``POFL_KEYSTORE_PASSWORD`` or a prompt). ``--key`` on the command line still
works, but outside a local devnet it is shown to every user in ``ps`` and kept in shell history,
so a warning says so.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from offchain.defaults import IN_PROCESS
from offchain.errors import ConfigError, KeyPolicyError
from offchain.redaction import redact_url

DEV_CHAIN_IDS = frozenset({31337, 1337})
KEY_ENV = "POFL_KEY"
KEYSTORE_PASSWORD_ENV = "POFL_KEYSTORE_PASSWORD"
_HEX_KEY = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def is_loopback_url(rpc_url: str) -> bool:
    host = urlsplit(rpc_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dev_keys_allowed(rpc_url: str, chain_id: int, *, started_here: bool = False) -> bool:
    """Whether the public development keys may sign on this chain (see the module docstring)."""
    return started_here or rpc_url == IN_PROCESS or (is_loopback_url(rpc_url) and chain_id in DEV_CHAIN_IDS)


def check_private_key(text: str, source: str) -> str:
    """``text`` as a 0x-prefixed secp256k1 private key, or a ConfigError naming ``source``."""
    key = text.strip()
    if not key.startswith("0x"):
        key = "0x" + key
    if not _HEX_KEY.match(key) or not 0 < int(key, 16) < _SECP256K1_N:
        raise ConfigError(f"{source} is not a private key: expected 32 bytes as 64 hex digits (0x-prefixed)")
    return key


def read_key_file(path: Path) -> str:
    """The key in ``path`` (one 0x-hex key; whitespace ignored)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--key-file {path}: cannot read it ({exc.strerror})") from None
    return check_private_key(text, f"--key-file {path}")


def read_keystore(path: Path, password: str) -> str:
    """The key in the eth-account (Web3 Secret Storage v3) keystore ``path``, decrypted with ``password``."""
    from eth_account import Account

    try:
        keyfile = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"--keystore {path}: cannot read it ({exc.strerror})") from None
    except json.JSONDecodeError:
        raise ConfigError(f"--keystore {path}: not a JSON keystore") from None
    try:
        return "0x" + bytes(Account.decrypt(keyfile, password)).hex()
    except ValueError as exc:  # eth-account: "MAC mismatch" for a wrong password, or a malformed keystore
        raise ConfigError(f"--keystore {path}: cannot decrypt it ({exc}); check {KEYSTORE_PASSWORD_ENV} or the "
                          f"password you typed") from None


@dataclass(frozen=True)
class KeySources:
    """The places a command was given a key, strongest first: a keystore, a key file, ``POFL_KEY``, ``--key``."""

    keystore: Path | None = None
    key_file: Path | None = None
    env_key: str | None = None
    cli_key: str | None = None
    env_name: str = KEY_ENV  # the environment variable env_key came from

    @classmethod
    def from_environment(cls, *, keystore: Path | None = None, key_file: Path | None = None,
                         cli_key: str | None = None) -> KeySources:
        return cls(keystore, key_file, os.environ.get(KEY_ENV) or None, cli_key)

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.keystore, self.key_file, self.env_key, self.cli_key))


def resolve_key(sources: KeySources, *, rpc_url: str, chain_id: int, started_here: bool = False,
                dev_key_index: int | None = 0, password: Callable[[], str] | None = None,
                warn: Callable[[str], None] = lambda _msg: None) -> str:
    """The key to sign with on chain ``chain_id`` at ``rpc_url`` (see the module docstring).

    ``dev_key_index`` names the development account used when no key is given on a local devnet
    (None: a key is always required). ``password`` asks for a keystore's password when
    ``POFL_KEYSTORE_PASSWORD`` is unset.
    """
    local = dev_keys_allowed(rpc_url, chain_id, started_here=started_here)
    if sources.keystore is not None:
        secret = os.environ.get(KEYSTORE_PASSWORD_ENV)
        if secret is None:
            if password is None:
                raise ConfigError(f"--keystore {sources.keystore}: set {KEYSTORE_PASSWORD_ENV} to its password")
            secret = password()
        return read_keystore(sources.keystore, secret)
    if sources.key_file is not None:
        return read_key_file(sources.key_file)
    if sources.env_key is not None:
        return check_private_key(sources.env_key, sources.env_name)
    if sources.cli_key is not None:
        if not local:
            warn("--key on the command line is visible in `ps` and kept in shell history; on a shared or remote "
                 f"chain give the key with {KEY_ENV}, --key-file or --keystore")
        return check_private_key(sources.cli_key, "--key")
    if local and dev_key_index is not None:
        from offchain.chain.accounts import dev_key

        return dev_key(dev_key_index)
    where = f"chain {chain_id} at {redact_url(rpc_url)}"
    if local:
        raise KeyPolicyError(f"a key is required on {where}: give it with {KEY_ENV}, --key-file FILE or "
                             f"--keystore FILE")
    raise KeyPolicyError(f"{where} is not a local devnet, so the public test keys are not used there: give a key "
                         f"with {KEY_ENV}, --key-file FILE or --keystore FILE")
