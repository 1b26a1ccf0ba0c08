"""The service's state: CPU manager state plus what pinlet knows of each admitted pod.

Pure values and their JSON-able form for the checkpoint. The checkpoint's ``data`` is::

    {
      "policy":  {"cpuManagerPolicy": "static", "cpuManagerPolicyOptions": {...},
                  "reservedCPUs": "0,16", "topologyManagerPolicy": "best-effort",
                  "topologyManagerScope": "container"},
      "machine": {"cpus": "0-31", "fingerprint": "sha256:..."},
      "cpu":     {"defaultCpuSet": "0,5-31", "entries": {"<pod uid>": {"<container>": "1-4"}}},
      "pods":    {"<pod uid>": {"uid": ..., "name": ..., "namespace": ..., "qosClass": ...,
                   "containers": [{"name": "app", "kind": "app", "affinity": "0",
                                   "containerId": "", "cgroupPath": ""}]}},
      "generation": 7
    }

``generation`` belongs to :mod:`pinlet.server.journal`, which appends per-RPC changes
(``pods.<uid>``, ``cpu.entries.<uid>``, ``cpu.defaultCpuSet``) between snapshots.

``cpu`` is shaped like the kubelet's ``cpu_manager_state`` (v2) so operators recognise it.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from .cpu_policy import CPUState
from .cpuset import MAX_NUMA_NODES, CpuListError, CPUSet
from .memory_policy import MemoryState
from .topology import Topology


class ContainerKind(enum.Enum):
    """Where a container sits in its pod."""

    INIT = "init"
    SIDECAR = "sidecar"
    APP = "app"


@dataclass(frozen=True)
class ContainerRecord:
    """An admitted container: its NUMA affinity and, once bound, its runtime identity."""

    name: str
    kind: ContainerKind
    affinity: CPUSet | None = None
    container_id: str = ""
    cgroup_path: str = ""
    isolation: str = ""
    """``pod-exclusive`` or ``pod-shared`` for a container of a KEP-5526 pod-scope pod;
    empty otherwise (node-exclusive or node-shared, read from the CPU state)."""


@dataclass(frozen=True)
class PodRecord:
    """An admitted pod."""

    uid: str
    name: str
    namespace: str
    qos_class: str
    containers: tuple[ContainerRecord, ...]

    def container(self, name: str) -> ContainerRecord | None:
        for c in self.containers:
            if c.name == name:
                return c
        return None

    def with_container(self, record: ContainerRecord) -> PodRecord:
        kept = tuple(record if c.name == record.name else c for c in self.containers)
        if all(c.name != record.name for c in self.containers):
            kept = (*kept, record)
        return replace(self, containers=kept)


@dataclass(frozen=True)
class ManagerState:
    """Everything the service decided, as one immutable snapshot."""

    cpu: CPUState
    memory: MemoryState
    pods: Mapping[str, PodRecord] = field(default_factory=lambda: MappingProxyType({}))
    """Pod uid → record, in admission order."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pods", MappingProxyType(dict(self.pods)))


def cpu_fingerprint(topology: Topology) -> str:
    """A digest of the CPU layout the CPU state depends on (online CPUs and their places)."""
    rows = ";".join(f"{c.cpu}:{c.socket}:{c.core}:{c.numa}" for c in topology.cpu_info.values())
    return "sha256:" + hashlib.sha256(rows.encode()).hexdigest()


def _cpuset(value: Any, where: str) -> CPUSet:
    if not isinstance(value, str):
        raise ValueError(f"{where}: must be a cpulist string")
    try:
        return CPUSet.parse(value)
    except CpuListError as exc:
        raise ValueError(f"{where}: {exc}") from None


def cpu_state_to_dict(cpu: CPUState) -> dict[str, Any]:
    return {
        "defaultCpuSet": str(cpu.default_cpuset),
        "entries": {pod: entries_to_dict(c) for pod, c in cpu.assignments.items()},
        "podEntries": {pod: {"cpuSet": str(block)} for pod, block in cpu.pod_entries.items()},
    }


