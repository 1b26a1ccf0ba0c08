"""The service writing its decisions into real cgroup v1 cpusets on this machine.

The machine model is this host's own sysfs (2 CPUs, 1 NUMA node); the default configuration
reserves CPU 0, so a Guaranteed 1-CPU container gets CPU 1 and the shared pool shrinks to 0.
Real processes are moved into test-owned cgroups and checked through /proc/<pid>/status.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Daemon
from test_cgroups import CGROUP_ROOT, CPUSET_ROOT, Tree, _assert_placed, _cg_write, tree

from pinlet.client import PinletClient, pod_from_manifest
from pinlet.server.cgroups import CgroupVersion, CpusetWriter
from pinlet.server.cli import main
from pinlet.server.config import default_config
from pinlet.server.enforcer import Enforcer, ReconcileLoop
from pinlet.server.manager import Manager
from pinlet.server.pod import Pod
from pinlet.server.service import create_server
from pinlet.server.sysfs import discover

__all__ = ["tree"]  # the fixture, imported so pytest finds it here


def make_pod(name: str, cpu: str | None) -> Pod:
    container: dict[str, object] = {"name": "c"}
    if cpu:
        container["resources"] = {"limits": {"cpu": cpu, "memory": "64Mi"}}
    return Pod.from_manifest(
        {"metadata": {"name": name, "uid": str(uuid.uuid4())}, "spec": {"containers": [container]}}
    )


def manager(dry_run: bool = False) -> Manager:
    topo = discover("/sys")
    if len(topo.cpus) != 2:
        pytest.skip("these expectations are for the 2-CPU machines this project runs on")
    writer = None if dry_run else CpusetWriter(CGROUP_ROOT, CgroupVersion.V1)
    return Manager(topo, default_config(topo), enforcer=Enforcer(writer))


def bind(m: Manager, t: Tree, pod: Pod) -> tuple[str, int]:
    """Create the container's cgroup (as the runtime would), bind it, start a process in it."""
    cid = uuid.uuid4().hex * 2
    path = t.mkdir(f"kubepods/pod{pod.uid}/{cid}")
    m.add_container(pod.uid, "c", cid, path)
    return path, t.spawn(path)


def test_shared_container_shrinks_and_grows_back(tree: Tree) -> None:
    """Admitting a Guaranteed container narrows the shared container first; removal widens."""
    m = manager()
    shared_pod, excl_pod = make_pod("shared", None), make_pod("excl", "1")
    m.allocate(shared_pod)
    _, shared_pid = bind(m, tree, shared_pod)
    # Bound after the process started in the runtime's cpuset: pinlet wrote 0-1 at bind.
    _assert_placed(shared_pid, "0-1", "0")

    m.allocate(excl_pod)
    _assert_placed(shared_pid, "0", "0")  # narrowed as soon as CPU 1 became exclusive
    _, excl_pid = bind(m, tree, excl_pod)
    _assert_placed(excl_pid, "1", "0")

    removed, released = m.remove_container(excl_pod.uid, "c")
    assert (removed, str(released)) == (True, "1")
    _assert_placed(shared_pid, "0-1", "0")


def test_reconcile_rewrites_drift(tree: Tree) -> None:
    """A cpuset changed behind pinlet's back is found and rewritten by the next pass."""
    m = manager()
    pod = make_pod("shared", None)
    m.allocate(pod)
    path, pid = bind(m, tree, pod)
    _cg_write(CPUSET_ROOT / path / "cpuset.cpus", "1")
    _assert_placed(pid, "1", "0")
    report = m.reconcile()
    assert (report.checked, report.drifted, report.vanished, report.errors) == (1, 1, (), 0)
    _assert_placed(pid, "0-1", "0")
    assert m.reconcile().drifted == 0


def test_vanished_cgroup_is_cleaned_from_state(tree: Tree) -> None:
    """A container whose cgroup disappeared (it died) is removed and its CPU returned."""
    m = manager()
    pod = make_pod("excl", "1")
    m.allocate(pod)
    path, pid = bind(m, tree, pod)
    _assert_placed(pid, "1", "0")
    # The container dies: its process leaves and the runtime removes the cgroup.
    _cg_write(CPUSET_ROOT / "cgroup.procs", str(pid))
    os.rmdir(CPUSET_ROOT / path)
    report = m.reconcile()
    assert report.vanished == ((pod.uid, "c"),)
    assert m.state.pods == {}
    assert str(m.state.cpu.default_cpuset) == "0-1"


