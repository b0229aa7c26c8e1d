"""A pipeline definition as the `config.xml` of its Jenkins job.

The document is what Jenkins itself writes for a `WorkflowJob` (root `flow-definition`),
the same shape ks-devops emits: description, the job properties (concurrent builds off,
build discarder, parameters, cron triggers), the definition (an inline script in a
`CpsFlowDefinition`, or a `CpsScmFlowDefinition` reading the Jenkinsfile from Git) and the
`disabled` flag.

Decisions:

- Built with `xml.etree`, never by string formatting, so every value is escaped; characters
  XML 1.0 cannot carry at all (control characters other than tab, newline and carriage
  return) are dropped here as a last guard; the API already refuses them in names and URLs.
- Jenkins declares `version='1.1'`; the declaration here is 1.0 because every character
  written is valid XML 1.0, and 1.0 is what every parser (Jenkins's XStream included) reads.
- A choice parameter's choices travel in the API's `defaultValue`, one per line (amamba's
  convention); the first one is Jenkins's default.
- A password parameter's default is written in clear: Jenkins encrypts it on save as a
  `Secret`. The caller opens the sealed value just for this document.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

PARAMETER_CLASSES = {
    api.PARAMETER_TYPE_STRING: "hudson.model.StringParameterDefinition",
    api.PARAMETER_TYPE_TEXT: "hudson.model.TextParameterDefinition",
    api.PARAMETER_TYPE_BOOLEAN: "hudson.model.BooleanParameterDefinition",
    api.PARAMETER_TYPE_CHOICE: "hudson.model.ChoiceParameterDefinition",
    api.PARAMETER_TYPE_PASSWORD: "hudson.model.PasswordParameterDefinition",
}

_JOB_PROPERTIES = "org.jenkinsci.plugins.workflow.job.properties"


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value)


def _child(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _clean(text)
    return element


def choices(parameter: api.ParameterDefinition) -> list[str]:
    """The choices of a choice parameter: the non-empty lines of its `defaultValue`."""
    return [line.strip() for line in parameter.default_value.splitlines() if line.strip()]


def _parameter(parent: ET.Element, parameter: api.ParameterDefinition) -> None:
    element = _child(parent, PARAMETER_CLASSES[parameter.type])
    _child(element, "name", parameter.name)
    _child(element, "description", parameter.description)

    if parameter.type == api.PARAMETER_TYPE_CHOICE:
        holder = _child(element, "choices", **{"class": "java.util.Arrays$ArrayList"})
        array = _child(holder, "a", **{"class": "string-array"})
        for choice in choices(parameter):
            _child(array, "string", choice)
    elif parameter.type == api.PARAMETER_TYPE_BOOLEAN:
        _child(element, "defaultValue", "true" if parameter.default_value == "true" else "false")
    else:
        _child(element, "defaultValue", parameter.default_value)
    if parameter.type in (api.PARAMETER_TYPE_STRING, api.PARAMETER_TYPE_TEXT):
        _child(element, "trim", "false")


def _properties(parent: ET.Element, pipeline: api.Pipeline) -> None:
    properties = _child(parent, "properties")
    build = pipeline.build_config

    if build.disable_concurrence:
        _child(properties, f"{_JOB_PROPERTIES}.DisableConcurrentBuildsJobProperty")

    days = build.discarder_property.days_to_retain_value
    count = build.discarder_property.num_to_retain_value
    if days > 0 or count > 0:
        discarder = _child(properties, "jenkins.model.BuildDiscarderProperty")
        strategy = _child(discarder, "strategy", **{"class": "hudson.tasks.LogRotator"})
        _child(strategy, "daysToKeep", str(days if days > 0 else -1))
        _child(strategy, "numToKeep", str(count if count > 0 else -1))
        _child(strategy, "artifactDaysToKeep", "-1")
        _child(strategy, "artifactNumToKeep", "-1")

    if pipeline.parameters:
        holder = _child(properties, "hudson.model.ParametersDefinitionProperty")
        definitions = _child(holder, "parameterDefinitions")
        for parameter in pipeline.parameters:
            _parameter(definitions, parameter)

    timer = pipeline.triggers.time.cron.strip()
    polling = pipeline.triggers.scm.cron.strip()
    if timer or (polling and pipeline.type == api.PIPELINE_TYPE_SCM):
        holder = _child(properties, f"{_JOB_PROPERTIES}.PipelineTriggersJobProperty")
        triggers = _child(holder, "triggers")
        if timer:
            _child(_child(triggers, "hudson.triggers.TimerTrigger"), "spec", timer)
        if polling and pipeline.type == api.PIPELINE_TYPE_SCM:
            scm_trigger = _child(triggers, "hudson.triggers.SCMTrigger")
            _child(scm_trigger, "spec", polling)
            _child(scm_trigger, "ignorePostCommitHooks", "false")


def _definition(parent: ET.Element, pipeline: api.Pipeline) -> None:
    if pipeline.type == api.PIPELINE_TYPE_SCM:
        scm = pipeline.pipeline_scm
        definition = _child(
            parent,
            "definition",
            **{"class": "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"},
            plugin="workflow-cps",
        )
        git = _child(definition, "scm", **{"class": "hudson.plugins.git.GitSCM"}, plugin="git")
        _child(git, "configVersion", "2")
        remotes = _child(git, "userRemoteConfigs")
        remote = _child(remotes, "hudson.plugins.git.UserRemoteConfig")
        _child(remote, "url", scm.git_repository.url)
        _child(remote, "credentialsId", scm.credential_id or scm.git_repository.credential_id)
        branches = _child(git, "branches")
        branch = scm.branch or "main"
        spec = branch if "/" in branch or branch.startswith("*") else f"*/{branch}"
        _child(_child(branches, "hudson.plugins.git.BranchSpec"), "name", spec)
        _child(git, "doGenerateSubmoduleConfigurations", "false")
        _child(git, "submoduleCfg", **{"class": "empty-list"})
        _child(git, "extensions")
        _child(definition, "scriptPath", scm.jenkins_file_path or "Jenkinsfile")
        _child(definition, "lightweight", "true")
        return

    definition = _child(
        parent,
        "definition",
        **{"class": "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"},
        plugin="workflow-cps",
    )
    _child(definition, "script", pipeline.jenkinsfile)
    _child(definition, "sandbox", "true")


def config_xml(pipeline: api.Pipeline) -> str:
    """The job's config.xml for a definition (password defaults in clear, see above)."""
    root = ET.Element("flow-definition", {"plugin": "workflow-job"})
    _child(root, "actions")
    _child(root, "description", pipeline.description)
    _child(root, "keepDependencies", "false")
    _properties(root, pipeline)
    _definition(root, pipeline)
    _child(root, "triggers")
    _child(root, "disabled", "true" if pipeline.disabled else "false")
    body = ET.tostring(root, encoding="unicode")
    return f"<?xml version='1.0' encoding='UTF-8'?>\n{body}"
