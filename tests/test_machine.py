"""The machine description file: shape and explicit forms, errors, exact round trip."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from machines import MACHINES as IN_CODE

from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import DiscoveryError
from pinlet.server.machine import (
    SHAPE_FIELD_KINDS,
    TOP_LEVEL_KEYS,
    dump,
    format_bytes,
    load,
    loads,
)
from pinlet.server.shapes import NUMBERINGS, Shape, expand, from_rows
from pinlet.server.topology import CPUInfo, NUMANode, Topology

MACHINES = Path(__file__).parent / "fixtures" / "machines"
NAMED = sorted(p.stem for p in MACHINES.glob("*.yaml"))
GiB = 1 << 30
MiB = 1 << 20

EXPLICIT = """\
pinlet-machine: 1
name: two-cores
cores:
  - {socket: 0, die: 0, core_id: 0, numa: 0, l3: 0, cpus: "0,2"}
  - {socket: 0, core_id: 1, numa: 1, cpus: "1"}
numa_nodes:
  - {id: 0, memory: 1Gi, hugepages: {2Mi: 4, 1073741824: 1}, distances: {0: 10, 1: 12}}
  - {id: 1, memory: 0, distances: {0: 12, 1: 10}}
offline_cpus: "3"
"""


class TestExplicitForm:
    def test_rows_become_cpus(self) -> None:
        """Each row's CPUs get its socket, die, core_id, NUMA node and L3; core = lowest CPU."""
        t = loads(EXPLICIT)
        assert t.name == "two-cores"
        assert dict(t.cpu_info) == {
            0: CPUInfo(cpu=0, socket=0, die=0, core=0, core_id=0, numa=0, uncore=0),
            2: CPUInfo(cpu=2, socket=0, die=0, core=0, core_id=0, numa=0, uncore=0),
            1: CPUInfo(cpu=1, socket=0, die=0, core=1, core_id=1, numa=1, uncore=0),
        }
        assert t.offline_cpus == CPUSet.parse("3")

    def test_numa_nodes(self) -> None:
        """numa_nodes give memory, hugepages (either size spelling) and distances."""
        t = loads(EXPLICIT)
        assert t.node(0) == NUMANode(
            id=0,
            cpus=CPUSet.parse("0,2"),
            memory=GiB,
            hugepages=MappingProxyType({2 * MiB: 4, GiB: 1}),
            distances=MappingProxyType({0: 10, 1: 12}),
        )
        assert (t.node(1).memory, dict(t.node(1).hugepages)) == (0, {})

    def test_numa_nodes_may_be_omitted(self) -> None:
        """Without numa_nodes each used node exists with no memory and no distances."""
        t = loads("pinlet-machine: 1\ncores:\n  - {socket: 0, core_id: 0, numa: 3, cpus: 0-1}\n")
        assert [(n.id, n.memory, dict(n.distances)) for n in t.numa_nodes] == [(3, 0, {})]

    def test_core_override(self) -> None:
        """A row's 'core' key sets the kubelet core id instead of the lowest CPU."""
        t = loads(
            "pinlet-machine: 1\ncores:\n  - {socket: 0, core_id: 0, numa: 0, cpus: 4-5, core: 9}\n"
        )
        assert t.cpus_by_core == {9: CPUSet.parse("4-5")}

    def test_single_cpu_may_be_unquoted(self) -> None:
        """'cpus: 5' (a YAML integer) is read as the one-CPU list "5"."""
        t = loads("pinlet-machine: 1\ncores:\n  - {socket: 0, core_id: 0, numa: 0, cpus: 5}\n")
        assert t.cpus == CPUSet.parse("5")

    def test_json_is_accepted(self) -> None:
        """A JSON document is a valid description, since JSON is YAML."""
        doc = yaml.safe_load(EXPLICIT)
        assert loads(json.dumps(doc)) == loads(EXPLICIT)


