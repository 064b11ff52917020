"""Personal signatures beyond approvals: a module's decision signed with a person's own
key (the quality manager's decision on a serious issue). The keys are those of personal
approvals — registered (`depot keys generate`), enrolled, not revoked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from policies.trust.dsse import Envelope, verify
from policies.trust.errors import TrustError
from policies.trust.keys import public_from_text
from repo_server.db import Database
from repo_server.errors import InvalidRequest
from repo_server.trust.keystore import KeyStore
from repo_server.trust.models import PersonKeyRecord


def check_personal(
    db: Database, username: str, payload_type: str, signed: Mapping[str, Any], field: str
) -> tuple[Envelope, bytes]:
    """The envelope ``signed`` (DSSE as JSON) and its payload, when one of ``username``'s
    enrolled, unrevoked keys signed it with ``payload_type``; a 400 naming ``field``
    otherwise (the decision is refused and nothing changes)."""
    with db.read() as session:
        keys = {
            row.keyid: row.public
            for row in session.scalars(
                sa.select(PersonKeyRecord).where(
                    PersonKeyRecord.username == username,
                    PersonKeyRecord.revoked_at.is_(None),
                    PersonKeyRecord.enrolled_version.is_not(None),
                )
            )
        }
    if not keys:
        raise InvalidRequest(
            f"{username} has no enrolled personal key: run `depot keys generate`, then ask "
            "the enrolment officers to enrol it (`depot-server keys enroll`)",
            field=field,
        )
    try:
        envelope = Envelope.from_json(dict(signed))
        publics = {keyid: public_from_text(text) for keyid, text in keys.items()}
        return envelope, verify(envelope, payload_type, publics, 1, f"personal keys of {username}")
    except TrustError as error:
        raise InvalidRequest(f"the signature does not verify: {error}", field=field) from None


def repository_of(keys: KeyStore) -> str:
    """The repository URL the server's documents name (signed payloads must name it)."""
    return keys.current().keyring.repository
