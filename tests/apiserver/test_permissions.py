"""The rule table: complete, and enforced for every served RPC against every role."""

from __future__ import annotations

import importlib
import pkgutil

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory

from services.apiserver.rbac import PIPELINE, ROLE_PERMISSIONS, RULES, Scope
from tests.apiserver.conftest import Stack

ROLES = ("workspace-viewer", "workspace-editor", "workspace-admin")


def served_methods(stack: Stack) -> list[str]:
    pool = descriptor_pool.Default()
    methods = []
    for registration in stack.api.registrations:
        service = pool.FindServiceByName(registration.service)
        methods += [f"/{service.full_name}/{m.name}" for m in service.methods]
    return methods


def api_methods() -> set[str]:
    """Every method of every service in the published API protos."""
    import amamba

    methods = set()
    for module in pkgutil.walk_packages(amamba.__path__, "amamba."):
        if module.name.endswith("_pb2"):
            file = importlib.import_module(module.name).DESCRIPTOR
            for service in file.services_by_name.values():
                methods |= {f"/{service.full_name}/{m.name}" for m in service.methods}
    return methods


def test_the_table_and_the_api_name_the_same_methods() -> None:
    assert set(RULES) == api_methods()


async def test_every_served_method_has_a_rule(stack: Stack) -> None:
    missing = [m for m in served_methods(stack) if m not in RULES]

    assert missing == []


async def test_roles_only_grow(stack: Stack) -> None:
    viewer, editor, admin = (ROLE_PERMISSIONS[r] for r in ROLES)

    assert viewer < editor < admin