class TestShapeForm:
    def test_every_field(self) -> None:
        """A shape with every field set expands exactly like the Shape it spells."""
        text = """\
pinlet-machine: 1
name: everything
shape:
  sockets: 2
  cores_per_socket: 4
  threads_per_core: 2
  numa_per_socket: 2
  cores_per_l3: 4
  numbering: adjacent
  memory_per_numa: 48Gi
  hugepages_per_numa: {2Mi: 16, 1Gi: 1}
  distance_local: 10
  distance_same_socket: 11
  distance_remote: 31
  offline_cpus: "3,9-10"
  memory_only_nodes: [1Ti, 512Mi]
  memoryless_numa: [2]
"""
        shape = Shape(
            sockets=2,
            cores_per_socket=4,
            threads_per_core=2,
            numa_per_socket=2,
            cores_per_l3=4,
            numbering="adjacent",
            memory_per_numa=48 * GiB,
            hugepages_per_numa=MappingProxyType({2 * MiB: 16, GiB: 1}),
            distance_local=10,
            distance_same_socket=11,
            distance_remote=31,
            offline_cpus=CPUSet.parse("3,9-10"),
            memory_only_nodes=(1024 * GiB, 512 * MiB),
            memoryless_numa=(2,),
        )
        t = loads(text)
        assert t == expand(shape)
        assert t.name == "everything"

    def test_defaults(self) -> None:
        """Only sockets and cores_per_socket are required; the rest take Shape's defaults."""
        t = loads("pinlet-machine: 1\nshape: {sockets: 1, cores_per_socket: 2}\n")
        assert t == expand(Shape(sockets=1, cores_per_socket=2))

    def test_file_format_covers_every_shape_field(self) -> None:
        """Every field of Shape can be written in a description."""
        assert set(SHAPE_FIELD_KINDS) == {f.name for f in fields(Shape)}


@pytest.mark.parametrize(
    ("value", "size"),
    [
        pytest.param("64Gi", 64 * GiB, id="Gi"),
        pytest.param("512Mi", 512 * MiB, id="Mi"),
        pytest.param("4Ki", 4096, id="Ki"),
        pytest.param("2Ti", 2048 * GiB, id="Ti"),
        pytest.param("1000", 1000, id="plain-string"),
        pytest.param(123456789, 123456789, id="integer"),
        pytest.param("0", 0, id="zero"),
    ],
)
def test_sizes(value: object, size: int) -> None:
    """Memory sizes take bytes or a binary Ki/Mi/Gi/Ti suffix."""
    text = yaml.safe_dump({"pinlet-machine": 1, "shape": {"sockets": 1, "cores_per_socket": 1}})
    doc = yaml.safe_load(text)
    doc["shape"]["memory_per_numa"] = value
    assert loads(json.dumps(doc)).node(0).memory == size


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("1.5Gi", id="fraction"),
        pytest.param("64G", id="decimal-suffix"),
        pytest.param("64GB", id="unit-name"),
        pytest.param("64gi", id="lower-case"),
        pytest.param("-1", id="negative-string"),
        pytest.param(-1, id="negative-integer"),
        pytest.param("Gi", id="no-number"),
        pytest.param("", id="empty"),
        pytest.param(True, id="boolean"),
        pytest.param(1.5, id="float"),
        pytest.param("1e3", id="exponent"),
    ],
)
def test_bad_sizes(value: object) -> None:
    """Anything but an integer with an optional binary suffix is refused, naming the key."""
    doc = {"pinlet-machine": 1, "shape": {"sockets": 1, "cores_per_socket": 1}}
    doc["shape"]["memory_per_numa"] = value  # type: ignore[index]
    with pytest.raises(DiscoveryError) as caught:
        loads(json.dumps(doc), source="m.yaml")
    assert caught.value.path == "m.yaml"
    assert caught.value.message.startswith("shape.memory_per_numa:")


@pytest.mark.parametrize(
    ("size", "text"),
    [
        pytest.param(2 * MiB, "2Mi", id="Mi"),
        pytest.param(GiB, "1Gi", id="Gi"),
        pytest.param(1536 * MiB, "1536Mi", id="not-whole-Gi"),
        pytest.param(3 << 40, "3Ti", id="Ti"),
        pytest.param(1000, "1000", id="bytes"),
        pytest.param(0, "0", id="zero"),
    ],
)
def test_format_bytes(size: int, text: str) -> None:
    """Sizes are written with the largest binary suffix that divides them exactly."""
    assert format_bytes(size) == text


