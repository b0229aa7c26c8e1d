"""The `api/json` shapes of Jenkins's model objects, as the `@Exported` getters produce them.

Each method returns the object's export at a given `depth`: nested objects are summarised
(`{_class, number, url}` for a run, `{_class, name, url, color}` for a job) once `depth` runs
out, and exported in full while it lasts, as Stapler does. Absolute URLs are built from the
root URL the caller passes in (the configured location, or the one the client used). The
Generic Event plugin's `data` is the depth-0 export of the same objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jenkins._clock import time_span
from sandbox.jenkins._model import RUN_CLASS, Folder, Item, PipelineJob, QueueItem, Run
from sandbox.jenkins._tree import JsonMap
from sandbox.jenkins._xml import Credential

if TYPE_CHECKING:
    from sandbox.jenkins._jenkins import Jenkins

JSON = dict[str, Any]
PLACEHOLDER_CLASS = (
    "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution"
    "$PlaceholderTask$PlaceholderExecutable"
)
_COLORS = {
    "SUCCESS": "blue",
    "UNSTABLE": "yellow",
    "FAILURE": "red",
    "ABORTED": "aborted",
    "NOT_BUILT": "notbuilt",
}
QUEUE_CLASSES = {
    "waiting": "hudson.model.Queue$WaitingItem",
    "blocked": "hudson.model.Queue$BlockedItem",
    "buildable": "hudson.model.Queue$BuildableItem",
    "left": "hudson.model.Queue$LeftItem",
}


def color(job: PipelineJob) -> str:
    if job.config.disabled:
        return "disabled"
    completed = next((r for r in job.builds() if not r.building), None)
    base = _COLORS.get(completed.result or "", "notbuilt") if completed else "notbuilt"
    if any(r.building for r in job.runs.values()):
        return f"{base}_anime"
    return base


PARAMETERS_PROPERTY = "hudson.model.ParametersDefinitionProperty"
JOB_PROPERTIES = "org.jenkinsci.plugins.workflow.job.properties."
TRIGGERS_PROPERTY = f"{JOB_PROPERTIES}PipelineTriggersJobProperty"
_EXPORTED_PROPERTIES = (
    PARAMETERS_PROPERTY,
    f"{JOB_PROPERTIES}DisableConcurrentBuildsJobProperty",
    TRIGGERS_PROPERTY,
)


def job_properties(job: PipelineJob) -> list[JSON]:
    """A job's `property` list: its job properties in config.xml order, each as `{_class}`.

    Only the parameter definitions carry an exported field. Cron triggers written in the old
    top-level `<triggers>` element count as a PipelineTriggersJobProperty, which is what
    Jenkins turns them into when it loads the job.
    """
    config = job.config
    classes = [tag for tag in config.properties if tag in _EXPORTED_PROPERTIES]
    if config.cron and TRIGGERS_PROPERTY not in classes:
        classes.append(TRIGGERS_PROPERTY)

    exported: list[JSON] = []
    for java_class in classes:
        entry: JSON = {"_class": java_class}
        if java_class == PARAMETERS_PROPERTY:
            entry["parameterDefinitions"] = [p.json() for p in config.parameters]
        exported.append(entry)
    return exported


class Exporter:
    """Builds the JSON exports; holds the controller to read the queue and the clock."""

    def __init__(self, jenkins: Jenkins) -> None:
        self.jenkins = jenkins

    # Jenkins itself.

    def root(self, base: str, depth: int) -> JSON:
        settings = self.jenkins.settings
        return {
            "_class": "hudson.model.Hudson",
            "assignedLabels": [{"name": "built-in"}],
            "mode": "NORMAL",
            "nodeDescription": "the Jenkins controller's built-in node",
            "nodeName": "",
            "numExecutors": settings.num_executors,
            "description": settings.system_message or None,
            "jobs": [
                self.item_or_summary(i, base, depth - 1) for i in self._children(self.jenkins.root)
            ],
            "overallLoad": {},
            "primaryView": {"_class": "hudson.model.AllView", "name": "all", "url": base},
            "quietDownReason": None,
            "quietingDown": False,
            "slaveAgentPort": 50000,
            "unlabeledLoad": {"_class": "jenkins.model.UnlabeledLoadStatistics"},
            "url": base,
            "useCrumbs": settings.crumbs,
            "useSecurity": True,
            "views": [{"_class": "hudson.model.AllView", "name": "all", "url": base}],
        }

    def _children(self, folder: Folder) -> list[Item]:
        return [folder.children[name] for name in sorted(folder.children, key=str.lower)]

    # Items.

    def item_or_summary(self, item: Item, base: str, depth: int) -> JSON:
        return self.item(item, base, depth) if depth >= 0 else self.item_summary(item, base)

    def item_summary(self, item: Item, base: str) -> JSON:
        summary: JSON = {"_class": item.java_class, "name": item.name, "url": base + item.url}
        if isinstance(item, PipelineJob):
            summary["color"] = color(item)
        return summary

    def item(self, item: Item, base: str, depth: int) -> JSON:
        if isinstance(item, PipelineJob):
            return self.job(item, base, depth)
        assert isinstance(item, Folder)
        return self.folder(item, base, depth)

    def _item_common(self, item: Item, base: str) -> JSON:
        return {
            "_class": item.java_class,
            "actions": [{}, {"_class": "com.cloudbees.plugins.credentials.ViewCredentialsAction"}],
            "description": item.description or None,
            "displayName": item.name,
            "displayNameOrNull": None,
            "fullDisplayName": item.full_display_name,
            "fullName": item.full_name,
            "name": item.name,
            "url": base + item.url,
        }

    def folder(self, folder: Folder, base: str, depth: int) -> JSON:
        exported = self._item_common(folder, base)
        exported["description"] = folder.description
        exported.update(
            {
                "healthReport": [],
                "jobs": [self.item_or_summary(i, base, depth - 1) for i in self._children(folder)],
                "primaryView": {
                    "_class": "hudson.model.AllView",
                    "name": "All",
                    "url": base + folder.url,
                },
                "views": [
                    {"_class": "hudson.model.AllView", "name": "All", "url": base + folder.url}
                ],
            }
        )
        return exported

    def job(self, job: PipelineJob, base: str, depth: int) -> JSON:
        exported = self._item_common(job, base)
        exported["description"] = job.description
        builds = job.builds()

        def build(run: Run | None) -> JSON | None:
            if run is None:
                return None
            return self.run(run, base, depth - 1) if depth > 0 else self.run_summary(run, base)

        def last(predicate: Any) -> JSON | None:
            return build(job.last(predicate))

        completed = [r for r in builds if not r.building]
        pending = self.jenkins.pending(job)
        exported.update(
            {
                "buildable": not job.config.disabled,
                "builds": [build(r) for r in builds[:100]],
                "color": color(job),
                "firstBuild": build(builds[-1] if builds else None),
                "healthReport": self._health(completed),
                "inQueue": pending is not None,
                "keepDependencies": False,
                "lastBuild": build(builds[0] if builds else None),
                "lastCompletedBuild": last(lambda r: not r.building),
                "lastFailedBuild": last(lambda r: r.result == "FAILURE"),
                "lastStableBuild": last(lambda r: r.result == "SUCCESS"),
                "lastSuccessfulBuild": last(lambda r: r.result in ("SUCCESS", "UNSTABLE")),
                "lastUnstableBuild": last(lambda r: r.result == "UNSTABLE"),
                "lastUnsuccessfulBuild": last(
                    lambda r: r.result is not None and r.result != "SUCCESS"
                ),
                "nextBuildNumber": job.next_build_number,
                "property": job_properties(job),
                "queueItem": None if pending is None else self.queue_item(pending, base, -1),
                "concurrentBuild": job.config.concurrent,
                "disabled": job.config.disabled,
                "resumeBlocked": False,
            }
        )
        return exported

    def all_builds(self, job: PipelineJob, base: str, depth: int) -> list[JSON]:
        if depth > 0:
            return [self.run(r, base, depth - 1) for r in job.builds()]
        return [self.run_summary(r, base) for r in job.builds()]

    def _health(self, completed: list[Run]) -> list[JSON]:
        recent = completed[:5]
        if not recent:
            return []
        failed = sum(1 for r in recent if r.result != "SUCCESS")
        score = 100 - failed * 100 // len(recent)
        icon = (
            "health-80plus" if score > 80 else "health-40to59" if score >= 40 else "health-00to19"
        )
        return [
            {
                "description": f"Build stability: {failed} out of the last {len(recent)} "
                "builds failed."
                if failed
                else "Build stability: No recent builds failed.",
                "iconClassName": f"icon-{icon}",
                "iconUrl": f"{icon}.png",
                "score": score,
            }
        ]

    # Runs.

    def run_summary(self, run: Run, base: str) -> JSON:
        return {"_class": RUN_CLASS, "number": run.number, "url": base + run.url}

    def run(self, run: Run, base: str, depth: int) -> JSON:
        job = run.job
        previous = job.runs.get(max((n for n in job.runs if n < run.number), default=0))
        following = job.runs.get(min((n for n in job.runs if n > run.number), default=0))
        return {
            "_class": RUN_CLASS,
            "actions": self.run_actions(run),
            "artifacts": [
                {
                    "displayPath": path.rsplit("/", 1)[-1],
                    "fileName": path.rsplit("/", 1)[-1],
                    "relativePath": path,
                }
                for path in sorted(run.artifacts)
            ],
            "building": run.building,
            "description": run.description,
            "displayName": f"#{run.number}",
            "duration": run.duration,
            "estimatedDuration": run.estimated_duration,
            "executor": {"_class": "hudson.model.OneOffExecutor"} if run.building else None,
            "fullDisplayName": f"{job.full_display_name} #{run.number}",
            "id": str(run.number),
            "keepLog": False,
            "number": run.number,
            "queueId": run.queue_id,
            "result": None if run.building else run.result,
            "timestamp": run.timestamp,
            "url": base + run.url,
            "changeSets": [],
            "culprits": [],
            "inProgress": run.building,
            "nextBuild": None if following is None else self.run_summary(following, base),
            "previousBuild": None if previous is None else self.run_summary(previous, base),
        }

    def run_actions(self, run: Run) -> list[JSON]:
        actions: list[JSON] = []
        if run.parameters:
            actions.append(
                {"_class": "hudson.model.ParametersAction", "parameters": run.parameters}
            )
        actions.append({"_class": "hudson.model.CauseAction", "causes": run.causes})
        actions.append({})
        if run.tests is not None:
            cases = [c for s in run.tests for c in s.cases]
            actions.append(
                {
                    "_class": "hudson.tasks.junit.TestResultAction",
                    "failCount": sum(1 for c in cases if c.status == "FAILED"),
                    "skipCount": sum(1 for c in cases if c.status == "SKIPPED"),
                    "totalCount": len(cases),
                    "urlName": "testReport",
                }
            )
        actions.extend(
            [
                {"_class": "org.jenkinsci.plugins.workflow.libs.LibrariesAction"},
                {
                    "_class": "org.jenkinsci.plugins.pipeline.modeldefinition.actions."
                    "RestartDeclarativePipelineAction"
                },
                {},
                {"_class": "org.jenkinsci.plugins.workflow.job.views.FlowGraphAction"},
                {},
            ]
        )
        return actions

    def test_report(self, run: Run) -> JSON:
        suites = run.tests or []
        cases = [c for s in suites for c in s.cases]
        return {
            "_class": "hudson.tasks.junit.TestResult",
            "testActions": [],
            "duration": sum(s.duration for s in suites),
            "empty": not cases,
            "failCount": sum(1 for c in cases if c.status == "FAILED"),
            "passCount": sum(1 for c in cases if c.status == "PASSED"),
            "skipCount": sum(1 for c in cases if c.status == "SKIPPED"),
            "suites": [
                {
                    "cases": [
                        {
                            "testActions": [],
                            "age": 1 if c.status == "FAILED" else 0,
                            "className": c.class_name,
                            "duration": c.duration,
                            "errorDetails": c.error_details,
                            "errorStackTrace": c.error_details,
                            "failedSince": run.number if c.status == "FAILED" else 0,
                            "name": c.name,
                            "skipped": c.status == "SKIPPED",
                            "skippedMessage": None,
                            "status": c.status,
                            "stderr": None,
                            "stdout": None,
                        }
                        for c in s.cases
                    ],
                    "duration": s.duration,
                    "enclosingBlockNames": [],
                    "enclosingBlocks": [],
                    "id": None,
                    "name": s.name,
                    "nodeId": None,
                    "stderr": None,
                    "stdout": None,
                    "timestamp": s.timestamp,
                }
                for s in suites
            ],
        }

    # The queue.

    def _why(self, item: QueueItem) -> str | None:
        """Why an item waits; a quiet period's remaining time is read when asked, as in Jenkins."""
        if item.state == "waiting":
            remaining = item.buildable_at - self.jenkins.clock.now_ms()
            return f"In the quiet period. Expires in {time_span(remaining)}"
        return item.why

    def queue_item(self, item: QueueItem, base: str, depth: int) -> JSON:
        exported: JSON = {
            "_class": QUEUE_CLASSES[item.state],
            "actions": (
                [{"_class": "hudson.model.ParametersAction", "parameters": item.parameters}]
                if item.parameters
                else []
            )
            + [{"_class": "hudson.model.CauseAction", "causes": item.causes}],
            "blocked": item.state == "blocked",
            "buildable": item.state == "buildable",
            "id": item.id,
            "inQueueSince": item.in_queue_since,
            "params": "".join(f"\n{p['name']}={p.get('value', '****')}" for p in item.parameters),
            "stuck": False,
            "task": self.item_summary(item.job, base),
            "url": item.url,
            "why": self._why(item),
        }
        if item.state == "waiting":
            exported["timestamp"] = item.buildable_at
        if item.state == "buildable":
            exported["pending"] = False
            exported["buildableStartMilliseconds"] = item.buildable_at
        if item.state == "left":
            exported["cancelled"] = item.cancelled
            exported["executable"] = None if item.run is None else self.run_summary(item.run, base)
        return exported

    def queue(self, base: str) -> JSON:
        items = [q for q in self.jenkins.queue.values() if q.state != "left"]
        return {
            "_class": "hudson.model.Queue",
            "discoverableItems": [],
            "items": [self.queue_item(q, base, 0) for q in items],
        }

    # Nodes.

    def computer(self, base: str, depth: int) -> JSON:
        running = self.jenkins.running()
        executor: JSON = {
            "currentExecutable": None,
            "idle": True,
            "likelyStuck": False,
            "number": 0,
            "progress": -1,
        }
        one_off = [
            {
                "currentExecutable": self.run_summary(r, base)
                if depth > 0
                else {"_class": RUN_CLASS},
                "idle": False,
                "likelyStuck": False,
                "number": -1,
                "progress": -1,
            }
            for r in running
        ]
        # A running pipeline holds a heavyweight executor through its `node` block; that
        # executor shows a PlaceholderExecutable (with the run's number and URL, inferred from
        # clients that read them), while the run itself sits on a one-off executor.
        executors = [dict(executor, number=n) for n in range(self.jenkins.settings.num_executors)]
        for slot, run in zip(executors, running, strict=False):
            slot["idle"] = False
            slot["currentExecutable"] = {
                "_class": PLACEHOLDER_CLASS,
                "number": run.number,
                "url": base + run.url,
            }
        return {
            "_class": "hudson.model.Hudson$MasterComputer",
            "actions": [],
            "assignedLabels": [{"name": "built-in"}],
            "description": "the Jenkins controller's built-in node",
            "displayName": "Built-In Node",
            "executors": executors,
            "icon": "symbol-computer",
            "idle": not running,
            "jnlpAgent": False,
            "launchSupported": True,
            "manualLaunchAllowed": True,
            "numExecutors": self.jenkins.settings.num_executors,
            "offline": False,
            "offlineCause": None,
            "offlineCauseReason": "",
            "oneOffExecutors": one_off,
            "temporarilyOffline": False,
        }

    def computer_set(self, base: str, depth: int) -> JSON:
        return {
            "_class": "hudson.model.ComputerSet",
            "busyExecutors": 0,
            "computer": [self.computer(base, depth)],
            "displayName": "Nodes",
            "totalExecutors": self.jenkins.settings.num_executors,
        }

    # Users.

    def user(self, base: str) -> JSON:
        name = self.jenkins.admin_user
        return {
            "_class": "hudson.model.User",
            "absoluteUrl": f"{base}user/{name}",
            "description": None,
            "fullName": name,
            "id": name,
            "property": [],
        }

    # Credentials.

    def credentials_store(self, folder: Folder, base: str, store_url: str) -> JSON:
        return {
            "_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction",
            "domains": JsonMap(
                {
                    name: self.credentials_domain(folder, name, base, store_url)
                    for name in folder.credentials.domains
                }
            ),
        }

    def credentials_domain(self, folder: Folder, domain: str, base: str, store_url: str) -> JSON:
        return {
            "_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction$DomainWrapper",
            "credentials": [
                self.credential(c, base, f"{store_url}domain/{domain}/")
                for c in folder.credentials.domains[domain].values()
            ],
            "description": "Credentials that should be available irrespective of domain "
            "specification to requirements matching."
            if domain == "_"
            else None,
            "displayName": "Global credentials (unrestricted)" if domain == "_" else domain,
            "fullDisplayName": f"{folder.full_display_name or 'Jenkins'} » {domain}",
            "fullName": f"{folder.full_name or 'system'}/{domain}",
            "global": domain == "_",
            "urlName": domain,
        }

    def credential(self, credential: Credential, base: str, domain_url: str) -> JSON:
        return {
            "_class": "com.cloudbees.plugins.credentials.CredentialsStoreAction$CredentialsWrapper",
            "description": credential.description,
            "displayName": credential.display_name,
            "fingerprint": None,
            "fullName": f"{domain_url}{credential.id}",
            "id": credential.id,
            "typeName": credential.type_name,
        }
