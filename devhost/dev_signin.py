"""A local stand-in for App Service authentication: every request arrives signed in as one user.

Like the platform, it drops any X-MS-CLIENT-PRINCIPAL the client sent and adds its own, so a browser
(which cannot set that header) can open the portal locally. Loopback development mode only: the
functions trust the header only when CHARGEBACK_LOCAL_AUTH=loopback.
"""
from __future__ import annotations

from chargeback.owners.identity import PRINCIPAL_HEADER, encode_principal


class SignedInAs:
    """Wraps a LocalHttpHost (anything with ``handle``); use it with http_host.make_server."""

    def __init__(self, inner, email: str, roles: tuple[str, ...] = ()):
        self.inner = inner
        self.header = encode_principal(email, roles)

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes):
        kept = {k: v for k, v in headers.items() if k.lower() != PRINCIPAL_HEADER}
        return self.inner.handle(method, url, {**kept, "X-MS-CLIENT-PRINCIPAL": self.header}, body)