V = "pinlet-machine: 1\n"
ROW = "{socket: 0, core_id: 0, numa: 0, cpus: '0'}"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param(
            "name: x\nshape: {sockets: 1, cores_per_socket: 1}\n",
            "pinlet-machine:",
            id="version-missing",
        ),
        pytest.param(
            "pinlet-machine: 2\nshape: {sockets: 1, cores_per_socket: 1}\n",
            "pinlet-machine:",
            id="version-unsupported",
        ),
        pytest.param(
            "pinlet-machine: '1'\nshape: {sockets: 1, cores_per_socket: 1}\n",
            "pinlet-machine:",
            id="version-string",
        ),
        pytest.param(
            "pinlet-machine: true\nshape: {sockets: 1, cores_per_socket: 1}\n",
            "pinlet-machine:",
            id="version-boolean",
        ),
        pytest.param(
            V + "name: [a]\nshape: {sockets: 1, cores_per_socket: 1}\n",
            "name:",
            id="name-not-string",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 1}\ncores: []\n",
            "cores:",
            id="shape-and-cores",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 1}\noffline_cpus: '1'\n",
            "offline_cpus:",
            id="shape-with-top-level-offline",
        ),
        pytest.param(V + "shape: [1]\n", "shape:", id="shape-not-mapping"),
        pytest.param(
            V + "shape: {cores_per_socket: 1}\n", "shape.sockets:", id="shape-sockets-missing"
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 1, colour: red}\n",
            "shape.colour:",
            id="shape-unknown-key",
        ),
        pytest.param(
            V + "shape: {sockets: yes, cores_per_socket: 1}\n",
            "shape.sockets:",
            id="shape-boolean-count",
        ),
        pytest.param(
            V + "shape: {sockets: 0, cores_per_socket: 1}\n",
            "shape.sockets:",
            id="shape-zero-sockets",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 8, numa_per_socket: 3}\n",
            "shape.numa_per_socket:",
            id="shape-uneven-numa",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 1, numbering: zigzag}\n",
            "shape.numbering:",
            id="shape-bad-numbering",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 2, offline_cpus: '0'}\n",
            "shape.offline_cpus:",
            id="shape-cpu0-offline",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 2, offline_cpus: '1-'}\n",
            "shape.offline_cpus:",
            id="shape-bad-cpulist",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 2, memoryless_numa: [1]}\n",
            "shape.memoryless_numa:",
            id="shape-memoryless-not-a-cpu-node",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 2, memory_only_nodes: [1X]}\n",
            "shape.memory_only_nodes[0]:",
            id="shape-bad-memory-only-size",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 2, hugepages_per_numa: {0: 1}}\n",
            "shape.hugepages_per_numa.0:",
            id="shape-zero-page-size",
        ),
        pytest.param(
            V + "shape: {sockets: 1, cores_per_socket: 2, hugepages_per_numa: {2Mi: -1}}\n",
            "shape.hugepages_per_numa.2Mi:",
            id="shape-negative-page-count",
        ),
        pytest.param(
            V
            + "shape: {sockets: 1, cores_per_socket: 2,"
            + " hugepages_per_numa: {2Mi: 1, 2097152: 1}}\n",
            "shape.hugepages_per_numa.2097152:",
            id="shape-page-size-twice",
        ),
        pytest.param(V + "cores: {}\n", "cores:", id="cores-not-list"),
        pytest.param(V + "cores: []\n", "cores:", id="cores-empty"),
        pytest.param(V + "cores: [1]\n", "cores[0]:", id="row-not-mapping"),
        pytest.param(
            V + "cores:\n  - {socket: 0, core_id: 0, numa: 0}\n",
            "cores[0].cpus:",
            id="row-cpus-missing",
        ),
        pytest.param(
            V + "cores:\n  - {socket: 0, core_id: 0, numa: x, cpus: '0'}\n",
            "cores[0].numa:",
            id="row-numa-not-integer",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\n  - {{socket: 0, core_id: 1, numa: 0, cpus: '1',"
            " colour: red}\n",
            "cores[1].colour:",
            id="row-unknown-key",
        ),
        pytest.param(
            V + "cores:\n  - {socket: 0, core_id: 0, numa: 0, cpus: '2-1'}\n",
            "cores[0].cpus:",
            id="row-bad-cpulist",
        ),
        pytest.param(
            V + "cores:\n  - {socket: 0, core_id: 0, numa: 0, cpus: ''}\n",
            "cores[0].cpus:",
            id="row-no-cpus",
        ),
        pytest.param(
            V + "cores:\n  - {socket: 0, core_id: 0, numa: 0, cpus: [0, 1]}\n",
            "cores[0].cpus:",
            id="row-cpus-not-string",
        ),
        pytest.param(
            V + "cores:\n  - {socket: -1, core_id: 0, numa: 0, cpus: '0'}\n",
            "cores[0].socket:",
            id="row-negative-socket",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\n  - {{socket: 0, core_id: 1, numa: 0, cpus: '0'}}\n",
            "cores[1].cpus:",
            id="cpu-in-two-rows",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\n  - {{socket: 0, core_id: 0, numa: 0, cpus: '1'}}\n",
            "cores[1]:",
            id="same-core-twice",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\n  - {{socket: 0, core_id: 1, numa: 0, cpus: '1', core: 0}}\n",
            "cores[1].core:",
            id="kubelet-core-id-twice",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\noffline_cpus: '0-1'\n",
            "offline_cpus:",
            id="offline-and-online",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 1, memory: 0}}\n",
            "cores[0].numa:",
            id="core-on-unlisted-node",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 0}}\n",
            "numa_nodes[0].memory:",
            id="node-memory-missing",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 0, memory: lots}}\n",
            "numa_nodes[0].memory:",
            id="node-bad-memory",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 0, memory: 0}}\n"
            "  - {id: 0, memory: 0}\n",
            "numa_nodes[1].id:",
            id="node-twice",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 0, memory: 0, "
            "hugepages: {2Mi: x}}\n",
            "numa_nodes[0].hugepages.2Mi:",
            id="node-bad-hugepage-count",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 0, memory: 0, "
            "distances: {0: 10, 7: 21}}\n",
            "numa_nodes[0].distances.7:",
            id="distance-to-unknown-node",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 0, memory: 0, "
            "distances: {0: ten}}\n",
            "numa_nodes[0].distances.0:",
            id="distance-not-integer",
        ),
        pytest.param(
            V + f"cores:\n  - {ROW}\nnuma_nodes:\n  - {{id: 0, memory: 0, speed: 1}}\n",
            "numa_nodes[0].speed:",
            id="node-unknown-key",
        ),
    ],
)
def test_errors_name_the_key(text: str, key: str) -> None:
    """Each mistake raises DiscoveryError for the source with a message led by the key."""
    with pytest.raises(DiscoveryError) as caught:
        loads(text, source="bad.yaml")
    assert caught.value.path == "bad.yaml"
    assert caught.value.message.startswith(key)


