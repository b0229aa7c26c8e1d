"""An OIDC issuer's signing keys (its JWKS), fetched over HTTP and kept.

The keys are fetched on first use and kept for `max_age` seconds; after that the next token
fetches them again, and if the issuer does not answer then, the keys already known stay in
use. A token naming a key id the set lacks means the issuer rotated its keys: the set is
fetched again at once, but at most once every `refetch_interval` seconds, so tokens made up
with random key ids cannot turn every request into a request to the issuer. Concurrent
fetches are one fetch.

When the keys cannot be had (the issuer is down, or answers something that is not a key set)
and the token's key is not already known, the caller gets `Unavailable`, not
`Unauthenticated`: the token may be good, and the client should retry rather than sign in
again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

from libs.common.errors import Unauthenticated, Unavailable

logger = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")


class KeySet:
    def __init__(
        self,
        url: str,
        *,
        max_age: float = 600.0,
        refetch_interval: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self._max_age = max_age
        self._refetch_interval = refetch_interval
        self._timeout = timeout
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # monotonic time of the last attempt
        self._failure: str | None = None  # why the last attempt failed, if it did
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None) -> jwt.PyJWK:
        """The signing key `kid` names; Unavailable when the keys cannot be had."""
        if self._fetched_at is None or time.monotonic() - self._fetched_at >= self._max_age:
            await self._fetch(stale_after=self._max_age)
        elif kid not in self._keys:
            await self._fetch(stale_after=self._refetch_interval)

        found = self._keys.get(kid)
        if found is not None:
            return found
        if self._failure is not None:
            raise Unavailable("the identity provider's signing keys cannot be fetched; try again")
        raise Unauthenticated("the bearer token is not valid")

    async def _fetch(self, *, stale_after: float) -> None:
        async with self._lock:
            # Someone else may have fetched while this call waited for the lock.
            if self._fetched_at is not None and time.monotonic() - self._fetched_at < stale_after:
                return
            self._fetched_at = time.monotonic()
            self.fetches += 1
            try:
                keys = await self._download()
            except (httpx.HTTPError, ValueError) as error:
                self._failure = _describe(error)
                logger.warning("cannot fetch the JWKS at %s: %s", self.url, self._failure)
                return
            self._keys, self._failure = keys, None
            logger.info("fetched %d signing keys from %s", len(keys), self.url)

    async def _download(self) -> dict[str | None, jwt.PyJWK]:
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            answer = await client.get(self.url, headers={"Accept": "application/json"})
        answer.raise_for_status()
        document = answer.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("the answer is not a JSON Web Key Set")

        keys: dict[str | None, jwt.PyJWK] = {}
        for entry in document["keys"]:
            key = _signing_key(entry)
            if key is not None:
                keys[key.key_id] = key
        if not keys:
            raise ValueError("the key set holds no RS256 or ES256 signing key")
        return keys


def _signing_key(entry: Any) -> jwt.PyJWK | None:
    """A key of the set that can verify RS256 or ES256 signatures; None for any other."""
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    if entry.get("alg") is not None and entry["alg"] not in ALGORITHMS:
        return None
    try:
        return jwt.PyJWK(entry)
    except jwt.PyJWTError:
        return None


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"it answered HTTP {error.response.status_code}"
    if isinstance(error, httpx.HTTPError):
        return f"{type(error).__name__} ({error})" if str(error) else type(error).__name__
    return str(error)
