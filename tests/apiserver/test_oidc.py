"""apiserver configured with WORKBENCH_OIDC_JWKS_URL: an issuer's tokens on real RPCs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from amamba.core.v1alpha1 import core_pb2, core_pb2_grpc

from tests.apiserver.conftest import Stack, running
from tests.auth.issuer import Issuer
from tests.conftest import stack_settings

MGMT = "/apis/amamba.io/v1alpha1/management"


# Long enough for the requests a test makes "within the interval" to fit in it on a busy machine.
REFETCH = 2.0


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    served = Issuer()
    served.add("rsa-1")
    served.add("ec-1", "ES256")
    yield served
    served.stop()


@pytest.fixture
async def oidc_stack(database_url: str, issuer: Issuer) -> AsyncIterator[Stack]:
    settings = stack_settings(
        database_url, oidc_jwks_url=issuer.url, oidc_jwks_refetch_seconds=REFETCH
    )
    async with running(settings) as started:
        yield started


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_rs256_token_of_the_issuer_is_accepted_over_rest(
    oidc_stack: Stack, issuer: Issuer
) -> None:
    token = issuer.token("rsa-1", preferred_username="admin")

    made = await oidc_stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=bearer(token)
    )

    assert made.status_code == 200, made.text


async def test_an_es256_token_of_the_issuer_is_accepted_over_grpc(
    oidc_stack: Stack, issuer: Issuer
) -> None:
    token = issuer.token("ec-1", preferred_username="bob")

    async with grpc.aio.insecure_channel(oidc_stack.grpc_target) as channel:
        answer = await core_pb2_grpc.CoreStub(channel).ListVisibleWorkspaces(
            core_pb2.ListVisibleWorkspacesRequest(), metadata=[("authorization", f"Bearer {token}")]
        )

    assert list(answer.items) == []


async def test_a_rotated_key_is_accepted_and_a_made_up_one_refused(
    oidc_stack: Stack, issuer: Issuer
) -> None:
    first = await oidc_stack.http.get(
        f"{MGMT}/feature-gates", headers=bearer(issuer.token("rsa-1"))
    )
    await asyncio.sleep(REFETCH + 0.1)  # the refetch interval since the first fetch
    issuer.add("rsa-2")
    rotated = await oidc_stack.http.get(
        f"{MGMT}/feature-gates", headers=bearer(issuer.token("rsa-2"))
    )
    fetched = issuer.fetches
    issuer.add("rsa-3")
    made_up = await oidc_stack.http.get(
        f"{MGMT}/feature-gates", headers=bearer(issuer.token("rsa-3"))
    )

    assert (first.status_code, rotated.status_code) == (200, 200)
    assert fetched == 2
    # Within the refetch interval a new key id is not looked for again.
    assert made_up.status_code == 401
    assert issuer.fetches == fetched


async def test_an_issuer_that_is_down_gives_503_not_401(oidc_stack: Stack, issuer: Issuer) -> None:
    token = issuer.token("rsa-1")
    issuer.status = 502

    answer = await oidc_stack.http.get(f"{MGMT}/feature-gates", headers=bearer(token))

    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert "try again" in answer.json()["message"]


async def test_hs256_tokens_still_work_beside_the_issuer(oidc_stack: Stack) -> None:
    answer = await oidc_stack.http.get(f"{MGMT}/feature-gates", headers=oidc_stack.auth("bob"))

    assert answer.status_code == 200