def test_unknown_top_level_key_lists_the_known_ones() -> None:
    """An unknown top-level key is refused and the error lists every known key."""
    with pytest.raises(DiscoveryError) as caught:
        loads(V + "shape: {sockets: 1, cores_per_socket: 1}\ncolour: red\n")
    assert caught.value.message.startswith("colour:")
    assert all(k in caught.value.message for k in TOP_LEVEL_KEYS)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(V, id="no-cpus"),
        pytest.param("[1, 2]\n", id="not-a-mapping"),
        pytest.param("", id="empty"),
        pytest.param("pinlet-machine: 1\ncores: [\n", id="not-yaml"),
    ],
)
def test_document_errors(text: str) -> None:
    """A document without CPUs, not a mapping, or not YAML is a DiscoveryError."""
    with pytest.raises(DiscoveryError) as caught:
        loads(text, source="doc.yaml")
    assert caught.value.path == "doc.yaml"


class TestFiles:
    def test_load_names_the_file_in_errors(self, tmp_path: Path) -> None:
        """Errors from load carry the file's path."""
        path = tmp_path / "m.yaml"
        path.write_text(V + "shape: {sockets: 0, cores_per_socket: 1}\n")
        with pytest.raises(DiscoveryError) as caught:
            load(path)
        assert caught.value.path == str(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is a DiscoveryError naming it, not an OSError."""
        with pytest.raises(DiscoveryError) as caught:
            load(tmp_path / "absent.yaml")
        assert caught.value.path == str(tmp_path / "absent.yaml")

    def test_binary_file(self, tmp_path: Path) -> None:
        """A file that is not UTF-8 is a DiscoveryError naming it."""
        path = tmp_path / "m.yaml"
        path.write_bytes(b"\xff\xfe\x00")
        with pytest.raises(DiscoveryError) as caught:
            load(path)
        assert caught.value.path == str(path)


class TestDump:
    @pytest.mark.parametrize("name", NAMED)
    def test_named_machines_round_trip(self, name: str) -> None:
        """Every fixture machine survives dump and loads exactly, name included."""
        t = load(MACHINES / f"{name}.yaml")
        back = loads(dump(t))
        assert back == t
        assert back.name == t.name == name

    @pytest.mark.parametrize("name", sorted(IN_CODE))
    def test_in_code_machines_round_trip(self, name: str) -> None:
        """Every machine built in tests/machines.py survives dump and loads exactly."""
        t = IN_CODE[name]()
        assert loads(dump(t)) == t

    def test_dump_is_explicit_and_compact(self) -> None:
        """A 384-CPU machine dumps to one flow-style line per core plus a few more."""
        text = dump(load(MACHINES / "nps4-384.yaml"))
        lines = text.splitlines()
        rows = [line for line in lines if line.startswith("  - {socket: ")]
        assert len(rows) == 192
        assert len(lines) <= 192 + 8 + 5
        assert "shape" not in yaml.safe_load(text)
        assert rows[0] == '  - {socket: 0, die: 0, core_id: 0, numa: 0, l3: 0, cpus: "0,192"}'

    def test_dump_writes_sizes_with_suffixes(self) -> None:
        """Memory and hugepage sizes are written as 64Gi / 2Mi, not raw bytes."""
        doc = yaml.safe_load(dump(load(MACHINES / "dual-socket-ht.yaml")))
        assert doc["numa_nodes"][0]["memory"] == "64Gi"
        assert doc["numa_nodes"][0]["hugepages"] == {"2Mi": 1024, "1Gi": 4}

    def test_core_override_round_trips(self) -> None:
        """A hand-made topology whose core ids are not the lowest CPU round-trips."""
        t = from_rows([(0, 0, 5, 0), (1, 0, 5, 0), (2, 0, 7, 0)])
        text = dump(t)
        assert "core: 5" in text
        assert loads(text) == t

    def test_inconsistent_core_is_refused(self) -> None:
        """A topology whose core spans two NUMA nodes cannot be dumped."""
        t = Topology(
            [
                CPUInfo(cpu=0, socket=0, die=0, core=0, core_id=0, numa=0, uncore=0),
                CPUInfo(cpu=1, socket=0, die=0, core=0, core_id=0, numa=1, uncore=0),
            ]
        )
        with pytest.raises(ValueError, match="share socket"):
            dump(t)

    def test_odd_name_round_trips(self) -> None:
        """Names needing YAML quoting survive the round trip."""
        t = loads(V + "name: \"a: b, 'c' # d\\u0085\"\nshape: {sockets: 1, cores_per_socket: 1}\n")
        assert loads(dump(t)).name == t.name == "a: b, 'c' # d\u0085"


@st.composite
def _shapes(draw: st.DrawFn) -> Shape:
    sockets = draw(st.integers(1, 3))
    numa_per_socket = draw(st.integers(1, 3))
    cores_per_socket = numa_per_socket * draw(st.integers(1, 4))
    l3_sizes = [d for d in range(1, cores_per_socket + 1) if cores_per_socket % d == 0]
    threads = draw(st.integers(1, 4))
    total = sockets * cores_per_socket * threads
    return Shape(
        sockets=sockets,
        cores_per_socket=cores_per_socket,
        threads_per_core=threads,
        numa_per_socket=numa_per_socket,
        cores_per_l3=draw(st.sampled_from([0, *l3_sizes])),
        numbering=draw(st.sampled_from(NUMBERINGS)),
        memory_per_numa=draw(st.integers(0, 1 << 42)),
        hugepages_per_numa=draw(
            st.dictionaries(st.sampled_from([64 * 1024, 2 * MiB, GiB]), st.integers(0, 999))
        ),
        distance_local=draw(st.integers(10, 10)),
        distance_same_socket=draw(st.integers(10, 30)),
        distance_remote=draw(st.integers(10, 255)),
        offline_cpus=CPUSet(
            draw(st.sets(st.integers(1, total - 1), max_size=4)) if total > 1 else ()
        ),
        memory_only_nodes=tuple(draw(st.lists(st.integers(0, 1 << 42), max_size=2))),
        memoryless_numa=tuple(
            draw(st.sets(st.integers(0, sockets * numa_per_socket - 1), max_size=2))
        ),
    )


@settings(max_examples=150, deadline=None)
@given(_shapes())
def test_random_shapes_round_trip(shape: Shape) -> None:
    """For random valid shapes, loads(dump(expand(shape))) is the same topology."""
    t = expand(shape)
    assert loads(dump(t)) == t


def _shape_text(shape: Shape) -> str:
    body: dict[str, object] = {}
    for f in fields(Shape):
        value = getattr(shape, f.name)
        if isinstance(value, CPUSet):
            value = str(value)
        elif isinstance(value, MappingProxyType | dict):
            value = {format_bytes(k): v for k, v in value.items()}
        elif isinstance(value, tuple):
            value = list(value)
        body[f.name] = value
    return yaml.safe_dump({"pinlet-machine": 1, "shape": body})


@settings(max_examples=100, deadline=None)
@given(_shapes())
def test_random_shapes_written_as_shape_form(shape: Shape) -> None:
    """A shape written field by field in the shape form loads as expand(shape)."""
    assert loads(_shape_text(shape)) == expand(shape)
