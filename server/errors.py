"""pinlet's domain errors.

The tree::

    PinletError
    ├── DiscoveryError            a sysfs tree or machine description that cannot be read
    ├── ConfigError               a configuration value the kubelet would refuse (``field`` named)
    │   └── PolicyOptionError     a bad ``cpuManagerPolicyOptions`` entry
    ├── InvalidRequestError       a malformed request (``field`` named)
    ├── StateError                a restored state that fails the policy's validation
    ├── CheckpointError           the checkpoint file cannot be read or written (``path`` named)
    │   ├── CorruptCheckpointError   damaged or not a pinlet checkpoint (``reason``); delete it
    │   └── CheckpointVersionError   a format version this build does not read (``version``)
    ├── AdmissionError            the pod cannot be admitted; ``reason`` is the kubelet's reason
    │   ├── SMTAlignmentError     full-pcpus-only refused the request (reason SMTAlignmentError)
    │   ├── TopologyAffinityError no NUMA placement satisfies the topology policy
    │   └── AllocationError       the allocator ran out (reason UnexpectedAdmissionError)
    │       ├── NotEnoughCPUsError
    │       └── CPUAllocationFailedError
    └── CgroupError               the cgroup filesystem cannot be used as asked (layout, path)
        ├── CgroupNotFoundError   the cgroup directory is gone (the container died)
        └── CgroupWriteError      the kernel refused a cgroup write (``path``, ``value``, ``errno``)

Messages are the kubelet's own texts where it has them, so operators can search for them.
"""

from __future__ import annotations

import errno as _errno


class PinletError(Exception):
    """Base of every error pinlet raises on purpose."""


class DiscoveryError(PinletError):
    """A machine model could not be built; ``path`` names the file that was wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class ConfigError(PinletError):
    """A configuration value is invalid; ``field`` names it in the kubelet's vocabulary."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message if not field else f"{field}: {message}")
        self.field = field
        self.message = message


class PolicyOptionError(ConfigError):
    """A CPU manager policy option is unknown, not enabled, malformed or incompatible."""

    def __init__(self, message: str) -> None:
        super().__init__("cpuManagerPolicyOptions", message)


class InvalidRequestError(PinletError):
    """A request is malformed; ``field`` is the path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StateError(PinletError):
    """Restored state does not agree with the policy and the machine (``validateState``)."""


class AdmissionError(PinletError):
    """The pod cannot be admitted. ``reason`` becomes the pod's admission failure reason.

    ``container`` names the container whose admission failed, once the service knows it.
    """

    reason = "UnexpectedAdmissionError"
    container = ""


class SMTAlignmentError(AdmissionError):
    """``full-pcpus-only`` cannot give whole physical cores (kubelet ``SMTAlignmentError``)."""

    reason = "SMTAlignmentError"

    def __init__(
        self,
        requested_cpus: int,
        cpus_per_core: int,
        available_physical_cpus: int = 0,
        *,
        caused_by_physical_cpus: bool = False,
    ) -> None:
        self.requested_cpus = requested_cpus
        self.cpus_per_core = cpus_per_core
        self.available_physical_cpus = available_physical_cpus
        self.caused_by_physical_cpus = caused_by_physical_cpus
        if caused_by_physical_cpus:
            text = (
                "SMT Alignment Error: not enough free physical CPUs: available physical CPUs = "
                f"{available_physical_cpus}, requested CPUs = {requested_cpus}, "
                f"CPUs per core = {cpus_per_core}"
            )
        else:
            text = (
                f"SMT Alignment Error: requested {requested_cpus} cpus not multiple cpus "
                f"per core = {cpus_per_core}"
            )
        super().__init__(text)


class TopologyAffinityError(AdmissionError):
    """The merged NUMA hint is not admissible under the topology manager policy."""

    reason = "TopologyAffinityError"

    def __init__(
        self, message: str = "Resources cannot be allocated with Topology locality"
    ) -> None:
        super().__init__(message)


class EmptyPodSharedPoolError(AdmissionError):
    """KEP-5526, pod scope: the exclusive slices would use the whole pod budget while a
    container that needs the pod's shared pool exists."""

    reason = "EmptyPodSharedPoolError"


