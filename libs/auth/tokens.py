"""Bearer JWTs: verifying the ones callers present, and minting them in sandbox mode.

Two ways to trust a token, chosen by configuration:
- HS256 with a shared secret (`WORKBENCH_JWT_SECRET`); `workbench token` mints these in sandbox
  mode, where the secret is generated once and kept in the state directory.
- RS256/ES256 against an OIDC issuer's published keys (`WORKBENCH_OIDC_JWKS_URL`), the way
  the platform's identity provider signs them. `jwks.KeySet` keeps the keys and fetches them
  again when a token names an unknown key id (rate-limited); an issuer that cannot be reached
  gives UNAVAILABLE, not UNAUTHENTICATED.

The username is the `preferred_username` claim, else `sub`. Expiry is always checked; issuer
and audience when configured.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from libs.auth.jwks import ALGORITHMS, KeySet
from libs.common.errors import Unauthenticated


@dataclass(frozen=True)
class Identity:
    username: str
    groups: tuple[str, ...] = field(default=())


class TokenVerifier:
    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        jwks_refetch_seconds: float = 30.0,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("configure WORKBENCH_JWT_SECRET or WORKBENCH_OIDC_JWKS_URL")
        self._secret = secret
        self.keys = KeySet(jwks_url, refetch_interval=jwks_refetch_seconds) if jwks_url else None
        self._issuer = issuer
        self._audience = audience

    async def verify(self, authorization: str | None) -> Identity:
        """The identity in an `Authorization: Bearer ...` value; Unauthenticated if none."""
        if not authorization:
            raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        token = token.strip()

        try:
            header = jwt.get_unverified_header(token)
            if self.keys is not None and header.get("alg") in ALGORITHMS:
                signing = await self.keys.key(header.get("kid"))
                key, algorithms = signing.key, [signing.algorithm_name]
            elif self.keys is not None and header.get("alg") != "HS256":
                raise Unauthenticated("the bearer token's algorithm is not RS256 or ES256")
            elif self._secret:
                key, algorithms = self._secret, ["HS256"]
            else:
                raise Unauthenticated("tokens signed with HS256 are not accepted here")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the bearer token has expired") from None
        except (jwt.PyJWTError, ValueError):
            raise Unauthenticated("the bearer token is not valid") from None

        username = claims.get("preferred_username") or claims.get("sub")
        if not isinstance(username, str) or not username:
            raise Unauthenticated("the bearer token names no user")
        groups = claims.get("groups") or ()
        return Identity(username, tuple(g for g in groups if isinstance(g, str)))


def mint(
    username: str,
    secret: str,
    *,
    ttl_seconds: int = 7 * 24 * 3600,
    groups: Sequence[str] = (),
) -> str:
    """An HS256 token for `username`, with `groups` if any (sandbox mode and tests)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": username,
        "preferred_username": username,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if groups:
        claims["groups"] = list(groups)
    return jwt.encode(claims, secret, algorithm="HS256")
