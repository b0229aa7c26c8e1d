"""A stand-in OIDC issuer: signing keys, a JWKS served over HTTP, tokens signed with them."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def new_key(algorithm: str) -> PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Issuer:
    """Publishes `keys` (kid -> private key) at `url`; `fetches` counts the key set's reads."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, PrivateKey]] = {}
        self.fetches = 0
        self.status = 200
        issuer = self

        class Keys(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                body = json.dumps(issuer.jwks()).encode()
                self.send_response(issuer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self._server = HTTPServer(("127.0.0.1", 0), Keys)
        self.url = f"http://127.0.0.1:{self._server.server_port}/keys"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, kid: str, algorithm: str = "RS256") -> None:
        self.keys[kid] = (algorithm, new_key(algorithm))

    def jwks(self) -> dict[str, Any]:
        published = []
        for kid, (algorithm, key) in self.keys.items():
            family = (
                jwt.algorithms.ECAlgorithm if algorithm == "ES256" else jwt.algorithms.RSAAlgorithm
            )
            public = json.loads(family.to_jwk(key.public_key()))
            published.append({**public, "kid": kid, "use": "sig", "alg": algorithm})
        return {"keys": published}

    def token(self, kid: str, *, key: PrivateKey | None = None, **claims: object) -> str:
        algorithm, known = self.keys.get(kid, ("RS256", None))
        signing = key or known
        assert signing is not None
        now = int(time.time())
        payload = {"sub": "alice", "iat": now, "exp": now + 60, **claims}
        return jwt.encode(payload, signing, algorithm=algorithm, headers={"kid": kid})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
