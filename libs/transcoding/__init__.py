"""REST to gRPC transcoding: `google.api.http` rules served through FastAPI, in-process.

Usage::

    from libs.transcoding import Gateway, handlers_from_servicer

    handlers = handlers_from_servicer(pipelines_pb2_grpc.add_PipelinesServicer_to_server,
                                      PipelinesService())
    server = grpc.aio.server(interceptors=interceptors)
    server.add_generic_rpc_handlers(handlers)
    gateway = Gateway(handlers, interceptors=interceptors)
    app = gateway.app  # or gateway.mount(existing_fastapi_app)

Module map: `_template` parses path templates, `_rules` reads the HTTP rules from the
descriptors, `_router` matches requests, `_codec` turns HTTP into request messages and
responses into JSON, `_headers` maps headers and metadata, `_context` is the servicer context
of a REST call, `_dispatch` runs interceptors and handlers, `_status` is the gRPC-to-HTTP
status table and error body, `_openapi` builds the OpenAPI document, `_gateway` ties them.
"""

from libs.transcoding._context import CallDetails, RestServicerContext, SyncRestServicerContext
from libs.transcoding._gateway import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_PATH_VALUE_LENGTH,
    UNROUTED,
    Gateway,
    Refusal,
    handlers_from_servicer,
    log_refusal,
)
from libs.transcoding._openapi import build_openapi
from libs.transcoding._rules import Binding, RuleError
from libs.transcoding._status import (
    HTTP_STATUS_FROM_CODE,
    GatewayError,
    http_status_from_code,
)
from libs.transcoding._template import TemplateError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_PATH_VALUE_LENGTH",
    "HTTP_STATUS_FROM_CODE",
    "UNROUTED",
    "Binding",
    "CallDetails",
    "Gateway",
    "GatewayError",
    "Refusal",
    "RestServicerContext",
    "RuleError",
    "SyncRestServicerContext",
    "TemplateError",
    "build_openapi",
    "handlers_from_servicer",
    "http_status_from_code",
    "log_refusal",
]
