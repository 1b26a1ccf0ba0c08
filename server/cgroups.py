"""Writing CPU and NUMA placements into real cpuset cgroups (v1 and v2).

Three pieces:

* ``detect_version`` / ``detect_driver`` find out what the node has: the cgroup version that
  carries the cpuset controller, and whether the kubelet uses the ``cgroupfs`` or ``systemd``
  driver (which decides the directory names).
* ``container_cgroup`` builds the container's cgroup path, relative to the cpuset hierarchy
  root, exactly as the kubelet and the runtimes lay it out. It is pure.
* ``CpusetWriter`` writes ``cpuset.cpus``/``cpuset.mems`` and reads them back.

The writer exists because cgroup writes fail in ways that are easy to lose (peers.md pain 12):
buffered Python writes swallow the kernel's errno, and v1 refuses a child cpuset that is not a
subset of its parent's (EACCES), a narrowing that strands a child (EBUSY) and an empty set on a
cgroup with tasks (ENOSPC). So it writes unbuffered, maps every errno to ``CgroupWriteError``,
widens ancestors top-down before writing a container, and never writes an empty set.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Final, Literal

from . import ids
from .cpuset import MAX_CPUS, MAX_NUMA_NODES, CPUSet
from .errors import (
    CgroupError,
    CgroupNotFoundError,
    CgroupWriteError,
    InvalidRequestError,
)

Driver = Literal["cgroupfs", "systemd"]
QOSClass = Literal["Guaranteed", "Burstable", "BestEffort"]
Runtime = Literal["containerd", "crio", "docker"]

# The systemd scope name prefix each runtime gives a container (runc's systemd driver names the
# scope "<prefix>-<id>.scope"; koordinator's cgroup_driver.go lists the same three).
_SCOPE_PREFIX: Final[dict[str, str]] = {
    "containerd": "cri-containerd",
    "crio": "crio",
    "docker": "docker",
}
# The QoS level directory under kubepods; Guaranteed pods sit directly in kubepods.
_QOS_DIR: Final[dict[str, str]] = {
    "Guaranteed": "",
    "Burstable": "burstable",
    "BestEffort": "besteffort",
}


class CgroupVersion(enum.Enum):
    """Which cgroup hierarchy carries the cpuset controller."""

    V1 = "v1"
    V2 = "v2"


def detect_version(cgroup_root: str | Path = "/sys/fs/cgroup") -> CgroupVersion:
    """The cgroup version whose hierarchy under ``cgroup_root`` has the cpuset controller."""
    root = Path(cgroup_root)
    # v1 is checked first: on a hybrid host cgroup2 is mounted too (at root or "unified"), but
    # a controller can be bound to one hierarchy only, and a v1 cpuset mount means it is v1's.
    if (root / "cpuset" / "cpuset.cpus").is_file():
        return CgroupVersion.V1
    controllers = root / "cgroup.controllers"
    if controllers.is_file():
        names = controllers.read_text().split()
        if "cpuset" in names:
            return CgroupVersion.V2
        raise CgroupError(
            f"{root} is cgroup v2 but the cpuset controller is not available there "
            f"(cgroup.controllers lists {' '.join(names) or 'nothing'}); pinlet cannot pin "
            "CPUs without it"
        )
    raise CgroupError(
        f"{root} has neither a cgroup v1 cpuset hierarchy (cpuset/cpuset.cpus) nor a cgroup v2 "
        "hierarchy (cgroup.controllers)"
    )


def hierarchy_root(cgroup_root: str | Path, version: CgroupVersion) -> Path:
    """The directory the kubelet's cgroup paths are relative to for ``version``."""
    root = Path(cgroup_root)
    return root / "cpuset" if version is CgroupVersion.V1 else root


def detect_driver(hierarchy: str | Path) -> Driver | None:
    """The kubelet's cgroup driver, from which top-level kubepods directory exists."""
    root = Path(hierarchy)
    systemd = (root / "kubepods.slice").is_dir()
    cgroupfs = (root / "kubepods").is_dir()
    if systemd and cgroupfs:
        # Guessing wrong would pin a stale tree while the live one stays unpinned.
        raise CgroupError(
            f"{root} has both kubepods and kubepods.slice; set the cgroup driver explicitly"
        )
    if systemd:
        return "systemd"
    if cgroupfs:
        return "cgroupfs"
    return None


