"""Signed build provenance on the client: reading an attestation file, checking it
against the files being pushed, attaching it, making one from a CI job's variables, and
verifying the attestations a signed manifest names (``depot pull``, ``depot verify``).

The rules are :mod:`policies.trust.provenance`; this module only moves files and answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from client.api import Api, seg, version_path
from client.errors import ClientError, Exit, InputError
from client.refs import Ref
from policies.trust.canonical import canonical_bytes
from policies.trust.documents import Manifest
from policies.trust.dsse import Envelope
from policies.trust.errors import TrustError
from policies.trust.provenance import (
    SLSA_PROVENANCE_V1,
    STATEMENT_V1,
    Attestation,
    check_attestation,
    verify_provenance,
)

#: An attestation file larger than this is not read.
MAX_FILE = 8 << 20


def load(path: Path) -> tuple[dict[str, Any], Envelope]:
    """The DSSE envelope in ``path`` (its JSON and parsed form); ``InputError`` if it is
    not one."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise InputError(f"{path} is larger than {MAX_FILE} bytes: not an attestation")
        data = json.loads(path.read_bytes())
        return data, Envelope.from_json(data)
    except OSError as error:
        raise InputError(f"cannot read the attestation {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, TrustError) as error:
        raise InputError(f"{path} is not a DSSE envelope: {error}") from None


def check_before_push(
    envelope: Envelope, keys: Sequence[str], files: Mapping[str, str], ref: str
) -> Attestation:
    """Refuse, before anything is sent, an attestation not signed by one of ``keys`` (the
    group's provenance keys) or whose subjects are not these files (name → sha256: the
    pushed ones and those already stored) with their digests. The server checks again."""
    if not keys:
        raise ClientError(
            f"the group of {ref} trusts no provenance key, so the attestation would be "
            "refused; nothing was sent",
            Exit.INTEGRITY,
            "provenance.no_key",
            "its software manager adds the pipeline's key: `depot provenance key add`",
        )
    try:
        attestation, _ = check_attestation(envelope, keys, files, ref)
    except TrustError as error:
        raise ClientError(
            f"the attestation is refused: {error}; nothing was sent",
            Exit.INTEGRITY,
            f"{error.check}",
        ) from None
    return attestation


def provenance_option(command: Any) -> Any:
    """``depot push --provenance FILE``."""
    return click.option(
        "--provenance",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A signed in-toto attestation (SLSA provenance, DSSE envelope) of these files, "
        "attached once they are stored: without one the build fields are stated, not proven.",
    )(command)


class Pending:
    """An attestation given to ``depot push --provenance``, checked against the files."""

    def __init__(self, api: Api, target: Ref, path: Path, files: Mapping[str, str]) -> None:
        self.data, envelope = load(path)
        keys = api.get(f"/api/v1/groups/{seg(target.group)}/provenance-keys")["keys"]
        self.attestation = check_before_push(
            envelope, [k["public"] for k in keys], files, str(target)
        )

    @classmethod
    def given(
        cls,
        api: Api,
        target: Ref,
        path: Path | None,
        stored: Mapping[str, Mapping[str, Any]],
        names: Sequence[str],
        digests: Sequence[str],
    ) -> Pending | None:
        """The attestation of ``--provenance`` (``None`` without one), checked against the
        files already ``stored`` and those pushed (``names`` with their ``digests``)."""
        if path is None:
            return None
        known = {name: str(f["sha256"]) for name, f in stored.items()}
        known.update(zip(names, digests, strict=True))
        return cls(api, target, path, known)

    def attach(self, api: Api, target: Ref) -> dict[str, Any]:
        """Attach it once the files are stored."""
        return attach(api, target, self.data)


def attach(api: Api, target: Ref, envelope: Mapping[str, Any]) -> dict[str, Any]:
    """Attach the attestation to ``target``; the server checks it again (signature too)."""
    answer: dict[str, Any] = api.json(
        "POST", version_path(target) + "/provenance", {"envelope": dict(envelope)}
    )
    return answer


def verify_signed(
    api: Api, target: Ref, manifest: Manifest
) -> tuple[tuple[Envelope, ...], tuple[Attestation, ...]]:
    """The attestations the signed manifest of ``target`` names, fetched and verified
    (``ClientError`` exit 6 when one is missing or altered)."""
    if not manifest.provenance:
        return (), ()
    served = api.get(version_path(target) + "/provenance")["attestations"]
    try:
        envelopes = tuple(Envelope.from_json(a["envelope"]) for a in served)
        verified = verify_provenance(
            manifest.provenance, envelopes, {f.name: f.sha256 for f in manifest.files},
            manifest.ref,
        )  # fmt: skip
    except TrustError as error:
        raise ClientError(
            f"the build provenance of {target} does not verify: {error}",
            Exit.INTEGRITY,
            f"trust.{error.check}",
        ) from None
    wanted = {entry.sha256 for entry in manifest.provenance}
    return tuple(e for e in envelopes if e.payload_sha256() in wanted), verified


# -- making an attestation in a CI job ---------------------------------------------------


def _ci(env: Mapping[str, str]) -> dict[str, str]:
    """What the CI system that runs this job says of it (GitLab, Jenkins, GitHub Actions)."""
    if env.get("GITLAB_CI") == "true":
        server = env.get("CI_SERVER_URL", "")
        return {
            "system": "gitlab",
            "builder_id": f"{server}/runners/{env.get('CI_RUNNER_ID', 'unknown')}",
            "invocation_id": env.get("CI_JOB_URL", ""),
            "repository": env.get("CI_PROJECT_URL", ""),
            "ref": env.get("CI_COMMIT_REF_NAME", ""),
            "commit": env.get("CI_COMMIT_SHA", ""),
            "pipeline": env.get("CI_PIPELINE_ID", ""),
        }
    if env.get("GITHUB_ACTIONS") == "true":
        base = f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}"
        run = env.get("GITHUB_RUN_ID", "")
        return {
            "system": "github",
            "builder_id": f"{base}/actions/runner/{env.get('RUNNER_NAME', 'unknown')}",
            "invocation_id": f"{base}/actions/runs/{run}/attempts/"
            + env.get("GITHUB_RUN_ATTEMPT", "1"),
            "repository": base,
            "ref": env.get("GITHUB_REF", ""),
            "commit": env.get("GITHUB_SHA", ""),
            "pipeline": run,
        }
    if env.get("JENKINS_URL"):
        return {
            "system": "jenkins",
            "builder_id": f"{env['JENKINS_URL'].rstrip('/')}/computer/"
            + env.get("NODE_NAME", "built-in"),
            "invocation_id": env.get("BUILD_URL", ""),
            "repository": env.get("GIT_URL", ""),
            "ref": env.get("GIT_BRANCH", ""),
            "commit": env.get("GIT_COMMIT", ""),
            "pipeline": env.get("BUILD_NUMBER", ""),
        }
    return {"system": "", "builder_id": "", "invocation_id": "", "repository": "", "ref": "",
            "commit": "", "pipeline": ""}  # fmt: skip


