"""Named machines and small pod builders shared by the CPU manager tests.

Every machine is built in code from a :class:`~pinlet.server.shapes.Shape` (or literal rows),
so its layout can be read right here. The kubelet's own test topologies (``policy_test.go``)
are reproduced CPU for CPU, so expected CPU ids worked out against them are comparable with
the kubelet's tables:

* ``single_socket_ht()`` = ``topoSingleSocketHT``: 1 socket, 1 NUMA node, 4 cores, 8 CPUs;
  core k is CPUs k and k+4.
* ``dual_socket_ht_12()`` = ``topoDualSocketHT``: 2 sockets (NUMA node = socket), 12 CPUs,
  numbered alternately: socket 0 holds the even CPUs with cores (0,6), (2,8), (4,10); socket 1
  the odd ones with cores (1,7), (3,9), (5,11).
* ``dual_socket_no_ht()`` = ``topoDualSocketNoHT``: 2 sockets (NUMA node = socket), 8 cores,
  no SMT; socket 0 is CPUs 0-3, socket 1 is CPUs 4-7.
* ``dual_socket_multi_numa_ht()``: the layout of ``topoDualSocketMultiNumaPerSocketHT``:
  2 sockets, 2 NUMA nodes per socket, 40 cores, 80 CPUs; NUMA node n holds cores 10n..10n+9,
  core k is CPUs k and k+40 (node 0 = 0-9,40-49, node 1 = 10-19,50-59, node 2 = 20-29,60-69,
  node 3 = 30-39,70-79; socket 0 = nodes 0 and 1).

pinlet's named machines:

* ``dual_socket_ht()`` ("dual-socket-ht"): 2 sockets, NUMA node = socket, 16 cores, 32 CPUs;
  core k is CPUs k and k+16 (socket 0 = 0-7,16-23, socket 1 = 8-15,24-31). No L3 data.
* ``dual_socket_snc2()`` ("dual-socket-snc2"): 2 sockets with 2 NUMA nodes each, 16 cores,
  32 CPUs, core k is CPUs k and k+16; node 0 = 0-3,16-19, node 1 = 4-7,20-23,
  node 2 = 8-11,24-27, node 3 = 12-15,28-31 (socket 0 = nodes 0 and 1). No L3 data.
* ``nps4_384()`` ("nps4-384"): 2 sockets x 96 cores x 2 threads, 4 NUMA nodes per socket,
  8 cores per L3. Core k is CPUs k and k+192; NUMA node n = cores 24n..24n+23 (CPUs
  24n..24n+23 and 192+24n..192+24n+23); L3 u = cores 8u..8u+7 (CPUs 8u..8u+7 and
  192+8u..192+8u+7), three L3s per NUMA node.
* ``amd_1s_4l3()`` ("amd-1s-4l3"): an AMD-style single-socket NPS1 box: 16 cores x 2 threads,
  one NUMA node, 4 cores per L3. Core k is CPUs k and k+16; L3 0 = 0-3,16-19,
  L3 1 = 4-7,20-23, L3 2 = 8-11,24-27, L3 3 = 12-15,28-31.
* ``dual_socket_one_numa()``: 2 sockets but a single NUMA node (sockets > NUMA nodes), CPUs
  0-3 on socket 0 and 4-7 on socket 1, no SMT: the layout ``align-by-socket`` refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pinlet.server.cpuset import CPUSet
from pinlet.server.shapes import Shape, expand, from_rows
from pinlet.server.topology import Topology


def cpus(text: str) -> CPUSet:
    """A CPU (or NUMA node) set from a cpulist literal."""
    return CPUSet.parse(text)


# -- the kubelet's test topologies ----------------------------------------------------------


def single_socket_ht() -> Topology:
    """``topoSingleSocketHT``: 8 CPUs, core k = CPUs k and k+4."""
    return expand(Shape(sockets=1, cores_per_socket=4, threads_per_core=2), name="single-socket-ht")


def dual_socket_ht_12() -> Topology:
    """``topoDualSocketHT``: 12 CPUs, socket 0 even, socket 1 odd, siblings 6 apart."""
    return expand(
        Shape(sockets=2, cores_per_socket=3, threads_per_core=2, numbering="interleaved"),
        name="topo-dual-socket-ht",
    )


def dual_socket_no_ht() -> Topology:
    """``topoDualSocketNoHT``: 8 single-thread cores, socket 0 = 0-3, socket 1 = 4-7."""
    return expand(Shape(sockets=2, cores_per_socket=4), name="dual-socket-no-ht")


def dual_socket_multi_numa_ht() -> Topology:
    """The 80-CPU, 4-NUMA layout of ``topoDualSocketMultiNumaPerSocketHT``."""
    return expand(
        Shape(sockets=2, cores_per_socket=20, threads_per_core=2, numa_per_socket=2),
        name="dual-socket-multi-numa-ht",
    )


# -- pinlet's named machines ----------------------------------------------------------------


def dual_socket_ht() -> Topology:
    """Pinlet's "dual-socket-ht": 32 CPUs, NUMA node = socket, core k = CPUs k and k+16."""
    return expand(Shape(sockets=2, cores_per_socket=8, threads_per_core=2), name="dual-socket-ht")