def test_dry_run_writes_nothing(tree: Tree) -> None:
    """In dry-run mode decisions are made and logged, but no cgroup file changes."""
    m = manager(dry_run=True)
    shared = make_pod("shared", None)
    m.allocate(shared)
    path, pid = bind(m, tree, shared)
    _cg_write(CPUSET_ROOT / path / "cpuset.cpus", "1")
    m.allocate(make_pod("excl", "1"))
    assert (CPUSET_ROOT / path / "cpuset.cpus").read_text().strip() == "1"
    assert m.reconcile().drifted == 0
    with contextlib.suppress(ProcessLookupError):
        _assert_placed(pid, "1", "0")


def test_reconcile_loop_runs_and_stops() -> None:
    """The loop calls its tick every period and stops promptly."""
    ticks: list[int] = []
    loop = ReconcileLoop(0.01, lambda: ticks.append(1))
    loop.start()
    deadline = time.monotonic() + 5
    while len(ticks) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.stop()
    seen = len(ticks)
    assert seen >= 3
    time.sleep(0.05)
    assert len(ticks) == seen


def test_reconcile_rpc_and_cli(
    tree: Tree, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reconcile on demand over the API rewrites drift; the CLI reports it."""
    m = manager()
    pod = make_pod("shared", None)
    m.allocate(pod)
    path, pid = bind(m, tree, pod)
    sock = str(tmp_path / "p.sock")
    server = create_server(m, sock)
    server.start()
    try:
        _cg_write(CPUSET_ROOT / path / "cpuset.cpus", "1")
        with PinletClient(sock) as client:
            result = client.reconcile()
        assert (result.checked, result.drifted, result.vanished, result.dry_run) == (
            1,
            1,
            (),
            False,
        )
        _assert_placed(pid, "0-1", "0")
        capsys.readouterr()
        assert main(["--socket", sock, "reconcile"]) == 0
        assert "checked 1 containers: 0 drifted and rewritten, 0 vanished, 0 errors" in (
            capsys.readouterr().out
        )
    finally:
        server.stop(None).wait()


def test_machine_description_implies_dry_run(start_daemon: Callable[..., Daemon]) -> None:
    """pinlet serve --machine never writes the description's CPU ids into this host's cgroups."""
    daemon = start_daemon()
    with PinletClient(str(daemon.socket_path)) as client:
        assert client.reconcile().dry_run is True


def test_through_the_grpc_api(tree: Tree, tmp_path: Path) -> None:
    """Allocate, AddContainer and RemoveContainer over the socket move real processes' CPUs."""
    m = manager()
    sock = str(tmp_path / "p.sock")
    server = create_server(m, sock)
    server.start()
    try:
        with PinletClient(sock) as client:
            specs = {}
            pids = {}
            for name, cpu in (("shared", None), ("excl", "1")):
                res = {"limits": {"cpu": cpu, "memory": "64Mi"}} if cpu else {}
                specs[name] = pod_from_manifest(
                    {
                        "metadata": {"name": name, "uid": str(uuid.uuid4())},
                        "spec": {"containers": [{"name": "c", "resources": res}]},
                    }
                )
                client.allocate(specs[name])
                cid = uuid.uuid4().hex * 2
                path = tree.mkdir(f"kubepods/pod{specs[name].uid}/{cid}")
                pids[name] = tree.spawn(path)
                bound = client.add_container(specs[name].uid, "c", cid, path)
                # Bound in order: the shared container still had both CPUs when it was bound.
                assert bound.cpuset_cpus == {"shared": "0-1", "excl": "1"}[name]
            _assert_placed(pids["shared"], "0", "0")
            _assert_placed(pids["excl"], "1", "0")
            client.remove_container(pod_uid=specs["excl"].uid, container_name="c")
            _assert_placed(pids["shared"], "0-1", "0")
    finally:
        server.stop(None).wait()
