"""Cgroup detection, kubelet path layouts and the cpuset writer on this host's real v1 cpuset.

The writer tests build a kubelet-like tree under a unique ``pinlet-test-<uuid4>`` directory of
the real hierarchy, move real ``sleep`` processes into it and check what the kernel applied
(``/proc/<pid>/status`` and ``sched_getaffinity``). The fixture removes only what it created.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pinlet.server.cgroups import (
    CgroupVersion,
    CpusetWriter,
    container_cgroup,
    detect_driver,
    detect_version,
)
from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import (
    CgroupError,
    CgroupNotFoundError,
    CgroupWriteError,
    InvalidRequestError,
)

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPUSET_ROOT = CGROUP_ROOT / "cpuset"
UID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
CID = "c0ffee" + "0" * 57 + "1"
CID2 = "deadbeef" * 8


def cs(text: str) -> CPUSet:
    return CPUSet.parse(text)


# --- detection -----------------------------------------------------------------------------


def _touch(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_detect_version_v1(tmp_path: Path) -> None:
    """A cpuset/cpuset.cpus file under the root means the v1 cpuset hierarchy."""
    _touch(tmp_path / "cpuset" / "cpuset.cpus", "0-1\n")
    _touch(tmp_path / "cgroup.controllers", "memory\n")  # a hybrid host's cgroup2 does not win
    assert detect_version(tmp_path) is CgroupVersion.V1


def test_detect_version_v2(tmp_path: Path) -> None:
    """A cgroup.controllers listing cpuset means cgroup v2."""
    _touch(tmp_path / "cgroup.controllers", "cpuset cpu io memory pids\n")
    assert detect_version(str(tmp_path)) is CgroupVersion.V2


def test_detect_version_v2_without_cpuset(tmp_path: Path) -> None:
    """cgroup v2 without the cpuset controller is an error that says so."""
    _touch(tmp_path / "cgroup.controllers", "cpu io memory\n")
    with pytest.raises(CgroupError, match="cpuset controller is not available"):
        detect_version(tmp_path)


def test_detect_version_neither(tmp_path: Path) -> None:
    """A root with no cgroup hierarchy at all is an error."""
    with pytest.raises(CgroupError, match="neither"):
        detect_version(tmp_path)


@pytest.mark.skipif(not CPUSET_ROOT.is_dir(), reason="no v1 cpuset hierarchy on this host")
def test_detect_version_this_host() -> None:
    """This host's /sys/fs/cgroup carries cpuset in v1."""
    assert detect_version() is CgroupVersion.V1


@pytest.mark.parametrize(
    ("dirs", "expected"),
    [
        pytest.param(["kubepods"], "cgroupfs", id="cgroupfs"),
        pytest.param(["kubepods.slice"], "systemd", id="systemd"),
        pytest.param([], None, id="neither"),
    ],
)
def test_detect_driver(tmp_path: Path, dirs: list[str], expected: str | None) -> None:
    """The driver follows which top-level kubepods directory exists."""
    for d in dirs:
        (tmp_path / d).mkdir()
    assert detect_driver(tmp_path) == expected


def test_detect_driver_ambiguous(tmp_path: Path) -> None:
    """Both kubepods and kubepods.slice present is refused rather than guessed."""
    (tmp_path / "kubepods").mkdir()
    (tmp_path / "kubepods.slice").mkdir()
    with pytest.raises(CgroupError, match="both"):
        detect_driver(tmp_path)


# --- path layouts --------------------------------------------------------------------------

U_ = UID.replace("-", "_")


