"""The state of the emulated Jenkins: items in a folder tree, runs, the queue, credentials.

The names follow Jenkins's own model so the exporters read like the `@Exported` getters they
imitate: an `Item` lives in a `Folder` (the root folder is Jenkins itself), a `PipelineJob`
(`WorkflowJob`) owns numbered `Run`s (`WorkflowRun`), a `QueueItem` becomes a run when it
leaves the queue. A run's flow graph is a flat map of `FlowNode`s: stages, parallel branches
and atom steps, each with its own status, timings and (for steps) log, which is what the stage
view and Blue Ocean APIs are computed from.

Everything here is plain data: the controller (`_jenkins.py`) changes it, the executor
(`_executor.py`) drives runs, the exporters (`_export.py`) shape it as JSON. `to_dict` /
`from_dict` persist it to a state directory (asyncio objects are not persisted).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.jenkins._xml import (
    EMPTY_FOLDER_XML,
    FOLDER_CLASS,
    WORKFLOW_JOB_CLASS,
    Credential,
    PipelineConfig,
    parse_credential,
    parse_pipeline,
)

RUN_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowRun"

# Jenkins's Result ordinals: a run's result only ever gets worse.
RESULT_ORDER = {"SUCCESS": 0, "UNSTABLE": 1, "FAILURE": 2, "NOT_BUILT": 3, "ABORTED": 4}


def worse(a: str | None, b: str | None) -> str | None:
    """The worse of two results (None counts as not yet decided)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if RESULT_ORDER[a] >= RESULT_ORDER[b] else b


class CredentialStore:
    """A credentials store (system or folder) with its domains; `_` is the global domain."""

    def __init__(self) -> None:
        self.domains: dict[str, dict[str, Credential]] = {"_": {}}

    def find(self, credential_id: str) -> Credential | None:
        for credentials in self.domains.values():
            if credential_id in credentials:
                return credentials[credential_id]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            domain: [c.xml for c in credentials.values()]
            for domain, credentials in self.domains.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CredentialStore:
        store = cls()
        for domain, xmls in data.items():
            store.domains[domain] = {}
            for xml in xmls:
                credential = parse_credential(xml)
                store.domains[domain][credential.id] = credential
        return store


class Item:
    """Anything with a name in the folder tree."""

    java_class = ""

    def __init__(self, name: str, parent: Folder | None, xml: str) -> None:
        self.name = name
        self.parent = parent
        self.xml = xml
        self.description = ""

    @property
    def full_name(self) -> str:
        if self.parent is None or self.parent.parent is None:
            return self.name
        return f"{self.parent.full_name}/{self.name}"

    @property
    def url(self) -> str:
        """The URL relative to the Jenkins root, e.g. `job/ws/job/pipe/`."""
        if self.parent is None:
            return ""
        return f"{self.parent.url}job/{self.name}/"

    @property
    def full_display_name(self) -> str:
        return self.full_name.replace("/", " » ")


class Folder(Item):
    """A `com.cloudbees.hudson.plugins.folder.Folder`; the root folder is Jenkins itself."""

    java_class = FOLDER_CLASS

    def __init__(self, name: str, parent: Folder | None, xml: str = EMPTY_FOLDER_XML) -> None:
        super().__init__(name, parent, xml)
        self.children: dict[str, Item] = {}
        self.credentials = CredentialStore()

    def walk(self) -> list[Item]:
        """Every item under this folder, depth first."""
        found: list[Item] = []
        for child in self.children.values():
            found.append(child)
            if isinstance(child, Folder):
                found.extend(child.walk())
        return found


class PipelineJob(Item):
    """An `org.jenkinsci.plugins.workflow.job.WorkflowJob`."""

    java_class = WORKFLOW_JOB_CLASS

    def __init__(self, name: str, parent: Folder | None, xml: str) -> None:
        super().__init__(name, parent, xml)
        self.config: PipelineConfig = parse_pipeline(xml)
        self.description = self.config.description
        self.runs: dict[int, Run] = {}
        self.next_build_number = 1

    def reconfigure(self, xml: str) -> None:
        self.config = parse_pipeline(xml)
        self.xml = xml
        self.description = self.config.description

    def builds(self) -> list[Run]:
        """Runs newest first, as Jenkins lists them."""
        return [self.runs[n] for n in sorted(self.runs, reverse=True)]

    def last(self, predicate: Any = None) -> Run | None:
        for run in self.builds():
            if predicate is None or predicate(run):
                return run
        return None


