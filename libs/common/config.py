"""Configuration for every Workbench process, read from the environment.

All variables share the prefix `WORKBENCH_` (so `WORKBENCH_APISERVER_HTTP_PORT=8080`); the
database URL is also read from the conventional `DATABASE_URL`. The README lists every variable
with its default, and a test keeps that list and this class in step.

Sandbox mode (`WORKBENCH_SANDBOX=true`, what `workbench run` uses when nothing else is
configured) fills in the secrets a real deployment must provide: the token signing secret, the
internal token that services present to devops-server, and the key that encrypts secrets at
rest. They are generated once and kept in `<state dir>/secrets.json`, so tokens and encrypted
rows stay valid across restarts. It also makes `admin` the platform administrator unless
`WORKBENCH_PLATFORM_ADMINS` says otherwise; elsewhere nobody is one until that is set, so a
deployment never grants the platform to whoever obtains a token for a user named "admin".
"""

from __future__ import annotations

import json
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDER = re.compile(r"{([^{}]*)}")


class Settings(BaseSettings):
    """Every setting of every process; each process reads the ones it needs."""

    model_config = SettingsConfigDict(
        env_prefix="WORKBENCH_", extra="ignore", populate_by_name=True
    )

    sandbox: bool = False
    state_dir: Path = Path(".state")
    bind_host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_format: str = "auto"

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("WORKBENCH_DATABASE_URL", "DATABASE_URL")
    )
    database_pool_size: int = 10

    apiserver_http_port: int = 8080
    apiserver_grpc_port: int = 9090
    devops_grpc_port: int = 9091
    devops_http_port: int = 8081
    syncer_http_port: int = 8082
    syncer_resync_seconds: float = 300.0
    devops_address: str = "127.0.0.1:9091"

    jwt_secret: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_jwks_refetch_seconds: float = 30.0
    platform_admins: list[str] = []  # sandbox mode: ["admin"] unless set
    role_cache_seconds: float = 2.0

    internal_token: str | None = None
    encryption_key: str | None = None

    max_body_bytes: int = 4 * 1024 * 1024

    control_plane_kubeconfig: Path | None = None
    # Where apiserver keeps credentials as Secrets in the control plane, and the syncer reads
    # them: every process must be given the same one.
    credentials_namespace: str = "workbench-system"
    argocd_namespace: str = "argocd"
    # The SSO group granted each workspace role in the workspace's AppProject.
    argocd_group_pattern: str = "workspace-{workspace}-{role}"

    @field_validator("argocd_group_pattern")
    @classmethod
    def _group_pattern(cls, pattern: str) -> str:
        """Both placeholders, and no other: without `{role}` one group would get every role
        (a viewer's group would be an admin's), without `{workspace}` every workspace's."""
        fields = _PLACEHOLDER.findall(pattern)
        rest = _PLACEHOLDER.sub("", pattern)
        if sorted(fields) != ["role", "workspace"] or "{" in rest or "}" in rest:
            raise ValueError(
                "WORKBENCH_ARGOCD_GROUP_PATTERN must hold {workspace} and {role} once each "
                f"and no other braces, got {pattern[:80]!r}"
            )
        return pattern

    @model_validator(mode="after")
    def _sandbox_admin(self) -> Settings:
        if self.sandbox and "platform_admins" not in self.model_fields_set:
            self.platform_admins = ["admin"]
        return self

    def with_sandbox_secrets(self) -> Settings:
        """Fill unset secrets from the state directory's secrets file (sandbox mode only)."""
        if not self.sandbox:
            return self
        stored = _sandbox_secrets(self.state_dir)
        return self.model_copy(
            update={
                "jwt_secret": self.jwt_secret or stored["jwt_secret"],
                "internal_token": self.internal_token or stored["internal_token"],
                "encryption_key": self.encryption_key or stored["encryption_key"],
            }
        )


def _sandbox_secrets(state_dir: Path) -> dict[str, str]:
    path = state_dir / "secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded

    state_dir.mkdir(parents=True, exist_ok=True)
    fresh = {
        "jwt_secret": secrets.token_urlsafe(32),
        "internal_token": secrets.token_urlsafe(32),
        "encryption_key": Fernet.generate_key().decode(),
    }
    # Written with owner-only permissions before any secret lands in it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(fresh, out)
    return fresh


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings().with_sandbox_secrets()
