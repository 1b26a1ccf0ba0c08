"""The service commands of the pinlet CLI (hints, allocate, bind, remove, list, allocatable)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from pinlet.client import PinletClient, load_pod_manifest
from pinlet.server.cli import main
from pinlet.server.config import default_config
from pinlet.server.topology import Topology

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GUARANTEED_6CPU = str(EXAMPLES / "guaranteed-6cpu.yaml")
BURSTABLE = str(EXAMPLES / "burstable-pod.yaml")
GUARANTEED_6CPU_UID = load_pod_manifest(GUARANTEED_6CPU).uid
BURSTABLE_UID = load_pod_manifest(BURSTABLE).uid


@pytest.fixture(autouse=True)
def quiet_server_logs() -> Iterator[None]:
    """Silence the in-process server's log events, which would land in the captured stdout."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.fixture
def pinlet(serve_in_process: Callable[..., Any]) -> Callable[..., int]:
    """Run the CLI against an in-process server (default config, dual-socket-ht)."""
    socket_path = str(serve_in_process().socket_path)

    def run(*argv: str) -> int:
        return main(["--socket", socket_path, *argv])

    return run


@pytest.fixture
def pinlet_with(
    serve_in_process: Callable[..., Any], dual_socket_ht: Topology
) -> Callable[..., Callable[..., int]]:
    """A factory: the CLI against a server whose default config has fields replaced."""

    def make(**overrides: Any) -> Callable[..., int]:
        config = dataclasses.replace(default_config(dual_socket_ht), **overrides)
        socket_path = str(serve_in_process(config).socket_path)
        return lambda *argv: main(["--socket", socket_path, *argv])

    return make


def _lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def test_allocate_prints_a_table(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    """'allocate -f' prints the pod, its QoS and one row per container with its cpusets."""
    assert pinlet("allocate", "-f", GUARANTEED_6CPU) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[0] == (
        f"pod default/database-6cpu ({GUARANTEED_6CPU_UID}) admitted, QoS Guaranteed"
    )
    assert _lines(out)[1:] == [
        ["CONTAINER", "KIND", "ISOLATION", "CPUSET.CPUS", "CPUSET.MEMS", "NUMA"],
        ["database", "app", "node-exclusive", "1-3,17-19", "0-1", "0"],
        ["metrics", "app", "node-exclusive", "4", "0-1", "0"],
    ]


def test_allocate_json(pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]) -> None:
    """'allocate -o json' prints the PodAssignment fields, sets as sorted lists."""
    assert pinlet("allocate", "-f", GUARANTEED_6CPU, "-o", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["uid"] == GUARANTEED_6CPU_UID
    assert doc["qos_class"] == "Guaranteed"
    database = doc["containers"][0]
    assert database == {
        "name": "database",
        "kind": "app",
        "cpuset_cpus": "1-3,17-19",
        "cpuset_mems": "0-1",
        "numa_affinity": [0],
        "exclusive": True,
        "isolation": "node-exclusive",
        "cpu_ids": [1, 2, 3, 17, 18, 19],
        "container_id": "",
        "cgroup_path": "",
        "memory": [],
        "cfs_quota_disabled": True,
    }


def test_allocate_one_container(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    """'--container' admits only the named container."""
    assert pinlet("allocate", "-f", GUARANTEED_6CPU, "--container", "metrics") == 0
    rows = _lines(capsys.readouterr().out)[2:]
    assert [r[0] for r in rows] == ["metrics"]


def test_hints(pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]) -> None:
    """'hints' prints every resource's hints and the merged decision."""
    assert pinlet("hints", "-f", GUARANTEED_6CPU, "--container", "database") == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"pod default/database-6cpu ({GUARANTEED_6CPU_UID}), container database",
        "RESOURCE  HINTS",
        "cpu       {0} preferred, {1} preferred, {0,1}",
        "merged: {0} preferred: admitted by the topology manager policy",
    ]


def test_hints_json(pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]) -> None:
    """'hints -o json' gives the hints per resource, the merge and the verdict."""
    assert pinlet("hints", "-f", BURSTABLE, "-o", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "hints": {"cpu": None},
        "merged": {"numa_nodes": [0, 1], "preferred": True},
        "admit": True,
    }


