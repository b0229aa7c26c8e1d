"""The resource registry: which kinds this cluster serves, and how each one behaves.

Everything the server says about a kind is derived from one `ResourceType`: the discovery
documents, the URL routing, the `XList` kind of a list, whether `/status` exists and whether
a strategic-merge patch is accepted. Built-in kinds are declared here; custom resources come
from CustomResourceDefinition manifests (`ResourceType.from_crd`), the same documents the
real projects ship, so registering the CRDs is what "installs" Argo CD or KubeVela on a
stand-in. A CRD created through the API registers its kind the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    """One served resource: group/version/plural and the behaviours that differ per kind."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    scale_subresource: bool = False
    # Strategic merge needs Go struct tags, so the real server only has it for built-in kinds.
    builtin: bool = False
    # Pods, namespaces and service accounts answer a delete with the object, others with Status.
    returns_deleted_object: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def key(self) -> str:
        """Storage key shared by every version of the kind: `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery(self) -> list[dict[str, Any]]:
        """The APIResource entries of this kind and its subresources."""
        entries: list[dict[str, Any]] = [
            {
                "name": self.plural,
                "singularName": self.singular or self.kind.lower(),
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": list(VERBS),
            }
        ]
        if self.short_names:
            entries[0]["shortNames"] = list(self.short_names)
        if self.categories:
            entries[0]["categories"] = list(self.categories)
        if self.status_subresource:
            entries.append(self._subresource("status", self.kind, "", ""))
        if self.scale_subresource:
            entries.append(self._subresource("scale", "Scale", "autoscaling", "v1"))
        return entries

    def _subresource(self, name: str, kind: str, group: str, version: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": f"{self.plural}/{name}",
            "singularName": "",
            "namespaced": self.namespaced,
            "kind": kind,
            "verbs": list(SUBRESOURCE_VERBS),
        }
        if group:
            entry["group"] = group
            entry["version"] = version
        return entry

    @classmethod
    def from_crd(cls, crd: dict[str, Any]) -> list[ResourceType]:
        """One ResourceType per served version of an apiextensions.k8s.io/v1 CRD."""
        spec = crd["spec"]
        names = spec["names"]
        types = []
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            subresources = version.get("subresources") or {}
            types.append(
                cls(
                    group=spec["group"],
                    version=version["name"],
                    plural=names["plural"],
                    kind=names["kind"],
                    namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                    singular=names.get("singular", names["kind"].lower()),
                    short_names=tuple(names.get("shortNames", ())),
                    categories=tuple(names.get("categories", ())),
                    status_subresource="status" in subresources,
                    scale_subresource="scale" in subresources,
                )
            )
        return types


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    status: bool = False,
    scale: bool = False,
    returns_deleted: bool = False,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        status_subresource=status,
        scale_subresource=scale,
        builtin=True,
        returns_deleted_object=returns_deleted,
    )


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short=("ns",),
        status=True,
        returns_deleted=True,
    ),
    _builtin("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _builtin("", "v1", "secrets", "Secret"),
    _builtin("", "v1", "services", "Service", short=("svc",), status=True),
    _builtin("", "v1", "pods", "Pod", short=("po",), status=True, returns_deleted=True),
    _builtin("", "v1", "events", "Event", short=("ev",)),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",), returns_deleted=True),
    _builtin("apps", "v1", "deployments", "Deployment", short=("deploy",), status=True, scale=True),
    _builtin("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), status=True, scale=True),
    _builtin("apps", "v1", "daemonsets", "DaemonSet", short=("ds",), status=True),
    _builtin("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), status=True, scale=True),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease"),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short=("crd", "crds"),
        status=True,
    ),
)


class Registry:
    """The served resource types, looked up by URL parts or by kind."""

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for rt in types:
            self.register(rt)

    def register(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt

    def unregister(self, group: str, plural: str) -> None:
        for key in [k for k in self._types if k[0] == group and k[2] == plural]:
            del self._types[key]

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._types.values())

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for rt in self._types.values():
            if rt.api_version == api_version and rt.kind == kind:
                return rt
        return None

    def by_key(self, key: str) -> ResourceType | None:
        """Any served version of the kind stored under `key`."""
        for rt in self._types.values():
            if rt.key == key:
                return rt
        return None

    def groups(self) -> dict[str, list[str]]:
        """Named groups (not the core group) and their versions, in registration order."""
        groups: dict[str, list[str]] = {}
        for rt in self._types.values():
            if rt.group and rt.version not in groups.setdefault(rt.group, []):
                groups[rt.group].append(rt.version)
        return groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.group == group and rt.version == version]
