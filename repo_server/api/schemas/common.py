"""What every API shape shares: the error body, times, names and the bases of bodies,
queries and answers.

Imported by each ``repo_server/api/schemas/<domain>.py`` (and, through the plugin API, by
the plugins' schemas); :mod:`repo_server.api.document` puts :class:`ErrorBody` in every
operation's error responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from policies.names import (
    GROUP_NAME,
    PRODUCT_NAME,
    SAFE_TEXT_PATTERN,
    USER_NAME,
    check_one_line_name,
)
from repo_server.clock import iso
from repo_server.ids import MAX_BIG_INTEGER


def _iso(moment: datetime) -> str:
    return iso(moment) or ""


#: A moment on the wire: RFC 3339 UTC to the second with a ``Z`` (as :func:`clock.iso`).
Moment = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _iso_day(text: str) -> str:
    if text:
        date.fromisoformat(text)  # a ValueError is pydantic's 400
        if len(text) != 10:
            raise ValueError("a date is written YYYY-MM-DD")
    return text


#: A day as ``YYYY-MM-DD`` text (kept as text for the services that take it so).
Day = Annotated[
    str,
    AfterValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD"}),
]
#: The same, or empty (which a route says how it reads).
DayOrEmpty = Annotated[
    str,
    AfterValidator(_iso_day),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]}),
]

GroupName = Annotated[str, Field(min_length=1, max_length=63, pattern=GROUP_NAME.pattern)]
UserName = Annotated[str, Field(min_length=1, max_length=64, pattern=USER_NAME.pattern)]
ProductName = Annotated[str, Field(min_length=1, max_length=100, pattern=PRODUCT_NAME.pattern)]

#: A name people read on one line (a display name, a vendor, a token's name): no control
#: or bidi character (a 400 naming the field; the document states it as a pattern).
_ONE_LINE = AfterValidator(check_one_line_name)
_SAFE_TEXT: dict[str, Any] = {"pattern": SAFE_TEXT_PATTERN}
Label = Annotated[str, Field(max_length=200, json_schema_extra=_SAFE_TEXT), _ONE_LINE]
TokenName = Annotated[str, Field(max_length=100, json_schema_extra=_SAFE_TEXT), _ONE_LINE]
Text = Annotated[str, Field(max_length=100_000)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


@dataclass(frozen=True)
class OneOf:
    """``Annotated[str, OneOf(rules.STATUSES)]``: one of the values a rule module lists
    (an ``enum`` in the document), for choices kept in a tuple rather than a ``Literal``."""

    values: tuple[str, ...]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.literal_schema(list(self.values))


#: What the document offers for a field a body does not declare: the server ignores it,
#: but reads the whole body first, and refuses anywhere in it an integer beyond ±(2^63-1)
#: and text with NUL (docs/security.md, "Hostile input"). Plain values within those
#: bounds, then (the server takes more: arrays and objects of them, up to 32 levels).
IGNORED_FIELD: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": "^[^\\x00]*$"},
        {"type": "number", "minimum": -MAX_BIG_INTEGER, "maximum": MAX_BIG_INTEGER},
        {"type": "boolean"},
        {"type": "null"},
    ]
}


class Body(BaseModel):
    """A JSON request body. Unknown fields are ignored; ``null`` means "not sent" unless
    the model sets ``keeps_nulls`` (where ``null`` means "clear it")."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )
    keeps_nulls: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict) and not cls.keeps_nulls:
            return {key: value for key, value in data.items() if value is not None}
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The document does not offer ``null`` where it only means "not sent", and offers
        only plain values for the fields it ignores (:data:`IGNORED_FIELD`)."""
        found = handler(core)
        schema = handler.resolve_ref_schema(found)
        schema.setdefault("additionalProperties", IGNORED_FIELD)
        if cls.keeps_nulls:
            return found
        for prop in schema.get("properties", {}).values():
            options = prop.get("anyOf", [])
            rest = [o for o in options if o != {"type": "null"}]
            if len(rest) == 1 and len(options) == 2:
                del prop["anyOf"]
                prop.update(rest[0])
                if prop.get("default", "") is None:
                    del prop["default"]
        return found

    def sent(self) -> dict[str, Any]:
        """The fields the caller sent, by their names on the wire (for a service that
        takes the body as a mapping)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class Query(BaseModel):
    """A query string (values arrive as text and are read as the field's type)."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )


class Out(BaseModel):
    """An answer; built from a service's frozen dataclass by its attribute names."""

    model_config = ConfigDict(
        from_attributes=True,
        frozen=True,
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
    )


class ReadinessCheck(Out):
    """One part of the server and whether it is usable."""

    name: str
    ok: bool
    #: What is wrong, or what was found.
    detail: str


class ErrorBody(Out):
    """Every refusal: a stable ``error`` code and a sentence; ``field`` names the bad input,
    ``rule`` the rule that refused; a server that is not ready lists its ``checks``."""

    error: str
    message: str
    field: str | None = None
    rule: str | None = None
    checks: list[ReadinessCheck] | None = None


#: The path parameters of the core's routes, checked by the handlers as these say.
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "group": {"type": "string", "maxLength": 63, "pattern": GROUP_NAME.pattern},
    "product": {"type": "string", "maxLength": 100, "pattern": PRODUCT_NAME.pattern},
    "version": {"type": "string", "minLength": 1, "maxLength": 64},
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "username": {"type": "string", "maxLength": 64, "pattern": USER_NAME.pattern},
    "role": {"enum": ["member", "software_manager", "acceptance_officer"]},
    "token_id": {"type": "string", "minLength": 1, "maxLength": 32},
    "request_id": {"type": "string", "pattern": r"^#?[0-9]{1,12}$"},
}