def dual_socket_snc2() -> Topology:
    """Pinlet's "dual-socket-snc2": 32 CPUs, 2 NUMA nodes per socket (sockets-first ordering)."""
    return expand(
        Shape(sockets=2, cores_per_socket=8, threads_per_core=2, numa_per_socket=2),
        name="dual-socket-snc2",
    )


def nps4_384() -> Topology:
    """Pinlet's "nps4-384": 384 CPUs, 8 NUMA nodes of 48 CPUs, 24 L3 caches of 16 CPUs."""
    return expand(
        Shape(
            sockets=2, cores_per_socket=96, threads_per_core=2, numa_per_socket=4, cores_per_l3=8
        ),
        name="nps4-384",
    )


def amd_1s_4l3() -> Topology:
    """Pinlet's "amd-1s-4l3": one socket, one NUMA node, 4 L3 caches of 8 CPUs."""
    return expand(
        Shape(sockets=1, cores_per_socket=16, threads_per_core=2, cores_per_l3=4),
        name="amd-1s-4l3",
    )


def dual_socket_one_numa() -> Topology:
    """Two sockets sharing one NUMA node (NumSockets > NumNUMANodes)."""
    return from_rows(
        [(c, 0, c, 0) for c in range(4)] + [(c, 1, c, 0) for c in range(4, 8)],
        name="dual-socket-one-numa",
    )


MACHINES = {
    "single-socket-ht": single_socket_ht,
    "topo-dual-socket-ht": dual_socket_ht_12,
    "dual-socket-no-ht": dual_socket_no_ht,
    "dual-socket-multi-numa-ht": dual_socket_multi_numa_ht,
    "dual-socket-ht": dual_socket_ht,
    "dual-socket-snc2": dual_socket_snc2,
    "nps4-384": nps4_384,
    "amd-1s-4l3": amd_1s_4l3,
    "dual-socket-one-numa": dual_socket_one_numa,
}

_CACHE: dict[str, Topology] = {}


def machine(name: str) -> Topology:
    """The named machine (built once per test session)."""
    if name not in _CACHE:
        _CACHE[name] = MACHINES[name]()
    return _CACHE[name]


# -- pods -----------------------------------------------------------------------------------
#
# Only these builders know the constructor of pinlet's pod model.


def resources(
    requests: Mapping[str, str] | None = None, limits: Mapping[str, str] | None = None
) -> Any:
    from pinlet.server.pod import Resources

    body: dict[str, dict[str, str]] = {}
    if requests:
        body["requests"] = dict(requests)
    if limits:
        body["limits"] = dict(limits)
    return Resources.from_dict(body, field="resources")


def container(
    name: str,
    *,
    requests: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
    restart_policy: str | None = None,
) -> Any:
    from pinlet.server.pod import Container

    return Container(name, resources(requests, limits), restart_policy=restart_policy)


def guaranteed(name: str, cpu: str, memory: str = "1Gi", *, sidecar: bool = False) -> Any:
    """A container whose requests equal its limits (``cpu`` as a quantity string)."""
    amounts = {"cpu": cpu, "memory": memory}
    return container(
        name, requests=amounts, limits=amounts, restart_policy="Always" if sidecar else None
    )


def burstable(name: str, request_cpu: str, limit_cpu: str, memory: str = "1Gi") -> Any:
    """A container whose CPU request is below its limit."""
    return container(
        name,
        requests={"cpu": request_cpu, "memory": memory},
        limits={"cpu": limit_cpu, "memory": memory},
    )


def pod(
    uid: str,
    containers: Sequence[Any],
    init_containers: Sequence[Any] = (),
    *,
    name: str | None = None,
) -> Any:
    from pinlet.server.pod import Pod

    return Pod(
        uid,
        name or uid,
        "default",
        tuple(containers),
        init_containers=tuple(init_containers),
    )
