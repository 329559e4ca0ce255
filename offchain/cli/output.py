"""How every ``pofl`` command talks: results on stdout (a table, lines, or with ``--json`` one JSON
document and nothing else), progress, notes and warnings on stderr; ``-q`` silences the notes, ``-v``
adds the library's log lines. Rich never wraps a line when the stream is not a terminal."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

QUIET, NORMAL, VERBOSE, DEBUG = -1, 0, 1, 2


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON document on stdout and nothing else (progress goes to stderr).")(fn)


def _json_default(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def to_json(obj: object) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default)


NOT_A_TERMINAL_WIDTH = 100_000
"""The width rich lays a table out in when the stream is not a terminal: wide enough that nothing wraps or is
cut (rich would take 80 columns, or $COLUMNS)."""


def _console(stderr: bool) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # soft_wrap: a long line stays one line (a pipe, `tail -1 | jq` and grep see what was printed)
    width = None if stream.isatty() else NOT_A_TERMINAL_WIDTH
    return Console(file=stream, soft_wrap=True, highlight=False, width=width)


def data_table(title: str, columns: list[str], right: tuple[str, ...] = ()) -> Any:
    """A rich table whose cells never wrap: in a terminal too narrow for it, its widest cells are cut with an
    ellipsis; anywhere else every value is printed whole."""
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True, overflow="ellipsis")
    return table


class Output:
    """The streams of one command run (see the module docstring)."""

    def __init__(self, verbosity: int = NORMAL, as_json: bool = False) -> None:
        self.verbosity = verbosity
        self.as_json = as_json
        self._out: Any = None
        self._err: Any = None
        self._status: Any = None  # the live status line on stderr, while one is shown

    @property
    def out(self) -> Any:
        """A rich console on stdout, for human results."""
        if self._out is None:
            self._out = _console(stderr=False)
        return self._out

    @property
    def err(self) -> Any:
        """A rich console on stderr, for progress."""
        if self._err is None:
            self._err = _console(stderr=True)
        return self._err

    @contextmanager
    def _above_status(self) -> Iterator[None]:
        """Print above the live status line: the line is taken down (cleared), then shown again below."""
        status = self._status
        if status is None:
            yield
            return
        status.stop()
        try:
            yield
        finally:
            status.start()

    def note(self, message: str) -> None:
        """Progress or a fact worth knowing (where a log goes): stderr, unless ``-q``."""
        if self.verbosity > QUIET:
            with self._above_status():
                click.echo(message, err=True)

    def warn(self, message: str) -> None:
        with self._above_status():
            click.echo(f"warning: {message}", err=True)

    def line(self, message: str) -> None:
        """A line of the human result: stdout, or stderr when the result is JSON (unless ``-q``)."""
        if self.as_json:
            self.note(message)
            return
        with self._above_status():
            click.echo(message)

    def table(self, renderable: Any) -> None:
        if not self.as_json:
            self.out.print(renderable)
        elif self.verbosity > QUIET:
            self.err.print(renderable)

    def result(self, obj: object, human: Callable[[], None] | None = None) -> None:
        """The command's result: ``obj`` as JSON with ``--json``, else ``human()`` (default: ``obj`` as JSON)."""
        if self.as_json or human is None:
            click.echo(to_json(obj))
        else:
            human()

    @contextmanager
    def status(self, message: str) -> Iterator[Callable[[str], None]]:
        """A live status line on stderr (a terminal only; else nothing), yielding its update function."""
        if self.verbosity <= QUIET or not sys.stderr.isatty():
            yield lambda _msg: None
            return
        with self.err.status(message) as status:
            self._status = status
            try:
                yield lambda msg: status.update(msg)
            finally:
                self._status = None


def output(as_json: bool = False) -> Output:
    """The current command's :class:`Output` (verbosity from the group's ``-v``/``-q``)."""
    ctx = click.get_current_context(silent=True)
    verbosity = ctx.find_root().meta.get("pofl.verbosity", NORMAL) if ctx else NORMAL
    return Output(verbosity, as_json)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (a test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(verbosity: int, default: int = logging.WARNING) -> None:
    """The project's log lines (logger ``pofl``) on stderr: ``default`` level, INFO with ``-v``, DEBUG with
    ``-vv`` (every transaction sent, every step a round driver takes), errors only with ``-q``. Other
    libraries' loggers are left alone."""
    level = {QUIET: logging.ERROR, NORMAL: default, VERBOSE: min(default, logging.INFO)}.get(verbosity, logging.DEBUG)
    logger = logging.getLogger("pofl")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)


def verbosity_options(fn: F) -> F:
    """``-v``/``-vv``/``-q`` on a command too (``pofl run -q`` as well as ``pofl -q run``): they add to the group's."""
    def set_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if not value:
            return
        root = ctx.find_root()
        level = root.meta.get("pofl.verbosity", NORMAL)
        if param.name == "quiet_here":
            if level > NORMAL:
                raise click.UsageError("-q and -v contradict each other: give one of them", ctx)
            level = QUIET
        else:
            if level == QUIET:
                raise click.UsageError("-q and -v contradict each other: give one of them", ctx)
            level = min(DEBUG, max(level, NORMAL) + value)
        root.meta["pofl.verbosity"] = level
        configure_logging(level)

    fn = click.option("-v", "--verbose", "verbose_here", count=True, expose_value=False, is_eager=True,
                      callback=set_verbosity, help="More log lines on stderr (-vv: debug).")(fn)
    return click.option("-q", "--quiet", "quiet_here", is_flag=True, expose_value=False, is_eager=True,
                        callback=set_verbosity, help="Only results and errors: no progress or notes on stderr.")(fn)

