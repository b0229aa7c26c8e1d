"""A bounded schemathesis run over the REST API's own /openapi.json: no 5xx, and every
answer matches the document.

The stack runs in a thread with its own event loop, since schemathesis calls it from this
synchronous test through a blocking HTTP client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from libs.auth.tokens import mint
from services.apiserver.app import ApiServer
from services.devops_server.app import DevopsServer
from tests.conftest import stack_settings

EXAMPLES_PER_OPERATION = 8
# The API group whose every method is written (but for Pipelines' approval users); the rest
# answer UNIMPLEMENTED (501) for now.
IMPLEMENTED = ("/apis/amamba.io/",)


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[str, str]]:
    """The REST base URL of a stack running in a background thread, and an admin token."""
    config = stack_settings(database_url)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, object] = {}

    async def main() -> None:
        devops = DevopsServer(config)
        await devops.start()
        api = ApiServer(config)
        await api.start()
        state["port"] = api.http_port
        stop = asyncio.Event()
        state["stop"] = stop
        ready.set()
        await stop.wait()
        await api.stop()
        await devops.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the stack did not start"
    assert config.jwt_secret
    yield f"http://127.0.0.1:{state['port']}", mint("admin", config.jwt_secret)

    stop = state["stop"]
    assert isinstance(stop, asyncio.Event)
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


def test_no_operation_answers_5xx_or_off_document(served: tuple[str, str]) -> None:
    url, token = served
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path.startswith(IMPLEMENTED) and "Pipelines" not in (operation.tags or ())
    ]
    assert len(operations) >= 20
    failures: list[str] = []
    statuses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )
            statuses.append(response.status_code)

        try:
            exercise()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:2000])

    assert failures == []
    assert len(statuses) >= 2 * len(operations)
    assert 200 in statuses
