"""What a valid pipeline definition is, and how it is kept.

A definition arrives as the API's `Pipeline` fields (from a create or update request) and is
stored as the proto JSON of a `Pipeline` message holding only the definition: description,
type, parameters, build config, triggers, SCM, group, release flag. The name, workspace,
Jenkinsfile, disabled flag and run summary live in their own columns.

Decisions:

- Checks happen here, in devops-server, because the database is the source of truth: any
  caller of the SDK gets the same 400s, each naming the field by its API (JSON) name.
- Types: CUSTOM (an inline Jenkinsfile, the default when none is given), SCM (Git
  repository, branch, credential, script path) and TEMPLATE (an inline Jenkinsfile rendered
  from a catalog template when the pipeline is created; afterwards it is edited like a
  custom one). MULTI_BRANCH needs a multibranch project, which Workbench does not create
  yet: it answers UNIMPLEMENTED rather than storing something Jenkins cannot run.
- Triggers: cron (`triggers.time`) and SCM polling (`triggers.scm`), which config.xml
  carries. amamba's generic webhook trigger (a toolchain's repository hook) and manual webhook
  trigger (a URL with a token) need endpoints and plugins Workbench does not have, so turning
  either on is refused (400 naming the field) rather than stored and never acted on.
- Parameter types: string, text, boolean, choice and password; the rest (file, git,
  global parameters) are refused with the field named.
- A password parameter's default is sealed with the SecretBox before it is stored
  (`sealed:<Fernet token>`), is never returned (`redacted`), and is opened only to write the
  job's config.xml and to give a run that leaves the parameter out its value
  (`ci.params`, sealed again in the run). An update that sends a password parameter back
  without a default keeps the stored one, so a client can round-trip a pipeline it read.
"""

from __future__ import annotations

import re
from typing import Any

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from google.protobuf import json_format

from libs.common.errors import InvalidArgument, Unimplemented
from libs.jenkinsfile import ConversionError, ScriptedPipelineError, to_json
from services.devops_server.crypto import SecretBox

SEALED = "sealed:"
MAX_NAME = 255
MAX_DESCRIPTION = 4096
MAX_JENKINSFILE = 4_000_000
MAX_PARAMETERS = 200

# Jenkins refuses these in item names (Jenkins.checkGoodName); "/" would also leave the folder.
_JENKINS_UNSAFE = set("?*/\\%!@#$^&|<>[]:;")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_CREDENTIAL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_GIT_URL = re.compile(r"^((https?|ssh|git)://[^\s]+|[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[^\s]+)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,()\-]+$")
_CRON_ALIASES = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

SERVED_TYPES = {api.PIPELINE_TYPE_CUSTOM, api.PIPELINE_TYPE_SCM, api.PIPELINE_TYPE_TEMPLATE}
SERVED_PARAMETERS = {
    api.PARAMETER_TYPE_STRING,
    api.PARAMETER_TYPE_TEXT,
    api.PARAMETER_TYPE_BOOLEAN,
    api.PARAMETER_TYPE_CHOICE,
    api.PARAMETER_TYPE_PASSWORD,
}

# Fields a stored spec never holds: they have columns of their own, or are run summaries.
_NOT_IN_SPEC = (
    "workspace_id",
    "name",
    "jenkinsfile",
    "disabled",
    "status",
    "last_pipeline_run_state",
    "total_run_times",
    "last_run_time",
    "total_success_times",
    "created_at",
    "weather",
)


def pipeline_name(field: str, value: str) -> str:
    """A pipeline name: a valid Jenkins job name that cannot leave its workspace's folder."""
    if not value:
        raise InvalidArgument(f"{field}: must not be empty")
    if len(value) > MAX_NAME:
        raise InvalidArgument(f"{field}: must be at most {MAX_NAME} characters, got {len(value)}")
    if _CONTROL.search(value):
        raise InvalidArgument(f"{field}: must not contain control characters")
    if ".." in value or value in (".",):
        raise InvalidArgument(f"{field}: must not be '.' or contain '..'")
    unsafe = sorted(set(value) & _JENKINS_UNSAFE)
    if unsafe:
        raise InvalidArgument(f"{field}: must not contain {' '.join(unsafe)!r}")
    if value != value.strip():
        raise InvalidArgument(f"{field}: must not start or end with white space")
    return value


