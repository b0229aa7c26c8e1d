"""The catalog's tables: templates, pipeline groups and global build parameters.

A global template has no workspace (`workspace_id` NULL). Names are unique among the global
templates and within each workspace; since NULLs never collide in a unique constraint, that is
two partial unique indexes rather than one constraint.

A template keeps the spec as it was written (`spec`, answered as `raw`) beside what was parsed
from it (`parameters`, `jenkinsfile`), so reads never parse YAML.

`pipelines.group_id` points at `pipeline_groups.id` without a foreign key (the pipelines table
is not this module's); deleting a group clears that column in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.devops_server.store.tables import Base


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    type: Mapped[str] = mapped_column(String(16), nullable=False, default="CUSTOM")
    spec: Mapped[str] = mapped_column(Text, nullable=False)
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    jenkinsfile: Mapped[str] = mapped_column(Text, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        Index(
            "uq_templates_global_name",
            "name",
            unique=True,
            postgresql_where=text("workspace_id IS NULL"),
        ),
        Index(
            "uq_templates_workspace_name",
            "workspace_id",
            "name",
            unique=True,
            postgresql_where=text("workspace_id IS NOT NULL"),
        ),
    )


class PipelineGroup(Base):
    __tablename__ = "pipeline_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (UniqueConstraint("workspace_id", "name"),)


class GlobalBuildParameter(Base):
    __tablename__ = "global_build_parameters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    choices: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
