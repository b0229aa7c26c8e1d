"""One Argo CD AppProject per workspace: where the workspace's applications may deploy.

The project `workspace-<id>` lives in Argo CD's namespace of the control-plane cluster and
confines the workspace's Argo CD Applications:

- `destinations`: exactly the namespaces bound to the workspace, each by its cluster's API
  server URL (what Argo CD matches an Application's destination against). Binding or
  unbinding a namespace changes this list and nothing else.
- `clusterResourceWhitelist: []`: no cluster-scoped kind may be deployed; a workspace owns
  namespaces, not the cluster.
- `sourceRepos`: the Git repositories the workspace's SCM pipelines build from (devops-server's
  `ListRepositories`; the change stream reports a pipeline naming another one), each as its
  exact URL: what the workspace builds is what it may deploy. A workspace without SCM
  pipelines gets `[]`, which allows no source at all. A URL Argo CD would read as a pattern
  (a glob character, a leading `!`) is left out and reported once.
- `roles`: `admin`, `editor` and `viewer`, one per workspace role, each granted to one SSO
  group, `workspace-<id>-<role>` unless `WORKBENCH_ARGOCD_GROUP_PATTERN` says otherwise
  (`{workspace}` and `{role}` are filled in). Workbench does not manage the groups: the
  platform's SSO must put each member of a workspace in the group of their role, and a
  role granted or revoked in Workbench changes nothing in Argo CD until the SSO follows. Policies
  are written as Argo CD writes them: `p, proj:<project>:<role>, <resource>, <action>,
  <project>/*, allow`.

The syncer owns `spec.description`, `spec.sourceRepos`, `spec.destinations`,
`spec.clusterResourceWhitelist`, `spec.roles` and its two labels; anything else (sync
windows, orphaned-resource settings added by an operator) is left as it is. AppProject has
no status subresource, and Argo CD writes nothing into it, so an unchanged workspace costs no
write. Role JWT tokens minted through Argo CD's API would be listed under `roles[].jwtTokens`
and removed by the next reconcile, because the syncer owns `roles` whole.
# TODO: keep `jwtTokens` of existing roles once Workbench mints project tokens; nothing
# does yet, so owning `roles` whole is the simpler and exact rule.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from kubernetes_asyncio import client

from libs.controller import ListWatch
from libs.kube.objects import MERGE_PATCH
from services.syncer.provider import WORKSPACE_LABEL, Provider, workspace_labels
from services.syncer.tenancy import TenancyView, WorkspaceState

__all__ = ["AppProjects", "project_name"]

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

_GLOB = re.compile(r"[*?\[\]{}]")  # what Argo CD's glob matching treats as a pattern

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "appprojects"

# (resource, action) pairs each workspace role is granted on the project's applications.
ROLE_GRANTS: dict[str, tuple[tuple[str, str], ...]] = {
    "admin": (
        ("applications", "*"),
        ("applicationsets", "*"),
        ("logs", "get"),
        ("exec", "create"),
    ),
    "editor": (
        ("applications", "get"),
        ("applications", "create"),
        ("applications", "update"),
        ("applications", "sync"),
        ("applications", "action/*"),
        ("logs", "get"),
    ),
    "viewer": (
        ("applications", "get"),
        ("logs", "get"),
    ),
}


def project_name(workspace_id: int) -> str:
    return f"workspace-{workspace_id}"


DEFAULT_GROUP_PATTERN = "workspace-{workspace}-{role}"


def roles(project: str, workspace_id: int, group_pattern: str = DEFAULT_GROUP_PATTERN) -> list[Obj]:
    """The project's roles, one per workspace role, granted to the workspace's groups."""
    return [
        {
            "name": role,
            "description": f"Workbench workspace role workspace-{role}",
            "policies": [
                f"p, proj:{project}:{role}, {resource}, {action}, {project}/*, allow"
                for resource, action in grants
            ],
            "groups": [group_pattern.format(workspace=workspace_id, role=role)],
        }
        for role, grants in ROLE_GRANTS.items()
    ]


class AppProjects(Provider):
    provider = "argocd-appproject"

    def __init__(
        self,
        api_client: client.ApiClient,
        view: TenancyView,
        namespace: str,
        *,
        group_pattern: str = DEFAULT_GROUP_PATTERN,
    ) -> None:
        super().__init__(view, namespace)
        self._api = client.CustomObjectsApi(api_client)
        self._group_pattern = group_pattern
        self._reported: set[tuple[int, str]] = set()  # (workspace, URL) left out, reported

    def object_name(self, workspace_id: int) -> str:
        return project_name(workspace_id)

    def desired(self, state: WorkspaceState) -> Obj:
        name = project_name(state.id)
        destinations: list[Obj] = []
        for destination in state.destinations:
            entry = {"server": destination.server, "namespace": destination.namespace}
            if entry not in destinations:  # two registrations of one API server
                destinations.append(entry)

        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AppProject",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": workspace_labels(state.id),
            },
            "spec": {
                "description": f"Workbench workspace {state.alias}"[:255],
                "sourceRepos": self._source_repos(state),
                "destinations": destinations,
                "clusterResourceWhitelist": [],
                "roles": roles(name, state.id, self._group_pattern),
            },
        }

    def _source_repos(self, state: WorkspaceState) -> list[str]:
        """The workspace's repositories, each allowed as itself. Argo CD reads an entry as a
        glob, so a URL with a glob character would allow (or, with a leading `!`, deny) more
        than itself: it is left out, and so allows nothing."""
        allowed = []
        for url in state.repositories:
            if not _GLOB.search(url) and not url.startswith("!"):
                allowed.append(url)
            elif (state.id, url) not in self._reported:
                self._reported.add((state.id, url))
                logger.warning(
                    "workspace %d: repository %s left out of its AppProject: Argo CD would "
                    "read it as a pattern",
                    state.id,
                    url[:200],
                    extra={"workspace": state.id},
                )
        return allowed

    def owned(self, desired: Obj) -> Obj:
        return {"metadata": {"labels": desired["metadata"]["labels"]}, "spec": desired["spec"]}

    def list_watch(self) -> ListWatch:
        return ListWatch(
            self._api.list_namespaced_custom_object,
            self.cache.handle,
            group=GROUP,
            version=VERSION,
            namespace=self.namespace,
            plural=PLURAL,
            label_selector=WORKSPACE_LABEL,
        )

    async def _create(self, obj: Obj) -> Obj:
        return cast(
            Obj,
            await self._api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, obj
            ),
        )

    async def _read(self, name: str) -> Obj:
        return cast(
            Obj,
            await self._api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            ),
        )

    async def _patch(self, name: str, patch: Obj) -> Obj:
        return cast(
            Obj,
            await self._api.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                patch,
                **MERGE_PATCH,
            ),
        )

    async def _delete(self, name: str) -> None:
        await self._api.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )
