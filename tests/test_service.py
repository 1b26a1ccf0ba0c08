"""The gRPC service end to end: real channels, real Unix sockets, the generated stub.

Machine: dual-socket-ht (2 NUMA nodes, 16 cores, 32 CPUs, core k = CPUs k and k+16; node 0 is
CPUs 0-7,16-23), with pinlet's embedded configuration: static CPU policy, CPUs 0 and 16 (the
first core) reserved, topology manager best-effort, container scope.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog.testing
from conftest import InProcess, container, guaranteed, pod
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_status import rpc_status

from pinlet.client._proto.v1alpha1 import pinlet_pb2 as pb
from pinlet.server.config import default_config, with_overrides
from pinlet.server.cpuset import CPUSet
from pinlet.server.service import SERVICE_NAME
from pinlet.server.status import INTERNAL_MESSAGE
from pinlet.server.topology import Topology

ALL_CPUS = CPUSet.parse("0-31")
CONTAINER_ID = "a" * 64


def allocate(server: InProcess, request_pod: pb.Pod, container_name: str = "") -> Any:
    """The PodAssignment of an Allocate call."""
    return server.stub.Allocate(
        pb.AllocateRequest(pod=request_pod, container_name=container_name), timeout=10
    ).pod


def shared_pool(server: InProcess) -> str:
    return server.stub.ListAssignments(pb.ListAssignmentsRequest(), timeout=10).shared_pool


def nodes(info: Any) -> list[int]:
    return [n.ID for n in info.nodes]


def rpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    """The RpcError ``call`` raises (the test fails if it succeeds)."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def bad_request(err: grpc.RpcError) -> list[tuple[str, str]]:
    """(field, description) of the BadRequest detail of a failed call."""
    status = rpc_status.from_call(err)
    violations = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            info = error_details_pb2.BadRequest()
            detail.Unpack(info)
            violations += [(v.field, v.description) for v in info.field_violations]
    return violations


def error_info(err: grpc.RpcError) -> Any:
    """The ErrorInfo detail of a failed call."""
    status = rpc_status.from_call(err)
    (detail,) = status.details
    assert detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)
    info = error_details_pb2.ErrorInfo()
    detail.Unpack(info)
    return info


# -- admission and assignments ---------------------------------------------------------------------


def test_guaranteed_container_gets_exclusive_cpus_of_one_node(grpc_server: InProcess) -> None:
    """A 6-CPU Guaranteed container gets three whole cores of node 0: 1-3,17-19."""
    uid = str(uuid.uuid4())
    assigned = allocate(grpc_server, guaranteed(6, name="web", uid=uid))
    assert (assigned.uid, assigned.name, assigned.namespace) == (uid, "web", "default")
    assert assigned.qos_class == "Guaranteed"
    (app,) = assigned.containers
    assert app.name == "app"
    assert app.kind == pb.APP
    assert app.cpuset_cpus == "1-3,17-19"
    assert list(app.cpu_ids) == [1, 2, 3, 17, 18, 19]
    assert app.exclusive
    assert app.isolation == pb.NODE_EXCLUSIVE
    assert nodes(app.numa_affinity) == [0]
    assert app.cpuset_mems == "0-1"
    assert (app.container_id, app.cgroup_path) == ("", "")


def test_shared_containers_get_the_shared_pool(grpc_server: InProcess) -> None:
    """A fractional container of a Guaranteed pod and a Burstable pod share 0,4-16,20-31."""
    assigned = allocate(grpc_server, pod(container("app", "6"), container("log", "500m")))
    app, log = assigned.containers
    assert app.cpuset_cpus == "1-3,17-19"
    assert log.cpuset_cpus == "0,4-16,20-31"
    assert not log.exclusive
    assert log.isolation == pb.NODE_SHARED
    assert list(log.cpu_ids) == []
    burstable = allocate(grpc_server, pod(container("b", None, None, requests={"cpu": "1"})))
    assert burstable.qos_class == "Burstable"
    (b,) = burstable.containers
    assert (b.cpuset_cpus, b.exclusive) == ("0,4-16,20-31", False)
    assert shared_pool(grpc_server) == "0,4-16,20-31"


