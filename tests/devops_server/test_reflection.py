"""devops-server's SDK is described by server reflection, without the internal token."""

from __future__ import annotations

from workbench_sdk.devops.v1 import tenancy_pb2

from services.devops_server.app import DevopsServer
from tests import reflection

TENANCY = "workbench.devops.v1.Tenancy"


async def test_reflection_lists_the_sdk_services(devops: DevopsServer) -> None:
    listed = await reflection.services(f"127.0.0.1:{devops.grpc_port}")

    assert TENANCY in listed
    assert "grpc.health.v1.Health" in listed


async def test_reflection_gives_the_file_that_defines_the_sdk_tenancy(
    devops: DevopsServer,
) -> None:
    files = await reflection.file_containing(f"127.0.0.1:{devops.grpc_port}", TENANCY)

    assert files[0].name == tenancy_pb2.DESCRIPTOR.name
    (service,) = [s for s in files[0].service if s.name == "Tenancy"]
    expected = tenancy_pb2.DESCRIPTOR.services_by_name["Tenancy"].methods_by_name
    assert {m.name for m in service.method} == set(expected)
