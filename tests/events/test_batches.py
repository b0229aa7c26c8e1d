"""event-proxy's way in: many envelopes in one post, each answered, applied in order once."""

from __future__ import annotations

import json
import random
from typing import Any

from tests.events.conftest import Receiver
from tests.events.test_receiver import envelope
from tests.events.test_run_events import build_events, pipeline, query, runs


def build_two(workspace_id: int) -> list[dict[str, Any]]:
    """The four events of the pipeline's build 2."""
    events = build_events(workspace_id)
    for event in events:
        event["data"]["number"] = 2
        event["url"] = event["url"].replace("/1/", "/2/")
    return events


async def test_a_builds_events_shuffled_and_repeated_in_one_batch_give_its_final_state(
    receiver: Receiver,
) -> None:
    workspace_id = await pipeline(receiver)
    events = build_events(workspace_id, result="FAILURE")
    posted = events + events[:2]
    random.Random(3).shuffle(posted)

    answer = await receiver.post_batch(posted)

    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["id"] for r in results] == [e["id"] for e in posted]
    assert [r["status"] for r in results] == [200] * 6
    assert sum(r["message"] == "seen before" for r in results) == 2
    assert [(r["seq"], r["state"]) for r in await runs(receiver)] == [(1, "FAILED")]
    summary = await query(receiver, "SELECT last_run_state, total_runs, weather FROM pipelines")
    assert tuple(summary[0]) == ("FAILED", 1, "STORM")


async def test_builds_of_many_pipelines_in_one_batch_are_numbered_in_arrival_order(
    receiver: Receiver,
) -> None:
    workspace_id = await pipeline(receiver)
    first, second = build_events(workspace_id), build_two(workspace_id)
    posted = [first[0], second[0], *first[1:], *second[1:]]

    answer = await receiver.post_batch(posted)

    assert answer.status_code == 200
    stored = await query(receiver, "SELECT seq, build_number, state FROM runs ORDER BY seq")
    assert [tuple(r) for r in stored] == [(1, 1, "SUCCESS"), (2, 2, "SUCCESS")]
    summary = await query(receiver, "SELECT total_runs, total_successes FROM pipelines")
    assert tuple(summary[0]) == (2, 2)


async def test_a_malformed_element_is_refused_alone_and_kept(receiver: Receiver) -> None:
    workspace_id = await pipeline(receiver)
    events = build_events(workspace_id)
    broken = envelope(type="run.exploded")
    posted = [events[0], broken, *events[1:]]

    answer = await receiver.post_batch(posted)

    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [200, 400, 200, 200, 200]
    assert "type" in results[1]["message"] and results[1]["id"] == broken["id"]
    assert [r["state"] for r in await runs(receiver)] == ["SUCCESS"]
    kept = await query(receiver, "SELECT reason, body FROM rejected_events")
    assert len(kept) == 1 and json.loads(kept[0]["body"])["id"] == broken["id"]


async def test_a_batch_that_is_not_an_array_of_envelopes_is_a_400(receiver: Receiver) -> None:
    not_an_array = await receiver.post_batch(envelope())
    too_many = await receiver.post_batch([envelope() for _ in range(1001)])
    not_json = await receiver.http.post(
        "/apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins:batch",
        content=b"[{",
        headers=receiver.headers(),
    )

    assert not_an_array.status_code == too_many.status_code == not_json.status_code == 400
    assert "array" in not_an_array.json()["message"]
    assert "1000" in too_many.json()["message"]
    assert await query(receiver, "SELECT id FROM jenkins_events") == []


async def test_a_batch_needs_the_token_and_a_registered_instance(receiver: Receiver) -> None:
    unauthenticated = await receiver.post_batch([envelope()], token="not-the-token")
    unknown = await receiver.post_batch([envelope()], instance="jenkins-z")

    assert (unauthenticated.status_code, unknown.status_code) == (401, 403)
    assert await query(receiver, "SELECT id FROM jenkins_events") == []


async def test_an_event_that_cannot_be_applied_holds_back_only_its_own_build(
    receiver: Receiver,
) -> None:
    workspace_id = await pipeline(receiver)
    stuck, other = build_events(workspace_id), build_two(workspace_id)
    # The database itself refuses the second event of build 1, as a broken row would.
    await query(
        receiver,
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.id = '{stuck[1]['id']}' THEN RAISE EXCEPTION 'refused'; END IF;"
        " RETURN NEW; END $$",
    )
    await query(
        receiver,
        "CREATE TRIGGER refuse_one BEFORE INSERT ON jenkins_events"
        " FOR EACH ROW EXECUTE FUNCTION refuse_one()",
    )

    answer = await receiver.post_batch([*stuck, *other])

    assert answer.status_code == 200
    statuses = [r["status"] for r in answer.json()["results"]]
    assert statuses == [200, 500, 500, 500, 200, 200, 200, 200]
    stored = await query(receiver, "SELECT build_number, state FROM runs ORDER BY build_number")
    assert [tuple(r) for r in stored] == [(1, "RUNNING"), (2, "SUCCESS")]
