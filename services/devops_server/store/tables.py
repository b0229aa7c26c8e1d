"""The tables devops-server owns.

Tenancy: workspaces, their members and roles, registered member clusters (kubeconfigs
encrypted), and the bindings of cluster namespaces to workspaces. CI: Jenkins instances (API
tokens encrypted), each workspace's instance and run cap, pipelines, runs and run details.

`changes` is the tenancy change log: every write appends a row in the same transaction and
notifies the `tenancy_changes` channel, so watchers learn of it at once and a reconnecting
watcher can read what it missed from its last revision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alias: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    created_at: Mapped[datetime] = _now()


class Member(Base):
    __tablename__ = "members"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(String(253), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (Index("ix_members_username", "username"),)


class Cluster(Base):
    __tablename__ = "clusters"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    server: Mapped[str] = mapped_column(Text, nullable=False)
    kubeconfig: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # encrypted
    created_at: Mapped[datetime] = _now()


class Binding(Base):
    __tablename__ = "bindings"

    cluster: Mapped[str] = mapped_column(
        ForeignKey("clusters.name", ondelete="CASCADE"), primary_key=True
    )
    namespace: Mapped[str] = mapped_column(String(63), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = _now()

    __table_args__ = (Index("ix_bindings_workspace_id", "workspace_id"),)


class Setting(Base):
    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[dict[str, object]] = mapped_column(JSONB, nullable=False)


class Change(Base):
    __tablename__ = "changes"

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = _now()


# CI: Jenkins instances, pipelines and runs.


class JenkinsInstance(Base):
    """A registered Jenkins; its API token sealed like every secret at rest."""

    __tablename__ = "jenkins_instances"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    username: Mapped[str] = mapped_column(String(253), nullable=False)
    token: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # encrypted
    # TLS settings and where the instance runs: the API's JenkinsConfig fields beyond these.
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _now()


class WorkspaceCI(Base):
    """A workspace's CI settings: its Jenkins instance (none: the default) and run cap."""

    __tablename__ = "workspace_ci"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    jenkins: Mapped[str | None] = mapped_column(
        ForeignKey("jenkins_instances.name", ondelete="SET NULL"), nullable=True
    )
    max_concurrent_runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Instances it used before whose folder the syncer has not removed yet (migration 0008).
    previous_jenkins: Mapped[list[str]] = mapped_column(
        ARRAY(String(63)), nullable=False, default=list, server_default="{}"
    )


class Pipeline(Base):
    """A pipeline definition, the source of truth its Jenkins job is generated from.

    `spec` holds the definition as the API's `Pipeline` message in proto JSON (parameters,
    triggers, build config, SCM, ...); the columns beside it are what lists filter and sort
    by. `generation` grows with every change of the definition; `synced_generation` is the
    one last pushed to Jenkins, so `generation > synced_generation` means "not in sync yet".
    The run summary columns are kept current by the run side, so a page of pipelines with
    their last-run fields is one indexed query.
    """

    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    jenkinsfile: Mapped[str] = mapped_column(Text, nullable=False, default="")
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    group_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    generation: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    synced_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sync_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The job's name in Jenkins as last pushed ("" before the first push): migration 0004.
    jenkins_name: Mapped[str] = mapped_column(String(255), nullable=False, server_default="")
    # Drift (migration 0007): the config.xml Jenkins held after our last push, and an item
    # event about the job waiting for the background check (see events.items, ci.resync).
    pushed_config_sha: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    drift_hint: Mapped[str] = mapped_column(String(255), nullable=False, server_default="")

    last_run_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_run_state: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    total_runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total_successes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    weather: Mapped[str] = mapped_column(String(16), nullable=False, default="")

    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index("ix_pipelines_workspace_last_run", "workspace_id", "last_run_at"),
        Index("ix_pipelines_workspace_created", "workspace_id", "created_at"),
        Index(
            "ix_pipelines_pending_sync",
            "id",
            postgresql_where=text("generation > synced_generation"),
        ),
        Index("ix_pipelines_drift_hint", "id", postgresql_where=text("drift_hint <> ''")),
        Index(
            "ix_pipelines_workspace_recent",
            "workspace_id",
            text("last_run_at DESC NULLS LAST"),
            text("id DESC"),
        ),
    )


class Run(Base):
    """One run of a pipeline.

    `seq` is the run's number in Workbench (the API's `runId`), given in order per pipeline
    when the run is asked for, even while it waits in Workbench's own queue; `build_number` is
    Jenkins's number once Jenkins has started it, and `queue_id` its Jenkins queue item.
    """

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False
    )
    workspace_id: Mapped[int] = mapped_column(Integer, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    jenkins: Mapped[str] = mapped_column(String(63), nullable=False, default="")
    queue_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    build_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    trigger_type: Mapped[str] = mapped_column(String(16), nullable=False, default="MANUAL")
    started_by: Mapped[str] = mapped_column(String(253), nullable=False, default="")
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    __table_args__ = (
        UniqueConstraint("pipeline_id", "seq"),
        Index("ix_runs_pipeline_seq_desc", "pipeline_id", text("seq DESC")),
        Index(
            "ix_runs_unfinished",
            "workspace_id",
            "state",
            postgresql_where=text("state IN ('QUEUE', 'RUNNING', 'PAUSED')"),
        ),
        Index(
            "ix_runs_pipeline_build",
            "pipeline_id",
            "build_number",
            postgresql_where=text("build_number IS NOT NULL"),
        ),
        Index(
            "ix_runs_pipeline_queue_item",
            "pipeline_id",
            "queue_id",
            postgresql_where=text("build_number IS NULL AND queue_id IS NOT NULL"),
        ),
    )


class RunDetail(Base):
    """What only Jenkins knows about a run (stages, steps, logs, reports), kept once final."""

    __tablename__ = "run_details"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    content: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    fetched_at: Mapped[datetime] = _now()
