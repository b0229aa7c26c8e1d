"""Bearer token verification: HS256 with a shared secret, RS256 and ES256 against a served
JWKS, its key rotation and an issuer that cannot be reached."""

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
from libs.common.errors import Unauthenticated, Unavailable
from sandbox.ports import free_port
from tests.auth.issuer import Issuer, new_key

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


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    served = Issuer()
    served.add("k1")
    yield served
    served.stop()


async def test_es256_token_verifies_against_the_issuers_keys(issuer: Issuer) -> None:
    issuer.add("e1", "ES256")
    verifier = TokenVerifier(jwks_url=issuer.url)

    identity = await verifier.verify(f"Bearer {issuer.token('e1', preferred_username='carol')}")

    assert identity.username == "carol"


async def test_a_token_cannot_switch_the_algorithm_of_its_key(issuer: Issuer) -> None:
    issuer.add("e1", "ES256")
    rsa_signed = issuer.token("k1")
    _, payload, signature = rsa_signed.split(".")
    forged_header = jwt.utils.base64url_encode(
        json.dumps({"alg": "ES256", "kid": "k1", "typ": "JWT"}).encode()
    ).decode()

    with pytest.raises(Unauthenticated):
        await TokenVerifier(jwks_url=issuer.url).verify(
            f"Bearer {forged_header}.{payload}.{signature}"
        )


async def test_keys_are_fetched_once_and_kept(issuer: Issuer) -> None:
    verifier = TokenVerifier(jwks_url=issuer.url)

    for _ in range(3):
        await verifier.verify(f"Bearer {issuer.token('k1')}")

    assert issuer.fetches == 1


async def test_a_rotated_key_is_fetched_when_a_token_names_it(issuer: Issuer) -> None:
    verifier = TokenVerifier(jwks_url=issuer.url, jwks_refetch_seconds=0.0)
    await verifier.verify(f"Bearer {issuer.token('k1')}")

    issuer.keys.pop("k1")
    issuer.add("k2")
    identity = await verifier.verify(f"Bearer {issuer.token('k2', sub='dave')}")

    assert identity.username == "dave"
    assert issuer.fetches == 2


async def test_unknown_key_ids_fetch_the_keys_at_most_once_an_interval(issuer: Issuer) -> None:
    import asyncio

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Long enough for the 20 made-up tokens to be signed and refused on a busy machine.
    verifier = TokenVerifier(jwks_url=issuer.url, jwks_refetch_seconds=2.0)
    await verifier.verify(f"Bearer {issuer.token('k1')}")

    made_up = [issuer.token(f"x{i}", key=stranger) for i in range(20)]
    outcomes = await asyncio.gather(
        *(verifier.verify(f"Bearer {t}") for t in made_up), return_exceptions=True
    )
    assert all(isinstance(o, Unauthenticated) for o in outcomes)
    assert issuer.fetches == 1  # the first fetch is less than an interval old

    await asyncio.sleep(2.1)
    issuer.add("k3")
    await asyncio.gather(
        *(verifier.verify(f"Bearer {issuer.token('k3')}") for _ in range(5)),
    )
    assert issuer.fetches == 2


async def test_an_issuer_that_is_down_is_unavailable_not_unauthenticated() -> None:
    port = free_port()
    issuer = Issuer()
    issuer.add("k1")
    token = issuer.token("k1")
    issuer.stop()
    verifier = TokenVerifier(jwks_url=f"http://127.0.0.1:{port}/keys")

    with pytest.raises(Unavailable, match="try again"):
        await verifier.verify(f"Bearer {token}")


async def test_an_issuer_answering_an_error_is_unavailable(issuer: Issuer) -> None:
    issuer.status = 500

    with pytest.raises(Unavailable):
        await TokenVerifier(jwks_url=issuer.url).verify(f"Bearer {issuer.token('k1')}")


async def test_known_keys_stay_in_use_while_the_issuer_is_down(issuer: Issuer) -> None:
    verifier = TokenVerifier(jwks_url=issuer.url, jwks_refetch_seconds=0.0)
    assert verifier.keys is not None
    await verifier.verify(f"Bearer {issuer.token('k1')}")
    issuer.status = 503
    verifier.keys._max_age = 0.0  # every call now tries the issuer first

    identity = await verifier.verify(f"Bearer {issuer.token('k1', sub='erin')}")
    with pytest.raises(Unavailable):
        await verifier.verify(f"Bearer {issuer.token('k9', key=new_key('RS256'))}")

    assert identity.username == "erin"
    assert issuer.fetches == 3
