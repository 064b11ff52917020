"""A real OpenLDAP ``slapd`` for the tests, started by python-ldap's ``slapdtest`` on a
free port of 127.0.0.1, with a test CA for StartTLS, and the people and groups below.

People (``ou=people``; every password is ``<name>-directory-pw``):
  alice (payments-dev), bob (payments-leads), carol (payments-contractors, nested in
  payments-dev), olivia (depot-admins: global admin), erin (in a cycle of groups),
  frank (four levels of nesting), dave (employeeType=disabled, in payments-dev),
  twin1/twin2 (two entries with uid=twin), ivan (in no mapped group).

Groups (``ou=groups``): payments-dev ⊃ payments-contractors; payments-leads;
depot-admins; cycle-a ⊃ cycle-b ⊃ cycle-a (erin in cycle-b); deep-0 ⊃ deep-1 ⊃ deep-2 ⊃
deep-3 (frank in deep-3); posix-devs (posixGroup, memberUid alice).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# slapdtest puts its run folder under $TMP, or the current folder when unset.
os.environ.setdefault("TMP", tempfile.gettempdir())

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from slapdtest import SlapdObject

SUFFIX = "dc=example,dc=org"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SERVICE_DN = f"cn=depot-svc,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-account-pw"


def password(name: str) -> str:
    """The directory password of a test person."""
    return f"{name}-directory-pw"


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


MAPPING = f"""
# payments: developers are members, leads manage the group too
[[map]]
directory_group = "{group_dn("payments-dev")}"
project_group = "payments"
roles = ["member"]

[[map]]
directory_group = "CN=Payments-Leads, OU=Groups, DC=example, DC=org"
project_group = "payments"
roles = ["member", "software_manager"]

[[map]]
directory_group = "{group_dn("depot-admins")}"
global_roles = ["admin"]

[[map]]
directory_group = "{group_dn("cycle-a")}"
project_group = "ops"
roles = ["member"]

[[map]]
directory_group = "{group_dn("deep-0")}"
project_group = "deep"
roles = ["member"]

