"""``pinlet serve`` as a real process: socket handling, signals, configuration, restarts, logs."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import Daemon, guaranteed
from grpc_health.v1 import health_pb2

from pinlet.client._proto.v1alpha1 import pinlet_pb2 as pb
from pinlet.server.service import SERVICE_NAME

StartDaemon = Callable[..., Daemon]
RunPinlet = Callable[..., subprocess.CompletedProcess[str]]
SERVING = health_pb2.HealthCheckResponse.SERVING
# gRPC's C core logs in absl format ("I1204 17:02:29.468326   26592 file.cc:1403] ...").
GRPC_CORE_LOG = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\] ")


def _events(daemon: Daemon) -> list[dict[str, Any]]:
    """The JSON log events the daemon wrote; any other stderr line must be gRPC core's own."""
    events = []
    for line in daemon.stderr().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
        else:
            assert GRPC_CORE_LOG.match(line), f"not a JSON event: {line!r}"
    return events


def test_serves_on_a_private_socket(start_daemon: StartDaemon) -> None:
    """The daemon binds its socket with mode 0600 and reports SERVING for server and service."""
    daemon = start_daemon()
    assert stat.S_ISSOCK(os.lstat(daemon.socket_path).st_mode)
    assert stat.S_IMODE(os.lstat(daemon.socket_path).st_mode) == 0o600
    for name in ("", SERVICE_NAME):
        assert daemon.health(name).status == SERVING


def test_socket_mode_flag(start_daemon: StartDaemon) -> None:
    """--socket-mode sets the socket's permission bits."""
    daemon = start_daemon("--socket-mode", "0660")
    assert stat.S_IMODE(os.lstat(daemon.socket_path).st_mode) == 0o660


def test_serving_answers_allocate(start_daemon: StartDaemon) -> None:
    """The daemon admits the issue's example pod: 6 CPUs on dual-socket-ht get 1-3,17-19."""
    daemon = start_daemon()
    reply = daemon.stub().Allocate(pb.AllocateRequest(pod=guaranteed(6)), timeout=10)
    assert reply.pod.containers[0].cpuset_cpus == "1-3,17-19"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_stops_cleanly_and_removes_the_socket(
    start_daemon: StartDaemon, signum: signal.Signals
) -> None:
    """SIGTERM or SIGINT: exit status 0 within a few seconds and no socket file left."""
    daemon = start_daemon()
    daemon.process.send_signal(signum)
    assert daemon.process.wait(timeout=10) == 0
    assert not daemon.socket_path.exists()
    events = [e["event"] for e in _events(daemon)]
    assert events[-2:] == ["shutting down", "stopped"]


def test_second_instance_on_the_same_socket_refuses(
    start_daemon: StartDaemon, run_pinlet: RunPinlet, short_tmp: Path
) -> None:
    """A second pinlet on a live socket exits 1 naming the socket; the first keeps serving."""
    first = start_daemon()
    second = run_pinlet("--socket", str(first.socket_path), "--state-dir", str(short_tmp / "s2"))
    assert second.returncode == 1
    assert str(first.socket_path) in second.stderr
    assert stat.S_ISSOCK(os.lstat(first.socket_path).st_mode)
    assert first.health().status == SERVING


def test_second_instance_on_the_same_state_dir_refuses(
    start_daemon: StartDaemon, run_pinlet: RunPinlet, short_tmp: Path
) -> None:
    """A second pinlet on another socket but the same state directory exits 1."""
    first = start_daemon()
    second = run_pinlet(
        "--socket", str(short_tmp / "other.sock"), "--state-dir", str(first.state_dir)
    )
    assert second.returncode == 1
    assert str(first.state_dir) in second.stderr
    assert not (short_tmp / "other.sock").exists()
    assert first.health().status == SERVING


def test_stale_socket_is_replaced(start_daemon: StartDaemon, short_tmp: Path) -> None:
    """A socket file nobody listens on (a crashed pinlet's) is removed and the daemon starts."""
    path = short_tmp / "pinlet.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    daemon = start_daemon(socket_path=path)
    assert daemon.health().status == SERVING


def test_non_socket_file_at_the_socket_path_is_not_replaced(
    run_pinlet: RunPinlet, short_tmp: Path
) -> None:
    """A regular file where the socket should be: exit 1, the file untouched."""
    path = short_tmp / "pinlet.sock"
    path.write_text("precious")
    result = run_pinlet("--socket", str(path), "--state-dir", str(short_tmp / "state"))
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert path.read_text() == "precious"


