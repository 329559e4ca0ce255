"""Command-line options derived from ``RunConfig``'s declared settings (offchain.options.setting)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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
    from offchain.fl.options import parse_options

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
        return owner(**kwargs)

    config = build(cls, ())
    return dataclasses.replace(config, **overrides) if overrides else config


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