@dataclass
class FlowNode:
    """A node of a run's flow graph: a stage, a parallel branch, or an atom step."""

    id: str
    kind: str  # "stage" | "branch" | "step"
    name: str
    parent: str | None = None
    display_name: str = ""
    description: str | None = None
    state: str = "queued"  # queued | running | paused | finished | skipped
    result: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    pause_ms: int = 0
    paused_since: int | None = None
    error: dict[str, str] | None = None
    synthetic: bool = False
    parallel: bool = False
    children: list[str] = field(default_factory=list)
    input_id: str | None = None
    log: bytearray = field(default_factory=bytearray)

    def duration(self, now_ms: int) -> int:
        if self.start_ms is None:
            return 0
        return (self.end_ms if self.end_ms is not None else now_ms) - self.start_ms

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["log"] = self.log.decode("utf-8", "replace")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowNode:
        data = dict(data)
        data["log"] = bytearray(data.get("log", "").encode("utf-8"))
        return cls(**data)


@dataclass
class InputRequest:
    """A pending `input` step, waiting for proceed or abort."""

    id: str
    message: str
    node_id: str
    ok: str = "Proceed"
    submitter: str | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    outcome: asyncio.Future[tuple[bool, str, dict[str, Any]]] | None = None


@dataclass
class TestCase:
    class_name: str
    name: str
    status: str  # PASSED | FAILED | SKIPPED
    duration: float = 0.0
    error_details: str | None = None


@dataclass
class TestSuite:
    name: str
    duration: float = 0.0
    timestamp: str | None = None
    cases: list[TestCase] = field(default_factory=list)


@dataclass
class Run:
    """One build of a pipeline job."""

    job: PipelineJob
    number: int
    queue_id: int
    enqueued_ms: int
    timestamp: int
    causes: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    duration: int = 0
    estimated_duration: int = -1
    result: str | None = None
    building: bool = True
    description: str | None = None
    log: bytearray = field(default_factory=bytearray)
    nodes: dict[str, FlowNode] = field(default_factory=dict)
    graph: list[str] = field(default_factory=list)
    next_node_id: int = 3
    inputs: dict[str, InputRequest] = field(default_factory=dict)
    workspace: dict[str, bytes] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    tests: list[TestSuite] | None = None
    task: asyncio.Task[None] | None = None
    interrupts: list[asyncio.Event] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.job.url}{self.number}/"

    @property
    def paused(self) -> bool:
        return any(request.outcome is not None for request in self.inputs.values())

    def new_node_id(self) -> str:
        node_id = str(self.next_node_id)
        self.next_node_id += 1
        return node_id

    def stages(self) -> list[FlowNode]:
        """Stage and branch nodes in the order they were declared."""
        return [n for n in self.nodes.values() if n.kind in ("stage", "branch")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "queue_id": self.queue_id,
            "enqueued_ms": self.enqueued_ms,
            "timestamp": self.timestamp,
            "causes": self.causes,
            "parameters": self.parameters,
            "values": self.values,
            "duration": self.duration,
            "estimated_duration": self.estimated_duration,
            "result": self.result,
            "building": self.building,
            "description": self.description,
            "log": self.log.decode("utf-8", "replace"),
            "nodes": [n.to_dict() for n in self.nodes.values()],
            "graph": self.graph,
            "next_node_id": self.next_node_id,
            "artifacts": {k: base64.b64encode(v).decode() for k, v in self.artifacts.items()},
            "tests": None if self.tests is None else [asdict(s) for s in self.tests],
        }

    @classmethod
    def from_dict(cls, job: PipelineJob, data: dict[str, Any]) -> Run:
        run = cls(
            job=job,
            number=data["number"],
            queue_id=data["queue_id"],
            enqueued_ms=data["enqueued_ms"],
            timestamp=data["timestamp"],
            causes=data["causes"],
            parameters=data["parameters"],
            values=data["values"],
            duration=data["duration"],
            estimated_duration=data["estimated_duration"],
            result=data["result"],
            building=data["building"],
            description=data["description"],
            log=bytearray(data["log"].encode("utf-8")),
            graph=data["graph"],
            next_node_id=data["next_node_id"],
        )
        run.nodes = {n["id"]: FlowNode.from_dict(n) for n in data["nodes"]}
        run.artifacts = {k: base64.b64decode(v) for k, v in data["artifacts"].items()}
        if data["tests"] is not None:
            run.tests = [
                TestSuite(
                    name=s["name"],
                    duration=s["duration"],
                    timestamp=s["timestamp"],
                    cases=[TestCase(**c) for c in s["cases"]],
                )
                for s in data["tests"]
            ]
        return run


@dataclass
class QueueItem:
    """An entry of the build queue: waiting (quiet period), blocked, buildable, then left."""

    id: int
    job: PipelineJob
    in_queue_since: int
    buildable_at: int
    causes: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    state: str = "waiting"  # waiting | blocked | buildable | left
    cancelled: bool = False
    run: Run | None = None
    left_ms: int | None = None
    why: str | None = None

    @property
    def url(self) -> str:
        return f"queue/item/{self.id}/"