def pod_to_dict(p: PodRecord) -> dict[str, Any]:
    return {
        "uid": p.uid,
        "name": p.name,
        "namespace": p.namespace,
        "qosClass": p.qos_class,
        "containers": [
            {
                "name": c.name,
                "kind": c.kind.value,
                "affinity": None if c.affinity is None else str(c.affinity),
                "containerId": c.container_id,
                "cgroupPath": c.cgroup_path,
                "isolation": c.isolation,
            }
            for c in p.containers
        ],
    }


def pods_to_dict(pods: Mapping[str, PodRecord]) -> dict[str, Any]:
    return {uid: pod_to_dict(p) for uid, p in pods.items()}


def entries_to_dict(containers: Mapping[str, CPUSet]) -> dict[str, str]:
    return {name: str(cpus) for name, cpus in containers.items()}


def _require(d: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise ValueError(f"{where}.{key}: missing")
    value = d[key]
    if not isinstance(value, kind):
        raise ValueError(f"{where}.{key}: must be a {kind.__name__}")
    return value


def cpu_state_from_dict(d: Any) -> CPUState:
    """Rebuild the CPU state; ``ValueError`` names the bad field (e.g. ``cpu.entries.<pod>``)."""
    default = _cpuset(_require(d, "defaultCpuSet", str, "cpu"), "cpu.defaultCpuSet")
    entries = _require(d, "entries", dict, "cpu")
    assignments: dict[str, dict[str, CPUSet]] = {}
    for pod, containers in entries.items():
        if not isinstance(containers, dict):
            raise ValueError(f"cpu.entries.{pod}: must be an object")
        assignments[pod] = {
            name: _cpuset(cpus, f"cpu.entries.{pod}.{name}") for name, cpus in containers.items()
        }
    pod_entries: dict[str, CPUSet] = {}
    raw = d.get("podEntries", {})  # absent in states written without pod-level pods
    if not isinstance(raw, dict):
        raise ValueError("cpu.podEntries: must be an object")
    for pod, entry in raw.items():
        if not isinstance(entry, dict):
            raise ValueError(f"cpu.podEntries.{pod}: must be an object")
        pod_entries[pod] = _cpuset(entry.get("cpuSet"), f"cpu.podEntries.{pod}.cpuSet")
    return CPUState(default_cpuset=default, assignments=assignments, pod_entries=pod_entries)


def pods_from_dict(items: Any) -> dict[str, PodRecord]:
    if not isinstance(items, dict):
        raise ValueError("pods: must be an object")
    pods: dict[str, PodRecord] = {}
    for key, p in items.items():
        where = f"pods.{key}"
        containers = []
        for j, c in enumerate(_require(p, "containers", list, where)):
            cw = f"{where}.containers[{j}]"
            affinity = c.get("affinity") if isinstance(c, dict) else None
            try:
                kind = ContainerKind(_require(c, "kind", str, cw))
            except ValueError:
                raise ValueError(f"{cw}.kind: unknown container kind") from None
            containers.append(
                ContainerRecord(
                    name=_require(c, "name", str, cw),
                    kind=kind,
                    affinity=None
                    if affinity is None
                    else CPUSet.parse(_require(c, "affinity", str, cw), limit=MAX_NUMA_NODES),
                    container_id=_require(c, "containerId", str, cw),
                    cgroup_path=_require(c, "cgroupPath", str, cw),
                    isolation=c.get("isolation", "") if isinstance(c.get("isolation"), str) else "",
                )
            )
        uid = _require(p, "uid", str, where)
        if uid != key:
            raise ValueError(f"{where}.uid: {uid!r} does not match its key")
        pods[uid] = PodRecord(
            uid=uid,
            name=_require(p, "name", str, where),
            namespace=_require(p, "namespace", str, where),
            qos_class=_require(p, "qosClass", str, where),
            containers=tuple(containers),
        )
    return pods
