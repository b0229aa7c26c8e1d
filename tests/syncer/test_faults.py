"""The syncer survives what the API servers and devops-server do to it: refused writes,
dropped watches, expired watch history, a devops-server restart, a provider that keeps
failing."""

from __future__ import annotations

from prometheus_client import REGISTRY

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.devops_server.app import DevopsServer
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
)

APPPROJECTS = "appprojects.argoproj.io"


def retries(controller: str) -> float:
    value = REGISTRY.get_sample_value(
        "workbench_controller_retries_total", {"controller": controller}
    )
    return value or 0.0


async def test_conflict_on_a_write_is_retried_until_converged(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    before = retries("argocd-appproject")
    control_plane.fail_next_write(409, resource=APPPROJECTS)

    workspace = await new_workspace(sdk)

    await eventually(lambda: appproject(control_plane, workspace) is not None)
    assert retries("argocd-appproject") == before + 1


async def test_conflict_on_an_update_is_retried_until_converged(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await eventually(lambda: destinations(control_plane, workspace) == set())
    control_plane.fail_next_write(409, resource=APPPROJECTS)

    await bind(sdk, workspace, "dev")

    await eventually(lambda: destinations(control_plane, workspace) == {(member.url, "dev")})


async def test_object_missing_on_update_is_retried_until_converged(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await eventually(lambda: destinations(control_plane, workspace) == set())
    control_plane.fail_next_write(404, resource=APPPROJECTS)

    await bind(sdk, workspace, "dev")

    await eventually(lambda: destinations(control_plane, workspace) == {(member.url, "dev")})


async def test_drift_is_repaired_after_the_watches_were_dropped(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await eventually(lambda: appproject(control_plane, workspace) is not None)

    assert control_plane.drop_watches() >= 2
    control_plane.delete_object(
        "argoproj.io/v1alpha1", "AppProject", f"workspace-{workspace}", ARGOCD
    )

    await eventually(lambda: appproject(control_plane, workspace) is not None)


async def test_drift_is_repaired_after_the_watch_history_expired(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))

    control_plane.expire_history(notify_watches=True)
    name = f"workspace-{workspace}-oam"
    control_plane.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))


async def test_drift_is_repaired_after_a_watch_resumed_from_an_expired_version(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await eventually(lambda: appproject(control_plane, workspace) is not None)

    control_plane.expire_history()
    control_plane.drop_watches()  # the watches come back with a version now too old: 410
    control_plane.delete_object(
        "argoproj.io/v1alpha1", "AppProject", f"workspace-{workspace}", ARGOCD
    )

    await eventually(lambda: appproject(control_plane, workspace) is not None)


async def test_change_stream_resumes_after_devops_server_restarts(
    sdk: DevopsClient, control_plane: KubeStandIn, devops: DevopsServer, syncer: Syncer
) -> None:
    first = await new_workspace(sdk, "before")
    await eventually(lambda: appproject(control_plane, first) is not None)

    await devops.stop()
    restarted = DevopsServer(devops.settings)
    await restarted.start()
    try:
        second = await new_workspace(sdk, "after")
        await eventually(lambda: appproject(control_plane, second) is not None)
    finally:
        await restarted.stop()


async def test_failing_provider_slows_only_its_own_keys(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    control_plane.fail_next_write(500, times=1000, resource=APPPROJECTS)

    workspace = await new_workspace(sdk)

    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))
    assert appproject(control_plane, workspace) is None
    control_plane.clear_faults()
    await eventually(lambda: appproject(control_plane, workspace) is not None)


async def test_provider_whose_objects_cannot_be_listed_holds_back_only_itself(
    sdk: DevopsClient, control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    crd = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "appprojects.argoproj.io")
    control_plane.delete_object(*crd)  # Argo CD is not installed
    workspace = await new_workspace(sdk)

    syncer = await make_syncer(wait_ready=False)

    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))
    assert not syncer.ready