def test_init_and_sidecar_containers_come_first_with_their_kinds(grpc_server: InProcess) -> None:
    """Init containers (regular and sidecar) are listed before app containers, with kinds."""
    request = pod(
        container("app", "2"),
        init=(container("setup", "2"), container("proxy", "500m", restart_policy="Always")),
    )
    assigned = allocate(grpc_server, request)
    assert [(c.name, c.kind) for c in assigned.containers] == [
        ("setup", pb.INIT),
        ("proxy", pb.SIDECAR),
        ("app", pb.APP),
    ]


def test_allocate_is_idempotent(grpc_server: InProcess) -> None:
    """Allocating an admitted pod again returns the same assignment and takes no more CPUs."""
    request = guaranteed(6)
    first = allocate(grpc_server, request)
    pool = shared_pool(grpc_server)
    assert allocate(grpc_server, request) == first
    assert shared_pool(grpc_server) == pool


def test_allocate_one_container_by_name(grpc_server: InProcess) -> None:
    """container_name admits only that container of the pod."""
    request = pod(container("a", "2"), container("b", "4"))
    assigned = allocate(grpc_server, request, "b")
    assert [c.name for c in assigned.containers] == ["b"]
    assert len(assigned.containers[0].cpu_ids) == 4


def test_remove_container_returns_its_cpus(grpc_server: InProcess) -> None:
    """RemoveContainer releases the exclusive CPUs back to the shared pool."""
    request = guaranteed(6)
    allocate(grpc_server, request)
    reply = grpc_server.stub.RemoveContainer(
        pb.RemoveContainerRequest(pod_uid=request.uid, container_name="app"), timeout=10
    )
    assert (reply.removed, reply.released_cpus) == (True, "1-3,17-19")
    assert shared_pool(grpc_server) == "0-31"
    assert list(grpc_server.stub.ListAssignments(pb.ListAssignmentsRequest()).pods) == []


def test_remove_unknown_container_is_not_an_error(grpc_server: InProcess) -> None:
    """Removing a container pinlet does not know answers removed=false, by name or by id."""
    for request in (
        pb.RemoveContainerRequest(pod_uid=str(uuid.uuid4()), container_name="app"),
        pb.RemoveContainerRequest(container_id=CONTAINER_ID),
    ):
        reply = grpc_server.stub.RemoveContainer(request, timeout=10)
        assert (reply.removed, reply.released_cpus) == (False, "")


def test_add_container_binds_id_and_cgroup(grpc_server: InProcess) -> None:
    """AddContainer records the runtime id (containerd:// prefix removed) and the cgroup path."""
    request = guaranteed(2)
    allocate(grpc_server, request)
    cgroup = f"kubepods/pod{request.uid}/{CONTAINER_ID}"
    reply = grpc_server.stub.AddContainer(
        pb.AddContainerRequest(
            pod_uid=request.uid,
            container_name="app",
            container_id=f"containerd://{CONTAINER_ID}",
            cgroup_path=cgroup,
        ),
        timeout=10,
    )
    assert (reply.container.container_id, reply.container.cgroup_path) == (CONTAINER_ID, cgroup)
    assert reply.container.cpuset_cpus == "1,17"
    listed = grpc_server.stub.ListAssignments(pb.ListAssignmentsRequest(pod_uid=request.uid))
    assert listed.pods[0].containers[0].container_id == CONTAINER_ID


def test_remove_container_by_runtime_id(grpc_server: InProcess) -> None:
    """A bound container can be removed by its container id alone."""
    request = guaranteed(2)
    allocate(grpc_server, request)
    grpc_server.stub.AddContainer(
        pb.AddContainerRequest(pod_uid=request.uid, container_name="app", container_id=CONTAINER_ID)
    )
    reply = grpc_server.stub.RemoveContainer(
        pb.RemoveContainerRequest(container_id=f"cri-o://{CONTAINER_ID}"), timeout=10
    )
    assert (reply.removed, reply.released_cpus) == (True, "1,17")


