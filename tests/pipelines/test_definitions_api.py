"""Creating, reading, changing and deleting pipelines over REST, checked in Jenkins."""

from __future__ import annotations

import grpc
import pytest
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from amamba.pipeline.v1alpha1 import pipelines_pb2_grpc

from libs.jenkins import JenkinsClient
from tests.pipelines.conftest import CI, SCRIPT, SYNC, conforms

PARAMETERS = [
    {"name": "TARGET", "type": "PARAMETER_TYPE_STRING", "defaultValue": "dev"},
    {"name": "NOTES", "type": "PARAMETER_TYPE_TEXT", "defaultValue": "a\nb"},
    {"name": "DRY_RUN", "type": "PARAMETER_TYPE_BOOLEAN", "defaultValue": "true"},
    {"name": "REGION", "type": "PARAMETER_TYPE_CHOICE", "defaultValue": "eu\nus"},
]


@pytest.fixture
def ci(shared_ci: CI) -> CI:
    return shared_ci


async def test_created_pipeline_answers_in_the_contract_shape(ci: CI) -> None:
    answer = await ci.create(
        "created-pipeline-answers-in-the-contract-shape", description="the app"
    )

    assert answer.status_code == 200, answer.text
    conforms(answer.json(), "v1alpha1Pipeline")
    assert answer.json()["name"] == "created-pipeline-answers-in-the-contract-shape"
    assert answer.json()["workspaceId"] == str(ci.workspace_id)
    assert answer.json()["type"] == "PIPELINE_TYPE_CUSTOM"
    assert answer.headers[SYNC] == "synced"


async def test_created_pipeline_is_a_job_in_the_workspace_folder(ci: CI) -> None:
    await ci.create(
        "created-pipeline-is-a-job-in-the-workspace-folder",
        parameters=PARAMETERS,
        triggers={"time": {"cron": "H 3 * * *"}},
    )

    job = ci.job("created-pipeline-is-a-job-in-the-workspace-folder")

    assert job is not None
    assert [p.name for p in job.config.parameters] == ["TARGET", "NOTES", "DRY_RUN", "REGION"]
    assert job.config.parameter("REGION").choices == ["eu", "us"]
    assert job.config.parameter("DRY_RUN").default is True
    assert job.config.cron == ["H 3 * * *"]


async def test_jenkinsfile_update_reaches_the_job_script(ci: CI) -> None:
    await ci.create("jenkinsfile-update-reaches-the-job-script")

    answer = await ci.put_jenkinsfile("jenkinsfile-update-reaches-the-job-script")

    assert answer.status_code == 200, answer.text
    assert answer.json()["jenkinsfile"] == SCRIPT
    assert ci.job("jenkinsfile-update-reaches-the-job-script").config.script == SCRIPT


async def test_a_jenkinsfile_that_does_not_parse_is_refused_with_its_position(ci: CI) -> None:
    await ci.create("a-jenkinsfile-that-does-not-parse-is-refused-with-its-positi")

    answer = await ci.put_jenkinsfile(
        "a-jenkinsfile-that-does-not-parse-is-refused-with-its-positi",
        "pipeline { stages { stage('x') { ",
    )

    assert answer.status_code == 400
    assert "jenkinsfile: line" in answer.json()["message"]


async def test_scm_pipeline_job_reads_git(ci: CI) -> None:
    scm = {
        "gitRepository": {"url": "https://git.example.com/app.git"},
        "credentialId": "git-robot",
        "branch": "main",
        "jenkinsFilePath": "ci/Jenkinsfile",
    }

    answer = await ci.create("from-git", type="PIPELINE_TYPE_SCM", pipelineScm=scm)

    assert answer.status_code == 200, answer.text
    assert answer.json()["pipelineScm"]["jenkinsFilePath"] == "ci/Jenkinsfile"
    job_scm = ci.job("from-git").config.scm
    assert job_scm.url == "https://git.example.com/app.git"
    assert job_scm.credentials_id == "git-robot"
    assert job_scm.branch == "*/main"
    assert job_scm.script_path == "ci/Jenkinsfile"