@pytest.mark.parametrize(
    ("driver", "qos", "runtime", "expected"),
    [
        ("cgroupfs", "Guaranteed", "containerd", f"kubepods/pod{UID}/{CID}"),
        ("cgroupfs", "Burstable", "containerd", f"kubepods/burstable/pod{UID}/{CID}"),
        ("cgroupfs", "BestEffort", "docker", f"kubepods/besteffort/pod{UID}/{CID}"),
        ("cgroupfs", "Burstable", "crio", f"kubepods/burstable/pod{UID}/{CID}"),
        (
            "systemd",
            "Guaranteed",
            "containerd",
            f"kubepods.slice/kubepods-pod{U_}.slice/cri-containerd-{CID}.scope",
        ),
        (
            "systemd",
            "Burstable",
            "containerd",
            f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{U_}.slice/"
            f"cri-containerd-{CID}.scope",
        ),
        (
            "systemd",
            "BestEffort",
            "crio",
            f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{U_}.slice/"
            f"crio-{CID}.scope",
        ),
        (
            "systemd",
            "Burstable",
            "docker",
            f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{U_}.slice/"
            f"docker-{CID}.scope",
        ),
        (
            "systemd",
            "Guaranteed",
            "crio",
            f"kubepods.slice/kubepods-pod{U_}.slice/crio-{CID}.scope",
        ),
    ],
)
def test_container_cgroup_layouts(driver: str, qos: str, runtime: str, expected: str) -> None:
    """Container cgroup paths match the kubelet's and runtimes' layouts exactly."""
    assert container_cgroup(driver, qos, UID, CID, runtime) == expected  # type: ignore[arg-type]


def test_container_cgroup_strips_runtime_prefix() -> None:
    """A status.containerID with its runtime:// prefix gives the bare-id path."""
    got = container_cgroup("cgroupfs", "Guaranteed", UID, f"containerd://{CID}", "containerd")
    assert got == f"kubepods/pod{UID}/{CID}"


@pytest.mark.parametrize(
    ("args", "field_name"),
    [
        pytest.param(("cgroupfs", "Guaranteed", "../../etc", CID, "containerd"), "pod.uid"),
        pytest.param(("cgroupfs", "Guaranteed", UID, "../x", "containerd"), "container_id"),
        pytest.param(("cgroupfs", "Gold", UID, CID, "containerd"), "qos"),
        pytest.param(("systemd", "Guaranteed", UID, CID, "rkt"), "runtime"),
        pytest.param(("openrc", "Guaranteed", UID, CID, "containerd"), "driver"),
    ],
)
def test_container_cgroup_rejects_bad_input(args: tuple[str, ...], field_name: str) -> None:
    """Malformed ids and unknown enums are refused with the field named."""
    with pytest.raises(InvalidRequestError) as info:
        container_cgroup(*args)  # type: ignore[arg-type]
    assert info.value.field == field_name


# --- the writer on a fake tree (path safety, v2 file names) ---------------------------------


def _fake_v1(root: Path) -> Path:
    hierarchy = root / "cpuset"
    _touch(hierarchy / "cpuset.cpus", "0-3\n")
    _touch(hierarchy / "cpuset.mems", "0\n")
    return hierarchy


def test_symlink_escaping_root_is_refused(tmp_path: Path) -> None:
    """A cgroup path whose component is a symlink out of the root is refused, nothing written."""
    hierarchy = _fake_v1(tmp_path / "cg")
    outside = tmp_path / "outside"
    _touch(outside / "cpuset.cpus", "sentinel")
    _touch(outside / "cpuset.mems", "sentinel")
    (hierarchy / "kubepods").symlink_to(outside)
    writer = CpusetWriter(tmp_path / "cg", CgroupVersion.V1)
    with pytest.raises(CgroupError, match="outside"):
        writer.apply("kubepods", cs("0"), cs("0"))
    with pytest.raises(CgroupError, match="outside"):
        writer.read("kubepods")
    assert (outside / "cpuset.cpus").read_text() == "sentinel"


def test_symlinked_hierarchy_root_is_accepted(tmp_path: Path) -> None:
    """A mount point that is itself a symlink (cpuset -> cpu,cpuset) still works."""
    real = _fake_v1(tmp_path / "real")
    (tmp_path / "cg").mkdir()
    (tmp_path / "cg" / "cpuset").symlink_to(real)
    _touch(real / "a" / "cpuset.cpus", "0-3\n")
    _touch(real / "a" / "cpuset.mems", "0\n")
    writer = CpusetWriter(tmp_path / "cg", CgroupVersion.V1)
    writer.apply("a", cs("2"), cs("0"))
    assert (real / "a" / "cpuset.cpus").read_text() == "2"