def test_remove_pod_releases_every_container_and_is_idempotent(grpc_server: InProcess) -> None:
    """RemovePod names the removed containers and their CPUs; a second call removes nothing."""
    request = pod(container("a", "2"), container("b", "2"), container("c", "100m"))
    allocate(grpc_server, request)
    first = grpc_server.stub.RemovePod(pb.RemovePodRequest(pod_uid=request.uid), timeout=10)
    assert list(first.removed_containers) == ["a", "b", "c"]
    assert CPUSet.parse(first.released_cpus) == CPUSet.parse("1-2,17-18")
    again = grpc_server.stub.RemovePod(pb.RemovePodRequest(pod_uid=request.uid), timeout=10)
    assert (list(again.removed_containers), again.released_cpus) == ([], "")
    assert shared_pool(grpc_server) == "0-31"


def test_list_assignments_all_pods_or_one(grpc_server: InProcess) -> None:
    """ListAssignments lists every admitted pod, or only the one asked for."""
    one, two = guaranteed(2, name="one"), guaranteed(4, name="two")
    allocate(grpc_server, one)
    allocate(grpc_server, two)
    listed = grpc_server.stub.ListAssignments(pb.ListAssignmentsRequest(), timeout=10)
    assert sorted(p.name for p in listed.pods) == ["one", "two"]
    assert listed.shared_pool == "0,4-16,20-31"
    only = grpc_server.stub.ListAssignments(pb.ListAssignmentsRequest(pod_uid=two.uid))
    assert [p.uid for p in only.pods] == [two.uid]


def test_get_allocatable_resources(grpc_server: InProcess) -> None:
    """GetAllocatableResources shows per-node CPUs, memory, hugepages, distances and policies."""
    allocate(grpc_server, guaranteed(6))
    reply = grpc_server.stub.GetAllocatableResources(
        pb.GetAllocatableResourcesRequest(), timeout=10
    )
    assert CPUSet(reply.cpu_ids) == CPUSet.parse("1-15,17-31")
    assert (reply.reserved_cpus, reply.shared_pool) == ("0,16", "0,4-16,20-31")
    node0, node1 = reply.numa_nodes
    assert (node0.id, node0.cpus, node0.allocatable_cpus) == (0, "0-7,16-23", "1-7,17-23")
    assert (node0.free_cpus, node0.exclusive_cpus) == ("4-7,20-23", "1-3,17-19")
    assert (node1.id, node1.free_cpus, node1.exclusive_cpus) == (1, "8-15,24-31", "")
    assert node0.memory_bytes == 64 << 30
    assert [(h.page_size_bytes, h.pages) for h in node0.hugepages] == [
        (2 << 20, 1024),
        (1 << 30, 4),
    ]
    assert (list(node0.distances), list(node1.distances)) == ([10, 21], [21, 10])
    assert (reply.cpu_manager_policy, reply.topology_manager_policy) == ("static", "best-effort")
    assert reply.topology_manager_scope == "container"


def test_topology_hints_for_a_container(grpc_server: InProcess) -> None:
    """A 6-CPU container fits either node (preferred) or both; the merge picks node 0."""
    reply = grpc_server.stub.GetTopologyHints(
        pb.GetTopologyHintsRequest(pod=guaranteed(6), container_name="app"), timeout=10
    )
    (cpu,) = reply.hints
    assert (cpu.resource, cpu.no_preference) == ("cpu", False)
    assert [(nodes(h.affinity), h.preferred) for h in cpu.hints] == [
        ([0], True),
        ([1], True),
        ([0, 1], False),
    ]
    assert (nodes(reply.merged.affinity), reply.merged.preferred, reply.admit) == ([0], True, True)
    assert list(grpc_server.stub.ListAssignments(pb.ListAssignmentsRequest()).pods) == []


