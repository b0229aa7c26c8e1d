"""What a valid definition is (devops-server's checks), without a server."""

from __future__ import annotations

import pytest
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from cryptography.fernet import Fernet

from libs.common.errors import InvalidArgument, Unimplemented
from services.devops_server.ci.definition import (
    check_cron,
    check_definition,
    check_jenkinsfile,
    opened,
    pipeline_name,
    redacted,
    seal_passwords,
)
from services.devops_server.crypto import SecretBox


def custom(**fields: object) -> api.Pipeline:
    return api.Pipeline(type=api.PIPELINE_TYPE_CUSTOM, **fields)  # type: ignore[arg-type]


def refused(pipeline: api.Pipeline) -> str:
    with pytest.raises(InvalidArgument) as caught:
        check_definition(pipeline)
    return caught.value.message


@pytest.mark.parametrize(
    "name",
    ["", "a/b", "..", "up..down", "tab\there", "x" * 256, "semi;colon", " padded", "a\\b"],
)
def test_bad_names_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^name: "):
        pipeline_name("name", name)


@pytest.mark.parametrize("name", ["build-app", "Build_App.v2", "x" * 255, "with space", "数据"])
def test_jenkins_job_names_are_accepted(name: str) -> None:
    assert pipeline_name("name", name) == name


@pytest.mark.parametrize(
    "spec", ["H 2 * * 1-5", "@daily", "# note\nH/15 * * * *\n", "TZ=Europe/Paris\n0 8 * * *"]
)
def test_cron_specs_jenkins_reads_are_accepted(spec: str) -> None:
    check_cron("triggers.time.cron", spec)


@pytest.mark.parametrize("spec", ["every day", "* * * *", "@often", "1 2 3 4 5 6"])
def test_other_cron_specs_are_refused_with_the_line(spec: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^triggers\.time\.cron: line 1"):
        check_cron("triggers.time.cron", spec)


def test_multi_branch_pipelines_are_unimplemented() -> None:
    with pytest.raises(Unimplemented, match="MULTI_BRANCH"):
        check_definition(api.Pipeline(type=api.PIPELINE_TYPE_MULTI_BRANCH))


def test_duplicate_parameter_names_name_the_second() -> None:
    parameter = api.ParameterDefinition(name="A", type=api.PARAMETER_TYPE_STRING)

    assert refused(custom(parameters=[parameter, parameter])).startswith("parameters[1].name")


def test_unserved_parameter_type_is_refused() -> None:
    parameter = api.ParameterDefinition(name="F", type=api.PARAMETER_TYPE_STASHED_FILE)

    assert refused(custom(parameters=[parameter])).startswith("parameters[0].type")


def test_boolean_default_must_be_true_or_false() -> None:
    parameter = api.ParameterDefinition(
        name="B", type=api.PARAMETER_TYPE_BOOLEAN, default_value="yes"
    )

    assert refused(custom(parameters=[parameter])).startswith("parameters[0].defaultValue")


def test_choice_parameter_needs_choices() -> None:
    parameter = api.ParameterDefinition(name="C", type=api.PARAMETER_TYPE_CHOICE)

    assert refused(custom(parameters=[parameter])).startswith("parameters[0].defaultValue")


def test_webhook_triggers_are_refused_naming_the_field() -> None:
    generic = custom(generic_webhook_trigger=api.GenericWebhookTrigger(enabled=True))
    manual = custom(manual_webhook_trigger=api.ManualWebhookTrigger(webhook_trigger=True))

    assert refused(generic).startswith("genericWebhookTrigger.enabled: ")
    assert refused(manual).startswith("manualWebhookTrigger.webhookTrigger: ")
    check_definition(custom(generic_webhook_trigger=api.GenericWebhookTrigger(enabled=False)))


def test_negative_discarder_is_refused() -> None:
    build = api.BuildConfig(discarder_property=api.DiscarderProperty(num_to_retain_value=-3))

    message = refused(custom(build_config=build))

    assert message.startswith("buildConfig.discarderProperty.numToRetainValue")


@pytest.mark.parametrize(
    ("scm", "field"),
    [
        (api.PipelineScm(), "pipelineScm.gitRepository.url"),
        (
            api.PipelineScm(git_repository=api.GitRepository(url="file:///etc/passwd")),
            "pipelineScm.gitRepository.url",
        ),
        (
            api.PipelineScm(
                git_repository=api.GitRepository(url="https://g.example/r.git"),
                jenkins_file_path="../../x",
            ),
            "pipelineScm.jenkinsFilePath",
        ),
        (
            api.PipelineScm(
                git_repository=api.GitRepository(url="git@g.example:r.git"), branch="a b"
            ),
            "pipelineScm.branch",
        ),
    ],
)
def test_bad_scm_settings_name_their_field(scm: api.PipelineScm, field: str) -> None:
    assert refused(api.Pipeline(type=api.PIPELINE_TYPE_SCM, pipeline_scm=scm)).startswith(field)


def test_declarative_jenkinsfile_errors_give_line_and_column() -> None:
    with pytest.raises(InvalidArgument, match=r"^jenkinsfile: line \d+, column \d+"):
        check_jenkinsfile("pipeline {\n  stages {\n")


def test_scripted_jenkinsfile_is_accepted() -> None:
    check_jenkinsfile("node { echo 'scripted' }")


def test_password_default_is_sealed_redacted_and_opened_only_for_jenkins() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    parameter = api.ParameterDefinition(
        name="P", type=api.PARAMETER_TYPE_PASSWORD, default_value="hunter2"
    )
    pipeline = seal_passwords(custom(parameters=[parameter]), None, box)

    stored = pipeline.parameters[0].default_value
    for_jenkins = opened(pipeline, box).parameters[0].default_value
    shown = redacted(pipeline).parameters[0]

    assert "hunter2" not in stored
    assert for_jenkins == "hunter2"
    assert (shown.default_value, shown.redact) == ("", True)


def test_password_sent_back_empty_keeps_the_stored_one() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    first = api.ParameterDefinition(
        name="P", type=api.PARAMETER_TYPE_PASSWORD, default_value="hunter2"
    )
    stored = seal_passwords(custom(parameters=[first]), None, box)
    again = api.ParameterDefinition(name="P", type=api.PARAMETER_TYPE_PASSWORD)

    updated = seal_passwords(custom(parameters=[again]), stored, box)

    assert opened(updated, box).parameters[0].default_value == "hunter2"
