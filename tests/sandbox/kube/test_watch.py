"""Watch: event types, replay, bookmarks, timeouts, 410 and relisting, dropped streams."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import watch

from sandbox.kube import KubeStandIn
from tests.conftest import eventually
from tests.sandbox.kube.conftest import TOKEN, configmap, rollout


async def _lines(standin: KubeStandIn, path: str) -> list[dict[str, Any]]:
    """Every NDJSON line of a watch response, read until the server closes it."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(standin.url + path, headers=headers) as response,
    ):
        assert response.status == 200
        return [json.loads(line) async for line in response.content if line.strip()]


async def _collect(stream: watch.Watch, until: str, limit: int = 20) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    async for event in stream:
        events.append((event["type"], event["raw_object"]))
        if event["type"] == until or len(events) >= limit:
            break
    return events


async def test_watch_reports_added_modified_and_deleted(core: aclient.CoreV1Api) -> None:
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    await core.create_namespaced_config_map("default", configmap("a", k="1"))
    await core.patch_namespaced_config_map("a", "default", {"data": {"k": "2"}})
    await core.delete_namespaced_config_map("a", "default")
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5
        )
        events = await _collect(stream, until="DELETED")
    assert [t for t, _ in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1][1]["data"] == {"k": "2"}


async def test_watch_sees_changes_made_after_it_started(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5
        )
        task = asyncio.create_task(_collect(stream, until="ADDED"))
        await eventually(lambda: cluster.open_watches == 1)
        await core.create_namespaced_config_map("default", configmap("late"))
        events = await asyncio.wait_for(task, 10)
    assert events[0][1]["metadata"]["name"] == "late"


async def test_watch_without_resource_version_starts_with_current_state(
    core: aclient.CoreV1Api,
) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))
    await core.create_namespaced_config_map("default", configmap("b"))
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", timeout_seconds=5)
        events = await _collect(stream, until="never", limit=2)
    assert [(t, o["metadata"]["name"]) for t, o in events] == [("ADDED", "a"), ("ADDED", "b")]


async def test_bookmark_carries_the_current_resource_version(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=rv,
            allow_watch_bookmarks=True,
            timeout_seconds=5,
        )
        events = await _collect(stream, until="BOOKMARK")
        assert w.resource_version == str(cluster.resource_version)
    assert events[-1][0] == "BOOKMARK"
    assert set(events[-1][1]["metadata"]) == {"resourceVersion"}


async def test_no_bookmarks_unless_asked(cluster: KubeStandIn) -> None:
    lines = await _lines(
        cluster,
        f"/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1"
        f"&resourceVersion={cluster.resource_version}",
    )
    assert lines == []


@pytest.mark.parametrize("flag", ["true", "True", "1"])
async def test_watch_flag_spellings(cluster: KubeStandIn, flag: str) -> None:
    cluster.seed(configmap("a") | {"metadata": {"name": "a", "namespace": "default"}})
    lines = await _lines(
        cluster, f"/api/v1/namespaces/default/configmaps?watch={flag}&timeoutSeconds=1"
    )
    assert [line["type"] for line in lines] == ["ADDED"]


async def test_timeout_seconds_ends_the_stream(core: aclient.CoreV1Api) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=1
        )
        events = await asyncio.wait_for(_collect(stream, until="never"), 30)
    assert loop.time() - started < 10  # after timeoutSeconds, not the 30 minutes default
    assert all(t != "ERROR" for t, _ in events)


async def test_expired_resource_version_gets_an_error_event_with_410(
    cluster: KubeStandIn,
) -> None:
    cluster.seed(configmap("a") | {"metadata": {"name": "a", "namespace": "default"}})
    cluster.expire_history()
    path = "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1"
    lines = await _lines(cluster, path)
    assert [line["type"] for line in lines] == ["ERROR"]
    assert lines[0]["object"]["code"] == 410 and lines[0]["object"]["reason"] == "Expired"


