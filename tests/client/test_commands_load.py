"""The ``depot`` command loads a command's module when it runs: every command is still
there, ``depot ls`` starts without the trust rules and the other commands, and ``depot
--help`` lists them all without loading any."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from client.main import COMMANDS, cli, load_command


def test_every_command_is_listed_and_loads_under_its_name() -> None:
    result = CliRunner().invoke(cli, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()[1:]
              if line.startswith("  ") and not line.startswith("    ")]  # fmt: skip
    assert set(COMMANDS) <= set(listed)
    for name in COMMANDS:
        assert load_command(name).name == name
    trust = load_command("trust")
    assert isinstance(trust, click.Group) and "witness" in trust.commands


def _modules_after(*argv: str) -> list[str]:
    """The modules a fresh ``depot *argv`` process has imported when it ends."""
    probe = (
        "import sys\n"
        "from client.main import cli\n"
        f"sys.argv = ['depot', *{list(argv)!r}]\n"
        "try:\n"
        "    cli(prog_name='depot')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stderr.split()


def test_depot_ls_does_not_load_the_trust_rules_nor_the_other_commands() -> None:
    loaded = _modules_after("ls", "--help")
    assert "client.commands.browse" in loaded
    commands = {m for m in loaded if m.startswith("client.commands.")}
    assert commands == {"client.commands.browse"}
    assert not [m for m in loaded if m.startswith(("policies.trust", "cryptography"))]


def test_the_listed_summaries_are_the_commands_own() -> None:
    for name, listed in COMMANDS.items():
        own = load_command(name).get_short_help_str(10_000)
        assert click.Command(name, help=listed.summary).get_short_help_str(10_000) == own, name


def test_depot_help_loads_no_command() -> None:
    loaded = _modules_after("--help")
    assert not [m for m in loaded if m.startswith("client.commands.")]
    assert not [m for m in loaded if m.startswith(("policies.trust", "cryptography"))]
