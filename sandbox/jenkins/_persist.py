"""Saving the stand-in's state to a directory, so `make run` survives a restart.

One JSON file (`state.json`) holds the folder tree with each item's config.xml, every run
(log, flow nodes, artifacts, test results), credentials, the settings, the last applied
Configuration as Code document and the counters. It is written atomically (temp file, then
rename). Runs that were still building when the state was saved cannot be resumed, because the
stand-in does not checkpoint a running pipeline the way workflow-cps does; on load they end
ABORTED with a line in their log saying why.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sandbox.jenkins._jenkins import Jenkins
from sandbox.jenkins._model import CredentialStore, Folder, Item, PipelineJob, Run

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"


def _item(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"name": item.name, "xml": item.xml, "description": item.description}
    if isinstance(item, Folder):
        data["kind"] = "folder"
        data["credentials"] = item.credentials.to_dict()
        data["children"] = [_item(child) for child in item.children.values()]
    elif isinstance(item, PipelineJob):
        data["kind"] = "job"
        data["next_build_number"] = item.next_build_number
        data["runs"] = [run.to_dict() for run in item.runs.values()]
    return data


def save(jenkins: Jenkins, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    settings = jenkins.settings
    state = {
        "root": _item(jenkins.root),
        "settings": {
            "system_message": settings.system_message,
            "num_executors": settings.num_executors,
            "quiet_period": settings.quiet_period,
            "location_url": settings.location_url,
            "admin_address": settings.admin_address,
            "crumbs": settings.crumbs,
        },
        "receiver": jenkins.events.receiver,
        "casc_yaml": jenkins.casc_yaml,
        "next_queue_id": jenkins.next_queue_id,
        "api_token": jenkins.api_token,
        "admin_password": jenkins.admin_password,
        "clock": jenkins.clock.now(),
    }
    temporary = directory / (STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(state), encoding="utf-8")
    os.replace(temporary, directory / STATE_FILE)


def load(jenkins: Jenkins, directory: Path) -> bool:
    """Restore state saved by `save`; False when there is none yet."""
    path = directory / STATE_FILE
    if not path.exists():
        return False
    state = json.loads(path.read_text(encoding="utf-8"))
    _restore_children(jenkins.root, state["root"])
    jenkins.root.credentials = CredentialStore.from_dict(state["root"]["credentials"])
    for key, value in state["settings"].items():
        setattr(jenkins.settings, key, value)
    jenkins.events.receiver = state["receiver"]
    jenkins.casc_yaml = state["casc_yaml"]
    jenkins.next_queue_id = state["next_queue_id"]
    jenkins.api_token = state["api_token"]
    jenkins.admin_password = state["admin_password"]
    logger.info("state loaded from %s", path)
    return True


def _restore_children(folder: Folder, data: dict[str, Any]) -> None:
    for child in data.get("children", []):
        item: Item
        if child["kind"] == "folder":
            item = Folder(child["name"], folder, child["xml"])
            item.credentials = CredentialStore.from_dict(child["credentials"])
            _restore_children(item, child)
        else:
            job = PipelineJob(child["name"], folder, child["xml"])
            job.next_build_number = child["next_build_number"]
            for run_data in child["runs"]:
                run = Run.from_dict(job, run_data)
                _end_interrupted(run)
                job.runs[run.number] = run
            item = job
        item.description = child["description"]
        folder.children[item.name] = item


def _end_interrupted(run: Run) -> None:
    if not run.building:
        return
    run.log.extend(b"Resuming build after Jenkins restart\n")
    run.log.extend(b"The Jenkins stand-in cannot resume a pipeline; ending it.\n")
    run.log.extend(b"Finished: ABORTED\n")
    run.building = False
    run.result = "ABORTED"
    for node in run.nodes.values():
        if node.state in ("running", "paused"):
            node.state = "finished"
            node.result = "ABORTED"
