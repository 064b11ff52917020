"""The registers on the wire: the library register (``/api/v1/register``) and the physical
items (``/api/v1/items``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, computed_field

from repo_server.api.paging import Paged, PageQuery
from repo_server.api.schemas.artifacts import Category, Origin
from repo_server.api.schemas.common import Body, Day, Moment, Out, Query

RegisterState = Literal["in_library", "checked_out", "retired", "quarantined"]
ItemText = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Note = Annotated[str, Field(max_length=10_000)]
Search = Annotated[str, Field(max_length=200)]


class RegisterEntry(Out):
    """One version in the library: its number, product, origin, check-in and state."""

    library_number: int | None
    group: str
    product: str
    version: str
    category: Category
    origin: Origin
    vendor: str | None
    checked_in_at: Moment | None
    requested_by: str | None
    accepted_by: str | None
    checked_in_by: str | None
    state: RegisterState
    checked_out_until: Moment | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ref(self) -> str:
        """``group/product@version``."""
        return f"{self.group}/{self.product}@{self.version}"


class RegisterFilters(Query):
    """What narrows the register; ``q`` matches the product, the version or the vendor."""

    group: Annotated[str, Field(max_length=63)] = ""
    category: Literal["", "application", "system", "device_network"] = ""
    origin: Literal["", "in_house", "purchased"] = ""
    state: Literal["", "in_library", "checked_out", "retired", "quarantined"] = ""
    q: Search = ""


class RegisterQuery(PageQuery, RegisterFilters):
    """A page of the register, filtered."""


class Register(Paged):
    """A page of the library register, the latest created versions first."""

    entries: list[RegisterEntry]


class RegisterExport(Out):
    """The whole register, filtered."""

    entries: list[RegisterEntry]


class RegisterCount(Out):
    """One group's versions of one category in the register, and where they stand."""

    group: str
    category: Category
    versions: int
    in_library: int
    checked_out: int
    retired: int
    quarantined: int


class RegisterMonth(Out):
    """The check-ins and check-outs (of the register's versions) approved in one month."""

    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, UTC")]
    checkins: int
    checkouts: int


class RegisterStatistics(Out):
    """The register in figures: per group and category, and per month (oldest first)."""

    counts: list[RegisterCount]
    months: list[RegisterMonth]


class ItemEvent(Out):
    """One recorded step of a physical item: who, when, from what to what."""

    action: Literal["register", "move", "custodian", "lend", "return"]
    actor: str
    at: Moment
    before: str
    after: str
    due_at: Moment | None
    comment: str


class Item(Out):
    """A physical item (install media, a licence dongle, a printed manual) of a version."""

    identifier: str
    kind: str
    label: str
    location: str
    custodian: str
    status: Literal["in_archive", "on_loan"]
    holder: str | None
    due_at: Moment | None
    overdue: bool
    group: str
    product: str
    version: str
    ref: str
    created_at: Moment | None
    created_by: str | None
    request: int | None


class ItemDetail(Item):
    """An item with every recorded step, oldest first."""

    events: list[ItemEvent]


class ItemList(Paged):
    """A page of physical items, the latest added first."""

    items: list[Item]


class ItemsQuery(PageQuery):
    """Which items: of a ``group``, by ``status``, only ``overdue`` loans, matching ``q``."""

    group: Annotated[str, Field(max_length=63)] = ""
    status: Literal["", "in_archive", "on_loan"] = ""
    overdue: bool = False
    q: Search = ""


class NewItem(Body):
    """A physical item to add to a version (``identifier``: its own mark, else ``PI-<n>``)."""

    identifier: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S+$")] | None = None
    kind: ItemText
    label: ItemText
    location: ItemText
    custodian: ItemText


class ItemMove(Body):
    """Where the item goes now."""

    location: ItemText
    comment: Note = ""


class ItemCustodian(Body):
    """Who keeps the item from now on."""

    custodian: ItemText
    comment: Note = ""


class ItemLoan(Body):
    """Who borrows the item (借出) and the day it is due back."""

    holder: ItemText
    due: Annotated[Day, Field(min_length=10)]
    comment: Note = ""


class ItemReturn(Body):
    """The item is back (归还)."""

    comment: Note = ""
