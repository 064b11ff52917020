"""Every model of the core, imported in one place for migrations and metadata."""

from repo_server.artifacts.models import Product, StoredFile, Version
from repo_server.audit.models import AuditEvent
from repo_server.auth.models import ApiToken, GlobalRoleGrant, User
from repo_server.db import Base
from repo_server.groups.models import Group, Membership

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "GlobalRoleGrant",
    "Group",
    "Membership",
    "Product",
    "StoredFile",
    "User",
    "Version",
]
