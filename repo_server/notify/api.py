"""API routes of a person's notification settings (shapes: :mod:`repo_server.api.schemas.notify`;
the stand-in routes are the auth domain's, in repo_server/auth/api.py)."""

from __future__ import annotations

from repo_server.api.contract import Reply
from repo_server.api.http import bp, depot, signed_in
from repo_server.api.schemas.notify import NotificationChange, NotificationSettings
from repo_server.notify.services import Preferences

PERSON_ONLY = {400: "a group token has no notification settings"}


@bp.operation(
    "GET",
    "/me/notifications",
    replies={200: Reply(NotificationSettings)},
    errors=PERSON_ONLY,
)
def my_notifications() -> Preferences:
    """What the caller gets mailed (everything, until they change it)."""
    return depot().notify.settings_of(signed_in())


@bp.operation(
    "PATCH",
    "/me/notifications",
    body=NotificationChange,
    replies={200: Reply(NotificationSettings, "changed")},
    errors=PERSON_ONLY,
)
def change_my_notifications(body: NotificationChange) -> Preferences:
    """Turn kinds of mail on or off for the caller; set their language and time zone."""
    return depot().notify.change_settings(
        signed_in(),
        awaiting=body.awaiting,
        decided=body.decided,
        reminders=body.reminders,
        language=body.language,
        time_zone=body.time_zone,
    )
