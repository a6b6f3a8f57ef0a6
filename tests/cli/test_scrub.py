"""The CLI's stdout and stderr pass through the command's secret redaction."""

from __future__ import annotations

import io
import sys

import click
import pytest
from click.testing import CliRunner

from pypeline.cli.errors import report_errors
from pypeline.cli.scrub import ScrubbedStream, command_secrets, scrubbed_output
from pypeline.core.secret import SecretRegistry

SECRET = "Scrub-Me-4f9a2c"


class TestScrubbedStream:
    def test_passes_text_through_while_nothing_is_registered(self) -> None:
        inner = io.StringIO()
        stream = ScrubbedStream(inner, SecretRegistry())
        stream.write("partial ")
        assert inner.getvalue() == "partial "  # no holding back when there is nothing to find

    def test_a_secret_written_in_pieces_is_found(self) -> None:
        inner = io.StringIO()
        secrets = SecretRegistry()
        secrets.add(SECRET)
        stream = ScrubbedStream(inner, secrets)
        stream.write("value: " + SECRET[:5])
        stream.write(SECRET[5:] + "\nnext ")
        assert inner.getvalue() == "value: ***\n"
        stream.flush()
        assert inner.getvalue() == "value: ***\nnext "

    def test_no_binary_back_door(self) -> None:
        stream = ScrubbedStream(sys.__stdout__ or io.StringIO(), SecretRegistry())
        with pytest.raises(AttributeError):
            stream.buffer  # noqa: B018


def test_a_command_output_error_and_traceback_are_redacted() -> None:
    @click.command()
    @report_errors
    def leaky() -> None:
        secrets = command_secrets()
        assert secrets is not None
        secrets.add(SECRET)
        click.echo(f"printed {SECRET}")
        print(f"module print {SECRET!r}")
        try:
            raise ValueError(f"inner {SECRET}")
        except ValueError as exc:
            raise RuntimeError(f"outer {SECRET}") from exc

    @click.group()
    @click.option("--debug", is_flag=True)
    @click.pass_context
    def main(ctx: click.Context, debug: bool) -> None:
        ctx.obj = {"debug": debug}

    main.add_command(leaky)
    result = CliRunner().invoke(main, ["--debug", "leaky"])
    assert result.exit_code == 1
    assert "printed ***" in result.stdout and "module print '***'" in result.stdout
    assert "ValueError: inner ***" in result.stderr and "RuntimeError: outer ***" in result.stderr
    assert "error: internal error: RuntimeError: outer ***" in result.stderr
    assert SECRET not in result.output and SECRET not in result.stderr


def test_streams_are_restored() -> None:
    before = sys.stdout, sys.stderr
    with scrubbed_output() as secrets:
        assert isinstance(sys.stdout, ScrubbedStream) and command_secrets() is secrets
    assert (sys.stdout, sys.stderr) == before and command_secrets() is None
