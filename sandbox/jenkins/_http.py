"""The HTTP face of the stand-in: Stapler-style URL resolution and the endpoints Workbench uses.

Jenkins resolves a URL by walking objects: `/job/ws/job/pipe/7/wfapi/describe` is the folder
`ws`, its job `pipe`, run 7, then the `wfapi/describe` action of that run. `resolve` does the
same walk (folders, jobs, runs by number or permalink such as `lastBuild`), and the endpoint
tables below dispatch on the object found and the rest of the path. Blue Ocean has its own
URL space (`/blue/rest/organizations/jenkins/pipelines/...`) and its own resolver.

Middlewares give every response what Jenkins gives it: the fault knobs first (refusal is
handled by closing the socket, in `_server.py`), the `X-Jenkins` headers, HTTP basic
authentication with the admin's password or API token (401 without), and the CSRF crumb check
on state-changing requests. As in Jenkins since 2.96, API-token requests need no crumb;
requests authenticated by password do, unless the endpoint is CSRF-exempt (the pipeline model
converter, Blue Ocean JSON posts, the CasC reload token endpoint).

Errors are answered as Jenkins answers them: 404 pages, 400 with an `X-Error` header for a
`Failure` (bad name, duplicate item), 409 for a disabled job, 500 for unreadable XML.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from sandbox.jenkins import _casc, _converter, _views
from sandbox.jenkins._jenkins import VERSION, Jenkins, JenkinsError
from sandbox.jenkins._model import Folder, Item, PipelineJob, Run
from sandbox.jenkins._tree import TreeError, apply_tree, parse_tree
from sandbox.jenkins._xml import (
    FOLDER_CLASS,
    ConfigError,
    credential_from_fields,
    parse_credential,
)

if TYPE_CHECKING:
    from sandbox.jenkins._server import JenkinsStandIn

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json"
PERMALINKS: dict[str, Callable[[Run], bool]] = {
    "lastBuild": lambda r: True,
    "lastCompletedBuild": lambda r: not r.building,
    "lastSuccessfulBuild": lambda r: r.result in ("SUCCESS", "UNSTABLE"),
    "lastStableBuild": lambda r: r.result == "SUCCESS",
    "lastFailedBuild": lambda r: r.result == "FAILURE",
    "lastUnstableBuild": lambda r: r.result == "UNSTABLE",
    "lastUnsuccessfulBuild": lambda r: r.result not in (None, "SUCCESS"),
}
USER = web.RequestKey("user", str)
BY_TOKEN = web.RequestKey("by_token", bool)
CSRF_EXEMPT = ("/pipeline-model-converter/", "/reload-configuration-as-code", "/blue/rest/")


def crumb_for(jenkins: Jenkins, user: str) -> str:
    """The crumb of a user (session-independent, as amamba configures the crumb issuer)."""
    return hashlib.sha256(f"{jenkins.crumb_salt}:{user}".encode()).hexdigest()


def _page(status: int, title: str, message: str = "", error: str | None = None) -> web.Response:
    body = f"<html><head><title>{title}</title></head><body><h2>{title}</h2><p>{message}</p>"
    response = web.Response(status=status, text=body + "</body></html>", content_type="text/html")
    if error is not None:
        response.headers["X-Error"] = error
    return response


def not_found() -> web.Response:
    return _page(404, "Not Found", "HTTP ERROR 404 Not Found")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type=JSON_TYPE, charset="utf-8"
    )


def text_response(text: str | bytes, **headers: str) -> web.Response:
    body = text.encode("utf-8") if isinstance(text, str) else text
    response = web.Response(body=body, content_type="text/plain", charset="utf-8")
    response.headers.update(headers)
    return response


def redirect(location: str, status: int = 302) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


@dataclass
class Call:
    """One request, with what every handler needs: base URL, user, the path left to serve."""

    request: web.Request
    jenkins: Jenkins
    rest: list[str]
    ancestors: list[Folder]
    _form: MultiDictProxy[Any] | None = None

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def base(self) -> str:
        return self.jenkins.root_url(f"{self.request.scheme}://{self.request.host}/")

    @property
    def user(self) -> str:
        return str(self.request.get(USER, self.jenkins.admin_user))

    async def form(self) -> MultiDictProxy[Any]:
        if self._form is None:
            if self.request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                self._form = await self.request.post()
            else:
                self._form = MultiDictProxy(MultiDict())
        return self._form

    async def param(self, name: str) -> str | None:
        if name in self.request.query:
            return self.request.query[name]
        value = (await self.form()).get(name)
        return None if value is None else str(value)

    def api(self, producer: Callable[[int], Any]) -> web.Response:
        """An `api/json` answer honouring `tree=` and `depth=`."""
        tree_text = self.request.query.get("tree")
        try:
            if tree_text:
                tree = parse_tree(tree_text)
                return json_response(apply_tree(producer(tree.depth()), tree))
            return json_response(producer(int(self.request.query.get("depth", "0") or 0)))
        except (TreeError, ValueError) as exc:
            return _page(400, "Bad Request", str(exc))


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


def resolve(jenkins: Jenkins, segments: list[str]) -> tuple[Item | Run, list[str], list[Folder]]:
    """Walk `job/<name>` segments (and `view/<name>`, run numbers, permalinks)."""
    current: Item | Run = jenkins.root
    ancestors: list[Folder] = []
    index = 0

    while index < len(segments):
        segment = segments[index]
        if isinstance(current, Folder):
            if segment == "job" and index + 1 < len(segments):
                child = current.children.get(segments[index + 1])
                if child is None:
                    raise JenkinsError(404, "Not Found")
                if isinstance(child, Folder):
                    ancestors.append(child)
                current = child
                index += 2
                continue
            if segment == "view" and index + 1 < len(segments):
                index += 2
                continue
        if isinstance(current, PipelineJob):
            run: Run | None = None
            if segment.isdigit():
                run = current.runs.get(int(segment))
                if run is None:
                    raise JenkinsError(404, "Not Found")
            elif segment in PERMALINKS:
                run = current.last(PERMALINKS[segment])
                if run is None:
                    raise JenkinsError(404, "Not Found")
            if run is not None:
                current = run
                index += 1
                continue
        break

    return current, segments[index:], ancestors


def split_path(raw_path: str) -> list[str]:
    path = raw_path.split("?", 1)[0]
    return [unquote(s) for s in path.split("/") if s]


class Endpoints:
    """Every endpoint, grouped by the object it hangs off."""

    def __init__(self, standin: JenkinsStandIn) -> None:
        self.standin = standin
        self.jenkins = standin.jenkins

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        segments = split_path(request.raw_path)
        try:
            if segments[:3] == ["blue", "rest", "organizations"]:
                return await self.blue(request, segments[3:])
            target, rest, ancestors = resolve(self.jenkins, segments)
            call = Call(request, self.jenkins, rest, ancestors)
            if isinstance(target, Run):
                return await self.on_run(call, target)
            if isinstance(target, PipelineJob):
                return await self.on_job(call, target)
            assert isinstance(target, Folder)
            if target.parent is None:
                return await self.on_root(call)
            return await self.on_folder(call, target)
        except JenkinsError as exc:
            if exc.status == 404:
                return not_found()
            if exc.status == 400:
                return _page(400, "Error", exc.message, error=exc.message)
            return _page(exc.status, "Error", exc.message)

    # Shared by every item.

    async def on_item(self, call: Call, item: Item) -> web.StreamResponse | None:
        rest, method = call.rest, call.method
        if rest in ([], ["configure"]) and method in ("GET", "HEAD"):
            return _page(200, item.full_display_name or "Jenkins")
        if (rest == [] and method == "DELETE") or (rest == ["doDelete"] and method == "POST"):
            self.jenkins.delete_item(item, origin=call.ancestors)
            assert item.parent is not None
            return redirect(call.base + item.parent.url)
        if rest == ["config.xml"]:
            if method == "GET":
                return web.Response(text=item.xml, content_type="application/xml", charset="utf-8")
            if method == "POST":
                self.jenkins.update_item(item, await call.request.text(), origin=call.ancestors)
                return web.Response(status=200)
        if rest in (["doRename"], ["confirmRename"]) and method == "POST":
            new_name = await call.param("newName")
            self.jenkins.rename_item(item, (new_name or "").strip())
            return redirect(call.base + item.url)
        if rest == ["move", "move"] and method == "POST":
            destination = self.jenkins.lookup(str(await call.param("destination") or ""))
            if not isinstance(destination, Folder):
                raise JenkinsError(400, "No such destination")
            self.jenkins.move_item(item, destination)
            return redirect(call.base + item.url)
        if rest == ["submitDescription"] and method == "POST":
            description = str(await call.param("description") or "")
            self.jenkins.set_description(item, description, origin=call.ancestors)
            return redirect(call.base + item.url)
        if rest == ["description"] and method == "GET":
            return text_response(item.description)
        return None

    # Jenkins itself.

    async def on_root(self, call: Call) -> web.StreamResponse:
        rest, method = call.rest, call.method
        jenkins = self.jenkins
        if rest == [] and method in ("GET", "HEAD"):
            return _page(200, "Dashboard [Jenkins]")
        if rest == ["api", "json"]:
            return call.api(lambda depth: jenkins.exporter.root(call.base, depth))
        if rest == ["crumbIssuer", "api", "json"]:
            if not jenkins.settings.crumbs:
                return not_found()
            return call.api(
                lambda depth: {
                    "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                    "crumb": crumb_for(jenkins, call.user),
                    "crumbRequestField": "Jenkins-Crumb",
                }
            )
        if rest in (["me", "api", "json"], ["user", jenkins.admin_user, "api", "json"]):
            return call.api(lambda depth: jenkins.exporter.user(call.base))
        if rest == ["whoAmI", "api", "json"]:
            return call.api(
                lambda depth: {
                    "_class": "hudson.security.WhoAmI",
                    "anonymous": False,
                    "authenticated": True,
                    "authorities": ["authenticated"],
                    "name": call.user,
                }
            )
        if rest[:1] == ["queue"]:
            return await self.on_queue(call)
        if rest[:1] == ["computer"]:
            return self.on_computer(call)
        if rest == ["pluginManager", "api", "json"]:
            return call.api(lambda depth: plugins())
        if rest == ["createItem"] and method == "POST":
            return await self.create_item(call, jenkins.root)
        if rest[:3] == ["credentials", "store", "system"]:
            return await self.on_store(call, jenkins.root, rest[3:], "credentials/store/system/")
        if rest[:1] == ["configuration-as-code"]:
            return await self.on_casc(call, rest[1:])
        if rest[:1] == ["reload-configuration-as-code"]:
            return await self.reload_token(call)
        if rest[:1] == ["pipeline-model-converter"]:
            return await self.on_converter(call, rest[1:])
        return not_found()

    async def on_queue(self, call: Call) -> web.StreamResponse:
        rest, jenkins = call.rest, self.jenkins
        if rest == ["queue", "api", "json"]:
            return call.api(lambda depth: jenkins.exporter.queue(call.base))
        if rest == ["queue", "cancelItem"] and call.method == "POST":
            raw = await call.param("id") or ""
            item = jenkins.queue_item(int(raw)) if raw.isdigit() else None
            if item is None or not jenkins.cancel_queue_item(item):
                return not_found()
            return redirect(call.base + "queue/")
        if len(rest) == 5 and rest[1] == "item" and rest[3:] == ["api", "json"]:
            item = jenkins.queue_item(int(rest[2])) if rest[2].isdigit() else None
            if item is None:
                return not_found()
            return call.api(lambda depth: jenkins.exporter.queue_item(item, call.base, depth))
        return not_found()

    def on_computer(self, call: Call) -> web.StreamResponse:
        rest, exporter = call.rest, self.jenkins.exporter
        if rest == ["computer", "api", "json"]:
            return call.api(lambda depth: exporter.computer_set(call.base, depth))
        if (
            len(rest) == 4
            and rest[2:] == ["api", "json"]
            and rest[1]
            in (
                "(built-in)",
                "(master)",
                "built-in",
            )
        ):
            return call.api(lambda depth: exporter.computer(call.base, depth))
        return not_found()

    async def create_item(self, call: Call, parent: Folder) -> web.StreamResponse:
        """`createItem`: from a config.xml body, a copy, or a folder created by mode."""
        name = call.request.query.get("name") or await call.param("name") or ""
        mode = await call.param("mode")
        origin = call.ancestors if parent.parent is not None else []
        if mode == "copy":
            source = str(await call.param("from") or "")
            item = self.jenkins.copy_item(parent, name, source, origin=origin)
            return redirect(call.base + item.url + "configure")
        if mode == FOLDER_CLASS:
            item = self.jenkins.create_folder(parent, name, origin=origin)
            return redirect(call.base + item.url + "configure")
        if call.request.content_type not in ("application/xml", "text/xml"):
            raise JenkinsError(400, "No mode given")
        self.jenkins.create_item(parent, name, await call.request.text(), origin=origin)
        return web.Response(status=200)

    # Folders.

    async def on_folder(self, call: Call, folder: Folder) -> web.StreamResponse:
        rest = call.rest
        if rest == ["api", "json"]:
            return call.api(lambda depth: self.jenkins.exporter.folder(folder, call.base, depth))
        if rest == ["createItem"] and call.method == "POST":
            return await self.create_item(call, folder)
        if rest[:3] == ["credentials", "store", "folder"]:
            return await self.on_store(
                call, folder, rest[3:], f"{folder.url}credentials/store/folder/"
            )
        answered = await self.on_item(call, folder)
        return answered if answered is not None else not_found()

    # Jobs.

    async def on_job(self, call: Call, job: PipelineJob) -> web.StreamResponse:
        rest, method, jenkins = call.rest, call.method, self.jenkins
        if rest == ["api", "json"]:
            if "allBuilds" in call.request.query.get("tree", ""):
                return call.api(
                    lambda depth: {
                        **jenkins.exporter.job(job, call.base, depth),
                        "allBuilds": jenkins.exporter.all_builds(job, call.base, depth),
                    }
                )
            return call.api(lambda depth: jenkins.exporter.job(job, call.base, depth))
        if rest in (["build"], ["buildWithParameters"]) and method == "POST":
            return await self.build(call, job, parameterized=rest == ["buildWithParameters"])
        if rest in (["enable"], ["disable"]) and method == "POST":
            jenkins.set_disabled(job, rest == ["disable"], origin=call.ancestors)
            return redirect(call.base + job.url)
        if rest in (["wfapi"], ["wfapi", "describe"]):
            return json_response(_views.job_describe(job))
        if rest == ["wfapi", "runs"]:
            return self.wfapi_runs(call, job)
        answered = await self.on_item(call, job)
        return answered if answered is not None else not_found()

    async def build(self, call: Call, job: PipelineJob, *, parameterized: bool) -> web.Response:
        """`build` / `buildWithParameters`: 201 with the queue item's URL in `Location`."""
        submitted: dict[str, str] | None = None
        if parameterized:
            if not job.config.parameters:
                raise JenkinsError(500, "This build is not parameterized!")
            form = await call.form()
            submitted = {k: str(v) for k, v in form.items()}
            submitted.update(call.request.query)
        elif job.config.parameters:
            raw = await call.param("json")
            if raw is None:
                raise JenkinsError(400, "This page expects a form submission")
            try:
                entries = json.loads(raw).get("parameter", [])
            except (ValueError, AttributeError) as exc:
                raise JenkinsError(400, "Invalid parameter JSON") from exc
            entries = [entries] if isinstance(entries, dict) else entries
            submitted = {str(e["name"]): str(e.get("value", "")) for e in entries}

        delay_text = await call.param("delay")
        delay = float(delay_text.removesuffix("sec")) if delay_text else None
        token = await call.param("token")
        cause: dict[str, Any] = {
            "_class": "hudson.model.Cause$UserIdCause",
            "shortDescription": f"Started by user {call.user}",
            "userId": call.user,
            "userName": call.user,
        }
        if token:
            host = call.request.remote or "127.0.0.1"
            cause = {
                "_class": "hudson.model.Cause$RemoteCause",
                "addr": host,
                "note": None,
                "shortDescription": f"Started by remote host {host}",
            }
        item = self.jenkins.schedule(job, submitted, cause, delay=delay)
        return web.Response(status=201, headers={"Location": f"{call.base}{item.url}"})

    def wfapi_runs(self, call: Call, job: PipelineJob) -> web.Response:
        now = self.jenkins.clock.now_ms()
        runs = job.builds()
        since = call.request.query.get("since", "")
        if since.startswith("#") and since[1:].isdigit():
            runs = [r for r in runs if r.number >= int(since[1:])]
        full = call.request.query.get("fullStages") == "true"
        return json_response([_views.run_describe(r, now, full_stages=full) for r in runs[:10]])

    # Runs.

    async def on_run(self, call: Call, run: Run) -> web.StreamResponse:
        rest, method, jenkins = call.rest, call.method, self.jenkins
        now = jenkins.clock.now_ms()
        if rest == [] and method in ("GET", "HEAD"):
            return _page(200, f"{run.job.full_display_name} #{run.number}")
        if rest == ["api", "json"]:
            return call.api(lambda depth: jenkins.exporter.run(run, call.base, depth))
        if rest == ["consoleText"]:
            return text_response(bytes(run.log))
        if rest in (["logText", "progressiveText"], ["logText", "progressiveHtml"]):
            return self.progressive(call, bytes(run.log), more=run.building)
        if rest in (["stop"], ["term"], ["kill"]) and method == "POST":
            jenkins.stop(run, rest[0], call.user)
            return redirect(call.base + run.url)
        if rest == ["doDelete"] and method == "POST":
            jenkins.delete_run(run)
            return redirect(call.base + run.job.url)
        if rest == ["submitDescription"] and method == "POST":
            run.description = str(await call.param("description") or "") or None
            return redirect(call.base + run.url)
        if rest == ["testReport", "api", "json"]:
            if run.tests is None:
                return not_found()
            return call.api(lambda depth: jenkins.exporter.test_report(run))
        if rest[:1] == ["artifact"]:
            return self.artifact(run, "/".join(rest[1:]))
        if rest[:1] == ["wfapi"]:
            return await self.run_wfapi(call, run, rest[1:], now)
        if rest[:2] == ["execution", "node"] and len(rest) >= 3:
            return self.flow_node(call, run, rest[2], rest[3:], now)
        if rest[:1] == ["input"]:
            return await self.on_input(call, run, rest[1:])
        return not_found()

    def progressive(self, call: Call, log: bytes, *, more: bool) -> web.Response:
        start = int(call.request.query.get("start", "0") or 0)
        start = min(max(start, 0), len(log))
        headers = {"X-Text-Size": str(len(log))}
        if more:
            headers["X-More-Data"] = "true"
        return text_response(log[start:], **headers)

    def artifact(self, run: Run, path: str) -> web.StreamResponse:
        if path == "*zip*/archive.zip":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for name, content in run.artifacts.items():
                    archive.writestr(f"archive/{name}", content)
            return web.Response(body=buffer.getvalue(), content_type="application/zip")
        if path not in run.artifacts:
            return not_found()
        return web.Response(body=run.artifacts[path], content_type="application/octet-stream")

    async def run_wfapi(
        self, call: Call, run: Run, rest: list[str], now: int
    ) -> web.StreamResponse:
        if rest in ([], ["describe"]):
            return json_response(_views.run_describe(run, now, full_stages=False))
        if rest == ["pendingInputActions"]:
            return json_response(_views.pending_inputs(run))
        if rest == ["nextPendingInputAction"]:
            pending = _views.pending_inputs(run)
            return json_response(pending[0] if pending else None)
        if rest == ["artifacts"]:
            return json_response(_views.artifacts(run))
        if rest == ["changesets"]:
            return json_response([])
        if rest == ["inputSubmit"] and call.method == "POST":
            input_id = str(await call.param("inputId") or "")
            form = await call.form()
            self.jenkins.submit_input(
                run,
                input_id,
                proceed="abort" not in form,
                user=call.user,
                values=_input_values(form.get("json")),
            )
            return web.Response(status=200)
        return not_found()

    def flow_node(
        self, call: Call, run: Run, node_id: str, rest: list[str], now: int
    ) -> web.StreamResponse:
        node = run.nodes.get(node_id)
        if node is None:
            return not_found()
        if rest == ["wfapi", "describe"]:
            if node.kind == "step":
                return json_response(_views.atom_describe(run, node, now))
            return json_response(_views.stage_describe(run, node, now, with_steps=True))
        if rest == ["wfapi", "log"]:
            return json_response(_views.node_log(run, node))
        if rest == ["log"]:
            return text_response(bytes(node.log))
        return not_found()

    async def on_input(self, call: Call, run: Run, rest: list[str]) -> web.StreamResponse:
        if rest == [] or rest == ["api", "json"]:
            return json_response(_views.pending_inputs(run))
        if len(rest) != 2 or call.method != "POST":
            return not_found()
        input_id, action = rest
        form = await call.form()
        if action in ("proceedEmpty", "proceed"):
            proceed = True
        elif action == "submit":
            proceed = "proceed" in form or "proceed" in call.request.query
        elif action == "abort":
            proceed = False
        else:
            return not_found()
        self.jenkins.submit_input(
            run, input_id, proceed=proceed, user=call.user, values=_input_values(form.get("json"))
        )
        return redirect(call.base + run.url)

    # Credentials stores.

    async def on_store(
        self, call: Call, folder: Folder, rest: list[str], store_url: str
    ) -> web.StreamResponse:
        exporter, base = self.jenkins.exporter, call.base
        if rest in ([], ["api", "json"]):
            return call.api(lambda depth: exporter.credentials_store(folder, base, store_url))
        if rest == ["createDomain"] and call.method == "POST":
            from sandbox.jenkins._xml import parse_root

            name = (parse_root(await call.request.text()).findtext("name") or "").strip()
            if not name or name in folder.credentials.domains:
                raise JenkinsError(409, f"Domain {name} cannot be created")
            folder.credentials.domains[name] = {}
            return web.Response(status=200)
        if len(rest) < 2 or rest[0] != "domain":
            return not_found()
        domain, rest = rest[1], rest[2:]
        if domain not in folder.credentials.domains:
            return not_found()
        if rest in ([], ["api", "json"]):
            return call.api(
                lambda depth: exporter.credentials_domain(folder, domain, base, store_url)
            )
        if rest == ["createCredentials"] and call.method == "POST":
            return await self.create_credentials(call, folder, domain)
        if len(rest) >= 2 and rest[0] == "credential":
            return await self.on_credential(call, folder, domain, rest[1], rest[2:], store_url)
        return not_found()

    async def create_credentials(self, call: Call, folder: Folder, domain: str) -> web.Response:
        try:
            if call.request.content_type in ("application/xml", "text/xml"):
                credential = parse_credential(await call.request.text())
            else:
                raw = json.loads(str(await call.param("json") or "{}"))
                values = dict(raw.get("credentials") or {})
                class_name = values.pop("$class", None) or values.pop("stapler-class", "")
                credential = credential_from_fields(str(class_name), values)
        except (ConfigError, ValueError) as exc:
            raise JenkinsError(500, str(exc)) from exc
        self.jenkins.add_credential(folder, domain, credential)
        if call.request.content_type in ("application/xml", "text/xml"):
            return web.Response(status=200)
        if "application/json" in call.request.headers.get("Accept", ""):
            return json_response({"message": "Created", "notificationType": "SUCCESS"})
        return redirect(f"{call.base}{folder.url}credentials/store/")

    async def on_credential(
        self,
        call: Call,
        folder: Folder,
        domain: str,
        credential_id: str,
        rest: list[str],
        store_url: str,
    ) -> web.StreamResponse:
        credential = folder.credentials.domains[domain].get(credential_id)
        if credential is None:
            return not_found()
        domain_url = f"{store_url}domain/{domain}/credential/"
        if rest in ([], ["api", "json"]) and call.method in ("GET", "HEAD"):
            return call.api(
                lambda depth: self.jenkins.exporter.credential(credential, call.base, domain_url)
            )
        if rest == ["config.xml"]:
            if call.method == "GET":
                return web.Response(
                    text=credential.redacted_xml(), content_type="application/xml", charset="utf-8"
                )
            if call.method == "POST":
                try:
                    updated = parse_credential(await call.request.text())
                except ConfigError as exc:
                    raise JenkinsError(500, str(exc)) from exc
                if updated.id != credential_id:
                    self.jenkins.remove_credential(folder, domain, credential_id)
                self.jenkins.replace_credential(folder, domain, updated)
                return web.Response(status=200)
            if call.method == "DELETE":
                self.jenkins.remove_credential(folder, domain, credential_id)
                return web.Response(status=200)
        if rest == ["doDelete"] and call.method == "POST":
            self.jenkins.remove_credential(folder, domain, credential_id)
            return redirect(f"{call.base}{store_url}domain/{domain}/")
        return not_found()

    # Configuration as Code.

    async def on_casc(self, call: Call, rest: list[str]) -> web.StreamResponse:
        standin, method = self.standin, call.method
        if rest == ["export"] and method == "POST":
            return web.Response(text=_casc.export(self.jenkins), content_type="application/x-yaml")
        if rest == ["viewExport"]:
            return _page(200, "Configuration as Code export", _casc.export(self.jenkins))
        if rest == ["check"] and method == "POST":
            problems = _casc.check(await call.request.text())
            return json_response(problems, status=400 if problems else 200)
        if rest == ["apply"] and method == "POST":
            try:
                _casc.apply(self.jenkins, await call.request.text())
            except _casc.ApplyError as exc:  # passed the check; Jenkins's error page
                return _page(500, "Configuration as Code error", exc.message)
            except _casc.CascError as exc:
                return json_response([{"line": exc.line or -1, "message": exc.message}], 400)
            return web.Response(status=200)
        if rest == ["reload"] and method == "POST":
            try:
                standin.reload_casc()
            except _casc.CascError as exc:
                return _page(500, "Configuration as Code error", exc.message)
            return redirect(call.base + "manage/configuration-as-code/")
        if rest == ["replace"] and method == "POST":
            source = str(await call.param("_.newSource") or await call.param("newSource") or "")
            standin.casc_path = source or standin.casc_path
            try:
                standin.reload_casc()
            except _casc.CascError as exc:
                return _page(500, "Configuration as Code error", exc.message)
            return redirect(call.base + "manage/configuration-as-code/")
        if rest == ["checkNewSource"] and method == "POST":
            problem = standin.check_casc_source(str(await call.param("newSource") or ""))
            if problem:
                return web.Response(
                    text=f'<div class="error">{problem}</div>', content_type="text/html"
                )
            return web.Response(text="<div/>", content_type="text/html")
        return not_found()

    async def reload_token(self, call: Call) -> web.StreamResponse:
        expected = self.standin.casc_reload_token
        if not expected:
            return not_found()
        if call.request.query.get("casc-reload-token") != expected:
            return _page(401, "Unauthorized", "Invalid token")
        try:
            self.standin.reload_casc()
        except _casc.CascError as exc:
            return _page(500, "Configuration as Code error", exc.message)
        return web.Response(status=200)

    # The pipeline model converter.

    async def on_converter(self, call: Call, rest: list[str]) -> web.StreamResponse:
        if call.method != "POST" or len(rest) != 1:
            return not_found()
        action = rest[0]
        form = await call.form()

        def ok(data: dict[str, Any]) -> web.Response:
            return json_response({"status": "ok", "data": data})

        def failure(message: str) -> web.Response:
            return ok({"result": "failure", "errors": [{"error": message}]})

        try:
            if action in ("toJson", "validateJenkinsfile"):
                model = _converter.to_model(str(form.get("jenkinsfile", "")))
                if action == "toJson":
                    return ok({"result": "success", "json": model})
                return ok({"result": "success"})
            if action in ("toJenkinsfile", "validateJson"):
                model = json.loads(str(form.get("json", "")))
                if not isinstance(model, dict) or "pipeline" not in model:
                    return failure("JSON must have a top-level 'pipeline' object")
                if action == "toJenkinsfile":
                    text = _converter.to_jenkinsfile(model)
                    return ok({"result": "success", "jenkinsfile": text})
                return ok({"result": "success"})
            if action == "validate":
                _converter.to_model(str(form.get("jenkinsfile", "")))
                return text_response("Jenkinsfile successfully validated.\n")
        except _converter.ConversionFailed as exc:
            where = f" @ line {exc.line}, column {exc.column}." if exc.line else ""
            message = f"WorkflowScript: {exc.line or 1}: {exc.message}{where}"
            if action == "validate":
                return text_response(f"Errors encountered validating Jenkinsfile:\n{message}\n")
            return failure(message)
        except ValueError as exc:
            return failure(str(exc))
        return not_found()

    # Blue Ocean.

    async def blue(self, request: web.Request, segments: list[str]) -> web.StreamResponse:
        if segments[:2] != ["jenkins", "pipelines"]:
            return not_found()
        names: list[str] = []
        rest = segments[1:]
        while rest[:1] == ["pipelines"] and len(rest) >= 2:
            names.extend(n for n in rest[1].split("/") if n)
            rest = rest[2:]
        job = self.jenkins.lookup("/".join(names)) if names else None
        if not isinstance(job, PipelineJob):
            return not_found()
        now = self.jenkins.clock.now_ms()
        if rest in (["runs"],):
            return json_response([_views.blue_run(r, now) for r in job.builds()])
        if len(rest) < 2 or rest[0] != "runs" or not rest[1].isdigit():
            return not_found()
        run = job.runs.get(int(rest[1]))
        if run is None:
            return not_found()
        return await self.blue_run(request, run, rest[2:], now)

    async def blue_run(
        self, request: web.Request, run: Run, rest: list[str], now: int
    ) -> web.StreamResponse:
        prefix = f"{_views.blue_prefix(run.job)}runs/{run.number}/"
        query_start = int(request.query.get("start", "0") or 0)
        fake = Call(request, self.jenkins, rest, [])
        if rest == [] and request.method == "GET":
            return json_response(_views.blue_run(run, now))
        if rest == ["stop"] and request.method in ("PUT", "POST"):
            self.jenkins.stop(run, "stop", fake.user)
            state = _views.blue_run(run, now)
            return json_response({"result": state["result"], "state": state["state"]})
        if rest == ["log"]:
            return self.blue_log(bytes(run.log), query_start, more=run.building)
        if rest == ["nodes"]:
            return json_response(_views.blue_nodes(run, now))
        if rest == ["steps"]:
            return json_response(_views.blue_steps(run, now, None, f"{prefix}steps/"))
        if rest[:1] == ["steps"] and len(rest) >= 2:
            return await self.blue_step(request, run, None, rest[1], rest[2:], now)
        if rest[:1] == ["nodes"] and len(rest) >= 2:
            node = run.nodes.get(rest[1])
            if node is None or node.kind == "step":
                return not_found()
            tail = rest[2:]
            if tail == []:
                described = [n for n in _views.blue_nodes(run, now) if n["id"] == node.id]
                return json_response(described[0]) if described else not_found()
            if tail == ["steps"]:
                base = f"{prefix}nodes/{node.id}/steps/"
                return json_response(_views.blue_steps(run, now, node, base))
            if tail == ["log"]:
                steps = [s for s in run.nodes.values() if s.kind == "step" and s.parent == node.id]
                text = b"".join(bytes(s.log) for s in steps)
                return self.blue_log(text, query_start, more=node.state == "running")
            if tail[:1] == ["steps"] and len(tail) >= 2:
                return await self.blue_step(request, run, node, tail[1], tail[2:], now)
        return not_found()

    async def blue_step(
        self, request: web.Request, run: Run, node: Any, step_id: str, rest: list[str], now: int
    ) -> web.StreamResponse:
        step = run.nodes.get(step_id)
        if step is None or step.kind != "step" or (node is not None and step.parent != node.id):
            return not_found()
        if rest == ["log"]:
            start = int(request.query.get("start", "0") or 0)
            return self.blue_log(bytes(step.log), start, more=step.state != "finished")
        if rest == [] and request.method == "GET":
            return json_response(_views.blue_step(run, step, now, ""))
        if rest == [] and request.method == "POST":
            body = await request.json()
            user = request.get(USER, self.jenkins.admin_user)
            values = {str(p["name"]): p.get("value") for p in body.get("parameters", [])}
            self.jenkins.submit_input(
                run, str(body.get("id")), proceed=not body.get("abort"), user=user, values=values
            )
            return json_response({})
        return not_found()

    def blue_log(self, text: bytes, start: int, *, more: bool) -> web.Response:
        start = min(max(start, 0), len(text))
        headers = {"X-Text-Size": str(len(text))}
        if more:
            headers["X-More-Data"] = "true"
        return text_response(text[start:], **headers)


