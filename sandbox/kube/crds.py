"""CustomResourceDefinitions of the projects Workbench drives, as their installs register them.

Only what the API server reads from a CRD is written down: group, names, scope, the served
versions and their subresources. The subresources are the facts that matter, because they
change how writes behave (see `kubernetes.md` §1–§4):

- Argo CD `Application` and `AppProject` have **no** status subresource: the controller writes
  status through the main resource, and so may anyone.
- Argo Rollouts `Rollout` has `status` and `scale`; the kubectl plugin patches `/status`.
- KubeVela `Application` (core.oam.dev) and `app.k8s.io` `Application` have `status`.

Schemas are left out (`x-kubernetes-preserve-unknown-fields` in effect): the stand-in does not
validate custom resources beyond metadata, and says so in its README.
"""

from __future__ import annotations

from typing import Any


def crd(
    group: str,
    kind: str,
    plural: str,
    *,
    versions: tuple[str, ...] = ("v1alpha1",),
    namespaced: bool = True,
    short_names: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    status: bool = False,
    scale: bool = False,
) -> dict[str, Any]:
    """A minimal apiextensions.k8s.io/v1 CustomResourceDefinition manifest."""
    subresources: dict[str, Any] = {}
    if status:
        subresources["status"] = {}
    if scale:
        subresources["scale"] = {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        }
    names: dict[str, Any] = {
        "kind": kind,
        "listKind": f"{kind}List",
        "plural": plural,
        "singular": kind.lower(),
    }
    if short_names:
        names["shortNames"] = list(short_names)
    if categories:
        names["categories"] = list(categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": names,
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": index == 0,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                    "subresources": subresources,
                }
                for index, version in enumerate(versions)
            ],
        },
    }


# argoproj/argo-cd manifests/crds: `subresources: {}` on both.
ARGO_CD: tuple[dict[str, Any], ...] = (
    crd(
        "argoproj.io",
        "Application",
        "applications",
        short_names=("app", "apps"),
        categories=("argo",),
    ),
    crd(
        "argoproj.io",
        "AppProject",
        "appprojects",
        short_names=("appproj", "appprojs"),
        categories=("argo",),
    ),
)

# argoproj/argo-rollouts manifests/crds/rollout-crd.yaml: status and scale.
ARGO_ROLLOUTS: tuple[dict[str, Any], ...] = (
    crd(
        "argoproj.io",
        "Rollout",
        "rollouts",
        short_names=("ro",),
        categories=("argo",),
        status=True,
        scale=True,
    ),
)

# kubevela/kubevela charts/vela-core/crds/core.oam.dev_applications.yaml: status.
KUBEVELA: tuple[dict[str, Any], ...] = (
    crd(
        "core.oam.dev",
        "Application",
        "applications",
        versions=("v1beta1",),
        short_names=("app", "velaapp"),
        categories=("oam",),
        status=True,
    ),
)

# kubernetes-sigs/application config/crd/bases/app.k8s.io_applications.yaml: status.
APP_K8S_IO: tuple[dict[str, Any], ...] = (
    crd("app.k8s.io", "Application", "applications", versions=("v1beta1",), status=True),
)

# What each kind of cluster has installed.
CONTROL_PLANE: tuple[dict[str, Any], ...] = ARGO_CD + ARGO_ROLLOUTS + KUBEVELA + APP_K8S_IO
MEMBER: tuple[dict[str, Any], ...] = ARGO_ROLLOUTS + APP_K8S_IO

# Namespaces present on every cluster, and those the control plane's installs add.
BASE_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CONTROL_PLANE_NAMESPACES = ("argocd", "argo-rollouts", "vela-system")
MEMBER_NAMESPACES = ("argo-rollouts",)
