"""The one place where domain errors become gRPC statuses.

Every servicer method runs inside :func:`errors_as_status`; whatever it raises leaves the
server through :func:`abort_with` as a status code plus a ``google.rpc.Status`` detail that a
client decodes with ``grpc_status.rpc_status.from_call``. The mapping (:data:`MAPPING`, most
specific class first; the README has the same table):

=========================================  ====================  ===============================
error                                      code                  detail
=========================================  ====================  ===============================
``NotFoundError``                          NOT_FOUND             BadRequest (field, message)
``InvalidRequestError``                    INVALID_ARGUMENT      BadRequest (field, message)
``AdmissionError`` and subclasses          FAILED_PRECONDITION   ErrorInfo (reason = the
                                                                 kubelet's admission reason)
``ConfigError``                            FAILED_PRECONDITION   ErrorInfo (reason ConfigError)
``CheckpointError``, ``StateError``        UNAVAILABLE           none
``DiscoveryError``, anything else          INTERNAL              none; generic message
=========================================  ====================  ===============================

Why these codes:

* a malformed request will fail however often it is retried: INVALID_ARGUMENT, naming the
  field the caller must fix (``pod.containers[0].resources.limits.cpu``);
* a pod that cannot be admitted is well-formed but the node is not in a state to take it:
  FAILED_PRECONDITION, the gRPC guide's code for "do not retry until the system changes".
  ``ErrorInfo.reason`` is exactly the reason the kubelet would put on the pod
  (``TopologyAffinityError``, ``SMTAlignmentError``, ``UnexpectedAdmissionError``), so a
  caller can fail admission with it unchanged;
* a failed durable write leaves the state as it was (the manager publishes a new state only
  after the checkpoint is on disk), so the call may simply be retried: UNAVAILABLE;
* anything unexpected is a pinlet bug: INTERNAL with a generic message, so that no internals
  leak to callers, and the traceback goes to the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, NoReturn

import grpc
import structlog
from google.protobuf import any_pb2

# googleapis-common-protos and grpcio-status ship no type information (no py.typed, and no
# stub package is installed); their few functions used here are checked by the tests.
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status  # type: ignore[import-untyped]

from .errors import (
    AdmissionError,
    CgroupError,
    CgroupNotFoundError,
    CheckpointError,
    ConfigError,
    DiscoveryError,
    InvalidRequestError,
    PinletError,
    StateError,
)
from .manager import NotFoundError

DOMAIN: Final = "pinlet.io"
"""``ErrorInfo.domain`` of every error pinlet reports."""
INTERNAL_MESSAGE: Final = "internal error in pinlet; the pinlet log has the details"

_log = structlog.get_logger("pinlet.status")

MAPPING: Final[tuple[tuple[type[PinletError], grpc.StatusCode], ...]] = (
    # NotFoundError is an InvalidRequestError, so it must come first.
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (InvalidRequestError, grpc.StatusCode.INVALID_ARGUMENT),
    (AdmissionError, grpc.StatusCode.FAILED_PRECONDITION),
    (ConfigError, grpc.StatusCode.FAILED_PRECONDITION),
    (CheckpointError, grpc.StatusCode.UNAVAILABLE),
    (StateError, grpc.StatusCode.UNAVAILABLE),
    # Only raised while the machine model is built at start; if it ever surfaces in a call,
    # the server itself is broken.
    # A container whose cgroup is gone has died: the caller asked about something that no
    # longer exists. Any other cgroup failure is the node's problem, not the caller's.
    (CgroupNotFoundError, grpc.StatusCode.NOT_FOUND),
    (CgroupError, grpc.StatusCode.INTERNAL),
    (DiscoveryError, grpc.StatusCode.INTERNAL),
)
"""Domain error class → status code, most specific first; the first ``issubclass`` wins."""


def code_for(exc: BaseException) -> grpc.StatusCode:
    """The status code ``exc`` leaves the server with."""
    for cls, code in MAPPING:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


def reason_for(exc: BaseException) -> str:
    """A short machine-readable summary of ``exc`` for the RPC log event."""
    if isinstance(exc, AdmissionError):
        return exc.reason
    if isinstance(exc, InvalidRequestError):
        return f"{type(exc).__name__}: {exc.field}"
    return type(exc).__name__


def to_rpc_status(
    exc: BaseException, *, pod_uid: str = "", container: str = ""
) -> status_pb2.Status:
    """The ``google.rpc.Status`` (code, message, details) reported for ``exc``.

    ``pod_uid`` and ``container`` name what the call was about; they go into the
    ``ErrorInfo`` metadata of an admission failure.
    """
    code = code_for(exc)
    if code == grpc.StatusCode.INTERNAL:
        return status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE)
    detail: error_details_pb2.BadRequest | error_details_pb2.ErrorInfo | None = None
    if isinstance(exc, InvalidRequestError):
        detail = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=exc.field, description=exc.message
                )
            ]
        )
    elif isinstance(exc, AdmissionError):
        metadata = {"pod_uid": pod_uid, "message": str(exc)}
        if container or exc.container:
            metadata["container"] = container or exc.container
        detail = error_details_pb2.ErrorInfo(reason=exc.reason, domain=DOMAIN, metadata=metadata)
    elif isinstance(exc, ConfigError):
        detail = error_details_pb2.ErrorInfo(
            reason="ConfigError",
            domain=DOMAIN,
            metadata={"field": exc.field, "message": exc.message},
        )
    details = []
    if detail is not None:
        packed = any_pb2.Any()
        packed.Pack(detail)
        details.append(packed)
    # grpc.StatusCode values are (number, name) pairs; google.rpc.Code uses the same numbers.
    number: int = code.value[0]
    return status_pb2.Status(code=number, message=str(exc), details=details)


def abort_with(
    context: grpc.ServicerContext, exc: BaseException, *, pod_uid: str = "", container: str = ""
) -> NoReturn:
    """End the call with the status for ``exc`` (see :data:`MAPPING`); never returns."""
    status = to_rpc_status(exc, pod_uid=pod_uid, container=container)
    if status.code == code_pb2.INTERNAL:
        _log.error("unexpected error", pod_uid=pod_uid, container=container, exc_info=exc)
    context.abort_with_status(rpc_status.to_status(status))
    # abort_with_status always raises; this keeps the NoReturn promise if it ever did not.
    raise AssertionError("abort_with_status returned")


@dataclass
class Outcome:
    """How a servicer method ended, for its log event; filled in by :func:`errors_as_status`."""

    code: grpc.StatusCode = grpc.StatusCode.OK
    error: str = ""


@contextmanager
def errors_as_status(
    context: grpc.ServicerContext, *, pod_uid: str = "", container: str = ""
) -> Iterator[Outcome]:
    """Run a servicer method's body; any exception it raises ends the call as a status."""
    outcome = Outcome()
    try:
        yield outcome
    except Exception as exc:
        outcome.code = code_for(exc)
        outcome.error = reason_for(exc)
        abort_with(context, exc, pod_uid=pod_uid, container=container)
