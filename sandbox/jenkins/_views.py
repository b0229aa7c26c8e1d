"""The two run visualisations Workbench reads: Pipeline Stage View and Blue Ocean.

Both are computed from a run's flow nodes, but they describe them differently, and the
differences are kept:

- Stage View (`wfapi`) lists the stages that have started, parallel branches flattened among
  them, synthetic stages included ("Declarative: Post Actions"); statuses are StatusExt
  (`IN_PROGRESS`, `PAUSED_PENDING_INPUT`, `SUCCESS`, `FAILED`, `UNSTABLE`, `ABORTED`,
  `NOT_EXECUTED`); links are root-relative (`/job/x/1/wfapi/describe`).
- Blue Ocean lists every declared stage, future ones with null state and result, hides the
  synthetic stages, gives parallel branches their own PARALLEL nodes with edges from the
  parent stage and to the next stage, and splits status into `state` (RUNNING, PAUSED,
  SKIPPED, FINISHED) and `result` (SUCCESS, UNSTABLE, FAILURE, NOT_BUILT, ABORTED, UNKNOWN);
  times are `yyyy-MM-dd'T'HH:mm:ss.SSSZ` strings.
"""

from __future__ import annotations

from typing import Any

from sandbox.jenkins._events import java_time
from sandbox.jenkins._model import FlowNode, PipelineJob, Run

JSON = dict[str, Any]
_FINISHED_STATUS = {
    "SUCCESS": "SUCCESS",
    "FAILURE": "FAILED",
    "UNSTABLE": "UNSTABLE",
    "ABORTED": "ABORTED",
    "NOT_BUILT": "NOT_EXECUTED",
}
BLUE = "io.jenkins.blueocean.rest"
CAUSE_CLASS = "io.jenkins.blueocean.service.embedded.rest.AbstractRunImpl$BlueCauseImpl"


def _href(url: str) -> JSON:
    return {"href": url}


def _blue_href(url: str) -> JSON:
    return {"_class": f"{BLUE}.hal.Link", "href": url}


def _time(ms: int | None) -> str | None:
    return None if ms is None else java_time(ms / 1000)


def _steps_of(run: Run, node: FlowNode) -> list[FlowNode]:
    return [n for n in run.nodes.values() if n.kind == "step" and n.parent == node.id]


def node_paused(run: Run, node: FlowNode) -> bool:
    return node.state == "paused" or any(s.state == "paused" for s in _steps_of(run, node))


def stage_status(run: Run, node: FlowNode) -> str:
    if node.state == "skipped":
        return "NOT_EXECUTED"
    if node.state == "running":
        return "PAUSED_PENDING_INPUT" if node_paused(run, node) else "IN_PROGRESS"
    if node.state == "paused":
        return "PAUSED_PENDING_INPUT"
    return _FINISHED_STATUS.get(node.result or "SUCCESS", "SUCCESS")


def run_status(run: Run) -> str:
    if run.building:
        return "PAUSED_PENDING_INPUT" if run.paused else "IN_PROGRESS"
    return _FINISHED_STATUS.get(run.result or "SUCCESS", "SUCCESS")


def pause_ms(node: FlowNode, now_ms: int) -> int:
    """Time a step has spent (or is spending) paused for input."""
    total = node.pause_ms
    if node.paused_since is not None:
        total += now_ms - node.paused_since
    return total


# Stage View.


def job_describe(job: PipelineJob) -> JSON:
    return {
        "_links": {
            "self": _href(f"/{job.url}wfapi/describe"),
            "runs": _href(f"/{job.url}wfapi/runs"),
        },
        "name": job.name,
        "runCount": len(job.runs),
    }


def run_describe(run: Run, now_ms: int, *, full_stages: bool = False) -> JSON:
    links: JSON = {"self": _href(f"/{run.url}wfapi/describe")}
    if run.artifacts:
        links["artifacts"] = _href(f"/{run.url}wfapi/artifacts")
    if run.paused:
        links["pendingInputActions"] = _href(f"/{run.url}wfapi/pendingInputActions")
        links["nextPendingInputAction"] = _href(f"/{run.url}wfapi/nextPendingInputAction")
    end = run.timestamp + run.duration if not run.building else now_ms
    stages = [n for n in run.stages() if n.state != "queued"]
    return {
        "_links": links,
        "id": str(run.number),
        "name": f"#{run.number}",
        "status": run_status(run),
        "startTimeMillis": run.timestamp,
        "endTimeMillis": end,
        "durationMillis": max(0, end - run.timestamp),
        "queueDurationMillis": max(0, run.timestamp - run.enqueued_ms),
        "pauseDurationMillis": sum(
            pause_ms(s, now_ms) for s in run.nodes.values() if s.kind == "step"
        ),
        "stages": [stage_describe(run, s, now_ms, with_steps=full_stages) for s in stages],
    }


