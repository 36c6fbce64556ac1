"""A tenant's signing keys for tests: RSA keys the test generates, published as a JWKS by a real HTTP server."""
from __future__ import annotations

import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fixtures.loopback_json import JsonServer

TENANT = "0b3c9e1a-7a52-4d1f-9a8e-2f6c1d5e4b3a"
CLIENT_ID = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class KeySet:
    """``keys`` (kid -> private key) published at ``url``; ``fetches`` counts the GETs."""

    def __init__(self):
        self.keys = {"key-1": new_key()}
        self.fetches = 0
        self.server = JsonServer(self._published)

    def _published(self, path, headers) -> dict:
        self.fetches += 1
        return {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": kid,
                          "use": "sig", "alg": "RS256"} for kid, k in self.keys.items()]}

    @property
    def url(self) -> str:
        return self.server.url(f"/{TENANT}/discovery/v2.0/keys")

    def close(self) -> None:
        self.server.close()


def token(key, kid: str = "key-1", version: str = "2.0", **claims) -> str:
    """An access token as Entra issues one for the app (v2.0 issuer unless ``version='1.0'``)."""
    now = int(time.time())
    issuer = f"https://login.microsoftonline.com/{TENANT}/v2.0" if version == "2.0" else \
        f"https://sts.windows.net/{TENANT}/"
    body = {"aud": CLIENT_ID, "iss": issuer, "iat": now, "nbf": now, "exp": now + 3600, "tid": TENANT,
            "preferred_username": "Alice@Example.com", "scp": "user_impersonation", "ver": version, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": kid})
