"""KEP-5526 in the static CPU policy: pod budgets, carving order, errors (pure, no service)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pinlet.server.cpu_policy import StaticPolicy, StaticPolicyOptions
from pinlet.server.cpuset import CPUSet
from pinlet.server.errors import EmptyPodSharedPoolError, SMTAlignmentError
from pinlet.server.machine import load
from pinlet.server.pod import Pod

# dual-socket-ht: core k = CPUs k and k+16, NUMA 0 = 0-7,16-23; reserved core 0.
MACHINE = load(Path(__file__).parent / "fixtures" / "machines" / "dual-socket-ht.yaml")


def policy(**options: bool) -> StaticPolicy:
    return StaticPolicy(
        MACHINE,
        num_reserved=2,
        reserved_cpus=CPUSet.parse("0,16"),
        options=StaticPolicyOptions(**options),
        pod_level_resource_managers=True,
    )


def guaranteed(name: str, cpu: str, memory: str = "1Gi", **extra: object) -> dict[str, object]:
    limits = {"cpu": cpu, "memory": memory}
    return {"name": name, "resources": {"requests": limits, "limits": limits}, **extra}


def pod(budget: str, init: list[dict[str, object]], apps: list[dict[str, object]]) -> Pod:
    limits = {"cpu": budget, "memory": "16Gi"}
    return Pod.from_manifest(
        {
            "metadata": {"name": "p", "uid": str(uuid.uuid4())},
            "spec": {
                "resources": {"requests": limits, "limits": limits},
                "initContainers": init,
                "containers": apps,
            },
        }
    )


def test_carving_order_init_sidecar_app_shared() -> None:
    """Init slices may reuse the block, sidecar slices leave the pool for good, app slices come
    from the pool, and every other container shares what is left at the end."""
    p = pod(
        "8",
        [
            guaranteed("setup", "2"),
            guaranteed("proxy", "2", restartPolicy="Always"),
            {"name": "log", "restartPolicy": "Always"},
            {"name": "prep"},
        ],
        [guaranteed("app", "3", "4Gi"), {"name": "web"}],
    )
    pol = policy()
    state = pol.allocate_pod(pol.start(), p, CPUSet([0]))
    # Block: whole cores 1-4 of NUMA 0. setup and proxy both take core 1 from the whole block
    # (a standard init container's CPUs are reused); prep, a shared standard init container,
    # gets the block minus the sidecar's slice; app takes core 2 and one thread of core 3 from
    # the pool 2-4,18-20; web and log share the rest.
    assert str(state.pod_entries[p.uid]) == "1-4,17-20"
    assert {n: str(c) for n, c in state.assignments[p.uid].items()} == {
        "setup": "1,17",
        "proxy": "1,17",
        "prep": "2-4,18-20",
        "app": "2-3,18",
        "web": "4,19-20",
        "log": "4,19-20",
    }
    assert str(state.default_cpuset) == "0,5-16,21-31"


def test_fractional_pod_cpu_disables_exclusivity() -> None:
    """A pod-level CPU request of 8.5 gives no block and no slice, even to a whole-CPU container."""
    p = pod("8500m", [], [guaranteed("db", "6")])
    pol = policy()
    assert pol.pod_level_cpus(p) == 0
    assert pol.guaranteed_cpus(p, p.containers[0]) == 0
    assert pol.get_pod_topology_hints(pol.start(), p) is None
    assert pol.allocate_pod(pol.start(), p, None) == pol.start()


def test_full_pcpus_only_checks_the_pod_total() -> None:
    """full-pcpus-only refuses an odd pod total; the slices inside are not checked."""
    pol = policy(full_pcpus_only=True)
    with pytest.raises(SMTAlignmentError) as info:
        pol.allocate_pod(pol.start(), pod("5", [], [guaranteed("a", "4"), {"name": "b"}]), None)
    assert (info.value.requested_cpus, info.value.cpus_per_core) == (5, 2)
    odd_slice = pod("4", [], [guaranteed("a", "3"), {"name": "b"}])
    state = pol.allocate_pod(pol.start(), odd_slice, CPUSet([0]))
    assert str(state.assignments[odd_slice.uid]["a"]) == "1-2,17"


def test_empty_shared_pool_gives_no_hints_and_is_refused() -> None:
    """Slices taking the whole budget next to a shared container: [] hints, then an error."""
    p = pod("8", [{"name": "side", "restartPolicy": "Always"}], [guaranteed("db", "8", "8Gi")])
    pol = policy()
    assert pol.get_pod_topology_hints(pol.start(), p) == []
    with pytest.raises(EmptyPodSharedPoolError, match="leaving no shared pool for side"):
        pol.allocate_pod(pol.start(), p, None)


def test_no_shared_container_may_leave_budget_unused() -> None:
    """Underutilisation is allowed: without shared containers the rest of the block idles."""
    p = pod("8", [], [guaranteed("db", "6")])
    pol = policy()
    state = pol.allocate_pod(pol.start(), p, CPUSet([0]))
    assert str(state.pod_entries[p.uid]) == "1-4,17-20"
    assert str(state.assignments[p.uid]["db"]) == "1-3,17-19"


def test_gate_off_ignores_pod_level_pods() -> None:
    """Without PodLevelResourceManagers, a pod with spec.resources gets nothing exclusive."""
    pol = StaticPolicy(MACHINE, num_reserved=2, reserved_cpus=CPUSet.parse("0,16"))
    p = pod("8", [], [guaranteed("db", "6"), {"name": "side"}])
    assert not pol.is_pod_level(p)
    assert pol.guaranteed_cpus(p, p.containers[0]) == 0
    state = pol.allocate(pol.start(), p, p.containers[0])
    assert state.assignments == {}