def stage_describe(run: Run, node: FlowNode, now_ms: int, *, with_steps: bool = True) -> JSON:
    described: JSON = {
        "_links": {"self": _href(f"/{run.url}execution/node/{node.id}/wfapi/describe")},
        "id": node.id,
        "name": node.name,
        "execNode": "",
        "status": stage_status(run, node),
        "startTimeMillis": node.start_ms or 0,
        "durationMillis": node.duration(now_ms),
        "pauseDurationMillis": sum(pause_ms(s, now_ms) for s in _steps_of(run, node)),
    }
    if node.error is not None:
        described["error"] = dict(node.error)
    if with_steps:
        steps = _steps_of(run, node)
        described["stageFlowNodes"] = [
            atom_describe(run, s, now_ms, parent=steps[i - 1].id if i else node.id)
            for i, s in enumerate(steps)
        ]
    return described


def atom_describe(run: Run, node: FlowNode, now_ms: int, *, parent: str | None = None) -> JSON:
    base = f"/{run.url}execution/node/{node.id}/"
    described: JSON = {
        "_links": {
            "self": _href(f"{base}wfapi/describe"),
            "log": _href(f"{base}wfapi/log"),
            "console": _href(f"{base}log"),
        },
        "id": node.id,
        "name": node.display_name,
        "execNode": "",
        "status": stage_status(run, node),
        "parameterDescription": node.description,
        "startTimeMillis": node.start_ms or 0,
        "durationMillis": node.duration(now_ms),
        "pauseDurationMillis": pause_ms(node, now_ms),
        "parentNodes": [parent or node.parent or ""],
    }
    if node.error is not None:
        described["error"] = dict(node.error)
    return described


def node_log(run: Run, node: FlowNode) -> JSON:
    text = bytes(node.log).decode("utf-8", "replace")
    return {
        "nodeId": node.id,
        "nodeStatus": stage_status(run, node),
        "length": len(node.log),
        "hasMore": False,
        "text": text,
        "consoleUrl": f"/{run.url}execution/node/{node.id}/log",
    }


def pending_inputs(run: Run) -> list[JSON]:
    return [
        {
            "id": request.id,
            "proceedText": request.ok,
            "message": request.message,
            "inputs": list(request.parameters),
            "proceedUrl": f"/{run.url}wfapi/inputSubmit?inputId={request.id}",
            "abortUrl": f"/{run.url}input/{request.id}/abort",
            "redirectApprovalUrl": f"/{run.url}input/",
        }
        for request in run.inputs.values()
        if request.outcome is not None
    ]


def artifacts(run: Run) -> list[JSON]:
    return [
        {
            "id": f"n{index}",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "url": f"/{run.url}artifact/{path}",
            "size": len(content),
        }
        for index, (path, content) in enumerate(sorted(run.artifacts.items()), start=1)
    ]


# Blue Ocean.


def blue_prefix(job: PipelineJob) -> str:
    """`/blue/rest/organizations/jenkins/pipelines/ws/pipelines/pipe/`."""
    path = "".join(f"pipelines/{name}/" for name in job.full_name.split("/"))
    return f"/blue/rest/organizations/jenkins/{path}"


def blue_state(run: Run, node: FlowNode) -> tuple[str | None, str | None]:
    """(result, state) of a node as Blue Ocean reports them."""
    if node.state == "queued":
        return None, None
    if node.state == "skipped":
        return "NOT_BUILT", "SKIPPED"
    if node.state in ("running", "paused"):
        return "UNKNOWN", "PAUSED" if node_paused(run, node) else "RUNNING"
    return node.result or "SUCCESS", "FINISHED"


