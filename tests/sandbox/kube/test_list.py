"""Lists: kinds and metadata, label and field selectors, pagination with limit and continue."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client as aclient

from sandbox.kube import KubeStandIn
from tests.sandbox.kube.conftest import configmap

LABELLED = {
    "a": {"app": "web", "tier": "front", "rank": "3"},
    "b": {"app": "web", "tier": "back", "rank": "7"},
    "c": {"app": "db"},
    "d": {},
}


@pytest.fixture
async def labelled(core: aclient.CoreV1Api) -> aclient.CoreV1Api:
    for name, labels in LABELLED.items():
        await core.create_namespaced_config_map("default", configmap(name, labels))
    return core


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web", ["a", "b"]),
        ("app!=web", ["c", "d"]),
        ("app in (web, db)", ["a", "b", "c"]),
        ("app notin (web)", ["c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=web,tier=back", ["b"]),
        ("rank>5", ["b"]),
        ("rank<5", ["a"]),
        ("", ["a", "b", "c", "d"]),
    ],
)
async def test_label_selector_grammar(
    labelled: aclient.CoreV1Api, selector: str, expected: list[str]
) -> None:
    result = await labelled.list_namespaced_config_map("default", label_selector=selector)
    assert [cm.metadata.name for cm in result.items] == expected


async def test_malformed_label_selector_is_400(labelled: aclient.CoreV1Api) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await labelled.list_namespaced_config_map("default", label_selector="app in (web")
    assert caught.value.status == 400


async def test_field_selector_on_name(labelled: aclient.CoreV1Api) -> None:
    result = await labelled.list_namespaced_config_map("default", field_selector="metadata.name=c")
    assert [cm.metadata.name for cm in result.items] == ["c"]


async def test_field_selector_inequality(labelled: aclient.CoreV1Api) -> None:
    result = await labelled.list_namespaced_config_map(
        "default", field_selector="metadata.name!=c,metadata.namespace=default"
    )
    assert [cm.metadata.name for cm in result.items] == ["a", "b", "d"]


async def test_field_selector_on_unindexed_field_is_400(labelled: aclient.CoreV1Api) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await labelled.list_namespaced_config_map("default", field_selector="data.k=v")
    assert caught.value.status == 400
    assert "field label not supported" in json.loads(caught.value.body)["message"]


async def test_custom_resource_field_selector_on_namespace(
    custom: aclient.CustomObjectsApi,
) -> None:
    body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}}
    await custom.create_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "default", "rollouts", body
    )
    result = await custom.list_cluster_custom_object(
        "argoproj.io", "v1alpha1", "rollouts", field_selector="metadata.namespace=default"
    )
    assert [r["metadata"]["name"] for r in result["items"]] == ["r"]


async def test_list_carries_list_kind_and_current_resource_version(
    labelled: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    result = await labelled.list_namespaced_config_map("default")
    assert result.kind == "ConfigMapList" and result.api_version == "v1"
    assert result.metadata.resource_version == str(cluster.resource_version)


async def test_list_across_namespaces(core: aclient.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("x"))
    await core.create_namespaced_config_map("kube-system", configmap("y"))
    result = await core.list_config_map_for_all_namespaces()
    assert [(c.metadata.namespace, c.metadata.name) for c in result.items] == [
        ("default", "x"),
        ("kube-system", "y"),
    ]


async def test_limit_and_continue_walk_every_item_once(labelled: aclient.CoreV1Api) -> None:
    seen, token = [], None
    while True:
        page = await labelled.list_namespaced_config_map("default", limit=3, _continue=token)
        seen += [cm.metadata.name for cm in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == ["a", "b", "c", "d"]


async def test_first_page_reports_remaining_item_count(labelled: aclient.CoreV1Api) -> None:
    page = await labelled.list_namespaced_config_map("default", limit=1)
    assert len(page.items) == 1 and page.metadata.remaining_item_count == 3


async def test_last_page_has_no_continue_token(labelled: aclient.CoreV1Api) -> None:
    page = await labelled.list_namespaced_config_map("default", limit=10)
    assert page.metadata._continue is None and len(page.items) == 4


async def test_continue_token_from_before_compaction_is_410(
    labelled: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    page = await labelled.list_namespaced_config_map("default", limit=1)
    await labelled.create_namespaced_config_map("default", configmap("e"))
    cluster.expire_history()
    with pytest.raises(aclient.ApiException) as caught:
        await labelled.list_namespaced_config_map(
            "default", limit=1, _continue=page.metadata._continue
        )
    assert caught.value.status == 410 and json.loads(caught.value.body)["reason"] == "Expired"


async def test_garbage_continue_token_is_400(labelled: aclient.CoreV1Api) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await labelled.list_namespaced_config_map("default", _continue="!!!")
    assert caught.value.status == 400


async def test_delete_collection_by_label(labelled: aclient.CoreV1Api) -> None:
    await labelled.delete_collection_namespaced_config_map("default", label_selector="app=web")
    result = await labelled.list_namespaced_config_map("default")
    assert [cm.metadata.name for cm in result.items] == ["c", "d"]
