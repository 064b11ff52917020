"""API shapes of end of support, retirement requests and signed decisions (the quality
module's ``/api/v1/quality``): see :mod:`.schemas` for the rest."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from repo_server.plugin_api import Body, DayOrEmpty, Out, Paged

CHANGE = ConfigDict(
    extra="forbid",
    frozen=True,
    validate_by_name=True,
    validate_by_alias=True,
    json_schema_extra={"minProperties": 1},
)


class QualityProductSupport(Out):
    """The end of support of a whole product."""

    group: str
    product: str
    end_of_support: str | None
    past_end_of_support: bool = Field(description="its versions are withdrawn")


class QualityProductSupportChange(Body):
    """The end of support of a whole product; ``null`` or empty clears it."""

    model_config = CHANGE
    keeps_nulls = True

    end_of_support: DayOrEmpty | None = Field(None, description="null or empty: none")


class QualityRetirement(Out):
    """A retirement request prepared for the version manager: the version is past its end
    of support and withdrawn; retiring it (``depot retire``) closes the request."""

    ref: str
    group: str
    product: str
    version: str
    end_of_support: str
    prepared_at: str
    state: Literal["open", "retired"]
    retired_by: str | None
    retired_at: str | None
    reason: str


class QualityRetirementList(Paged):
    """A page of retirement requests, oldest end of support first."""

    retirements: list[QualityRetirement]


class QualityToSign(Out):
    """A decision to sign with the personal key: the DSSE payload type and the payload
    (base64), as the server will check it."""

    payloadType: str
    payload: str


class QualityDecisionDraft(Body):
    """The decision about to be taken, to be signed before it is sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["confirm", "dismiss", "lift"]
    cause: Literal["product", "use", "maintenance"] | None = None
    text: str = Field("", max_length=10_000, description="the comment, or the lift's reason")


Envelope = dict[str, Any]