def container_cgroup(
    driver: Driver, qos: QOSClass, pod_uid: str, container_id: str, runtime: Runtime
) -> str:
    """The container's cgroup path relative to the hierarchy root, as the kubelet lays it out.

    ``runtime`` only matters for the systemd driver, where it names the scope.
    """
    uid = ids.pod_uid(pod_uid)
    cid = ids.container_id(container_id)
    if qos not in _QOS_DIR:
        raise InvalidRequestError("qos", f"{qos!r} is not a QoS class ({', '.join(_QOS_DIR)})")
    if runtime not in _SCOPE_PREFIX:
        raise InvalidRequestError(
            "runtime", f"{runtime!r} is not a runtime ({', '.join(_SCOPE_PREFIX)})"
        )
    level = _QOS_DIR[qos]
    if driver == "cgroupfs":
        parts = ["kubepods", level, f"pod{uid}", cid]
        return "/".join(p for p in parts if p)
    if driver == "systemd":
        # systemd reserves "-" as the slice hierarchy separator, so the kubelet writes the
        # uid's dashes as underscores.
        unit = uid.replace("-", "_")
        scope = f"{_SCOPE_PREFIX[runtime]}-{cid}.scope"
        if not level:
            return f"kubepods.slice/kubepods-pod{unit}.slice/{scope}"
        return f"kubepods.slice/kubepods-{level}.slice/kubepods-{level}-pod{unit}.slice/{scope}"
    raise InvalidRequestError("driver", f"{driver!r} is not a cgroup driver (cgroupfs, systemd)")


