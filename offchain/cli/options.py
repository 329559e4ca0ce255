"""Options shared by several ``pofl`` commands: the chain, key and contract options, and the run options
derived from ``RunConfig``'s declared settings (:func:`offchain.settings.setting`)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from offchain.cli.types import ADDRESS, PRIVATE_KEY, RPC_URL

if TYPE_CHECKING:
    from offchain.chain.keys import KeySources

F = TypeVar("F", bound=Callable[..., Any])


DEFAULT_OWNER_KEY_INDEX = 0


def rpc_url_option(required: bool = False) -> Callable[[F], F]:
    return click.option("--rpc-url", envvar="POFL_RPC_URL", type=RPC_URL, required=required, default=None,
                        help="JSON-RPC URL of the chain (Anvil, Hardhat, any node) or 'eth-tester'. [env POFL_RPC_URL]")


def contract_option(help_text: str = "The PoFLConsensus address; default: this chain's recorded deployment.",
                    ) -> Callable[[F], F]:
    return click.option("--contract", "address", type=ADDRESS, default=None, help=help_text)


def _key_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The key file's key is checked when the command line is parsed."""
    if value is not None:
        from offchain.chain.keys import read_key_file
        from offchain.errors import ConfigError

        try:
            read_key_file(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc).removeprefix(f"--key-file {value}").lstrip(": "), ctx, param) from None
    return value


def key_options(help_text: str = "Private key that signs (0x-hex).") -> Callable[[F], F]:
    """``--key``, ``--key-file`` and ``--keystore``; ``POFL_KEY`` is read too (see offchain.chain.keys)."""
    def decorate(fn: F) -> F:
        for option in reversed([
            click.option("--key", type=PRIVATE_KEY, default=None,
                         help=f"{help_text} Visible in `ps`: prefer POFL_KEY, --key-file or --keystore off a devnet."),
            click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                         callback=_key_file, help="File holding the private key (0x-hex)."),
            click.option("--keystore", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                         help="Encrypted eth-account keystore; password from POFL_KEYSTORE_PASSWORD or a prompt."),
        ]):
            fn = option(fn)
        return fn
    return decorate


def key_sources(key: str | None, key_file: Path | None, keystore: Path | None,
                env_var: str | None = None) -> KeySources:
    """Where the command was given a key, each checked for form now, before anything starts: ``--key`` and
    ``--key-file`` were checked by their option types, the environment variable is checked here."""
    from offchain.chain.keys import KEY_ENV, KeySources, check_private_key

    env_var = env_var or KEY_ENV
    env_key = os.environ.get(env_var) or None
    if env_key is not None:
        env_key = check_private_key(env_key, env_var)
    return KeySources(keystore, key_file, env_key, key, env_name=env_var)


def signing_key(endpoint: Endpoint, chain_id: int, sources: KeySources, *,
                dev_key_index: int | None = DEFAULT_OWNER_KEY_INDEX) -> str:
    """The key a command signs with (offchain.chain.keys.resolve_key, with a password prompt and warnings)."""
    from offchain.chain.keys import resolve_key

    return resolve_key(sources, rpc_url=endpoint.url, chain_id=chain_id, started_here=endpoint.started_here,
                       dev_key_index=dev_key_index, password=lambda: click.prompt("keystore password", hide_input=True),
                       warn=lambda msg: click.echo(f"warning: {msg}", err=True))


class Endpoint(NamedTuple):
    """A chain RPC URL, and whether this process started the devnet behind it."""

    url: str
    started_here: bool = False


def echo_json(obj: Any) -> None:
    from offchain.cli.output import to_json

    click.echo(to_json(obj))


# ------------------------------------------------------------------ run settings


def _settings(cls: type, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dataclasses.Field]]:
    """(path, field) of every declared setting of ``cls``, nested configurations flattened."""
    import typing

    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if "cli" in f.metadata:
            yield (*prefix, f.name), f
        elif dataclasses.is_dataclass(hints.get(f.name)):
            yield from _settings(hints[f.name], (*prefix, f.name))


def _param_name(path: tuple[str, ...]) -> str:
    return "cfg_" + "__".join(path)