def test_topology_hints_of_a_shared_container_have_no_preference(grpc_server: InProcess) -> None:
    """A container without exclusive CPUs has no NUMA preference (the kubelet's nil hints)."""
    request = pod(container("b", None, None, requests={"cpu": "500m"}))
    reply = grpc_server.stub.GetTopologyHints(pb.GetTopologyHintsRequest(pod=request))
    (cpu,) = reply.hints
    assert (cpu.no_preference, list(cpu.hints)) == (True, [])
    assert reply.admit


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_pod", "field"),
    [
        pytest.param(
            pod(container("a", "lots")),
            "pod.containers[0].resources.limits.cpu",
            id="malformed-quantity",
        ),
        pytest.param(
            pod(container("a", "1"), container("b", "1", "1Gi", requests={"memory": "2Gi"})),
            "pod.containers[1].resources.requests.memory",
            id="request-above-limit",
        ),
        pytest.param(
            pod(container("a", "1"), init=(container("i", "1", "12XB"),)),
            "pod.init_containers[0].resources.limits.memory",
            id="init-container-quantity",
        ),
        pytest.param(pod(container("a", "1"), uid="../../etc"), "pod.uid", id="path-uid"),
        pytest.param(pod(container("a", "1"), uid="ABC"), "pod.uid", id="not-a-uuid"),
        pytest.param(pod(container("App_1", "1")), "pod.containers[0].name", id="container-name"),
        pytest.param(
            pod(container("a", "1"), container("a", "1")),
            "pod.containers[1].name",
            id="duplicate-container",
        ),
        pytest.param(pod(container("a", "1"), name=""), "pod.name", id="no-pod-name"),
        pytest.param(
            pod(container("a", "1"), namespace="Bad_NS"), "pod.namespace", id="bad-namespace"
        ),
        pytest.param(pod(), "pod.containers", id="no-containers"),
        pytest.param(
            pod(container("a", "1"), init=(container("i", "1", restart_policy="Sometimes"),)),
            "pod.init_containers[0].restart_policy",
            id="restart-policy",
        ),
    ],
)
def test_malformed_pod_is_invalid_argument_naming_the_field(
    grpc_server: InProcess, request_pod: pb.Pod, field: str
) -> None:
    """A malformed pod is INVALID_ARGUMENT with a BadRequest naming the request's field."""
    err = rpc_error(lambda: allocate(grpc_server, request_pod))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in bad_request(err)] == [field]
    assert list(grpc_server.stub.ListAssignments(pb.ListAssignmentsRequest()).pods) == []