class CpusetWriter:
    """Writes and reads the cpuset of cgroups under one hierarchy root."""

    def __init__(self, cgroup_root: str | Path, version: CgroupVersion) -> None:
        self.version = version
        # Resolved once, so a symlinked mount point (cpuset -> cpu,cpuset on some distros)
        # does not make every path look like an escape.
        self.root = Path(os.path.realpath(hierarchy_root(cgroup_root, version)))
        if version is CgroupVersion.V1:
            self._cpus_file, self._mems_file = "cpuset.cpus", "cpuset.mems"
            self._read_cpus, self._read_mems = "cpuset.cpus", "cpuset.mems"
        else:
            self._cpus_file, self._mems_file = "cpuset.cpus", "cpuset.mems"
            # v2's cpuset.cpus is only a request (empty means "inherit"); what the tasks get is
            # the effective file, which is what the kubelet's e2e tests read back too.
            self._read_cpus, self._read_mems = "cpuset.cpus.effective", "cpuset.mems.effective"

    def resolve(self, rel_path: str) -> Path:
        """The absolute directory of ``rel_path``, refusing anything outside the root.

        The empty path is the hierarchy root itself.
        """
        if rel_path.startswith("/"):
            raise CgroupError(f"cgroup path {rel_path!r} must be relative to {self.root}")
        if ".." in rel_path.split("/"):
            raise CgroupError(f"cgroup path {rel_path!r} must not contain '..' (escapes the root)")
        # realpath follows symlinks too: a directory component linked outside the root is
        # caught here, and the paths used afterwards are the resolved ones (no second lookup
        # through the link).
        full = Path(os.path.realpath(self.root / rel_path))
        if full != self.root and self.root not in full.parents:
            raise CgroupError(f"cgroup path {rel_path!r} resolves to {full}, outside {self.root}")
        return full

    def read(self, rel_path: str) -> tuple[CPUSet, CPUSet]:
        """The (cpus, mems) the cgroup's tasks may use."""
        directory = self._existing(rel_path)
        cpus = CPUSet.parse(_read(directory / self._read_cpus))
        mems = CPUSet.parse(_read(directory / self._read_mems), limit=MAX_NUMA_NODES)
        return cpus, mems

    def apply(self, rel_path: str, cpus: CPUSet, mems: CPUSet) -> None:
        """Make the cgroup's cpuset exactly ``cpus``/``mems``, widening ancestors as needed."""
        directory = self._existing(rel_path)
        # An empty cpuset is never a placement: on a cgroup with tasks the kernel refuses it
        # (ENOSPC), and on one without tasks it silently blocks every task from joining.
        for name, value in ((self._cpus_file, cpus), (self._mems_file, mems)):
            if not value:
                raise CgroupWriteError(
                    str(directory / name),
                    "",
                    None,
                    "an empty set would leave the cgroup's tasks nowhere to run; not written",
                )
        self._widen_ancestors(directory, cpus, mems)
        current_cpus = CPUSet.parse(_read(directory / self._cpus_file))
        current_mems = CPUSet.parse(_read(directory / self._mems_file), limit=MAX_NUMA_NODES)
        writes = [
            (self._mems_file, mems, current_mems),
            (self._cpus_file, cpus, current_cpus),
        ]
        # Widening writes go first: if a later narrowing is refused (EBUSY from a child), the
        # cgroup is left with at least what it had, never narrower than both old and new. An
        # unchanged value is not rewritten, which keeps a repeated apply free of side effects.
        writes.sort(key=lambda w: not w[1].issuperset(w[2]))
        for name, new, old in writes:
            if new != old:
                _write(directory / name, str(new))

    def _existing(self, rel_path: str) -> Path:
        directory = self.resolve(rel_path)
        if not directory.is_dir():
            raise CgroupNotFoundError(str(directory))
        return directory

    def _widen_ancestors(self, directory: Path, cpus: CPUSet, mems: CPUSet) -> None:
        # The hierarchy root is read-only and holds every online CPU and node. A value it does
        # not cover can never be written anywhere, so skip the widening: the kernel's refusal
        # then names the container's own file instead of some ancestor's.
        root_cpus = CPUSet.parse(_read(self.root / self._root_cpus_file()))
        root_mems = CPUSet.parse(_read(self.root / self._root_mems_file()), limit=MAX_NUMA_NODES)
        if not cpus.issubset(root_cpus) or not mems.issubset(root_mems):
            return
        ancestors = [p for p in directory.parents if self.root in p.parents]
        # Top-down: v1 checks a write against the parent's current cpuset, so a parent must be
        # wide enough before its child is widened (bottom-up would hit EACCES).
        for ancestor in reversed(ancestors):
            for name, new, limit in (
                (self._mems_file, mems, MAX_NUMA_NODES),
                (self._cpus_file, cpus, MAX_CPUS),
            ):
                current = CPUSet.parse(_read(ancestor / name), limit=limit)
                if self.version is CgroupVersion.V2 and not current:
                    # An empty v2 cpuset.cpus means "inherit the parent's"; writing the union
                    # would turn that into a fixed, narrower set.
                    continue
                if not new.issubset(current):
                    _write(ancestor / name, str(current.union(new)))

    def _root_cpus_file(self) -> str:
        # The v2 root has no cpuset.cpus (it cannot be configured); its effective file lists
        # every online CPU.
        return "cpuset.cpus" if self.version is CgroupVersion.V1 else "cpuset.cpus.effective"

    def _root_mems_file(self) -> str:
        return "cpuset.mems" if self.version is CgroupVersion.V1 else "cpuset.mems.effective"


def _read(path: Path) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read()
    except FileNotFoundError:
        # The directory was checked before; it vanishing now means the container just exited.
        raise CgroupNotFoundError(str(path.parent)) from None


def _write(path: Path, value: str) -> None:
    # os.open/os.write, not open().write(): a buffered write defers the syscall to close(),
    # where an implicit close swallows the kernel's errno (lab-recipes §1). No O_CREAT, so a
    # vanished cgroup is reported as gone rather than recreated as a plain file.
    data = value.encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CgroupNotFoundError(str(path.parent)) from None
    except OSError as e:
        raise CgroupWriteError(str(path), value, e.errno) from e
    try:
        written = os.write(fd, data)
    except OSError as e:
        raise CgroupWriteError(str(path), value, e.errno) from e
    finally:
        os.close(fd)
    if written != len(data):
        # cgroup files take a value in one write; a partial one would be parsed as a
        # different, shorter cpulist.
        raise CgroupWriteError(
            str(path), value, None, f"short write ({written} of {len(data)} bytes)"
        )
