"""Jobs still to delete in Jenkins after their pipelines were deleted.

Deleting a pipeline removes its row (and its runs) at once; its Jenkins job is deleted
after the commit. If Jenkins cannot be reached, a `pipeline_removals` row written in the
same transaction as the delete remembers the job, and the sync loop deletes it later, so a
Jenkins that was down does not keep jobs nobody can see. A removal is dropped instead when a
pipeline of the same name exists again in the workspace by then: that job is the new
pipeline's now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.devops_server.store.tables import Base


class PipelineRemoval(Base):
    """A Jenkins job to delete: `<workspace_id>/<job_name>` on the workspace's instance."""

    __tablename__ = "pipeline_removals"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(Integer, nullable=False)
    job_name: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
