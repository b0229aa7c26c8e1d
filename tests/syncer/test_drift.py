"""Changes made behind the syncer's back are repaired at once (the watch reports them), and a
converged system costs no writes at all."""

from __future__ import annotations

import asyncio

from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.syncer.app import Syncer
from tests.conftest import eventually
from tests.syncer.conftest import (
    ARGOCD,
    SyncerFactory,
    appproject,
    bind,
    destinations,
    labelled,
    new_workspace,
    oam_namespace,
    reconciles,
)

LEASES = "leases.coordination.k8s.io"


async def converged_workspace(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn
) -> int:
    workspace = await new_workspace(sdk)
    await bind(sdk, workspace, "dev")
    await eventually(lambda: destinations(control_plane, workspace) == {(member.url, "dev")})
    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))
    return workspace


async def test_edited_destinations_are_put_back(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await converged_workspace(sdk, control_plane, member)
    api = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    try:
        await aclient.CustomObjectsApi(api).patch_namespaced_custom_object(
            "argoproj.io",
            "v1alpha1",
            ARGOCD,
            "appprojects",
            f"workspace-{workspace}",
            {"spec": {"destinations": [{"server": "*", "namespace": "*"}]}},
            _content_type="application/merge-patch+json",  # type: ignore[call-arg]
        )
    finally:
        await api.close()
    assert destinations(control_plane, workspace) == {("*", "*")}

    await eventually(lambda: destinations(control_plane, workspace) == {(member.url, "dev")})


async def test_deleted_appproject_is_created_again(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await converged_workspace(sdk, control_plane, member)

    control_plane.delete_object(
        "argoproj.io/v1alpha1", "AppProject", f"workspace-{workspace}", ARGOCD
    )

    await eventually(lambda: destinations(control_plane, workspace) == {(member.url, "dev")})


async def test_removed_namespace_label_is_put_back(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await converged_workspace(sdk, control_plane, member)
    name = f"workspace-{workspace}-oam"

    control_plane.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert not labelled(oam_namespace(control_plane, workspace), workspace)

    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))


async def test_steady_state_makes_no_writes_across_resyncs(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    workspaces = [await new_workspace(sdk, f"team-{index}") for index in range(3)]
    for workspace in workspaces:
        await bind(sdk, workspace, f"dev-{workspace}")
    await make_syncer(resync_seconds=0.2)
    assert appproject(control_plane, workspaces[-1]) is not None
    await asyncio.sleep(0.3)  # the watch events of the syncer's own writes come back
    control_plane.reset_writes()
    before = reconciles("argocd-appproject"), reconciles("kubevela-namespace")

    # Three resyncs (0.2 s apart, later on a loaded machine) reconcile every workspace again...
    await eventually(
        lambda: (
            reconciles("argocd-appproject") - before[0] >= 3 * len(workspaces)
            and reconciles("kubevela-namespace") - before[1] >= 3 * len(workspaces)
        ),
        within=15,
    )
    # ...and only the leader's lease renewals wrote anything.
    assert control_plane.total_writes - control_plane.writes[LEASES] == 0