def test_allocate_unknown_container_name(grpc_server: InProcess) -> None:
    """Allocate of a container the pod does not have names container_name."""
    err = rpc_error(lambda: allocate(grpc_server, guaranteed(2), "nope"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in bad_request(err)] == ["container_name"]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        pytest.param({"container_id": "xyz"}, "container_id", id="short-id"),
        pytest.param({"container_id": "A" * 64}, "container_id", id="uppercase-id"),
        pytest.param({"container_id": "../" + "a" * 61}, "container_id", id="path-id"),
        pytest.param({"pod_uid": "../../etc"}, "pod_uid", id="path-uid"),
        pytest.param({"container_name": "../x"}, "container_name", id="path-name"),
        pytest.param({"cgroup_path": "kubepods/../../etc"}, "cgroup_path", id="dotdot-cgroup"),
        pytest.param({"cgroup_path": "/sys/fs/cgroup"}, "cgroup_path", id="absolute-cgroup"),
    ],
)
def test_add_container_validates_ids(
    grpc_server: InProcess, request_fields: dict[str, str], field: str
) -> None:
    """AddContainer refuses ids and cgroup paths that could leave their directory."""
    request = guaranteed(2)
    allocate(grpc_server, request)
    fields = {
        "pod_uid": request.uid,
        "container_name": "app",
        "container_id": CONTAINER_ID,
        **request_fields,
    }
    err = rpc_error(lambda: grpc_server.stub.AddContainer(pb.AddContainerRequest(**fields)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in bad_request(err)] == [field]


def test_add_container_of_unknown_pod_is_not_found(grpc_server: InProcess) -> None:
    """AddContainer for a pod that was never admitted is NOT_FOUND naming pod_uid."""
    request = pb.AddContainerRequest(
        pod_uid=str(uuid.uuid4()), container_name="app", container_id=CONTAINER_ID
    )
    err = rpc_error(lambda: grpc_server.stub.AddContainer(request))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert [f for f, _ in bad_request(err)] == ["pod_uid"]


def test_list_unknown_pod_is_not_found(grpc_server: InProcess) -> None:
    """ListAssignments of a pod pinlet does not know is NOT_FOUND naming pod_uid."""
    request = pb.ListAssignmentsRequest(pod_uid=str(uuid.uuid4()))
    err = rpc_error(lambda: grpc_server.stub.ListAssignments(request))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert [f for f, _ in bad_request(err)] == ["pod_uid"]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        pytest.param({}, "pod_uid", id="nothing"),
        pytest.param({"pod_uid": str(uuid.UUID(int=1))}, "container_name", id="no-name"),
        pytest.param(
            {"container_id": CONTAINER_ID, "pod_uid": str(uuid.UUID(int=1))},
            "container_id",
            id="both",
        ),
        pytest.param({"container_id": "nope"}, "container_id", id="bad-id"),
    ],
)
def test_remove_container_needs_one_way_of_naming(
    grpc_server: InProcess, request_fields: dict[str, str], field: str
) -> None:
    """RemoveContainer takes pod_uid + container_name, or container_id, and nothing else."""
    request = pb.RemoveContainerRequest(**request_fields)
    err = rpc_error(lambda: grpc_server.stub.RemoveContainer(request))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in bad_request(err)] == [field]


