"""Reads and writes of the catalog: templates, pipeline groups, global build parameters.

Names are checked here, once, for every caller of the SDK. Template and group names are what
people type in the console, so they may hold letters of any script, digits, spaces, '.', '_'
and '-'; never '/', '..', ':' (it would read as a custom verb in `/templates/{name}:enable`)
or control characters. Build parameter names become Jenkins parameters and so environment
variables: a letter or '_' first, then letters, digits, '_', '.' and '-'.

Duplicate names are caught by the unique indexes, not by a read before the write, so two
concurrent creations cannot both succeed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from amamba.types import types_pb2
from sqlalchemy import Select, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.devops_server.catalog import spec as specs
from services.devops_server.catalog.builtin import BUILTIN_TEMPLATES
from services.devops_server.catalog.tables import GlobalBuildParameter, PipelineGroup, Template
from services.devops_server.store.tables import Pipeline, Workspace

_DISPLAY_NAME = re.compile(r"[^\W_]([\w .-]*[\w.-])?")
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

MAX_NAME = 128
MAX_DESCRIPTION = 4096
MAX_CHOICES = 1000


def display_name(field: str, value: str, limit: int = MAX_NAME) -> str:
    """A template or group name."""
    if not value:
        raise InvalidArgument(f"{field}: must not be empty")
    if len(value) > limit:
        raise InvalidArgument(f"{field}: must be at most {limit} characters, got {len(value)}")
    if ".." in value or not _DISPLAY_NAME.fullmatch(value):
        raise InvalidArgument(
            f"{field}: {value[:80]!r} is not valid: use letters, digits, spaces, '.', '_' and "
            "'-', starting with a letter or digit, without '..'"
        )
    return value


def parameter_name(field: str, value: str) -> str:
    """A global build parameter's name."""
    if not value:
        raise InvalidArgument(f"{field}: must not be empty")
    if len(value) > MAX_NAME:
        raise InvalidArgument(f"{field}: must be at most {MAX_NAME} characters, got {len(value)}")
    if ".." in value or not _PARAMETER_NAME.fullmatch(value):
        raise InvalidArgument(
            f"{field}: {value[:80]!r} is not valid: start with a letter or '_', then use "
            "letters, digits, '_', '.' and '-'"
        )
    return value


def description(field: str, value: str) -> str:
    if len(value) > MAX_DESCRIPTION:
        raise InvalidArgument(f"{field}: must be at most {MAX_DESCRIPTION} characters")
    if "\x00" in value:
        raise InvalidArgument(f"{field}: must not contain NUL characters")
    return value


def choice_list(field: str, values: Sequence[str]) -> list[str]:
    if not values:
        raise InvalidArgument(f"{field}: give at least one choice")
    if len(values) > MAX_CHOICES:
        raise InvalidArgument(f"{field}: at most {MAX_CHOICES} choices")
    for value in values:
        if not value or len(value) > 1024 or _CONTROL.search(value):
            raise InvalidArgument(
                f"{field}: every choice must be 1 to 1024 characters, without line breaks or "
                "control characters"
            )
    if len(set(values)) != len(values):
        raise InvalidArgument(f"{field}: choices must be distinct")
    return list(values)


def fuzzy(field: str, value: str) -> str:
    """A name filter: any text a name may hold."""
    if len(value) > MAX_NAME or _CONTROL.search(value):
        raise InvalidArgument(
            f"{field}: must be at most {MAX_NAME} characters, without control characters"
        )
    return value


def _escape_like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _order(query: Select[Any], model: Any, sort_by: int, sort_dir: int, field: str) -> Any:
    """The query ordered as asked; no sort field means the newest first."""
    ascending = sort_dir == types_pb2.ASC
    if sort_by == types_pb2.FIELD_NAME:
        column = model.name
    elif sort_by in (types_pb2.CREATED_AT, types_pb2.SORT_BY_UNSPECIFIED):
        column = model.created_at
        if sort_by == types_pb2.SORT_BY_UNSPECIFIED:
            ascending = False
    else:
        raise InvalidArgument(f"{field}: sort by FIELD_NAME or CREATED_AT")
    if ascending:
        return query.order_by(column.asc(), model.id.asc())
    return query.order_by(column.desc(), model.id.desc())


def _page(query: Any, page: int, page_size: int) -> Any:
    if page_size > 0:
        return query.offset((max(page, 1) - 1) * page_size).limit(page_size)
    return query


def _scope(workspace_id: int) -> Any:
    if workspace_id:
        return Template.workspace_id == workspace_id
    return Template.workspace_id.is_(None)


def _template_label(workspace_id: int, name: str) -> str:
    where = f"in workspace {workspace_id}" if workspace_id else "(global)"
    return f"template {name!r} {where}"


class CatalogStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def _require_workspace(self, session: AsyncSession, workspace_id: int) -> None:
        if await session.get(Workspace, workspace_id) is None:
            raise NotFound(f"workspace {workspace_id} does not exist")

    # Templates

    async def list_templates(
        self,
        workspace_id: int,
        *,
        include_global: bool = False,
        enabled_only: bool = False,
        fuzzy_name: str = "",
        template_type: str = "",
        page: int = 1,
        page_size: int = 0,
        sort_by: int = 0,
        sort_dir: int = 0,
    ) -> tuple[Sequence[Template], int]:
        query = select(Template)
        if workspace_id and include_global:
            query = query.where(
                or_(
                    Template.workspace_id == workspace_id,
                    Template.workspace_id.is_(None) & Template.enabled.is_(True),
                )
            )
        else:
            query = query.where(_scope(workspace_id))
        if enabled_only:
            query = query.where(Template.enabled.is_(True))
        if fuzzy("fuzzyName", fuzzy_name):
            query = query.where(Template.name.ilike(_escape_like(fuzzy_name), escape="\\"))
        if template_type:
            query = query.where(Template.type == template_type)
        ordered = _order(query, Template, sort_by, sort_dir, "sortBy")
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = (await session.scalars(_page(ordered, page, page_size))).all()
        return rows, int(total or 0)

    async def get_template(self, workspace_id: int, name: str) -> Template:
        display_name("name", name)
        async with self._sessions() as session:
            row = await session.scalar(
                select(Template).where(_scope(workspace_id), Template.name == name)
            )
        if row is None:
            raise NotFound(f"{_template_label(workspace_id, name)} does not exist")
        return row

    async def create_template(
        self, workspace_id: int, name: str, about: str, spec_text: str
    ) -> Template:
        display_name("name", name)
        description("description", about)
        parsed = specs.parse(spec_text)
        row = Template(
            workspace_id=workspace_id or None,
            name=name,
            description=about,
            type="CUSTOM",
            spec=spec_text,
            parameters=[p.to_json() for p in parsed.parameters],
            jenkinsfile=parsed.jenkinsfile,
            enabled=True,
        )
        try:
            async with self._sessions.begin() as session:
                if workspace_id:
                    await self._require_workspace(session, workspace_id)
                session.add(row)
                await session.flush()
                await session.refresh(row)
        except IntegrityError:
            raise AlreadyExists(f"{_template_label(workspace_id, name)} already exists") from None
        return row

    async def _writable(self, session: AsyncSession, workspace_id: int, name: str) -> Template:
        """The template, locked for a change; built-in templates are refused."""
        row = await session.scalar(
            select(Template).where(_scope(workspace_id), Template.name == name).with_for_update()
        )
        if row is None:
            raise NotFound(f"{_template_label(workspace_id, name)} does not exist")
        if row.type == "BUILTIN":
            raise FailedPrecondition(
                f"template {name!r} is built in and cannot be changed or deleted; disable it, "
                "or create a template of your own from its spec"
            )
        return row

    async def update_template(
        self, workspace_id: int, name: str, about: str, spec_text: str
    ) -> Template:
        display_name("name", name)
        description("description", about)
        parsed = specs.parse(spec_text) if spec_text.strip() else None
        async with self._sessions.begin() as session:
            row = await self._writable(session, workspace_id, name)
            row.description = about
            if parsed is not None:
                row.spec = spec_text
                row.parameters = [p.to_json() for p in parsed.parameters]
                row.jenkinsfile = parsed.jenkinsfile
            row.updated_at = datetime.now(UTC)
            await session.flush()
        return row

    async def delete_template(self, workspace_id: int, name: str) -> None:
        display_name("name", name)
        async with self._sessions.begin() as session:
            await session.delete(await self._writable(session, workspace_id, name))

    async def set_template_enabled(self, name: str, enabled: bool) -> None:
        display_name("name", name)
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Template)
                .where(_scope(0), Template.name == name)
                .values(enabled=enabled, updated_at=func.now())
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"{_template_label(0, name)} does not exist")

    async def install_builtins(self) -> None:
        """Install or refresh the built-in global templates (see `builtin.py`)."""
        async with self._sessions.begin() as session:
            for name, (about, spec_text) in BUILTIN_TEMPLATES.items():
                parsed = specs.parse(spec_text)
                content = {
                    "description": about,
                    "spec": spec_text,
                    "parameters": [p.to_json() for p in parsed.parameters],
                    "jenkinsfile": parsed.jenkinsfile,
                }
                statement = insert(Template).values(
                    workspace_id=None, name=name, type="BUILTIN", enabled=True, **content
                )
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[Template.name],
                        index_where=text("workspace_id IS NULL"),
                        set_={**content, "updated_at": func.now()},
                        # Only a built-in row whose content this release changes.
                        where=(Template.type == "BUILTIN")
                        & (
                            (Template.spec != statement.excluded.spec)
                            | (Template.description != statement.excluded.description)
                        ),
                    )
                )

    async def render_template(
        self, workspace_id: int, name: str, is_global: bool, values_json: str
    ) -> str:
        row = await self.get_template(0 if is_global else workspace_id, name)
        if not row.enabled:
            raise FailedPrecondition(
                f"{_template_label(0, name)} is disabled; enable it or choose another"
            )
        parameters = tuple(specs.Parameter.from_json(p) for p in row.parameters)
        return specs.render(specs.Spec(parameters, row.jenkinsfile), values_json)

    # Groups

    async def list_groups(self, workspace_id: int, fuzzy_name: str = "") -> Sequence[PipelineGroup]:
        query = select(PipelineGroup).where(PipelineGroup.workspace_id == workspace_id)
        if fuzzy("fuzzyName", fuzzy_name):
            query = query.where(PipelineGroup.name.ilike(_escape_like(fuzzy_name), escape="\\"))
        async with self._sessions() as session:
            await self._require_workspace(session, workspace_id)
            return (await session.scalars(query.order_by(PipelineGroup.name))).all()

    async def get_group(self, workspace_id: int, group_id: int) -> PipelineGroup:
        async with self._sessions() as session:
            row = await session.get(PipelineGroup, group_id)
        if row is None or row.workspace_id != workspace_id:
            raise NotFound(f"group {group_id} does not exist in workspace {workspace_id}")
        return row

    async def create_group(self, workspace_id: int, name: str) -> PipelineGroup:
        display_name("name", name, 63)
        row = PipelineGroup(workspace_id=workspace_id, name=name)
        try:
            async with self._sessions.begin() as session:
                await self._require_workspace(session, workspace_id)
                session.add(row)
                await session.flush()
                await session.refresh(row)
        except IntegrityError:
            raise AlreadyExists(
                f"group {name!r} already exists in workspace {workspace_id}"
            ) from None
        return row

    async def delete_group(self, workspace_id: int, group_id: int) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(PipelineGroup).where(
                    PipelineGroup.id == group_id, PipelineGroup.workspace_id == workspace_id
                )
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"group {group_id} does not exist in workspace {workspace_id}")
            await session.execute(
                update(Pipeline).where(Pipeline.group_id == group_id).values(group_id=None)
            )

    # Global build parameters

    async def list_parameters(
        self,
        *,
        fuzzy_name: str = "",
        page: int = 1,
        page_size: int = 0,
        sort_by: int = 0,
        sort_dir: int = 0,
    ) -> tuple[Sequence[GlobalBuildParameter], int]:
        query = select(GlobalBuildParameter)
        if fuzzy("fuzzyName", fuzzy_name):
            query = query.where(
                GlobalBuildParameter.name.ilike(_escape_like(fuzzy_name), escape="\\")
            )
        ordered = _order(query, GlobalBuildParameter, sort_by, sort_dir, "sortBy")
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = (await session.scalars(_page(ordered, page, page_size))).all()
        return rows, int(total or 0)

    async def create_parameter(self, name: str, choices: Sequence[str]) -> GlobalBuildParameter:
        parameter_name("name", name)
        row = GlobalBuildParameter(name=name, choices=choice_list("choiceListText", choices))
        try:
            async with self._sessions.begin() as session:
                session.add(row)
                await session.flush()
        except IntegrityError:
            raise AlreadyExists(f"global build parameter {name!r} already exists") from None
        return row

    async def update_parameter(
        self, old_name: str, name: str, choices: Sequence[str]
    ) -> GlobalBuildParameter:
        parameter_name("oldName", old_name)
        new_name = parameter_name("name", name) if name else old_name
        values = {
            "name": new_name,
            "choices": choice_list("choiceListText", choices),
            "updated_at": func.now(),
        }
        try:
            async with self._sessions.begin() as session:
                row: GlobalBuildParameter | None = await session.scalar(
                    update(GlobalBuildParameter)
                    .where(GlobalBuildParameter.name == old_name)
                    .values(**values)
                    .returning(GlobalBuildParameter)
                )
                if row is None:
                    raise NotFound(f"global build parameter {old_name!r} does not exist")
        except IntegrityError:
            raise AlreadyExists(f"global build parameter {new_name!r} already exists") from None
        return row

    async def delete_parameter(self, name: str) -> None:
        parameter_name("name", name)
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(GlobalBuildParameter).where(GlobalBuildParameter.name == name)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"global build parameter {name!r} does not exist")
