"""OIDC federation for CI pipelines (PyPI's trusted publishing): a group trusts an issuer,
an audience and claim rules; a pipeline exchanges its short-lived ID token for a Depot
upload token of minutes.

Called by the API (``/oidc/exchange``, ``/groups/<group>/oidc-trusts``). The exchange
verifies the signature against the issuer's JWKS (found through its discovery document,
cached, fetched again for an unknown ``kid`` at most once a :data:`REFRESH_BOUND`), the
algorithm (asymmetric only: never ``none`` or HMAC), ``iss``, ``aud``, ``exp``/``nbf``
(the injectable clock), the claim rules (:mod:`policies.oidc`) and that its ``jti`` was
never used before. Every exchange, accepted or refused, is in the audit trail with the
token's claims.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
import sqlalchemy as sa
import urllib3
from sqlalchemy.exc import IntegrityError

from policies.access import Action, decide
from policies.oidc import check_rules, claims_match, token_times
from repo_server.audit.services import AuditLog
from repo_server.auth.facts import IssuedToken, token_info
from repo_server.auth.models import ApiToken, OidcTrust, OidcUsedToken
from repo_server.auth.principal import Principal, anonymous
from repo_server.auth.tokens import new_token, robot_name
from repo_server.clock import Clock
from repo_server.db import Database
from repo_server.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from repo_server.groups.models import Group
from repo_server.paging import EVERYTHING, Page, PageRequest, by_id
from repo_server.settings import Settings

#: Signature algorithms accepted: asymmetric only.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
#: How long a fetched JWKS is used before it is fetched again.
JWKS_TTL = timedelta(hours=1)
#: An unknown ``kid`` fetches the JWKS again, but not more often than this per issuer.
REFRESH_BOUND = timedelta(seconds=30)
MAX_DOCUMENT = 1 << 20


@dataclass(frozen=True)
class TrustInfo:
    """A group's OIDC trust as the API shows it."""

    id: int
    group: str
    issuer: str
    audience: str
    claims: Mapping[str, str]
    created_by: str
    created_at: datetime


