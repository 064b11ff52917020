"""The client's own exception tree: every failure the ``depot`` command reports is a
``ClientError`` of a kind (bad input, an answer it cannot read, a failed verification),
and no code of the client catches a bare ``ValueError`` (which would also swallow bugs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from client.commands.tokens import parse_days
from client.errors import AnswerError, ClientError, Exit, InputError, TrustFailure
from client.trust import trust_failure
from policies.trust.errors import TrustError

CLIENT = Path(__file__).resolve().parents[2] / "client"


def _caught(node: ast.expr | None) -> list[str]:
    if node is None:
        return ["(bare except)"]
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    return [ast.unparse(item) for item in items]


def test_no_code_of_the_client_catches_a_bare_value_error() -> None:
    found = []
    for path in sorted(CLIENT.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ExceptHandler):
                names = _caught(node.type)
            elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("suppress"):
                names = [ast.unparse(arg) for arg in node.args]
            bad = [n for n in names if n in ("ValueError", "Exception", "(bare except)")]
            if bad:
                found.append(f"{path.relative_to(CLIENT.parent)}:{node.lineno} {bad}")
    assert found == []


def test_no_command_raises_a_plain_client_error_for_bad_input() -> None:
    found = []
    for path in sorted(CLIENT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) == "ClientError"
                and "Exit.USAGE" in ast.unparse(node)
            ):
                found.append(f"{path.relative_to(CLIENT.parent)}:{node.lineno}")
    assert found == [], "raise InputError for a value the user must change"


@pytest.mark.parametrize("text", ["", "30x", "d", "-3d", "1.5w", "٣d"])
def test_an_unreadable_expiry_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="cannot read expiry") as raised:
        parse_days(text)
    assert raised.value.exit_code == Exit.USAGE


def test_an_expiry_reads_days_weeks_and_years() -> None:
    assert [parse_days(t) for t in ("30", "30d", "12w", "1y")] == [30, 30, 84, 365]


def test_the_kinds_of_client_errors_carry_their_exit_codes() -> None:
    assert issubclass(InputError, ClientError) and issubclass(TrustFailure, ClientError)
    assert issubclass(AnswerError, ClientError)
    assert InputError("x").exit_code == Exit.USAGE
    failure = trust_failure(TrustError("status", "the status expired"), "app.bin does not verify")
    assert isinstance(failure, TrustFailure)
    assert (failure.exit_code, failure.code) == (Exit.INTEGRITY, "trust.status")
    assert failure.message == "app.bin does not verify: the status expired"
