"""Request logs and metrics: one line per call with its user, never a secret."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import yaml

from tests.apiserver.conftest import Stack
from tests.conftest import eventually

MGMT = "/apis/amamba.io/v1alpha1/management"


async def test_secrets_never_reach_a_log_line(
    stack: Stack, member_cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kubeconfig = member_cluster.kubeconfig()
    cluster_token = kubeconfig["users"][0]["user"]["token"]
    admin_token = stack.token("admin")

    await stack.http.post(
        f"{MGMT}/clusters",
        json={"name": "member-1", "kubeconfig": yaml.safe_dump(kubeconfig)},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    await stack.http.get(
        f"{MGMT}/clusters/member-1/namespacenames",
        headers={"Authorization": f"Bearer {admin_token}"},
    )

    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "RegisterCluster" in logged
    assert cluster_token not in logged
    assert admin_token not in logged
    assert "kubeconfig" not in logged.lower() or "clusters:" not in logged


async def test_each_call_is_logged_once_with_user_and_code(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="libs.rpc.interceptors")

    await stack.http.get(f"{MGMT}/feature-gates", headers=stack.auth("bob"))

    lines = [r for r in caplog.records if "ListFeatureGate" in r.getMessage()]
    assert len(lines) == 1
    assert "OK" in lines[0].getMessage()
    assert lines[0].__dict__["user_name"] == "bob"


async def test_metrics_count_requests_by_method_and_code(stack: Stack) -> None:
    await stack.http.get(f"{MGMT}/feature-gates")

    metrics = await stack.http.get("/metrics")

    assert metrics.status_code == 200
    assert 'workbench_grpc_requests_total{code="UNAUTHENTICATED"' in metrics.text
    assert "ListFeatureGate" in metrics.text


def sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


CREATE = "/amamba.io.api.core.v1alpha1.Tenancy/CreateWorkspace"


@pytest.mark.parametrize(
    ("verb", "path", "content", "method", "code", "status"),
    [
        ("POST", f"{MGMT}/workspaces", b'{"alias": ', CREATE, "INVALID_ARGUMENT", 400),
        ("POST", f"{MGMT}/workspaces", b'{"colour": "red"}', CREATE, "INVALID_ARGUMENT", 400),
        (
            "PUT",
            f"{MGMT}/workspaces/1/members/a%2Fb",
            b'{"role": "workspace-admin"}',
            "/amamba.io.api.core.v1alpha1.Tenancy/PutWorkspaceMember",
            "INVALID_ARGUMENT",
            400,
        ),
        ("POST", f"{MGMT}/workspaces", b"x" * (4 * 2**20 + 1), CREATE, "INVALID_ARGUMENT", 400),
        ("GET", "/apis/amamba.io/v1alpha1/nothing", b"", "-", "NOT_FOUND", 404),
        ("PATCH", f"{MGMT}/workspaces", b"", "-", "UNIMPLEMENTED", 501),
    ],
    ids=["malformed-json", "unknown-field", "bad-path-value", "oversized", "no-route", "verb"],
)
async def test_a_request_refused_before_dispatch_is_logged_and_counted(
    stack: Stack,
    caplog: pytest.LogCaptureFixture,
    verb: str,
    path: str,
    content: bytes,
    method: str,
    code: str,
    status: int,
) -> None:
    caplog.set_level(logging.INFO)
    before = sample("workbench_grpc_requests_total", method=method, code=code)
    timed = sample("workbench_grpc_request_duration_seconds_count", method=method)

    answer = await stack.http.request(verb, path, content=content, headers=stack.auth("admin"))

    assert answer.status_code == status, answer.text
    assert sample("workbench_grpc_requests_total", method=method, code=code) == before + 1
    assert sample("workbench_grpc_request_duration_seconds_count", method=method) == timed + 1
    lines = [
        r
        for r in caplog.records
        if r.name.startswith(("libs.", "services."))
        and r.levelno == logging.INFO
        and verb in r.getMessage()
    ]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert str(status) in lines[0].getMessage()
    assert code in lines[0].getMessage()
    assert "/apis/amamba.io/v1alpha1/" in lines[0].getMessage()


async def test_a_server_stream_is_recorded_with_its_final_code_and_duration(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    import grpc
    from amamba.pipeline.v1alpha1 import run_watch_pb2, run_watch_pb2_grpc

    caplog.set_level(logging.INFO, logger="libs.rpc.interceptors")
    method = "/amamba.io.api.pipeline.v1alpha1.RunWatch/WatchWorkspaceRuns"
    made = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=stack.auth("admin")
    )
    request = run_watch_pb2.WatchWorkspaceRunsRequest(workspace_id=str(made.json()["workspaceId"]))
    counts = {
        code: sample("workbench_grpc_requests_total", method=method, code=code)
        for code in ("OK", "UNAUTHENTICATED", "CANCELLED")
    }
    spent = sample("workbench_grpc_request_duration_seconds_sum", method=method)

    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        watch = run_watch_pb2_grpc.RunWatchStub(channel)
        refused = watch.WatchWorkspaceRuns(request)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in refused:
                pass
        held = watch.WatchWorkspaceRuns(
            request, metadata=[("authorization", f"Bearer {stack.token('admin')}")]
        )
        await asyncio.sleep(0.5)
        held.cancel()
        await eventually(
            lambda: (
                sample("workbench_grpc_requests_total", method=method, code="CANCELLED")
                > counts["CANCELLED"]
            )
        )

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    after = {
        code: sample("workbench_grpc_requests_total", method=method, code=code) for code in counts
    }
    assert after == {
        "OK": counts["OK"],
        "UNAUTHENTICATED": counts["UNAUTHENTICATED"] + 1,
        "CANCELLED": counts["CANCELLED"] + 1,
    }
    assert sample("workbench_grpc_request_duration_seconds_sum", method=method) - spent >= 0.5
    codes = [r.getMessage().split()[2] for r in caplog.records if method in r.getMessage()]
    assert codes == ["UNAUTHENTICATED", "CANCELLED"]