def make_statement(
    subjects: Sequence[tuple[str, str]],
    *,
    builder_id: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An in-toto statement v1 with a SLSA provenance v1 predicate for ``subjects``
    (name, sha256), described from the CI job's variables (``builder_id`` overrides the
    builder the variables name; outside a known CI system it must be given)."""
    ci = _ci(os.environ if env is None else env)
    builder = builder_id or ci["builder_id"]
    if not builder:
        raise InputError(
            "no CI system recognised (GitLab, Jenkins, GitHub Actions): pass --builder-id"
        )
    dependencies = (
        [{"uri": f"git+{ci['repository']}", "digest": {"gitCommit": ci["commit"]}}]
        if ci["repository"] and ci["commit"]
        else []
    )
    metadata = {"invocationId": ci["invocation_id"]} if ci["invocation_id"] else {}
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": digest}} for name, digest in subjects],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": f"urn:depot:ci:{ci['system'] or 'generic'}:v1",
                "externalParameters": {
                    k: ci[k] for k in ("repository", "ref", "pipeline") if ci[k]
                },
                "resolvedDependencies": dependencies,
            },
            "runDetails": {"builder": {"id": builder}, "metadata": metadata},
        },
    }


def statement_bytes(statement: Mapping[str, Any]) -> bytes:
    """The payload bytes (canonical JSON; ``InputError`` for a value that cannot be signed)."""
    try:
        return canonical_bytes(statement)
    except TrustError as error:
        raise InputError(f"the attestation cannot be written: {error}") from None
