"""The portal form's cross-site checks and tokens (chargeback/owners/csrf.py)."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from chargeback.errors import Forbidden
from chargeback.owners.csrf import MIN_KEY_LENGTH, TOKEN_LIFETIME, form_key, issue, refuse_cross_site, verify, why_off
from chargeback.settings import Settings

KEY = b"0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
URL = "http://chargeback.azurewebsites.net/api/portal/months/2026-10/rerun"


def refused(headers: dict, url: str = URL) -> str:
    with pytest.raises(Forbidden) as caught:
        refuse_cross_site(headers, url)
    return str(caught.value)


@pytest.mark.parametrize("headers", [
    {},                                                                                # curl, scripts: no headers
    {"Sec-Fetch-Site": "same-origin"},
    {"sec-fetch-site": "Same-Origin", "Origin": "https://chargeback.azurewebsites.net"},   # TLS ended in front
    {"Origin": "https://CHARGEBACK.azurewebsites.net"},
    {"Host": "portal.contoso.com", "Origin": "https://portal.contoso.com"},               # a custom domain
    {"Host": "chargeback.azurewebsites.net", "X-Forwarded-Host": "portal.contoso.com",
     "Origin": "https://portal.contoso.com"},                                             # a front door
])
def test_same_origin_requests_pass(headers):
    refuse_cross_site(headers, URL)


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Sec-Fetch-Site": "cross-site"}, "cross-site request"),
    ({"Sec-Fetch-Site": "same-site"}, "same-site request"),   # a sibling subdomain is another origin
    ({"Sec-Fetch-Site": "none"}, "none request"),
    ({"Origin": "https://evil.example"}, "Origin is not this site"),
    ({"Origin": "null"}, "Origin is not this site"),
    ({"Origin": "https://chargeback.azurewebsites.net.evil.example"}, "Origin is not this site"),
    ({"Origin": "https://chargeback.azurewebsites.net:8443"}, "Origin is not this site"),
    ({"Origin": "https://chargeback.azurewebsites.net/path"}, "Origin is not this site"),
    ({"Origin": "javascript://chargeback.azurewebsites.net"}, "Origin is not this site"),
    ({"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"}, "Origin is not this site"),
])
def test_cross_site_requests_are_refused_with_the_reason(headers, reason):
    assert reason in refused(headers)


def independent_token(key: bytes, principal: str, month: str, expires: int) -> str:
    """The documented format, written out here: expiry '.' base64url(HMAC-SHA256(purpose, principal, month,
    expiry joined by U+001F)) without padding."""
    message = f"chargeback portal rerun\x1f{principal}\x1f{month}\x1f{expires}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return f"{expires}." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def test_a_token_is_the_documented_hmac_and_lives_four_hours():
    expires = int(datetime(2026, 11, 3, 13, 30, tzinfo=UTC).timestamp())   # NOW + 4 h
    assert issue(KEY, "finance@example.com", "2026-10", NOW) == independent_token(KEY, "finance@example.com",
                                                                                 "2026-10", expires)


def test_a_token_verifies_for_its_principal_and_month_until_it_expires():
    token = issue(KEY, "finance@example.com", "2026-10", NOW)
    verify(KEY, token, "finance@example.com", "2026-10", NOW)
    verify(KEY, token, "Finance@Example.com", "2026-10", NOW + TOKEN_LIFETIME - timedelta(seconds=1))
    cases = [(token, "other@example.com", "2026-10", NOW, "not valid for you"),
             (token, "finance@example.com", "2026-09", NOW, "not valid for you"),
             (token, "finance@example.com", "2026-10", NOW + TOKEN_LIFETIME, "has expired"),
             (token.replace(".", ".x", 1), "finance@example.com", "2026-10", NOW, "not valid for you"),
             (str(int(token.split(".")[0]) + 3600) + "." + token.split(".")[1], "finance@example.com", "2026-10",
              NOW, "not valid for you"),   # a longer life written into a genuine token
             ("", "finance@example.com", "2026-10", NOW, "no token"),
             ("12.", "finance@example.com", "2026-10", NOW, "malformed"),
             ("-12.abc", "finance@example.com", "2026-10", NOW, "malformed"),
             ("١٢.abc", "finance@example.com", "2026-10", NOW, "malformed"),      # non-ASCII digits
             ("12.\u00e9", "finance@example.com", "2026-10", NOW, "not valid for you")]
    for sent, who, month, now, reason in cases:
        with pytest.raises(Forbidden, match=reason):
            verify(KEY, sent, who, month, now)
    with pytest.raises(Forbidden, match="not valid for you"):
        verify(b"another key of at least thirty-two bytes", token, "finance@example.com", "2026-10", NOW)


def test_without_a_key_the_form_is_off_except_in_loopback_development():
    assert form_key(Settings(csrf_key="x" * MIN_KEY_LENGTH)) == b"x" * MIN_KEY_LENGTH
    assert form_key(Settings()) is None and why_off(Settings()) == "CHARGEBACK_CSRF_KEY is not set"
    short = Settings(csrf_key="x" * (MIN_KEY_LENGTH - 1), local_auth="loopback")
    assert form_key(short) is None and "shorter than 32" in why_off(short)
    assert form_key(Settings(platform_auth=True, local_auth="loopback")) is None   # Azure: never made up
    dev = form_key(Settings(local_auth="loopback"))
    assert dev is not None and len(dev) == 32 and form_key(Settings(local_auth="loopback")) == dev
    with pytest.raises(Forbidden, match="rerun form is off: CHARGEBACK_CSRF_KEY is not set"):
        verify(None, "1.abc", "finance@example.com", "2026-10", NOW, off=why_off(Settings()))


def test_settings_read_the_key_and_never_print_it():
    s = Settings.from_env({"CHARGEBACK_CSRF_KEY": "  secret-key-of-some-length-0123456789  "})
    assert s.csrf_key == "secret-key-of-some-length-0123456789"
    assert "secret" not in repr(s)
