"""The two messages of ``grpc.health.v1.Health/Check``, without grpcio-health-checking.

The client is meant to be vendored with only grpcio, grpcio-status, protobuf and PyYAML, so
the standard health protocol's request and response are declared here (field for field as in
``grpc/health/v1/health.proto``) in a private descriptor pool: a private pool because a process
that also imports ``grpc_health`` (the server, the tests) already has a file of that name in
the default pool, and protobuf refuses a second definition there.
"""

from __future__ import annotations

from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

CHECK_METHOD: Final = "/grpc.health.v1.Health/Check"

_F = descriptor_pb2.FieldDescriptorProto


def _file() -> descriptor_pb2.FileDescriptorProto:
    f = descriptor_pb2.FileDescriptorProto(
        name="pinlet_client/grpc_health_v1.proto", package="grpc.health.v1", syntax="proto3"
    )
    request = f.message_type.add(name="HealthCheckRequest")
    request.field.add(name="service", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    response = f.message_type.add(name="HealthCheckResponse")
    response.field.add(
        name="status",
        number=1,
        type=_F.TYPE_ENUM,
        label=_F.LABEL_OPTIONAL,
        type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
    )
    status = response.enum_type.add(name="ServingStatus")
    for number, name in enumerate(("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")):
        status.value.add(name=name, number=number)
    return f


_POOL: Final = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
HealthCheckRequest: Final[Any] = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest")
)
HealthCheckResponse: Final[Any] = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse")
)
_STATUS: Final = _POOL.FindEnumTypeByName("grpc.health.v1.HealthCheckResponse.ServingStatus")


def encode_request(service: str) -> bytes:
    data: bytes = HealthCheckRequest(service=service).SerializeToString()
    return data


def decode_status(data: bytes) -> str:
    """The ``ServingStatus`` name in a serialised ``HealthCheckResponse``."""
    number = int(HealthCheckResponse.FromString(data).status)
    value = _STATUS.values_by_number.get(number)
    return value.name if value is not None else str(number)