def test_remove_pod_validates_the_uid(grpc_server: InProcess) -> None:
    """RemovePod refuses a uid that is not a UUID."""
    err = rpc_error(lambda: grpc_server.stub.RemovePod(pb.RemovePodRequest(pod_uid="../x")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in bad_request(err)] == ["pod_uid"]


@pytest.mark.parametrize(
    ("overrides", "request_pod", "reason"),
    [
        pytest.param(
            {"cpu_manager_policy_options": {"full-pcpus-only": "true"}},
            guaranteed(3),
            "SMTAlignmentError",
            id="full-pcpus-only-odd-count",
        ),
        pytest.param(
            {"topology_manager_policy": "single-numa-node"},
            guaranteed(20),
            "TopologyAffinityError",
            id="single-numa-node-too-big",
        ),
        pytest.param({}, guaranteed(40), "UnexpectedAdmissionError", id="more-than-allocatable"),
    ],
)
def test_admission_failure_is_failed_precondition_with_reason(
    serve_in_process: Callable[..., InProcess],
    dual_socket_ht: Topology,
    overrides: dict[str, Any],
    request_pod: pb.Pod,
    reason: str,
) -> None:
    """A pod that cannot be admitted is FAILED_PRECONDITION with the kubelet's reason."""
    server = serve_in_process(with_overrides(default_config(dual_socket_ht), **overrides))
    err = rpc_error(lambda: allocate(server, request_pod))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(err)
    assert (info.reason, info.domain) == (reason, "pinlet.io")
    assert info.metadata["pod_uid"] == request_pod.uid
    assert info.metadata["message"] == err.details()
    # Whole-pod admission: the metadata names the container that could not be placed.
    assert info.metadata["container"] == "app"
    # All-or-nothing: nothing was admitted, no CPU was taken.
    assert list(server.stub.ListAssignments(pb.ListAssignmentsRequest()).pods) == []
    assert shared_pool(server) == "0-31"


def test_admission_failure_names_the_requested_container(grpc_server: InProcess) -> None:
    """With container_name, the ErrorInfo metadata names the container."""
    err = rpc_error(lambda: allocate(grpc_server, guaranteed(40), "app"))
    assert error_info(err).metadata["container"] == "app"


def test_failed_admission_of_a_second_container_leaves_no_trace(grpc_server: InProcess) -> None:
    """A pod whose second container does not fit keeps none of its first container's CPUs."""
    request = pod(container("small", "2"), container("huge", "40"))
    err = rpc_error(lambda: allocate(grpc_server, request))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert shared_pool(grpc_server) == "0-31"


# -- health, reflection, concurrency ---------------------------------------------------------------


def test_health_serving_for_server_and_service(grpc_server: InProcess) -> None:
    """Health reports SERVING for the whole server and for the ResourceManager service."""
    for name in ("", SERVICE_NAME):
        assert grpc_server.health(name).status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(grpc_server: InProcess) -> None:
    """Server reflection names the service, so tools need no .proto file."""
    services = ProtoReflectionDescriptorDatabase(grpc_server.channel).get_services()
    assert set(services) >= {SERVICE_NAME, "grpc.health.v1.Health"}


def test_grpcurl_lists_the_service(grpc_server: InProcess) -> None:
    """``grpcurl -plaintext -unix SOCKET list`` works with no .proto at hand."""
    grpcurl = Path(sys.executable).parent / "grpcurl"
    result = subprocess.run(
        [str(grpcurl), "-plaintext", "-unix", str(grpc_server.socket_path), "list"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert SERVICE_NAME in result.stdout.split()


def test_concurrent_allocations_never_share_a_cpu(grpc_server: InProcess) -> None:
    """16 threads admitting and removing pods at once: exclusive sets stay disjoint and complete."""
    errors: list[BaseException] = []
    refused: list[tuple[grpc.StatusCode, str]] = []

    def client(t: int) -> None:
        try:
            for i in range(4):
                request = guaranteed(1 + (t + i) % 2, name=f"p{t}-{i}")
                try:
                    allocate(grpc_server, request)
                except grpc.RpcError as err:
                    refused.append((err.code(), error_info(err).reason))
                    continue
                if i == 0:
                    grpc_server.stub.RemovePod(pb.RemovePodRequest(pod_uid=request.uid))
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(t,)) for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    # Only running out of CPUs may refuse a pod; never a conflict between threads.
    assert set(refused) <= {(grpc.StatusCode.FAILED_PRECONDITION, "UnexpectedAdmissionError")}
    listed = grpc_server.stub.ListAssignments(pb.ListAssignmentsRequest(), timeout=10)
    exclusive = [CPUSet(c.cpu_ids) for p in listed.pods for c in p.containers if c.exclusive]
    claimed = CPUSet()
    for cpus in exclusive:
        assert not cpus & claimed, "a CPU is in two containers' exclusive sets"
        claimed |= cpus
    shared = CPUSet.parse(listed.shared_pool)
    assert not shared & claimed
    assert shared | claimed == ALL_CPUS
    allocatable = grpc_server.stub.GetAllocatableResources(pb.GetAllocatableResourcesRequest())
    assert allocatable.shared_pool == listed.shared_pool


def test_unexpected_error_is_internal_and_logged(
    grpc_server: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the manager is INTERNAL with a generic message; the traceback is logged."""

    def broken() -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(grpc_server.manager, "allocatable", broken)
    with structlog.testing.capture_logs() as logs:
        err = rpc_error(
            lambda: grpc_server.stub.GetAllocatableResources(pb.GetAllocatableResourcesRequest())
        )
    assert err.code() == grpc.StatusCode.INTERNAL
    assert err.details() == INTERNAL_MESSAGE
    assert list(rpc_status.from_call(err).details) == []
    (failure,) = [e for e in logs if e["log_level"] == "error"]
    assert isinstance(failure["exc_info"], RuntimeError)
    (rpc,) = [e for e in logs if e["event"] == "rpc"]
    assert (rpc["method"], rpc["code"], rpc["error"]) == (
        "GetAllocatableResources",
        "INTERNAL",
        "RuntimeError",
    )
