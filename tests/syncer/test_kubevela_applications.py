"""The `kubevela-application` controller: a workspace's KubeVela Applications live in its OAM
namespace of the control plane only. One labelled for the workspace anywhere else is
reported and deleted; a deleted workspace's Applications go with its namespace."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY
from workbench_sdk.devops.v1 import tenancy_pb2 as pb

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.syncer.app import Syncer
from tests.conftest import eventually
from tests.syncer.conftest import SyncerFactory, labelled, new_workspace, oam_namespace

API_VERSION, KIND = "core.oam.dev/v1beta1", "Application"


def application(name: str, namespace: str, workspace_id: int | None) -> dict[str, Any]:
    labels = {} if workspace_id is None else {"workbench.io/workspace": str(workspace_id)}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"components": [{"name": "web", "type": "webservice"}]},
    }


def present(standin: KubeStandIn, name: str, namespace: str) -> bool:
    return standin.get_object(API_VERSION, KIND, name, namespace) is not None


def strays() -> float:
    return REGISTRY.get_sample_value("workbench_syncer_stray_applications_total") or 0.0


async def test_application_outside_its_workspace_namespace_is_reported_and_deleted(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    home = f"workspace-{workspace}-oam"
    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))
    control_plane.seed(application("kept", home, workspace))
    before = strays()

    control_plane.seed(application("escaped", "default", workspace))

    await eventually(lambda: not present(control_plane, "escaped", "default"))
    assert strays() == before + 1
    assert present(control_plane, "kept", home)


async def test_application_in_another_workspace_namespace_is_deleted(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    first, second = await new_workspace(sdk, "one"), await new_workspace(sdk, "two")
    await eventually(lambda: labelled(oam_namespace(control_plane, second), second))

    control_plane.seed(application("intruder", f"workspace-{second}-oam", first))

    await eventually(lambda: not present(control_plane, "intruder", f"workspace-{second}-oam"))


async def test_applications_without_the_workspace_label_are_left_alone(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    control_plane.seed(application("someone-elses", "default", None))
    control_plane.seed(application("marker", "default", workspace))  # handled after the first

    await eventually(lambda: not present(control_plane, "marker", "default"))
    assert present(control_plane, "someone-elses", "default")


async def test_stray_application_from_before_the_syncer_started_is_deleted(
    control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    control_plane.seed(application("left-over", "vela-system", 42))

    await make_syncer()

    await eventually(lambda: not present(control_plane, "left-over", "vela-system"))


async def test_deleted_workspace_applications_go_with_its_namespace(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    home = f"workspace-{workspace}-oam"
    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))
    control_plane.seed(application("web", home, workspace))
    control_plane.seed(application("unlabelled", home, None))

    await sdk.call(sdk.tenancy.DeleteWorkspace, pb.WorkspaceRef(id=workspace))

    await eventually(lambda: oam_namespace(control_plane, workspace) is None)
    assert not present(control_plane, "web", home)
    assert not present(control_plane, "unlabelled", home)
