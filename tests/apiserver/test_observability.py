"""Request logs and metrics: one line per call with its user, never a secret."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import yaml

from tests.apiserver.conftest import Stack

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
