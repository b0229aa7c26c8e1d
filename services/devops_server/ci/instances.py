"""Jenkins instances and the instance each workspace uses.

An instance is registered once its credentials have been checked against it. Its API token is
sealed at rest and only leaves devops-server through `GetInstanceAccess`, to the services that
talk to Jenkins. A workspace uses the instance it chose, else the one marked default, else the
only one registered; `JenkinsPool` hands out one client per instance, made on first use and
replaced when the instance is registered again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common import names
from libs.common.errors import FailedPrecondition, InvalidArgument, NotFound
from libs.jenkins import JenkinsClient
from services.devops_server.crypto import SecretBox
from services.devops_server.store.tables import JenkinsInstance, Workspace, WorkspaceCI

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Access:
    name: str
    address: str
    username: str
    token: str


@dataclass(frozen=True)
class CISettings:
    workspace_id: int
    jenkins: str
    max_concurrent_runs: int


def check_address(address: str) -> str:
    if not address.startswith(("http://", "https://")) or len(address) > 2048:
        raise InvalidArgument("config.address: must be an http:// or https:// URL")
    if any(ord(c) < 32 for c in address):
        raise InvalidArgument("config.address: must not contain control characters")
    return address.rstrip("/")


class InstanceStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = sessions
        self._box = box

    async def register(
        self,
        name: str,
        address: str,
        username: str,
        token: str,
        *,
        default: bool,
        options: dict[str, Any],
    ) -> JenkinsInstance:
        """Keep (or replace) an instance; making it default unmarks the previous one."""
        values = {
            "name": name,
            "address": address,
            "username": username,
            "token": self._box.seal(token),
            "options": options,
            "is_default": default,
        }
        async with self._sessions.begin() as session:
            if default:
                await session.execute(update(JenkinsInstance).values(is_default=False))
            statement = insert(JenkinsInstance).values(**values)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[JenkinsInstance.name],
                    set_={k: v for k, v in values.items() if k != "name"},
                )
            )
            row = await session.get(JenkinsInstance, name, populate_existing=True)
        assert row is not None
        return row

    async def remove(self, name: str) -> None:
        async with self._sessions.begin() as session:
            users = await session.scalar(
                select(WorkspaceCI.workspace_id).where(WorkspaceCI.jenkins == name).limit(1)
            )
            if users is not None:
                raise FailedPrecondition(
                    f"Jenkins {name!r} is used by workspace {users}; move the workspace first"
                )
            result = await session.execute(
                delete(JenkinsInstance).where(JenkinsInstance.name == name)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"Jenkins {name!r} is not registered")

    async def list(self) -> Sequence[JenkinsInstance]:
        async with self._sessions() as session:
            return (
                await session.scalars(select(JenkinsInstance).order_by(JenkinsInstance.name))
            ).all()

    async def access(self, name: str) -> Access:
        async with self._sessions() as session:
            row = await session.get(JenkinsInstance, name)
        if row is None:
            raise NotFound(f"Jenkins {name!r} is not registered")
        return Access(row.name, row.address, row.username, self._box.open(row.token))

    async def set_workspace_jenkins(self, workspace_id: int, name: str) -> None:
        names.dns_label("name", name)
        async with self._sessions.begin() as session:
            if await session.get(Workspace, workspace_id) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            if await session.get(JenkinsInstance, name) is None:
                raise NotFound(f"Jenkins {name!r} is not registered")
            statement = insert(WorkspaceCI).values(workspace_id=workspace_id, jenkins=name)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[WorkspaceCI.workspace_id], set_={"jenkins": name}
                )
            )

    async def set_quota(self, workspace_id: int, max_concurrent_runs: int) -> None:
        if max_concurrent_runs < 0:
            raise InvalidArgument("maxConcurrentRuns: must be 0 (no cap) or more")
        async with self._sessions.begin() as session:
            if await session.get(Workspace, workspace_id) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            statement = insert(WorkspaceCI).values(
                workspace_id=workspace_id, max_concurrent_runs=max_concurrent_runs
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[WorkspaceCI.workspace_id],
                    set_={"max_concurrent_runs": max_concurrent_runs},
                )
            )

    async def default_instance(self) -> str:
        """The instance marked default, else the only one; empty when there is neither."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(JenkinsInstance.name, JenkinsInstance.is_default)
                    .order_by(JenkinsInstance.is_default.desc())
                    .limit(2)
                )
            ).all()
        if rows and (rows[0].is_default or len(rows) == 1):
            return str(rows[0].name)
        return ""

    async def workspace_ci(self, workspace_id: int) -> CISettings:
        """The instance a workspace uses and its run cap."""
        async with self._sessions() as session:
            if await session.get(Workspace, workspace_id) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            chosen = await session.get(WorkspaceCI, workspace_id)
            jenkins = chosen.jenkins if chosen is not None and chosen.jenkins else ""
            if not jenkins:
                rows = (
                    await session.execute(
                        select(JenkinsInstance.name, JenkinsInstance.is_default)
                        .limit(2)
                        .order_by(JenkinsInstance.is_default.desc())
                    )
                ).all()
                if rows and (rows[0].is_default or len(rows) == 1):
                    jenkins = rows[0].name
        cap = chosen.max_concurrent_runs if chosen is not None else 0
        return CISettings(workspace_id, jenkins, cap)


class JenkinsPool:
    """One client per Jenkins instance, made from its stored access on first use.

    The stored access is read again (a query and a decryption) at most every `recheck`
    seconds per instance, so a hot path that asks for a client per call costs nothing; a
    registration in this process replaces the client at once (`forget`), one in another
    replica within `recheck` seconds.
    """

    def __init__(self, store: InstanceStore, *, recheck: float = 5.0) -> None:
        self._store = store
        self._recheck = recheck
        self._clients: dict[str, tuple[Access, JenkinsClient, float]] = {}

    async def client(self, instance: str) -> JenkinsClient:
        known = self._clients.get(instance)
        now = time.monotonic()
        if known is not None and now - known[2] < self._recheck:
            return known[1]
        access = await self._store.access(instance)
        if known is not None and known[0] == access:
            self._clients[instance] = (access, known[1], now)
            return known[1]
        if known is not None:
            await known[1].aclose()
        made = JenkinsClient(access.address, access.username, access.token)
        self._clients[instance] = (access, made, now)
        return made

    async def for_workspace(self, workspace_id: int) -> tuple[str, JenkinsClient]:
        """The instance a workspace uses and its client; FailedPrecondition if there is none."""
        settings = await self._store.workspace_ci(workspace_id)
        if not settings.jenkins:
            raise FailedPrecondition(
                "no Jenkins instance is registered for this workspace; register one first"
            )
        return settings.jenkins, await self.client(settings.jenkins)

    async def forget(self, instance: str) -> None:
        known = self._clients.pop(instance, None)
        if known is not None:
            await known[1].aclose()

    async def close(self) -> None:
        for name in list(self._clients):
            await self.forget(name)
