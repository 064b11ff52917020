"""Signed build provenance: in-toto attestations made by securesystemslib verify; a
tampered envelope, an untrusted signer, a subject that is not a stored file (or has other
bytes) and an attestation altered after the manifest recorded it do not."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from policies.trust.documents import Manifest
from policies.trust.dsse import MAX_SIGNATURES, Envelope, Signature
from policies.trust.errors import TrustError
from policies.trust.keys import keyid_of, public_from_text
from policies.trust.provenance import (
    ProvenanceRef,
    check_attestation,
    read_attestation,
    verify_provenance,
)
from tests.fixtures.provenance import new_signer, public_text, sign, statement

APP, LIB = "a" * 64, "b" * 64
FILES = {"bin/app.tar.gz": APP, "lib.so": LIB, "report.pdf": "c" * 64}
CI = new_signer()
OTHER = new_signer()


def envelope(body: dict[str, Any], *signers: Any, payload_type: str | None = None) -> Envelope:
    extra = {} if payload_type is None else {"payload_type": payload_type}
    return Envelope.from_json(sign(body, *(signers or (CI,)), **extra))


def good() -> dict[str, Any]:
    return statement({"bin/app.tar.gz": APP, "lib.so": LIB})


def test_an_attestation_made_by_securesystemslib_verifies() -> None:
    env = envelope(good(), OTHER, CI)
    attestation, ref = check_attestation(env, [public_text(CI)], FILES, "acme/app@1.0")
    assert attestation.subjects == {"bin/app.tar.gz": APP, "lib.so": LIB}
    assert attestation.builder_id == "https://gitlab.bank.example/runners/17"
    assert attestation.build_type == "https://gitlab.bank.example/ci/v1"
    assert attestation.invocation_id == "https://gitlab.bank.example/payments/core/-/jobs/4711"
    assert attestation.to_json()["payload_sha256"] == env.payload_sha256()
    assert ref == ProvenanceRef(
        env.payload_sha256(), keyid_of(public_from_text(public_text(CI))), public_text(CI)
    )
    # Offline, from what the manifest recorded.
    assert verify_provenance([ref], [envelope(good(), CI), env], FILES, "acme/app@1.0") == (
        attestation,
    )
    # Our own key id as the hint is tried first.
    alone = envelope(good(), CI)
    hinted = Envelope(alone.payload_type, alone.payload,
                      tuple(Signature(ref.keyid, s.sig) for s in alone.signatures))  # fmt: skip
    assert check_attestation(hinted, [public_text(OTHER), public_text(CI)], FILES, "x")[1] == ref


def test_without_invocation_id() -> None:
    body = statement({"lib.so": LIB}, invocation_id=None)
    attestation = read_attestation(envelope(body))
    assert attestation.invocation_id is None


def test_tampered_envelope_and_untrusted_signer_are_refused() -> None:
    env = envelope(good())
    body = good()
    body["subject"][0]["digest"]["sha256"] = LIB
    tampered = Envelope(env.payload_type, json.dumps(body).encode(), env.signatures)
    for forged, keys in ((tampered, [public_text(CI)]), (env, [public_text(OTHER)]), (env, [])):
        with pytest.raises(TrustError) as error:
            check_attestation(forged, keys, FILES, "x")
        assert error.value.check == "provenance_signature"
    many = Envelope(env.payload_type, env.payload, env.signatures * (MAX_SIGNATURES + 1))
    with pytest.raises(TrustError, match="more than 16 signatures"):
        check_attestation(many, [public_text(CI)], FILES, "x")


def test_subjects_must_be_the_stored_files() -> None:
    missing = statement({"bin/app.tar.gz": APP, "other.bin": LIB})
    with pytest.raises(TrustError, match=r"names 'other\.bin', which acme/app@1\.0 does not hold"):
        check_attestation(envelope(missing), [public_text(CI)], FILES, "acme/app@1.0")
    wrong = statement({"bin/app.tar.gz": LIB})
    with pytest.raises(TrustError) as error:
        check_attestation(envelope(wrong), [public_text(CI)], FILES, "acme/app@1.0")
    assert error.value.check == "provenance_subject"
    assert f"gives 'bin/app.tar.gz' the sha256 {LIB}, but acme/app@1.0 holds {APP}" in str(
        error.value
    )


def _with(change: Any) -> dict[str, Any]:
    body = good()
    change(body)
    return body


@pytest.mark.parametrize(
    ("body", "payload_type", "message"),
    [
        (good(), "application/json", "payload type must be application/vnd.in-toto.json"),
        (_with(lambda b: b.update(_type="https://in-toto.io/Statement/v0.1")), None, "_type"),
        (_with(lambda b: b.update(predicateType="https://slsa.dev/provenance/v0.2")), None,
         "predicateType"),
        (_with(lambda b: b.update(subject=[])), None, "1 to 10000 subjects"),
        (_with(lambda b: b.update(subject="x")), None, "1 to 10000 subjects"),
        (_with(lambda b: b["subject"].append("x")), None, "subject 3 must be a JSON object"),
        (_with(lambda b: b["subject"][0].pop("name")), None, "subject 1 needs 'name'"),
        (_with(lambda b: b["subject"][0].update(name="../etc/passwd")), None, "subject 1:"),
        (_with(lambda b: b["subject"][0].update(digest={"sha512": "00"})), None,
         "no sha256 digest"),
        (_with(lambda b: b["subject"][0].update(digest=[])), None, "digest of subject 1"),
        (_with(lambda b: b["subject"].append(b["subject"][0])), None, "twice"),
        (_with(lambda b: b.pop("predicate")), None, "the SLSA predicate must be"),
        (_with(lambda b: b["predicate"]["buildDefinition"].pop("buildType")), None,
         "buildType"),
        (_with(lambda b: b["predicate"]["runDetails"]["builder"].update(id="")), None,
         "'id'"),
        (_with(lambda b: b["predicate"]["runDetails"].update(metadata=1)), None,
         "metadata must be a JSON object"),
        (_with(lambda b: b["predicate"]["runDetails"]["metadata"].update(invocationId=5)),
         None, "invocationId"),
    ],
)  # fmt: skip
def test_malformed_statements_are_refused(
    body: dict[str, Any], payload_type: str | None, message: str
) -> None:
    with pytest.raises(TrustError, match=message) as error:
        read_attestation(envelope(body, payload_type=payload_type))
    assert error.value.check == "provenance"


def test_payloads_that_are_not_json_objects() -> None:
    for payload, message in ((b"[1]", "must be a JSON object"), (b"{", "not valid JSON"),
                             (b'{"a": 1.5}', "not valid JSON")):  # fmt: skip
        with pytest.raises(TrustError, match=message):
            read_attestation(Envelope("application/vnd.in-toto+json", payload, ()))


def test_an_attestation_altered_or_removed_after_the_check_in_is_refused() -> None:
    env = envelope(good())
    _, ref = check_attestation(env, [public_text(CI)], FILES, "x")
    with pytest.raises(TrustError) as error:
        verify_provenance([ref], [], FILES, "acme/app@1.0")
    assert error.value.check == "provenance_missing"
    # Re-signed by another key with the same payload: the manifest's key is what counts.
    resigned = envelope(good(), OTHER)
    assert resigned.payload == env.payload
    with pytest.raises(TrustError) as error:
        verify_provenance([ref], [resigned], FILES, "x")
    assert error.value.check == "provenance_signature"
    # The manifest's files are the ones subjects are checked against.
    with pytest.raises(TrustError) as error:
        verify_provenance([ref], [env], {"lib.so": LIB}, "x")
    assert error.value.check == "provenance_subject"


def manifest_json(provenance: Any) -> dict[str, Any]:
    return {
        "_type": "depot.manifest", "spec_version": "1", "repository": "https://r",
        "group": "acme", "product": "app", "version": "1.0", "library_number": 1,
        "category": "", "origin": "in_house",
        "files": [{"name": "lib.so", "role": "artifact", "size": 1, "sha256": LIB,
                   "uploaded_by": "ci", "build": None}],
        "statements": [], "requested_by": "sam", "checked_in_at": "2026-11-27T10:00:00Z",
        "require_personal_checkin": False, "provenance": provenance,
    }  # fmt: skip


def test_the_manifest_records_provenance_only_when_there_is_some() -> None:
    _, ref = check_attestation(envelope(good()), [public_text(CI)], FILES, "x")
    manifest = Manifest._read(manifest_json([ref.to_json()]))
    assert manifest.provenance == (ref,)
    assert Manifest.from_payload(manifest.to_payload()) == manifest
    plain = Manifest._read({k: v for k, v in manifest_json(None).items() if k != "provenance"})
    assert plain.provenance == () and b"provenance" not in plain.to_payload()
    for bad, message in (
        ([], "non-empty list"),
        ([ref.to_json(), ref.to_json()], "one attestation twice"),
        ([{**ref.to_json(), "public": "rsa:x"}], "an ed25519: public key"),
        ([{**ref.to_json(), "keyid": "0" * 64}], "the key id of its public key"),
    ):
        with pytest.raises(TrustError, match=message):
            Manifest._read(manifest_json(bad))


def test_bundles_carry_the_attestations() -> None:
    from policies.trust.bundle import Bundle

    env = envelope(good())
    empty = Envelope("t", b"{}", ())
    bundle = Bundle((empty,), empty, (), None, empty, b"note", {}, (), None, (env,))
    data = bundle.to_json()
    assert data["provenance"] == [env.to_json()]
    data["inclusion"] = {"index": 0, "size": 1, "proof": [],
                         "record": base64.b64encode(b"r").decode()}  # fmt: skip
    assert Bundle.from_json(data).provenance == (env,)
    del data["provenance"]
    assert Bundle.from_json(data).provenance == ()
