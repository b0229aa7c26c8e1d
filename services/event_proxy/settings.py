"""event-proxy's settings, read from `WORKBENCH_EVENT_PROXY_*` environment variables.

event-proxy runs beside one Jenkins, often as a sidecar that shares nothing with the other
Workbench processes but a token, so it reads its own small settings class rather than the
shared one. Two values fall back to the shared names when the proxy's own are unset: the
token (`WORKBENCH_INTERNAL_TOKEN`) and the state directory (`WORKBENCH_STATE_DIR`), under
which the outbox lives by default.

Durations are seconds (amamba's chart spells the same knobs in milliseconds: `timeout: 3000`,
`retryBackoffDuration: 100`, `retryBackoffMaxDuration: 5000`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TARGET = (
    "http://127.0.0.1:8081/apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins"
)


class EventProxySettings(BaseSettings):
    """Every knob of event-proxy; `WORKBENCH_EVENT_PROXY_<NAME>` sets `<name>`."""

    model_config = SettingsConfigDict(
        env_prefix="WORKBENCH_EVENT_PROXY_", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = 9095

    state_dir: Path = Field(
        default=Path(".state"),
        validation_alias=AliasChoices("WORKBENCH_EVENT_PROXY_STATE_DIR", "WORKBENCH_STATE_DIR"),
    )
    outbox_dir: Path | None = None

    target_url: str = DEFAULT_TARGET
    token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("WORKBENCH_EVENT_PROXY_TOKEN", "WORKBENCH_INTERNAL_TOKEN"),
    )
    instance: str = "sandbox"

    qps: float = Field(default=1000.0, ge=0)  # 0 turns the rate limit off
    burst: int = Field(default=100, ge=1)
    retry_base: float = Field(default=0.1, gt=0)
    retry_max: float = Field(default=5.0, gt=0)
    timeout: float = Field(default=3.0, gt=0)
    concurrency: int = Field(default=4, ge=1)  # posts in flight; a backlog goes in batches
    batch: int = Field(default=100, ge=1, le=1000)  # events per post; 1: each alone

    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    window: int = Field(default=10_000, ge=1)  # events held in memory; the rest wait on disk
    dedupe_seconds: float = Field(default=3600.0, ge=0)  # delivered ids remembered this long
    shutdown_grace: float = Field(default=2.0, ge=0)

    @property
    def outbox_path(self) -> Path:
        """The directory that holds the outbox database."""
        return self.outbox_dir if self.outbox_dir is not None else self.state_dir / "event-proxy"
