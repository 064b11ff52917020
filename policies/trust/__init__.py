"""The trust rules both sides share: canonical JSON, DSSE envelopes over Ed25519, the
keyring and its rotation, the enrolment of personal keys, RFC 6962 Merkle proofs, the
signed documents, and what a client verifies before it trusts a checked-in version's
bytes. No I/O, no clock.

The server signs with these formats (``repo_server``), the client verifies with them
(``client``); docs/trust.md describes the formats and the order of the checks.
"""

from policies.trust.canonical import canonical_bytes, parse_canonical, parse_utc, utc_text
from policies.trust.documents import (
    Checkpoint,
    FileEntry,
    Manifest,
    Statement,
    Status,
    Subject,
    leaf_record,
)
from policies.trust.dsse import Envelope, Signature, sign, verify
from policies.trust.enrollment import EnrolledKey, Enrollment, PersonalRule, verify_enrollment
from policies.trust.errors import TrustError
from policies.trust.keyring import (
    Keyring,
    Role,
    root_fingerprint,
    trust_first_keyring,
    update_keyring,
    walk_keyrings,
)
from policies.trust.keys import keyid_of, public_from_text, public_text
from policies.trust.verify import (
    Bundle,
    VerifiedRelease,
    check_download,
    check_log_growth,
    checkin_expectation,
    require_usable,
    verify_bundle,
    verify_checkpoint,
    verify_inclusion_of,
    verify_manifest,
    verify_statements,
    verify_status,
)

__all__ = [
    "Bundle",
    "Checkpoint",
    "EnrolledKey",
    "Enrollment",
    "Envelope",
    "FileEntry",
    "Keyring",
    "Manifest",
    "PersonalRule",
    "Role",
    "Signature",
    "Statement",
    "Status",
    "Subject",
    "TrustError",
    "VerifiedRelease",
    "canonical_bytes",
    "check_download",
    "check_log_growth",
    "checkin_expectation",
    "keyid_of",
    "leaf_record",
    "parse_canonical",
    "parse_utc",
    "public_from_text",
    "public_text",
    "require_usable",
    "root_fingerprint",
    "sign",
    "trust_first_keyring",
    "update_keyring",
    "utc_text",
    "verify",
    "verify_bundle",
    "verify_checkpoint",
    "verify_enrollment",
    "verify_inclusion_of",
    "verify_manifest",
    "verify_statements",
    "verify_status",
    "walk_keyrings",
]