def test_v2_writes_requests_and_reads_effective(tmp_path: Path) -> None:
    """On v2 the writer writes cpuset.cpus/.mems and reads the .effective files back."""
    root = tmp_path / "cg"
    _touch(root / "cgroup.controllers", "cpuset\n")
    _touch(root / "cpuset.cpus.effective", "0-3\n")
    _touch(root / "cpuset.mems.effective", "0-1\n")
    leaf = root / "kubepods.slice" / "x.scope"
    # kubepods.slice inherits (empty request); it must stay that way.
    for d in (root / "kubepods.slice", leaf):
        for name in ("cpuset.cpus", "cpuset.mems"):
            _touch(d / name, "")
    _touch(leaf / "cpuset.cpus.effective", "1\n")
    _touch(leaf / "cpuset.mems.effective", "1\n")
    writer = CpusetWriter(root, detect_version(root))
    writer.apply("kubepods.slice/x.scope", cs("0,2"), cs("1"))
    assert (leaf / "cpuset.cpus").read_text() == "0,2"
    assert (leaf / "cpuset.mems").read_text() == "1"
    assert (root / "kubepods.slice" / "cpuset.cpus").read_text() == ""
    assert writer.read("kubepods.slice/x.scope") == (cs("1"), cs("1"))


# --- the writer on the real v1 cpuset hierarchy ---------------------------------------------


@dataclass
class Tree:
    """A test-owned subtree of the real cpuset hierarchy and the processes in it."""

    top: str  # relative to CPUSET_ROOT
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def mkdir(self, rel: str, cpus: str = "0-1", mems: str = "0") -> str:
        """Create ``top/rel`` level by level, writing cpus/mems top-down (v1 starts empty)."""
        path = self.top
        for part in rel.split("/"):
            path = f"{path}/{part}"
            d = CPUSET_ROOT / path
            if not d.exists():
                d.mkdir()
                _cg_write(d / "cpuset.cpus", cpus)
                _cg_write(d / "cpuset.mems", mems)
        return path

    def spawn(self, rel_path: str) -> int:
        """Start a sleep and move it into the cgroup at ``rel_path``."""
        proc = subprocess.Popen(["sleep", "300"])
        self.procs.append(proc)
        _cg_write(CPUSET_ROOT / rel_path / "cgroup.procs", str(proc.pid))
        return proc.pid


def _cg_write(path: Path, value: str) -> None:
    # Unbuffered so a setup mistake fails loudly here, not silently at close.
    with open(path, "wb", buffering=0) as f:
        f.write(value.encode())


def _status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{key} not in /proc/{pid}/status")


def _assert_placed(pid: int, cpus: str, mems: str) -> None:
    assert _status(pid, "Cpus_allowed_list") == cpus
    assert _status(pid, "Mems_allowed_list") == mems
    assert os.sched_getaffinity(pid) == set(cs(cpus))


@pytest.fixture
def tree() -> Iterator[Tree]:
    if not CPUSET_ROOT.is_dir():
        pytest.skip("no v1 cpuset hierarchy at /sys/fs/cgroup/cpuset")
    if os.geteuid() != 0:
        pytest.skip("writing cgroups needs root")
    top = f"pinlet-test-{uuid.uuid4()}"
    t = Tree(top)
    (CPUSET_ROOT / top).mkdir()
    try:
        _cg_write(CPUSET_ROOT / top / "cpuset.cpus", "0-1")
        _cg_write(CPUSET_ROOT / top / "cpuset.mems", "0")
        yield t
    finally:
        try:
            for proc in t.procs:
                # Back to the root cgroup first, so the tree is empty even if a kill fails.
                with contextlib.suppress(ProcessLookupError):
                    _cg_write(CPUSET_ROOT / "cgroup.procs", str(proc.pid))
                proc.kill()
                proc.wait(timeout=10)
        finally:
            # Depth-first: v1 refuses rmdir of a cgroup that still has children (EBUSY).
            for dirpath, _dirs, _files in os.walk(CPUSET_ROOT / top, topdown=False):
                os.rmdir(dirpath)


