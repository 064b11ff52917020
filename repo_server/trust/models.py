"""Rows of the trust machinery: keyrings, enrolment documents, approval statements, version
status documents, personal keys, and the nodes and checkpoints of the audit log's Merkle tree.

Every table here is append-only except ``version_status`` (the newest status document of
a version replaces the previous one; its serial only grows), ``library_index`` (likewise,
per product) and ``log_state``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from repo_server.db import Base

_BigInt = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class KeyringRecord(Base):
    """One version of the keyring, exactly as signed by the root keys."""

    __tablename__ = "trust_keyrings"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The DSSE envelope (canonical JSON) whose payload is the keyring.
    envelope: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]


class SealRecord(Base):
    """The roots' seal (:mod:`policies.trust.seal`) of the log as it stood when the next
    keyring retired keyring ``keyring``'s online keys, exactly as the roots signed it."""

    __tablename__ = "trust_seals"

    keyring: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    envelope: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]


class EnrollmentRecord(Base):
    """One version of the enrolment document, exactly as the enrolment officers signed it."""

    __tablename__ = "trust_enrollments"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The DSSE envelope (canonical JSON) whose payload is the enrolment document.
    envelope: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]


class StatementRecord(Base):
    """A signed approval statement of a version (acceptance, check-in or check-out)."""

    __tablename__ = "statements"
    __table_args__ = (sa.UniqueConstraint("version_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"), index=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("requests.id"))
    #: Position in the version's chain of statements, from 1.
    seq: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(32))
    actor: Mapped[str] = mapped_column(sa.String(64))
    #: ``personal`` (signed with the actor's own key) or ``server`` (attested by the server).
    attestation: Mapped[str] = mapped_column(sa.String(16))
    payload_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    envelope: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]


class VersionStatus(Base):
    """The newest signed status document of a checked-in version."""

    __tablename__ = "version_status"

    version_id: Mapped[int] = mapped_column(sa.ForeignKey("versions.id"), primary_key=True)
    serial: Mapped[int] = mapped_column(_BigInt)
    state: Mapped[str] = mapped_column(sa.String(16))
    envelope: Mapped[bytes] = mapped_column(sa.LargeBinary)
    expires_at: Mapped[datetime]


class PersonKeyRecord(Base):
    """A person's registered public key and where its enrolment stands.

    Registering only proposes the key: it counts once an enrolment document lists it
    (``enrolled_version``, written by ``depot-server keys enroll``). ``revoked_at`` is
    when the server stopped accepting it; ``revoked_from`` the log size from which the
    signed enrolment document revokes it (``depot-server keys revoke``).
    """

    __tablename__ = "person_keys"
    #: A person's keys, a page at a time (repo_server.paging).
    __table_args__ = (sa.Index("ix_person_keys_username_id", "username", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
    keyid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    public: Mapped[str] = mapped_column(sa.String(100))
    registered_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    enrolled_version: Mapped[int | None]
    revoked_from: Mapped[int | None] = mapped_column(_BigInt, nullable=True)


class LogNode(Base):
    """The hash of a complete subtree of the audit log: leaves ``index·2^level`` onwards."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("idx", _BigInt, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))


class LogState(Base):
    """The single row holding the log's size; locking it serialises appends."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(_BigInt)


class LogCheckpoint(Base):
    """A checkpoint (size, root) the server signed with its log key."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(_BigInt, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    #: The C2SP signed note: the checkpoint text and the log key's signature line.
    note: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]


class LogCosignature(Base):
    """A witness's cosignature (tlog-cosignature/v1) on the checkpoint of ``size`` entries,
    checked against the witness's verifier key when it was posted."""

    __tablename__ = "log_cosignatures"

    size: Mapped[int] = mapped_column(
        _BigInt, sa.ForeignKey("log_checkpoints.size"), primary_key=True, autoincrement=False
    )
    #: The witness's verifier key (``<name>+<key id>+<key>``, type 0x04).
    vkey: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    #: The signature line, ``— <name> base64(key id ‖ timestamp ‖ signature)``.
    line: Mapped[str] = mapped_column(sa.String(400))
    cosigned_at: Mapped[datetime]
    created_at: Mapped[datetime]


class LibraryIndexRecord(Base):
    """The newest signed library index of a product (``depot.library``); its serial only
    grows. ``digest`` is the sha256 of the entries it lists, to know when to sign anew."""

    __tablename__ = "library_index"

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), primary_key=True)
    serial: Mapped[int] = mapped_column(_BigInt)
    digest: Mapped[str] = mapped_column(sa.String(64))
    envelope: Mapped[bytes] = mapped_column(sa.LargeBinary)
    expires_at: Mapped[datetime]
