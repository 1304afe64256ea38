"""The command line's help and version: what a user reads before running anything."""

import importlib.metadata
import re
from collections.abc import Iterator

import click
import pytest
import typer
import uvicorn
from typer.testing import CliRunner

from server.cli import app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), prog_name="summit")
    return result.exit_code, result.stdout


def command_paths(group: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The app itself, then every command and group under it."""
    yield path
    for name, command in getattr(group, "commands", {}).items():
        yield from command_paths(command, (*path, name))


ALL_COMMANDS = list(command_paths(typer.main.get_command(app)))


def test_every_command_is_listed() -> None:
    assert {("ingest",), ("serve",), ("eval", "qa"), ("model", "export")} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_dash_h_shows_the_help_of_every_command(path: tuple[str, ...]) -> None:
    code, out = run(*path, "-h")
    assert (code, out) == run(*path, "--help")
    assert code == 0 and out.startswith(f"Usage: {' '.join(('summit', *path))}")


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_boolean_flags_read_as_plain_flags(path: tuple[str, ...]) -> None:
    _, out = run(*path, "--help")
    options = out.split("\nOptions:\n")[1].split("\nCommands:\n")[0]
    assert "<bool>" not in out
    assert not re.search(r"<[a-z][^>]*>", options)  # flags alone, values named by metavar
    assert "  -h, --help  " in options


def test_ingest_help_lists_its_flags_without_values() -> None:
    _, out = run("ingest", "--help")
    for flag in ("--prune", "--sentence-vectors", "--json"):
        assert any(line.split()[:1] == [flag] for line in out.splitlines()), flag


def test_version_prints_the_installed_version() -> None:
    code, out = run("--version")
    assert code == 0
    assert out == f"summit-assistant {importlib.metadata.version('summit-assistant')}\n"


def test_version_without_package_metadata_says_it_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert run("--version") == (0, "summit-assistant (version unknown: not installed)\n")


def test_serve_help_shows_the_default_address_and_port() -> None:
    code, out = run("serve", "--help")
    flat = " ".join(out.split())  # as wrapped to any width
    assert code == 0 and "SUMMIT_HOST)" not in flat
    assert "[default: 127.0.0.1]" in flat and "[default: 8000;" in flat


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, [], ("127.0.0.1", 8000)),
        ({"SUMMIT_HOST": "0.0.0.0", "SUMMIT_PORT": "9001"}, [], ("0.0.0.0", 9001)),
        ({"SUMMIT_PORT": "9001"}, ["--port", "8000"], ("127.0.0.1", 8000)),
        (
            {"SUMMIT_HOST": "0.0.0.0"},
            ["--host", "127.0.0.1", "--port", "9002"],
            ("127.0.0.1", 9002),
        ),
    ],
)
def test_serve_listens_where_settings_say_unless_options_are_given(
    env: dict[str, str],
    args: list[str],
    expected: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listened: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda _, host, port, **__: listened.append((host, port)))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run("serve", *args)[0] == 0
    assert listened == [expected]