async def call(stack: Stack, method: str, user: str, workspace_id: int) -> grpc.StatusCode:
    pool = descriptor_pool.Default()
    service_name, _, name = method.lstrip("/").partition("/")
    descriptor = pool.FindServiceByName(service_name).FindMethodByName(name)
    request_class = message_factory.GetMessageClass(descriptor.input_type)
    response_class = message_factory.GetMessageClass(descriptor.output_type)
    request = request_class()
    if "workspace_id" in descriptor.input_type.fields_by_name and workspace_id:
        request.workspace_id = str(workspace_id)

    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        rpc = channel.unary_unary(
            method,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        # A watch allowed in has nothing to send and never ends: refusals come at once, so a
        # stream still open after a second was let in (DEADLINE_EXCEEDED counts as allowed).
        timeout = 1.0 if descriptor.server_streaming else None
        metadata = (("authorization", f"Bearer {stack.token(user)}"),)
        try:
            await rpc(request, metadata=metadata, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("role", [None, *ROLES, "platform-admin"])
async def test_each_role_is_allowed_exactly_what_the_table_grants(
    stack: Stack, role: str | None
) -> None:
    made = await stack.http.post(
        "/apis/amamba.io/v1alpha1/management/workspaces",
        json={"alias": "team-a"},
        headers=stack.auth("admin"),
    )
    workspace_id = made.json()["workspaceId"]
    user = "admin" if role == "platform-admin" else "someone"
    if role in ROLES:
        await stack.http.put(
            f"/apis/amamba.io/v1alpha1/management/workspaces/{workspace_id}/members/someone",
            json={"role": role},
            headers=stack.auth("admin"),
        )

    wrong = []
    for method in served_methods(stack):
        rule = RULES[method]
        if role == "platform-admin" or rule.scope is Scope.SIGNED_IN:
            allowed = True
        elif rule.scope is Scope.PLATFORM:
            allowed = False
        else:  # WORKSPACE, and WORKSPACE_IF_GIVEN: `call` gives the workspace
            allowed = rule.permission in ROLE_PERMISSIONS.get(role or "", frozenset())
        code = await call(stack, method, user, workspace_id)
        refused = code == grpc.StatusCode.PERMISSION_DENIED
        if refused == allowed or code == grpc.StatusCode.UNAUTHENTICATED:
            wrong.append((method, code.name))

    assert wrong == []


async def test_a_workspace_given_where_it_is_optional_needs_a_role_in_it(stack: Stack) -> None:
    made = await stack.http.post(
        "/apis/amamba.io/v1alpha1/management/workspaces",
        json={"alias": "team-a"},
        headers=stack.auth("admin"),
    )
    workspace_id = made.json()["workspaceId"]
    optional = [m for m, rule in RULES.items() if rule.scope is Scope.WORKSPACE_IF_GIVEN]

    for method in optional:
        with_workspace = await call(stack, method, "someone", workspace_id)
        without = await call(stack, method, "someone", 0)

        assert with_workspace == grpc.StatusCode.PERMISSION_DENIED, method
        assert without != grpc.StatusCode.PERMISSION_DENIED, method
    assert f"{PIPELINE}.Management/ListJenkinsNodeLabels" in optional


async def test_roles_are_remembered_for_the_cache_time_then_asked_again(
    database_url: str,
) -> None:
    import asyncio

    import httpx

    from services.apiserver.app import ApiServer
    from services.devops_server.app import DevopsServer
    from tests.conftest import stack_settings

    # Long enough for the delete and the cached read to fit in it on a busy machine.
    settings = stack_settings(database_url, role_cache_seconds=2.0)
    devops = DevopsServer(settings)
    await devops.start()
    api = ApiServer(settings)
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
            stack = Stack(settings, devops, api, http)
            made = await http.post(
                "/apis/amamba.io/v1alpha1/management/workspaces",
                json={"alias": "team-a"},
                headers=stack.auth("admin"),
            )
            workspace = made.json()["workspaceId"]
            member = f"/apis/amamba.io/v1alpha1/management/workspaces/{workspace}/members/bob"
            bound = f"/apis/amamba.io/v1alpha1/workspaces/{workspace}/namespaces"
            await http.put(member, json={"role": "workspace-viewer"}, headers=stack.auth("admin"))

            before = await http.get(bound, headers=stack.auth("bob"))
            await http.delete(member, headers=stack.auth("admin"))
            cached = await http.get(bound, headers=stack.auth("bob"))
            await asyncio.sleep(2.1)
            after = await http.get(bound, headers=stack.auth("bob"))
    finally:
        await api.stop()
        await devops.stop()

    assert (before.status_code, cached.status_code, after.status_code) == (200, 200, 403)


def test_every_workspace_permission_of_the_table_belongs_to_a_role() -> None:
    named = {r.permission for r in RULES.values() if r.scope is Scope.WORKSPACE}

    assert named <= ROLE_PERMISSIONS["workspace-admin"]


async def test_a_platform_admin_is_told_every_platform_permission(stack: Stack) -> None:
    answer = await stack.http.get(
        "/apis/amamba.io/v1alpha1/management/permissions", headers=stack.auth("admin")
    )

    assert answer.status_code == 200, answer.text
    expected = sorted({r.permission for r in RULES.values() if r.scope is Scope.PLATFORM})
    assert "platform.cluster.manage" in expected
    assert answer.json()["permissions"] == expected


async def test_anyone_else_is_told_no_platform_permission(stack: Stack) -> None:
    workspace = await stack.http.post(
        "/apis/amamba.io/v1alpha1/management/workspaces",
        json={"alias": "team-a"},
        headers=stack.auth("admin"),
    )
    await stack.http.put(
        f"/apis/amamba.io/v1alpha1/management/workspaces/{workspace.json()['workspaceId']}"
        "/members/bob",
        json={"role": "workspace-admin"},
        headers=stack.auth("admin"),
    )

    answer = await stack.http.get(
        "/apis/amamba.io/v1alpha1/management/permissions", headers=stack.auth("bob")
    )

    assert answer.status_code == 200, answer.text
    assert answer.json().get("permissions", []) == []


async def test_outside_sandbox_a_user_named_admin_is_nobody_special(database_url: str) -> None:
    import httpx

    from libs.auth.tokens import mint
    from libs.common.config import Settings
    from services.apiserver.app import ApiServer
    from services.devops_server.app import DevopsServer
    from tests.conftest import stack_settings

    values = stack_settings(database_url).model_dump(exclude={"platform_admins"})
    settings = Settings.model_validate(values)
    assert not settings.sandbox and settings.platform_admins == []
    assert settings.jwt_secret
    devops = DevopsServer(settings)
    await devops.start()
    api = ApiServer(settings)
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
            answer = await http.post(
                "/apis/amamba.io/v1alpha1/management/workspaces",
                json={"alias": "team-a"},
                headers={"Authorization": f"Bearer {mint('admin', settings.jwt_secret)}"},
            )
    finally:
        await api.stop()
        await devops.stop()

    assert answer.status_code == 403, answer.text
