"""The typed client: one method per RPC, Python values in and out, typed errors.

::

    from pinlet.client import PinletClient, load_pod_manifest

    pod = load_pod_manifest("examples/guaranteed-6cpu.yaml")
    with PinletClient("/var/lib/kubelet/pinlet/pinlet.sock") as pinlet:
        assignment = pinlet.allocate(pod)
        print(assignment.container("database").cpuset_cpus)

Every call has a deadline (the client's ``timeout``, or the call's own ``timeout=``) and never
waits for the server to come up: a socket nobody serves fails at once with
:class:`~pinlet.client.errors.PinletConnectionError`, so a kubelet shim is never stuck behind
a dead service. Every failure is one of the classes in :mod:`pinlet.client.errors`, chosen by
:func:`error_from_rpc` alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

import grpc

# googleapis-common-protos and grpcio-status ship no type information; "unused-ignore" keeps
# this line valid once stubs are installed.
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped,unused-ignore]
from grpc_status import rpc_status  # type: ignore[import-untyped,unused-ignore]

from . import _health
from ._convert import (
    allocatable_from_proto,
    container_from_proto,
    hints_from_proto,
    pod_assignment_from_proto,
    pod_assignments_from_proto,
    pod_to_proto,
    provider_hints_to_proto,
)
from ._proto.v1alpha1 import pinlet_pb2 as pb
from ._proto.v1alpha1 import pinlet_pb2_grpc
from .errors import (
    AdmissionRejected,
    InvalidArgument,
    NotFound,
    PinletConnectionError,
    PinletError,
    PinletTimeout,
    SMTAlignmentError,
    TopologyAffinityError,
    Unavailable,
    UnexpectedAdmissionError,
)
from .models import (
    Allocatable,
    ContainerAssignment,
    HintsResult,
    PodAssignment,
    PodSpec,
    ProviderHints,
    ReconcileResult,
    RemoveResult,
)

DEFAULT_SOCKET: Final = "/var/lib/kubelet/pinlet/pinlet.sock"
DEFAULT_TIMEOUT: Final = 5.0
ERROR_DOMAIN: Final = "pinlet.io"

_ADMISSION_ERRORS: Final[dict[str, type[AdmissionRejected]]] = {
    cls.reason: cls for cls in (TopologyAffinityError, SMTAlignmentError, UnexpectedAdmissionError)
}

# What gRPC core says when the transport, not the service, failed. Only looked at when the
# status has no google.rpc.Status detail: pinlet's own UNAVAILABLE (state not written) has one.
_TRANSPORT_FAILURES: Final = (
    "failed to connect to all addresses",
    "socket closed",
    "connection reset",
    "connection refused",
    "broken pipe",
    "no such file or directory",
)


class PinletClient:
    """A connection to one pinlet service on a Unix socket.

    Cheap to create; the connection is made on the first call and re-made as needed. Safe to
    share between threads. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, socket_path: str | os.PathLike[str] = DEFAULT_SOCKET, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.socket_path = os.fspath(socket_path)
        self.timeout = timeout
        # "unix:PATH" takes relative and absolute paths alike ("unix://" needs an absolute one).
        self._channel = grpc.insecure_channel(f"unix:{self.socket_path}")
        # The generated stub is untyped; every result is given its message type where used.
        stub_class: Any = pinlet_pb2_grpc.ResourceManagerStub
        self._stub: Any = stub_class(self._channel)
        # No (de)serialisers: the health messages are encoded by hand-declared classes.
        self._health_check: Callable[..., bytes] = self._channel.unary_unary(_health.CHECK_METHOD)

    def __enter__(self) -> PinletClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PinletClient({self.socket_path!r}, timeout={self.timeout})"

    def close(self) -> None:
        """Close the connection; calls made afterwards fail."""
        self._channel.close()

    # -- calls ---------------------------------------------------------------------------------

    def _call(self, rpc: Callable[..., Any], request: object, timeout: float | None) -> Any:
        try:
            return rpc(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as err:
            raise error_from_rpc(err, self.socket_path) from err

    def get_topology_hints(
        self,
        pod: PodSpec,
        container_name: str | None = None,
        *,
        provider_hints: Sequence[ProviderHints] = (),
        timeout: float | None = None,
    ) -> HintsResult:
        """Every provider's NUMA hints and the merged decision; changes nothing.

        With ``container_name`` the hints are that container's (container scope); without, the
        whole pod's (pod scope). ``provider_hints`` from providers pinlet does not own (a
        device manager) take part in the merge.
        """
        request = pb.GetTopologyHintsRequest(
            pod=pod_to_proto(pod),
            container_name=container_name or "",
            provider_hints=[provider_hints_to_proto(p) for p in provider_hints],
        )
        response: pb.GetTopologyHintsResponse = self._call(
            self._stub.GetTopologyHints, request, timeout
        )
        return hints_from_proto(response)

    def allocate(
        self,
        pod: PodSpec,
        container_name: str | None = None,
        *,
        provider_hints: Sequence[ProviderHints] = (),
        timeout: float | None = None,
    ) -> PodAssignment:
        """Admit the pod (or only ``container_name``) and return every container's assignment.

        Idempotent: allocating an admitted pod again returns the same assignment. A pod that
        cannot be admitted raises an :class:`~pinlet.client.errors.AdmissionRejected` subclass
        and leaves nothing behind. ``provider_hints`` from providers pinlet does not own (the
        kubelet's device manager for a GPU or a NIC; per container in container scope, for the
        whole pod in pod scope) take part in the merge that decides NUMA affinity.
        """
        request = pb.AllocateRequest(
            pod=pod_to_proto(pod),
            container_name=container_name or "",
            provider_hints=[provider_hints_to_proto(p) for p in provider_hints],
        )
        response: pb.AllocateResponse = self._call(self._stub.Allocate, request, timeout)
        return pod_assignment_from_proto(response.pod)

    def add_container(
        self,
        pod_uid: str,
        container_name: str,
        container_id: str,
        cgroup_path: str = "",
        *,
        timeout: float | None = None,
    ) -> ContainerAssignment:
        """Bind an admitted container to its runtime container id (and cgroup path)."""
        request = pb.AddContainerRequest(
            pod_uid=pod_uid,
            container_name=container_name,
            container_id=container_id,
            cgroup_path=cgroup_path,
        )
        response: pb.AddContainerResponse = self._call(self._stub.AddContainer, request, timeout)
        return container_from_proto(response.container)

    def remove_container(
        self,
        pod_uid: str = "",
        container_name: str = "",
        *,
        container_id: str = "",
        timeout: float | None = None,
    ) -> RemoveResult:
        """Release one container, named by pod uid and name or by runtime container id.

        Idempotent: an unknown container gives ``removed=False``.
        """
        request = pb.RemoveContainerRequest(
            pod_uid=pod_uid, container_name=container_name, container_id=container_id
        )
        response: pb.RemoveContainerResponse = self._call(
            self._stub.RemoveContainer, request, timeout
        )
        return RemoveResult(removed=response.removed, released_cpus=response.released_cpus)

    def remove_pod(self, pod_uid: str, *, timeout: float | None = None) -> tuple[list[str], str]:
        """Release every container of a pod: (names of the removed containers, released cpulist).

        Idempotent: an unknown pod gives ``([], "")``.
        """
        request = pb.RemovePodRequest(pod_uid=pod_uid)
        response: pb.RemovePodResponse = self._call(self._stub.RemovePod, request, timeout)
        return list(response.removed_containers), response.released_cpus

    def list_assignments(
        self, pod_uid: str | None = None, *, timeout: float | None = None
    ) -> tuple[list[PodAssignment], str]:
        """Every admitted pod (or only ``pod_uid``) and the current shared pool (cpulist).

        Pods come sorted by namespace, then name.

        A ``pod_uid`` the service does not know raises :class:`~pinlet.client.errors.NotFound`.
        """
        request = pb.ListAssignmentsRequest(pod_uid=pod_uid or "")
        response: pb.ListAssignmentsResponse = self._call(
            self._stub.ListAssignments, request, timeout
        )
        return pod_assignments_from_proto(response.pods), response.shared_pool

    def get_allocatable(self, *, timeout: float | None = None) -> Allocatable:
        """The machine's CPUs and memory per NUMA node as pinlet manages them now."""
        response: pb.GetAllocatableResourcesResponse = self._call(
            self._stub.GetAllocatableResources, pb.GetAllocatableResourcesRequest(), timeout
        )
        return allocatable_from_proto(response)

    def reconcile(self, *, timeout: float | None = None) -> ReconcileResult:
        """Compare every bound container's cgroup with the decisions now; rewrite drift."""
        r: pb.ReconcileResponse = self._call(self._stub.Reconcile, pb.ReconcileRequest(), timeout)
        return ReconcileResult(
            checked=r.checked,
            drifted=r.drifted,
            vanished=tuple(r.vanished),
            errors=r.errors,
            dry_run=r.dry_run,
        )

    def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """The ``grpc.health.v1`` status name: ``SERVING``, ``NOT_SERVING`` …

        ``service`` empty asks about the server as a whole; a service name the server does not
        know raises :class:`~pinlet.client.errors.NotFound`.
        """
        try:
            data: bytes = self._call(self._health_check, _health.encode_request(service), timeout)
        except NotFound as err:
            # The standard health service says NOT_FOUND with no message at all.
            raise NotFound("service", f"no health status for service {service!r}") from err
        return _health.decode_status(data)


# -- errors ------------------------------------------------------------------------------------


def _rich_status(err: grpc.RpcError) -> status_pb2.Status | None:
    if not isinstance(err, grpc.Call):
        return None
    try:
        status: status_pb2.Status | None = rpc_status.from_call(err)
    except ValueError:
        # The detail disagrees with the call's own code or message: trust the call.
        return None
    return status


_Detail = TypeVar("_Detail", error_details_pb2.BadRequest, error_details_pb2.ErrorInfo)


def _unpack(status: status_pb2.Status | None, kind: type[_Detail]) -> _Detail | None:
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(kind.DESCRIPTOR):
            message = kind()
            detail.Unpack(message)
            return message
    return None


def _violations(status: status_pb2.Status | None) -> tuple[tuple[str, str], ...]:
    bad_request = _unpack(status, error_details_pb2.BadRequest)
    if bad_request is None:
        return ()
    return tuple((v.field, v.description) for v in bad_request.field_violations)


def _connection_error(socket_path: str, details: str) -> PinletConnectionError:
    # gRPC core's text repeats the address and nests its own codes; say what a person can act on.
    if not os.path.exists(socket_path):
        why = "no such socket"
    elif "connection refused" in details.lower():
        why = "nothing is listening on it (connection refused)"
    else:
        why = details
    return PinletConnectionError(
        socket_path,
        f"cannot connect to pinlet at {socket_path}: {why}; is the pinlet service running? "
        "Start it with 'pinlet serve'",
    )


def error_from_rpc(err: grpc.RpcError, socket_path: str = DEFAULT_SOCKET) -> PinletError:
    """The typed error for a failed call: the one place status codes and details are decoded.

    INVALID_ARGUMENT and NOT_FOUND carry a ``google.rpc.BadRequest`` naming the field;
    FAILED_PRECONDITION an ``ErrorInfo`` whose reason picks the admission error class;
    UNAVAILABLE is the service's "could not save, retry" unless gRPC itself could not reach
    the socket, which is a :class:`PinletConnectionError`.
    """
    if isinstance(err, grpc.Call):
        code, details = err.code(), err.details() or ""
    else:
        code, details = grpc.StatusCode.UNKNOWN, str(err)
    # Never an empty message: a bare status (the health service's NOT_FOUND) has no details.
    details = details or code.name
    status = _rich_status(err)
    result: PinletError
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = _violations(status)
        field, message = violations[0] if violations else ("", details)
        result = InvalidArgument(field, message, violations)
    elif code == grpc.StatusCode.NOT_FOUND:
        violations = _violations(status)
        field, message = violations[0] if violations else ("", details)
        result = NotFound(field, message)
    elif code == grpc.StatusCode.FAILED_PRECONDITION:
        info = _unpack(status, error_details_pb2.ErrorInfo)
        if info is None:
            result = PinletError(details)
            result.reason = "FailedPrecondition"
        else:
            metadata = dict(info.metadata)
            # Another domain's reason that happens to share a name is not the kubelet's.
            ours = info.domain in ("", ERROR_DOMAIN)
            cls = (
                _ADMISSION_ERRORS.get(info.reason, AdmissionRejected) if ours else AdmissionRejected
            )
            result = cls(
                info.reason,
                metadata.get("message") or details,
                pod_uid=metadata.get("pod_uid", ""),
                container=metadata.get("container", ""),
            )
    elif code == grpc.StatusCode.UNAVAILABLE:
        transport = status is None and any(t in details.lower() for t in _TRANSPORT_FAILURES)
        result = _connection_error(socket_path, details) if transport else Unavailable(details)
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        result = PinletTimeout(
            socket_path, f"pinlet at {socket_path} did not answer in time ({details})"
        )
    else:
        result = PinletError(details or code.name)
        # UNIMPLEMENTED → "Unimplemented": the same word style as the other reasons.
        result.reason = "".join(part.capitalize() for part in code.name.split("_"))
    result.code = code.name
    return result
