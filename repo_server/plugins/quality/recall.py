"""The recall list of an issue's batch (召回): who checked out and who downloaded any
version of it — person, time, address, check-out number — from the core's audit trail,
as a page (API, CLI, pages) and as an export (CSV, JSON).

The batch is what the issue's quarantines cover (versions pushed after the decision
included) or, before a decision, the issue's version and every version sharing its build
identifiers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from repo_server.plugin_api import (
    EVERYTHING,
    Caller,
    Page,
    PageRequest,
    PluginContext,
    UsageEntry,
    iso,
)
from repo_server.plugins.quality import rules
from repo_server.plugins.quality.common import enforce, who
from repo_server.plugins.quality.issues import Issues

#: The columns of the CSV export, in order (the JSON export has the same fields).
COLUMNS = (
    "kind",
    "ref",
    "file",
    "person",
    "at",
    "address",
    "checkout",
    "checkout_state",
    "sha256",
)


def entry_json(entry: UsageEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "ref": entry.ref,
        "file": entry.file,
        "person": entry.person,
        "at": iso(entry.at),
        "address": entry.address,
        "checkout": entry.checkout,
        "checkout_state": entry.checkout_state,
        "sha256": entry.sha256,
    }


class Recall:
    """The recall lists of one server."""

    def __init__(self, context: PluginContext, issues: Issues) -> None:
        self.context = context
        self.issues = issues

    def batch(self, caller: Caller, number: str) -> tuple[str, list[str]]:
        """The issue's number and the versions of its batch, once ``caller`` may read its
        recall list (404 for an issue they cannot see, 403 ``quality.role`` audited)."""
        issue = self.issues.get(caller, number)
        enforce(
            self.context,
            caller,
            rules.may_read_recall(who(caller)),
            "quality.recall.read",
            issue["ref"],
            group=issue["group"],
            issue=issue["number"],
        )
        covered = self.context.quarantined_versions(issue["number"])
        if not covered:
            _, versions = self.issues.batch_of(caller, issue["number"])
            covered = [str(v.ref) for v in versions] or [issue["ref"]]
        return issue["number"], sorted(set(covered) | {issue["ref"]})

    def page(
        self, caller: Caller, number: str, page: PageRequest = EVERYTHING
    ) -> tuple[dict[str, Any], Page[dict[str, Any]]]:
        """The issue's batch and a page of who took it out, oldest first."""
        issue, versions = self.batch(caller, number)
        found = self.context.usage(versions, page).map(entry_json)
        return {"issue": issue, "versions": versions}, found

    def export(self, caller: Caller, number: str, form: str) -> tuple[str, str, Iterator[str]]:
        """The whole list as ``csv`` or ``json``: a file name, a media type and the text
        (streamed). Checked before the first line; spreadsheet formulas are defused."""
        issue, versions = self.batch(caller, number)
        entries = [entry_json(e) for e in self.context.usage(versions).items]
        name = f"recall-{issue}"
        if form == "json":
            body = {"issue": issue, "versions": versions, "entries": entries}
            text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
            return f"{name}.json", "application/json", iter([text])
        return f"{name}.csv", "text/csv", _csv(entries)


def _csv(entries: list[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_safe("" if c is None else str(c)) for c in cells])
        return buffer.getvalue()

    yield line(list(COLUMNS))
    for entry in entries:
        yield line([entry[c] for c in COLUMNS])


def _safe(cell: str) -> str:
    # A cell a spreadsheet would run as a formula is kept as text.
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