@pytest.fixture
def writer() -> CpusetWriter:
    return CpusetWriter(CGROUP_ROOT, CgroupVersion.V1)


def test_exclusive_and_shared_containers_on_real_cgroups(tree: Tree, writer: CpusetWriter) -> None:
    """An exclusive container gets CPU 1 while the shared one shrinks to 0, then grows back."""
    pod = tree.mkdir(f"kubepods/pod{UID}")
    shared = f"{pod}/{CID}"
    exclusive = f"{pod}/{CID2}"
    (CPUSET_ROOT / shared).mkdir()
    (CPUSET_ROOT / exclusive).mkdir()

    writer.apply(shared, cs("0-1"), cs("0"))
    shared_pid = tree.spawn(shared)
    _assert_placed(shared_pid, "0-1", "0")

    # The shared pool shrinks before the exclusive CPU is handed out, as the CPU manager does.
    writer.apply(shared, cs("0"), cs("0"))
    writer.apply(exclusive, cs("1"), cs("0"))
    exclusive_pid = tree.spawn(exclusive)
    _assert_placed(shared_pid, "0", "0")
    _assert_placed(exclusive_pid, "1", "0")
    assert writer.read(shared) == (cs("0"), cs("0"))
    assert writer.read(exclusive) == (cs("1"), cs("0"))

    # Releasing the exclusive container returns CPU 1 to the shared pool.
    writer.apply(shared, cs("0-1"), cs("0"))
    _assert_placed(shared_pid, "0-1", "0")


def test_systemd_layout_on_real_cgroups(tree: Tree, writer: CpusetWriter) -> None:
    """The writer pins a container in hand-made systemd-named slices and scopes."""
    rel = container_cgroup("systemd", "Burstable", UID, CID, "containerd")
    parent, scope = rel.rsplit("/", 1)
    tree.mkdir(parent)
    (CPUSET_ROOT / tree.top / rel).mkdir()
    writer.apply(f"{tree.top}/{rel}", cs("1"), cs("0"))
    pid = tree.spawn(f"{tree.top}/{rel}")
    _assert_placed(pid, "1", "0")
    assert scope == f"cri-containerd-{CID}.scope"


def test_ancestors_are_widened_top_down(tree: Tree, writer: CpusetWriter) -> None:
    """A container set wider than its ancestors widens them top-down, then applies."""
    pod = tree.mkdir(f"kubepods/pod{UID}", cpus="1")
    container = f"{pod}/{CID}"
    (CPUSET_ROOT / container).mkdir()
    _cg_write(CPUSET_ROOT / tree.top / "cpuset.cpus", "1")  # narrow the test top as well
    writer.apply(container, cs("0-1"), cs("0"))
    for rel in (tree.top, f"{tree.top}/kubepods", pod, container):
        assert (CPUSET_ROOT / rel / "cpuset.cpus").read_text().strip() == "0-1", rel
    pid = tree.spawn(container)
    _assert_placed(pid, "0-1", "0")


def test_cpu_not_present_is_erange(tree: Tree, writer: CpusetWriter) -> None:
    """CPU 5 on a 2-CPU machine: ERANGE on the container's own file, ancestors untouched."""
    container = tree.mkdir(f"kubepods/pod{UID}/{CID}", cpus="1")
    with pytest.raises(CgroupWriteError) as info:
        writer.apply(container, cs("1,5"), cs("0"))
    err = info.value
    assert err.errno == errno.ERANGE
    assert err.path == str(CPUSET_ROOT / container / "cpuset.cpus")
    assert err.value == "1,5"
    assert "CPU not present on this machine" in str(err)
    assert (CPUSET_ROOT / tree.top / "kubepods" / "cpuset.cpus").read_text().strip() == "1"


