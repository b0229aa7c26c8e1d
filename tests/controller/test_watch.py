"""ListWatch against the Kubernetes stand-in: events, resumption, and relisting after 410."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client as aclient

from libs.controller.watch import ListWatch
from sandbox.kube import KubeStandIn
from tests.conftest import eventually

Seen = list[tuple[str, str]]


def configmap(name: str, **data: str) -> aclient.V1ConfigMap:
    return aclient.V1ConfigMap(metadata=aclient.V1ObjectMeta(name=name), data=data)


@pytest.fixture
def core(api: aclient.ApiClient) -> aclient.CoreV1Api:
    return aclient.CoreV1Api(api)


@pytest.fixture
async def watching(core: aclient.CoreV1Api) -> AsyncIterator[tuple[ListWatch, Seen]]:
    seen: Seen = []

    def handler(event_type: str, obj: dict[str, Any]) -> None:
        seen.append((event_type, obj["metadata"]["name"]))

    await core.create_namespaced_config_map("default", configmap("before", a="1"))
    lister = ListWatch(core.list_namespaced_config_map, handler, namespace="default")
    task = asyncio.create_task(lister.run())
    await asyncio.wait_for(lister.synced.wait(), 10)
    yield lister, seen
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_reports_listed_objects_then_added_modified_deleted(
    core: aclient.CoreV1Api, watching: tuple[ListWatch, Seen]
) -> None:
    _, seen = watching
    assert ("ADDED", "before") in seen

    await core.create_namespaced_config_map("default", configmap("cm", a="1"))
    await core.patch_namespaced_config_map("cm", "default", {"data": {"a": "2"}})
    await core.delete_namespaced_config_map("cm", "default")

    await eventually(lambda: ("DELETED", "cm") in seen)
    events = [event for event in seen if event[1] == "cm"]
    assert events == [("ADDED", "cm"), ("MODIFIED", "cm"), ("DELETED", "cm")]


async def test_resumes_after_the_server_drops_watches(
    core: aclient.CoreV1Api, control_plane: KubeStandIn, watching: tuple[ListWatch, Seen]
) -> None:
    lister, seen = watching
    await eventually(lambda: control_plane.open_watches == 1)
    assert control_plane.drop_watches() == 1

    await core.create_namespaced_config_map("default", configmap("after-drop"))
    await eventually(lambda: ("ADDED", "after-drop") in seen)
    assert lister.relists == 1  # resumed from the last version, no relist
    assert seen.count(("ADDED", "before")) == 1  # nothing replayed


async def test_relists_after_history_expires_and_reports_missed_deletions(
    core: aclient.CoreV1Api, control_plane: KubeStandIn, watching: tuple[ListWatch, Seen]
) -> None:
    lister, seen = watching
    # Nothing changed since the list: a watch opened after the compaction would not get a 410.
    await eventually(lambda: control_plane.open_watches == 1)
    control_plane.expire_history(notify_watches=True)

    await eventually(lambda: lister.relists >= 2)
    await core.create_namespaced_config_map("default", configmap("after-expiry"))
    await eventually(lambda: ("ADDED", "after-expiry") in seen)
    assert seen.count(("ADDED", "before")) == 1  # unchanged objects are not reported again


async def test_relist_on_410_at_reconnect_reports_what_the_gap_hid(
    core: aclient.CoreV1Api, control_plane: KubeStandIn, watching: tuple[ListWatch, Seen]
) -> None:
    lister, seen = watching
    await core.create_namespaced_config_map("default", configmap("doomed"))
    await core.create_namespaced_config_map("default", configmap("changed", a="1"))
    await eventually(lambda: ("ADDED", "changed") in seen)

    # Without yielding to the loop, so no watch is open meanwhile: end the stream, change
    # things, and compact the history, so resuming from the old version answers 410 Gone.
    control_plane.drop_watches()
    control_plane.delete_object("v1", "ConfigMap", "doomed", "default")
    changed = control_plane.get_object("v1", "ConfigMap", "changed", "default")
    assert changed is not None
    control_plane.seed({**changed, "data": {"a": "2"}})
    control_plane.expire_history()

    await eventually(lambda: ("DELETED", "doomed") in seen)
    await eventually(lambda: ("MODIFIED", "changed") in seen)
    assert lister.relists == 2
    assert seen.count(("ADDED", "before")) == 1
