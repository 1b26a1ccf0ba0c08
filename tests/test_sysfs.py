"""Topology discovery from sysfs trees: golden fixtures, malformed trees, this machine."""

from __future__ import annotations

import filecmp
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import DiscoveryError
from pinlet.server.machine import dump, load, loads
from pinlet.server.shapes import NUMBERINGS, Shape, expand
from pinlet.server.sysfs import discover
from pinlet.server.topology import Topology

FIXTURES = Path(__file__).parent / "fixtures"
MACHINES = FIXTURES / "machines"
SYSFS = FIXTURES / "sysfs"
GiB = 1 << 30
MiB = 1 << 20


def _load_generator() -> ModuleType:
    # make_sysfs.py is a script next to the fixtures, not part of the package.
    spec = importlib.util.spec_from_file_location("make_sysfs", FIXTURES / "make_sysfs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


make_sysfs = _load_generator()


@dataclass(frozen=True)
class Facts:
    """What a fixture machine is, written down by hand (not derived from the generator)."""

    cpus: int
    cores: int
    sockets: int
    numa: int
    uncore: int
    cpus_per_core: int
    core: tuple[int, str]
    """A kubelet core id and its CPUs."""
    node: tuple[int, str]
    """A NUMA node id and its CPUs."""
    l3: tuple[int, str]
    """An uncore cache id and its CPUs."""
    offline: str = ""


FACTS = {
    "single-socket-ht": Facts(8, 4, 1, 1, 1, 2, (1, "1,5"), (0, "0-7"), (0, "0-7")),
    "dual-socket-ht": Facts(32, 16, 2, 2, 2, 2, (3, "3,19"), (1, "8-15,24-31"), (0, "0-7,16-23")),
    "dual-socket-no-ht": Facts(8, 8, 2, 2, 2, 1, (5, "5"), (1, "4-7"), (0, "0-3")),
    "topo-dual-socket-ht": Facts(
        12, 6, 2, 2, 2, 2, (3, "3,9"), (1, "1,3,5,7,9,11"), (0, "0,2,4,6,8,10")
    ),
    "dual-socket-snc2": Facts(32, 16, 2, 4, 2, 2, (6, "6,22"), (1, "4-7,20-23"), (1, "8-15,24-31")),
    "quad-socket-smt4": Facts(
        96,
        24,
        4,
        4,
        4,
        4,
        (7, "7,31,55,79"),
        (2, "12-17,36-41,60-65,84-89"),
        (3, "18-23,42-47,66-71,90-95"),
    ),
    "amd-ccx": Facts(64, 32, 1, 2, 8, 2, (5, "5,37"), (1, "16-31,48-63"), (5, "20-23,52-55")),
    "nps4-384": Facts(
        384, 192, 2, 8, 24, 2, (100, "100,292"), (5, "120-143,312-335"), (23, "184-191,376-383")
    ),
    # 29 online CPUs in 15 cores: the kubelet's integer division gives 1 CPU per core.
    "dual-socket-ht-offline": Facts(
        29,
        15,
        2,
        2,
        2,
        1,
        (28, "28"),
        (1, "8-11,13-15,24-31"),
        (0, "0-4,6-7,16-20,22-23"),
        offline="5,12,21",
    ),
    "cxl-memory-node": Facts(16, 8, 2, 2, 2, 2, (2, "2,10"), (1, "4-7,12-15"), (0, "0-3,8-11")),
    "no-cache-info": Facts(8, 8, 2, 2, 1, 1, (6, "6"), (1, "4-7"), (0, "0-7")),
    "no-numa-kernel": Facts(8, 4, 1, 1, 1, 2, (3, "3,7"), (0, "0-7"), (0, "0-7")),
    "memoryless-node": Facts(16, 8, 2, 2, 2, 2, (5, "5,13"), (1, "4-7,12-15"), (1, "4-7,12-15")),
    "adjacent-siblings": Facts(16, 8, 1, 2, 2, 2, (6, "6-7"), (1, "8-15"), (0, "0-7")),
}

NAMES = sorted(FACTS)


def _discover(name: str) -> Topology:
    return discover(SYSFS / name)


def _copy(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(SYSFS / name, dest)
    return dest


class TestFixtures:
    def test_every_fixture_has_facts(self) -> None:
        """Each description has a committed tree and hand-written facts, and nothing else."""
        assert sorted(p.stem for p in MACHINES.glob("*.yaml")) == NAMES
        assert sorted(p.name for p in SYSFS.iterdir()) == NAMES

    def test_committed_trees_match_the_generator(self, tmp_path: Path) -> None:
        """Regenerating every tree reproduces the committed files exactly."""
        make_sysfs.generate_all(MACHINES, tmp_path)
        for name in NAMES:
            fresh = sorted(
                str(p.relative_to(tmp_path / name)) for p in (tmp_path / name).rglob("*")
            )
            committed = sorted(str(p.relative_to(SYSFS / name)) for p in (SYSFS / name).rglob("*"))
            assert fresh == committed, name
            files = [f for f in fresh if (tmp_path / name / f).is_file()]
            _, mismatch, errors = filecmp.cmpfiles(
                tmp_path / name, SYSFS / name, files, shallow=False
            )
            assert (mismatch, errors) == ([], []), name

    def test_generator_leaves_no_empty_directories(self, tmp_path: Path) -> None:
        """Trees hold no empty directories, which git would silently drop."""
        make_sysfs.generate_all(MACHINES, tmp_path)
        empty = [d for d in tmp_path.rglob("*") if d.is_dir() and not any(d.iterdir())]
        assert empty == []

    @pytest.mark.parametrize(
        ("name", "absent"),
        [
            pytest.param("dual-socket-no-ht", "cpu/cpu0/topology/core_cpus_list", id="pre-5.4"),
            pytest.param("dual-socket-no-ht", "cpu/cpu0/topology/die_id", id="no-die-id"),
            pytest.param("quad-socket-smt4", "cpu/cpu0/cache/index3/id", id="no-l3-id"),
            pytest.param("no-cache-info", "cpu/cpu0/cache", id="no-cache"),
            pytest.param("amd-ccx", "node/online", id="no-node-online"),
            pytest.param("no-numa-kernel", "node", id="no-numa"),
        ],
    )
    def test_quirk_fixtures_lack_the_files_they_test(self, name: str, absent: str) -> None:
        """The fixtures meant to exercise a fallback really lack the file it replaces."""
        assert (SYSFS / name / "devices/system").is_dir()
        assert not (SYSFS / name / "devices/system" / absent).exists()


class TestGolden:
    @pytest.mark.parametrize("name", NAMES)
    def test_discovery_matches_description(self, name: str) -> None:
        """Discovering a fixture tree gives the topology its description expands to."""
        assert _discover(name) == load(MACHINES / f"{name}.yaml")

    @pytest.mark.parametrize("name", NAMES)
    def test_hand_written_facts(self, name: str) -> None:
        """Discovery agrees with counts and CPU sets written down by hand."""
        f = FACTS[name]
        t = _discover(name)
        assert (t.num_cpus, t.num_cores, t.num_sockets) == (f.cpus, f.cores, f.sockets)
        assert (t.num_numa_nodes, t.num_uncore, t.cpus_per_core) == (
            f.numa,
            f.uncore,
            f.cpus_per_core,
        )
        assert t.cpus_by_core[f.core[0]] == CPUSet.parse(f.core[1])
        assert t.cpus_by_numa[f.node[0]] == CPUSet.parse(f.node[1])
        assert t.cpus_by_uncore[f.l3[0]] == CPUSet.parse(f.l3[1])
        assert t.offline_cpus == CPUSet.parse(f.offline)

    @pytest.mark.parametrize(
        ("name", "node", "memory", "hugepages", "cpus"),
        [
            pytest.param(
                "dual-socket-ht", 1, 64 * GiB, {2 * MiB: 1024, GiB: 4}, "8-15,24-31", id="ht"
            ),
            pytest.param("cxl-memory-node", 2, 256 * GiB, {}, "", id="cxl"),
            pytest.param(
                "memoryless-node", 1, 0, {2 * MiB: 0, GiB: 0}, "4-7,12-15", id="memoryless"
            ),
            pytest.param(
                "memoryless-node", 0, 128 * GiB, {2 * MiB: 2048, GiB: 8}, "0-3,8-11", id="rich"
            ),
            pytest.param(
                "adjacent-siblings", 1, 32 * GiB, {2 * MiB: 256, GiB: 0}, "8-15", id="uneven"
            ),
            pytest.param("no-numa-kernel", 0, 0, {}, "0-7", id="no-numa"),
        ],
    )
    def test_node_memory(
        self, name: str, node: int, memory: int, hugepages: dict[int, int], cpus: str
    ) -> None:
        """Node memory, hugepages and CPUs come from meminfo, hugepages/ and cpulist."""
        n = _discover(name).node(node)
        assert (n.memory, dict(n.hugepages), n.cpus) == (memory, hugepages, CPUSet.parse(cpus))

    @pytest.mark.parametrize(
        ("name", "node", "distances"),
        [
            pytest.param("dual-socket-snc2", 0, {0: 10, 1: 11, 2: 21, 3: 21}, id="snc2"),
            pytest.param("cxl-memory-node", 0, {0: 10, 1: 21, 2: 21}, id="cxl"),
            pytest.param("amd-ccx", 1, {0: 12, 1: 10}, id="no-node-online"),
            pytest.param("no-numa-kernel", 0, {0: 10}, id="no-numa"),
        ],
    )
    def test_distances(self, name: str, node: int, distances: dict[int, int]) -> None:
        """Distance rows map to node ids in node order."""
        assert dict(_discover(name).node(node).distances) == distances

    def test_core_ids_repeat_across_sockets(self) -> None:
        """Equal sysfs core_ids on two sockets are two cores with distinct kubelet ids."""
        t = _discover("memoryless-node")
        assert (t.cpu_info[2].core_id, t.cpu_info[6].core_id) == (8, 8)
        assert (t.cpu_info[2].core, t.cpu_info[6].core) == (2, 6)

    def test_memory_only_node_is_not_counted_as_cpu_node(self) -> None:
        """A CPU-less node is in numa_nodes but not in the kubelet's NUMA count."""
        t = _discover("cxl-memory-node")
        assert (t.num_numa_nodes, t.all_numa_ids()) == (2, CPUSet.parse("0-2"))

    def test_large_tree_is_fast(self) -> None:
        """A 384-CPU tree is discovered well within a second."""
        start = time.perf_counter()
        _discover("nps4-384")
        assert time.perf_counter() - start < 1.0


class TestTolerance:
    def test_siblings_may_list_offline_threads(self, tmp_path: Path) -> None:
        """Offline threads in a sibling list (as some architectures keep them) are ignored."""
        root = _copy("dual-socket-ht-offline", tmp_path)
        (root / "devices/system/cpu/cpu28/topology/core_cpus_list").write_text("12,28\n")
        assert discover(root) == _discover("dual-socket-ht-offline")

    def test_node_cpulist_may_list_offline_cpus(self, tmp_path: Path) -> None:
        """Offline CPUs in a node's cpulist do not enter the model."""
        root = _copy("dual-socket-ht-offline", tmp_path)
        (root / "devices/system/node/node0/cpulist").write_text("0-7,16-23\n")
        assert discover(root) == _discover("dual-socket-ht-offline")

    def test_possible_but_absent_cpus_are_offline(self, tmp_path: Path) -> None:
        """CPUs in possible/present that are not online are reported offline."""
        root = _copy("single-socket-ht", tmp_path)
        (root / "devices/system/cpu/possible").write_text("0-11\n")
        (root / "devices/system/cpu/present").write_text("0-9\n")
        assert discover(root).offline_cpus == CPUSet.parse("8-11")

    def test_unknown_package_id_is_package_zero(self, tmp_path: Path) -> None:
        """physical_package_id -1 (firmware did not say) puts the CPU in package 0."""
        root = _copy("single-socket-ht", tmp_path)
        for cpu in range(8):
            path = root / f"devices/system/cpu/cpu{cpu}/topology/physical_package_id"
            path.write_text("-1\n")
        assert discover(root) == _discover("single-socket-ht")

    def test_partly_missing_l3_ids_number_caches_by_lowest_cpu(self, tmp_path: Path) -> None:
        """If any L3 lacks an id, caches are numbered by their lowest CPU instead."""
        root = _copy("dual-socket-snc2", tmp_path)
        # Give the socket-1 L3 a low id and the socket-0 one a high id, then drop one id.
        for cpu in range(32):
            l3 = root / f"devices/system/cpu/cpu{cpu}/cache/index3/id"
            l3.write_text("7\n" if (cpu % 16) < 8 else "3\n")
        (root / "devices/system/cpu/cpu5/cache/index3/id").unlink()
        t = discover(root)
        assert t.cpus_by_uncore[0] == CPUSet.parse("0-7,16-23")
        assert t.cpus_by_uncore[1] == CPUSet.parse("8-15,24-31")

    def test_l3_ids_are_taken_as_given(self, tmp_path: Path) -> None:
        """With every L3 id present, the ids are used unchanged."""
        root = _copy("dual-socket-snc2", tmp_path)
        for cpu in range(32):
            l3 = root / f"devices/system/cpu/cpu{cpu}/cache/index3/id"
            l3.write_text("7\n" if (cpu % 16) < 8 else "3\n")
        t = discover(root)
        assert t.cpus_by_uncore[7] == CPUSet.parse("0-7,16-23")
        assert t.cpus_by_uncore[3] == CPUSet.parse("8-15,24-31")

    def test_accepts_str_root(self) -> None:
        """The root may be given as a string as well as a Path."""
        assert discover(str(SYSFS / "single-socket-ht")) == _discover("single-socket-ht")


Breaker = Callable[[Path], None]


def _write(rel: str, text: str) -> Breaker:
    def apply(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return apply


def _remove(rel: str) -> Breaker:
    def apply(root: Path) -> None:
        path = root / rel
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()

    return apply


def _dir_to_file(rel: str) -> Breaker:
    def apply(root: Path) -> None:
        shutil.rmtree(root / rel)
        (root / rel).write_text("not a directory\n")

    return apply


CPU = "devices/system/cpu"
NODE = "devices/system/node"


@pytest.mark.parametrize(
    ("break_it", "bad_file"),
    [
        pytest.param(_remove(f"{CPU}/online"), f"{CPU}/online", id="online-missing"),
        pytest.param(_write(f"{CPU}/online", "0-\n"), f"{CPU}/online", id="online-bad-cpulist"),
        pytest.param(_write(f"{CPU}/online", "\n"), f"{CPU}/online", id="online-empty"),
        pytest.param(
            _write(f"{CPU}/online", "1-31\n"), f"{CPU}/online", id="cpu0-without-file-not-online"
        ),
        pytest.param(_write(f"{CPU}/cpu3/online", "2\n"), f"{CPU}/cpu3/online", id="online-not-01"),
        pytest.param(
            _write(f"{CPU}/cpu3/online", "0\n"), f"{CPU}/cpu3/online", id="online-disagrees"
        ),
        pytest.param(_remove(f"{CPU}"), f"{CPU}/online", id="no-cpu-dir"),
        pytest.param(
            _remove(f"{CPU}/cpu3/topology/physical_package_id"),
            f"{CPU}/cpu3/topology/physical_package_id",
            id="package-missing",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/topology/physical_package_id", "-2\n"),
            f"{CPU}/cpu3/topology/physical_package_id",
            id="package-negative",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/topology/core_id", "three\n"),
            f"{CPU}/cpu3/topology/core_id",
            id="core-id-not-integer",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/topology/core_id", "1_0\n"),
            f"{CPU}/cpu3/topology/core_id",
            id="core-id-python-only-integer",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/topology/die_id", "\n"),
            f"{CPU}/cpu3/topology/die_id",
            id="die-id-empty",
        ),
        pytest.param(
            _remove(f"{CPU}/cpu3/topology/core_cpus_list"),
            f"{CPU}/cpu3/topology/thread_siblings_list",
            id="siblings-missing",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/topology/core_cpus_list", "3\n"),
            f"{CPU}/cpu3/topology/core_cpus_list",
            id="siblings-too-few",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/topology/core_cpus_list", "3-4,19\n"),
            f"{CPU}/cpu3/topology/core_cpus_list",
            id="siblings-too-many",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/topology/core_cpus_list", "19-3\n"),
            f"{CPU}/cpu3/topology/core_cpus_list",
            id="siblings-bad-cpulist",
        ),
        pytest.param(
            _write(f"{CPU}/cpu19/topology/core_id", "4\n"),
            f"{CPU}/cpu3/topology/core_cpus_list",
            id="sibling-core-id-differs",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/cache/index1/level", "L1\n"),
            f"{CPU}/cpu3/cache/index1/level",
            id="cache-level-not-integer",
        ),
        pytest.param(
            _remove(f"{CPU}/cpu3/cache/index3/level"),
            f"{CPU}/cpu3/cache/index3/level",
            id="cache-level-missing",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/cache/index3/id", "x\n"),
            f"{CPU}/cpu3/cache/index3/id",
            id="l3-id-not-integer",
        ),
        pytest.param(
            _remove(f"{CPU}/cpu3/cache/index3/shared_cpu_list"),
            f"{CPU}/cpu3/cache/index3/shared_cpu_list",
            id="l3-list-missing",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/cache/index3/shared_cpu_list", "0-15\n"),
            f"{CPU}/cpu3/cache/index3/shared_cpu_list",
            id="l3-list-disagrees-with-id",
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/cache/index3/id", "1\n"),
            f"{CPU}/cpu3/cache/index3/id",
            id="l3-id-disagrees-with-list",
        ),
        pytest.param(
            _remove(f"{CPU}/cpu3/cache/index3"), f"{CPU}/cpu3/cache", id="l3-missing-on-one-cpu"
        ),
        pytest.param(
            _write(f"{CPU}/cpu3/cache/index4/level", "3\n"),
            f"{CPU}/cpu3/cache/index4",
            id="two-l3-caches",
        ),
        pytest.param(_write(f"{NODE}/online", "0-a\n"), f"{NODE}/online", id="node-online-bad"),
        pytest.param(_write(f"{NODE}/online", "\n"), f"{NODE}/online", id="node-online-empty"),
        pytest.param(
            _remove(f"{NODE}/node1/cpulist"), f"{NODE}/node1/cpulist", id="node-cpulist-missing"
        ),
        pytest.param(
            _write(f"{NODE}/node1/cpulist", "0,8-15,24-31\n"),
            f"{NODE}/node1/cpulist",
            id="cpu-in-two-nodes",
        ),
        pytest.param(
            _write(f"{NODE}/node0/cpulist", "0-6,16-23\n"), f"{NODE}/online", id="cpu-in-no-node"
        ),
        pytest.param(
            _write(f"{NODE}/node0/distance", "10 21 21\n"),
            f"{NODE}/node0/distance",
            id="distance-row-too-long",
        ),
        pytest.param(
            _write(f"{NODE}/node1/distance", "21\n"),
            f"{NODE}/node1/distance",
            id="distance-row-too-short",
        ),
        pytest.param(
            _write(f"{NODE}/node1/distance", "21 ten\n"),
            f"{NODE}/node1/distance",
            id="distance-not-integer",
        ),
        pytest.param(
            _remove(f"{NODE}/node0/distance"), f"{NODE}/node0/distance", id="distance-missing"
        ),
        pytest.param(
            _remove(f"{NODE}/node0/meminfo"), f"{NODE}/node0/meminfo", id="meminfo-missing"
        ),
        pytest.param(
            _write(f"{NODE}/node0/meminfo", "Node 0 MemFree: 1 kB\n"),
            f"{NODE}/node0/meminfo",
            id="meminfo-no-memtotal",
        ),
        pytest.param(
            _write(f"{NODE}/node0/meminfo", "Node 0 MemTotal: lots kB\n"),
            f"{NODE}/node0/meminfo",
            id="meminfo-bad-memtotal",
        ),
        pytest.param(
            _write(f"{NODE}/node1/meminfo", "Node 0 MemTotal: 1024 kB\n"),
            f"{NODE}/node1/meminfo",
            id="meminfo-wrong-node",
        ),
        pytest.param(
            _write(f"{NODE}/node0/hugepages/hugepages-2MB/nr_hugepages", "1\n"),
            f"{NODE}/node0/hugepages/hugepages-2MB",
            id="hugepages-bad-name",
        ),
        pytest.param(
            _write(f"{NODE}/node0/hugepages/hugepages-2048kB/nr_hugepages", "many\n"),
            f"{NODE}/node0/hugepages/hugepages-2048kB/nr_hugepages",
            id="hugepages-not-integer",
        ),
        pytest.param(
            _remove(f"{NODE}/node0/hugepages/hugepages-2048kB/nr_hugepages"),
            f"{NODE}/node0/hugepages/hugepages-2048kB/nr_hugepages",
            id="hugepages-count-missing",
        ),
        pytest.param(
            _dir_to_file(f"{NODE}/node0/hugepages"),
            f"{NODE}/node0/hugepages",
            id="hugepages-not-a-directory",
        ),
    ],
)
def test_malformed_tree(tmp_path: Path, break_it: Breaker, bad_file: str) -> None:
    """A broken dual-socket-ht tree raises DiscoveryError naming the offending file."""
    root = _copy("dual-socket-ht", tmp_path)
    break_it(root)
    with pytest.raises(DiscoveryError) as caught:
        discover(root)
    assert caught.value.path == str(root / bad_file)
    assert caught.value.message


def test_missing_root_names_the_online_file(tmp_path: Path) -> None:
    """A root without sysfs in it is reported as a missing cpu/online file."""
    with pytest.raises(DiscoveryError) as caught:
        discover(tmp_path / "nowhere")
    assert caught.value.path == str(tmp_path / "nowhere" / CPU / "online")


def test_non_ascii_file_is_a_discovery_error(tmp_path: Path) -> None:
    """A file that is not ASCII text is a DiscoveryError, not a UnicodeDecodeError."""
    root = _copy("single-socket-ht", tmp_path)
    (root / f"{CPU}/cpu1/topology/core_id").write_bytes(b"\xff\n")
    with pytest.raises(DiscoveryError) as caught:
        discover(root)
    assert caught.value.path.endswith("cpu1/topology/core_id")


@pytest.mark.skipif(
    not Path("/sys/devices/system/cpu/online").exists(), reason="needs a Linux sysfs"
)
class TestThisMachine:
    def test_discovers_this_machine(self) -> None:
        """The host's own /sys is discovered with every online CPU on some NUMA node."""
        t = discover("/sys")
        assert t.num_cpus == os.cpu_count()
        assert t.num_numa_nodes >= 1
        assert t.cpus == t.cpus_in_numa_nodes(t.numa_ids())

    def test_this_machine_round_trips_through_a_description(self) -> None:
        """The host's topology survives dump and load unchanged."""
        t = discover("/sys")
        assert loads(dump(t)) == t


@st.composite
def _shapes(draw: st.DrawFn) -> tuple[Shape, object]:
    sockets = draw(st.integers(1, 2))
    numa_per_socket = draw(st.integers(1, 2))
    cores_per_socket = numa_per_socket * draw(st.integers(1, 3))
    l3_sizes = [d for d in range(1, cores_per_socket + 1) if cores_per_socket % d == 0]
    cores_per_l3 = draw(st.sampled_from([0, *l3_sizes]))
    threads = draw(st.integers(1, 4))
    numbering = draw(st.sampled_from(NUMBERINGS))
    total = sockets * cores_per_socket * threads
    offline = draw(st.sets(st.integers(1, total - 1), max_size=3)) if total > 1 else set()
    shape = Shape(
        sockets=sockets,
        cores_per_socket=cores_per_socket,
        threads_per_core=threads,
        numa_per_socket=numa_per_socket,
        cores_per_l3=cores_per_l3,
        numbering=numbering,
        memory_per_numa=draw(st.integers(0, 1 << 20)) * 1024,
        hugepages_per_numa=draw(
            st.dictionaries(st.sampled_from([2 * MiB, GiB]), st.integers(0, 99), max_size=2)
        ),
        distance_same_socket=draw(st.integers(11, 12)),
        distance_remote=draw(st.integers(20, 32)),
        offline_cpus=CPUSet(offline),
        memory_only_nodes=tuple(
            draw(st.lists(st.integers(1, 4).map(lambda g: g * GiB), max_size=2))
        ),
        memoryless_numa=tuple(
            draw(st.sets(st.integers(0, sockets * numa_per_socket - 1), max_size=1))
        ),
    )
    # Without L3 ids discovery numbers caches by their lowest CPU, which matches the shape's
    # numbering only for linux/adjacent numbering with every CPU online.
    ids_optional = numbering != "interleaved" and not offline
    quirks = make_sysfs.Quirks(
        cache=draw(st.booleans()) if cores_per_l3 == 0 else True,
        l3_id=draw(st.booleans()) if ids_optional else True,
        siblings_file=draw(st.sampled_from(["core_cpus_list", "thread_siblings_list"])),
        die_id=draw(st.booleans()),
        node_online=draw(st.booleans()),
    )
    return shape, quirks


@settings(max_examples=40, deadline=None)
@given(_shapes())
def test_discovery_inverts_the_generator(case: tuple[Shape, object]) -> None:
    """For random regular machines, discover(generated tree) is the machine itself."""
    shape, quirks = case
    topology = expand(shape)
    with tempfile.TemporaryDirectory() as tmp:
        make_sysfs.write_tree(topology, Path(tmp), quirks)
        assert discover(tmp) == topology
