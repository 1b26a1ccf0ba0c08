"""The service core: admission, idempotency, all-or-nothing, durable restore, concurrency."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from pinlet.server.config import Config, default_config, with_overrides
from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import (
    CorruptCheckpointError,
    NotEnoughCPUsError,
    SMTAlignmentError,
    StateError,
    TopologyAffinityError,
)
from pinlet.server.journal import JournaledStore
from pinlet.server.machine import load
from pinlet.server.manager import Manager, NotFoundError
from pinlet.server.pod import Pod
from pinlet.server.state import ContainerKind
from pinlet.server.topology import Topology

MACHINES = Path(__file__).parent / "fixtures" / "machines"


def dual_socket_ht() -> Topology:
    return load(MACHINES / "dual-socket-ht.yaml")


def make_pod(name: str, *containers: tuple[str, str | None], sidecars: tuple[str, ...] = ()) -> Pod:
    """A pod whose containers have cpu limits (memory alongside) or no resources (None)."""

    def spec(cname: str, cpu: str | None) -> dict[str, object]:
        if cpu is None:
            return {"name": cname}
        return {"name": cname, "resources": {"limits": {"cpu": cpu, "memory": "1Gi"}}}

    return Pod.from_manifest(
        {
            "metadata": {"name": name, "uid": str(uuid.uuid4())},
            "spec": {
                "initContainers": [
                    {"name": s, "restartPolicy": "Always", "resources": {}} for s in sidecars
                ],
                "containers": [spec(c, cpu) for c, cpu in containers],
            },
        }
    )


@pytest.fixture
def topo() -> Topology:
    return dual_socket_ht()


@pytest.fixture
def store(tmp_path: Path) -> JournaledStore:
    return JournaledStore(tmp_path / "state")


def test_guaranteed_container_gets_numa_aligned_exclusive_cpus(
    topo: Topology, store: JournaledStore
) -> None:
    """dual-socket-ht, reserved 0,16: a 6-CPU Guaranteed container gets 1-3,17-19 on NUMA 0."""
    m = Manager(topo, default_config(topo), store)
    pod = make_pod("db", ("database", "6"), ("metrics", "500m"))
    view = m.allocate(pod)
    db, metrics = view.containers
    assert view.qos_class == "Guaranteed"
    assert (str(db.cpuset_cpus), db.exclusive, db.isolation) == (
        "1-3,17-19",
        True,
        "node-exclusive",
    )
    assert db.affinity == CPUSet([0])
    # Fractional CPU in a Guaranteed pod: shared pool, which lost the 6 exclusive CPUs.
    assert (str(metrics.cpuset_cpus), metrics.exclusive) == ("0,4-16,20-31", False)
    assert str(db.cpuset_mems) == "0-1"


def test_allocate_is_idempotent_and_remove_returns_cpus(
    topo: Topology, store: JournaledStore
) -> None:
    """A retried Allocate returns the same answer; remove releases, and again is a no-op."""
    m = Manager(topo, default_config(topo), store)
    pod = make_pod("db", ("database", "6"))
    first = m.allocate(pod)
    assert m.allocate(pod) == first
    assert m.remove_container(pod.uid, "database") == (True, CPUSet.parse("1-3,17-19"))
    assert m.remove_container(pod.uid, "database") == (False, CPUSet())
    assert str(m.state.cpu.default_cpuset) == "0-31"
    assert m.state.pods == {}


def test_failed_admission_leaves_no_trace(topo: Topology, store: JournaledStore) -> None:
    """When the second container cannot be placed, the first one's CPUs are not kept either."""
    m = Manager(topo, default_config(topo), store)
    before = m.state
    pod = make_pod("big", ("a", "4"), ("b", "40"))
    with pytest.raises(NotEnoughCPUsError):
        m.allocate(pod)
    assert m.state == before
    saved = store.load()
    assert saved is not None
    saved.pop("generation")
    assert saved == m._to_dict(before)


def test_sidecar_kind_and_shared_pool(topo: Topology, store: JournaledStore) -> None:
    """Sidecars are reported as such; a Burstable pod's containers all share the pool."""
    m = Manager(topo, default_config(topo), store)
    view = m.allocate(make_pod("web", ("app", "2"), sidecars=("proxy",)))
    assert view.qos_class == "Burstable"
    assert [(c.name, c.kind) for c in view.containers] == [
        ("proxy", ContainerKind.SIDECAR),
        ("app", ContainerKind.APP),
    ]
    assert all(not c.exclusive and str(c.cpuset_cpus) == "0-31" for c in view.containers)


def test_single_numa_node_rejects_a_pod_that_cannot_fit_one_node(
    topo: Topology, store: JournaledStore
) -> None:
    """20 CPUs do not fit a 16-CPU node: TopologyAffinityError under single-numa-node."""
    cfg = with_overrides(default_config(topo), topology_manager_policy="single-numa-node")
    m = Manager(topo, cfg, store)
    with pytest.raises(TopologyAffinityError):
        m.allocate(make_pod("wide", ("a", "20")))
    assert m.state.pods == {}


