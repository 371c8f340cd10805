"""Help a person reads: plain text (no reST), an Examples epilog for each subcommand, --version."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import shlex

import pytest

import archiver
from archiver.cli import build_parser, main

DOCUMENTED = ("crawl", "demo", "rotate", "verify", "rebuild")


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_top_level_help_is_plain_text_with_a_start_and_the_exit_codes() -> None:
    text = build_parser().format_help()
    assert "``" not in text and ":class:" not in text and ":mod:" not in text
    assert "archiver demo" in text and "archiver crawl finews --output DIR" in text
    assert "64" in text and "Exit codes" in text


@pytest.mark.parametrize("name", DOCUMENTED)
def test_each_subcommand_has_a_description_and_examples_kept_as_written(name: str) -> None:
    parser = subparsers(build_parser())[name]
    text = parser.format_help()
    assert parser.description and parser.description.strip() in text  # not re-wrapped
    assert "\nExamples:\n" in text
    assert f"archiver {name}" in text.split("Examples:", 1)[1]
    assert "``" not in text


def test_every_subcommand_help_is_plain_text() -> None:
    for name, parser in subparsers(build_parser()).items():
        assert "``" not in parser.format_help(), name


def test_the_examples_show_the_cron_line_a_backfill_a_distributed_run_and_verify() -> None:
    commands = subparsers(build_parser())
    crawl = commands["crawl"].format_help()
    assert "*/5 * * * *" in crawl
    assert "--since" in crawl.split("Examples:", 1)[1] and "--jobdir" in crawl.split("Examples:", 1)[1]
    assert "--workers 4" in crawl and "ARCHIVER_REDIS_URL=" in crawl
    assert "archiver verify /srv/finews-archive --jekyll" in commands["verify"].format_help()


def example_commands(epilog: str) -> list[list[str]]:
    """The ``archiver ...`` commands of an epilog, as argument lists (descriptions after two spaces cut)."""
    text = re.sub(r"\s*\\\n\s*", " ", epilog)  # continuation lines
    commands = []
    for line in text.splitlines():
        for part in line.split("&&"):
            part = re.split(r"(?<=\S)\s{2,}", part, maxsplit=1)[0]
            found = re.search(r"(?:^|[\s/])archiver (\w.*)$", part)
            if found:
                commands.append(shlex.split(found[1]))
    return commands


@pytest.mark.parametrize("name", DOCUMENTED)
def test_every_example_is_a_valid_command_line(name: str) -> None:
    parser = build_parser()
    commands = example_commands(subparsers(parser)[name].epilog or "")
    assert commands
    for argv in commands:
        parser.parse_args(argv)  # exits 64 on a wrong option


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"archiver {archiver.__version__}\n"
    assert importlib.metadata.version("archiver") == archiver.__version__  # pyproject reads the same attribute


def test_usage_errors_still_exit_64(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["crawl"])
    assert stopped.value.code == 64
    assert "the following arguments are required: spider" in capsys.readouterr().err
