"""Jenkins instances and the instance each workspace uses.

An instance is registered once its credentials have been checked against it. Its API token is
sealed at rest and only leaves devops-server through `GetInstanceAccess`, to the services that
talk to Jenkins. A workspace uses the instance it chose, else the one marked default, else the
only one registered; `JenkinsPool` hands out one client per instance, made on first use and
replaced when the instance is registered again.

A workspace moves whenever the instance it uses changes: when it chooses another one
(`set_workspace_jenkins`), and, for a workspace that never chose one, whenever the instance it
follows changes under it: another instance registered as the default, the default flag moved
or taken off, a second instance joining the only one (there is then neither a default nor an
only one, so the workspace has no instance until a default is marked), or the instance it
follows removed. Every move goes through `_move`: it changes the instance the workspace uses
at once, so its next run starts there, and remembers the instance it left in
`previous_jenkins`, where its folder and jobs stay until the syncer has converged the new
instance and removed them (`forget_previous`). A workspace moved again before that keeps every
instance still to clean, less the one it moves back to. Runs keep the instance they ran on
(`runs.jenkins`), so their history and unfinished builds stay readable. Each move is recorded
as a change of the workspace in the tenancy change log, in the transaction of the move, which
is how the syncer hears of it. Registering or removing an instance is recorded there too (kind
`jenkins`), for the syncer's Configuration-as-Code reconciler.

An instance a workspace chose cannot be removed; one that workspaces follow as the default
can, and they move to the instance they follow without it (or to none).

IMPORTANT: locks are taken in one order, or two of these writes can deadlock: the instance set
(`INSTANCES_LOCK`, which registrations and removals hold so that each one sees the instance
workspaces followed before it), then rows of `jenkins_instances`, then rows of `workspaces`
(for key share, so none is deleted while its settings are made), then `workspace_ci` rows in
workspace id order, then the change log's lock (`record_change`). A move locks the instance it
moves to for share, so the instance cannot be removed under it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common import names
from libs.common.errors import FailedPrecondition, InvalidArgument, NotFound
from libs.jenkins import JenkinsClient
from services.devops_server.ci import states
from services.devops_server.crypto import SecretBox
from services.devops_server.store.tables import JenkinsInstance, Run, Workspace, WorkspaceCI
from services.devops_server.tenancy.store import record_change, record_changes

logger = logging.getLogger(__name__)

CASC_LIMIT = 65536  # bytes of an instance's own Configuration as Code

# `pg_advisory_xact_lock(INSTANCES_LOCK)`: one registration or removal of an instance at a
# time, so each reads the instance that workspaces followed before it and after it.
INSTANCES_LOCK = 0x4A454E4B  # "JENK"


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
    # Instances it used before, still holding its folder, with their unfinished runs.
    previous: tuple[tuple[str, int], ...] = ()


def check_address(address: str) -> str:
    return check_url("config.address", address).rstrip("/")


def check_url(field: str, url: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url) > 2048:
        raise InvalidArgument(f"{field}: must be an http:// or https:// URL")
    if any(ord(c) < 32 for c in url):
        raise InvalidArgument(f"{field}: must not contain control characters")
    return url


def check_casc(text: str) -> str:
    """An instance's own Configuration as Code: a YAML mapping, without credentials (they
    would sit in a ConfigMap in clear; Workbench's credentials go into folders instead)."""
    if len(text.encode()) > CASC_LIMIT:
        raise InvalidArgument(f"casc: at most {CASC_LIMIT} bytes")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidArgument(f"casc: not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise InvalidArgument("casc: must be a YAML mapping of root elements")
    if "credentials" in document:
        raise InvalidArgument(
            "casc: credentials do not belong here; create them as workspace credentials"
        )
    return text


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
            await _lock_instances(session)
            followed = await _default_instance(session)
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
            await _move_followers(session, followed)
            await record_change(session, "jenkins", name, "updated")
        assert row is not None
        return row

    async def remove(self, name: str) -> None:
        """Unregister an instance no workspace chose; those following it move (see above)."""
        async with self._sessions.begin() as session:
            await _lock_instances(session)
            if await session.get(JenkinsInstance, name, with_for_update=True) is None:
                raise NotFound(f"Jenkins {name!r} is not registered")
            users = await session.scalar(
                select(WorkspaceCI.workspace_id).where(WorkspaceCI.jenkins == name).limit(1)
            )
            if users is not None:
                raise FailedPrecondition(
                    f"Jenkins {name!r} is used by workspace {users}; move the workspace first"
                )
            followed = await _default_instance(session)
            await session.execute(delete(JenkinsInstance).where(JenkinsInstance.name == name))
            await _move_followers(session, followed)
            await record_change(session, "jenkins", name, "deleted")

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
        """Point the workspace at `name`, remembering the instance it leaves (see above)."""
        names.dns_label("name", name)
        async with self._sessions.begin() as session:
            # Locked in the order above: the instance, then the workspace for key share.
            if await session.get(JenkinsInstance, name, with_for_update={"read": True}) is None:
                raise NotFound(f"Jenkins {name!r} is not registered")
            kept = {"read": True, "key_share": True}
            if await session.get(Workspace, workspace_id, with_for_update=kept) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            row = await _locked_settings(session, workspace_id)
            leaving = row.jenkins or await _default_instance(session)
            if row.jenkins != name:
                row.jenkins = name
                await _move(session, [row], leaving, name)
        if leaving != name:
            logger.info("workspace moved: workspace=%s from=%r to=%r", workspace_id, leaving, name)

    async def forget_previous(self, workspace_id: int, name: str) -> None:
        """The syncer removed the workspace's folder from `name`: no longer a previous one."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(WorkspaceCI)
                .where(WorkspaceCI.workspace_id == workspace_id)
                .values(previous_jenkins=func.array_remove(WorkspaceCI.previous_jenkins, name))
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
            return await _default_instance(session)

    async def workspace_ci(self, workspace_id: int, *, previous: bool = False) -> CISettings:
        """The instance a workspace uses and its run cap; with `previous`, also the instances
        it left whose folder remains, each with its count of the workspace's unfinished runs."""
        async with self._sessions() as session:
            if await session.get(Workspace, workspace_id) is None:
                raise NotFound(f"workspace {workspace_id} does not exist")
            chosen = await session.get(WorkspaceCI, workspace_id)
            jenkins = chosen.jenkins if chosen is not None and chosen.jenkins else ""
            if not jenkins:
                jenkins = await _default_instance(session)
            left: list[tuple[str, int]] = []
            for name in chosen.previous_jenkins if chosen is not None and previous else ():
                unfinished = await session.scalar(
                    select(func.count())
                    .select_from(Run)
                    .where(
                        Run.workspace_id == workspace_id,
                        Run.jenkins == name,
                        Run.state.in_(states.UNFINISHED),
                    )
                )
                left.append((name, int(unfinished or 0)))
        cap = chosen.max_concurrent_runs if chosen is not None else 0
        return CISettings(workspace_id, jenkins, cap, tuple(left))


async def _lock_instances(session: AsyncSession) -> None:
    """Wait for any other registration or removal of an instance to commit (see above)."""
    await session.execute(select(func.pg_advisory_xact_lock(INSTANCES_LOCK)))


async def _locked_settings(session: AsyncSession, workspace_id: int) -> WorkspaceCI:
    """The workspace's settings row, made if it has none yet, locked for the transaction."""
    await session.execute(
        insert(WorkspaceCI).values(workspace_id=workspace_id).on_conflict_do_nothing()
    )
    row = await session.get(WorkspaceCI, workspace_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


async def _move(session: AsyncSession, rows: Sequence[WorkspaceCI], leaving: str, to: str) -> None:
    """Record that the workspaces of `rows`, locked, now use `to` instead of `leaving`: the
    one way any workspace moves (see above)."""
    for row in rows:
        previous = list(row.previous_jenkins)
        if leaving and leaving != to and leaving not in previous:
            previous.append(leaving)
        row.previous_jenkins = [instance for instance in previous if instance != to]

    keys = [str(row.workspace_id) for row in rows]
    await record_changes(session, "workspace", keys, "updated")


async def _move_followers(session: AsyncSession, followed: str) -> None:
    """Move every workspace that chose no instance from `followed`, the instance they
    followed before this transaction's change of the instances, to the one they follow now."""
    follows = await _default_instance(session)
    if follows == followed:
        return

    # A workspace without settings gets its row, so that it can remember `followed` too. The
    # key share lock skips a workspace deleted meanwhile instead of failing on it.
    workspaces = (
        select(Workspace.id).order_by(Workspace.id).with_for_update(read=True, key_share=True)
    )
    await session.execute(
        insert(WorkspaceCI).from_select(["workspace_id"], workspaces).on_conflict_do_nothing()
    )
    rows = await session.scalars(
        select(WorkspaceCI)
        .where(WorkspaceCI.jenkins.is_(None))
        .order_by(WorkspaceCI.workspace_id)
        .with_for_update()
    )
    followers = rows.all()
    await _move(session, followers, followed, follows)
    logger.info(
        "workspaces moved with the default: count=%d from=%r to=%r",
        len(followers),
        followed,
        follows,
    )


async def _default_instance(session: AsyncSession) -> str:
    """The instance marked default, else the only one registered; "" when neither."""
    rows = (
        await session.execute(
            select(JenkinsInstance.name, JenkinsInstance.is_default)
            .limit(2)
            .order_by(JenkinsInstance.is_default.desc())
        )
    ).all()
    if rows and (rows[0].is_default or len(rows) == 1):
        return str(rows[0].name)
    return ""


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