def test_full_pcpus_only_odd_request(topo: Topology, store: JournaledStore) -> None:
    """full-pcpus-only refuses 3 CPUs on an SMT-2 machine with SMTAlignmentError."""
    cfg = with_overrides(
        default_config(topo), cpu_manager_policy_options={"full-pcpus-only": "true"}
    )
    m = Manager(topo, cfg, store)
    with pytest.raises(SMTAlignmentError) as info:
        m.allocate(make_pod("odd", ("a", "3")))
    assert (info.value.requested_cpus, info.value.cpus_per_core) == (3, 2)


def test_pod_scope_uses_one_affinity_for_all_containers(
    topo: Topology, store: JournaledStore
) -> None:
    """In pod scope the pod's 12 CPUs are merged once; both containers land on NUMA 0."""
    cfg = with_overrides(default_config(topo), topology_manager_scope="pod")
    m = Manager(topo, cfg, store)
    view = m.allocate(make_pod("two", ("a", "6"), ("b", "6")))
    a, b = view.containers
    assert a.affinity == b.affinity == CPUSet([0])
    assert (str(a.cpuset_cpus), str(b.cpuset_cpus)) == ("1-3,17-19", "4-6,20-22")


def test_add_container_binds_and_lists(topo: Topology, store: JournaledStore) -> None:
    """AddContainer records the runtime id; unknown pods or containers are NOT_FOUND."""
    m = Manager(topo, default_config(topo), store)
    pod = make_pod("db", ("database", "2"))
    m.allocate(pod)
    cid = "a" * 64
    view = m.add_container(pod.uid, "database", cid, "kubepods/pod" + pod.uid + "/" + cid)
    assert view.container_id == cid
    assert m.find_container(cid) == (pod.uid, "database")
    with pytest.raises(NotFoundError):
        m.add_container(str(uuid.uuid4()), "database", cid)
    with pytest.raises(NotFoundError):
        m.add_container(pod.uid, "nope", cid)
    pods, shared = m.list()
    assert pods[0].containers[0].container_id == cid
    assert str(shared) == "0,2-16,18-31"


def test_restart_restores_everything(topo: Topology, store: JournaledStore) -> None:
    """A new Manager on the same state dir sees the same pods, CPUs and bindings."""
    m = Manager(topo, default_config(topo), store)
    pod = make_pod("db", ("database", "6"))
    m.allocate(pod)
    m.add_container(pod.uid, "database", "b" * 64)
    again = Manager(topo, default_config(topo), store)
    # Reuse bookkeeping is in memory only (as in the kubelet); the rest is identical.
    assert again.state.pods == m.state.pods
    assert again.state.cpu.default_cpuset == m.state.cpu.default_cpuset
    assert again.state.cpu.assignments == m.state.cpu.assignments
    assert again.list() == m.list()


def test_policy_change_is_refused_with_instructions(topo: Topology, store: JournaledStore) -> None:
    """Restarting with another CPU policy names the file and says to drain and delete it."""
    Manager(topo, default_config(topo), store).allocate(make_pod("db", ("database", "2")))
    changed = with_overrides(default_config(topo), cpu_manager_policy="none")
    with pytest.raises(StateError) as info:
        Manager(topo, changed, store)
    assert str(store.path) in str(info.value)
    assert "delete" in str(info.value)


def test_machine_change_is_refused(topo: Topology, store: JournaledStore) -> None:
    """State written on one machine is not restored on another."""
    Manager(topo, default_config(topo), store)
    other = load(MACHINES / "dual-socket-ht-offline.yaml")
    cfg = Config(reserved_system_cpus=CPUSet.parse("0,16"))
    with pytest.raises(StateError, match="machine changed"):
        Manager(other, cfg, store)


def test_tampered_state_fails_validation(topo: Topology, store: JournaledStore) -> None:
    """A checkpoint whose CPUs overlap the shared pool fails the kubelet's validation."""
    m = Manager(topo, default_config(topo), store)
    m.allocate(make_pod("db", ("database", "2")))
    data = store.load()
    assert data is not None
    data["cpu"]["defaultCpuSet"] = "0-31"
    store.save(data)
    with pytest.raises(StateError, match="overlaps with default cpuset"):
        Manager(topo, default_config(topo), store)


def test_corrupt_checkpoint_is_refused(topo: Topology, store: JournaledStore) -> None:
    """A damaged file is reported, not silently replaced."""
    Manager(topo, default_config(topo), store)
    store.path.write_text('{"version":1,"checksum":"sha256:00","data":{}}')
    with pytest.raises(CorruptCheckpointError):
        Manager(topo, default_config(topo), store)


def test_concurrent_admissions_never_share_a_cpu(topo: Topology, store: JournaledStore) -> None:
    """Many threads admitting at once: every exclusive CPU belongs to exactly one container."""
    m = Manager(topo, default_config(topo), store)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        for j in range(3):
            try:
                m.allocate(make_pod(f"p{i}-{j}", ("c", "1")))
            except NotEnoughCPUsError:
                pass
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seen: list[int] = []
    for containers in m.state.cpu.assignments.values():
        for cpus in containers.values():
            seen.extend(cpus)
    assert len(seen) == len(set(seen)) == 30  # 32 CPUs minus the reserved core
    assert CPUSet(seen) | m.state.cpu.default_cpuset == topo.cpus
    restored = Manager(topo, default_config(topo), store).state.cpu
    assert restored.assignments == m.state.cpu.assignments
