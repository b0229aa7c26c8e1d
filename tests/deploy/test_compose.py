"""docker-compose.yml cannot run here (no container engine), so its wiring is checked by reading
it: every service runs a module that exists, listens where its settings say, and is given only
variables that some process reads."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from libs.common.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def workbench_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("build") == "."
    }


def known_variables() -> set[str]:
    from services.event_proxy.settings import EventProxySettings

    names = {f"WORKBENCH_{field.upper()}" for field in Settings.model_fields}
    proxy = {f"WORKBENCH_EVENT_PROXY_{field.upper()}" for field in EventProxySettings.model_fields}
    return names | proxy | {"DATABASE_URL"}


def test_compose_runs_each_workbench_process() -> None:
    modules = {tuple(s["command"]) for s in workbench_services().values()}

    assert {m[-1] for m in modules} >= {
        "services.apiserver",
        "services.devops_server",
        "services.syncer",
    }


@pytest.mark.parametrize("name", sorted(workbench_services()))
def test_service_command_is_a_runnable_module(name: str) -> None:
    command = workbench_services()[name]["command"]

    assert command[:2] == ["python", "-m"]
    assert importlib.util.find_spec(f"{command[2]}.__main__") is not None


@pytest.mark.parametrize("name", sorted(workbench_services()))
def test_service_variables_are_all_read_by_workbench(name: str) -> None:
    environment = workbench_services()[name]["environment"]

    assert set(environment) <= known_variables()


@pytest.mark.parametrize("name", ["apiserver", "devops-server", "syncer"])
def test_published_ports_match_the_configured_ones(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = workbench_services()[name]
    for key, value in service["environment"].items():
        # `${VAR:-default}` is what compose gives when VAR is unset on the host.
        monkeypatch.setenv(key, re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value))
    configured = Settings()
    ports = {int(p.split(":")[1]) for p in service.get("ports", [])}
    expected = {
        "apiserver": {configured.apiserver_http_port, configured.apiserver_grpc_port},
        "devops-server": {configured.devops_grpc_port, configured.devops_http_port},
        "syncer": {configured.syncer_http_port},
    }[name]

    assert ports == expected


def test_services_reach_devops_server_by_its_compose_name() -> None:
    for name, service in workbench_services().items():
        if name == "event-proxy":
            continue
        address = service["environment"].get("WORKBENCH_DEVOPS_ADDRESS", "")
        host, _, port = address.partition(":")
        assert host in compose()["services"]
        assert int(port) == 9091


def test_event_proxy_forwards_to_devops_servers_event_port() -> None:
    from urllib.parse import urlsplit

    proxy = workbench_services()["event-proxy"]
    target = urlsplit(proxy["environment"]["WORKBENCH_EVENT_PROXY_TARGET_URL"])
    devops = workbench_services()["devops-server"]["environment"]

    assert target.hostname == "devops-server"
    assert str(target.port) == devops["WORKBENCH_DEVOPS_HTTP_PORT"]
    assert target.path.endswith("/webhooks/jenkins")
    assert proxy["network_mode"] == "service:jenkins"


def test_every_depends_on_names_a_service() -> None:
    services = compose()["services"]
    for service in services.values():
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services)
