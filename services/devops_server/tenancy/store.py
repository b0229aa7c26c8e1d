"""Reads and writes of tenancy state, each in one transaction with its change-log row.

Every write takes the same transaction-scoped advisory lock before it appends to `changes`,
so change revisions are assigned in commit order: a watcher that has seen revision N has seen
every change before it. Tenancy writes are rare (people create workspaces, not machines), so
serialising them costs nothing that matters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common import names
from libs.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.devops_server.crypto import SecretBox
from services.devops_server.store.tables import Binding, Change, Cluster, Member, Setting, Workspace

_CHANGE_LOCK = 0x776F726B  # any constant shared by every writer of `changes`
DEFAULT_SETTINGS: dict[str, Any] = {"name": "workbench", "cache": {"enabled": False}}


@dataclass(frozen=True)
class ClusterAccess:
    name: str
    server: str
    kubeconfig: str


def kubeconfig_server(kubeconfig: str) -> str:
    """The API server URL of a kubeconfig's current context; InvalidArgument if there is none."""
    try:
        config = yaml.safe_load(kubeconfig)
    except yaml.YAMLError as error:
        raise InvalidArgument(f"kubeconfig: not valid YAML: {error}".splitlines()[0]) from None
    if not isinstance(config, dict) or not isinstance(config.get("clusters"), list):
        raise InvalidArgument("kubeconfig: must be a kubeconfig document with a clusters list")

    clusters = {
        c.get("name"): c.get("cluster") or {} for c in config["clusters"] if isinstance(c, dict)
    }
    contexts = {
        c.get("name"): c.get("context") or {}
        for c in config.get("contexts") or []
        if isinstance(c, dict)
    }
    current = contexts.get(config.get("current-context"))
    cluster = clusters.get(current.get("cluster")) if current else None
    if cluster is None and len(clusters) == 1:
        cluster = next(iter(clusters.values()))
    server = cluster.get("server") if isinstance(cluster, dict) else None
    if not isinstance(server, str) or not server.startswith(("http://", "https://")):
        raise InvalidArgument("kubeconfig: the current context names no cluster with a server URL")
    return server


async def record_change(session: AsyncSession, kind: str, key: str, action: str) -> None:
    """Add a change to the log `WatchChanges` serves, in the caller's transaction. The lock
    makes revisions commit in order, so a watcher never skips one committed late."""
    await record_changes(session, kind, [key], action)


