"""Who may call what: the one table every RPC is authorised against.

Four scopes:
- `SIGNED_IN`: any caller with a valid token (the read-only lists the console shows to
  everyone: the workspaces visible to the caller, its own permissions, feature gates);
- `PLATFORM`: platform administrators only (clusters, Jenkins instances, workspaces, settings);
- `WORKSPACE`: a caller whose role in the request's workspace (`workspace_id`) grants the
  named permission. Platform administrators hold every permission in every workspace;
- `WORKSPACE_IF_GIVEN`: for reads whose workspace is optional (the node labels of a
  workspace's Jenkins, or of the default one): `WORKSPACE` when the request names a
  workspace, `SIGNED_IN` when it does not.

Default deny: a method missing from `RULES` is refused, and a test checks that every method the
apiserver serves has a rule. A caller without a role in a workspace is refused the same way
whether or not the workspace exists, so a refusal reveals nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Scope(enum.Enum):
    SIGNED_IN = "signed-in"
    PLATFORM = "platform"
    WORKSPACE = "workspace"
    WORKSPACE_IF_GIVEN = "workspace-if-given"


@dataclass(frozen=True)
class Rule:
    scope: Scope
    permission: str


VIEWER: frozenset[str] = frozenset(
    {
        "workspace.get",
        "cluster.list",
        "namespace.list",
        "deploytarget.list",
        "pipeline.list",
        "pipeline.get",
        "run.list",
        "run.get",
        "credential.list",
        "credential.get",
        "template.list",
        "template.get",
        "group.list",
        "member.list",
        "agent.list",
    }
)
EDITOR: frozenset[str] = VIEWER | {
    "pipeline.create",
    "pipeline.update",
    "pipeline.delete",
    "pipeline.run",
    "run.cancel",
    "run.replay",
    "run.input",
    "credential.create",
    "credential.update",
    "credential.delete",
    "template.create",
    "template.update",
    "template.delete",
    "group.create",
    "group.delete",
}
ADMIN: frozenset[str] = EDITOR | {"namespace.create", "namespace.delete"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "workspace-viewer": VIEWER,
    "workspace-editor": EDITOR,
    "workspace-admin": ADMIN,
}

CORE = "/amamba.io.api.core.v1alpha1"
PIPELINE = "/amamba.io.api.pipeline.v1alpha1"
CREDENTIAL = "/amamba.io.api.credential.v1alpha1"


def _signed_in() -> Rule:
    return Rule(Scope.SIGNED_IN, "")


def _platform(permission: str) -> Rule:
    return Rule(Scope.PLATFORM, permission)


def _workspace(permission: str) -> Rule:
    return Rule(Scope.WORKSPACE, permission)


def _workspace_if_given(permission: str) -> Rule:
    return Rule(Scope.WORKSPACE_IF_GIVEN, permission)


RULES: dict[str, Rule] = {
    # Core and its management views
    f"{CORE}.Core/ListVisibleWorkspaces": _signed_in(),
    f"{CORE}.Core/ListPlatformRolePermissionsForCurrentUser": _signed_in(),
    f"{CORE}.Core/ListRolePermissionsByWorkspaceForCurrentUser": _signed_in(),
    f"{CORE}.Core/ListClusterNames": _platform("platform.cluster.manage"),
    f"{CORE}.Core/ListClusterNamespaceNames": _platform("platform.cluster.manage"),
    f"{CORE}.Core/ListDeployTargets": _workspace("deploytarget.list"),
    f"{CORE}.Core/ListBoundClusters": _workspace("cluster.list"),
    f"{CORE}.Core/ListBoundNamespaces": _workspace("namespace.list"),
    f"{CORE}.Core/CreateNamespace": _workspace("namespace.create"),
    f"{CORE}.Core/DeleteNamespace": _workspace("namespace.delete"),
    f"{CORE}.Management/ListFeatureGate": _signed_in(),
    f"{CORE}.Management/GetFeatureGate": _signed_in(),
    f"{CORE}.Management/GetSettings": _signed_in(),
    f"{CORE}.Management/UpdateSettings": _platform("platform.settings.manage"),
    # Tenancy, which the tenant and cluster managers own in a full deployment
    f"{CORE}.Tenancy/CreateWorkspace": _platform("platform.workspace.manage"),
    f"{CORE}.Tenancy/DeleteWorkspace": _platform("platform.workspace.manage"),
    f"{CORE}.Tenancy/PutWorkspaceMember": _platform("platform.member.manage"),
    f"{CORE}.Tenancy/DeleteWorkspaceMember": _platform("platform.member.manage"),
    f"{CORE}.Tenancy/RegisterCluster": _platform("platform.cluster.manage"),
    f"{CORE}.Tenancy/RemoveCluster": _platform("platform.cluster.manage"),
    f"{CORE}.Tenancy/BindNamespace": _platform("platform.cluster.manage"),
    f"{CORE}.Tenancy/UnbindNamespace": _platform("platform.cluster.manage"),
    # Credentials
    f"{CREDENTIAL}.Credentials/ListCredential": _workspace("credential.list"),
    f"{CREDENTIAL}.Credentials/GetCredential": _workspace("credential.get"),
    f"{CREDENTIAL}.Credentials/CreateCredential": _workspace("credential.create"),
    f"{CREDENTIAL}.Credentials/UpdateCredential": _workspace("credential.update"),
    f"{CREDENTIAL}.Credentials/DeleteCredential": _workspace("credential.delete"),
    # Global build parameters and the Jenkins side of management
    f"{PIPELINE}.GlobalBuildParameter/ListGlobalBuildParameter": _signed_in(),
    f"{PIPELINE}.GlobalBuildParameter/CreateGlobalBuildParameter": _platform(
        "platform.parameter.manage"
    ),
    f"{PIPELINE}.GlobalBuildParameter/UpdateGlobalBuildParameter": _platform(
        "platform.parameter.manage"
    ),
    f"{PIPELINE}.GlobalBuildParameter/DeleteGlobalBuildParameter": _platform(
        "platform.parameter.manage"
    ),
    f"{PIPELINE}.Management/ListPodTemplates": _signed_in(),
    f"{PIPELINE}.Management/ListJenkinsNodeLabels": _workspace_if_given("agent.list"),
    f"{PIPELINE}.Management/Reload": _platform("platform.jenkins.manage"),
    f"{PIPELINE}.JenkinsInstances/RegisterJenkins": _platform("platform.jenkins.manage"),
    f"{PIPELINE}.JenkinsInstances/ListJenkins": _platform("platform.jenkins.manage"),
    f"{PIPELINE}.JenkinsInstances/RemoveJenkins": _platform("platform.jenkins.manage"),
    f"{PIPELINE}.JenkinsInstances/SetWorkspaceJenkins": _platform("platform.jenkins.manage"),
    f"{PIPELINE}.RunQuotas/SetWorkspaceQuota": _platform("platform.workspace.manage"),
    # Global templates
    f"{PIPELINE}.Pipelines/ListGlobalTemplates": _signed_in(),
    f"{PIPELINE}.Pipelines/GetGlobalTemplate": _signed_in(),
    f"{PIPELINE}.Pipelines/CreateGlobalTemplate": _platform("platform.template.manage"),
    f"{PIPELINE}.Pipelines/UpdateGlobalTemplate": _platform("platform.template.manage"),
    f"{PIPELINE}.Pipelines/DeleteGlobalTemplate": _platform("platform.template.manage"),
    f"{PIPELINE}.Pipelines/EnableTemplate": _platform("platform.template.manage"),
    f"{PIPELINE}.Pipelines/DisableTemplate": _platform("platform.template.manage"),
    # Workspace templates and groups
    f"{PIPELINE}.Pipelines/ListTemplates": _workspace("template.list"),
    f"{PIPELINE}.Pipelines/GetTemplate": _workspace("template.get"),
    f"{PIPELINE}.Pipelines/CreateTemplate": _workspace("template.create"),
    f"{PIPELINE}.Pipelines/UpdateTemplate": _workspace("template.update"),
    f"{PIPELINE}.Pipelines/DeleteTemplate": _workspace("template.delete"),
    f"{PIPELINE}.Pipelines/ListGroups": _workspace("group.list"),
    f"{PIPELINE}.Pipelines/CreateGroup": _workspace("group.create"),
    f"{PIPELINE}.Pipelines/DeleteGroup": _workspace("group.delete"),
    f"{PIPELINE}.Pipelines/ListApprovalPermissionUsers": _workspace("member.list"),
    # Pipelines
    f"{PIPELINE}.Pipelines/ListPipelines": _workspace("pipeline.list"),
    f"{PIPELINE}.Pipelines/GetPipeline": _workspace("pipeline.get"),
    f"{PIPELINE}.Pipelines/GetJenkinsJSON": _workspace("pipeline.get"),
    f"{PIPELINE}.Pipelines/GetBuildParameter": _workspace("pipeline.get"),
    f"{PIPELINE}.Pipelines/JenkinsfileToJSON": _workspace("pipeline.get"),
    f"{PIPELINE}.Pipelines/JSONToJenkinsfile": _workspace("pipeline.get"),
    f"{PIPELINE}.Pipelines/CreatePipeline": _workspace("pipeline.create"),
    f"{PIPELINE}.Pipelines/ReplicatePipeline": _workspace("pipeline.create"),
    f"{PIPELINE}.Pipelines/UpdatePipeline": _workspace("pipeline.update"),
    f"{PIPELINE}.Pipelines/UpdatePipelineJenkinsfile": _workspace("pipeline.update"),
    f"{PIPELINE}.Pipelines/UpdateJenkinsJSON": _workspace("pipeline.update"),
    f"{PIPELINE}.Pipelines/UpdatePipelineName": _workspace("pipeline.update"),
    f"{PIPELINE}.Pipelines/PatchPipelineParameters": _workspace("pipeline.update"),
    f"{PIPELINE}.Pipelines/TogglePipeline": _workspace("pipeline.update"),
    f"{PIPELINE}.Pipelines/SyncPipeline": _workspace("pipeline.update"),
    f"{PIPELINE}.Pipelines/DeletePipeline": _workspace("pipeline.delete"),
    # Runs
    f"{PIPELINE}.Pipelines/ListPipelineRuns": _workspace("run.list"),
    f"{PIPELINE}.Pipelines/GetPipelineRun": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetPipelineRunLog": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetPipelineRunNodes": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetPipelineRunSteps": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetPipelineRunStepLog": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetPipelineRunParameters": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetPipelineArtifacts": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetJunitReport": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/GetJunitReportSummary": _workspace("run.get"),
    f"{PIPELINE}.Pipelines/CancelPipelineRun": _workspace("run.cancel"),
    f"{PIPELINE}.Pipelines/ReplayPipelineRun": _workspace("run.replay"),
    f"{PIPELINE}.Pipelines/SubmitInputToProceed": _workspace("run.input"),
    f"{PIPELINE}.Pipelines/SubmitInputToAbort": _workspace("run.input"),
    f"{PIPELINE}.Pipelines/RunPipeline": _workspace("pipeline.run"),
    f"{PIPELINE}.RunWatch/WatchPipelineRun": _workspace("run.get"),
    f"{PIPELINE}.RunWatch/WatchWorkspaceRuns": _workspace("run.get"),
}


# What a platform administrator holds outside workspaces, as the table names it.
PLATFORM_PERMISSIONS: frozenset[str] = frozenset(
    rule.permission for rule in RULES.values() if rule.scope is Scope.PLATFORM
)


def permissions_of(role: str | None, *, platform_admin: bool) -> frozenset[str]:
    """Everything a caller holds in one workspace."""
    if platform_admin:
        return ADMIN
    return ROLE_PERMISSIONS.get(role or "", frozenset())
