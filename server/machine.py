"""The machine description file: a whole machine in a short YAML (or JSON) document.

A description lets pinlet plan for a machine it is not running on, and is how the test
fixtures are written. ``pinlet describe`` prints one for the machine it runs on. The full
reference with examples is ``docs/machine-description.md``; in short::

    pinlet-machine: 1              # format version, required
    name: dual-socket-ht           # optional

then exactly one of two ways to give the CPUs.

**Shape form**, for regular machines: the fields of :class:`~pinlet.server.shapes.Shape`::

    shape:
      sockets: 2                   # required
      cores_per_socket: 8          # required
      threads_per_core: 2          # default 1
      numa_per_socket: 1           # default 1
      cores_per_l3: 8              # default 0 = no L3 data
      numbering: linux             # linux | adjacent | interleaved
      memory_per_numa: 64Gi        # bytes or Ki/Mi/Gi/Ti; default 64Gi
      hugepages_per_numa: {2Mi: 1024, 1Gi: 4}
      distance_local: 10           # and distance_same_socket (12), distance_remote (21)
      offline_cpus: "5,21"         # cpulist
      memory_only_nodes: [256Gi]   # CPU-less (CXL) nodes, numbered after the CPU nodes
      memoryless_numa: [1]         # CPU nodes without memory

**Explicit form**, for anything: one row per physical core, its *online* CPUs in ``cpus``::

    cores:
      - {socket: 0, die: 0, core_id: 0, numa: 0, l3: 0, cpus: "0,16"}
    numa_nodes:
      - {id: 0, memory: 64Gi, hugepages: {2Mi: 1024}, distances: {0: 10, 1: 21}}
    offline_cpus: "31"

``die`` defaults to 0 and ``l3`` may be omitted or null (no L3 data, uncore 0). A row may
also carry ``core``, the kubelet's core id, when it is not the lowest CPU of the row (only
hand-made topologies need that). ``numa_nodes`` is optional: without it every node has no
memory, no hugepages and no distances; with it, every node used by a core must be listed.
Hugepage sizes are bytes or ``2Mi``-style strings.

Sizes accept plain integers (bytes) and the binary suffixes ``Ki``, ``Mi``, ``Gi``, ``Ti``
only; this is not a Kubernetes quantity parser.

Every problem is a :class:`~pinlet.server.errors.DiscoveryError` whose ``path`` is the file (or
the ``source`` given to :func:`loads`) and whose message starts with the key, for example
``cores[3].numa: must be an integer``.

:func:`dump` always writes the explicit form, one flow-style line per core, so that
``loads(dump(t)) == t`` for every topology with consistent cores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

import yaml

from .cpuset import MAX_NUMA_NODES, CpuListError, CPUSet
from .errors import DiscoveryError
from .shapes import NUMBERINGS, Shape, ShapeError, expand
from .topology import CPUInfo, NUMANode, Topology

VERSION: Final = 1
VERSION_KEY: Final = "pinlet-machine"
TOP_LEVEL_KEYS: Final = (VERSION_KEY, "name", "shape", "cores", "numa_nodes", "offline_cpus")
CORE_KEYS: Final = ("socket", "die", "core_id", "numa", "l3", "cpus", "core")
NODE_KEYS: Final = ("id", "memory", "hugepages", "distances")

_SUFFIXES: Final = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
_SIZE = re.compile(r"([0-9]+)(Ki|Mi|Gi|Ti)?")
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")

# How each Shape field is read; a test checks this covers every field of Shape, so a new
# Shape field cannot silently be missing from the file format.
SHAPE_FIELD_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "sockets": "count",
        "cores_per_socket": "count",
        "threads_per_core": "count",
        "numa_per_socket": "count",
        "cores_per_l3": "count",
        "numbering": "numbering",
        "memory_per_numa": "size",
        "hugepages_per_numa": "hugepages",
        "distance_local": "count",
        "distance_same_socket": "count",
        "distance_remote": "count",
        "offline_cpus": "cpulist",
        "memory_only_nodes": "sizes",
        "memoryless_numa": "counts",
    }
)
_SHAPE_REQUIRED: Final = ("sockets", "cores_per_socket")


def format_bytes(size: int) -> str:
    """``size`` with the largest binary suffix that divides it exactly (``"2Mi"``, ``"3"``)."""
    for suffix, unit in reversed(_SUFFIXES.items()):
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


class _Reader:
    """Typed access to the parsed YAML; every failure names the key and the source."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, message: str) -> DiscoveryError:
        """The error for ``key`` (a path like ``cores[3].numa``; empty: the document)."""
        return DiscoveryError(self.source, f"{key}: {message}" if key else message)

    def mapping(self, key: str, value: object, known: Iterable[str] = ()) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.error(key, "must be a mapping")
        allowed = tuple(known)
        for k in value:
            if allowed and k not in allowed:
                where = f"{key}.{k}" if key else str(k)
                raise self.error(where, f"unknown key (known keys: {', '.join(allowed)})")
        return {str(k): v for k, v in value.items()}

    def sequence(self, key: str, value: object) -> list[object]:
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        return list(value)

    def integer(self, key: str, value: object, *, minimum: int = 0) -> int:
        # YAML turns "yes"/"no" into booleans, and bool is an int in Python; refuse it.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, "must be an integer")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def size(self, key: str, value: object) -> int:
        """Bytes: a non-negative integer or an integer with a Ki/Mi/Gi/Ti suffix."""
        if isinstance(value, int) and not isinstance(value, bool):
            return self.integer(key, value)
        if isinstance(value, str):
            match = _SIZE.fullmatch(value.strip())
            if match is not None:
                return int(match[1]) * _SUFFIXES.get(match[2] or "", 1)
        raise self.error(
            key, f"must be a size in bytes or with a Ki/Mi/Gi/Ti suffix, got {value!r}"
        )

    def cpulist(self, key: str, value: object, *, limit: int | None = None) -> CPUSet:
        # An unquoted single CPU ("cpus: 5") arrives as an integer.
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.error(key, 'must be a cpulist string such as "0-3,8"')
        try:
            return CPUSet.parse(value) if limit is None else CPUSet.parse(value, limit=limit)
        except CpuListError as e:
            raise self.error(key, str(e)) from None

    def items(self, key: str, value: object) -> list[tuple[object, object]]:
        """A mapping's entries with their keys as YAML typed them (2Mi: str, 0: int)."""
        if not isinstance(value, dict):
            raise self.error(key, "must be a mapping")
        return list(value.items())

    def hugepages(self, key: str, value: object) -> dict[int, int]:
        pages: dict[int, int] = {}
        for raw_size, count in self.items(key, value):
            where = f"{key}.{raw_size}"
            size = self.size(where, raw_size)
            if size == 0:
                raise self.error(where, "page size must not be 0")
            if size in pages:
                raise self.error(where, "page size given twice")
            pages[size] = self.integer(where, count)
        return pages


