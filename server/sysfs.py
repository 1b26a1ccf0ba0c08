"""Topology discovery from a sysfs tree.

:func:`discover` reads the standard files under a sysfs root (``/sys`` on a host, a fixture
directory in tests, ``/host/sys`` in a container) and builds a
:class:`~pinlet.server.topology.Topology`. The root is always a parameter, never a global, so
tests and containers point it wherever they like.

Files read, relative to the root (``N`` a CPU, ``M`` a NUMA node, ``K`` a cache index):

``devices/system/cpu/online``
    The online CPUs (required). ``possible`` and ``present`` (optional) add offline CPUs.
``devices/system/cpu/cpuN/online``
    ``1`` or ``0``. A ``cpuN`` directory without it is online (x86 never offlines CPU 0 and so
    gives it no file). It must agree with ``devices/system/cpu/online``.
``devices/system/cpu/cpuN/topology/{physical_package_id,die_id,core_id,core_cpus_list}``
    Per online CPU. ``die_id`` is optional (only x86 and s390 publish it; 0 otherwise) and
    ``thread_siblings_list`` stands in for ``core_cpus_list`` on kernels before 5.4.
``devices/system/cpu/cpuN/cache/indexK/{level,id,shared_cpu_list}``
    Optional. The level-3 entry gives the CPU's uncore cache.
``devices/system/node/online``, ``devices/system/node/nodeM/{cpulist,distance,meminfo}``
    The NUMA nodes; ``nodeM/hugepages/hugepages-<size>kB/nr_hugepages`` (optional) gives
    the configured hugepages. Without ``node/online`` the ``nodeM`` directories are used.

Rules, which follow the kubelet (via cAdvisor) wherever it has one:

* Only online CPUs are modelled; offline CPUs (``cpuN/online`` is 0, or listed in
  ``possible``/``present`` but not online, the kernel's own definition of "offline") are
  collected in :attr:`Topology.offline_cpus`.
* A core is the set of online CPUs sharing ``(physical_package_id, die_id, core_id)``, since
  ``core_id`` alone repeats across packages and dies. Its kubelet id is its lowest online CPU.
  Every CPU's siblings file, restricted to online CPUs, must list exactly that set.
* An ``id`` of -1 in ``physical_package_id`` or ``die_id`` is the kernel's "unknown" (ARM
  firmware without a PPTT); such CPUs are put in package or die 0, i.e. one package.
* The uncore id is the L3 ``id``. If any L3 lacks an ``id`` (kernels before 4.11), the
  distinct ``shared_cpu_list`` groups are numbered 0, 1, 2, … by their lowest CPU instead.
  A machine with no L3 at all (no cache directories, or caches only up to L2) gets uncore 0
  everywhere, as in the kubelet; a machine where only some CPUs have an L3 is refused.
* A CPU's NUMA node is the node whose ``cpulist`` holds it. Nodes with memory but no CPUs
  (CXL) and with CPUs but no memory are kept as they are.
* A kernel built without NUMA has no ``devices/system/node``. The machine is then one node 0
  holding every CPU, with memory 0 (pinlet reads nothing outside sysfs, and a single-node
  machine needs no per-node memory accounting) and distance 10 to itself.

Every failure (missing file, bad number, bad cpulist, inconsistent tree) is a
:class:`~pinlet.server.errors.DiscoveryError` whose ``path`` is the offending file. Each file is
read once: a 384-CPU tree takes about a tenth of a second.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final

from .cpuset import MAX_NUMA_NODES, CpuListError, CPUSet
from .errors import DiscoveryError
from .topology import CPUInfo, NUMANode, Topology

CPU_DIR: Final = "devices/system/cpu"
NODE_DIR: Final = "devices/system/node"

_CPU_ENTRY = re.compile(r"cpu([0-9]+)")
_NODE_ENTRY = re.compile(r"node([0-9]+)")
_CACHE_ENTRY = re.compile(r"index([0-9]+)")
_HUGEPAGES_ENTRY = re.compile(r"hugepages-([0-9]+)kB")
_INTEGER = re.compile(r"-?[0-9]+")
_MEMTOTAL = re.compile(r"Node\s+([0-9]+)\s+MemTotal:\s*([0-9]+)\s+kB")

LOCAL_DISTANCE: Final = 10
"""The ACPI SLIT distance of a node to itself, used when the kernel has no NUMA support."""


class _Tree:
    """Reads files under one sysfs root and turns every failure into a DiscoveryError."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def read_optional(self, rel: str) -> str | None:
        """The file's text, or None if it does not exist."""
        path = self.path(rel)
        try:
            with open(path, encoding="ascii") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise DiscoveryError(path, "is not ASCII text") from None
        except OSError as e:
            raise DiscoveryError(path, f"cannot be read: {e.strerror or e}") from None

    def read(self, rel: str) -> str:
        text = self.read_optional(rel)
        if text is None:
            raise DiscoveryError(self.path(rel), "required file is missing")
        return text

    def listdir_optional(self, rel: str) -> list[str] | None:
        """The directory's entries, or None if it does not exist."""
        path = self.path(rel)
        try:
            return os.listdir(path)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            raise DiscoveryError(path, "is not a directory") from None
        except OSError as e:
            raise DiscoveryError(path, f"cannot be listed: {e.strerror or e}") from None

    def listdir(self, rel: str) -> list[str]:
        names = self.listdir_optional(rel)
        if names is None:
            raise DiscoveryError(self.path(rel), "required directory is missing")
        return names

    def integer(self, rel: str, text: str | None = None, *, minimum: int = 0) -> int:
        """The file (or the given text from it) as one decimal integer of at least minimum."""
        if text is None:
            text = self.read(rel)
        value = text.strip()
        # int() alone would also take "+1", "1_000" and non-ASCII digits, none of which the
        # kernel writes; anything like that means the tree is not what we think it is.
        if not _INTEGER.fullmatch(value):
            raise DiscoveryError(self.path(rel), f"expected an integer, found {value!r}")
        number = int(value)
        if number < minimum:
            raise DiscoveryError(self.path(rel), f"expected at least {minimum}, found {number}")
        return number

    def cpulist(self, rel: str, text: str | None = None, *, limit: int | None = None) -> CPUSet:
        if text is None:
            text = self.read(rel)
        try:
            return CPUSet.parse(text) if limit is None else CPUSet.parse(text, limit=limit)
        except CpuListError as e:
            raise DiscoveryError(self.path(rel), f"is not a valid cpulist: {e}") from None


