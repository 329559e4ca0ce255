"""The one exception root of PoFL-chain.

Every exception the project raises derives from :class:`PoflError`; where callers expect a
builtin (a ``ValueError`` for bad input, a ``ConnectionError`` for an unreachable server, a
``KeyError`` for an absent key, a ``TimeoutError``) the subclass derives from that builtin too,
as web3.py's ``Web3ValueError(Web3Exception, ValueError)`` does. ``except PoflError`` is the one
place the command line turns an error into a one-line message.
"""

from __future__ import annotations


class PoflError(Exception):
    """Root of every PoFL-chain exception. Its message says what was wrong and what to do.

    ``exit_code`` is the command line's exit status for it: 1, or a distinct code for the faults
    a supervisor may want to tell apart (a usage error: 2, an RPC down for good: 3, an unfunded key: 4).
    """

    exit_code: int = 1


class PoflValueError(PoflError, ValueError):
    """An input (an option, a file, bytes another party chose) is not acceptable."""


class PoflRuntimeError(PoflError, RuntimeError):
    """An operation could not be carried out in the state it found."""


class PoflConnectionError(PoflError, ConnectionError):
    """A server (chain RPC, IPFS API) did not answer."""


class PoflTimeoutError(PoflError, TimeoutError):
    """Something did not happen within its time limit."""


class ConfigError(PoflValueError):
    """A configuration value (an option, an environment variable, a run file) is invalid: a usage error
    (exit status 2, as click's own)."""

    exit_code = 2


class KeyPolicyError(ConfigError):
    """A key source is not allowed on this chain (e.g. a public dev key on a remote network)."""


class LauncherError(PoflRuntimeError):
    """A local server could not be started; the message says why and what to do."""


class ToolNotFoundError(LauncherError):
    """The executable of a local server is missing."""


class PortInUseError(LauncherError):
    """The requested TCP port is already taken on the host."""
