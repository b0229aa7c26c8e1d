"""Every run answer in the shape the published document gives it."""

from __future__ import annotations

from tests.pipelines.conftest import conforms
from tests.runs.conftest import CI, declarative
from tests.runs.test_life_cycle import TESTS, input_step

SCRIPT = declarative(
    ("Test", TESTS),
    ("Package", "sh 'echo built > dist/app.txt'\narchiveArtifacts artifacts: 'dist/*.txt'"),
)
DEFINITIONS = [{"name": "TARGET", "type": "PARAMETER_TYPE_STRING", "defaultValue": "dev"}]


async def test_run_answers_conform_to_the_published_document(ci: CI) -> None:
    await ci.pipeline("build", SCRIPT, DEFINITIONS)
    started = await ci.run("build")
    run_id = started.json()["runId"]
    await ci.wait("build", run_id)
    nodes = (await ci.get("build", f"/runs/{run_id}/nodes")).json()
    node = nodes["nodes"][0]["id"]
    steps = (await ci.get("build", f"/runs/{run_id}/nodes/{node}/steps")).json()
    step = steps["steps"][0]["id"]

    answers = {
        "v1alpha1PipelineRun": [started.json(), (await ci.get("build", f"/runs/{run_id}")).json()],
        "v1alpha1ListPipelineRunsResponse": [(await ci.get("build", "/runs")).json()],
        "v1alpha1GetPipelineRunLogResponse": [
            (await ci.get("build", f"/runs/{run_id}/log")).json()
        ],
        "v1alpha1GetPipelineRunNodesResponse": [nodes],
        "v1alpha1GetPipelineRunStepsResponse": [steps],
        "v1alpha1GetPipelineRunStepLogResponse": [
            (await ci.get("build", f"/runs/{run_id}/nodes/{node}/steps/{step}/log")).json()
        ],
        "v1alpha1GetPipelineRunParametersResponse": [
            (await ci.get("build", f"/runs/{run_id}/parameters")).json()
        ],
        "v1alpha1GetPipelineArtifactsResponse": [
            (await ci.get("build", f"/runs/{run_id}/artifacts")).json()
        ],
        "v1alpha1GetJunitReportResponse": [
            (await ci.get("build", f"/runs/{run_id}/junit_report")).json()
        ],
        "v1alpha1GetJunitSummaryResponse": [
            (await ci.get("build", f"/runs/{run_id}/junit_summary")).json()
        ],
    }

    for definition, values in answers.items():
        for value in values:
            conforms(value, definition)


async def test_run_action_answers_conform_to_the_published_document(ci: CI) -> None:
    await ci.pipeline("slow", declarative(("Build", "sh 'sleep 600'")))
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Ship it?'")))
    slow = await ci.started("slow")
    await ci.wait("slow", slow, ("RUNNING",))
    cancelled = await ci.post("slow", f"/runs/{slow}:cancel")
    replayed = await ci.post("slow", f"/runs/{slow}:replay")
    await ci.post("slow", f"/runs/{replayed.json()['runId']}:cancel")
    gates = [await ci.started("gate") for _ in range(2)]
    answered = []
    for run_id, verb in zip(gates, (":process", ":abort"), strict=True):
        await ci.wait("gate", run_id, ("PAUSED",))
        node, step = await input_step(ci, "gate", run_id)
        answered.append(await ci.post("gate", f"/runs/{run_id}/nodes/{node}/steps/{step}{verb}"))

    answers = {
        "v1alpha1PipelineRun": [cancelled, replayed],
        "v1alpha1SubmitInputResponse": answered,
    }
    for definition, responses in answers.items():
        for response in responses:
            assert response.status_code == 200, (response.request.url, response.text)
            conforms(response.json(), definition)
    assert [a.json() for a in answered] == [{"response": "proceeded"}, {"response": "aborted"}]
