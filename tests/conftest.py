"""Shared fixtures for the gRPC service: an in-process server and a real ``pinlet serve``.

Both listen on a Unix socket in a fresh, short temporary directory (``sun_path`` holds 107
bytes, too few for pytest's ``tmp_path``), and both are torn down whatever the test did:
channels closed, servers stopped, daemons sent SIGTERM (SIGKILL if they do not exit) by pid,
directories removed.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pinlet.client._proto.v1alpha1 import pinlet_pb2 as pb
from pinlet.client._proto.v1alpha1 import pinlet_pb2_grpc as pb_grpc
from pinlet.server.config import Config, default_config
from pinlet.server.journal import JournaledStore
from pinlet.server.machine import load
from pinlet.server.manager import Manager
from pinlet.server.service import create_server
from pinlet.server.topology import Topology

FIXTURES = Path(__file__).parent / "fixtures"
DUAL_SOCKET_HT = FIXTURES / "machines" / "dual-socket-ht.yaml"
# The console script installed next to the interpreter running the tests.
PINLET = Path(sys.executable).parent / "pinlet"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


# -- request builders ----------------------------------------------------------------------------


def container(
    name: str,
    cpu: str | None = None,
    memory: str | None = "1Gi",
    *,
    requests: Mapping[str, str] | None = None,
    restart_policy: str = "",
) -> pb.Container:
    """A container message whose limits are ``cpu`` and ``memory`` (requests default to them)."""
    limits = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return pb.Container(
        name=name,
        resources=pb.ResourceRequirements(limits=limits, requests=dict(requests or {})),
        restart_policy=restart_policy,
    )


def pod(
    *containers: pb.Container,
    name: str = "pod",
    namespace: str = "default",
    uid: str | None = None,
    init: tuple[pb.Container, ...] = (),
) -> pb.Pod:
    """A pod message; a fresh random uid unless one is given."""
    return pb.Pod(
        uid=uid or str(uuid.uuid4()),
        name=name,
        namespace=namespace,
        containers=containers,
        init_containers=init,
    )


def guaranteed(cpus: int | str, *, name: str = "pod", uid: str | None = None) -> pb.Pod:
    """A Guaranteed pod with one container ``app`` of ``cpus`` CPUs and 1Gi."""
    return pod(container("app", str(cpus)), name=name, uid=uid)


# -- temporary directories -----------------------------------------------------------------------


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A new directory with a short path (room for a socket name), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="pinlet-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def dual_socket_ht() -> Topology:
    """The dual-socket-ht fixture machine: 2 NUMA nodes, core k = CPUs k and k+16."""
    return load(DUAL_SOCKET_HT)


# -- in-process server ---------------------------------------------------------------------------


@dataclass
class InProcess:
    """A started in-process server and a channel to it."""

    socket_path: Path
    manager: Manager
    server: grpc.Server
    channel: grpc.Channel
    stub: Any  # the generated stub is untyped

    def health(self, service: str = "") -> Any:
        """The health status the server reports for ``service``."""
        return health_pb2_grpc.HealthStub(self.channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )


@pytest.fixture
def serve_in_process(
    short_tmp: Path, dual_socket_ht: Topology
) -> Iterator[Callable[..., InProcess]]:
    """A factory: ``serve_in_process(config=None, topology=None)`` starts a server.

    Defaults: the dual-socket-ht machine with pinlet's embedded configuration (static policy,
    CPUs 0 and 16 reserved, best-effort). Every server started is stopped at teardown.
    """
    started: list[tuple[InProcess, JournaledStore]] = []

    def start(config: Config | None = None, topology: Topology | None = None) -> InProcess:
        topology = topology or dual_socket_ht
        n = len(started)
        store = JournaledStore(short_tmp / f"state{n}")
        manager = Manager(topology, config or default_config(topology), store)
        socket_path = short_tmp / f"s{n}.sock"
        server = create_server(manager, str(socket_path))
        server.start()
        channel = grpc.insecure_channel(f"unix:{socket_path}")
        served = InProcess(
            socket_path, manager, server, channel, pb_grpc.ResourceManagerStub(channel)
        )
        started.append((served, store))
        return served

    try:
        yield start
    finally:
        for served, store in started:
            served.channel.close()
            served.server.stop(None).wait()
            store.close()


@pytest.fixture
def grpc_server(serve_in_process: Callable[..., InProcess]) -> InProcess:
    """An in-process server with the default configuration on dual-socket-ht."""
    return serve_in_process()


# -- pinlet serve as a subprocess ----------------------------------------------------------------


@dataclass
class Daemon:
    """A ``pinlet serve`` process started by a test."""

    process: subprocess.Popen[bytes]
    socket_path: Path
    state_dir: Path
    stderr_path: Path
    channels: list[grpc.Channel] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        """Everything the daemon wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def channel(self) -> grpc.Channel:
        """A new channel to the daemon, closed at teardown."""
        channel = grpc.insecure_channel(f"unix:{self.socket_path}")
        self.channels.append(channel)
        return channel

    def stub(self) -> Any:
        """A ResourceManager stub on a new channel."""
        return pb_grpc.ResourceManagerStub(self.channel())

    def health(self, service: str = "") -> Any:
        """The health status the daemon reports (a HealthCheckResponse)."""
        return health_pb2_grpc.HealthStub(self.channel()).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=2
        )

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM the daemon and wait for it; its exit status."""
        for channel in self.channels:
            channel.close()
        self.channels.clear()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def pinlet_command(*args: str, machine: Path = DUAL_SOCKET_HT) -> list[str]:
    """The argv of ``pinlet serve`` on a fixture machine."""
    return [str(PINLET), "serve", "--machine", str(machine), *args]


def _wait_until_serving(daemon: Daemon) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    channel = grpc.insecure_channel(f"unix:{daemon.socket_path}")
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if daemon.process.poll() is not None:
                raise AssertionError(
                    f"pinlet serve exited with {daemon.process.returncode}:\n{daemon.stderr()}"
                )
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                time.sleep(0.05)
                continue
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
            time.sleep(0.05)
        raise AssertionError(f"pinlet serve not SERVING after {START_TIMEOUT}s:\n{daemon.stderr()}")
    finally:
        channel.close()


@pytest.fixture
def start_daemon(short_tmp: Path) -> Iterator[Callable[..., Daemon]]:
    """A factory: ``start_daemon(*args, socket_path=..., state_dir=..., wait=True)``.

    Starts ``pinlet serve --machine dual-socket-ht.yaml --socket ... --state-dir ... *args``
    with stderr to a file (JSON logs: stderr is not a TTY) and, with ``wait``, returns once
    health reports SERVING. Every daemon still running at teardown gets SIGTERM, then SIGKILL.
    """
    started: list[Daemon] = []

    def start(
        *args: str,
        socket_path: Path | None = None,
        state_dir: Path | None = None,
        wait: bool = True,
    ) -> Daemon:
        n = len(started)
        socket_path = socket_path or short_tmp / "pinlet.sock"
        state_dir = state_dir or short_tmp / "state"
        stderr_path = short_tmp / f"daemon{n}.stderr"
        argv = pinlet_command("--socket", str(socket_path), "--state-dir", str(state_dir), *args)
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        daemon = Daemon(process, socket_path, state_dir, stderr_path)
        started.append(daemon)
        if wait:
            _wait_until_serving(daemon)
        return daemon

    try:
        yield start
    finally:
        for daemon in started:
            try:
                daemon.terminate()
            except subprocess.TimeoutExpired:
                daemon.process.kill()
                daemon.process.wait()


@pytest.fixture
def run_pinlet() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``pinlet serve`` expecting it to exit by itself (a refused start); 20 s at most.

    On timeout ``subprocess.run`` kills the process before raising, so nothing outlives it.
    """

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            pinlet_command(*args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )

    return run
