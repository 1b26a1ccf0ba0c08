"""Integration tests that run *inside* the 2-NUMA, cgroup-v2 qemu guest (tests/vm/run_guest.py).

The guest (``-cpu Skylake-Server -smp 8,sockets=2,cores=2,threads=2``, two NUMA nodes of 1 GiB
at distance 21) gives real kernel sysfs and a real cgroup2 hierarchy with cpuset enabled at the
root. Outside the guest (no ``PINLET_IN_VM=1``) every test here is skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinlet.server.cgroups import CgroupVersion, CpusetWriter, detect_version
from pinlet.server.cpuset import CPUSet
from pinlet.server.sysfs import discover
from pinlet.server.topology import CPUInfo, NUMANode, Topology

pytestmark = [
    pytest.mark.vm,
    pytest.mark.skipif(
        os.environ.get("PINLET_IN_VM") != "1",
        reason="runs only inside the qemu guest (python tests/vm/run_guest.py)",
    ),
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
GiB = 1 << 30


def cs(text: str) -> CPUSet:
    return CPUSet.parse(text)


# --- topology ------------------------------------------------------------------------------


def _expected_cpus() -> list[CPUInfo]:
    """Socket s holds CPUs 4s..4s+3 = NUMA node s = L3 id s; SMT pairs (0,1), (2,3), …"""
    cpus = []
    for cpu in range(8):
        socket = cpu // 4
        cpus.append(
            CPUInfo(
                cpu=cpu,
                socket=socket,
                die=0,
                core=cpu - cpu % 2,
                core_id=(cpu % 4) // 2,
                numa=socket,
                uncore=socket,
            )
        )
    return cpus


def test_discover_matches_the_guest() -> None:
    """discover('/sys') sees 8 CPUs, 2 sockets, 2 nodes, SMT pairs, one L3 per socket."""
    topo = discover("/sys")
    assert topo.num_cpus == 8
    assert topo.num_sockets == 2
    assert topo.num_numa_nodes == 2
    assert topo.num_cores == 4
    assert topo.cpus_per_core == 2
    assert topo.num_uncore == 2
    assert topo.offline_cpus == CPUSet()
    assert dict(topo.cpus_by_numa) == {0: cs("0-3"), 1: cs("4-7")}
    assert dict(topo.cpus_by_socket) == {0: cs("0-3"), 1: cs("4-7")}
    assert dict(topo.cpus_by_uncore) == {0: cs("0-3"), 1: cs("4-7")}
    assert dict(topo.cpus_by_core) == {
        0: cs("0-1"),
        2: cs("2-3"),
        4: cs("4-5"),
        6: cs("6-7"),
    }
    assert topo.siblings([5]) == cs("4-5")
    assert [dict(n.distances) for n in topo.numa_nodes] == [{0: 10, 1: 21}, {0: 21, 1: 10}]
    for node in topo.numa_nodes:
        # 1 GiB of RAM per node, less what the firmware and kernel reserve.
        assert GiB // 2 < node.memory <= GiB, node
        assert all(count == 0 for count in node.hugepages.values()), node


def test_discover_equals_literal_topology() -> None:
    """The whole model equals a literal description of the guest (memory taken as read)."""
    topo = discover("/sys")
    # MemTotal depends on firmware reservations, so it is copied; everything else is literal.
    memory = {n.id: n.memory for n in topo.numa_nodes}
    hugepages = {n.id: n.hugepages for n in topo.numa_nodes}
    expected = Topology(
        _expected_cpus(),
        [
            NUMANode(
                id=0,
                cpus=cs("0-3"),
                memory=memory[0],
                hugepages=hugepages[0],
                distances={0: 10, 1: 21},
            ),
            NUMANode(
                id=1,
                cpus=cs("4-7"),
                memory=memory[1],
                hugepages=hugepages[1],
                distances={0: 21, 1: 10},
            ),
        ],
    )
    assert topo == expected
    assert dict(topo.cpu_info) == {c.cpu: c for c in _expected_cpus()}


# --- cgroup v2 cpuset ----------------------------------------------------------------------


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


class V2Tree:
    """Test-owned cgroups under the guest's cgroup2 root and the sleeps moved into them."""

    def __init__(self) -> None:
        self.created: list[Path] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def mkdirs(self, rel: str) -> None:
        """Create ``rel`` level by level, enabling +cpuset in each parent top-down."""
        path = CGROUP_ROOT
        for part in rel.split("/"):
            # The root already delegates cpuset (the guest init enabled it).
            if path != CGROUP_ROOT:
                _cg_write(path / "cgroup.subtree_control", "+cpuset")
            path = path / part
            if not path.exists():
                path.mkdir()
                self.created.append(path)
            assert (path / "cpuset.cpus").exists(), f"no cpuset in {path}"

    def spawn(self, rel: str) -> int:
        proc = subprocess.Popen(["sleep", "300"])
        self.procs.append(proc)
        _cg_write(CGROUP_ROOT / rel / "cgroup.procs", str(proc.pid))
        return proc.pid

    def cleanup(self) -> None:
        try:
            for proc in self.procs:
                proc.kill()
                proc.wait(timeout=10)
        finally:
            # Depth first: a cgroup with children (or live tasks) cannot be removed.
            for path in reversed(self.created):
                with contextlib.suppress(FileNotFoundError):
                    path.rmdir()


