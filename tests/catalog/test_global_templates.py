"""Global templates over REST: platform admins write them, every signed-in user reads them."""

from __future__ import annotations

from typing import Any

import grpc
from amamba.pipeline.v1alpha1 import pipelines_pb2, pipelines_pb2_grpc

from tests.catalog.conftest import PIPELINE, SPEC, Stack

TEMPLATES = f"{PIPELINE}/templates"
# Lists of the templates people made, leaving out the built-in ones.
CUSTOM = {"type": "TEMPLATE_TYPE_CUSTOM"}


async def create(stack: Stack, name: str, spec: str = SPEC) -> dict[str, Any]:
    answer = await stack.http.post(
        TEMPLATES,
        json={"name": name, "description": "Go service", "spec": spec},
        headers=stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_admin_creates_a_global_template_in_the_contract_shape(stack: Stack) -> None:
    body = await create(stack, "go-service")

    assert set(body) == {
        "name",
        "description",
        "type",
        "parameters",
        "jenkinsfile",
        "createdAt",
        "updatedAt",
        "raw",
        "enabled",
        "global",
    }
    assert body["name"] == "go-service"
    assert body["type"] == "TEMPLATE_TYPE_CUSTOM"
    assert body["enabled"] is True
    assert body["global"] is True
    assert body["raw"] == ""
    assert int(body["createdAt"]) > 0
    assert "{{ .params.gitURL }}" in body["jenkinsfile"]
    assert body["parameters"][0] == {
        "name": "gitURL",
        "displayName": "Git URL",
        "defaultValue": "",
        "type": "TEMPLATE_PARAMETER_TYPE_STRING",
        "description": "the repository to build",
    }
    assert body["parameters"][1]["type"] == "TEMPLATE_PARAMETER_TYPE_CHOICE"
    assert body["parameters"][1]["defaultValue"] == "1.22\n1.21"
    assert body["parameters"][2]["defaultValue"] == "true"


async def test_any_signed_in_user_reads_a_global_template(stack: Stack) -> None:
    await create(stack, "go-service")

    answer = await stack.http.get(f"{TEMPLATES}/go-service", headers=stack.auth("bob"))

    assert answer.status_code == 200
    assert answer.json()["name"] == "go-service"


async def test_get_with_raw_answers_the_original_spec(stack: Stack) -> None:
    await create(stack, "go-service")

    answer = await stack.http.get(
        f"{TEMPLATES}/go-service", params={"raw": "true"}, headers=stack.auth("bob")
    )

    assert answer.json()["raw"] == SPEC


async def test_non_admin_cannot_create_a_global_template(stack: Stack) -> None:
    answer = await stack.http.post(
        TEMPLATES, json={"name": "mine", "spec": SPEC}, headers=stack.auth("bob")
    )

    assert answer.status_code == 403


async def test_duplicate_global_template_name_is_409(stack: Stack) -> None:
    await create(stack, "go-service")

    answer = await stack.http.post(
        TEMPLATES, json={"name": "go-service", "spec": SPEC}, headers=stack.auth("admin")
    )

    assert answer.status_code == 409
    assert "go-service" in answer.json()["message"]


async def test_list_pages_and_sorts_by_name(stack: Stack) -> None:
    for name in ("charlie", "alpha", "bravo"):
        await create(stack, name)

    answer = await stack.http.get(
        TEMPLATES,
        params={"page": 1, "pageSize": 2, "sortBy": "FIELD_NAME", "sortDir": "ASC", **CUSTOM},
        headers=stack.auth("bob"),
    )

    body = answer.json()
    assert [t["name"] for t in body["items"]] == ["alpha", "bravo"]
    assert body["pagination"] == {"page": 1, "pageSize": 2, "total": 3, "pages": 2}


async def test_list_without_sorting_shows_the_newest_first(stack: Stack) -> None:
    for name in ("first", "second"):
        await create(stack, name)

    answer = await stack.http.get(TEMPLATES, params=CUSTOM, headers=stack.auth("bob"))

    assert [t["name"] for t in answer.json()["items"]] == ["second", "first"]


async def test_list_filters_by_fuzzy_name(stack: Stack) -> None:
    for name in ("go-service", "java-service", "go-lib"):
        await create(stack, name)

    answer = await stack.http.get(TEMPLATES, params={"fuzzyName": "GO-"}, headers=stack.auth("bob"))

    assert sorted(t["name"] for t in answer.json()["items"]) == ["go-lib", "go-service"]


async def test_list_metadata_only_leaves_out_parameters_and_jenkinsfile(stack: Stack) -> None:
    await create(stack, "go-service")

    answer = await stack.http.get(
        TEMPLATES, params={"metadataOnly": "true", **CUSTOM}, headers=stack.auth("bob")
    )

    item = answer.json()["items"][0]
    assert item["parameters"] == []
    assert item["jenkinsfile"] == ""


async def test_sorting_by_cluster_is_400_naming_sort_by(stack: Stack) -> None:
    answer = await stack.http.get(
        TEMPLATES, params={"sortBy": "CLUSTER"}, headers=stack.auth("bob")
    )

    assert answer.status_code == 400
    assert "sortBy" in answer.json()["message"]


async def test_disable_then_enable_a_global_template(stack: Stack) -> None:
    await create(stack, "go-service")

    disabled = await stack.http.post(
        f"{TEMPLATES}/go-service:disable", json={}, headers=stack.auth("admin")
    )
    seen_disabled = await stack.http.get(f"{TEMPLATES}/go-service", headers=stack.auth("bob"))
    enabled = await stack.http.post(
        f"{TEMPLATES}/go-service:enable", json={}, headers=stack.auth("admin")
    )
    seen_enabled = await stack.http.get(f"{TEMPLATES}/go-service", headers=stack.auth("bob"))

    assert disabled.status_code == 200 and disabled.json() == {}
    assert seen_disabled.json()["enabled"] is False
    assert enabled.status_code == 200
    assert seen_enabled.json()["enabled"] is True


async def test_list_enabled_leaves_out_disabled_templates(stack: Stack) -> None:
    await create(stack, "on")
    await create(stack, "off")
    await stack.http.post(f"{TEMPLATES}/off:disable", json={}, headers=stack.auth("admin"))

    answer = await stack.http.get(
        TEMPLATES, params={"enabled": "true", **CUSTOM}, headers=stack.auth("bob")
    )

    assert [t["name"] for t in answer.json()["items"]] == ["on"]


async def test_non_admin_cannot_disable_a_global_template(stack: Stack) -> None:
    await create(stack, "go-service")

    answer = await stack.http.post(
        f"{TEMPLATES}/go-service:disable", json={}, headers=stack.auth("bob")
    )

    assert answer.status_code == 403


async def test_update_replaces_description_and_spec(stack: Stack) -> None:
    await create(stack, "go-service")
    spec = "jenkinsfileTemplate: |\n  pipeline { agent any }\n"

    answer = await stack.http.put(
        f"{TEMPLATES}/go-service",
        json={"description": "plain", "spec": spec},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["description"] == "plain"
    assert answer.json()["parameters"] == []
    assert answer.json()["jenkinsfile"] == "pipeline { agent any }\n"


async def test_update_of_a_missing_template_is_404(stack: Stack) -> None:
    answer = await stack.http.put(
        f"{TEMPLATES}/nothing", json={"spec": SPEC}, headers=stack.auth("admin")
    )

    assert answer.status_code == 404


async def test_delete_removes_the_template(stack: Stack) -> None:
    await create(stack, "go-service")

    deleted = await stack.http.delete(f"{TEMPLATES}/go-service", headers=stack.auth("admin"))
    after = await stack.http.get(f"{TEMPLATES}/go-service", headers=stack.auth("admin"))

    assert deleted.status_code == 200 and deleted.json() == {}
    assert after.status_code == 404


async def test_the_same_templates_over_grpc(stack: Stack) -> None:
    await create(stack, "go-service")

    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        answer = await pipelines_pb2_grpc.PipelinesStub(channel).GetGlobalTemplate(
            pipelines_pb2.GetGlobalTemplateRequest(name="go-service", raw=True),
            metadata=[("authorization", f"Bearer {stack.token('bob')}")],
        )

    assert answer.name == "go-service"
    assert answer.raw == SPEC
    assert answer.parameters[1].type == pipelines_pb2.TEMPLATE_PARAMETER_TYPE_CHOICE
