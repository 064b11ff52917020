"""Registering a new product with the `depot` command: a request the version manager
approves with `depot approve`, the first version created then (issue 12 §1)."""

from __future__ import annotations

from tests.client.conftest import Live
from tests.client.test_lifecycle_cli import js, ok, run


def test_a_new_product_waits_for_the_version_manager(lib: Live) -> None:
    filed = ok(lib, "alice", "product", "create", "team/ledger@2.0.0", "--category", "system",
               "--origin", "in_house")  # fmt: skip
    assert "filed registration request #" in filed and "team/ledger@2.0.0" in filed
    assert "waits for a version manager's approval" in filed
    number = filed.split("#", 1)[1].split()[0]
    early = run(lib, "bob", "push", "team/ledger@2.0.0", __file__, "--create")
    assert early.exit_code == 7, early.output
    assert "product.registration" in early.output
    shown = ok(lib, "victor", "request", number)
    assert "registration of team/ledger@2.0.0" in shown
    own = run(lib, "alice", "approve", number, "--comment", "mine")
    assert own.exit_code == 7 and "role.version_manager" in own.output
    ok(lib, "victor", "approve", number, "--comment", "registered")
    version = js(lib, "bob", "ls", "team/ledger@2.0.0")
    assert version["state"] == "draft"
    pushed = run(lib, "bob", "push", "team/ledger@2.0.0", __file__)
    assert pushed.exit_code == 0, pushed.output


def test_a_version_manager_waives_the_review_for_a_group(lib: Live) -> None:
    refused = run(lib, "alice", "group", "update", "team", "--waive-product-review")
    assert refused.exit_code == 7 and "groups.version_manager" in refused.output
    said = ok(lib, "victor", "group", "update", "team", "--waive-product-review")
    assert "new products: registered without review" in said
    done = ok(lib, "alice", "product", "create", "team/tools", "--category", "application",
              "--origin", "in_house")  # fmt: skip
    assert done.strip() == "registered team/tools (application, in_house)"