async def test_asyncio_watch_raises_410_for_an_expired_version(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    await core.create_namespaced_config_map("default", configmap("a"))
    cluster.expire_history()
    with pytest.raises(aclient.ApiException) as caught:
        async with watch.Watch() as w:
            stream = w.stream(
                core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5
            )
            await _collect(stream, until="never")
    assert caught.value.status == 410


async def test_client_recovers_from_410_by_relisting(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    stale = (await core.list_namespaced_config_map("default")).metadata.resource_version
    await core.create_namespaced_config_map("default", configmap("a"))
    cluster.expire_history()

    try:
        async with watch.Watch() as w:
            stream = w.stream(
                core.list_namespaced_config_map,
                "default",
                resource_version=stale,
                timeout_seconds=5,
            )
            await _collect(stream, until="never")
    except aclient.ApiException as exc:
        assert exc.status == 410
    relisted = await core.list_namespaced_config_map("default")
    await core.create_namespaced_config_map("default", configmap("b"))
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=relisted.metadata.resource_version,
            timeout_seconds=5,
        )
        events = await _collect(stream, until="ADDED")
    assert [i.metadata.name for i in relisted.items] == ["a"]
    assert events == [("ADDED", events[0][1])] and events[0][1]["metadata"]["name"] == "b"


async def test_open_watch_receives_410_when_history_expires(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    lines_task = asyncio.create_task(
        _lines(cluster, f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}")
    )
    await eventually(lambda: cluster.open_watches == 1)
    cluster.expire_history(notify_watches=True)
    lines = await asyncio.wait_for(lines_task, 10)
    assert [line["type"] for line in lines] == ["ERROR"]
    assert lines[0]["object"]["code"] == 410


async def test_dropped_watch_ends_the_stream(core: aclient.CoreV1Api, cluster: KubeStandIn) -> None:
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=30
        )
        task = asyncio.create_task(_collect(stream, until="never"))
        await eventually(lambda: cluster.open_watches == 1)
        dropped = cluster.drop_watches()
        events = await asyncio.wait_for(task, 10)
    assert dropped == 1 and events == []


async def test_object_leaving_the_label_selection_is_seen_as_deleted(
    core: aclient.CoreV1Api,
) -> None:
    await core.create_namespaced_config_map("default", configmap("a", {"team": "x"}))
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    await core.patch_namespaced_config_map("a", "default", {"metadata": {"labels": None}})
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map,
            "default",
            label_selector="team=x",
            resource_version=rv,
            timeout_seconds=5,
        )
        events = await _collect(stream, until="DELETED")
    assert [t for t, _ in events] == ["DELETED"]


async def test_namespaced_watch_ignores_other_namespaces(core: aclient.CoreV1Api) -> None:
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    await core.create_namespaced_config_map("kube-system", configmap("elsewhere"))
    await core.create_namespaced_config_map("default", configmap("here"))
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5
        )
        events = await _collect(stream, until="ADDED")
    assert [o["metadata"]["name"] for _, o in events] == ["here"]


async def test_custom_object_watch_yields_dicts(custom: aclient.CustomObjectsApi) -> None:
    args = ("argoproj.io", "v1alpha1", "default", "rollouts")
    listed = await custom.list_namespaced_custom_object(*args)
    await custom.create_namespaced_custom_object(*args, rollout("r"))
    async with watch.Watch() as w:
        stream = w.stream(
            custom.list_namespaced_custom_object,
            *args,
            resource_version=listed["metadata"]["resourceVersion"],
            timeout_seconds=5,
        )
        events = await _collect(stream, until="ADDED")
    assert events[0][1]["kind"] == "Rollout"


async def test_send_initial_events_ends_with_marked_bookmark(cluster: KubeStandIn) -> None:
    cluster.seed(configmap("a") | {"metadata": {"name": "a", "namespace": "default"}})
    lines = await _lines(
        cluster,
        "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true"
        "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    assert [line["type"] for line in lines[:2]] == ["ADDED", "BOOKMARK"]
    annotations = lines[1]["object"]["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}


async def test_watch_without_timeout_reconnects_after_a_drop(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    rv = (await core.list_namespaced_config_map("default")).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(core.list_namespaced_config_map, "default", resource_version=rv)
        task = asyncio.create_task(_collect(stream, until="ADDED"))
        await eventually(lambda: cluster.open_watches == 1)
        cluster.drop_watches()
        await core.create_namespaced_config_map("default", configmap("after-drop"))
        events = await asyncio.wait_for(task, 10)
    assert events[0][1]["metadata"]["name"] == "after-drop"
    assert sum(1 for method, path in cluster.requests if "watch=" in path) == 2
