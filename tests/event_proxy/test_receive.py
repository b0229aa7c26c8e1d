"""The receiving side: what the plugin's POST gets back, and what lands in the outbox."""

from __future__ import annotations

import json
import sqlite3

import aiohttp
import pytest

from services.event_proxy.app import AMAMBA_WEBHOOK_PATH
from tests.event_proxy.conftest import ProxyFactory, Receiver, post, run_event


def stored_ids(proxy_outbox: object) -> list[str]:
    with sqlite3.connect(str(proxy_outbox)) as db:
        return [row[0] for row in db.execute("SELECT event_id FROM events ORDER BY seq")]


async def test_event_is_in_the_outbox_when_answered(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    await receiver.stop()
    proxy = await make_proxy()
    event = run_event("build", 1, "run.started")

    status, answer = await post(http, proxy, event)

    assert status == 200
    assert answer == {"id": event["id"], "duplicate": False}
    assert stored_ids(proxy.outbox.path) == [event["id"]]


async def test_amamba_webhook_path_takes_the_same_body(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    proxy = await make_proxy()
    event = run_event("build", 1, "run.started")

    status, _ = await post(http, proxy, event, path=AMAMBA_WEBHOOK_PATH)

    assert status == 200
    assert (await receiver.wait_for(1))[0].event["id"] == event["id"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'[{"id": "a", "type": "run.started"}]', "JSON object, not list"),
        (b'"run.started"', "JSON object, not str"),
        (b'{"type": "run.started"}', "'id'"),
        (b'{"id": 7, "type": "run.started"}', "'id'"),
        (b'{"id": "a", "type": ""}', "'type'"),
        (b'{"id": "a", "type": null}', "'type'"),
        (b'{"id": "a", "type": "run.started", "data": NaN}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
    ids=[
        "empty",
        "broken",
        "not-utf8",
        "array",
        "string",
        "no-id",
        "numeric-id",
        "empty-type",
        "null-type",
        "nan",
        "deeply-nested",
    ],
)
async def test_a_body_that_is_not_an_envelope_is_400_naming_the_problem(
    make_proxy: ProxyFactory, http: aiohttp.ClientSession, body: bytes, problem: str
) -> None:
    proxy = await make_proxy()

    status, answer = await post(http, proxy, body)

    assert status == 400
    assert problem in answer["error"]
    assert proxy.queue_depth() == 0


async def test_a_body_over_the_limit_is_413(
    make_proxy: ProxyFactory, http: aiohttp.ClientSession
) -> None:
    proxy = await make_proxy(max_body_bytes=4096)
    event = run_event("build", 1, "run.started")
    event["data"]["description"] = "x" * 5000

    status, answer = await post(http, proxy, event)

    assert status == 413
    assert "4096" in answer["error"]
    assert proxy.queue_depth() == 0


async def test_a_duplicate_id_is_stored_once(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    await receiver.stop()
    proxy = await make_proxy()
    event = run_event("build", 1, "run.started")

    first = await post(http, proxy, event)
    second = await post(http, proxy, event)

    assert first == (200, {"id": event["id"], "duplicate": False})
    assert second == (200, {"id": event["id"], "duplicate": True})
    assert stored_ids(proxy.outbox.path) == [event["id"]]


async def test_an_id_posted_again_after_delivery_is_not_delivered_again(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    proxy = await make_proxy()
    event = run_event("build", 1, "run.started")
    await post(http, proxy, event)
    await receiver.wait_for(1)
    await proxy.stop()  # commits the settlement
    proxy = await make_proxy()

    status, answer = await post(http, proxy, event)

    assert (status, answer["duplicate"]) == (200, True)
    assert proxy.queue_depth() == 0
    assert receiver.delivered_ids() == [event["id"]]


async def test_health_and_readiness_answer(
    make_proxy: ProxyFactory, http: aiohttp.ClientSession
) -> None:
    proxy = await make_proxy()

    for path, body in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
        async with http.get(f"http://127.0.0.1:{proxy.port}{path}") as response:
            assert response.status == 200
            assert json.loads(await response.read()) == body


async def test_a_failing_disk_is_503_not_500(
    make_proxy: ProxyFactory, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await make_proxy()

    def disk_error(*args: object) -> list[bool]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(proxy.outbox._db, "commit", disk_error)
    status, answer = await post(http, proxy, run_event("build", 1, "run.started"))
    monkeypatch.undo()
    after = await post(http, proxy, run_event("build", 1, "run.completed"))

    assert (status, answer) == (503, {"error": "the outbox cannot store events right now"})
    assert after[0] == 200
