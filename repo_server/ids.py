"""The ranges of the database's integer columns, for the HTTP edge: a path naming a
larger id names nothing (a 404) and a body with a larger integer is a 400, never an
overflow in the database driver (SQLite's ``OverflowError``, PostgreSQL's
``NumericValueOutOfRange``). A kernel module: it imports nothing."""

from __future__ import annotations

#: The largest value of an ``Integer`` column (ids, keyring versions): PostgreSQL's
#: ``integer``.
MAX_INTEGER = 2**31 - 1
#: The largest value of a ``BigInteger`` column (log indexes and sizes): ``bigint``.
MAX_BIG_INTEGER = 2**63 - 1
