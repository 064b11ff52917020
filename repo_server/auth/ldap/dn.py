"""Distinguished names compared the way a directory compares them."""

from __future__ import annotations

import ldap.dn


class BadDN(ValueError):
    """Text that is not a distinguished name."""


def normalize_dn(dn: str) -> str:
    """``dn`` in one canonical spelling: case, spaces and escapes no longer matter.

    ``CN=Payments Dev, OU=Groups,dc=Bank`` and ``cn=payments dev,ou=groups,dc=bank``
    give the same text. Raises :class:`BadDN` for text that is not a DN.
    """
    try:
        rdns = ldap.dn.str2dn(dn.strip())
    except ldap.DECODING_ERROR:
        raise BadDN(f"{dn!r} is not a distinguished name") from None
    if not rdns:
        raise BadDN("the distinguished name is empty")
    canonical = [
        sorted((attribute.lower(), value.lower(), 1) for attribute, value, _ in rdn) for rdn in rdns
    ]
    text: str = ldap.dn.dn2str(canonical)
    return text
