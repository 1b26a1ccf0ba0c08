"""Topology manager speed: the merge's worst case and full admission on 16 NUMA nodes.

1. The kubelet's worst case: 8 NUMA nodes, 4 providers, every provider offering every one of
   the 255 masks. The kubelet walks 255^4 (4.2 billion) permutations; users report 21 minutes
   for one admission. Two variants: the narrowest masks preferred (what real providers send)
   and nothing preferred (forces the non-preferred search). Target: under 20 ms median.
2. Full admission (hints, merge, allocation, removal not timed) with the CPU manager (static),
   the memory manager (Static) and 2 caller providers (a GPU and a NIC, as the kubelet's
   device manager would send them) on a 16-NUMA, 512-CPU machine. Target: under 200 ms median.
3. How it scales: the same admission on 4 to 20 NUMA nodes. The kubelet's providers list one
   hint per NUMA mask, 2^n - 1 of them, so the hint lists themselves bound the size.

    python benchmarks/bench_topology.py [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import uuid
from collections.abc import Callable

from pinlet.server.config import Config, ReservedMemory
from pinlet.server.cpuset import CPUSet
from pinlet.server.hints import TopologyHint, iterate_masks
from pinlet.server.manager import CallerHints, Manager
from pinlet.server.pod import Container, Pod, Resources
from pinlet.server.quantity import Quantity
from pinlet.server.shapes import GiB, Shape, expand
from pinlet.server.topology_manager import TopologyManagerPolicy


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def worst_case_merge(repeat: int) -> None:
    nodes = CPUSet(range(8))
    masks = list(iterate_masks(range(8)))
    narrow_preferred = [TopologyHint(m, len(m) == 1) for m in masks]
    none_preferred = [TopologyHint(m, False) for m in masks]
    policy = TopologyManagerPolicy("best-effort", nodes)
    print("1. merge, 8 NUMA nodes, 4 providers x 255 masks (the kubelet: 255^4 permutations)")
    for label, hints in (
        ("narrowest preferred", narrow_preferred),
        ("none preferred", none_preferred),
    ):
        providers = [{f"r{i}": hints} for i in range(4)]
        ms = median_ms(lambda p=providers: policy.merge(p), repeat)  # type: ignore[misc]
        print(f"   {label:<22} {ms:8.2f} ms   -> {policy.merge(providers)[0]}")


def machine(numa: int):  # type: ignore[no-untyped-def]
    sockets = 2 if numa >= 2 else 1
    return expand(
        Shape(
            sockets=sockets,
            cores_per_socket=16 * numa // sockets,
            threads_per_core=2,
            numa_per_socket=numa // sockets,
            cores_per_l3=8,
            memory_per_numa=32 * GiB,
            hugepages_per_numa={2 << 20: 512},
        ),
        name=f"{numa}-numa",
    )


def config(numa: int) -> Config:
    return Config(
        cpu_manager_policy="static",
        reserved_system_cpus=CPUSet([0, 16 * numa]),
        topology_manager_policy="best-effort",
        topology_manager_policy_options={"max-allowable-numa-nodes": str(max(8, numa))},
        memory_manager_policy="Static",
        reserved_memory=(ReservedMemory(0, {"memory": Quantity.parse("1Gi")}),),
    )


def pod(cpus: int, memory: str) -> Pod:
    res = Resources.from_dict({"limits": {"cpu": str(cpus), "memory": memory}})
    uid = str(uuid.uuid4())
    return Pod(uid=uid, name="bench", namespace="bench", containers=(Container("app", res),))


def device_hints(numa: int) -> list[CallerHints]:
    """A GPU on the last node and a NIC on the last two, as the device manager reports."""
    last = numa - 1
    every = list(iterate_masks(range(numa)))
    gpu = [TopologyHint(m, m == CPUSet([last])) for m in every if last in m]
    nic = [TopologyHint(m, len(m) == 1) for m in every if last in m or last - 1 in m]
    return [
        CallerHints("devicemanager", "app", {"example.com/gpu": gpu}),
        CallerHints("devicemanager", "app", {"example.com/nic": nic}),
    ]


def admission_ms(numa: int, cpus: int, memory: str, repeat: int) -> tuple[float, str]:
    manager = Manager(machine(numa), config(numa))
    caller = device_hints(numa)
    # As pinlet serve does before serving: long-lived objects (the mask tables) leave the
    # collector's generations, so full collections do not walk them on every admission.
    gc.collect()
    gc.freeze()
    placed = ""

    def admit() -> None:
        nonlocal placed
        p = pod(cpus, memory)
        view = manager.allocate(p, caller=caller)
        placed = f"cpus {view.containers[0].cpuset_cpus}, mems {view.containers[0].cpuset_mems}"
        manager.remove_pod(p.uid)

    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        admit()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000, placed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    worst_case_merge(args.repeat)
    print("2. full admission, 16 NUMA nodes, 512 CPUs: CPU + memory + 2 caller providers")
    for cpus, memory in ((8, "16Gi"), (48, "48Gi")):
        ms, placed = admission_ms(16, cpus, memory, args.repeat)
        print(f"   {cpus:>3} CPUs {memory:>5}: {ms:8.2f} ms   ({placed})")
    print("3. scaling: the same 8-CPU admission (hint lists have 2^n - 1 masks)")
    for numa in (4, 8, 12, 16, 18, 20):
        ms, _ = admission_ms(numa, 8, "16Gi", max(3, args.repeat // 3))
        print(f"   {numa:>3} NUMA nodes ({16 * numa * 2:>4} CPUs): {ms:9.2f} ms")


if __name__ == "__main__":
    main()