@dataclass(frozen=True, slots=True)
class _Thread:
    """What sysfs says about one online CPU's place in its package."""

    package: int
    die: int
    core_id: int
    siblings: CPUSet
    siblings_file: str


def discover(sysfs_root: str | Path = "/sys") -> Topology:
    """Build the machine model from the sysfs tree under ``sysfs_root``."""
    tree = _Tree(os.fspath(sysfs_root))
    online, offline = _online_cpus(tree)
    threads = {cpu: _thread(tree, cpu) for cpu in online}
    core_of = _kubelet_cores(tree, threads, online)
    uncore_of = _uncore_caches(tree, online)
    nodes, numa_of = _numa_nodes(tree, online)
    cpus = [
        CPUInfo(
            cpu=cpu,
            socket=threads[cpu].package,
            die=threads[cpu].die,
            core=core_of[cpu],
            core_id=threads[cpu].core_id,
            numa=numa_of[cpu],
            uncore=uncore_of[cpu],
        )
        for cpu in online
    ]
    return Topology(cpus, nodes, offline_cpus=offline)


def _online_cpus(tree: _Tree) -> tuple[CPUSet, CPUSet]:
    online_rel = f"{CPU_DIR}/online"
    online = tree.cpulist(online_rel)
    if not online:
        raise DiscoveryError(tree.path(online_rel), "lists no online CPUs")
    known: set[int] = set()
    for name in tree.listdir(CPU_DIR):
        match = _CPU_ENTRY.fullmatch(name)
        if match is None:
            continue
        cpu = int(match[1])
        known.add(cpu)
        rel = f"{CPU_DIR}/{name}/online"
        text = tree.read_optional(rel)
        if text is None:
            if cpu not in online:
                raise DiscoveryError(
                    tree.path(online_rel),
                    f"does not list CPU {cpu}, which has no 'online' file and so cannot be offline",
                )
            continue
        state = text.strip()
        if state not in ("0", "1"):
            raise DiscoveryError(tree.path(rel), f"expected 0 or 1, found {state!r}")
        if (state == "1") != (cpu in online):
            raise DiscoveryError(
                tree.path(rel),
                f"says {state} but {online_rel} is {online!s}; "
                "was a CPU hotplugged during discovery?",
            )
    for extra in ("possible", "present"):
        rel = f"{CPU_DIR}/{extra}"
        text = tree.read_optional(rel)
        if text is not None:
            known |= tree.cpulist(rel, text).as_frozenset()
    return online, CPUSet(known) - online


