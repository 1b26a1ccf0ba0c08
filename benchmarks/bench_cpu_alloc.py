"""Median time of one exclusive CPU allocation on the 384-CPU, 8-NUMA (NPS4) machine.

Runs ``StaticPolicy.allocate`` for a Guaranteed container of 1, 4, 16, 64 and 190 CPUs, with
the packed algorithm and with ``distribute-cpus-across-numa``, against a mostly free pool (only
the reserved core taken) and a fragmented one (scattered small containers hold about 45% of the
machine). Targets (issue 2): packed under 1 ms median, distributed under 20 ms at 64 CPUs.

    python benchmarks/bench_cpu_alloc.py [--repeat N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from pinlet.server.cpu_policy import CPUState, StaticPolicy, StaticPolicyOptions
from pinlet.server.pod import Container, Pod, Resources
from pinlet.server.shapes import Shape, expand

SIZES = (1, 4, 16, 64, 190)


def guaranteed_pod(uid: str, cpus: int) -> Pod:
    res = Resources.from_dict({"limits": {"cpu": str(cpus), "memory": "1Gi"}})
    return Pod(uid=uid, name=uid, namespace="bench", containers=(Container("c", res),))


def fragmented(policy: StaticPolicy, seed: int = 7) -> CPUState:
    """Fill the machine with small containers, then remove every other one."""
    rng = random.Random(seed)
    state = policy.start()
    pods = []
    i = 0
    while len(policy.available_cpus(state)) > 40:
        pod = guaranteed_pod(f"frag-{i}", rng.choice((1, 2, 3, 5)))
        state = policy.allocate(state, pod, pod.containers[0])
        pods.append(pod)
        i += 1
    for pod in pods[::2]:
        state = policy.remove_container(state, pod.uid, "c")
    return state


def median_ms(policy: StaticPolicy, state: CPUState, cpus: int, repeat: int) -> float | None:
    if cpus > len(policy.available_cpus(state)):
        return None
    pod = guaranteed_pod("bench", cpus)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        policy.allocate(state, pod, pod.containers[0])
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=51)
    args = parser.parse_args()

    topo = expand(
        Shape(
            sockets=2, cores_per_socket=96, threads_per_core=2, numa_per_socket=4, cores_per_l3=8
        ),
        name="nps4-384",
    )
    print(f"machine: {topo!r}")
    print(f"{'algorithm':<12} {'pool':<11} {'free':>5} " + " ".join(f"{n:>9}" for n in SIZES))
    for label, options in (
        ("packed", StaticPolicyOptions()),
        ("distributed", StaticPolicyOptions(distribute_cpus_across_numa=True)),
    ):
        policy = StaticPolicy(topo, num_reserved=2, options=options)
        for pool, state in (("mostly-free", policy.start()), ("fragmented", fragmented(policy))):
            cells = []
            for n in SIZES:
                ms = median_ms(policy, state, n, args.repeat)
                cells.append(f"{'n/a':>9}" if ms is None else f"{ms:>6.3f} ms")
            free = len(policy.available_cpus(state))
            print(f"{label:<12} {pool:<11} {free:>5} " + " ".join(cells))


if __name__ == "__main__":
    main()
