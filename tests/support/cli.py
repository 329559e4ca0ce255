"""Driving `pofl` in process, as a user gives it input."""

from __future__ import annotations

from click.testing import CliRunner

from offchain.cli import cli


def one_line_usage_error(args: list[str], option: str, env: dict[str, str] | None = None) -> str:
    """Run `pofl ARGS`: it must fail with exit status 2 and one line on stderr, "Error: ..." naming ``option``,
    and no traceback; returns the line."""
    result = CliRunner(env=env).invoke(cli, args)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, (args, result.output)
    assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.output)
    assert option in lines[0], (args, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == "", "errors go to stderr"
    return lines[0]
