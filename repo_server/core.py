"""The server's parts wired together: settings, database, blob store, clock, services.

Built once per process by :func:`build_depot`; the Flask app keeps it in
``app.extensions["depot"]`` and ``depot-server`` commands use it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from repo_server.artifacts.services import CatalogService
from repo_server.artifacts.sessions import UploadSessionService
from repo_server.artifacts.transfers import TransferService
from repo_server.audit.services import AuditLog
from repo_server.auth.accounts import AccountService
from repo_server.auth.ci_tokens import TokenService
from repo_server.auth.ldap import directory_service
from repo_server.auth.oidc import OidcService
from repo_server.auth.services import AuthService
from repo_server.auth.stand_ins import StandInService
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.groups.services import GroupService
from repo_server.lifecycle.decisions import DecisionService
from repo_server.lifecycle.library import LibraryService
from repo_server.lifecycle.quarantines import Quarantines, WithQuarantines
from repo_server.lifecycle.queries import RequestQueries
from repo_server.lifecycle.services import LifecycleService
from repo_server.notify.services import Notifier
from repo_server.plugin_host import PluginHost
from repo_server.provenance.services import ProvenanceService
from repo_server.registers.items import ItemService
from repo_server.registers.library import LibraryRegister
from repo_server.settings import Settings
from repo_server.trust.enrollment import EnrollmentCeremony
from repo_server.trust.keystore import KeyStore
from repo_server.trust.queries import TrustQueries
from repo_server.trust.services import SigningService
from repo_server.trust.witnesses import LogCheckpoints
from storage import BlobStore, open_store


@dataclass
class Depot:
    """Everything a request or a command needs, built once."""

    settings: Settings
    db: Database
    store: BlobStore
    clock: Clock
    audit: AuditLog
    auth: AuthService
    tokens: TokenService
    oidc: OidcService
    provenance: ProvenanceService
    accounts: AccountService
    groups: GroupService
    catalog: CatalogService
    transfers: TransferService
    uploads: UploadSessionService
    lifecycle: LifecycleService
    decisions: DecisionService
    library: LibraryService
    requests: RequestQueries
    stand_ins: StandInService
    notify: Notifier
    register: LibraryRegister
    items: ItemService
    keys: KeyStore
    enrollment: EnrollmentCeremony
    signing: SigningService
    trust: TrustQueries
    checkpoints: LogCheckpoints
    #: The enabled plugins (their routes, pages, panels).
    plugins: PluginHost
    #: The quarantines the modules decided; they hold whether or not a module is enabled.
    quarantines: Quarantines

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()


def build_depot(
    settings: Settings, *, clock: Clock | None = None, store: BlobStore | None = None
) -> Depot:
    """Wire the services for ``settings`` (the store can be given, for tests)."""
    clock = clock or Clock()
    db = Database(settings.effective_database_url)
    store = store or open_store(settings.effective_storage_url)
    audit = AuditLog(db, clock)
    auth = AuthService(db, audit, clock, settings, directory_service(db, audit, clock, settings))
    keys = KeyStore(db, settings)
    signing = SigningService(keys, clock, settings)
    quarantines = Quarantines(db, audit, clock, signing)
    host = PluginHost.load(audit, settings.plugin_names, settings.plugin, quarantines)
    # What the services ask before a version is used: the quarantines, then the plugins.
    plugins = WithQuarantines(quarantines, host)
    notify = Notifier(db, audit, clock, settings, auth)
    transfers = TransferService(db, audit, clock, store, settings, plugins)
    return Depot(
        settings=settings,
        db=db,
        store=store,
        clock=clock,
        audit=audit,
        auth=auth,
        tokens=TokenService(db, audit, clock, settings),
        oidc=OidcService(db, audit, clock, settings),
        provenance=ProvenanceService(db, audit, clock),
        accounts=AccountService(db, audit, clock, settings, auth),
        groups=GroupService(db, audit, clock, store),
        catalog=CatalogService(db, audit, clock),
        transfers=transfers,
        uploads=UploadSessionService(transfers),
        lifecycle=LifecycleService(db, audit, clock, settings, plugins, notify),
        decisions=DecisionService(db, audit, clock, settings, signing, plugins, notify),
        library=LibraryService(db, audit, clock, signing, plugins),
        plugins=host,
        quarantines=quarantines,
        keys=keys,
        enrollment=EnrollmentCeremony(db, audit, clock, keys),
        signing=signing,
        trust=TrustQueries(db, audit, clock, keys, signing, plugins),
        checkpoints=LogCheckpoints(db, audit, clock, keys),
        requests=RequestQueries(db, audit),
        stand_ins=StandInService(db, audit, clock),
        notify=notify,
        register=LibraryRegister(db, clock, plugins),
        items=ItemService(db, audit, clock),
    )
