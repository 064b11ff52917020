"""Approval statements: signed by the right key, about this version, chained, four eyes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policies.trust.approvals import verify_statements
from policies.trust.documents import Manifest, Statement, Subject
from policies.trust.dsse import MANIFEST, STATEMENT, Envelope, sign
from policies.trust.enrollment import PersonalRule
from policies.trust.errors import TrustError
from policies.trust.keyring import Keyring
from tests.policies.trust.factory import World, key

W = World()


def refused(check: str, match: str, fn, *args) -> TrustError:  # type: ignore[no-untyped-def]
    with pytest.raises(TrustError, match=match) as info:
        fn(*args)
    assert info.value.check == check, info.value
    return info.value


def accept(**changes: Any) -> Statement:
    return replace(W.statement("accept", "olga", "acceptance_officer"), **changes)


def checkin(**changes: Any) -> Statement:
    return replace(W.statement("checkin.approve", "vic", "version_manager"), **changes)


def build(
    *steps: tuple[Statement, list[Ed25519PrivateKey]], **manifest_changes: Any
) -> tuple[Manifest, list[Envelope]]:
    """Sign ``steps`` as a chain (``prev`` filled in) and a manifest naming them."""
    envs: list[Envelope] = []
    prev = None
    for statement, signers in steps:
        env = sign(STATEMENT, replace(statement, prev=prev).to_payload(), signers)
        envs.append(env)
        prev = env.payload_sha256()
    manifest = replace(
        W.manifest,
        statements=tuple(e.payload_sha256() for e in envs),
        **manifest_changes,
    )
    return manifest, envs


def check(manifest: Manifest, envs: list[Envelope], keys: Any = None) -> list[Statement]:
    enrollment = W.enrollment if keys is None else keys
    return verify_statements(W.keyring, manifest, envs, enrollment, W.index)


PERSONAL = checkin(attestation="personal")


def test_the_approvals_of_the_world_verify() -> None:
    statements = verify_statements(W.keyring, W.manifest, W.statements, W.enrollment, W.index)
    assert [(s.action, s.actor, s.attestation) for s in statements] == [
        ("accept", "olga", "server"),
        ("checkin.approve", "vic", "personal"),
    ]


def test_server_attested_check_in_when_the_group_allows_it() -> None:
    manifest, envs = build(
        (accept(), [W.release]), (checkin(), [W.release]), require_personal_checkin=False
    )
    no_rule = replace(W.enrollment, personal=())
    assert len(check(manifest, envs, no_rule)) == 2
    # The rule of the offline enrolment document holds whatever the (server-signed)
    # manifest says: a server that drops the flag from a manifest gains nothing.
    refused("signature", "needs a check-in approval signed with the approver's personal key",
            check, manifest, envs)  # fmt: skip
    # The rule holds from its log index on: a check-in logged before it keeps its standing.
    later = replace(W.enrollment, personal=(PersonalRule("acme", W.SEAL),))
    refused("signature", "needs a check-in approval", check, manifest, envs, later)
    early = verify_statements(W.keyring, manifest, envs, later, W.SEAL - 1)
    assert early[-1].attestation == "server"
    other_group = replace(W.enrollment, personal=(PersonalRule("other", 0),))
    assert len(check(manifest, envs, other_group)) == 2
    manifest, envs = build((accept(), [W.release]), (checkin(), [W.release]))
    refused("signature", "needs a check-in approval signed with the approver's personal key",
            check, manifest, envs)  # fmt: skip


def test_a_rejection_then_an_acceptance() -> None:
    manifest, envs = build(
        (W.statement("reject", "olga", "acceptance_officer"), [W.release]),
        (accept(), [W.release]),
        (PERSONAL, [W.vic_key]),
    )
    assert [s.action for s in check(manifest, envs)] == ["reject", "accept", "checkin.approve"]


def test_the_list_must_be_exactly_the_manifests() -> None:
    manifest, envs = build((accept(), [W.release]), (PERSONAL, [W.vic_key]))
    refused("statements", "names 2 approval statements, 1 were given", check, manifest, envs[:1])
    refused("statements", "names 2 approval statements, 3 were given", check, manifest,
            [*envs, envs[0]])  # fmt: skip
    refused("statements", "approval statement 1 of acme/app@1.2.0 has sha256", check, manifest,
            envs[::-1])  # fmt: skip


def test_signatures() -> None:
    unsigned = build((accept(), []), (PERSONAL, [W.vic_key]))
    refused("signature", "statement 1 of acme/app@1.2.0 is signed neither", check, *unsigned)
    stranger = build((accept(), [key(77)]), (PERSONAL, [W.vic_key]))
    refused("signature", "signed neither", check, *stranger)
    server_claim = build((accept(), [W.olga_key]), (PERSONAL, [W.vic_key]))
    refused("signature", "claims the server's attestation but the release key did not sign",
            check, *server_claim)  # fmt: skip
    by_olga = build((accept(), [W.release]), (PERSONAL, [W.olga_key]))
    refused("signature", "not signed with an enrolled key of vic \\(signed by the key of olga\\)",
            check, *by_olga)  # fmt: skip
    by_release = build((accept(), [W.release]), (PERSONAL, [W.release]))
    refused("signature", "signed by the key of nobody", check, *by_release)
    no_certificate = build((accept(), [W.release]), (PERSONAL, [W.vic_key]))
    refused("signature", "signed neither", check, *no_certificate, W.enrolled(drop="vic"))


def test_payload_type_and_chain() -> None:
    manifest, envs = build((accept(), [W.release]), (PERSONAL, [W.vic_key]))
    as_manifest = sign(MANIFEST, envs[0].payload, [W.release])
    refused("payload_type", "has type application/vnd.depot.manifest.v1\\+json, expected",
            check, manifest, [as_manifest, envs[1]])  # fmt: skip
    first = sign(STATEMENT, accept().to_payload(), [W.release])
    unchained = sign(STATEMENT, PERSONAL.to_payload(), [W.vic_key])
    manifest = replace(W.manifest, statements=(first.payload_sha256(), unchained.payload_sha256()))
    refused("chain", "approval statement 2 \\(checkin.approve by vic\\) does not follow",
            check, manifest, [first, unchained])  # fmt: skip
    dangling = sign(STATEMENT, accept(prev="0" * 64).to_payload(), [W.release])
    manifest = replace(W.manifest, statements=(dangling.payload_sha256(),))
    refused("chain", "statement 1", check, manifest, [dangling])


OTHER_SUBJECT = Subject("acme", "app", "1.1.0", dict(W.subject.files))


@pytest.mark.parametrize(
    ("statement", "match"),
    [
        (accept(subject=OTHER_SUBJECT), "is about acme/app@1.1.0 of .*, not acme/app@1.2.0"),
        (accept(repository="https://other.example"), "of https://other.example, not"),
        (
            accept(subject=replace(W.subject, files={"app-1.2.0.whl": W.files[1].sha256})),
            "approves other files than acme/app@1.2.0 holds: lacks app-1.2.0.tar.gz, "
            "test-report.pdf",
        ),
        (
            accept(subject=replace(W.subject, files={**W.subject.files, "x.bin": "0" * 64})),
            "adds x.bin",
        ),
        (
            accept(
                subject=replace(W.subject, files={**W.subject.files, "app-1.2.0.whl": "0" * 64})
            ),
            "has other bytes for app-1.2.0.whl",
        ),
        (accept(subject=replace(W.subject, manifest_sha256="1" * 64)), "names a manifest"),
    ],
)
def test_subject_must_be_this_version_and_its_files(statement: Statement, match: str) -> None:
    manifest, envs = build((statement, [W.release]), (PERSONAL, [W.vic_key]))
    refused("subject", match, check, manifest, envs)


def test_action_and_role_agree() -> None:
    manifest, envs = build((accept(role="version_manager"), [W.release]), (PERSONAL, [W.vic_key]))
    refused(
        "role",
        "was made as a version manager; only an acceptance officer makes it",
        check,
        manifest,
        envs,
    )
    wrong = checkin(attestation="personal", role="acceptance_officer")
    manifest, envs = build((accept(), [W.release]), (wrong, [W.vic_key]))
    refused("role", "only a version manager makes it", check, manifest, envs)


def test_sequence() -> None:
    refused(
        "statements", "do not end in a check-in approval", check, *build((accept(), [W.release]))
    )
    refused("statements", "do not end in a check-in approval", check, *build())
    only_checkin = build((PERSONAL, [W.vic_key]))
    refused("statements", "checked in without an acceptance", check, *only_checkin)
    rejected = build(
        (accept(), [W.release]),
        (W.statement("reject", "olga", "acceptance_officer"), [W.release]),
        (PERSONAL, [W.vic_key]),
    )
    refused("statements", "checked in without an acceptance", check, *rejected)
    early = build(
        (accept(), [W.release]),
        (W.statement("checkout.approve", "vic", "version_manager"), [W.release]),
        (PERSONAL, [W.vic_key]),
    )
    refused("statements", "checkout.approve by vic\\) comes before the check-in", check, *early)
    twice = build((accept(), [W.release]), (PERSONAL, [W.vic_key]), (PERSONAL, [W.vic_key]))
    refused("statements", "checkin.approve by vic\\) comes before", check, *twice)
    other_request = build((accept(), [W.release]), (checkin(attestation="personal",
                          requested_by="mia"), [W.vic_key]))  # fmt: skip
    refused("statements", "answers a request by mia, the manifest says sam", check, *other_request)


def test_four_eyes() -> None:
    dev_key = key(40)
    keys = W.enrolled(("dev", dev_key))
    uploader_accepts = build((accept(actor="dev"), [W.release]), (PERSONAL, [W.vic_key]))
    refused("four_eyes", "dev uploaded files to acme/app@1.2.0 and also accepted it",
            check, *uploader_accepts)  # fmt: skip
    uploader_checks_in = build(
        (accept(), [W.release]), (checkin(actor="dev", attestation="personal"), [dev_key])
    )
    refused("four_eyes", "dev uploaded files to acme/app@1.2.0 and also checked it in",
            check, *uploader_checks_in, keys)  # fmt: skip
    same_person = build((accept(actor="vic"), [W.release]), (PERSONAL, [W.vic_key]))
    refused("four_eyes", "vic accepted acme/app@1.2.0 and also approved its check-in",
            check, *same_person)  # fmt: skip
    requester_accepts = build((accept(requested_by="olga"), [W.release]), (PERSONAL, [W.vic_key]))
    refused("four_eyes", "olga filed the request and also decided it \\(accept\\)",
            check, *requester_accepts)  # fmt: skip
    requester_approves = build(
        (accept(), [W.release]),
        (checkin(attestation="personal", requested_by="vic"), [W.vic_key]),
        requested_by="vic",
    )
    refused("four_eyes", "vic filed the request and also decided it \\(checkin.approve\\)",
            check, *requester_approves)  # fmt: skip


def test_reports_by_the_acceptor_do_not_count_as_uploads() -> None:
    assert any(f.role == "report" and f.uploaded_by == "olga" for f in W.manifest.files)
    assert check(*build((accept(), [W.release]), (PERSONAL, [W.vic_key])))


def test_keyring_is_the_one_given() -> None:
    other = World(release=key(50))
    keyring: Keyring = other.keyring
    refused("signature", "signed neither by the release key", verify_statements, keyring,
            W.manifest, W.statements, W.enrollment, W.index)  # fmt: skip