def _text(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidArgument(f"{field}: must be at most {limit} characters, got {len(value)}")
    if _CONTROL_IN_TEXT.search(value):
        raise InvalidArgument(f"{field}: must not contain control characters")


def _single_line(field: str, value: str, limit: int = 2048) -> None:
    if len(value) > limit:
        raise InvalidArgument(f"{field}: must be at most {limit} characters, got {len(value)}")
    if _CONTROL.search(value):
        raise InvalidArgument(f"{field}: must not contain control characters")


def check_cron(field: str, spec: str) -> None:
    """A Jenkins cron spec: lines of five fields (H allowed), an @alias, TZ= or comments."""
    _text(field, spec, 2048)

    for number, raw in enumerate(spec.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("TZ="):
            continue
        if line.startswith("@"):
            if line not in _CRON_ALIASES:
                raise InvalidArgument(f"{field}: line {number}: unknown alias {line[:40]!r}")
            continue
        parts = line.split()
        if len(parts) != 5 or not all(_CRON_FIELD.match(part) for part in parts):
            raise InvalidArgument(
                f"{field}: line {number}: {line[:80]!r} is not 'MINUTE HOUR DOM MONTH DOW'"
            )


def _check_parameters(parameters: Any) -> None:
    if len(parameters) > MAX_PARAMETERS:
        raise InvalidArgument(f"parameters: at most {MAX_PARAMETERS}, got {len(parameters)}")
    seen: set[str] = set()

    for index, parameter in enumerate(parameters):
        where = f"parameters[{index}]"
        if not _PARAMETER_NAME.match(parameter.name):
            raise InvalidArgument(
                f"{where}.name: {parameter.name[:40]!r} is not valid: use letters, digits and "
                "'_', starting with a letter or '_' (at most 128)"
            )
        if parameter.name in seen:
            raise InvalidArgument(f"{where}.name: {parameter.name!r} is given twice")
        seen.add(parameter.name)
        if parameter.type not in SERVED_PARAMETERS:
            raise InvalidArgument(
                f"{where}.type: must be one of PARAMETER_TYPE_STRING, TEXT, BOOLEAN, CHOICE, "
                f"PASSWORD, got {api.ParameterType.Name(parameter.type)}"
            )
        _text(f"{where}.description", parameter.description, MAX_DESCRIPTION)
        if parameter.type != api.PARAMETER_TYPE_PASSWORD:
            _text(f"{where}.defaultValue", parameter.default_value, 65536)
        if parameter.type == api.PARAMETER_TYPE_BOOLEAN and parameter.default_value not in (
            "",
            "true",
            "false",
        ):
            raise InvalidArgument(f"{where}.defaultValue: a boolean is 'true' or 'false'")
        if parameter.type == api.PARAMETER_TYPE_CHOICE and not parameter.default_value.strip():
            raise InvalidArgument(
                f"{where}.defaultValue: a choice parameter lists its choices, one per line"
            )


def _check_scm(scm: api.PipelineScm) -> None:
    url = scm.git_repository.url
    if not url:
        raise InvalidArgument("pipelineScm.gitRepository.url: an SCM pipeline needs a Git URL")
    _single_line("pipelineScm.gitRepository.url", url)
    if not _GIT_URL.match(url):
        raise InvalidArgument(
            "pipelineScm.gitRepository.url: must be an http(s)://, ssh://, git:// or "
            "user@host:path Git URL"
        )
    for field, value in (
        ("pipelineScm.credentialId", scm.credential_id),
        ("pipelineScm.gitRepository.credentialId", scm.git_repository.credential_id),
    ):
        if value and not _CREDENTIAL_ID.match(value):
            raise InvalidArgument(f"{field}: use letters, digits, '.', '_' and '-'")
    _single_line("pipelineScm.branch", scm.branch, 255)
    if " " in scm.branch:
        raise InvalidArgument("pipelineScm.branch: must not contain spaces")
    path = scm.jenkins_file_path
    _single_line("pipelineScm.jenkinsFilePath", path, 1024)
    if path.startswith("/") or ".." in path.split("/"):
        raise InvalidArgument(
            "pipelineScm.jenkinsFilePath: must be a path inside the repository (no leading "
            "'/', no '..')"
        )
    if scm.scm_type not in (api.SCM_TYPE_UNSPECIFIED, api.SCM_TYPE_GIT):
        raise InvalidArgument("pipelineScm.scmType: only SCM_TYPE_GIT is served")


def _check_webhooks(pipeline: api.Pipeline) -> None:
    unserved = "webhook triggers are not served: use triggers.time or triggers.scm"
    if pipeline.generic_webhook_trigger.enabled:
        raise InvalidArgument(f"genericWebhookTrigger.enabled: {unserved}")
    if pipeline.manual_webhook_trigger.webhook_trigger:
        raise InvalidArgument(f"manualWebhookTrigger.webhookTrigger: {unserved}")


def check_definition(pipeline: api.Pipeline) -> None:
    """Refuse a definition Workbench cannot store or Jenkins cannot run (400 naming the field)."""
    if pipeline.type == api.PIPELINE_TYPE_MULTI_BRANCH:
        raise Unimplemented(
            "type: PIPELINE_TYPE_MULTI_BRANCH pipelines are not served yet; "
            "use PIPELINE_TYPE_SCM with a branch"
        )
    if pipeline.type not in SERVED_TYPES:
        raise InvalidArgument(f"type: unknown pipeline type {pipeline.type}")

    _text("description", pipeline.description, MAX_DESCRIPTION)
    _check_parameters(pipeline.parameters)
    discarder = pipeline.build_config.discarder_property
    if discarder.days_to_retain_value < 0:
        raise InvalidArgument("buildConfig.discarderProperty.daysToRetainValue: must be 0 or more")
    if discarder.num_to_retain_value < 0:
        raise InvalidArgument("buildConfig.discarderProperty.numToRetainValue: must be 0 or more")
    check_cron("triggers.time.cron", pipeline.triggers.time.cron)
    check_cron("triggers.scm.cron", pipeline.triggers.scm.cron)
    _check_webhooks(pipeline)
    if pipeline.type == api.PIPELINE_TYPE_SCM:
        _check_scm(pipeline.pipeline_scm)


def check_jenkinsfile(text: str) -> None:
    """A Jenkinsfile Jenkins can load: declarative ones must parse; scripted ones are kept."""
    if len(text) > MAX_JENKINSFILE:
        raise InvalidArgument(f"jenkinsfile: must be at most {MAX_JENKINSFILE} characters")
    if _CONTROL_IN_TEXT.search(text):
        raise InvalidArgument("jenkinsfile: must not contain control characters")
    if not text.strip():
        return
    try:
        to_json(text)
    except ScriptedPipelineError:
        return
    except ConversionError as error:
        raise InvalidArgument(f"jenkinsfile: {error}") from None


def definition_from(request: Any) -> api.Pipeline:
    """The definition fields of a create or update request, as a `Pipeline` message."""
    pipeline = api.Pipeline(
        description=request.description,
        parameters=list(request.parameters),
        build_config=request.build_config,
        type=request.type or api.PIPELINE_TYPE_CUSTOM,
        triggers=request.triggers,
        pipeline_scm=request.pipeline_scm,
        pipeline_multi_branch=request.pipeline_multi_branch,
        generic_webhook_trigger=request.generic_webhook_trigger,
        manual_webhook_trigger=request.manual_webhook_trigger,
        group=request.group,
        is_release=request.is_release,
    )
    return pipeline


def seal_passwords(
    pipeline: api.Pipeline, previous: api.Pipeline | None, box: SecretBox
) -> api.Pipeline:
    """Seal new password defaults; keep the stored one where none is sent back."""
    kept = {
        p.name: p.default_value
        for p in (previous.parameters if previous is not None else [])
        if p.type == api.PARAMETER_TYPE_PASSWORD
    }

    for parameter in pipeline.parameters:
        if parameter.type != api.PARAMETER_TYPE_PASSWORD:
            continue
        parameter.redact = True
        if parameter.default_value.startswith(SEALED):
            # Only a value already stored for this parameter may arrive sealed.
            if kept.get(parameter.name) != parameter.default_value:
                raise InvalidArgument(f"parameters: {parameter.name}.defaultValue is not valid")
            continue
        if parameter.default_value:
            sealed = box.seal(parameter.default_value).decode()
            parameter.default_value = SEALED + sealed
        else:
            parameter.default_value = kept.get(parameter.name, "")
    return pipeline


def redacted(pipeline: api.Pipeline) -> api.Pipeline:
    """The same definition with every password default removed (what the API shows)."""
    for parameter in pipeline.parameters:
        if parameter.type == api.PARAMETER_TYPE_PASSWORD:
            parameter.default_value = ""
            parameter.redact = True
    return pipeline


def open_default(value: str, box: SecretBox) -> str:
    """A stored password default in clear (a value not sealed is returned as it is)."""
    if value.startswith(SEALED):
        return box.open(value[len(SEALED) :].encode())
    return value


def opened(pipeline: api.Pipeline, box: SecretBox) -> api.Pipeline:
    """A copy with password defaults in clear, for the job's config.xml only."""
    copy = api.Pipeline()
    copy.CopyFrom(pipeline)
    for parameter in copy.parameters:
        if parameter.type == api.PARAMETER_TYPE_PASSWORD:
            parameter.default_value = open_default(parameter.default_value, box)
    return copy


def to_spec(pipeline: api.Pipeline) -> dict[str, Any]:
    """The stored JSON of a definition (proto JSON, camelCase, defaults left out)."""
    copy = api.Pipeline()
    copy.CopyFrom(pipeline)
    for field in _NOT_IN_SPEC:
        copy.ClearField(field)  # type: ignore[arg-type]
    spec: dict[str, Any] = json_format.MessageToDict(copy)
    return spec


def from_spec(spec: dict[str, Any]) -> api.Pipeline:
    pipeline = api.Pipeline()
    json_format.ParseDict(spec, pipeline, ignore_unknown_fields=True)
    return pipeline
