"""Versions named by what they are rather than by their number: ``GROUP/PRODUCT@latest``
(the newest version in the library; with ``--draft`` the newest draft) and
``GROUP/PRODUCT@#N`` (library number N, as ``depot ls`` shows it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from client.api import Api, seg
from client.errors import ClientError, Exit, InputError
from client.paging import MAX_PAGE
from client.refs import Ref

LATEST = "latest"
#: States of a version "in the library" (checked in; a retired one is still there but
#: serves nobody, so ``@latest`` skips it).
IN_LIBRARY = ("checked_in",)


def _versions(api: Api, ref: Ref) -> Iterator[dict[str, Any]]:
    """The versions of the product, newest first, page after page."""
    assert ref.product is not None
    path = f"/api/v1/groups/{seg(ref.group)}/products/{seg(ref.product)}/versions"
    cursor: str | None = None
    while True:
        answer = api.get(path, limit=MAX_PAGE, cursor=cursor)
        yield from answer["versions"]
        cursor = answer.get("next")
        if cursor is None:
            return


def is_symbolic(ref: Ref) -> bool:
    """Whether ``ref``'s version is ``latest`` or ``#N`` (to be looked up)."""
    return ref.version == LATEST or (ref.version or "").startswith("#")


def resolve(api: Api, ref: Ref, *, draft: bool = False) -> Ref:
    """``ref`` with ``@latest`` or ``@#N`` replaced by the version it names (exit 4 when
    there is none); any other ref as it is. ``draft`` makes ``@latest`` the newest draft."""
    product = f"{ref.group}/{ref.product}"
    if ref.version == LATEST:
        wanted: Callable[[dict[str, Any]], bool]
        if draft:
            wanted, what = (lambda v: v["state"] == "draft"), f"no draft of {product}"
        else:
            wanted = lambda v: v["state"] in IN_LIBRARY  # noqa: E731
            what = f"no version of {product} in the library"
        for version in _versions(api, ref):
            if wanted(version):
                return replace(ref, version=version["version"])
        raise ClientError(
            what, Exit.NOT_FOUND, "not_found", "" if draft else "--draft takes the newest draft"
        )
    if draft:
        raise InputError("--draft goes with @latest only")
    if ref.version and ref.version.startswith("#"):
        number = ref.version[1:]
        if not number.isdigit():
            raise InputError(f"{ref.version!r} is not a library number: expected @#N, e.g. @#3")
        for version in _versions(api, ref):
            if version.get("library_number") == int(number):
                return replace(ref, version=version["version"])
        raise ClientError(f"{product} has no version with library number {number}", Exit.NOT_FOUND)
    return ref
