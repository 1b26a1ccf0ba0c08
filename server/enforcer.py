"""Keeping the containers' cgroups in line with the decisions: apply, reconcile, dry run.

The manager decides; this writes. After every state change the manager calls
:meth:`Enforcer.apply`, which works out each bound container's cpuset (its exclusive CPUs, its
pod's shared pool, or the node's shared pool) and rewrites the ones that changed, **narrowing
first and widening after**: when a Guaranteed container is admitted, the shared containers lose
its CPUs before it gets them, so no CPU is ever in two containers' cpusets, and no container is
ever left with an empty one (the writer refuses empty sets).

The reconcile loop (every ``cpuManagerReconcilePeriod``, 10 s by default, and on demand) reads
the files back, rewrites any drift (somebody else wrote the file, or a write failed earlier)
and counts it; a container whose cgroup has vanished has died, so it is removed from the state,
never a crash. In dry-run mode nothing is written: pinlet only advises, and the log says what it
would have written.

Only containers bound with ``AddContainer`` are enforced: before that there is no cgroup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import structlog

from .cgroups import CpusetWriter, Driver, QOSClass, Runtime, container_cgroup
from .cpuset import CPUSet
from .errors import CgroupError, CgroupNotFoundError

Target = tuple[str, str]  # pod uid, container name
Desired = Mapping[Target, tuple[str, CPUSet, CPUSet]]  # → (cgroup path, cpus, mems)

_log = structlog.get_logger("pinlet.cgroups")


@dataclass(frozen=True)
class ReconcileReport:
    """What one reconcile pass did."""

    checked: int
    drifted: int
    vanished: tuple[Target, ...]
    errors: int


class Enforcer:
    """Writes desired cpusets into cgroups (or, with ``writer=None``, only says it would)."""

    def __init__(
        self,
        writer: CpusetWriter | None,
        *,
        driver: Driver = "cgroupfs",
        runtime: Runtime = "containerd",
    ) -> None:
        self.writer = writer
        self.driver = driver
        self.runtime = runtime
        self._applied: dict[Target, tuple[str, CPUSet, CPUSet]] = {}
        self._lock = threading.Lock()

    @property
    def dry_run(self) -> bool:
        return self.writer is None

    def cgroup_path(self, pod_uid: str, qos_class: str, container_id: str, given: str) -> str:
        """The caller's explicit cgroup path, or the kubelet's layout for this container."""
        if given:
            return given
        # container_cgroup checks the QoS class itself; the records hold it as a string.
        return container_cgroup(
            self.driver, cast(QOSClass, qos_class), pod_uid, container_id, self.runtime
        )

    def apply(self, desired: Desired) -> list[Target]:
        """Bring every changed container to its desired cpuset; the containers that vanished."""
        with self._lock:
            changed = {t: d for t, d in desired.items() if self._applied.get(t) != d}
            for target in [t for t in self._applied if t not in desired]:
                del self._applied[target]  # removed from the state: nothing left to write

            # Narrow first: a container that loses CPUs must lose them before another
            # container is given them.
            def widens(item: tuple[Target, tuple[str, CPUSet, CPUSet]]) -> bool:
                target, (_, cpus, mems) = item
                before = self._applied.get(target)
                return before is not None and cpus >= before[1] and mems >= before[2]

            ordered = sorted(changed.items(), key=widens)
            vanished: list[Target] = []
            for target, (path, cpus, mems) in ordered:
                if self._write(target, path, cpus, mems, vanished):
                    self._applied[target] = (path, cpus, mems)
            return vanished

    def _write(
        self, target: Target, path: str, cpus: CPUSet, mems: CPUSet, vanished: list[Target]
    ) -> bool:
        event = {"pod_uid": target[0], "container": target[1], "cgroup": path}
        if self.writer is None:
            _log.info("dry run: would write cpuset", cpus=str(cpus), mems=str(mems), **event)
            return True
        try:
            self.writer.apply(path, cpus, mems)
        except CgroupNotFoundError:
            _log.info("container cgroup vanished", **event)
            vanished.append(target)
            return False
        except CgroupError as exc:
            # Logged and retried by the next reconcile pass; one bad cgroup must not stop the
            # others from being written.
            _log.warning("cpuset write failed", error=str(exc), **event)
            return False
        _log.info("cpuset written", cpus=str(cpus), mems=str(mems), **event)
        return True

    def reconcile(self, desired: Desired) -> ReconcileReport:
        """Compare the files with the decisions and rewrite what drifted."""
        if self.writer is None:
            return ReconcileReport(len(desired), 0, (), 0)
        drifted = errors = 0
        vanished: list[Target] = []
        with self._lock:
            for target, (path, cpus, mems) in desired.items():
                try:
                    actual = self.writer.read(path)
                except CgroupNotFoundError:
                    vanished.append(target)
                    continue
                except CgroupError:
                    errors += 1
                    continue
                if actual == (cpus, mems):
                    self._applied[target] = (path, cpus, mems)
                    continue
                drifted += 1
                _log.warning(
                    "cpuset drift",
                    pod_uid=target[0],
                    container=target[1],
                    want_cpus=str(cpus),
                    found_cpus=str(actual[0]),
                    want_mems=str(mems),
                    found_mems=str(actual[1]),
                )
                self._applied.pop(target, None)
                if not self._write(target, path, cpus, mems, vanished):
                    errors += 1
                else:
                    self._applied[target] = (path, cpus, mems)
        return ReconcileReport(len(desired), drifted, tuple(vanished), errors)


class ReconcileLoop:
    """Runs ``tick`` every ``period`` seconds in a daemon thread until stopped."""

    def __init__(self, period: float, tick: Callable[[], object]) -> None:
        self.period = period
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pinlet-reconcile", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(1.0, self.period))

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.tick()
            except Exception:
                _log.exception("reconcile pass failed")
