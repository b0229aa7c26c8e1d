"""The Library test service: an async grpc.aio servicer plus interceptors around it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import Any

import grpc
import grpc.aio
from google.protobuf import any_pb2, empty_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

TOKEN = "Bearer good-token"


class BookMissing(Exception):
    """A domain error that the error-mapping interceptor turns into NOT_FOUND."""


class Calls:
    """What reached the handlers and interceptors, for tests to inspect."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.intercepted: list[str] = []

    def clear(self) -> None:
        self.handled.clear()
        self.intercepted.clear()


def build_servicer(pb: ModuleType, pb_grpc: ModuleType, calls: Calls) -> Any:
    """An instance of LibraryServicer implementing every test method."""

    def echo(request: Any, context: Any, method: str) -> Any:
        metadata = [
            pb.MetadataEntry(key=key, value=value if isinstance(value, str) else value.hex())
            for key, value in context.invocation_metadata()
        ]
        return pb.EchoResponse(
            request=request, metadata=metadata, peer=context.peer(), method=method
        )

    class Library(pb_grpc.LibraryServicer):  # type: ignore[misc]
        async def GetBook(self, request: Any, context: Any) -> Any:
            calls.handled.append("GetBook")
            if request.name.endswith("/missing"):
                raise BookMissing(request.name)
            return pb.Book(name=request.name, title="Dune", page_count=412, shelf=1)

        async def ListBooks(self, request: Any, context: Any) -> Any:
            calls.handled.append("ListBooks")
            book = pb.Book(name=f"shelves/{request.shelf_id}/books/1")
            return pb.ListBooksResponse(books=[book], total=1)

        async def CreateBook(self, request: Any, context: Any) -> Any:
            calls.handled.append("CreateBook")
            book = pb.Book()
            book.CopyFrom(request.book)
            book.name = f"shelves/{request.shelf_id}/books/{request.request_id or 'new'}"
            return book

        async def UpdateBook(self, request: Any, context: Any) -> Any:
            calls.handled.append("UpdateBook")
            book = pb.Book()
            book.CopyFrom(request.book)
            book.labels["updateMask"] = ",".join(request.update_mask.paths)
            return book

        async def DeleteBook(self, request: Any, context: Any) -> Any:
            calls.handled.append("DeleteBook")
            return empty_pb2.Empty()

        async def ArchiveBook(self, request: Any, context: Any) -> Any:
            calls.handled.append("ArchiveBook")
            return pb.Book(name=request.name, title="archived")

        async def GetBookTitle(self, request: Any, context: Any) -> Any:
            return pb.Book(name=request.name, title="Dune")

        async def GetBookTags(self, request: Any, context: Any) -> Any:
            return pb.Book(name=request.name, tags=["a", "b"])

        async def SetBookTags(self, request: Any, context: Any) -> Any:
            return request

        async def GetAuthor(self, request: Any, context: Any) -> Any:
            return request.ref

        async def GetFile(self, request: Any, context: Any) -> Any:
            return pb.File(path=request.path)

        async def Echo(self, request: Any, context: Any) -> Any:
            calls.handled.append("Echo")
            return echo(request, context, "Echo")

        async def EchoBody(self, request: Any, context: Any) -> Any:
            calls.handled.append("EchoBody")
            return echo(request, context, "EchoBody")

        async def Whoami(self, request: Any, context: Any) -> Any:
            return echo(pb.EchoRequest(), context, "Whoami")

        async def Fail(self, request: Any, context: Any) -> Any:
            calls.handled.append("Fail")
            code = _code(request.code)
            if request.how == "set_code":
                context.set_code(code)
                context.set_details(request.message)
                return empty_pb2.Empty()
            if request.how == "raise":
                raise RuntimeError(request.message)
            if request.how == "domain":
                raise BookMissing(request.message)
            if request.with_details:
                detail = any_pb2.Any()
                detail.Pack(error_details_pb2.ErrorInfo(reason="QUOTA", domain="workbench.io"))
                status = status_pb2.Status(
                    code=request.code, message=request.message, details=[detail]
                )
                await context.abort_with_status(rpc_status.to_status(status))
            await context.abort(code, request.message)

        async def CreateWithStatus(self, request: Any, context: Any) -> Any:
            await context.send_initial_metadata([("x-http-code", "201"), ("location", "here")])
            return pb.Book(name="created")

        async def WatchBooks(self, request: Any, context: Any) -> AsyncIterator[Any]:
            if request.fail_first:
                await context.abort(grpc.StatusCode.NOT_FOUND, "no such shelf")
            for index in range(request.count):
                if request.fail_after and index == request.fail_after:
                    await context.abort(grpc.StatusCode.NOT_FOUND, "shelf vanished")
                yield pb.Book(name=f"shelves/{request.shelf_id}/books/{index}", page_count=index)

        async def WatchBooksWritten(self, request: Any, context: Any) -> None:
            for index in range(request.count):
                await context.write(pb.Book(name=f"written/{index}"))

        def SyncPing(self, request: Any, context: Any) -> Any:
            calls.handled.append("SyncPing")
            return echo(pb.EchoRequest(), context, "SyncPing")

        async def Slow(self, request: Any, context: Any) -> Any:
            await asyncio.sleep(request.sleep_seconds)
            return empty_pb2.Empty()

    return Library()


def _code(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    raise ValueError(number)


Continuation = Callable[[Any], Awaitable[Any]]


class RecordingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Records the gRPC method of every call it sees."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def intercept_service(self, continuation: Continuation, details: Any) -> Any:
        self.calls.intercepted.append(details.method)
        return await continuation(details)


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Rejects calls without the test bearer token, the way the apiserver's auth does."""

    async def intercept_service(self, continuation: Continuation, details: Any) -> Any:
        metadata = dict(details.invocation_metadata)
        if metadata.get("authorization") == TOKEN:
            return await continuation(details)

        async def reject(request: Any, context: Any) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, 'Bearer realm="workbench"')

        return grpc.unary_unary_rpc_method_handler(reject)


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps unary behaviours so that `BookMissing` becomes NOT_FOUND."""

    async def intercept_service(self, continuation: Continuation, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        if not asyncio.iscoroutinefunction(inner):
            return handler

        async def mapped(request: Any, context: Any) -> Any:
            try:
                return await inner(request, context)
            except BookMissing as exc:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"book {exc} not found")

        return grpc.unary_unary_rpc_method_handler(
            mapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
