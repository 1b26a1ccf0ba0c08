"""The errors the client raises, one class per way a call can fail.

::

    PinletError                     base; ``reason`` is a short word for logs and the CLI
    ├── InvalidArgument             malformed request (``field`` names it)
    ├── NotFound                    unknown pod or container (``field`` names it)
    ├── AdmissionRejected           the pod cannot be admitted; ``reason`` is the kubelet's
    │   ├── TopologyAffinityError
    │   ├── SMTAlignmentError
    │   └── UnexpectedAdmissionError
    ├── Unavailable                 the service could not save its state (retryable)
    ├── PinletConnectionError       nothing answers on the socket (retryable)
    │   └── PinletTimeout           no answer within the timeout (retryable)
    └── ManifestError               a Pod manifest the client cannot read (``field`` named)

``retryable`` tells whether the same call may simply be made again: every mutating call of the
API is idempotent, so after an :class:`Unavailable` or a timeout a retry is safe.
"""

from __future__ import annotations

from typing import ClassVar

# The class names are the gRPC status words (InvalidArgument, NotFound, Unavailable) and the
# kubelet's reasons, which callers already know, rather than pep8-naming's "...Error" suffix.


class PinletError(Exception):
    """Base of every error the client raises."""

    reason: str = "Error"
    """A short name for the kind of failure (``InvalidArgument``, ``SMTAlignmentError`` …)."""
    retryable: ClassVar[bool] = False
    """True when making the same call again may succeed."""
    code: str = ""
    """The gRPC status code name (``FAILED_PRECONDITION`` …) when the error came from a call."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(PinletError):  # noqa: N818
    """The service refused the request as malformed; ``field`` is the offending field path.

    ``violations`` holds every (field, description) pair the service reported; ``field`` and
    ``message`` are the first one.
    """

    reason = "InvalidArgument"

    def __init__(
        self, field: str, message: str, violations: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.violations = violations or ((field, message),)


class NotFound(PinletError):  # noqa: N818
    """The pod or container named in the request is not known; ``field`` names which."""

    reason = "NotFound"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class AdmissionRejected(PinletError):  # noqa: N818
    """The pod cannot be admitted; ``reason`` is the kubelet's admission failure reason.

    ``pod_uid`` and ``container`` say which pod and container failed, when the service said.
    Raised as this base class, with the service's reason kept, for a reason that has no
    subclass (``ConfigError``: the service's configuration cannot serve the request).
    """

    reason = "UnexpectedAdmissionError"

    def __init__(self, reason: str, message: str, pod_uid: str = "", container: str = "") -> None:
        super().__init__(message)
        # An instance keeps the service's exact reason even when it is one this client does
        # not know yet (and so was raised as the base class).
        self.reason = reason
        self.pod_uid = pod_uid
        self.container = container


class TopologyAffinityError(AdmissionRejected):
    """No NUMA placement satisfies the topology manager policy (``single-numa-node`` …)."""

    reason = "TopologyAffinityError"


class SMTAlignmentError(AdmissionRejected):
    """``full-pcpus-only`` could not give whole physical cores."""

    reason = "SMTAlignmentError"


class UnexpectedAdmissionError(AdmissionRejected):
    """The allocator could not hand out what was asked (not enough CPUs …)."""

    reason = "UnexpectedAdmissionError"


class Unavailable(PinletError):  # noqa: N818
    """The service is up but could not complete the call (its state could not be written)."""

    reason = "Unavailable"
    retryable = True


class PinletConnectionError(PinletError):
    """Nothing answered on the socket: no such file, nobody listening, or the server went away."""

    reason = "ConnectionError"
    retryable = True

    def __init__(self, socket_path: str, message: str) -> None:
        super().__init__(message)
        self.socket_path = socket_path


class PinletTimeout(PinletConnectionError):  # noqa: N818
    """The service did not answer within the call's timeout.

    The call may still have taken effect on the server; since every call is idempotent, making
    it again is the way to find out.
    """

    reason = "Timeout"


class ManifestError(PinletError, ValueError):
    """A Pod manifest the client cannot turn into a pod; ``field`` is the path in the document."""

    reason = "ManifestError"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
