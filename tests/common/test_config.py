"""Settings: every variable documented, sandbox secrets generated once and kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from libs.common.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_lists_every_setting_with_its_variable() -> None:
    readme = (ROOT / "README.md").read_text()

    missing = [f for f in Settings.model_fields if f"`WORKBENCH_{f.upper()}`" not in readme]

    assert missing == []


def test_readme_lists_every_event_proxy_setting_with_its_variable() -> None:
    from services.event_proxy.settings import EventProxySettings

    readme = (ROOT / "README.md").read_text()

    missing = [
        f
        for f in EventProxySettings.model_fields
        if f"`WORKBENCH_EVENT_PROXY_{f.upper()}`" not in readme
    ]

    assert missing == []


def test_sandbox_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(sandbox=True, state_dir=tmp_path).with_sandbox_secrets()
    second = Settings(sandbox=True, state_dir=tmp_path).with_sandbox_secrets()

    assert first.jwt_secret and first.internal_token and first.encryption_key
    assert (first.jwt_secret, first.encryption_key) == (second.jwt_secret, second.encryption_key)
    Fernet(first.encryption_key.encode())
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_outside_sandbox_no_secret_is_invented(tmp_path: Path) -> None:
    settings = Settings(sandbox=False, state_dir=tmp_path).with_sandbox_secrets()

    assert settings.jwt_secret is None
    assert not (tmp_path / "secrets.json").exists()


def test_database_url_is_read_from_the_conventional_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@y/z")

    assert Settings().database_url == "postgresql://x@y/z"


def test_a_trailing_newline_makes_a_name_invalid() -> None:
    from libs.common import names
    from libs.common.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="cluster"):
        names.dns_label("cluster", "member-1\n")


def test_outside_sandbox_nobody_is_platform_admin_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORKBENCH_PLATFORM_ADMINS", raising=False)
    monkeypatch.setenv("WORKBENCH_SANDBOX", "false")

    assert Settings().platform_admins == []


def test_in_sandbox_admin_is_platform_admin_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_PLATFORM_ADMINS", raising=False)
    monkeypatch.setenv("WORKBENCH_SANDBOX", "true")

    assert Settings().platform_admins == ["admin"]


@pytest.mark.parametrize("sandbox", ["true", "false"])
def test_platform_admins_set_explicitly_win_in_every_mode(
    monkeypatch: pytest.MonkeyPatch, sandbox: str
) -> None:
    monkeypatch.setenv("WORKBENCH_SANDBOX", sandbox)
    monkeypatch.setenv("WORKBENCH_PLATFORM_ADMINS", '["ops"]')
    assert Settings().platform_admins == ["ops"]

    monkeypatch.setenv("WORKBENCH_PLATFORM_ADMINS", "[]")
    assert Settings().platform_admins == []


@pytest.mark.parametrize(
    "pattern",
    [
        "workspace-{workspace}",
        "{role}",
        "ws-{workspace}-{role}-{role}",
        "{workspace}-{role}-{x}",
        "ws-{workspace}-{role}}",
        "{{workspace}}-{role}",
    ],
)
def test_an_argocd_group_pattern_without_both_placeholders_is_refused(pattern: str) -> None:
    with pytest.raises(ValidationError, match="WORKBENCH_ARGOCD_GROUP_PATTERN"):
        Settings(argocd_group_pattern=pattern)


def test_the_argocd_group_pattern_defaults_to_the_workspace_role_groups() -> None:
    assert Settings().argocd_group_pattern == "workspace-{workspace}-{role}"
    custom = Settings(argocd_group_pattern="g:{role}@{workspace}")
    assert custom.argocd_group_pattern == "g:{role}@{workspace}"
