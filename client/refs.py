"""Parsing what people type to name things: ``GROUP[/PRODUCT[@VERSION]]``."""

from __future__ import annotations

from dataclasses import dataclass

from client.errors import InputError


@dataclass(frozen=True)
class Ref:
    """A group, optionally a product in it, optionally a version of that product."""

    group: str
    product: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        text = self.group
        if self.product:
            text += f"/{self.product}"
        if self.version:
            text += f"@{self.version}"
        return text


def parse_ref(text: str, *, need: str = "group") -> Ref:
    """Parse ``GROUP``, ``GROUP/PRODUCT`` or ``GROUP/PRODUCT@VERSION``.

    ``need`` is the most specific part required: ``group``, ``product`` or ``version``.
    """
    group, slash, rest = text.partition("/")
    product, at, version = rest.partition("@")
    if not group or (slash and not product) or (at and not version) or "/" in rest:
        raise InputError(f"cannot read {text!r}: expected GROUP/PRODUCT@VERSION")
    ref = Ref(group, product or None, version or None)
    if need in ("product", "version") and ref.product is None:
        raise InputError(
            f"{text!r} names no product: expected GROUP/PRODUCT"
            + ("@VERSION" if need == "version" else ""),
        )
    if need == "version" and ref.version is None:
        raise InputError(f"{text!r} names no version: expected GROUP/PRODUCT@VERSION")
    return ref
