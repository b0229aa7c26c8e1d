"""What the declarative model knows by name: sections, conditions, and a few step facts.

Jenkins's converter asks the running Jenkins about each step. One answer changes the JSON:
a step called with a single unnamed argument (``echo 'hi'``) is written with that argument
under its parameter name (``[{"key": "message", ...}]``) when the step has exactly one
required parameter and takes no block. Without a Jenkins to ask, this table holds that
parameter for the steps that ship with a standard Jenkins and the plugins Workbench
installs. A step not listed keeps the single-argument form (``{"isLiteral": ..}``), which is
what Jenkins itself produces for a step it does not know. Both forms are valid model
input, so the table only decides which one ``to_json`` writes. Jenkins's own converter
tests show the rule for steps whose one parameter is optional too: ``archive '**/*.txt'``
gives ``includes``, and ``milestone null`` gives ``ordinal`` with a null value.
"""

from __future__ import annotations

from typing import Any

# Step name -> its sole required parameter (steps that take no block).
SOLE_PARAMETER: dict[str, str] = {
    "archive": "includes",
    "archiveArtifacts": "artifacts",
    "bat": "script",
    "build": "job",
    "checkout": "scm",
    "echo": "message",
    "error": "message",
    "fileExists": "file",
    "fingerprint": "targets",
    "git": "url",
    "httpRequest": "url",
    "input": "message",
    "junit": "testResults",
    "library": "identifier",
    "libraryResource": "resource",
    "load": "path",
    "milestone": "ordinal",
    "powershell": "script",
    "properties": "properties",
    "publishHTML": "target",
    "pwsh": "script",
    "readFile": "file",
    "readTrusted": "path",
    "sh": "script",
    "sleep": "time",
    "stash": "name",
    "step": "delegate",
    "tool": "name",
    "touch": "file",
    "unstable": "message",
    "unstash": "name",
    "unzip": "zipFile",
    "zip": "zipFile",
}

PIPELINE_SECTIONS = (
    "agent", "libraries", "environment", "tools", "options", "parameters", "triggers",
    "stages", "post",
)  # fmt: skip

STAGE_SECTIONS = (
    "agent", "when", "tools", "environment", "options", "input", "failFast", "steps",
    "parallel", "stages", "matrix", "post",
)  # fmt: skip

MATRIX_SECTIONS = (
    "axes", "excludes", "agent", "when", "tools", "environment", "options", "input",
    "stages", "post",
)  # fmt: skip

# Sections Jenkins renamed or removed: a plain error, with the advice Jenkins gives.
RETIRED_SECTIONS = {
    "properties": "the 'properties' section is now 'options'",
    "jobProperties": "the 'jobProperties' section is now 'options'",
    "wrappers": "the 'wrappers' section was removed: use 'options'",
    "notifications": "the 'notifications' section was removed: use 'post'",
    "postBuild": "the 'postBuild' section is now 'post'",
}

POST_CONDITIONS = (
    "always", "changed", "fixed", "regression", "aborted", "failure", "success",
    "unstable", "unsuccessful", "notBuilt", "cleanup",
)  # fmt: skip

WHEN_CONDITIONS = (
    "branch", "buildingTag", "changelog", "changeset", "changeRequest", "environment",
    "equals", "expression", "tag", "triggeredBy", "allOf", "anyOf", "not",
    "isRestartedRun",
)  # fmt: skip

WHEN_NESTING = ("allOf", "anyOf", "not")

# The parameters a when condition cannot go without (Jenkins: "Missing required parameter").
# A condition given one unnamed value (`branch 'main'`) gives it to the first of them.
WHEN_REQUIRED = {
    "branch": ("pattern",),
    "changelog": ("pattern",),
    "changeset": ("pattern",),
    "environment": ("name", "value"),
    "equals": ("expected", "actual"),
    "tag": ("pattern",),
    "triggeredBy": ("cause",),
}


def missing_when_parameters(name: str, arguments: Any) -> list[str]:
    """The required parameters a when condition's JSON arguments lack."""
    required = WHEN_REQUIRED.get(name, ())
    if isinstance(arguments, dict):
        return list(required[1:])  # one unnamed value: the first parameter
    return [parameter for parameter in required if parameter not in keys_of(arguments)]


def keys_of(arguments: Any) -> set[Any]:
    """The keys of a list of named arguments (``[{"key": ..., "value": ...}]``)."""
    if not isinstance(arguments, list):
        return set()
    return {item.get("key") for item in arguments if isinstance(item, dict)}


# Agent types that cannot go without a parameter: `agent { label 'x' }` needs its label,
# docker its image, given alone or named in a block.
AGENT_REQUIRED = {"label": "label", "docker": "image"}
WHEN_FLAGS = ("beforeAgent", "beforeInput", "beforeOptions")

INPUT_FIELDS = ("message", "id", "ok", "submitter", "submitterParameter", "parameters")

# Agent types written without arguments: `agent any`.
BARE_AGENTS = ("any", "none")

# Steps whose block holds free Groovy, kept as text in a "scriptBlock" argument.
CODE_BLOCK_STEPS = frozenset({"script", "expression"})