def test_node_not_online_is_einval(tree: Tree, writer: CpusetWriter) -> None:
    """NUMA node 1 on a one-node machine: EINVAL on the container's cpuset.mems."""
    container = tree.mkdir(f"kubepods/pod{UID}/{CID}")
    with pytest.raises(CgroupWriteError) as info:
        writer.apply(container, cs("0-1"), cs("0-1"))
    assert info.value.errno == errno.EINVAL
    assert info.value.path == str(CPUSET_ROOT / container / "cpuset.mems")
    assert "node not online" in str(info.value)


def test_narrowing_a_parent_under_a_child_is_ebusy(tree: Tree, writer: CpusetWriter) -> None:
    """Shrinking a pod cgroup below its container's set is the kernel's EBUSY, reported."""
    pod = tree.mkdir(f"kubepods/pod{UID}/{CID}")
    pod = pod.rsplit("/", 1)[0]
    with pytest.raises(CgroupWriteError) as info:
        writer.apply(pod, cs("0"), cs("0"))
    assert info.value.errno == errno.EBUSY
    assert "a child cgroup still uses CPUs being removed" in str(info.value)


def test_writing_the_root_is_refused(tree: Tree, writer: CpusetWriter) -> None:
    """The hierarchy root's cpuset is read-only: EACCES, reported with its path."""
    with pytest.raises(CgroupWriteError) as info:
        writer.apply("", cs("0"), cs("0"))
    assert info.value.errno == errno.EACCES
    assert info.value.path.startswith(str(CPUSET_ROOT / "cpuset."))
    assert "read-only root" in str(info.value)
    assert (CPUSET_ROOT / "cpuset.cpus").read_text().strip() == "0-1"


@pytest.mark.parametrize(("cpus", "mems"), [("", "0"), ("0", "")])
def test_empty_set_is_refused_before_writing(
    tree: Tree, writer: CpusetWriter, cpus: str, mems: str
) -> None:
    """An empty cpus or mems is refused by pinlet, and the files keep their values."""
    container = tree.mkdir(f"kubepods/pod{UID}/{CID}", cpus="1")
    with pytest.raises(CgroupWriteError) as info:
        writer.apply(container, cs(cpus), cs(mems))
    assert info.value.errno is None
    assert info.value.value == ""
    name = "cpuset.cpus" if not cpus else "cpuset.mems"
    assert info.value.path == str(CPUSET_ROOT / container / name)
    assert writer.read(container) == (cs("1"), cs("0"))


def test_dotdot_escaping_root_is_refused(tree: Tree, writer: CpusetWriter) -> None:
    """A path with '..' is refused before anything is resolved or written."""
    with pytest.raises(CgroupError, match=r"'\.\.'"):
        writer.apply(f"{tree.top}/../../cpuset", cs("0"), cs("0"))
    with pytest.raises(CgroupError, match="relative"):
        writer.read("/sys/fs/cgroup/cpuset")


def test_missing_container_is_not_found(tree: Tree, writer: CpusetWriter) -> None:
    """A container cgroup that does not exist (exited) raises CgroupNotFoundError."""
    pod = tree.mkdir(f"kubepods/pod{UID}")
    with pytest.raises(CgroupNotFoundError):
        writer.apply(f"{pod}/{CID}", cs("0"), cs("0"))
    with pytest.raises(CgroupNotFoundError):
        writer.read(f"{pod}/{CID}")


def test_read_returns_file_contents(tree: Tree, writer: CpusetWriter) -> None:
    """read() returns exactly what cpuset.cpus and cpuset.mems hold."""
    container = tree.mkdir(f"kubepods/pod{UID}/{CID}", cpus="1")
    assert writer.read(container) == (cs("1"), cs("0"))
    assert writer.read(tree.top) == (cs("0-1"), cs("0"))


def test_repeated_apply_is_idempotent(tree: Tree, writer: CpusetWriter) -> None:
    """Applying the same placement twice keeps the tasks where they are."""
    container = tree.mkdir(f"kubepods/pod{UID}/{CID}", cpus="1")
    pid = tree.spawn(container)
    writer.apply(container, cs("1"), cs("0"))
    writer.apply(container, cs("1"), cs("0"))
    _assert_placed(pid, "1", "0")