@pytest.fixture
def v2tree() -> Iterator[V2Tree]:
    tree = V2Tree()
    try:
        yield tree
    finally:
        tree.cleanup()


def test_cgroup_root_is_v2_with_cpuset() -> None:
    """The guest mounts cgroup2 with the cpuset controller: detect_version says V2."""
    assert detect_version(CGROUP_ROOT) is CgroupVersion.V2
    assert "cpuset" in (CGROUP_ROOT / "cgroup.subtree_control").read_text().split()


def test_cpuset_writer_pins_kubelet_like_containers(v2tree: V2Tree) -> None:
    """Containers in kubepods/pod<uid>/<id> are pinned to NUMA 1 and NUMA 0 by the writer."""
    writer = CpusetWriter(CGROUP_ROOT, detect_version(CGROUP_ROOT))
    pod = f"kubepods/pod{uuid.uuid4()}"
    numa1 = f"{pod}/{uuid.uuid4().hex}{uuid.uuid4().hex}"
    numa0 = f"{pod}/{uuid.uuid4().hex}{uuid.uuid4().hex}"
    v2tree.mkdirs(numa1)
    v2tree.mkdirs(numa0)

    # A fresh v2 child inherits everything (empty request, full effective set).
    assert writer.read(numa1) == (cs("0-7"), cs("0-1"))

    pid1 = v2tree.spawn(numa1)
    writer.apply(numa1, cs("4-5"), cs("1"))
    _assert_placed(pid1, "4-5", "1")
    assert writer.read(numa1) == (cs("4-5"), cs("1"))
    assert (CGROUP_ROOT / numa1 / "cpuset.cpus").read_text().strip() == "4-5"
    # The ancestors kept their "inherit" (empty) requests.
    for rel in ("kubepods", pod):
        assert (CGROUP_ROOT / rel / "cpuset.cpus").read_text().strip() == ""

    pid0 = v2tree.spawn(numa0)
    writer.apply(numa0, cs("0-1"), cs("0"))
    _assert_placed(pid0, "0-1", "0")
    assert writer.read(numa0) == (cs("0-1"), cs("0"))
    # The first container is untouched by the second.
    _assert_placed(pid1, "4-5", "1")
    assert writer.read(numa1) == (cs("4-5"), cs("1"))

    # Re-applying a new placement moves the running task.
    writer.apply(numa1, cs("6-7"), cs("1"))
    _assert_placed(pid1, "6-7", "1")
    assert writer.read(numa1) == (cs("6-7"), cs("1"))


def test_pinlet_pins_a_guaranteed_pod_to_numa_1(v2tree: V2Tree) -> None:
    """pinlet itself (manager + enforcer) on the guest: a 3-CPU Guaranteed pod only fits NUMA 1
    (core 0 is reserved), gets CPUs 4-6 and memory on node 1; the shared pod shrinks and grows."""
    from pinlet.server.config import Config, ReservedMemory
    from pinlet.server.enforcer import Enforcer
    from pinlet.server.manager import Manager
    from pinlet.server.pod import Pod
    from pinlet.server.quantity import Quantity

    topo = discover("/sys")
    config = Config(
        reserved_system_cpus=cs("0-1"),
        topology_manager_policy="single-numa-node",
        memory_manager_policy="Static",
        reserved_memory=(ReservedMemory(0, {"memory": Quantity.parse("64Mi")}),),
    )
    writer = CpusetWriter(CGROUP_ROOT, detect_version(CGROUP_ROOT))
    manager = Manager(topo, config, enforcer=Enforcer(writer))

    def admit_and_bind(name: str, resources: dict[str, object]) -> tuple[Pod, int]:
        pod = Pod.from_manifest(
            {
                "metadata": {"name": name, "uid": str(uuid.uuid4())},
                "spec": {"containers": [{"name": "c", "resources": resources}]},
            }
        )
        manager.allocate(pod)
        cid = uuid.uuid4().hex * 2
        rel = f"kubepods/pod{pod.uid}/{cid}"
        v2tree.mkdirs(rel)
        pid = v2tree.spawn(rel)
        manager.add_container(pod.uid, "c", cid, rel)
        return pod, pid

    _, shared_pid = admit_and_bind("shared", {})
    _assert_placed(shared_pid, "0-7", "0-1")
    limits = {"cpu": "3", "memory": "128Mi"}
    pinned, pinned_pid = admit_and_bind("pinned", {"limits": limits})
    _assert_placed(pinned_pid, "4-6", "1")
    _assert_placed(shared_pid, "0-3,7", "0-1")
    manager.remove_container(pinned.uid, "c")
    _assert_placed(shared_pid, "0-7", "0-1")
    assert manager.reconcile().drifted == 0
