"""Every run answer in the shape the published document gives it."""

from __future__ import annotations

from tests.pipelines.conftest import conforms
from tests.runs.conftest import CI, declarative
from tests.runs.test_life_cycle import TESTS

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
