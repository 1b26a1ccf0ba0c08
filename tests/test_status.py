"""Domain errors → gRPC status: every error class mapped, details as documented."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2

import pinlet.server
from pinlet.server.errors import (
    AdmissionError,
    CheckpointError,
    CheckpointVersionError,
    ConfigError,
    CorruptCheckpointError,
    CPUAllocationFailedError,
    DiscoveryError,
    InvalidRequestError,
    NotEnoughCPUsError,
    PinletError,
    PolicyOptionError,
    SMTAlignmentError,
    StateError,
    TopologyAffinityError,
)
from pinlet.server.manager import NotFoundError
from pinlet.server.status import DOMAIN, INTERNAL_MESSAGE, MAPPING, code_for, to_rpc_status

UID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def _all_error_classes() -> set[type[PinletError]]:
    # Import every server module, so that error classes defined outside errors.py (such as
    # the manager's NotFoundError) are subclasses by the time we enumerate them.
    for module in pkgutil.iter_modules(pinlet.server.__path__):
        importlib.import_module(f"pinlet.server.{module.name}")
    found: set[type[PinletError]] = set()
    pending: list[type[PinletError]] = [PinletError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return found


def _detail(status: Any, kind: Any) -> Any:
    (packed,) = status.details
    assert packed.Is(kind.DESCRIPTOR)
    detail = kind()
    packed.Unpack(detail)
    return detail


@pytest.mark.parametrize(
    "cls", sorted(_all_error_classes(), key=lambda c: c.__qualname__), ids=lambda c: c.__name__
)
def test_every_error_class_has_a_mapping(cls: type[PinletError]) -> None:
    """Each PinletError subclass in pinlet.server is covered by an explicit MAPPING entry."""
    assert any(issubclass(cls, mapped) for mapped, _ in MAPPING)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        pytest.param(InvalidRequestError("pod.uid", "bad"), grpc.StatusCode.INVALID_ARGUMENT),
        pytest.param(NotFoundError("pod_uid", "unknown"), grpc.StatusCode.NOT_FOUND),
        pytest.param(SMTAlignmentError(3, 2), grpc.StatusCode.FAILED_PRECONDITION),
        pytest.param(TopologyAffinityError(), grpc.StatusCode.FAILED_PRECONDITION),
        pytest.param(NotEnoughCPUsError(40, 30), grpc.StatusCode.FAILED_PRECONDITION),
        pytest.param(CPUAllocationFailedError(), grpc.StatusCode.FAILED_PRECONDITION),
        pytest.param(AdmissionError("?"), grpc.StatusCode.FAILED_PRECONDITION),
        pytest.param(ConfigError("cpuManagerPolicy", "x"), grpc.StatusCode.FAILED_PRECONDITION),
        pytest.param(PolicyOptionError("x"), grpc.StatusCode.FAILED_PRECONDITION),
        pytest.param(CheckpointError("/s", "disk full"), grpc.StatusCode.UNAVAILABLE),
        pytest.param(CorruptCheckpointError("/s", "empty file"), grpc.StatusCode.UNAVAILABLE),
        pytest.param(CheckpointVersionError("/s", 9, (1,)), grpc.StatusCode.UNAVAILABLE),
        pytest.param(StateError("x"), grpc.StatusCode.UNAVAILABLE),
        pytest.param(DiscoveryError("/sys", "x"), grpc.StatusCode.INTERNAL),
        pytest.param(PinletError("x"), grpc.StatusCode.INTERNAL),
        pytest.param(RuntimeError("x"), grpc.StatusCode.INTERNAL),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v.name,
)
def test_status_code_of_each_error(exc: BaseException, code: grpc.StatusCode) -> None:
    """code_for and the google.rpc.Status carry the documented code for each error."""
    assert code_for(exc) == code
    assert to_rpc_status(exc).code == code.value[0]


@pytest.mark.parametrize(
    "exc",
    [
        InvalidRequestError("pod.containers[0].resources.limits.cpu", "bad quantity"),
        NotFoundError("pod_uid", "pod is not known"),
    ],
    ids=["invalid", "not-found"],
)
def test_request_errors_carry_a_bad_request(exc: InvalidRequestError) -> None:
    """A request error's BadRequest names the error's field with its message."""
    status = to_rpc_status(exc)
    detail = _detail(status, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in detail.field_violations] == [(exc.field, exc.message)]
    assert status.message == str(exc)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (SMTAlignmentError(3, 2), "SMTAlignmentError"),
        (TopologyAffinityError(), "TopologyAffinityError"),
        (NotEnoughCPUsError(40, 30), "UnexpectedAdmissionError"),
        (CPUAllocationFailedError(), "UnexpectedAdmissionError"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_admission_errors_carry_error_info(exc: AdmissionError, reason: str) -> None:
    """An admission failure's ErrorInfo has the kubelet's reason, pinlet's domain and the pod."""
    status = to_rpc_status(exc, pod_uid=UID, container="app")
    info = _detail(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == (reason, DOMAIN)
    assert dict(info.metadata) == {"pod_uid": UID, "container": "app", "message": str(exc)}


def test_admission_error_without_container_has_no_container_key() -> None:
    """A whole-pod admission failure leaves ``container`` out of the metadata."""
    info = _detail(to_rpc_status(TopologyAffinityError(), pod_uid=UID), error_details_pb2.ErrorInfo)
    assert set(info.metadata) == {"pod_uid", "message"}


def test_config_error_carries_its_field() -> None:
    """A ConfigError's ErrorInfo names the configuration field."""
    info = _detail(
        to_rpc_status(ConfigError("cpuManagerPolicyOptions", "nope")), error_details_pb2.ErrorInfo
    )
    assert (info.reason, info.domain) == ("ConfigError", DOMAIN)
    assert dict(info.metadata) == {"field": "cpuManagerPolicyOptions", "message": "nope"}


def test_retryable_state_errors_have_no_details() -> None:
    """A failed durable write is UNAVAILABLE with the error's message and no details."""
    exc = CheckpointError("/var/lib/kubelet/pinlet/pinlet_state", "could not write: ENOSPC")
    status = to_rpc_status(exc)
    assert (status.code, status.message, list(status.details)) == (
        code_pb2.UNAVAILABLE,
        str(exc),
        [],
    )


@pytest.mark.parametrize(
    "exc", [RuntimeError("secret /etc/shadow"), KeyError("k"), DiscoveryError("/sys", "broken")]
)
def test_unexpected_errors_do_not_leak(exc: Exception) -> None:
    """Anything unexpected is INTERNAL with a generic message, no details."""
    status = to_rpc_status(exc, pod_uid=UID)
    assert (status.code, status.message, list(status.details)) == (
        code_pb2.INTERNAL,
        INTERNAL_MESSAGE,
        [],
    )