def load(path: str | Path) -> Topology:
    """Read a machine description file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DiscoveryError(str(path), "is not UTF-8 text") from None
    except OSError as e:
        raise DiscoveryError(str(path), f"cannot be read: {e.strerror or e}") from None
    return loads(text, source=str(path))


def loads(text: str, source: str = "<string>") -> Topology:
    """Parse a machine description; ``source`` names it in errors."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise DiscoveryError(source, f"is not valid YAML: {e}") from None
    r = _Reader(source)
    if not isinstance(doc, dict):
        raise r.error(
            "", f"a machine description is a mapping starting with '{VERSION_KEY}: {VERSION}'"
        )
    if VERSION_KEY not in doc:
        raise r.error(VERSION_KEY, f"missing; a machine description starts with '{VERSION_KEY}: 1'")
    version = doc[VERSION_KEY]
    if type(version) is not int or version != VERSION:
        raise r.error(VERSION_KEY, f"unsupported version {version!r}; this pinlet reads version 1")
    top = r.mapping("", doc, TOP_LEVEL_KEYS)
    name = top.get("name", "")
    if not isinstance(name, str):
        raise r.error("name", "must be a string")
    if "shape" in top:
        for key in ("cores", "numa_nodes", "offline_cpus"):
            if key in top:
                raise r.error(key, "cannot be combined with 'shape' (give either shape or cores)")
        shape = _shape(r, top["shape"])
        try:
            return expand(shape, name=name)
        except ShapeError as e:
            raise r.error(f"shape.{e.field}", str(e).removeprefix(f"{e.field}: ")) from None
    if "cores" not in top:
        raise r.error("", "needs either 'shape' or 'cores' to describe the CPUs")
    return _explicit(r, top, name)