@pytest.mark.parametrize(
    ("args", "config_file", "named"),
    [
        pytest.param(
            ["--topology-manager-policy", "bogus"], None, "topologyManagerPolicy", id="policy-flag"
        ),
        pytest.param(
            ["--topology-manager-scope", "node"], None, "topologyManagerScope", id="scope-flag"
        ),
        pytest.param(["--reserved-cpus", "0,99"], None, "reservedSystemCPUs", id="reserved-flag"),
        pytest.param(
            ["--cpu-manager-policy-options", "no-such-option=true"],
            None,
            "cpuManagerPolicyOptions",
            id="unknown-option",
        ),
        pytest.param(
            ["--cpu-manager-policy-options", "full-pcpus-only"],
            None,
            "--cpu-manager-policy-options",
            id="option-syntax",
        ),
        pytest.param(["--socket-mode", "rw"], None, "--socket-mode", id="socket-mode"),
        pytest.param(
            [],
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
            "cpuManagerPolicy: dynamic\n",
            "cpuManagerPolicy",
            id="config-file",
        ),
    ],
)
def test_bad_configuration_exits_2_naming_the_field(
    run_pinlet: RunPinlet, short_tmp: Path, args: list[str], config_file: str | None, named: str
) -> None:
    """A configuration the kubelet would refuse: exit 2, the field named, no socket created."""
    if config_file is not None:
        (short_tmp / "kubelet.yaml").write_text(config_file)
        args = [*args, "--config", str(short_tmp / "kubelet.yaml")]
    socket_path = short_tmp / "pinlet.sock"
    result = run_pinlet(
        "--socket", str(socket_path), "--state-dir", str(short_tmp / "state"), *args
    )
    assert result.returncode == 2
    assert named in result.stderr
    assert not socket_path.exists()


def test_config_file_and_flag_override(start_daemon: StartDaemon, short_tmp: Path) -> None:
    """The daemon runs with the file's settings, flags winning over the file."""
    config = short_tmp / "kubelet.yaml"
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "cpuManagerPolicy: static\nreservedSystemCPUs: '0,16'\n"
        "topologyManagerPolicy: restricted\n"
    )
    daemon = start_daemon("--config", str(config), "--topology-manager-scope", "pod")
    reply = daemon.stub().GetAllocatableResources(pb.GetAllocatableResourcesRequest(), timeout=10)
    assert (reply.cpu_manager_policy, reply.reserved_cpus) == ("static", "0,16")
    assert (reply.topology_manager_policy, reply.topology_manager_scope) == ("restricted", "pod")


def test_restart_keeps_assignments(start_daemon: StartDaemon) -> None:
    """After SIGTERM and a new start on the same state dir, the pod keeps its CPUs."""
    first = start_daemon()
    uid = str(uuid.uuid4())
    first.stub().Allocate(pb.AllocateRequest(pod=guaranteed(6, uid=uid)), timeout=10)
    assert first.terminate() == 0
    second = start_daemon()
    listed = second.stub().ListAssignments(pb.ListAssignmentsRequest(pod_uid=uid), timeout=10)
    assert [(p.uid, p.containers[0].cpuset_cpus) for p in listed.pods] == [(uid, "1-3,17-19")]
    assert listed.shared_pool == "0,4-16,20-31"


def test_corrupt_checkpoint_exits_1_naming_the_file(run_pinlet: RunPinlet, short_tmp: Path) -> None:
    """A checkpoint that cannot be restored: exit 1, the file named, no socket left behind."""
    state = short_tmp / "state"
    state.mkdir()
    (state / "pinlet_state").write_text("{not json")
    socket_path = short_tmp / "pinlet.sock"
    result = run_pinlet("--socket", str(socket_path), "--state-dir", str(state))
    assert result.returncode == 1
    assert str(state / "pinlet_state") in result.stderr
    assert not socket_path.exists()


def test_changed_policy_refuses_the_old_state(
    start_daemon: StartDaemon, run_pinlet: RunPinlet
) -> None:
    """Restarting with another CPU manager policy over existing state exits 1, as the kubelet."""
    first = start_daemon()
    first.stub().Allocate(pb.AllocateRequest(pod=guaranteed(2)), timeout=10)
    assert first.terminate() == 0
    result = run_pinlet(
        "--socket",
        str(first.socket_path),
        "--state-dir",
        str(first.state_dir),
        "--topology-manager-policy",
        "restricted",
    )
    assert result.returncode == 1
    assert str(first.state_dir / "pinlet_state") in result.stderr


def test_one_json_log_event_per_rpc(start_daemon: StartDaemon) -> None:
    """Each call is one JSON ``rpc`` event on stderr with method, pod, code and latency."""
    daemon = start_daemon()
    stub = daemon.stub()
    request = guaranteed(4, name="logged")
    stub.Allocate(pb.AllocateRequest(pod=request), timeout=10)
    with pytest.raises(grpc.RpcError):
        stub.Allocate(pb.AllocateRequest(pod=guaranteed(64, name="toobig")), timeout=10)
    stub.ListAssignments(pb.ListAssignmentsRequest(), timeout=10)
    assert daemon.terminate() == 0
    rpcs = [e for e in _events(daemon) if e["event"] == "rpc"]
    assert [(e["method"], e["code"]) for e in rpcs] == [
        ("Allocate", "OK"),
        ("Allocate", "FAILED_PRECONDITION"),
        ("ListAssignments", "OK"),
    ]
    allocated, refused, _ = rpcs
    assert (allocated["pod_uid"], allocated["pod_name"], allocated["pod_namespace"]) == (
        request.uid,
        "logged",
        "default",
    )
    assert allocated["cpus"] == {"app": "1-2,17-18"}
    assert refused["error"] == "UnexpectedAdmissionError"
    assert all(isinstance(e["latency_ms"], float) and e["latency_ms"] >= 0 for e in rpcs)
    assert all(e["level"] == "info" and "timestamp" in e for e in rpcs)