def test_list_groups_per_numa_node(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    """'list' shows pods, then each NUMA node's exclusive containers, then the shared pool."""
    assert pinlet("allocate", "-f", GUARANTEED_6CPU) == 0
    assert pinlet("allocate", "-f", BURSTABLE) == 0
    capsys.readouterr()
    assert pinlet("list") == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.split("\n\n") == [
        "POD UID                               POD                    QOS         CONTAINERS\n"
        f"{GUARANTEED_6CPU_UID}  default/database-6cpu  Guaranteed  database, metrics\n"
        f"{BURSTABLE_UID}  shop/web               Burstable   nginx",
        "NUMA node 0: cpus 0-7,16-23, free 5-7,20-23, exclusive 1-4,17-19\n"
        "  POD                    CONTAINER  KIND  CPUS\n"
        "  default/database-6cpu  database   app   1-3,17-19\n"
        "  default/database-6cpu  metrics    app   4",
        "NUMA node 1: cpus 8-15,24-31, free 8-15,24-31, exclusive -\n  no exclusive containers",
        "shared pool: cpus 0,5-16,20-31\n"
        "  POD       CONTAINER  KIND  NUMA\n"
        "  shop/web  nginx      app   0,1\n",
    ]


def test_list_one_pod_and_unknown_pod(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    """'list --pod' shows one pod; an unknown uid is a NotFound error with status 1."""
    pinlet("allocate", "-f", GUARANTEED_6CPU)
    pinlet("allocate", "-f", BURSTABLE)
    capsys.readouterr()
    assert pinlet("list", "--pod", BURSTABLE_UID, "-o", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in doc["pods"]] == ["web"]
    assert doc["shared_pool"] == "0,5-16,20-31"
    unknown = "00000000-0000-4000-8000-000000000000"
    assert pinlet("list", "--pod", unknown) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"pinlet: error: NotFound: pod_uid: pod {unknown} is not known\n"


def test_list_with_nothing_admitted(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    """'list' on a fresh service says so and still shows the nodes and the shared pool."""
    assert pinlet("list") == 0
    out = capsys.readouterr().out
    assert out.startswith("no pods admitted\n\nNUMA node 0:")
    assert out.endswith("shared pool: cpus 0-31\n  no shared containers\n")


def test_bind_then_remove(pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]) -> None:
    """'bind' records the container id; 'remove' releases a container, then the pod."""
    pinlet("allocate", "-f", GUARANTEED_6CPU)
    capsys.readouterr()
    container_id = "0f" * 32
    assert pinlet("bind", GUARANTEED_6CPU_UID, "database", container_id, "--cgroup", "kp/x") == 0
    out = capsys.readouterr().out
    assert _lines(out)[1] == [
        "database",
        "app",
        "node-exclusive",
        "1-3,17-19",
        "0-1",
        "0",
        container_id,
    ]
    assert out.splitlines()[-1] == "cgroup: kp/x"

    assert pinlet("remove", GUARANTEED_6CPU_UID, "metrics") == 0
    assert capsys.readouterr().out == (
        f"removed container metrics of pod {GUARANTEED_6CPU_UID}; released CPUs: 4\n"
    )
    assert pinlet("remove", GUARANTEED_6CPU_UID, "metrics") == 0
    assert capsys.readouterr().out == (
        f"container metrics of pod {GUARANTEED_6CPU_UID} is not known; nothing to do\n"
    )
    assert pinlet("remove", GUARANTEED_6CPU_UID) == 0
    assert capsys.readouterr().out == (
        f"removed pod {GUARANTEED_6CPU_UID} (containers database); released CPUs: 1-3,17-19\n"
    )
    assert pinlet("remove", GUARANTEED_6CPU_UID, "-o", "json") == 0
    assert json.loads(capsys.readouterr().out) == {"removed_containers": [], "released_cpus": ""}
    assert pinlet("list", "-o", "json") == 0
    assert json.loads(capsys.readouterr().out) == {"pods": [], "shared_pool": "0-31"}


def test_allocatable(pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]) -> None:
    """'allocatable' prints the policies and one row per NUMA node."""
    assert pinlet("allocatable") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [
        "cpu manager policy static, topology manager policy best-effort (container scope)",
        "reserved cpus 0,16, shared pool 0-31, 30 allocatable cpus",
    ]
    assert _lines(out)[2:] == [
        ["NODE", "CPUS", "ALLOCATABLE", "FREE", "EXCLUSIVE", "MEMORY", "HUGEPAGES", "DISTANCES"],
        ["0", "0-7,16-23", "1-7,17-23", "1-7,17-23", "-", "64Gi", "2Mi:1024", "1Gi:4", "10", "21"],
        [
            "1",
            "8-15,24-31",
            "8-15,24-31",
            "8-15,24-31",
            "-",
            "64Gi",
            "2Mi:1024",
            "1Gi:4",
            "21",
            "10",
        ],
    ]
    assert pinlet("allocatable", "-o", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["numa_nodes"][0]["hugepages"] == {"2097152": 1024, "1073741824": 4}


def test_socket_option_after_the_command(
    grpc_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """--socket and --timeout work after the subcommand too."""
    socket_path = str(grpc_server.socket_path)
    assert main(["list", "--socket", socket_path, "--timeout", "2", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["pods"] == []


# -- errors ----------------------------------------------------------------------------------------


def test_admission_error_prints_the_kubelet_reason(
    pinlet_with: Callable[..., Callable[..., int]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """An SMT alignment refusal prints 'SMTAlignmentError: <message>' and exits 1."""
    pinlet = pinlet_with(cpu_manager_policy_options={"full-pcpus-only": "true"})
    manifest = tmp_path / "odd.yaml"
    manifest.write_text(
        "kind: Pod\nmetadata: {name: odd}\n"
        "spec: {containers: [{name: app, resources: {limits: {cpu: 3, memory: 1Gi}}}]}\n"
    )
    assert pinlet("allocate", "-f", str(manifest)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "pinlet: error: SMTAlignmentError: SMT Alignment Error: requested 3 cpus not multiple "
        "cpus per core = 2\n"
    )


def test_topology_affinity_error(
    pinlet_with: Callable[..., Callable[..., int]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """single-numa-node: 'hints' shows the rejection; 'allocate' fails with the reason."""
    pinlet = pinlet_with(topology_manager_policy="single-numa-node")
    manifest = tmp_path / "wide.yaml"
    manifest.write_text(
        "kind: Pod\nmetadata: {name: wide}\n"
        "spec: {containers: [{name: app, resources: {limits: {cpu: 20, memory: 1Gi}}}]}\n"
    )
    assert pinlet("hints", "-f", str(manifest)) == 0
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .endswith("rejected (TopologyAffinityError) by the topology manager policy")
    )
    assert pinlet("allocate", "-f", str(manifest)) == 1
    assert capsys.readouterr().err.startswith("pinlet: error: TopologyAffinityError: ")


def test_invalid_argument_names_the_field(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad container id is 'InvalidArgument: container_id: ...' with status 1."""
    pinlet("allocate", "-f", GUARANTEED_6CPU)
    capsys.readouterr()
    assert pinlet("bind", GUARANTEED_6CPU_UID, "database", "xyz") == 1
    assert capsys.readouterr().err.startswith("pinlet: error: InvalidArgument: container_id: ")


def test_missing_socket_suggests_serve(short_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no service on the socket the error says so, suggests 'pinlet serve', exits 1."""
    socket_path = short_tmp / "nobody.sock"
    assert main(["--socket", str(socket_path), "list"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"pinlet: error: ConnectionError: cannot connect to pinlet at {socket_path}: no such "
        "socket; is the pinlet service running? Start it with 'pinlet serve'\n"
    )


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        pytest.param("kind: Deployment\n", "kind: Deployment is not supported", id="deployment"),
        pytest.param("kind: Pod\nspec: {}\n", "metadata: Required value", id="no-metadata"),
    ],
)
def test_bad_manifest(
    manifest: str,
    message: str,
    pinlet: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A manifest the client cannot read names the file and the field; exit status 1."""
    path = tmp_path / "bad.yaml"
    path.write_text(manifest)
    assert pinlet("allocate", "-f", str(path)) == 1
    assert capsys.readouterr().err.startswith(f"pinlet: error: {path}: {message}")


def test_missing_manifest_file(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A manifest path that does not exist is reported with status 1."""
    path = tmp_path / "absent.yaml"
    assert pinlet("hints", "-f", str(path)) == 1
    assert capsys.readouterr().err == f"pinlet: error: {path}: No such file or directory\n"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["allocate"], id="no-manifest"),
        pytest.param(["--timeout", "0", "list"], id="zero-timeout"),
        pytest.param(["--timeout", "soon", "list"], id="timeout-not-a-number"),
        pytest.param(["bind", "uid", "container"], id="bind-without-id"),
        pytest.param(["list", "-o", "yaml"], id="unknown-output"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Command-line mistakes are usage errors (status 2), before any call is made."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].startswith("pinlet: error: ")


def test_allocate_and_list_agree(
    pinlet: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    """What 'allocate' printed is what 'list' shows afterwards."""
    assert pinlet("allocate", "-f", GUARANTEED_6CPU, "-o", "json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert pinlet("list", "-o", "json") == 0
    assert json.loads(capsys.readouterr().out)["pods"] == [printed]


def test_client_reads_what_the_cli_admitted(serve_in_process: Callable[..., Any]) -> None:
    """A pod admitted through the CLI is visible to a PinletClient under the manifest's uid."""
    socket_path = serve_in_process().socket_path
    assert main(["--socket", str(socket_path), "allocate", "-f", GUARANTEED_6CPU]) == 0
    with PinletClient(socket_path) as c:
        (pod,), _ = c.list_assignments(GUARANTEED_6CPU_UID)
    assert pod.name == "database-6cpu"