def _shape(r: _Reader, value: object) -> Shape:
    body = r.mapping("shape", value, SHAPE_FIELD_KINDS)
    for required in _SHAPE_REQUIRED:
        if required not in body:
            raise r.error(f"shape.{required}", "required")
    args: dict[str, object] = {}
    for name, raw in body.items():
        key = f"shape.{name}"
        kind = SHAPE_FIELD_KINDS[name]
        if kind == "count":
            args[name] = r.integer(key, raw)
        elif kind == "numbering":
            if raw not in NUMBERINGS:
                raise r.error(key, f"must be one of {', '.join(NUMBERINGS)}")
            args[name] = raw
        elif kind == "size":
            args[name] = r.size(key, raw)
        elif kind == "hugepages":
            args[name] = MappingProxyType(r.hugepages(key, raw))
        elif kind == "cpulist":
            args[name] = r.cpulist(key, raw)
        elif kind == "sizes":
            args[name] = tuple(r.size(f"{key}[{i}]", v) for i, v in enumerate(r.sequence(key, raw)))
        else:  # "counts"
            seq = r.sequence(key, raw)
            args[name] = tuple(r.integer(f"{key}[{i}]", v) for i, v in enumerate(seq))
    return Shape(**args)  # type: ignore[arg-type]  # types were checked field by field above


def _explicit(r: _Reader, top: dict[str, object], name: str) -> Topology:
    cpus: list[CPUInfo] = []
    row_of_cpu: dict[int, int] = {}
    row_of_key: dict[tuple[int, int, int], int] = {}
    row_of_core: dict[int, int] = {}
    rows = r.sequence("cores", top["cores"])
    if not rows:
        raise r.error("cores", "must list at least one core")
    for i, raw in enumerate(rows):
        key = f"cores[{i}]"
        row = r.mapping(key, raw, CORE_KEYS)
        for required in ("socket", "core_id", "numa", "cpus"):
            if required not in row:
                raise r.error(f"{key}.{required}", "required")
        socket = r.integer(f"{key}.socket", row["socket"])
        die = r.integer(f"{key}.die", row.get("die", 0))
        core_id = r.integer(f"{key}.core_id", row["core_id"])
        numa = r.integer(f"{key}.numa", row["numa"])
        l3_raw = row.get("l3")
        l3 = 0 if l3_raw is None else r.integer(f"{key}.l3", l3_raw)
        threads = r.cpulist(f"{key}.cpus", row["cpus"])
        if not threads:
            raise r.error(f"{key}.cpus", "must list at least one online CPU")
        core = threads.min() if row.get("core") is None else r.integer(f"{key}.core", row["core"])
        # sysfs discovery identifies a core by (socket, die, core_id) and the kubelet by its
        # core id, so two rows sharing either would describe one core twice.
        where = (socket, die, core_id)
        if where in row_of_key:
            raise r.error(
                key,
                f"socket {socket}, die {die}, core_id {core_id} is already cores"
                f"[{row_of_key[where]}]",
            )
        row_of_key[where] = i
        for cpu in threads:
            if cpu in row_of_cpu:
                raise r.error(f"{key}.cpus", f"CPU {cpu} is already in cores[{row_of_cpu[cpu]}]")
            row_of_cpu[cpu] = i
        if core in row_of_core:
            raise r.error(f"{key}.core", f"core id {core} is already cores[{row_of_core[core]}]")
        row_of_core[core] = i
        cpus.extend(CPUInfo(cpu, socket, die, core, core_id, numa, l3) for cpu in threads)

    offline = CPUSet()
    if "offline_cpus" in top:
        offline = r.cpulist("offline_cpus", top["offline_cpus"])
        both = offline & CPUSet(row_of_cpu)
        if both:
            raise r.error("offline_cpus", f"CPUs {both!s} are also online in cores")

    nodes: list[NUMANode] = []
    if "numa_nodes" in top:
        nodes = _numa_nodes(r, top["numa_nodes"])
        known = {n.id for n in nodes}
        for c in cpus:
            if c.numa not in known:
                i = row_of_cpu[c.cpu]
                raise r.error(f"cores[{i}].numa", f"node {c.numa} is not listed in numa_nodes")
    return Topology(cpus, nodes, offline_cpus=offline, name=name)


