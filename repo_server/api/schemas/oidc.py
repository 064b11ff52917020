"""OIDC federation for CI on the wire (``/oidc/exchange``, ``/groups/<group>/oidc-trusts``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from repo_server.api.paging import Paged
from repo_server.api.schemas.common import Body, Moment, Out


class OidcExchange(Body):
    """A pipeline's OIDC ID token, to be exchanged for a Depot upload token."""

    token: Annotated[str, Field(min_length=1, max_length=16384)]


class NewOidcTrust(Body):
    """A group trusts pipelines of ``issuer`` whose ID tokens are for ``audience`` and have
    these claims (``*`` globs allowed in the values), e.g. GitLab's
    ``{"project_path": "payments/core", "ref": "refs/heads/main"}``."""

    issuer: Annotated[str, Field(min_length=8, max_length=500, pattern=r"^https?://[^\s]+$")]
    audience: Annotated[str, Field(min_length=1, max_length=200)]
    claims: Annotated[
        dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=500)]],
        Field(min_length=1, max_length=20),
    ]


class OidcTrust(Out):
    """A group's OIDC trust."""

    id: int
    group: str
    issuer: str
    audience: str
    claims: dict[str, str]
    created_by: str
    created_at: Moment


class OidcTrustList(Paged):
    """A page of the OIDC trusts of a group, oldest first."""

    trusts: list[OidcTrust]