def _package_level_id(tree: _Tree, rel: str, text: str) -> int:
    # -1 is how the kernel says "unknown" (e.g. ARM without a PPTT); treating it as 0 puts
    # every such CPU in one package, which is what the firmware is telling us.
    return max(tree.integer(rel, text, minimum=-1), 0)


def _thread(tree: _Tree, cpu: int) -> _Thread:
    base = f"{CPU_DIR}/cpu{cpu}/topology"
    package_rel = f"{base}/physical_package_id"
    package = _package_level_id(tree, package_rel, tree.read(package_rel))
    die_rel = f"{base}/die_id"
    die_text = tree.read_optional(die_rel)
    die = 0 if die_text is None else _package_level_id(tree, die_rel, die_text)
    core_id = tree.integer(f"{base}/core_id")
    siblings_rel = f"{base}/core_cpus_list"
    text = tree.read_optional(siblings_rel)
    if text is None:
        # Kernels before 5.4 have only the older name for the same list.
        siblings_rel = f"{base}/thread_siblings_list"
        text = tree.read(siblings_rel)
    return _Thread(package, die, core_id, tree.cpulist(siblings_rel, text), siblings_rel)


def _kubelet_cores(tree: _Tree, threads: dict[int, _Thread], online: CPUSet) -> dict[int, int]:
    """CPU → the kubelet's core id: the lowest online CPU with the same package/die/core_id."""
    groups: dict[tuple[int, int, int], set[int]] = {}
    for cpu, t in threads.items():
        groups.setdefault((t.package, t.die, t.core_id), set()).add(cpu)
    core_of: dict[int, int] = {}
    for cpu, t in threads.items():
        key = (t.package, t.die, t.core_id)
        mates = CPUSet(groups[key])
        # Sibling lists may or may not include offline threads depending on the architecture,
        # so only their online part is compared.
        listed = t.siblings & online
        if listed != mates:
            raise DiscoveryError(
                tree.path(t.siblings_file),
                f"lists online CPUs {listed!s} but the online CPUs with package {key[0]}, "
                f"die {key[1]}, core_id {key[2]} are {mates!s}",
            )
        core_of[cpu] = mates.min()
    return core_of


def _uncore_caches(tree: _Tree, online: CPUSet) -> dict[int, int]:
    """CPU → uncore (L3) cache id; 0 everywhere if the machine publishes no L3."""
    ids: dict[int, int | None] = {}
    shared: dict[int, tuple[CPUSet, str]] = {}
    id_file: dict[int, str] = {}
    for cpu in online:
        cache = f"{CPU_DIR}/cpu{cpu}/cache"
        names = tree.listdir_optional(cache)
        if names is None:
            continue
        for name in sorted(names):
            if _CACHE_ENTRY.fullmatch(name) is None:
                continue
            index = f"{cache}/{name}"
            if tree.integer(f"{index}/level") != 3:
                continue
            if cpu in ids:
                raise DiscoveryError(tree.path(index), f"is a second L3 cache of CPU {cpu}")
            id_rel = f"{index}/id"
            id_text = tree.read_optional(id_rel)
            ids[cpu] = None if id_text is None else tree.integer(id_rel, id_text)
            id_file[cpu] = id_rel
            list_rel = f"{index}/shared_cpu_list"
            shared[cpu] = (tree.cpulist(list_rel) & online, list_rel)
    if not ids:
        return dict.fromkeys(online, 0)
    missing = online - CPUSet(ids)
    if missing:
        first = missing.min()
        raise DiscoveryError(
            tree.path(f"{CPU_DIR}/cpu{first}/cache"),
            f"has no L3 cache entry, but CPU {min(ids)} has one",
        )

    # A cache's CPUs are the ones reporting its id; without ids, the ones reporting the same
    # shared_cpu_list. Either way every CPU's list must then name exactly its cache's CPUs.
    by_id = all(v is not None for v in ids.values())
    keys: dict[int, object] = (
        dict(ids) if by_id else {cpu: cpus for cpu, (cpus, _) in shared.items()}
    )
    groups: dict[object, set[int]] = {}
    for cpu, key in keys.items():
        groups.setdefault(key, set()).add(cpu)
    if by_id:
        # One CPU with a wrong id makes its cache-mates' lists disagree too; blame the CPU
        # whose id differs from what most CPUs in its own list report.
        for cpu, (cpus, _) in shared.items():
            peers = Counter(keys[c] for c in cpus)
            if peers and keys[cpu] != (common := peers.most_common(1)[0][0]):
                raise DiscoveryError(
                    tree.path(id_file[cpu]),
                    f"says {keys[cpu]} but most CPUs sharing this L3 cache say {common}",
                )
    for cpu, (cpus, rel) in shared.items():
        members = CPUSet(groups[keys[cpu]])
        if cpus != members:
            raise DiscoveryError(
                tree.path(rel),
                f"lists online CPUs {cpus!s} but the CPUs sharing this L3 cache are {members!s}",
            )
    if by_id:
        return {cpu: v for cpu, v in ids.items() if v is not None}
    numbering = {key: n for n, key in enumerate(sorted(groups, key=lambda k: min(groups[k])))}
    return {cpu: numbering[key] for cpu, key in keys.items()}


