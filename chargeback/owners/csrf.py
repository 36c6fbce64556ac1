"""Cross-site protection for the portal's forms (the admin's Rerun button), in the product itself.

Two independent checks, both needed before a POST changes anything:

1. Where the request came from. ``Sec-Fetch-Site`` (Fetch Metadata, sent by every current browser) must
   be ``same-origin`` when present; ``Origin`` (sent on every POST, also by older browsers) must name this
   site when present. Neither header can be set by a page's script or form (forbidden request headers,
   https://fetch.spec.whatwg.org/#forbidden-request-header), so only a non-browser client omits them, and
   such a client has no victim's cookies to ride on.
2. A token in the form: HMAC-SHA256 under ``CHARGEBACK_CSRF_KEY`` over the principal, the month and an
   expiry. Another site cannot read the portal page, so it cannot learn a token; a token copied from one
   admin's page does not work for another admin, another month, or after it expires.

No key configured: the form is off and its POSTs are refused with a reason, since a key made up per
process would break the form whenever a second instance of the Function App answers the POST. The one
exception is loopback development mode (``chargeback serve``, tests): one process, so a key per process.
Tokens are never logged; compared in constant time (hmac.compare_digest).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from chargeback.errors import Forbidden
from chargeback.settings import Settings

TOKEN_LIFETIME = timedelta(hours=4)   # a portal page left open longer asks for a reload
MIN_KEY_LENGTH = 32                   # characters of CHARGEBACK_CSRF_KEY, e.g. `openssl rand -base64 32`
_PURPOSE = "chargeback portal rerun"  # a token for this form is never valid for another one


class _ProcessKey:
    """The loopback development mode's key: made once per process, never written anywhere."""

    def __init__(self) -> None:
        self.value: bytes | None = None
        self.lock = threading.Lock()

    def get(self) -> bytes:
        with self.lock:
            if self.value is None:
                self.value = secrets.token_bytes(32)
            return self.value


_process_key = _ProcessKey()


def form_key(settings: Settings) -> bytes | None:
    """The key that signs form tokens, or None when the form is off (see ``why_off``)."""
    if len(settings.csrf_key) >= MIN_KEY_LENGTH:
        return settings.csrf_key.encode("utf-8")
    if not settings.csrf_key and settings.local_auth == "loopback" and not settings.platform_auth:
        return _process_key.get()
    return None


def why_off(settings: Settings) -> str:
    """Why ``form_key`` is None, for the portal's note and the refused POST."""
    if settings.csrf_key:
        return f"CHARGEBACK_CSRF_KEY is shorter than {MIN_KEY_LENGTH} characters"
    return "CHARGEBACK_CSRF_KEY is not set"


def _signature(key: bytes, principal: str, month: str, expires: int) -> str:
    message = "\x1f".join((_PURPOSE, principal.lower(), month, str(expires))).encode("utf-8")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def issue(key: bytes, principal: str, month: str, now: datetime) -> str:
    """A token for ``principal`` (their email) to rerun ``month``, valid for TOKEN_LIFETIME from ``now``."""
    expires = int((now + TOKEN_LIFETIME).timestamp())
    return f"{expires}.{_signature(key, principal, month, expires)}"


def verify(key: bytes | None, token: str, principal: str, month: str, now: datetime, off: str = "") -> None:
    """Forbidden (with the reason) unless ``token`` was issued under ``key`` to ``principal`` for ``month``
    and has not expired. The signature is checked first, so "expired" is only said of a genuine token."""
    if key is None:
        raise Forbidden(f"the portal's rerun form is off: {off or 'no key is configured'}")
    if not token:
        raise Forbidden("the form carries no token: reload the portal and try again")
    expires_text, _, signature = token.partition(".")
    if not (expires_text.isascii() and expires_text.isdigit() and signature):
        raise Forbidden("the form's token is malformed: reload the portal and try again")
    expected = _signature(key, principal, month, int(expires_text))
    if not hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode("ascii")):
        raise Forbidden("the form's token is not valid for you and this month: reload the portal and try again")
    if int(expires_text) <= int(now.timestamp()):
        raise Forbidden("the form has expired: reload the portal and try again")


def refuse_cross_site(headers: Mapping[str, str], url: str) -> None:
    """Forbidden when the browser says the request comes from another site (Sec-Fetch-Site, Origin)."""
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    site = lower.get("sec-fetch-site", "").lower()
    if site and site != "same-origin":
        raise Forbidden(f"refused: a {site[:20]} request (Sec-Fetch-Site) may not start a run; use the portal")
    origin = lower.get("origin", "")
    if origin and not _same_origin(origin, lower, url):
        raise Forbidden("refused: the request's Origin is not this site; use the portal")


def _same_origin(origin: str, headers: Mapping[str, str], url: str) -> bool:
    """Whether ``origin`` names the host this request was sent to. ``Origin: null`` (sandboxed frames,
    no-referrer pages) never does. The scheme is not compared: TLS ends at App Service's front end, so
    the worker may see http for an https request; the host is what another site cannot share."""
    parts = urlsplit(origin.lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        return False
    own = {headers.get("host", ""), urlsplit(url).netloc,
           # Set by a front door that rewrites Host (Front Door, App Gateway); a page cannot set it on a
           # form POST, and a script's custom header needs a CORS preflight this app never grants.
           headers.get("x-forwarded-host", "").split(",")[0]}
    return parts.netloc in {h.strip().lower() for h in own if h.strip()}
