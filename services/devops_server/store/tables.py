"""The tables devops-server owns.

Tenancy: workspaces, their members and roles, registered member clusters (kubeconfigs
encrypted), and the bindings of cluster namespaces to workspaces. `changes` is the tenancy
change log: every write appends a row in the same transaction and notifies the
`tenancy_changes` channel, so watchers learn of it at once and a reconnecting watcher can read
what it missed from its last revision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
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