def config_options(cls: type) -> Callable[[F], F]:
    """Click options for every setting of the configuration dataclass ``cls``."""
    import typing

    def decorate(fn: F) -> F:
        for path, f in reversed(list(_settings(cls))):
            meta = f.metadata
            owner = cls
            for part in path[:-1]:
                owner = typing.get_type_hints(owner)[part]
            kind = typing.get_type_hints(owner)[f.name]
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            if meta.get("mapping"):
                option = click.option(meta["cli"], _param_name(path), multiple=True, metavar="NAME=NUMBER",
                                      callback=_parameters, help=meta["help"])
            elif meta["flag_off"]:
                option = click.option(meta["cli"], _param_name(path), is_flag=True, default=False, help=meta["help"])
            else:
                ptype = click.Choice(meta["choices"]) if meta["choices"] else kind
                option = click.option(meta["cli"], _param_name(path), type=ptype, default=default,
                                      show_default=True, help=meta["help"])
            fn = option(fn)
        return fn
    return decorate


def _parameters(ctx: click.Context, param: click.Parameter, pairs: tuple[str, ...]) -> dict[str, float]:
    """A mapping setting's ``NAME=NUMBER`` pairs, checked when the command line is parsed."""
    from offchain.errors import ConfigError
    from offchain.fl.components import parse_options

    try:
        return parse_options(pairs, param.opts[0])
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def config_from_options(cls: type, options: dict[str, Any], **overrides: Any) -> Any:
    """An instance of ``cls`` from the values of :func:`config_options` (popped from ``options``)."""
    import typing

    values: dict[tuple[str, ...], Any] = {}
    for path, f in _settings(cls):
        value = options.pop(_param_name(path))
        values[path] = (not value) if f.metadata["flag_off"] else value

    def build(owner: type, prefix: tuple[str, ...]) -> Any:
        kwargs = {}
        hints = typing.get_type_hints(owner)
        for f in dataclasses.fields(owner):
            path = (*prefix, f.name)
            if path in values:
                kwargs[f.name] = values[path]
            elif dataclasses.is_dataclass(hints.get(f.name)) and any(p[:len(path)] == path for p in values):
                kwargs[f.name] = build(hints[f.name], path)
        if not prefix:
            kwargs.update(overrides)  # at construction: its checks see them (--consensus scaled lifts the cap)
        return owner(**kwargs)

    return build(cls, ())


def config_from_file_or_options(ctx: click.Context, cls: Any, config_file: Path | None, options: dict[str, Any],
                                **overrides: Any) -> Any:
    """The run's settings from ``--config FILE`` (then no setting may be given as an option too: the file
    is what every miner reads), else from the options."""
    if config_file is None:
        return config_from_options(cls, options, **overrides)
    given = any_setting_given(ctx, cls)
    if given:
        raise click.UsageError(f"--config {config_file} holds the run's settings; leave out {', '.join(given)}",
                               ctx)
    for path, _ in _settings(cls):
        options.pop(_param_name(path))
    config = cls.read(config_file)
    return dataclasses.replace(config, **overrides) if overrides else config


def given_on_command_line(ctx: click.Context, path: tuple[str, ...]) -> bool:
    source = ctx.get_parameter_source(_param_name(path))
    return source is not None and source != click.core.ParameterSource.DEFAULT


def any_setting_given(ctx: click.Context, cls: type) -> list[str]:
    """The option names of ``cls``'s settings given on the command line (or by environment)."""
    return [f.metadata["cli"] for path, f in _settings(cls) if given_on_command_line(ctx, path)]


def run_config_class() -> Any:
    """:class:`~offchain.miner.run_config.RunConfig` (imported when first needed)."""
    from offchain.miner.run_config import RunConfig

    return RunConfig


def run_options(fn: F) -> F:
    """The options of every setting of a run (RunConfig)."""
    return config_options(run_config_class())(fn)


def config_file_option(fn: F) -> F:
    return click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        default=None,
                        help="Read the run's settings from this JSON file (as `pofl deploy` records it beside the "
                             "deployment, and `pofl run --processes` writes it) instead of the options.")(fn)