async def test_update_replaces_the_definition_in_jenkins(ci: CI) -> None:
    await ci.create("update-replaces-the-definition-in-jenkins", parameters=PARAMETERS)

    answer = await ci.http.put(
        ci.path("/update-replaces-the-definition-in-jenkins"),
        json={
            "type": "PIPELINE_TYPE_CUSTOM",
            "description": "changed",
            "parameters": [{"name": "ONLY", "type": "PARAMETER_TYPE_STRING"}],
            "buildConfig": {"disableConcurrence": True},
        },
        headers=ci.auth(),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["description"] == "changed"
    job = ci.job("update-replaces-the-definition-in-jenkins")
    assert [p.name for p in job.config.parameters] == ["ONLY"]
    assert job.config.concurrent is False
    assert job.description == "changed"


async def test_get_answers_the_stored_definition(ci: CI) -> None:
    await ci.create("get-answers-the-stored-definition", parameters=PARAMETERS, description="d")

    answer = await ci.get("get-answers-the-stored-definition")

    assert answer.status_code == 200
    conforms(answer.json(), "v1alpha1Pipeline")
    assert answer.json()["description"] == "d"
    assert [p["name"] for p in answer.json()["parameters"]] == [p["name"] for p in PARAMETERS]


async def test_missing_pipeline_is_404(ci: CI) -> None:
    assert (await ci.get("nothing")).status_code == 404


async def test_duplicate_name_is_409(ci: CI) -> None:
    await ci.create("duplicate-name-is-409")

    answer = await ci.create("duplicate-name-is-409")

    assert answer.status_code == 409
    assert "duplicate-name-is-409" in answer.json()["message"]


async def test_delete_removes_the_pipeline_and_its_job(ci: CI) -> None:
    await ci.create("delete-removes-the-pipeline-and-its-job")

    answer = await ci.http.delete(
        ci.path("/delete-removes-the-pipeline-and-its-job"), headers=ci.auth()
    )

    assert answer.status_code == 200
    assert (await ci.get("delete-removes-the-pipeline-and-its-job")).status_code == 404
    assert ci.job("delete-removes-the-pipeline-and-its-job") is None


async def test_rename_moves_the_job(ci: CI) -> None:
    await ci.create("old-name")

    answer = await ci.http.put(
        ci.path("/old-name/name"), json={"newName": "new-name"}, headers=ci.auth()
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "new-name"
    assert (await ci.get("old-name")).status_code == 404
    assert ci.job("old-name") is None
    assert ci.job("new-name") is not None


async def test_rename_onto_an_existing_name_is_409(ci: CI) -> None:
    await ci.create("one")
    await ci.create("two")

    answer = await ci.http.put(ci.path("/one/name"), json={"newName": "two"}, headers=ci.auth())

    assert answer.status_code == 409
    assert "newName" in answer.json()["message"]


async def test_toggle_disables_and_enables_the_job(ci: CI) -> None:
    await ci.create("toggle-disables-and-enables-the-job")

    disabled = await ci.http.post(
        ci.path("/toggle-disables-and-enables-the-job:toggle"),
        json={"disable": True},
        headers=ci.auth(),
    )
    shown = await ci.get("toggle-disables-and-enables-the-job")
    job_disabled = ci.job("toggle-disables-and-enables-the-job").config.disabled
    await ci.http.post(
        ci.path("/toggle-disables-and-enables-the-job:toggle"),
        json={"disable": False},
        headers=ci.auth(),
    )

    assert disabled.status_code == 200, disabled.text
    assert disabled.json() == {}
    assert shown.json()["disabled"] is True
    assert job_disabled is True
    assert ci.job("toggle-disables-and-enables-the-job").config.disabled is False


async def test_replicate_copies_definition_and_script(ci: CI) -> None:
    await ci.create("source", parameters=PARAMETERS)
    await ci.put_jenkinsfile("source")

    answer = await ci.http.post(
        ci.path(":replicate"),
        json={"sourcePipelineName": "source", "destPipelineName": "copy"},
        headers=ci.auth(),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "copy"
    assert len(answer.json()["parameters"]) == len(PARAMETERS)
    assert ci.job("copy").config.script == SCRIPT


async def test_sync_recreates_a_job_deleted_in_jenkins(ci: CI) -> None:
    await ci.create("sync-recreates-a-job-deleted-in-jenkins")
    await ci.put_jenkinsfile("sync-recreates-a-job-deleted-in-jenkins")
    async with JenkinsClient(ci.jenkins.url, ci.jenkins.admin_user, ci.jenkins.api_token) as j:
        await j.delete_item((str(ci.workspace_id), "sync-recreates-a-job-deleted-in-jenkins"))
    assert ci.job("sync-recreates-a-job-deleted-in-jenkins") is None

    answer = await ci.http.post(
        ci.path("/sync-recreates-a-job-deleted-in-jenkins:sync"), json={}, headers=ci.auth()
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "synced"}
    assert ci.job("sync-recreates-a-job-deleted-in-jenkins").config.script == SCRIPT


async def test_multi_branch_is_unimplemented(ci: CI) -> None:
    answer = await ci.create("mb", type="PIPELINE_TYPE_MULTI_BRANCH")

    assert answer.status_code == 501
    assert "MULTI_BRANCH" in answer.json()["message"]


async def test_parameters_are_read_and_patched(ci: CI) -> None:
    await ci.create("parameters-are-read-and-patched", parameters=PARAMETERS[:1])

    patched = await ci.http.post(
        ci.path("/parameters-are-read-and-patched/parameters"),
        json={
            "operations": [
                {
                    "operation": "PARAMETER_OPERATION_ADD",
                    "parameter": {"name": "EXTRA", "type": "PARAMETER_TYPE_STRING"},
                },
                {
                    "operation": "PARAMETER_OPERATION_DELETE",
                    "parameter": {"name": "TARGET"},
                },
            ]
        },
        headers=ci.auth(),
    )
    read = await ci.http.get(
        ci.path("/parameters-are-read-and-patched/parameters"), headers=ci.auth()
    )

    assert patched.status_code == 200, patched.text
    conforms(patched.json(), "v1alpha1PatchPipelineParametersResponse")
    conforms(read.json(), "v1alpha1GetBuildParameterResponse")
    assert [p["name"] for p in read.json()["parameters"]] == ["EXTRA"]
    assert [p.name for p in ci.job("parameters-are-read-and-patched").config.parameters] == [
        "EXTRA"
    ]


async def test_adding_an_existing_parameter_is_409(ci: CI) -> None:
    await ci.create("adding-an-existing-parameter-is-409", parameters=PARAMETERS[:1])

    answer = await ci.http.post(
        ci.path("/adding-an-existing-parameter-is-409/parameters"),
        json={
            "operations": [
                {"operation": "PARAMETER_OPERATION_ADD", "parameter": {"name": "TARGET"}}
            ]
        },
        headers=ci.auth(),
    )

    assert answer.status_code == 409
    assert "operations[0].parameter.name" in answer.json()["message"]


async def test_grpc_answer_carries_the_sync_state_as_metadata(ci: CI) -> None:
    await ci.create("over-grpc")
    metadata = (("authorization", f"Bearer {ci.stack.token('alice')}"),)

    async with grpc.aio.insecure_channel(ci.stack.grpc_target) as channel:
        call = pipelines_pb2_grpc.PipelinesStub(channel).GetPipeline(
            api.GetPipelineRequest(workspace_id=str(ci.workspace_id), name="over-grpc"),
            metadata=metadata,
        )
        answer = await call
        initial = await call.initial_metadata()

    assert answer.name == "over-grpc"
    assert ("x-workbench-sync", "synced") in list(initial)


async def test_update_without_a_type_keeps_the_type(ci: CI) -> None:
    scm = {"gitRepository": {"url": "https://git.example.com/app.git"}, "branch": "main"}
    await ci.create("typed", type="PIPELINE_TYPE_SCM", pipelineScm=scm)

    answer = await ci.http.put(
        ci.path("/typed"), json={"description": "d", "pipelineScm": scm}, headers=ci.auth()
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "PIPELINE_TYPE_SCM"
    assert ci.job("typed").config.scm is not None