async def record_changes(
    session: AsyncSession, kind: str, keys: Sequence[str], action: str
) -> None:
    """`record_change` for each of `keys`, taking the lock once."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHANGE_LOCK})
    session.add_all([Change(kind=kind, key=key, action=action) for key in keys])


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class TenancyStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = sessions
        self._box = box

    async def _record(self, session: AsyncSession, kind: str, key: str, action: str) -> None:
        await record_change(session, kind, key, action)

    # Workspaces

    async def create_workspace(self, alias: str) -> Workspace:
        names.alias("alias", alias)
        async with self._sessions.begin() as session:
            taken = await session.scalar(select(Workspace.id).where(Workspace.alias == alias))
            if taken is not None:
                raise AlreadyExists(f"workspace {alias!r} already exists (id {taken})")
            workspace = Workspace(alias=alias)
            session.add(workspace)
            await session.flush()
            await self._record(session, "workspace", str(workspace.id), "created")
        return workspace

    async def get_workspace(self, workspace_id: int) -> Workspace:
        async with self._sessions() as session:
            workspace = await session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        return workspace

    async def delete_workspace(self, workspace_id: int) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(Workspace).where(Workspace.id == workspace_id))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"workspace {workspace_id} does not exist")
            await self._record(session, "workspace", str(workspace_id), "deleted")

    async def list_workspaces(
        self, *, member: str = "", name_contains: str = "", page: int = 1, page_size: int = 0
    ) -> tuple[Sequence[Workspace], int]:
        query = select(Workspace)
        if member:
            query = query.join(Member, Member.workspace_id == Workspace.id).where(
                Member.username == member
            )
        if name_contains:
            escaped = name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(Workspace.alias.ilike(f"%{escaped}%", escape="\\"))
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            query = query.order_by(Workspace.id)
            if page_size > 0:
                query = query.offset((max(page, 1) - 1) * page_size).limit(page_size)
            rows = (await session.scalars(query)).all()
        return rows, int(total or 0)

    # Members

    async def set_member(self, workspace_id: int, username: str, role: str) -> None:
        names.username("username", username)
        names.role("role", role)
        async with self._sessions.begin() as session:
            if await session.get(Workspace, workspace_id) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            statement = insert(Member).values(
                workspace_id=workspace_id, username=username, role=role
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[Member.workspace_id, Member.username], set_={"role": role}
                )
            )
            await self._record(session, "member", f"{workspace_id}/{username}", "updated")

    async def remove_member(self, workspace_id: int, username: str) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Member).where(
                    Member.workspace_id == workspace_id, Member.username == username
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"{username!r} holds no role in workspace {workspace_id}")
            await self._record(session, "member", f"{workspace_id}/{username}", "deleted")

    async def list_members(self, workspace_id: int) -> Sequence[Member]:
        async with self._sessions() as session:
            if await session.get(Workspace, workspace_id) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            query = select(Member).where(Member.workspace_id == workspace_id)
            return (await session.scalars(query.order_by(Member.username))).all()

    async def user_roles(self, username: str) -> dict[int, str]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(Member.workspace_id, Member.role).where(Member.username == username)
            )
        return {workspace_id: role for workspace_id, role in rows}

    # Clusters

    async def register_cluster(self, name: str, kubeconfig: str) -> Cluster:
        names.dns_label("name", name)
        server = kubeconfig_server(kubeconfig)
        cluster = Cluster(name=name, server=server, kubeconfig=self._box.seal(kubeconfig))
        try:
            async with self._sessions.begin() as session:
                session.add(cluster)
                await session.flush()
                await self._record(session, "cluster", name, "created")
        except IntegrityError:
            raise AlreadyExists(f"cluster {name!r} is already registered") from None
        return cluster

    async def remove_cluster(self, name: str) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(Cluster).where(Cluster.name == name))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"cluster {name!r} is not registered")
            await self._record(session, "cluster", name, "deleted")

    async def list_clusters(self) -> Sequence[Cluster]:
        async with self._sessions() as session:
            return (await session.scalars(select(Cluster).order_by(Cluster.name))).all()

    async def cluster_access(self, name: str) -> ClusterAccess:
        async with self._sessions() as session:
            cluster = await session.get(Cluster, name)
        if cluster is None:
            raise NotFound(f"cluster {name!r} is not registered")
        return ClusterAccess(cluster.name, cluster.server, self._box.open(cluster.kubeconfig))

    # Bindings

    async def bind(self, workspace_id: int, cluster: str, namespace: str) -> None:
        names.dns_label("cluster", cluster)
        names.dns_label("namespace", namespace)
        async with self._sessions.begin() as session:
            if await session.get(Workspace, workspace_id) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            if await session.get(Cluster, cluster) is None:
                raise NotFound(f"cluster {cluster!r} is not registered")
            current = await session.get(Binding, (cluster, namespace))
            if current is not None and current.workspace_id == workspace_id:
                return
            if current is not None:
                raise FailedPrecondition(
                    f"namespace {namespace!r} of cluster {cluster!r} is bound to another "
                    "workspace; unbind it there first"
                )
            session.add(Binding(workspace_id=workspace_id, cluster=cluster, namespace=namespace))
            await self._record(
                session, "binding", f"{workspace_id}/{cluster}/{namespace}", "created"
            )

    async def unbind(self, workspace_id: int, cluster: str, namespace: str) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Binding).where(
                    Binding.workspace_id == workspace_id,
                    Binding.cluster == cluster,
                    Binding.namespace == namespace,
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(
                    f"namespace {namespace!r} of cluster {cluster!r} is not bound to workspace "
                    f"{workspace_id}"
                )
            await self._record(
                session, "binding", f"{workspace_id}/{cluster}/{namespace}", "deleted"
            )

    async def list_bindings(self, *, workspace_id: int = 0, cluster: str = "") -> Sequence[Binding]:
        query = select(Binding)
        if workspace_id:
            query = query.where(Binding.workspace_id == workspace_id)
        if cluster:
            query = query.where(Binding.cluster == cluster)
        async with self._sessions() as session:
            order = (Binding.cluster, Binding.namespace)
            return (await session.scalars(query.order_by(*order))).all()

    # Settings

    async def get_settings(self) -> dict[str, Any]:
        async with self._sessions() as session:
            row = await session.get(Setting, "platform")
        return dict(row.value) if row is not None else dict(DEFAULT_SETTINGS)

    async def update_settings(self, value: dict[str, Any]) -> dict[str, Any]:
        if "\\u0000" in json.dumps(value):
            raise InvalidArgument("settings: text must not contain NUL characters")
        async with self._sessions.begin() as session:
            statement = insert(Setting).values(name="platform", value=value)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[Setting.name], set_={"value": value}
                )
            )
            await self._record(session, "settings", "platform", "updated")
        return value

    # Changes

    async def last_revision(self) -> int:
        """The revision of the last change committed (0 with none): any later commit gets a
        higher one, since revisions commit in order."""
        async with self._sessions() as session:
            return int(await session.scalar(select(func.max(Change.revision))) or 0)

    async def changes_after(self, revision: int, limit: int = 500) -> Sequence[Change]:
        async with self._sessions() as session:
            query = select(Change).where(Change.revision > revision).order_by(Change.revision)
            return (await session.scalars(query.limit(limit))).all()
