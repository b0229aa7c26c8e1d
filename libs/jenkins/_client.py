"""`JenkinsClient`: the asyncio client Workbench uses for everything it asks of Jenkins.

Decisions, in the order a request meets them:

- httpx directly, not python-jenkins (synchronous) or api4jenkins (loosely typed, no crumb
  retry): one `httpx.AsyncClient` per client, basic auth with the user's API token, redirects
  NOT followed. Jenkins answers many POSTs with a 302 back to a page; a 3xx is success here,
  and following it would only fetch HTML nobody reads.
- Crumbs: API-token requests need none since Jenkins 2.96, but an instance may still demand
  one (or Workbench may be configured with a password). The crumb is fetched lazily, once,
  before the first state-changing request; a 404 from `crumbIssuer` means crumbs are off.
  A 403 "No valid crumb" (the issuer's salt changed, e.g. after a restart) refetches it and
  retries the request once.
- Every request goes through `_send`, which logs one INFO line (method, path, status, ms;
  never the query, which can carry build parameters, and never the token) and turns failures
  into `libs.jenkins.errors` through `translate`, with the httpx error chained.
- Items are addressed by path: ("7", "build-app") or "7/build-app" (see `_paths`).
- Answers are the parsed JSON Jenkins sends (`dict[str, Any]`), except where Workbench needs
  a few fields reliably: `QueueItem` and `LogChunk`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple, Self, cast
from urllib.parse import urlsplit

import httpx

from libs.jenkins._paths import (
    ItemPath,
    blue_run_url,
    job_url,
    names,
    parent_and_name,
    run_url,
    segment,
)
from libs.jenkins.errors import JenkinsConflict, JenkinsError, JenkinsNotFound, translate

logger = logging.getLogger(__name__)

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
XML = "application/xml; charset=utf-8"
_QUEUE_ID = re.compile(r"/queue/item/(\d+)/?$")
_NO_CRUMB = "No valid crumb"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class QueueItem:
    """A queue item: still waiting, started (`build_number`), or cancelled."""

    id: int
    waiting: bool
    cancelled: bool
    build_number: int | None
    why: str | None
    raw: dict[str, Any]


class LogChunk(NamedTuple):
    """A piece of a progressive log; ask again from `next_start` while `more` is true."""

    text: str
    next_start: int
    more: bool


class JenkinsClient:
    """An asyncio client of one Jenkins instance; use it as `async with JenkinsClient(...)`."""

    def __init__(self, address: str, username: str, api_token: str, *, timeout: float = 10) -> None:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the Jenkins address must be an http(s) URL")
        if parts.username or parts.password:
            raise ValueError("pass Jenkins credentials as arguments, not in the address")
        self.address = address.rstrip("/") + "/"
        self.username = username
        self._http = httpx.AsyncClient(
            base_url=self.address,
            auth=httpx.BasicAuth(username, api_token),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )
        self._crumb: dict[str, str] | None = None
        self._crumb_known = False
        self._crumb_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"JenkinsClient({self.address!r}, user={self.username!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # Jenkins itself.

    async def version(self) -> str:
        """The Jenkins version, from the `X-Jenkins` header of the root page."""
        response = await self._send("GET", "")
        return str(response.headers.get("X-Jenkins", ""))

    # Items: folders and jobs.

    async def item_exists(self, path: ItemPath) -> bool:
        return await self._item_class(path) is not None

    async def ensure_folder(self, path: ItemPath) -> None:
        """Create the folder, and any missing folder above it; existing ones are kept."""
        parts = names(path)

        for depth in range(1, len(parts) + 1):
            current = parts[:depth]
            found = await self._item_class(current)
            if found is None:
                await self._create_folder(current)
            elif found != FOLDER_CLASS:
                raise JenkinsConflict(f"{'/'.join(current)} exists and is not a folder")

    async def delete_item(self, path: ItemPath, *, missing_ok: bool = False) -> None:
        try:
            await self._send("POST", f"{job_url(path)}doDelete")
        except JenkinsNotFound:
            if not missing_ok:
                raise

    async def list_jobs(self, folder: ItemPath = ()) -> list[dict[str, Any]]:
        """The items directly in a folder (or the root): `name`, `_class`, `url`, `color`."""
        data = await self._json(f"{job_url(folder)}api/json", tree="jobs[name,url,color]")
        return list(data.get("jobs") or [])

    async def create_or_update_job(self, path: ItemPath, config_xml: str) -> bool:
        """Create the job from its config.xml, or replace its config; True if created."""
        if await self.item_exists(path):
            await self._post_config(path, config_xml)
            return False

        parent, name = parent_and_name(path)
        try:
            await self._send(
                "POST",
                f"{job_url(parent)}createItem",
                params={"name": name},
                content=config_xml.encode("utf-8"),
                headers={"Content-Type": XML},
            )
        except JenkinsConflict:
            # Someone created it between the check and the create: update instead.
            await self._post_config(path, config_xml)
            return False
        return True

    async def get_job_config(self, path: ItemPath) -> str:
        response = await self._send("GET", f"{job_url(path)}config.xml")
        return response.text

    async def rename_job(self, path: ItemPath, new_name: str) -> None:
        names((new_name,))  # refuses "", "." and ".." before Jenkins sees them
        await self._send("POST", f"{job_url(path)}doRename", params={"newName": new_name})

    async def enable_job(self, path: ItemPath) -> None:
        await self._send("POST", f"{job_url(path)}enable")

    async def disable_job(self, path: ItemPath) -> None:
        await self._send("POST", f"{job_url(path)}disable")

    # Builds and the queue.

    async def build(
        self,
        path: ItemPath,
        parameters: dict[str, str] | None = None,
        *,
        delay_seconds: int | None = None,
    ) -> int:
        """Queue a build; the queue item id (see `queue_item` for the build number).

        With `parameters` (even empty: the job's defaults apply) it is `buildWithParameters`,
        the values sent as a form body so they stay out of URLs and logs.
        """
        endpoint = "build" if parameters is None else "buildWithParameters"
        params = {} if delay_seconds is None else {"delay": f"{int(delay_seconds)}sec"}
        response = await self._send(
            "POST", f"{job_url(path)}{endpoint}", params=params, data=parameters or None
        )
        match = _QUEUE_ID.search(response.headers.get("Location", ""))
        if match is None:
            raise JenkinsError(f"Jenkins queued no build for {'/'.join(names(path))}")
        return int(match.group(1))

    async def queue_item(self, queue_id: int) -> QueueItem:
        data = await self._json(f"queue/item/{int(queue_id)}/api/json")
        executable = data.get("executable") or {}
        number = executable.get("number")
        return QueueItem(
            id=int(data.get("id", queue_id)),
            waiting=not str(data.get("_class", "")).endswith("$LeftItem"),
            cancelled=bool(data.get("cancelled", False)),
            build_number=int(number) if number is not None else None,
            why=data.get("why"),
            raw=data,
        )

    async def cancel_queue_item(self, queue_id: int) -> bool:
        """Cancel a waiting item; False if it is gone or has already left the queue."""
        try:
            await self._send("POST", "queue/cancelItem", params={"id": str(int(queue_id))})
        except JenkinsNotFound:
            return False
        return True

    async def build_of_queue_item(self, path: ItemPath, queue_id: int) -> int | None:
        """The number of the job's build that queue item `queue_id` became; None if none did.

        For a queue item Jenkins has forgotten (it answers for a left item about five
        minutes, and not at all after a restart): every build's JSON carries the `queueId`
        it came from. Jenkins exports its newest 100 builds as `builds`; an item older
        than that is not looked for (`allBuilds` would load every build record).
        """
        data = await self._json(f"{job_url(path)}api/json", tree="builds[number,queueId]")
        builds = data.get("builds")
        if not isinstance(builds, list):
            return None

        for build in builds:
            if not isinstance(build, dict):
                continue
            number, origin = build.get("number"), build.get("queueId")
            if isinstance(number, int) and isinstance(origin, int) and origin == queue_id:
                return number

        return None

    async def build_info(self, path: ItemPath, number: int) -> dict[str, Any]:
        return await self._json(f"{run_url(path, number)}api/json")

    async def stop_build(self, path: ItemPath, number: int) -> None:
        """Interrupt the running step; the run ends ABORTED once its post sections ran."""
        await self._send("POST", f"{run_url(path, number)}stop")

    async def progressive_log(self, path: ItemPath, number: int, start: int = 0) -> LogChunk:
        response = await self._send(
            "GET", f"{run_url(path, number)}logText/progressiveText", params={"start": start}
        )
        return _chunk(response, start)

    async def console_text(self, path: ItemPath, number: int) -> str:
        response = await self._send("GET", f"{run_url(path, number)}consoleText")
        return response.text

    # Stage View and input.

    async def stages(self, path: ItemPath, number: int) -> list[dict[str, Any]]:
        """Stage View's stages of a run (`id`, `name`, `status`, times)."""
        data = await self._json(f"{run_url(path, number)}wfapi/describe")
        return list(data.get("stages") or [])

    async def pending_inputs(self, path: ItemPath, number: int) -> list[dict[str, Any]]:
        url = f"{run_url(path, number)}wfapi/pendingInputActions"
        return cast(list[dict[str, Any]], await self._decoded("GET", url) or [])

    async def submit_input(self, path: ItemPath, number: int, input_id: str, proceed: bool) -> None:
        action = "proceedEmpty" if proceed else "abort"
        await self._send("POST", f"{run_url(path, number)}input/{segment(input_id)}/{action}")

    # Blue Ocean.

    async def nodes(self, path: ItemPath, number: int) -> list[dict[str, Any]]:
        url = f"{blue_run_url(path, number)}nodes/"
        return cast(list[dict[str, Any]], await self._decoded("GET", url))

    async def steps(self, path: ItemPath, number: int, node_id: str) -> list[dict[str, Any]]:
        url = f"{blue_run_url(path, number)}nodes/{segment(node_id)}/steps/"
        return cast(list[dict[str, Any]], await self._decoded("GET", url))

    async def step_log(self, path: ItemPath, number: int, step_id: str, start: int = 0) -> LogChunk:
        url = f"{blue_run_url(path, number)}steps/{segment(step_id)}/log/"
        response = await self._send("GET", url, params={"start": start})
        return _chunk(response, start)

    # Tests and artifacts.

    async def test_report(self, path: ItemPath, number: int) -> dict[str, Any] | None:
        """The JUnit report, or None when the run recorded no tests."""
        try:
            return await self._json(f"{run_url(path, number)}testReport/api/json")
        except JenkinsNotFound:
            return None

    async def artifacts(self, path: ItemPath, number: int) -> list[dict[str, Any]]:
        """`fileName`, `relativePath` (and `displayPath`) of each archived file."""
        data = await self._json(
            f"{run_url(path, number)}api/json",
            tree="artifacts[fileName,relativePath,displayPath]",
        )
        return list(data.get("artifacts") or [])

    async def artifact(self, path: ItemPath, number: int, relative: str) -> bytes:
        parts = names(relative)
        quoted = "/".join(segment(part) for part in parts)
        response = await self._send("GET", f"{run_url(path, number)}artifact/{quoted}")
        return response.content

    # Folder credentials (the root's system store for the empty path).

    async def put_credential(self, folder: ItemPath, credential_id: str, xml: str) -> bool:
        """Create the credential from its XML, or replace it; True if created."""
        store = _credential_store(folder)
        headers = {"Content-Type": XML}
        body = xml.encode("utf-8")

        try:
            await self._send("POST", f"{store}createCredentials", content=body, headers=headers)
        except JenkinsConflict:
            await self.update_credential(folder, credential_id, xml)
            return False
        return True

    async def update_credential(self, folder: ItemPath, credential_id: str, xml: str) -> None:
        """Replace an existing credential with the one in `xml` (404 if it does not exist)."""
        url = f"{_credential_store(folder)}credential/{segment(credential_id)}/config.xml"
        await self._send("POST", url, content=xml.encode("utf-8"), headers={"Content-Type": XML})

    async def delete_credential(
        self, folder: ItemPath, credential_id: str, *, missing_ok: bool = False
    ) -> None:
        url = f"{_credential_store(folder)}credential/{segment(credential_id)}/config.xml"
        try:
            await self._send("DELETE", url)
        except JenkinsNotFound:
            if not missing_ok:
                raise

    async def list_credentials(self, folder: ItemPath) -> list[str]:
        """The ids of the credentials in the folder's global domain."""
        data = await self._json(f"{_credential_store(folder)}api/json", tree="credentials[id]")
        return [str(entry["id"]) for entry in data.get("credentials") or []]

    async def credential_descriptions(self, folder: ItemPath) -> dict[str, str]:
        """Each credential's id and description in the folder's global domain, in one read.
        Secrets never appear in it: Jenkins exports no credential field beyond these."""
        tree = "credentials[id,description]"
        data = await self._json(f"{_credential_store(folder)}api/json", tree=tree)
        return {
            str(entry["id"]): str(entry.get("description") or "")
            for entry in data.get("credentials") or []
        }

    # Configuration as Code.

    async def casc_check(self, yaml: str) -> list[dict[str, Any]]:
        """The problems CasC finds in a document (`line`, `message`); empty when valid."""
        problems = await self._decoded(
            "POST", "configuration-as-code/check", content=yaml.encode("utf-8"), accept={400}
        )
        return cast(list[dict[str, Any]], problems or [])

    async def casc_apply(self, yaml: str) -> None:
        await self._send("POST", "configuration-as-code/apply", content=yaml.encode("utf-8"))

    async def casc_reload(self) -> None:
        """Reload CasC from the sources Jenkins was started with."""
        await self._send("POST", "configuration-as-code/reload")

    async def casc_export(self) -> str:
        """The configuration Jenkins runs with, as the CasC plugin exports it (YAML)."""
        response = await self._send("POST", "configuration-as-code/export")
        return response.text

    # Internals.

    async def _item_class(self, path: ItemPath) -> str | None:
        try:
            data = await self._json(f"{job_url(path)}api/json", tree="name")
        except JenkinsNotFound:
            return None
        return str(data.get("_class", ""))

    async def _create_folder(self, path: ItemPath) -> None:
        parent, name = parent_and_name(path)
        query = {"name": name, "mode": FOLDER_CLASS}

        # A conflict means someone created it meanwhile: what we wanted anyway.
        with contextlib.suppress(JenkinsConflict):
            await self._send("POST", f"{job_url(parent)}createItem", params=query)

    async def _post_config(self, path: ItemPath, config_xml: str) -> None:
        await self._send(
            "POST",
            f"{job_url(path)}config.xml",
            content=config_xml.encode("utf-8"),
            headers={"Content-Type": XML},
        )

    async def _json(self, path: str, *, tree: str | None = None) -> dict[str, Any]:
        params = {} if tree is None else {"tree": tree}
        data = await self._decoded("GET", path, params=params)
        if not isinstance(data, dict):
            raise JenkinsError(f"Jenkins answered GET /{path} with JSON that is not an object")
        return data

    async def _decoded(self, method: str, path: str, **options: Any) -> Any:
        """The JSON body of a request's answer."""
        response = await self._send(method, path, **options)

        try:
            return response.json()
        except ValueError as exc:
            message = f"Jenkins answered {method} /{path} with something that is not JSON"
            raise JenkinsError(message, status=response.status_code) from exc

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        accept: frozenset[int] | set[int] = frozenset(),
    ) -> httpx.Response:
        """One request, with the crumb when needed; an error for anything but 2xx/3xx."""
        needs_crumb = method not in _SAFE_METHODS
        sent_headers = dict(headers or {})
        if needs_crumb:
            sent_headers.update(await self._crumb_header(refresh=False))

        response = await self._exchange(method, path, params, content, data, sent_headers)

        if needs_crumb and response.status_code == 403 and _NO_CRUMB in response.text:
            sent_headers.update(await self._crumb_header(refresh=True))
            response = await self._exchange(method, path, params, content, data, sent_headers)

        if response.status_code >= 400 and response.status_code not in accept:
            cause = httpx.HTTPStatusError(
                f"{response.status_code} for {method} /{path}",
                request=response.request,
                response=response,
            )
            raise translate(method, path, response) from cause
        return response

    async def _exchange(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        content: bytes | None,
        data: dict[str, str] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """One HTTP exchange and its log line; transport errors translated."""
        started = time.monotonic()

        try:
            response = await self._http.request(
                method, path, params=params, content=content, data=data, headers=headers
            )
        except httpx.HTTPError as exc:
            elapsed = (time.monotonic() - started) * 1000
            logger.info("%s /%s failed: %s (%.0f ms)", method, path, type(exc).__name__, elapsed)
            raise translate(method, path, exc) from exc

        elapsed = (time.monotonic() - started) * 1000
        logger.info("%s /%s %s (%.0f ms)", method, path, response.status_code, elapsed)
        return response

    async def _crumb_header(self, *, refresh: bool) -> dict[str, str]:
        """`{field: crumb}`, or {} when the instance issues no crumbs."""
        async with self._crumb_lock:
            if refresh or not self._crumb_known:
                self._crumb = await self._fetch_crumb()
                self._crumb_known = True
            return dict(self._crumb or {})

    async def _fetch_crumb(self) -> dict[str, str] | None:
        try:
            data = await self._json("crumbIssuer/api/json")
        except JenkinsNotFound:
            return None
        field, crumb = data.get("crumbRequestField"), data.get("crumb")
        if not field or not crumb:
            return None
        return {str(field): str(crumb)}

    async def job_activity(self, folder: ItemPath) -> list[dict[str, Any]]:
        """A folder's jobs with their build numbers in one call (`name`, `nextBuildNumber`,
        `lastBuild` as `{"number": n}` or null): cheap enough to poll for missed builds."""
        tree = "jobs[name,nextBuildNumber,lastBuild[number]]"
        data = await self._json(f"{job_url(folder)}api/json", tree=tree)
        return [job for job in data.get("jobs") or [] if isinstance(job, dict)]


def _credential_store(folder: ItemPath) -> str:
    if not names(folder):
        return "credentials/store/system/domain/_/"
    return f"{job_url(folder)}credentials/store/folder/domain/_/"


def _chunk(response: httpx.Response, start: int) -> LogChunk:
    size = response.headers.get("X-Text-Size")
    next_start = int(size) if size is not None else start + len(response.content)
    more = response.headers.get("X-More-Data", "").lower() == "true"
    # Offsets are bytes; Jenkins writes whole lines, so a chunk does not end inside a character.
    return LogChunk(response.text, next_start, more)


__all__ = ["FOLDER_CLASS", "JenkinsClient", "LogChunk", "QueueItem"]
