"""pinlet.client: a thin typed client for the pinlet service.

It depends only on grpcio, grpcio-status, protobuf, PyYAML and the generated v1alpha1 code (never
on ``pinlet.server``), so it can be vendored into a kubelet shim or an operator's tooling.
"""

from .client import DEFAULT_SOCKET, DEFAULT_TIMEOUT, PinletClient, error_from_rpc
from .errors import (
    AdmissionRejected,
    InvalidArgument,
    ManifestError,
    NotFound,
    PinletConnectionError,
    PinletError,
    PinletTimeout,
    SMTAlignmentError,
    TopologyAffinityError,
    Unavailable,
    UnexpectedAdmissionError,
)
from .manifest import load_pod_manifest, pod_from_manifest
from .models import (
    Allocatable,
    ContainerAssignment,
    ContainerMemory,
    ContainerSpec,
    HintsResult,
    MemoryResource,
    NUMANodeResources,
    PodAssignment,
    PodSpec,
    ProviderHints,
    ReconcileResult,
    RemoveResult,
    ResourceHints,
    ResourceRequirements,
    TopologyHint,
)

__all__ = [
    "DEFAULT_SOCKET",
    "DEFAULT_TIMEOUT",
    "AdmissionRejected",
    "Allocatable",
    "ContainerAssignment",
    "ContainerMemory",
    "ContainerSpec",
    "HintsResult",
    "InvalidArgument",
    "ManifestError",
    "MemoryResource",
    "NUMANodeResources",
    "NotFound",
    "PinletClient",
    "PinletConnectionError",
    "PinletError",
    "PinletTimeout",
    "PodAssignment",
    "PodSpec",
    "ProviderHints",
    "ReconcileResult",
    "RemoveResult",
    "ResourceHints",
    "ResourceRequirements",
    "SMTAlignmentError",
    "TopologyAffinityError",
    "TopologyHint",
    "Unavailable",
    "UnexpectedAdmissionError",
    "error_from_rpc",
    "load_pod_manifest",
    "pod_from_manifest",
]