class AllocationError(AdmissionError):
    """The allocator could not hand out what was asked (an ``UnexpectedAdmissionError``)."""


class NotEnoughCPUsError(AllocationError):
    """Fewer CPUs are available than the request needs."""

    def __init__(self, requested: int, available: int) -> None:
        super().__init__(
            "not enough cpus available to satisfy request: "
            f"requested={requested}, available={available}"
        )
        self.requested = requested
        self.available = available


class CPUAllocationFailedError(AllocationError):
    """The accumulator ended unsatisfied (``failed to allocate cpus``)."""

    def __init__(self, message: str = "failed to allocate cpus") -> None:
        super().__init__(message)


class CheckpointError(PinletError):
    """The checkpoint file could not be read or written; ``path`` names it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class CorruptCheckpointError(CheckpointError):
    """The checkpoint exists but cannot be trusted; ``reason`` says what is wrong with it.

    Worded like the kubelet's restore error, because the remedy is the same: the state it held
    is lost, so the node must be drained before the file is deleted.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            path,
            f"could not restore state from checkpoint {path}: checkpoint is corrupted "
            f"({reason}), please drain this node and delete the pinlet checkpoint file "
            f'"{path}" before restarting pinlet',
        )
        self.reason = reason


class CheckpointVersionError(CheckpointError):
    """The checkpoint was written in a format ``version`` this build cannot read.

    Usually a downgrade: a newer pinlet wrote it. Running a pinlet that reads it keeps the
    state; otherwise the node must be drained and the file deleted.
    """

    def __init__(self, path: str, version: int, supported: tuple[int, ...]) -> None:
        readable = ", ".join(str(v) for v in supported)
        super().__init__(
            path,
            f"could not restore state from checkpoint {path}: checkpoint version {version} "
            f"is not supported (this build of pinlet reads version {readable}), please run a "
            f"pinlet that reads version {version}, or drain this node and delete the pinlet "
            f'checkpoint file "{path}" before restarting pinlet',
        )
        self.version = version
        self.supported = supported


class CgroupError(PinletError):
    """The cgroup filesystem cannot be used as asked: no cpuset hierarchy, a path outside it."""


class CgroupNotFoundError(CgroupError):
    """The cgroup directory (or its file) does not exist; for a container, it has exited."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: cgroup does not exist (the container has probably exited)")
        self.path = path


# Why each errno comes back from a cpuset write, as observed on a real v1 hierarchy and in the
# kernel's cpuset.c; operators see these words instead of a bare "Permission denied".
_CGROUP_ERRNO_REASONS = {
    _errno.EACCES: "not a subset of the parent cgroup's cpuset (or read-only root)",
    _errno.ERANGE: "CPU not present on this machine",
    _errno.ENOSPC: "would leave tasks with an empty cpuset",
    _errno.EBUSY: "a child cgroup still uses CPUs being removed",
    _errno.EINVAL: "malformed value or node not online",
}


class CgroupWriteError(CgroupError):
    """Writing ``value`` to the cgroup file ``path`` failed.

    ``errno`` is the kernel's errno, or ``None`` when pinlet refused the write before making it
    (``reason`` then says why).
    """

    def __init__(self, path: str, value: str, errno: int | None, reason: str | None = None) -> None:
        if reason is None:
            reason = _CGROUP_ERRNO_REASONS.get(errno or 0, "the kernel refused the write")
        code = (
            "refused by pinlet"
            if errno is None
            else f"{_errno.errorcode.get(errno, 'errno')} {errno}"
        )
        super().__init__(f"writing {value!r} to {path} failed ({code}): {reason}")
        self.path = path
        self.value = value
        self.errno = errno
        self.reason = reason