def _input_values(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        entries = json.loads(str(raw)).get("parameter", [])
    except (ValueError, AttributeError):
        return {}
    entries = [entries] if isinstance(entries, dict) else entries
    return {str(e.get("name")): e.get("value") for e in entries if isinstance(e, dict)}


def plugins() -> dict[str, Any]:
    """The plugins a Workbench Jenkins bundle has, as `pluginManager/api/json` lists them."""
    names = {
        "workflow-job": "1385.vb_58b_86ea_fff1",
        "workflow-cps": "3837.v305192405b_c0",
        "pipeline-model-definition": "2.2175.v76a_fff0a_2618",
        "pipeline-stage-view": "2.34",
        "blueocean": "1.27.9",
        "credentials": "1311.vcf0a_900b_37c2",
        "plain-credentials": "143.v1b_df8b_d3b_e48",
        "configuration-as-code": "1775.v810dc950b_514",
        "cloudbees-folder": "6.928.v7c780211d66e",
        "generic-event": "45.v2ae6cdb521eb",
        "git": "5.2.1",
        "junit": "1256.v002534a_5f33e",
    }
    return {
        "_class": "hudson.LocalPluginManager",
        "plugins": [
            {
                "active": True,
                "enabled": True,
                "hasUpdate": False,
                "shortName": name,
                "longName": name,
                "version": version,
            }
            for name, version in names.items()
        ],
    }


# Middlewares.


def make_app(standin: JenkinsStandIn) -> web.Application:
    """A fresh aiohttp application over the stand-in's (kept) state."""
    endpoints = Endpoints(standin)
    jenkins = standin.jenkins

    @web.middleware
    async def faults(request: web.Request, handler: Any) -> web.StreamResponse:
        knobs = standin.knobs
        if knobs.delay > 0:
            import asyncio

            await asyncio.sleep(knobs.delay)
        if knobs.status is not None and knobs.take_failure():
            return _page(knobs.status, "Error", "failure injected by the test knob")
        response: web.StreamResponse = await handler(request)
        return response

    @web.middleware
    async def headers(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.monotonic()
        response: web.StreamResponse = await handler(request)
        response.headers["X-Jenkins"] = VERSION
        response.headers["X-Hudson"] = "1.395"
        response.headers["X-Jenkins-Session"] = standin.session_id
        logger.info(
            "%s %s %s (%.0f ms)",
            request.method,
            request.path_qs,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response

    @web.middleware
    async def authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/reload-configuration-as-code"):
            response: web.StreamResponse = await handler(request)
            return response
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return _unauthorized("Authentication required")
        try:
            user, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return _unauthorized("Invalid authorization header")
        if user != jenkins.admin_user or secret not in (jenkins.admin_password, jenkins.api_token):
            return _unauthorized(f"Invalid password/token for user: {user}")
        request[USER] = user
        request[BY_TOKEN] = secret == jenkins.api_token
        response = await handler(request)
        return response

    @web.middleware
    async def crumbs(request: web.Request, handler: Any) -> web.StreamResponse:
        needs_crumb = (
            jenkins.settings.crumbs
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and not request.get(BY_TOKEN, False)
            and not request.path.startswith(CSRF_EXEMPT)
        )
        if needs_crumb:
            expected = crumb_for(jenkins, request.get(USER, ""))
            given = request.headers.get("Jenkins-Crumb")
            if given is None and request.content_type == "application/x-www-form-urlencoded":
                given = str((await request.post()).get("Jenkins-Crumb", "")) or None
            if given != expected:
                return _page(
                    403,
                    "Error 403 No valid crumb was included in the request",
                    "No valid crumb was included in the request",
                )
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[headers, faults, authenticate, crumbs])
    app.router.add_route("*", "/{tail:.*}", endpoints.dispatch)
    return app


def _unauthorized(message: str) -> web.Response:
    response = _page(401, "Error 401 Unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Basic realm="Jenkins"'
    return response
