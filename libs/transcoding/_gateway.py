"""The REST side of the gRPC services: an ASGI gateway installed in a FastAPI app.

At construction the gateway reads the `google.api.http` rules of every service its handlers
serve (from the default descriptor pool, filled when the generated `_pb2` modules are
imported), compiles them into a router, and builds the OpenAPI document. A request then goes:

1. route: `Router.match(verb, path)`; no template for the path is 404 NOT_FOUND, a template
   for another verb is grpc-gateway's 405, answered as 501 UNIMPLEMENTED. Two defaults of
   grpc-gateway v2's ServeMux (both off only with `WithDisablePathLengthFallback`) are kept,
   for a POST whose Content-Type is exactly `application/x-www-form-urlencoded`: a non-empty
   `X-HTTP-Method-Override` header routes it as that method (upper-cased), and one matching
   no POST template but a GET one is served by the GET binding (never by any other verb:
   grpc-gateway #3272). Either way its body is read as form fields, before the URL's query
   parameters, and no JSON body is read: Go's `ParseForm` has consumed it;
2. decode: body (size-capped), path variables, query parameters into the request message;
   any problem is a 400 INVALID_ARGUMENT that never reaches interceptors or handlers;
   such a refusal, like a routing error, is given to `on_refused` (by default one INFO log
   line), since no interceptor will log or count it;
3. dispatch: interceptors, then the handler, in-process (`_dispatch.Dispatcher`);
4. encode: the response (or its `response_body` field) as proto3 JSON, or the error as a
   `google.rpc.Status` body with the HTTP status of the one table in `_status`.

The gateway runs as a pure ASGI middleware in front of the FastAPI app rather than as one
FastAPI route per binding: the app keeps `/openapi.json`, `/docs` and whatever routes its
owner adds, while transcoded calls skip FastAPI's per-route dependency machinery, which would
cost more than the whole transcoding step (the apiserver must stay within 1.3x a direct gRPC
call).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import grpc
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from google.protobuf import descriptor, descriptor_pool, message
from starlette.exceptions import HTTPException as StarletteHTTPException

from libs.common.background import cancel_and_wait
from libs.transcoding._codec import (
    apply_path,
    apply_query,
    encode_response,
    encode_stream_result,
    parse_body,
)
from libs.transcoding._context import CallDetails, _ContextBase
from libs.transcoding._dispatch import Dispatcher
from libs.transcoding._headers import header_value, incoming_metadata, outgoing_headers
from libs.transcoding._openapi import build_openapi
from libs.transcoding._router import Match, Router
from libs.transcoding._rules import Binding, bindings_for_services
from libs.transcoding._status import (
    GatewayError,
    dump_json,
    error_body,
    invalid_argument,
    status_dict,
)

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_PATH_VALUE_LENGTH = 1024
_JSON = (b"content-type", b"application/json")
_FORM = b"application/x-www-form-urlencoded"
_STARTED = "libs.transcoding.started"  # scope key: when the gateway first saw the request
UNROUTED = "-"  # the method of a refusal whose path and verb match no binding


@dataclass(frozen=True)
class Refusal:
    """A request the gateway answered itself: no interceptor or handler saw it."""

    verb: str
    path: str
    method: str  # the gRPC method it was for, `UNROUTED` when no binding matched
    code: grpc.StatusCode
    http_status: int
    seconds: float


def log_refusal(refusal: Refusal) -> None:
    """The one log line of a refused request (the default `on_refused`)."""
    logger.info(
        "rest %s %r refused: %d %s %s %.1fms",
        refusal.verb,
        refusal.path[:200],
        refusal.http_status,
        refusal.code.name,
        refusal.method,
        refusal.seconds * 1e3,
    )


def handlers_from_servicer(add_to_server: Callable[[Any, Any], None], servicer: Any) -> list[Any]:
    """The generic handlers a generated `add_XServicer_to_server` function would register.

    `handlers_from_servicer(pipelines_pb2_grpc.add_PipelinesServicer_to_server, service)`
    gives what to pass to both `Gateway(handlers=...)` and
    `grpc.aio.server().add_generic_rpc_handlers(...)`.
    """
    recorder = _HandlerRecorder()
    add_to_server(servicer, recorder)
    return recorder.handlers


class _HandlerRecorder:
    """Stands in for a server to collect what generated code registers."""

    def __init__(self) -> None:
        self.handlers: list[Any] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[Any]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:
        """Registered handlers duplicate the generic ones; nothing more to record."""


class Gateway:
    """REST transcoding of every `google.api.http`-bound method of the given handlers.

    `handlers` are `grpc.GenericRpcHandler`s, the objects given to
    `grpc.aio.Server.add_generic_rpc_handlers` (see `handlers_from_servicer`); the services
    they serve are found through their `service_name()`, or named in `services` for generic
    handlers that do not tell. `interceptors` are the server's `grpc.aio.ServerInterceptor`s.
    `on_refused` is told of every request answered before dispatch (bad input, an unknown
    path or verb), which the interceptors never see.
    """

    def __init__(
        self,
        handlers: Sequence[Any],
        *,
        interceptors: Sequence[Any] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_path_value_length: int = DEFAULT_MAX_PATH_VALUE_LENGTH,
        services: Sequence[str] = (),
        pool: descriptor_pool.DescriptorPool | None = None,
        executor: Executor | None = None,
        on_refused: Callable[[Refusal], None] = log_refusal,
        title: str = "Workbench API",
        version: str = "0.1.0",
    ) -> None:
        self.on_refused = on_refused
        self.max_body_bytes = max_body_bytes
        self.max_path_value_length = max_path_value_length
        self.title = title
        self.version = version

        found = _service_descriptors(handlers, services, pool or descriptor_pool.Default())
        self.bindings: tuple[Binding, ...] = tuple(bindings_for_services(found))
        self._router: Router[Binding] = Router()
        for binding in self.bindings:
            self._router.add(binding.http_method, binding.template, binding)

        self._dispatcher = Dispatcher(handlers, interceptors, executor)
        self._openapi: dict[str, Any] | None = None
        self._app: FastAPI | None = None
        logger.info("transcoding %d HTTP bindings of %d services", len(self.bindings), len(found))

    # --- integration ----------------------------------------------------------------------

    @property
    def app(self) -> FastAPI:
        """A FastAPI app serving every binding, `/openapi.json` and `/docs`."""
        if self._app is None:
            app = FastAPI(title=self.title, version=self.version, redoc_url=None)
            self.mount(app)
            self._app = app
        return self._app

    def mount(self, app: FastAPI) -> None:
        """Serve the bindings from an existing FastAPI app (before it starts).

        Its `/openapi.json` becomes the gateway's document plus the app's own routes, and
        its 404/405 answers take the `google.rpc.Status` shape.
        """
        app.add_middleware(_GatewayMiddleware, gateway=self)

        async def routing_error(request: Request, exc: Exception) -> Response:
            response = await _routing_error_handler(request, exc)
            if isinstance(exc, StarletteHTTPException) and exc.status_code in (404, 405):
                code = _ROUTING_CODES[exc.status_code]
                self.refused(request.scope, UNROUTED, GatewayError(code, ""), response.status_code)
            return response

        app.add_exception_handler(StarletteHTTPException, routing_error)

        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                app.openapi_schema = _merge_app_routes(self.openapi(), app)
            return app.openapi_schema

        app.openapi = openapi  # type: ignore[method-assign]

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every binding (built once)."""
        if self._openapi is None:
            self._openapi = build_openapi(
                self.bindings,
                title=self.title,
                version=self.version,
                max_path_value_length=self.max_path_value_length,
            )
        return self._openapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The gateway alone as an ASGI app (no /openapi.json, no /docs)."""
        if scope["type"] != "http":
            return
        if not await self.handle(scope, receive, send):
            error = GatewayError(grpc.StatusCode.NOT_FOUND, "Not Found")
            self.refused(scope, UNROUTED, error, await _send_error(send, error))

    def refused(self, scope: Scope, method: str, error: GatewayError, status: int) -> None:
        """Tell `on_refused` of a request answered before dispatch."""
        started: float = scope.get(_STARTED) or time.perf_counter()
        refusal = Refusal(
            scope["method"],
            scope["path"],
            method,
            error.code,
            status,
            time.perf_counter() - started,
        )
        try:
            self.on_refused(refusal)
        except Exception:
            logger.exception("on_refused failed for %s %r", refusal.verb, refusal.path[:200])

    # --- one request ----------------------------------------------------------------------

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve a request if some binding's path matches it; False to let it fall through."""
        scope.setdefault(_STARTED, time.perf_counter())
        raw_path: bytes | None = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
        components = path[1:].split("/")

        match, form = self._route(scope, components)
        if match is None:
            if not self._router.methods_matching(components):
                return False
            error = GatewayError(grpc.StatusCode.UNIMPLEMENTED, "Method Not Allowed")
            self.refused(scope, UNROUTED, error, await _send_error(send, error))
            return True

        started = time.perf_counter()
        status = await self._serve(match.route, match.components, scope, receive, send, form)
        _log_call(scope, match.route.full_method, status, time.perf_counter() - started)
        return True

    def _route(self, scope: Scope, components: list[str]) -> tuple[Match[Binding] | None, bool]:
        """The binding a request reaches, and whether its body is form fields: a form POST
        may name another verb in X-HTTP-Method-Override, or fall back to GET."""
        http_method = scope["method"]
        form_post = _is_form_post(scope)
        override = _header(scope, b"x-http-method-override") if form_post else None
        if override:
            http_method = override.decode("latin-1").upper()

        match = self._router.match(http_method, components)
        if match is None and form_post and http_method == "POST":
            fallback = self._router.match("GET", components)
            return fallback, fallback is not None
        return match, bool(override)

    async def _serve(
        self,
        binding: Binding,
        components: list[str],
        scope: Scope,
        receive: Receive,
        send: Send,
        form: bool,
    ) -> int:
        context: _ContextBase | None = None
        dispatched = False
        try:
            request = await self._decode(binding, components, scope, receive, form)
            metadata, timeout = incoming_metadata(scope["headers"], scope.get("client"))
            details = CallDetails(binding.full_method, metadata)

            handler = await self._dispatcher.resolve(details)
            if handler is None:
                raise GatewayError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
            behaviour, streaming = _behaviour(handler)

            context = self._dispatcher.make_context(
                behaviour,
                invocation_metadata=metadata,
                peer=_peer(scope),
                deadline=None if timeout is None else time.monotonic() + timeout,
            )
            if binding.server_streaming:
                dispatched = True
                return await self._serve_stream_until_gone(
                    binding, behaviour, streaming, request, context, send, receive
                )
            if streaming:
                raise GatewayError(
                    grpc.StatusCode.INTERNAL, "a streaming handler serves a unary method"
                )

            dispatched = True
            response = await self._dispatcher.call_unary(behaviour, request, context)
            body = encode_response(binding, response)
        except GatewayError as error:
            initial = context.initial_metadata_sent if context is not None else ()
            answered = await _send_error(send, error, initial)
            if not dispatched:
                self.refused(scope, binding.full_method, error, answered)
            return answered
        finally:
            if context is not None:
                context.finish()

        headers, status = outgoing_headers(context.initial_metadata_sent)
        status = status or 200
        headers.append(_JSON)
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status

    async def _decode(
        self, binding: Binding, components: list[str], scope: Scope, receive: Receive, form: bool
    ) -> message.Message:
        """The request message; with `form`, the body is form fields read as query parameters
        (before the URL's own, as Go's `Request.Form` has them) and no JSON body is read."""
        request = binding.request_class()
        query: bytes = scope["query_string"]
        if form:
            fields = await self._read_body(scope, receive)
            query = b"&".join(part for part in (fields, query) if part)
        elif binding.body:
            parse_body(request, binding, await self._read_body(scope, receive))
        apply_path(request, binding, components, self.max_path_value_length)
        apply_query(request, binding, query)
        return request

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_body_bytes
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                raise invalid_argument(f"the request body is larger than {limit} bytes")

        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                raise GatewayError(grpc.StatusCode.CANCELLED, "the client went away")

            chunk: bytes = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise invalid_argument(f"the request body is larger than {limit} bytes")
            chunks.append(chunk)
            if not event.get("more_body", False):
                return b"".join(chunks)

    async def _serve_stream_until_gone(
        self,
        binding: Binding,
        behaviour: Callable[..., Any],
        streaming: bool,
        request: message.Message,
        context: _ContextBase,
        send: Send,
        receive: Receive,
    ) -> int:
        """`_serve_stream`, cancelled as soon as the client goes away.

        uvicorn drops writes to a closed connection silently, so a stream that waits for its
        next message (a watch) would otherwise outlive its client, and hold up the server's
        shutdown, for ever; the request body has been read, so the next `receive()` is the
        disconnect.
        """
        serving = asyncio.ensure_future(
            self._serve_stream(binding, behaviour, streaming, request, context, send)
        )
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({serving, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not serving.done():
                await cancel_and_wait(serving)
        if not serving.cancelled():
            return serving.result()
        logger.info("client went away during the stream of %s", binding.full_method)
        context.finish(cancelled=True)
        return 499  # nginx's "client closed request", for the call's log line only

    async def _serve_stream(
        self,
        binding: Binding,
        behaviour: Callable[..., Any],
        streaming: bool,
        request: message.Message,
        context: _ContextBase,
        send: Send,
    ) -> int:
        """Newline-delimited `{"result": ...}` chunks; an error ends the stream as a chunk.

        Headers wait for the first message, so an error before it still gets its own HTTP
        status (grpc-gateway's `handleForwardResponseStreamError` before `WriteHeader`).
        """
        if streaming:
            stream = aiter(self._dispatcher.call_stream(behaviour, request, context))
        else:  # e.g. an interceptor answering with a unary handler that aborts
            stream = aiter(self._dispatcher.call_unary_as_stream(behaviour, request, context))
        try:
            first = await anext(stream)
        except StopAsyncIteration:
            first = None
        except GatewayError as error:
            return await _send_error(send, error, context.initial_metadata_sent, chunk=True)

        headers, status = outgoing_headers(context.initial_metadata_sent)
        status = status or 200
        headers.append(_JSON)
        context.mark_headers_sent()
        await send({"type": "http.response.start", "status": status, "headers": headers})

        try:
            if first is not None:
                await _send_chunk(send, encode_stream_result(binding, first))
                async for item in stream:
                    await _send_chunk(send, encode_stream_result(binding, item))
        except GatewayError as error:
            await _send_chunk(send, _error_chunk(error))
        except OSError:
            logger.info("client went away during the stream of %s", binding.full_method)
            context.finish(cancelled=True)
            return status
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

        await send({"type": "http.response.body", "body": b""})
        return status


def _behaviour(handler: Any) -> tuple[Callable[..., Any], bool]:
    """The behaviour grpc.aio would run for a resolved handler, and whether it streams.

    As in grpc.aio the handler's own kind decides, not the method's: an interceptor may
    answer a streaming method with a unary handler that only aborts.
    """
    if handler.request_streaming:
        raise GatewayError(grpc.StatusCode.UNIMPLEMENTED, "client streaming is not served")
    if handler.response_streaming:
        return handler.unary_stream, True
    return handler.unary_unary, False


class _GatewayMiddleware:
    """Serves gateway paths; everything else goes on to the wrapped app."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await self.gateway.handle(scope, receive, send):
            return
        await self.app(scope, receive, send)


_ROUTING_CODES = {404: grpc.StatusCode.NOT_FOUND, 405: grpc.StatusCode.UNIMPLEMENTED}


async def _routing_error_handler(request: Request, exc: Exception) -> Response:
    """404 and 405 from the app itself, in grpc-gateway's routing error shape."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        error = GatewayError(grpc.StatusCode.NOT_FOUND, "Not Found")
    elif exc.status_code == 405:
        error = GatewayError(grpc.StatusCode.UNIMPLEMENTED, "Method Not Allowed")
    else:
        response: Response = await http_exception_handler(request, exc)
        return response
    status, body = error_body(error)
    return Response(body, status_code=status, media_type="application/json")


async def _send_error(
    send: Send, error: GatewayError, initial_metadata: Any = (), *, chunk: bool = False
) -> int:
    """Answer with an error status and body; `chunk` wraps it as a stream's `{"error":}`."""
    if chunk:
        status, body = error.http_status, _error_chunk(error)
    else:
        status, body = error_body(error)

    headers, _ = outgoing_headers(initial_metadata)
    headers.append(_JSON)
    headers.append((b"content-length", str(len(body)).encode("latin-1")))
    if error.code == grpc.StatusCode.UNAUTHENTICATED:
        headers.append((b"www-authenticate", header_value(error.message)))

    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


def _error_chunk(error: GatewayError) -> bytes:
    try:
        return dump_json({"error": status_dict(error)}) + b"\n"
    except Exception:
        logger.exception("cannot marshal the details of a %s status", error.code.name)
        fallback = {"code": 13, "message": "failed to marshal error message", "details": []}
        return dump_json({"error": fallback}) + b"\n"


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_chunk(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (names are lower-case in ASGI), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _is_form_post(scope: Scope) -> bool:
    """A POST whose Content-Type is exactly the HTML form's, as grpc-gateway's
    `isPathLengthFallback` asks (a `; charset=` parameter makes it an ordinary POST)."""
    return scope["method"] == "POST" and _header(scope, b"content-type") == _FORM


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    if not client:
        return "unknown"
    host, port = client[0], client[1]
    return f"ipv6:[{host}]:{port}" if ":" in str(host) else f"ipv4:{host}:{port}"


def _log_call(scope: Scope, method: str, status: int, seconds: float) -> None:
    # Debug only: for a dispatched call the server's observability interceptor writes the one
    # info line (method, code, duration, user, request id), for REST and gRPC alike.
    logger.debug(
        "%s %s -> %s %d (%.1f ms)", scope["method"], scope["path"], method, status, seconds * 1e3
    )


def _service_descriptors(
    handlers: Sequence[Any], names: Sequence[str], pool: descriptor_pool.DescriptorPool
) -> list[descriptor.ServiceDescriptor]:
    wanted: list[str] = []
    for handler in handlers:
        service_name = getattr(handler, "service_name", None)
        if callable(service_name):
            wanted.append(service_name())
    wanted.extend(names)

    found: list[descriptor.ServiceDescriptor] = []
    for name in dict.fromkeys(wanted):
        try:
            found.append(pool.FindServiceByName(name))
        except KeyError as exc:
            raise ValueError(
                f"service {name!r} is not in the descriptor pool: import its _pb2 module first"
            ) from exc
    return found


def _merge_app_routes(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """The gateway's document plus the paths FastAPI itself documents for the app."""
    own = get_openapi(title=app.title, version=app.version, routes=app.routes)
    if not own.get("paths"):
        return document

    merged = dict(document)
    merged["paths"] = {**own["paths"], **document["paths"]}
    schemas = {**own.get("components", {}).get("schemas", {})}
    schemas.update(document.get("components", {}).get("schemas", {}))
    merged["components"] = {**document.get("components", {}), "schemas": schemas}
    return merged
