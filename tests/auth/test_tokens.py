"""Bearer token verification: HS256 with a shared secret, RS256 against a served JWKS."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from libs.auth.tokens import TokenVerifier, mint
from libs.common.errors import Unauthenticated

SECRET = "s" * 32


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """An issuer's key set, served over HTTP as an OIDC provider publishes it."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/keys"
    server.shutdown()


def rs256(key: rsa.RSAPrivateKey, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": "alice", "iat": now, "exp": now + 60, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


async def test_minted_token_names_its_user() -> None:
    identity = await TokenVerifier(secret=SECRET).verify(f"Bearer {mint('bob', SECRET)}")

    assert identity.username == "bob"


async def test_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="not valid"):
        await TokenVerifier(secret=SECRET).verify(f"Bearer {mint('bob', 'x' * 32)}")


async def test_expired_token_is_refused() -> None:
    token = mint("bob", SECRET, ttl_seconds=-10)

    with pytest.raises(Unauthenticated, match="expired"):
        await TokenVerifier(secret=SECRET).verify(f"Bearer {token}")


async def test_missing_or_malformed_header_is_refused() -> None:
    verifier = TokenVerifier(secret=SECRET)

    with pytest.raises(Unauthenticated, match="missing"):
        await verifier.verify(None)
    with pytest.raises(Unauthenticated, match="Bearer"):
        await verifier.verify(f"Basic {mint('bob', SECRET)}")


async def test_rs256_token_verifies_against_the_issuers_keys(
    rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, issuer="https://idp", audience="workbench")
    token = rs256(
        rsa_key, iss="https://idp", aud="workbench", preferred_username="alice", groups=["ops"]
    )

    identity = await verifier.verify(f"Bearer {token}")

    assert (identity.username, identity.groups) == ("alice", ("ops",))


async def test_rs256_token_for_another_audience_is_refused(
    rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, issuer="https://idp", audience="workbench")

    with pytest.raises(Unauthenticated):
        await verifier.verify(f"Bearer {rs256(rsa_key, iss='https://idp', aud='other')}")


async def test_rs256_token_from_an_unknown_key_is_refused(jwks_url: str) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = TokenVerifier(jwks_url=jwks_url)

    with pytest.raises(Unauthenticated):
        await verifier.verify(f"Bearer {rs256(stranger)}")


async def test_hs256_token_is_refused_when_only_jwks_is_configured(jwks_url: str) -> None:
    with pytest.raises(Unauthenticated):
        await TokenVerifier(jwks_url=jwks_url).verify(f"Bearer {mint('bob', SECRET)}")