[[map]]
directory_group = "{group_dn("deep-1")}"
project_group = "deep"
roles = ["acceptance_officer"]
"""


def _person(uid: str, name: str, *extra: str) -> str:
    lines = [
        f"dn: {person_dn(uid)}",
        "objectClass: inetOrgPerson",
        f"uid: {uid}",
        f"cn: {name}",
        f"sn: {name.split()[-1]}",
        f"mail: {uid}@example.org",
        f"userPassword: {password(uid)}",
        *extra,
    ]
    return "\n".join(lines) + "\n"


def _group(cn: str, *members: str) -> str:
    lines = [f"dn: {group_dn(cn)}", "objectClass: groupOfNames", f"cn: {cn}"]
    lines += [f"member: {member}" for member in members]
    return "\n".join(lines) + "\n"


def directory_ldif() -> str:
    """The whole test directory."""
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
        "o: Example\ndc: example\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: depot-svc\nuserPassword: {SERVICE_PASSWORD}\n",
        _person("alice", "Alice Wang", "displayName: Alice Wang"),
        _person("bob", "Bob Li"),
        _person("carol", "Carol Chen"),
        _person("olivia", "Olivia Admin"),
        _person("erin", "Erin Cycle"),
        _person("frank", "Frank Deep"),
        _person("dave", "Dave Gone", "employeeType: disabled"),
        _person("ivan", "Ivan Nobody"),
        _person("twin1", "Twin One", "uid: twin"),
        _person("twin2", "Twin Two", "uid: twin"),
        _group("payments-contractors", person_dn("carol")),
        _group(
            "payments-dev", person_dn("alice"), person_dn("dave"), group_dn("payments-contractors")
        ),
        _group("payments-leads", person_dn("bob")),
        _group("depot-admins", person_dn("olivia")),
        _group("cycle-a", group_dn("cycle-b")),
        _group("cycle-b", group_dn("cycle-a"), person_dn("erin")),
        _group("deep-0", group_dn("deep-1")),
        _group("deep-1", group_dn("deep-2")),
        _group("deep-2", group_dn("deep-3")),
        _group("deep-3", person_dn("frank")),
        f"dn: {group_dn('posix-devs')}\nobjectClass: posixGroup\ncn: posix-devs\n"
        "gidNumber: 5000\nmemberUid: alice\n",
    ]
    return "\n".join(entries)


@dataclass(frozen=True)
class DirectoryCA:
    """A certificate authority made for one test session, and a server certificate for
    127.0.0.1 it signed."""

    ca_file: Path
    server_cert: Path
    server_key: Path


def make_ca(folder: Path, name: str = "Depot Test CA") -> DirectoryCA:
    """A new CA and a slapd certificate for ``127.0.0.1``/``localhost`` under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca = DirectoryCA(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    ca.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca.server_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca.server_key.chmod(0o600)
    return ca


class Slapd(SlapdObject):  # type: ignore[misc]
    """slapd with the cosine, inetorgperson and nis schemas and our test CA."""

    suffix = SUFFIX
    openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif", "nis.ldif")
    slapd_loglevel = "0"


class LimitedSlapd(Slapd):
    """slapd answering at most ``size_limit`` entries to one search, as a bank's directory
    does (Active Directory: ``MaxPageSize``); a paged search (RFC 2696) gets them all."""

    size_limit = 3

    def gen_config(self) -> str:
        config: str = super().gen_config()
        return (
            config + f"olcLimits: * size.soft={self.size_limit} size.hard={self.size_limit} "
            "size.prtotal=unlimited\n"
        )


class LiveDirectory:
    """The running test directory, and what tests do to it."""

    def __init__(self, run_folder: Path, ca: DirectoryCA, size_limit: int = 0) -> None:
        Slapd.TMPDIR = str(run_folder)
        self.server = LimitedSlapd() if size_limit else Slapd()
        if size_limit:
            self.server.size_limit = size_limit
        self.server.cafile = str(ca.ca_file)
        self.server.servercert = str(ca.server_cert)
        self.server.serverkey = str(ca.server_key)
        self.ca = ca

    @property
    def url(self) -> str:
        return str(self.server.ldap_uri).rstrip("/")

    def start(self) -> None:
        self.server.start()
        self.server.ldapadd(directory_ldif())

    def stop(self) -> None:
        self.server.stop()

    def pause(self) -> None:
        """Stop slapd but keep its data (the directory "goes down")."""
        self.server.terminate()
        self.server.wait()

    def resume(self) -> None:
        """Start slapd again on the same port with the same data."""
        self.server.resume()

    def modify(self, ldif: str) -> None:
        self.server.ldapmodify(ldif)

    def remove_member(self, group: str, uid: str) -> None:
        self.modify(
            f"dn: {group_dn(group)}\nchangetype: modify\ndelete: member\nmember: {person_dn(uid)}\n"
        )

    def add_member(self, group: str, uid: str) -> None:
        self.modify(
            f"dn: {group_dn(group)}\nchangetype: modify\nadd: member\nmember: {person_dn(uid)}\n"
        )

    def delete(self, uid: str) -> None:
        """Remove a person's entry (they left the bank); groups keep naming the DN, as
        OpenLDAP without the refint overlay does."""
        self.server.ldapdelete(person_dn(uid))

    def add_person(self, uid: str, name: str, *groups: str, secret: str = "") -> None:
        """A new entry (a new ``entryUUID``) for ``uid``, in ``groups``; its password is
        ``secret`` or ``password(uid)``. A group that still names the DN (a departed
        person's entry at the same DN) already has them."""
        entry = _person(uid, name).replace(
            f"userPassword: {password(uid)}", f"userPassword: {secret or password(uid)}"
        )
        self.server.ldapadd(entry)
        for group in groups:
            with contextlib.suppress(RuntimeError):  # ldapmodify: "value exists"
                self.add_member(group, uid)

    def disable(self, uid: str) -> None:
        self.modify(
            f"dn: {person_dn(uid)}\nchangetype: modify\nreplace: employeeType\n"
            "employeeType: disabled\n"
        )
