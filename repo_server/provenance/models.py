"""The provenance keys groups trust and the attestations attached to versions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base


class ProvenanceKey(Base):
    """An Ed25519 public key a group trusts to sign its pipelines' build attestations."""

    __tablename__ = "provenance_keys"
    __table_args__ = (sa.UniqueConstraint("group_id", "keyid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    #: sha256 hex of the key's DER SubjectPublicKeyInfo (as every Depot key id).
    keyid: Mapped[str] = mapped_column(sa.String(64))
    #: ``ed25519:<base64>``.
    public: Mapped[str] = mapped_column(sa.String(100))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]


class AttestationRecord(Base):
    """A verified build attestation (in-toto, SLSA provenance v1) attached to a version
    before its check-in; the manifest records its payload sha256 and signer."""

    __tablename__ = "attestations"
    __table_args__ = (sa.UniqueConstraint("version_id", "payload_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"), index=True)
    payload_sha256: Mapped[str] = mapped_column(sa.String(64))
    #: The DSSE envelope as attached (its JSON, canonical bytes).
    envelope: Mapped[bytes] = mapped_column(sa.LargeBinary)
    keyid: Mapped[str] = mapped_column(sa.String(64))
    key_public: Mapped[str] = mapped_column(sa.String(100))
    key_name: Mapped[str] = mapped_column(sa.String(100))
    builder_id: Mapped[str] = mapped_column(sa.Text)
    build_type: Mapped[str] = mapped_column(sa.Text)
    invocation_id: Mapped[str | None] = mapped_column(sa.Text)
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime]
