"""Entra ID bearer tokens, validated by the product itself: for scripts that download invoices.

A browser signs in through App Service authentication (X-MS-CLIENT-PRINCIPAL, chargeback.owners.identity);
a script sends ``Authorization: Bearer <access token>`` for the app registration. The token is accepted only
when its signature verifies with one of the tenant's published signing keys (JWKS), it was issued by the
tenant (v1 or v2 issuer), it is for this app (audience) and it is within its lifetime. Entra signs access
tokens with RS256 (Microsoft identity platform, "Access tokens": validate signature, iss, aud, exp/nbf).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import jwt

from chargeback.errors import Unauthenticated
from chargeback.owners.identity import Principal, principal_from_headers
from chargeback.settings import Settings

_EMAIL_CLAIMS = ("preferred_username", "email", "upn", "unique_name")
_MAX_TOKEN = 16_384          # an Entra access token is a few KB; refuse anything absurd before parsing
_LEEWAY_SECONDS = 60         # clock skew between Entra and this host


def issuers(tenant_id: str) -> list[str]:
    """What the tenant writes in ``iss``: v2.0 tokens and v1.0 tokens (accessTokenAcceptedVersion 1 or null)."""
    return [f"https://login.microsoftonline.com/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"]


def jwks_url(settings: Settings) -> str:
    return settings.entra_jwks_url or \
        f"https://login.microsoftonline.com/{settings.entra_tenant_id}/discovery/v2.0/keys"


class BearerValidator:
    """Checks tokens of one tenant and app; the key set is fetched once and refreshed when a new key id
    appears (Entra rolls its keys) or after ``lifespan`` seconds."""

    def __init__(self, tenant_id: str, audiences: tuple[str, ...], keys_url: str, lifespan: float = 3600,
                 refresh_cooldown: float = 30):
        if not tenant_id or not audiences:
            raise ValueError("a tenant id and at least one audience are needed")
        self.issuers = issuers(tenant_id)
        self.audiences = list(audiences)
        # An unknown key id refetches the set at most once per cooldown: forged key ids cannot flood Entra.
        self._keys = jwt.PyJWKClient(keys_url, cache_keys=True, lifespan=lifespan, timeout=10,
                                     cooldown_duration=refresh_cooldown)

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims if it is valid for this app, else Unauthenticated (why, without the token)."""
        if not token or len(token) > _MAX_TOKEN:
            raise Unauthenticated("the bearer token is empty or too long")
        try:
            key = self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise Unauthenticated("the tenant's signing keys could not be fetched; try again shortly") from None
        except jwt.PyJWTError as exc:   # malformed, or signed by a key the tenant does not publish
            raise Unauthenticated(f"the bearer token was refused: {exc}") from None
        try:
            return jwt.decode(token, key.key, algorithms=["RS256"], audience=self.audiences, issuer=self.issuers,
                              leeway=_LEEWAY_SECONDS, options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as exc:   # bad signature, wrong issuer or audience, expired, not yet valid
            raise Unauthenticated(f"the bearer token was refused: {exc}") from None

    def principal(self, token: str) -> Principal:
        """The caller of a valid token: a user by their sign-in name, an application (client credentials) by
        ``app:<client id>``, which only an app role can make an admin."""
        claims = self.claims(token)
        roles = claims.get("roles") or []
        role_set = frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset()
        groups = claims.get("groups") or []   # group object ids (groupMembershipClaims); absent on overage
        group_set = frozenset(str(g).strip().lower() for g in groups) if isinstance(groups, list) else frozenset()
        email = next((str(claims[c]) for c in _EMAIL_CLAIMS if "@" in str(claims.get(c, ""))), "")
        if email:
            return Principal(email.strip().lower(), role_set, group_set)
        app = claims.get("azp") or claims.get("appid")
        if claims.get("idtyp") == "app" or (app and not claims.get("scp")):
            return Principal(f"app:{app}", role_set, group_set)
        raise Unauthenticated("the bearer token names no user (no preferred_username, email or upn claim)")


_validators: dict[tuple[str, tuple[str, ...], str], BearerValidator] = {}
_lock = threading.Lock()


def validator_for(settings: Settings) -> BearerValidator | None:
    """The process's validator for these settings (its key cache is shared), or None if not configured."""
    if not settings.entra_tenant_id or not settings.entra_audiences:
        return None
    key = (settings.entra_tenant_id, settings.entra_audiences, jwks_url(settings))
    with _lock:
        if key not in _validators:
            _validators[key] = BearerValidator(*key)
        return _validators[key]


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def principal_of(headers: Mapping[str, str], settings: Settings) -> Principal:
    """The caller of an owners' route: a bearer token the product validates when one is sent and Entra is
    configured, otherwise App Service authentication's principal header."""
    token = bearer_token(headers)
    validator = validator_for(settings)
    if token is not None and validator is not None:
        return validator.principal(token)
    return principal_from_headers(headers, settings)
