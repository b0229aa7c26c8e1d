"""The answers of the pipeline actions in the shapes the published document gives them."""

from __future__ import annotations

import json

from tests.pipelines.conftest import CI, SCRIPT, conforms

PARAMETERS = [{"name": "TARGET", "type": "PARAMETER_TYPE_STRING", "defaultValue": "dev"}]


async def test_action_answers_conform_to_the_published_document(shared_ci: CI) -> None:
    ci = shared_ci
    await ci.create("shape-source", parameters=PARAMETERS)
    jenkinsfile = await ci.put_jenkinsfile("shape-source")
    read = await ci.http.get(ci.path("/shape-source/jenkinsjson"), headers=ci.auth())
    json_edit = await ci.http.put(
        ci.path("/shape-source/jenkinsjson"),
        json={"json": read.json()["json"]},
        headers=ci.auth(),
    )
    replicated = await ci.http.post(
        ci.path(":replicate"),
        json={"sourcePipelineName": "shape-source", "destPipelineName": "shape-copy"},
        headers=ci.auth(),
    )
    renamed = await ci.http.put(
        ci.path("/shape-copy/name"), json={"newName": "shape-renamed"}, headers=ci.auth()
    )
    toggled = await ci.http.post(
        ci.path("/shape-renamed:toggle"), json={"disable": True}, headers=ci.auth()
    )
    synced = await ci.http.post(ci.path("/shape-renamed:sync"), json={}, headers=ci.auth())

    answers = {
        "v1alpha1Pipeline": [jenkinsfile, replicated, renamed],
        "v1alpha1UpdateJenkinsJSONResponse": [json_edit],
        "v1alpha1SyncPipelineResponse": [synced],
    }
    for definition, responses in answers.items():
        for response in responses:
            assert response.status_code == 200, (response.request.url, response.text)
            conforms(response.json(), definition)
    assert toggled.status_code == 200, toggled.text
    assert toggled.json() == {}  # the document's answer is an empty object
    assert jenkinsfile.json()["jenkinsfile"] == SCRIPT
    assert json.loads(json_edit.json()["json"])["pipeline"]["agent"] == {"type": "any"}
    assert renamed.json()["name"] == "shape-renamed"