def _numa_nodes(tree: _Tree, online: CPUSet) -> tuple[list[NUMANode], dict[int, int]]:
    names = tree.listdir_optional(NODE_DIR)
    if names is None:
        node = NUMANode(
            id=0,
            cpus=online,
            memory=0,
            distances=MappingProxyType({0: LOCAL_DISTANCE}),
        )
        return [node], dict.fromkeys(online, 0)
    online_rel = f"{NODE_DIR}/online"
    text = tree.read_optional(online_rel)
    if text is not None:
        node_ids = list(tree.cpulist(online_rel, text, limit=MAX_NUMA_NODES))
    else:
        node_ids = sorted(int(m[1]) for m in map(_NODE_ENTRY.fullmatch, names) if m is not None)
    if not node_ids:
        raise DiscoveryError(tree.path(online_rel if text is not None else NODE_DIR), "no nodes")

    nodes: list[NUMANode] = []
    numa_of: dict[int, int] = {}
    for node_id in node_ids:
        base = f"{NODE_DIR}/node{node_id}"
        cpulist_rel = f"{base}/cpulist"
        listed = tree.cpulist(cpulist_rel)
        for cpu in listed:
            if cpu in numa_of:
                raise DiscoveryError(
                    tree.path(cpulist_rel), f"lists CPU {cpu}, which node {numa_of[cpu]} lists"
                )
            numa_of[cpu] = node_id
        nodes.append(
            NUMANode(
                id=node_id,
                # Some architectures keep offline CPUs in the node mask; the model holds only
                # online ones.
                cpus=listed & online,
                memory=_memtotal(tree, f"{base}/meminfo", node_id),
                hugepages=MappingProxyType(_hugepages(tree, f"{base}/hugepages")),
                distances=MappingProxyType(_distances(tree, f"{base}/distance", node_ids)),
            )
        )
    homeless = online - CPUSet(numa_of)
    if homeless:
        raise DiscoveryError(
            tree.path(online_rel if text is not None else NODE_DIR),
            f"no NUMA node's cpulist holds online CPUs {homeless!s}",
        )
    return nodes, {cpu: numa_of[cpu] for cpu in online}


def _distances(tree: _Tree, rel: str, node_ids: list[int]) -> dict[int, int]:
    # The kernel writes one distance per online node, in node id order.
    fields = tree.read(rel).split()
    if len(fields) != len(node_ids):
        raise DiscoveryError(
            tree.path(rel),
            f"has {len(fields)} distances but there are {len(node_ids)} NUMA nodes "
            f"({CPUSet(node_ids)!s})",
        )
    return {n: tree.integer(rel, f) for n, f in zip(node_ids, fields, strict=True)}


def _memtotal(tree: _Tree, rel: str, node_id: int) -> int:
    for line in tree.read(rel).splitlines():
        if "MemTotal:" not in line:
            continue
        match = _MEMTOTAL.fullmatch(line.strip())
        if match is None:
            raise DiscoveryError(tree.path(rel), f"cannot parse {line.strip()!r}")
        if int(match[1]) != node_id:
            raise DiscoveryError(
                tree.path(rel), f"describes node {match[1]}, expected node {node_id}"
            )
        return int(match[2]) * 1024
    raise DiscoveryError(tree.path(rel), "has no 'MemTotal:' line")


def _hugepages(tree: _Tree, rel: str) -> dict[int, int]:
    """Page size in bytes → configured pages; empty when the kernel has no hugetlbfs."""
    names = tree.listdir_optional(rel)
    pages: dict[int, int] = {}
    for name in sorted(names or ()):
        match = _HUGEPAGES_ENTRY.fullmatch(name)
        if match is None:
            raise DiscoveryError(tree.path(f"{rel}/{name}"), "is not named hugepages-<size>kB")
        pages[int(match[1]) * 1024] = tree.integer(f"{rel}/{name}/nr_hugepages")
    return pages