def blue_run(run: Run, now_ms: int) -> JSON:
    prefix = f"{blue_prefix(run.job)}runs/{run.number}/"
    if run.building:
        result, state = "UNKNOWN", "PAUSED" if run.paused else "RUNNING"
    else:
        result, state = run.result or "SUCCESS", "FINISHED"
    return {
        "_class": f"{BLUE}.impl.pipeline.PipelineRunImpl",
        "_links": {
            "self": _blue_href(prefix),
            "nodes": _blue_href(f"{prefix}nodes/"),
            "steps": _blue_href(f"{prefix}steps/"),
            "log": _blue_href(f"{prefix}log/"),
            "artifacts": _blue_href(f"{prefix}artifacts/"),
            "parent": _blue_href(blue_prefix(run.job)),
        },
        "actions": [],
        "artifactsZipFile": f"/{run.url}artifact/*zip*/archive.zip" if run.artifacts else None,
        "causeOfBlockage": None,
        "causes": [
            {
                "_class": CAUSE_CLASS,
                "shortDescription": c.get("shortDescription"),
                "userId": c.get("userId"),
                "userName": c.get("userName"),
            }
            for c in run.causes
        ],
        "changeSet": [],
        "description": run.description,
        "durationInMillis": run.duration if not run.building else now_ms - run.timestamp,
        "enQueueTime": _time(run.enqueued_ms),
        "endTime": None if run.building else _time(run.timestamp + run.duration),
        "estimatedDurationInMillis": run.estimated_duration,
        "id": str(run.number),
        "name": None,
        "organization": "jenkins",
        "pipeline": run.job.name,
        "replayable": True,
        "result": result,
        "runSummary": "?" if run.building else ("stable" if result == "SUCCESS" else "broken"),
        "startTime": _time(run.timestamp),
        "state": state,
        "type": "WorkflowRun",
        "commitId": None,
        "commitUrl": None,
        "pullRequest": None,
        "branch": None,
    }


def blue_graph(run: Run) -> list[tuple[FlowNode, str, list[str], str | None]]:
    """(node, type, edges, firstParent) for the visible stages and parallel branches."""
    entries: list[tuple[FlowNode, str, list[str], str | None]] = []
    tails: list[list[str]] = []
    first_parent: str | None = None

    for node_id in run.graph:
        node = run.nodes[node_id]
        for edges in tails:
            edges.append(node.id)
        stage_edges: list[str] = []
        entries.append((node, "STAGE", stage_edges, first_parent))
        if node.parallel:
            branch_edges = []
            for child_id in node.children:
                stage_edges.append(child_id)
                edges_of_branch: list[str] = []
                entries.append((run.nodes[child_id], "PARALLEL", edges_of_branch, node.id))
                branch_edges.append(edges_of_branch)
            tails = branch_edges
        else:
            tails = [stage_edges]
        first_parent = node.id
    return entries


def blue_nodes(run: Run, now_ms: int) -> list[JSON]:
    prefix = f"{blue_prefix(run.job)}runs/{run.number}/nodes/"
    types = {node.id: kind for node, kind, _, _ in blue_graph(run)}
    described = []
    for node, kind, edges, first_parent in blue_graph(run):
        result, state = blue_state(run, node)
        described.append(
            {
                "_class": f"{BLUE}.impl.pipeline.PipelineNodeImpl",
                "_links": {
                    "self": _blue_href(f"{prefix}{node.id}/"),
                    "steps": _blue_href(f"{prefix}{node.id}/steps/"),
                },
                "actions": [],
                "displayDescription": None,
                "displayName": node.name,
                "durationInMillis": None if node.start_ms is None else node.duration(now_ms),
                "id": node.id,
                "input": None,
                "result": result,
                "startTime": _time(node.start_ms),
                "state": state,
                "type": kind,
                "causeOfBlockage": None,
                "edges": [
                    {
                        "_class": f"{BLUE}.impl.pipeline.PipelineNodeImpl$EdgeImpl",
                        "id": edge,
                        "type": types.get(edge, "STAGE"),
                    }
                    for edge in edges
                ],
                "firstParent": first_parent,
                "restartable": False,
            }
        )
    return described


def blue_steps(run: Run, now_ms: int, node: FlowNode | None, base: str) -> list[JSON]:
    steps = [n for n in run.nodes.values() if n.kind == "step"]
    if node is not None:
        steps = [s for s in steps if s.parent == node.id]
    return [blue_step(run, s, now_ms, base) for s in steps]


def blue_step(run: Run, step: FlowNode, now_ms: int, base: str) -> JSON:
    result, state = blue_state(run, step)
    request = run.inputs.get(step.input_id or "") if step.state == "paused" else None
    return {
        "_class": f"{BLUE}.impl.pipeline.PipelineStepImpl",
        "_links": {
            "self": _blue_href(f"{base}{step.id}/"),
            "actions": _blue_href(f"{base}{step.id}/actions/"),
        },
        "actions": [],
        "displayDescription": step.description,
        "displayName": step.display_name,
        "durationInMillis": step.duration(now_ms),
        "id": step.id,
        "input": None
        if request is None
        else {
            "_class": f"{BLUE}.impl.pipeline.InputStepImpl",
            "_links": {"self": _blue_href(f"{base}{step.id}/input/")},
            "id": request.id,
            "message": request.message,
            "ok": request.ok,
            "parameters": list(request.parameters),
            "submitter": request.submitter,
        },
        "result": result,
        "startTime": _time(step.start_ms),
        "state": state,
        "type": "STEP",
    }
