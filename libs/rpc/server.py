"""Building a grpc.aio server the way every Workbench service runs one.

Standard health checking (`grpc.health.v1.Health`, each service SERVING once started) and
server reflection for every service registered, so `grpcurl` and `grpc_cli` work without the
`.proto` files.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection


def create_server(
    interceptors: Sequence[grpc.aio.ServerInterceptor], *, max_message_bytes: int = 16 * 2**20
) -> grpc.aio.Server:
    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
    return grpc.aio.server(interceptors=list(interceptors), options=options)


def add_health_and_reflection(
    server: grpc.aio.Server, service_names: Sequence[str]
) -> health.HealthServicer:
    """Register health (all services SERVING) and reflection for `service_names`."""
    checker = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    for name in ("", *service_names):
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    return checker
