"""What the lifecycle tells once a transaction that filed or decided a request commits.

The services call :meth:`Notices.filed` and :meth:`Notices.decided` inside their write
transaction; whoever implements them (the mail notifier, repo_server/notify) acts only
after the commit, and never makes the request fail. ``core.py`` gives the services the
notifier; a test may give them :data:`NO_NOTICES`.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session


class Notices(Protocol):
    """Told about requests inside the transaction that changes them."""

    def filed(self, session: Session, request_id: int) -> None:
        """Request ``request_id`` was filed in ``session``'s transaction."""

    def decided(self, session: Session, request_id: int) -> None:
        """Request ``request_id`` was decided in ``session``'s transaction."""


class _NoNotices:
    def filed(self, session: Session, request_id: int) -> None:
        return None

    def decided(self, session: Session, request_id: int) -> None:
        return None


#: Tells nobody.
NO_NOTICES: Notices = _NoNotices()
