"""The job config.xml generated from a definition: parsed back, value for value."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api

from sandbox.jenkins._xml import parse_pipeline
from services.devops_server.ci.config_xml import config_xml

PROPS = "org.jenkinsci.plugins.workflow.job.properties"


def parameter(
    name: str, kind: api.ParameterType.ValueType, default: str = ""
) -> api.ParameterDefinition:
    return api.ParameterDefinition(name=name, type=kind, default_value=default, description="d")


def custom(**fields: object) -> api.Pipeline:
    return api.Pipeline(name="p", type=api.PIPELINE_TYPE_CUSTOM, **fields)  # type: ignore[arg-type]


def test_script_with_markup_characters_is_escaped_and_read_back_exactly() -> None:
    script = "pipeline { stages { stage('<a> & \"b\"') { steps { echo ']]>' } } } }"

    root = ET.fromstring(config_xml(custom(jenkinsfile=script)))

    definition = root.find("definition")
    assert definition is not None
    assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"
    assert definition.findtext("script") == script
    assert definition.findtext("sandbox") == "true"


def test_description_cannot_inject_elements() -> None:
    text = "</description><disabled>true</disabled><description>"

    root = ET.fromstring(config_xml(custom(description=text)))

    assert root.findtext("description") == text
    assert root.findtext("disabled") == "false"


def test_control_characters_are_dropped_so_the_document_parses() -> None:
    root = ET.fromstring(config_xml(custom(description="a\x00b\x1bc\td")))

    assert root.findtext("description") == "abc\td"


def test_each_parameter_type_has_its_jenkins_class_and_default() -> None:
    pipeline = custom(
        parameters=[
            parameter("S", api.PARAMETER_TYPE_STRING, "s"),
            parameter("T", api.PARAMETER_TYPE_TEXT, "line1\nline2"),
            parameter("B", api.PARAMETER_TYPE_BOOLEAN, "true"),
            parameter("C", api.PARAMETER_TYPE_CHOICE, "dev\nprod\n"),
            parameter("P", api.PARAMETER_TYPE_PASSWORD, "hunter2"),
        ]
    )

    root = ET.fromstring(config_xml(pipeline))

    definitions = root.find("properties/hudson.model.ParametersDefinitionProperty")
    assert definitions is not None
    found = {e.findtext("name"): e for e in definitions.find("parameterDefinitions") or []}
    assert found["S"].tag == "hudson.model.StringParameterDefinition"
    assert found["S"].findtext("defaultValue") == "s"
    assert found["T"].findtext("defaultValue") == "line1\nline2"
    assert found["B"].tag == "hudson.model.BooleanParameterDefinition"
    assert found["B"].findtext("defaultValue") == "true"
    assert [s.text for s in found["C"].iter("string")] == ["dev", "prod"]
    assert found["P"].tag == "hudson.model.PasswordParameterDefinition"
    assert found["P"].findtext("defaultValue") == "hunter2"


def test_build_config_sets_concurrency_and_discarder() -> None:
    build = api.BuildConfig(
        disable_concurrence=True,
        discarder_property=api.DiscarderProperty(days_to_retain_value=7, num_to_retain_value=0),
    )

    root = ET.fromstring(config_xml(custom(build_config=build)))

    assert root.find(f"properties/{PROPS}.DisableConcurrentBuildsJobProperty") is not None
    strategy = root.find("properties/jenkins.model.BuildDiscarderProperty/strategy")
    assert strategy is not None and strategy.get("class") == "hudson.tasks.LogRotator"
    assert strategy.findtext("daysToKeep") == "7"
    assert strategy.findtext("numToKeep") == "-1"


def test_no_build_config_means_no_properties_for_it() -> None:
    root = ET.fromstring(config_xml(custom()))

    assert list(root.find("properties") or []) == []


def test_cron_trigger_becomes_a_timer_trigger() -> None:
    triggers = api.BuildTrigger(time=api.Cron(cron="H 2 * * 1-5"))

    root = ET.fromstring(config_xml(custom(triggers=triggers)))

    spec = root.findtext(
        f"properties/{PROPS}.PipelineTriggersJobProperty/triggers/hudson.triggers.TimerTrigger/spec"
    )
    assert spec == "H 2 * * 1-5"


def test_disabled_pipeline_is_a_disabled_job() -> None:
    assert ET.fromstring(config_xml(custom(disabled=True))).findtext("disabled") == "true"


def test_scm_pipeline_reads_its_jenkinsfile_from_git() -> None:
    scm = api.PipelineScm(
        git_repository=api.GitRepository(url="https://git.example.com/app.git"),
        credential_id="git-cred",
        branch="release",
        jenkins_file_path="ci/Jenkinsfile",
    )
    pipeline = api.Pipeline(name="p", type=api.PIPELINE_TYPE_SCM, pipeline_scm=scm)

    root = ET.fromstring(config_xml(pipeline))

    definition = root.find("definition")
    assert definition is not None
    assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
    remote = definition.find("scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig")
    assert remote is not None
    assert remote.findtext("url") == "https://git.example.com/app.git"
    assert remote.findtext("credentialsId") == "git-cred"
    assert definition.findtext("scm/branches/hudson.plugins.git.BranchSpec/name") == "*/release"
    assert definition.findtext("scriptPath") == "ci/Jenkinsfile"


def test_the_jenkins_stand_in_reads_the_same_job() -> None:
    pipeline = custom(
        description="desc",
        jenkinsfile="pipeline { agent any }",
        disabled=True,
        parameters=[parameter("C", api.PARAMETER_TYPE_CHOICE, "a\nb")],
        build_config=api.BuildConfig(disable_concurrence=True),
        triggers=api.BuildTrigger(time=api.Cron(cron="@daily")),
    )

    job = parse_pipeline(config_xml(pipeline))

    assert job.description == "desc"
    assert job.disabled is True
    assert job.script == "pipeline { agent any }"
    assert job.cron == ["@daily"]
    assert job.concurrent is False
    assert job.parameters[0].choices == ["a", "b"]
