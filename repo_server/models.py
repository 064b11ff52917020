"""Every model of the core, imported in one place for migrations and metadata."""

from repo_server.artifacts.models import Product, StoredFile, UploadPart, UploadSession, Version
from repo_server.audit.models import AuditEvent
from repo_server.auth.models import ApiToken, GlobalRoleGrant, StandIn, User
from repo_server.db import Base
from repo_server.groups.models import Group, Membership
from repo_server.lifecycle.models import (
    ArchiveItem,
    ArchiveItemEvent,
    Feedback,
    Quarantine,
    QuarantineCover,
    Request,
)
from repo_server.notify.models import NotificationSetting, ReminderSent
from repo_server.provenance.models import AttestationRecord, ProvenanceKey
from repo_server.trust.models import (
    EnrollmentRecord,
    KeyringRecord,
    LogCheckpoint,
    LogNode,
    LogState,
    PersonKeyRecord,
    SealRecord,
    StatementRecord,
    VersionStatus,
)

__all__ = [
    "ApiToken",
    "ArchiveItem",
    "ArchiveItemEvent",
    "AttestationRecord",
    "AuditEvent",
    "Base",
    "EnrollmentRecord",
    "Feedback",
    "GlobalRoleGrant",
    "Group",
    "KeyringRecord",
    "LogCheckpoint",
    "LogNode",
    "LogState",
    "Membership",
    "NotificationSetting",
    "PersonKeyRecord",
    "Product",
    "ProvenanceKey",
    "Quarantine",
    "QuarantineCover",
    "ReminderSent",
    "Request",
    "SealRecord",
    "StandIn",
    "StatementRecord",
    "StoredFile",
    "UploadPart",
    "UploadSession",
    "User",
    "Version",
    "VersionStatus",
]
