"""Every catalog answer in the shape the published document gives it: templates (global,
built-in and a workspace's), groups and global build parameters."""

from __future__ import annotations

from tests.catalog.conftest import PIPELINE, SPEC, Stack, grant, make_workspace
from tests.pipelines.conftest import conforms

PARAMETERS = f"{PIPELINE}/global-build-parameters"
TEMPLATES = f"{PIPELINE}/templates"


async def test_catalog_answers_conform_to_the_published_document(shared_stack: Stack) -> None:
    stack = shared_stack
    admin = stack.auth("admin")
    team = await make_workspace(stack, "team-shapes")
    await grant(stack, team, "bob", "workspace-editor")
    bob = stack.auth("bob")
    own = f"{PIPELINE}/workspaces/{team}/templates"
    groups = f"{PIPELINE}/workspaces/{team}/groups"
    body = {"name": "go-service", "description": "Go service", "spec": SPEC}

    answers = {
        "v1alpha1Template": [
            await stack.http.post(TEMPLATES, json=body, headers=admin),
            await stack.http.get(f"{TEMPLATES}/go-service", headers=bob),
            await stack.http.put(f"{TEMPLATES}/go-service", json=body, headers=admin),
            await stack.http.post(own, json={"name": "build", "spec": SPEC}, headers=bob),
            await stack.http.get(f"{own}/build", headers=bob),
            await stack.http.put(f"{own}/build", json={"spec": SPEC}, headers=bob),
        ],
        "v1alpha1ListTemplatesResponse": [
            await stack.http.get(TEMPLATES, headers=bob),
            await stack.http.get(own, headers=bob),
        ],
        "v1alpha1Group": [await stack.http.post(groups, json={"name": "backend"}, headers=bob)],
        "v1alpha1ListGroupsResponse": [await stack.http.get(groups, headers=bob)],
        "v1alpha1GlobalBuildParameterInstance": [
            await stack.http.post(
                PARAMETERS, json={"name": "REGION", "choiceListText": ["eu"]}, headers=admin
            ),
            await stack.http.put(
                f"{PARAMETERS}/REGION",
                json={"name": "REGION", "choiceListText": ["eu", "us"]},
                headers=admin,
            ),
        ],
        "v1alpha1ListGlobalBuildParameterResponse": [await stack.http.get(PARAMETERS, headers=bob)],
    }

    for definition, responses in answers.items():
        for response in responses:
            assert response.status_code == 200, (response.request.url, response.text)
            conforms(response.json(), definition)
    listed = answers["v1alpha1ListTemplatesResponse"][0].json()
    assert len(listed["items"]) > 1  # the built-in templates are there too