def _numa_nodes(r: _Reader, value: object) -> list[NUMANode]:
    parsed: list[tuple[int, int, dict[int, int], list[tuple[object, object]]]] = []
    seen: dict[int, int] = {}
    for i, raw in enumerate(r.sequence("numa_nodes", value)):
        key = f"numa_nodes[{i}]"
        row = r.mapping(key, raw, NODE_KEYS)
        for required in ("id", "memory"):
            if required not in row:
                raise r.error(f"{key}.{required}", "required")
        node_id = r.integer(f"{key}.id", row["id"])
        if node_id >= MAX_NUMA_NODES:
            raise r.error(f"{key}.id", f"must be below {MAX_NUMA_NODES}")
        if node_id in seen:
            raise r.error(f"{key}.id", f"node {node_id} is already numa_nodes[{seen[node_id]}]")
        seen[node_id] = i
        memory = r.size(f"{key}.memory", row["memory"])
        hugepages = r.hugepages(f"{key}.hugepages", row.get("hugepages", {}))
        distances = r.items(f"{key}.distances", row.get("distances", {}))
        parsed.append((node_id, memory, hugepages, distances))
    nodes = []
    for i, (node_id, memory, hugepages, raw_distances) in enumerate(parsed):
        to: dict[int, int] = {}
        for other, d in raw_distances:
            dkey = f"numa_nodes[{i}].distances.{other}"
            # JSON keys are always strings, so "1" names node 1 as well.
            target = (
                int(other)
                if isinstance(other, str) and other.isascii() and other.isdigit()
                else other
            )
            if type(target) is not int or target not in seen:
                raise r.error(dkey, f"{other!r} is not a node listed in numa_nodes")
            to[target] = r.integer(dkey, d)
        nodes.append(
            NUMANode(
                id=node_id,
                cpus=CPUSet(),  # Topology fills this in from the cores
                memory=memory,
                hugepages=MappingProxyType(hugepages),
                distances=MappingProxyType(to),
            )
        )
    return nodes


# -- dump ------------------------------------------------------------------------------------


class _FlowMap(dict[str, object]):
    """A mapping written on one line (``{a: 1, b: 2}``)."""


class _Quoted(str):
    """A string always written in double quotes (cpulists like ``"0,16"`` and ``"5"``)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # PyYAML puts a block sequence's dashes level with its key; indenting them reads better
        # and is what people write by hand.
        super().increase_indent(flow, False)


def _represent_flow(dumper: _Dumper, data: _FlowMap) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _represent_quoted(dumper: _Dumper, data: _Quoted) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')


_Dumper.add_representer(_FlowMap, _represent_flow)
_Dumper.add_representer(_Quoted, _represent_quoted)


def _size_value(size: int) -> int | str:
    text = format_bytes(size)
    return size if text == str(size) else text


def dump(topology: Topology) -> str:
    """The explicit-form description of ``topology``; ``loads(dump(t)) == t``.

    Raises ``ValueError`` for a topology no description can express: CPUs sharing a socket,
    die and ``core_id`` but not a NUMA node, L3 or kubelet core, or two such groups sharing a
    kubelet core id.
    """
    groups: dict[tuple[int, int, int], list[CPUInfo]] = {}
    for info in topology.cpu_info.values():
        groups.setdefault((info.socket, info.die, info.core_id), []).append(info)
    rows: list[tuple[tuple[int, int, int], _FlowMap]] = []
    seen_cores: set[int] = set()
    for (socket, die, core_id), infos in groups.items():
        first = infos[0]
        odd = [
            i.cpu
            for i in infos
            if (i.core, i.numa, i.uncore) != (first.core, first.numa, first.uncore)
        ]
        if odd:
            raise ValueError(
                f"CPUs {first.cpu} and {odd[0]} share socket {socket}, die {die}, core_id "
                f"{core_id} but not their core, NUMA node or L3"
            )
        if first.core in seen_cores:
            raise ValueError(f"kubelet core id {first.core} is used by two physical cores")
        seen_cores.add(first.core)
        threads = CPUSet(i.cpu for i in infos)
        row = _FlowMap(socket=socket, die=die, core_id=core_id, numa=first.numa, l3=first.uncore)
        row["cpus"] = _Quoted(str(threads))
        if first.core != threads.min():
            row["core"] = first.core
        rows.append(((socket, die, core_id), row))
    doc: dict[str, object] = {VERSION_KEY: VERSION}
    if topology.name:
        # Plain names stay unquoted; anything else is double-quoted, the only YAML style that
        # escapes every character (a plain or single-quoted NEL would come back as a space).
        plain = _PLAIN_NAME.fullmatch(topology.name)
        doc["name"] = topology.name if plain else _Quoted(topology.name)
    # Rows go socket by socket in core_id order, as lscpu lists them.
    doc["cores"] = [row for _, row in sorted(rows, key=lambda r: r[0])]
    nodes = []
    for n in topology.numa_nodes:
        node = _FlowMap(id=n.id, memory=_size_value(n.memory))
        if n.hugepages:
            node["hugepages"] = {_size_value(s): c for s, c in sorted(n.hugepages.items())}
        node["distances"] = dict(sorted(n.distances.items()))
        nodes.append(node)
    doc["numa_nodes"] = nodes
    if topology.offline_cpus:
        doc["offline_cpus"] = _Quoted(str(topology.offline_cpus))
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
