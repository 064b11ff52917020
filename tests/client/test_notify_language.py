"""``depot notify set --language/--time-zone``: the language and zone of a person's pages
and mail, from the command line (the CLI itself speaks English)."""

from __future__ import annotations

import json

from tests.client.conftest import Live


def test_a_person_sets_her_language_and_time_zone(team: Live) -> None:
    team.login("bob")
    shown = team.depot("notify", "show")
    assert shown.exit_code == 0, shown.output
    assert "(the browser's)" in shown.output and "(the server's)" in shown.output
    changed = team.depot(
        "--json", "notify", "set", "--language", "zh-CN", "--time-zone", "Asia/Shanghai"
    )
    assert changed.exit_code == 0, changed.output
    answer = json.loads(changed.output)
    assert (answer["language"], answer["time_zone"]) == ("zh-CN", "Asia/Shanghai")
    wrong = team.depot("notify", "set", "--time-zone", "Mars/Olympus")
    assert wrong.exit_code != 0 and "unknown time zone" in wrong.output
    assert team.depot("notify", "set", "--language", "fr").exit_code == 2
    back = team.depot("--json", "notify", "set", "--language", "browser", "--time-zone", "")
    assert json.loads(back.output)["language"] == "" and json.loads(back.output)["time_zone"] == ""