class ExchangeRefused(Exception):
    """An OIDC token that does not buy a Depot token (rule and reason for the audit)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


class JwksCache:
    """The signing keys of each issuer, fetched over HTTP(S) and kept a while."""

    def __init__(self, clock: Clock, allow_http: bool) -> None:
        self.clock = clock
        self.allow_http = allow_http
        self.pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5.0, read=10.0))
        self._keys: dict[str, tuple[datetime, dict[str, jwt.PyJWK]]] = {}
        self._lock = threading.Lock()

    def _get(self, url: str) -> Any:
        if not url.startswith("https://") and not (self.allow_http and url.startswith("http://")):
            raise ExchangeRefused("oidc.issuer", f"{url[:200]} is not an https:// address")
        try:
            response = self.pool.request("GET", url, retries=False, redirect=False)
        except urllib3.exceptions.HTTPError as error:
            raise ExchangeRefused("oidc.jwks", f"cannot fetch {url[:200]}: {error}") from None
        if response.status != 200 or len(response.data) > MAX_DOCUMENT:
            raise ExchangeRefused("oidc.jwks", f"{url[:200]} answered HTTP {response.status}")
        try:
            return json.loads(response.data)
        except ValueError:
            raise ExchangeRefused("oidc.jwks", f"{url[:200]} did not answer JSON") from None

    def _fetch(self, issuer: str) -> dict[str, jwt.PyJWK]:
        config = self._get(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if not isinstance(config, dict) or config.get("issuer") != issuer:
            raise ExchangeRefused("oidc.issuer", "the discovery document names another issuer")
        jwks = self._get(str(config.get("jwks_uri", "")))
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            try:
                key = jwt.PyJWK(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError):
                continue  # a key of a type this server does not use
            keys[str(entry.get("kid", ""))] = key
        return keys

    def key(self, issuer: str, kid: str) -> jwt.PyJWK:
        """The key ``kid`` of ``issuer`` (``ExchangeRefused`` when it is not there)."""
        now = self.clock.now()
        with self._lock:
            cached = self._keys.get(issuer)
        if cached is not None:
            fetched_at, keys = cached
            if kid in keys and now - fetched_at < JWKS_TTL:
                return keys[kid]
            if kid not in keys and now - fetched_at < REFRESH_BOUND:
                raise ExchangeRefused("oidc.kid", f"key {kid[:100]!r} is not in the issuer's JWKS")
        keys = self._fetch(issuer)
        with self._lock:
            self._keys[issuer] = (now, keys)
        if kid not in keys:
            raise ExchangeRefused("oidc.kid", f"key {kid[:100]!r} is not in the issuer's JWKS")
        return keys[kid]


def _audit_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {str(k)[:100]: str(v)[:200] for k, v in list(claims.items())[:40]}


class OidcService:
    """Groups' OIDC trusts and the exchange of pipelines' ID tokens."""

    def __init__(self, db: Database, audit: AuditLog, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.settings = settings
        self.jwks = JwksCache(clock, settings.oidc_allow_http)

    # -- trusts ----------------------------------------------------------------------

    def _group_id(self, principal: Principal, group: str, action: Action, audit_as: str) -> int:
        decision = decide(principal.actor, action, group)
        with self.db.read() as session:
            group_id = session.scalar(sa.select(Group.id).where(Group.name == group))
        if group_id is None or decision.hidden:
            raise NotFound(f"group {group!r} not found")
        if not decision.allowed:
            self.audit.record_refusal(
                principal, audit_as, group=group, rule=decision.rule, reason=decision.reason
            )
            raise Forbidden(decision.reason, rule=decision.rule)
        return group_id

    def add_trust(
        self,
        principal: Principal,
        group: str,
        issuer: str,
        audience: str,
        claims: Mapping[str, str],
    ) -> TrustInfo:
        """A group's software manager trusts pipelines of ``issuer`` for ``audience`` whose
        ID tokens have these claims."""
        group_id = self._group_id(principal, group, Action.CREATE_TOKEN, "oidc.trust.add")
        if not issuer.startswith("https://") and not (
            self.settings.oidc_allow_http and issuer.startswith("http://")
        ):
            raise InvalidRequest("the issuer must be an https:// address", field="issuer")
        rules = check_rules(claims)
        if not rules.allowed:
            raise InvalidRequest(rules.reason, field="claims")
        if principal.user_id is None:
            raise Unauthorized("authentication required")
        with self.db.write() as session:
            row = OidcTrust(
                group_id=group_id,
                issuer=issuer,
                audience=audience,
                claims=json.dumps(dict(claims), sort_keys=True),
                user_id=principal.user_id,
                created_at=self.clock.now(),
            )
            session.add(row)
            session.flush()
            self.audit.record(
                session,
                principal,
                "oidc.trust.add",
                group=group,
                target=f"oidc-trust:{row.id}",
                details={"issuer": issuer, "audience": audience, "claims": dict(claims)},
            )
            return self._info(session, row, group)

    def list_trusts(
        self, principal: Principal, group: str, page: PageRequest = EVERYTHING
    ) -> Page[TrustInfo]:
        """A page of the group's trusts, oldest first (its software managers and admins)."""
        group_id = self._group_id(principal, group, Action.MANAGE_TOKENS, "oidc.trust.list")
        with self.db.read() as session:
            rows = by_id(
                session,
                sa.select(OidcTrust).where(OidcTrust.group_id == group_id),
                OidcTrust.id,
                page,
                scope=f"oidc-trusts:{group}",
            )
            return rows.map(lambda row: self._info(session, row, group))

    def remove_trust(self, principal: Principal, group: str, trust_id: int) -> TrustInfo:
        """Stop trusting; tokens already exchanged run out within minutes."""
        group_id = self._group_id(principal, group, Action.MANAGE_TOKENS, "oidc.trust.remove")
        with self.db.write() as session:
            row = session.get(OidcTrust, trust_id)
            if row is None or row.group_id != group_id:
                raise NotFound(f"OIDC trust {trust_id} not found in group {group!r}")
            info = self._info(session, row, group)
            session.delete(row)
            self.audit.record(
                session, principal, "oidc.trust.remove", group=group, target=f"oidc-trust:{row.id}"
            )
            return info

    def _info(self, session: sa.orm.Session, row: OidcTrust, group: str) -> TrustInfo:
        from repo_server.auth.models import User

        user = session.get(User, row.user_id)
        return TrustInfo(
            row.id,
            group,
            row.issuer,
            row.audience,
            json.loads(row.claims),
            user.username if user else "?",
            row.created_at,
        )

    # -- the exchange ----------------------------------------------------------------

    def exchange(self, token: str, remote_addr: str) -> IssuedToken:
        """An upload token of ``oidc_token_minutes`` for a pipeline's ID token, or
        ``Unauthorized`` naming what failed (audited either way)."""
        claims: Mapping[str, Any] = {}
        try:
            try:
                header = jwt.get_unverified_header(token)
                claims = jwt.decode(token, options={"verify_signature": False})
            except jwt.PyJWTError:
                raise ExchangeRefused("oidc.token", "this is not a JWT") from None
            return self._exchange(token, header, claims, remote_addr)
        except ExchangeRefused as refused:
            self.audit.record_refusal(
                anonymous(remote_addr),
                "oidc.exchange",
                target=f"oidc:{str(claims.get('iss', '-'))[:200]}",
                rule=refused.rule,
                reason=refused.reason[:500],
                details={"claims": _audit_claims(claims)},
            )
            raise Unauthorized(f"OIDC token refused: {refused.reason}") from None

    def _exchange(
        self, token: str, header: Mapping[str, Any], claims: Mapping[str, Any], remote_addr: str
    ) -> IssuedToken:
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise ExchangeRefused("oidc.alg", f"algorithm {str(alg)[:20]!r} is not accepted")
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            raise ExchangeRefused("oidc.issuer", "the token names no issuer")
        with self.db.read() as session:
            trusts = list(
                session.scalars(
                    sa.select(OidcTrust).where(OidcTrust.issuer == issuer).order_by(OidcTrust.id)
                )
            )
        if not trusts:
            raise ExchangeRefused("oidc.issuer", f"no group trusts the issuer {issuer[:200]!r}")
        key = self.jwks.key(issuer, str(header.get("kid", "")))
        try:
            verified: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=sorted({t.audience for t in trusts}),
                issuer=issuer,
                options={
                    "verify_exp": False,  # checked below against the server's clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["iss", "aud", "exp", "jti"],
                },
            )
        except jwt.InvalidAudienceError:
            raise ExchangeRefused(
                "oidc.audience", "no trust of this issuer has this audience"
            ) from None
        except jwt.MissingRequiredClaimError as error:
            raise ExchangeRefused("oidc.token", str(error)) from None
        except jwt.PyJWTError as error:
            raise ExchangeRefused(
                "oidc.signature", f"the signature does not verify: {error}"
            ) from None
        now = self.clock.now()
        times = token_times(verified, now)
        if not times.allowed:
            raise ExchangeRefused(times.rule, times.reason)
        audiences = verified["aud"] if isinstance(verified["aud"], list) else [verified["aud"]]
        reason = "no trust of this issuer has this audience"
        chosen: OidcTrust | None = None
        for trust in trusts:
            if trust.audience not in audiences:
                continue
            match = claims_match(json.loads(trust.claims), verified)
            if match.allowed:
                chosen = trust
                break
            reason = match.reason
        if chosen is None:
            rule = (
                "oidc.claims" if reason.startswith(("claim", "the token has")) else "oidc.audience"
            )
            raise ExchangeRefused(rule, reason)
        return self._issue(chosen, issuer, verified, now, remote_addr)

    def _issue(
        self,
        trust: OidcTrust,
        issuer: str,
        claims: Mapping[str, Any],
        now: datetime,
        remote_addr: str,
    ) -> IssuedToken:
        jti = str(claims["jti"])[:200]
        secret, public_id, secret_hash = new_token()
        try:
            with self.db.write() as session:
                if session.get(OidcUsedToken, (issuer, jti)) is not None:
                    raise ExchangeRefused("oidc.replay", "this token was exchanged before")
                session.execute(sa.delete(OidcUsedToken).where(OidcUsedToken.expires_at < now))
                session.add(
                    OidcUsedToken(
                        issuer=issuer,
                        jti=jti,
                        expires_at=datetime.fromtimestamp(float(claims["exp"]), now.tzinfo)
                        + timedelta(minutes=5),
                    )
                )
                group = session.get(Group, trust.group_id)
                assert group is not None
                row = ApiToken(
                    public_id=public_id,
                    secret_hash=secret_hash,
                    user_id=trust.user_id,
                    kind="group",
                    name=f"oidc {claims.get('sub', '')!s}"[:100],
                    group_id=trust.group_id,
                    scope="upload",
                    created_at=now,
                    expires_at=now + timedelta(minutes=self.settings.oidc_token_minutes),
                )
                session.add(row)
                session.flush()
                robot = robot_name(group.name, public_id)
                self.audit.record(
                    session,
                    Principal(None, robot, anonymous().actor, remote_addr, public_id),
                    "oidc.exchange",
                    group=group.name,
                    target=f"token:{public_id}",
                    details={"trust": trust.id, "claims": _audit_claims(claims)},
                )
                return IssuedToken(secret, token_info(session, row))
        except IntegrityError:
            raise ExchangeRefused("oidc.replay", "this token was exchanged before") from None
