"""API routes of the registers: the library register and the physical items (shapes:
:mod:`repo_server.api.schemas.registers`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Response, stream_with_context
from flask.typing import ResponseReturnValue

from policies.archive import ItemStep
from repo_server.api.contract import Header, Reply
from repo_server.api.http import bp, depot, principal, signed_in
from repo_server.api.paging import Answer, answer, page_request, paged
from repo_server.api.schemas.registers import (
    ItemCustodian,
    ItemDetail,
    ItemList,
    ItemLoan,
    ItemMove,
    ItemReturn,
    ItemsQuery,
    NewItem,
    Register,
    RegisterExport,
    RegisterFilters,
    RegisterQuery,
    RegisterStatistics,
)
from repo_server.registers.items import ItemFilter, ItemInfo
from repo_server.registers.library import COLUMNS, RegisterFilter
from repo_server.registers.library import RegisterStatistics as Statistics

VERSION_PATH = "/groups/<group>/products/<product>/versions/<version>"
ITEM_PATH = "/items/<identifier>"
CHANGE = {
    403: "refused by a rule (only a version manager changes items; the rule is named)",
    404: "no such item, or not one you may see",
}


def _filter(query: RegisterFilters) -> RegisterFilter:
    return RegisterFilter(query.group, query.category, query.origin, query.state, query.q)


@bp.operation("GET", "/register", query=RegisterQuery, replies={200: paged(Register)})
def library_register(query: RegisterQuery) -> Answer:
    """The library register (版本信息台账): every version in the library of the groups you
    see (a version manager or an auditor: every group), the latest created first."""
    page = depot().register.entries(signed_in(), _filter(query), page_request(query))
    return answer({"entries": page.items}, page)


@bp.operation(
    "GET",
    "/register/export",
    query=RegisterFilters,
    replies={
        200: Reply(
            RegisterExport,
            "the whole register, filtered, as one JSON document",
            headers={"Content-Disposition": Header('attachment; filename="register.json"')},
        )
    },
)
def export_register(query: RegisterFilters) -> ResponseReturnValue:
    """The library register as a JSON file: every row that matches the filters."""
    found = depot().register.entries(signed_in(), _filter(query)).items
    return Reply(RegisterExport).render(
        {"entries": found}, 200, {"Content-Disposition": 'attachment; filename="register.json"'}
    )


@bp.operation(
    "GET", "/register/statistics", query=RegisterFilters, replies={200: Reply(RegisterStatistics)}
)
def register_statistics(query: RegisterFilters) -> Statistics:
    """The library register in figures (统计): per group and category, how many versions
    and in which state; per month, the check-ins and check-outs approved then."""
    return depot().register.statistics(signed_in(), _filter(query))


@bp.operation(
    "GET",
    "/register.csv",
    query=RegisterFilters,
    replies={
        200: Reply(
            None,
            "streamed; the first line names the columns: "
            + ", ".join(COLUMNS)
            + ". Cells starting with = + - @ are prefixed with '",
            "text/csv",
            {"Content-Disposition": Header('attachment; filename="register.csv"')},
        )
    },
)
def register_csv(query: RegisterFilters) -> ResponseReturnValue:
    """The library register as CSV: every row that matches the filters."""
    return Response(
        stream_with_context(depot().register.csv(signed_in(), _filter(query))),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@bp.operation("GET", "/items", query=ItemsQuery, replies={200: paged(ItemList)})
def list_items(query: ItemsQuery) -> Answer:
    """The physical items of the groups you see, the latest added first; ``overdue``: only
    items on loan past their due date."""
    wanted = ItemFilter(query.group, query.status, query.overdue, query.q)
    page = depot().items.list(signed_in(), wanted, page_request(query))
    return answer({"items": page.items}, page)


@bp.operation(
    "POST",
    VERSION_PATH + "/items",
    auth="optional",
    body=NewItem,
    replies={201: Reply(ItemDetail, "added to the register")},
    errors={
        403: "refused by a rule (the rule is named)",
        404: "no such group, product or version, or not one of yours",
        409: "an item with that identifier exists",
    },
)
def add_item(group: str, product: str, version: str, body: NewItem) -> tuple[ItemInfo, int]:
    """Add a physical item of a version to the register (version manager)."""
    fields = body.model_dump(exclude={"identifier"})
    info = depot().items.add(principal(), group, product, version, fields, body.identifier)
    return info, 201


@bp.operation(
    "GET",
    ITEM_PATH,
    replies={200: Reply(ItemDetail)},
    errors={404: "no such item, or not one you may see"},
)
def get_item(identifier: str) -> ItemInfo:
    """One physical item with every recorded step."""
    return depot().items.get(signed_in(), identifier)


@bp.operation(
    "POST", ITEM_PATH + "/move", body=ItemMove, replies={200: Reply(ItemDetail)}, errors=CHANGE
)
def move_item(identifier: str, body: ItemMove) -> ItemInfo:
    """Move an item to another ``location`` (version manager)."""
    return depot().items.step(
        signed_in(), identifier, ItemStep.MOVE, value=body.location, comment=body.comment
    )


@bp.operation(
    "POST",
    ITEM_PATH + "/custodian",
    body=ItemCustodian,
    replies={200: Reply(ItemDetail)},
    errors=CHANGE,
)
def change_custodian(identifier: str, body: ItemCustodian) -> ItemInfo:
    """Name the item's new ``custodian`` (version manager)."""
    return depot().items.step(
        signed_in(), identifier, ItemStep.CUSTODIAN, value=body.custodian, comment=body.comment
    )


@bp.operation(
    "POST", ITEM_PATH + "/lend", body=ItemLoan, replies={200: Reply(ItemDetail)}, errors=CHANGE
)
def lend_item(identifier: str, body: ItemLoan) -> ItemInfo:
    """Lend an item (借出) to ``holder`` until the end of the day ``due`` (UTC)
    (version manager)."""
    due = datetime.combine(date.fromisoformat(body.due), time(), UTC) + timedelta(days=1)
    return depot().items.step(
        signed_in(), identifier, ItemStep.LEND, value=body.holder, due=due, comment=body.comment
    )


@bp.operation(
    "POST",
    ITEM_PATH + "/return",
    body=ItemReturn,
    replies={200: Reply(ItemDetail)},
    errors=CHANGE,
)
def return_item(identifier: str, body: ItemReturn) -> ItemInfo:
    """Take an item back (归还) (version manager)."""
    return depot().items.step(signed_in(), identifier, ItemStep.RETURN, comment=body.comment)
