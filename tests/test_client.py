"""pinlet.client: manifests, every call against a real server, typed errors, timeouts."""

from __future__ import annotations

import ast
import dataclasses
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from pinlet.client import (
    AdmissionRejected,
    ContainerSpec,
    InvalidArgument,
    ManifestError,
    NotFound,
    PinletClient,
    PinletConnectionError,
    PinletError,
    PinletTimeout,
    PodSpec,
    ResourceRequirements,
    SMTAlignmentError,
    TopologyAffinityError,
    TopologyHint,
    Unavailable,
    UnexpectedAdmissionError,
    error_from_rpc,
    load_pod_manifest,
    pod_from_manifest,
)
from pinlet.client.manifest import POD_UID_NAMESPACE
from pinlet.server import errors as server_errors
from pinlet.server import status as server_status
from pinlet.server.config import default_config
from pinlet.server.cpuset import CPUSet
from pinlet.server.manager import NotFoundError
from pinlet.server.pod import POD_UID_NAMESPACE as SERVER_POD_UID_NAMESPACE
from pinlet.server.pod import Pod
from pinlet.server.topology import Topology

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GUARANTEED_6CPU = EXAMPLES / "guaranteed-6cpu.yaml"
NODE0 = CPUSet.parse("0-7,16-23")
NODE1 = CPUSet.parse("8-15,24-31")


def guaranteed_pod(cpus: str, *, name: str = "app", uid: str | None = None) -> PodSpec:
    """A Guaranteed pod with one container ``app`` of ``cpus`` CPUs and 1Gi."""
    limits = {"cpu": cpus, "memory": "1Gi"}
    return PodSpec(
        uid=uid or str(uuid.uuid4()),
        name=name,
        namespace="default",
        containers=(ContainerSpec("app", ResourceRequirements(limits=limits)),),
    )


@pytest.fixture
def client(serve_in_process: Callable[..., Any]) -> Iterator[PinletClient]:
    """A client of an in-process server with the default configuration on dual-socket-ht."""
    with PinletClient(serve_in_process().socket_path) as c:
        yield c


@pytest.fixture
def client_with(
    serve_in_process: Callable[..., Any], dual_socket_ht: Topology
) -> Iterator[Callable[..., PinletClient]]:
    """A factory: a client of a server whose default config has the given fields replaced."""
    clients: list[PinletClient] = []

    def make(**overrides: Any) -> PinletClient:
        config = dataclasses.replace(default_config(dual_socket_ht), **overrides)
        c = PinletClient(serve_in_process(config).socket_path)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


# -- manifests -----------------------------------------------------------------------------------


def _doc(text: str) -> Any:
    return yaml.safe_load(textwrap.dedent(text))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("2", "2", id="yaml-int"),
        pytest.param("0.5", "0.5", id="yaml-float"),
        pytest.param("'500m'", "500m", id="string"),
        pytest.param("' 1500m '", "1500m", id="string-trimmed"),
        pytest.param("1e3", "1e3", id="exponent-stays-a-string"),
        pytest.param("null", "0", id="null-is-zero"),
    ],
)
def test_manifest_quantities_become_their_text(written: str, expected: str) -> None:
    """YAML numbers, strings and null in requests/limits become the quantity text."""
    pod = pod_from_manifest(
        _doc(
            f"""
            kind: Pod
            metadata: {{name: p}}
            spec:
              containers:
                - name: app
                  resources:
                    requests: {{cpu: {written}}}
                    limits: {{cpu: {written}, memory: 1Gi}}
            """
        )
    )
    resources = pod.containers[0].resources
    assert resources.requests == {"cpu": expected}
    assert resources.limits == {"cpu": expected, "memory": "1Gi"}


def test_manifest_without_uid_gets_the_servers_derived_uid() -> None:
    """A missing metadata.uid becomes uuid5(namespace/name), the same uid the server derives."""
    doc = _doc(
        """
        kind: Pod
        metadata: {name: web, namespace: shop}
        spec: {containers: [{name: app}]}
        """
    )
    pod = pod_from_manifest(doc)
    assert pod.uid == str(uuid.uuid5(POD_UID_NAMESPACE, "shop/web"))
    assert POD_UID_NAMESPACE == SERVER_POD_UID_NAMESPACE
    assert pod.uid == Pod.from_manifest(doc).uid
    assert pod_from_manifest(doc).uid == pod.uid


def test_manifest_identity_defaults() -> None:
    """metadata.uid is kept as given and a missing namespace is 'default'."""
    pod = pod_from_manifest(
        _doc(
            """
            metadata: {name: p, uid: 0a1b2c3d-4e5f-6789-abcd-ef0123456789}
            spec: {containers: [{name: app}]}
            """
        )
    )
    assert (pod.uid, pod.name, pod.namespace) == (
        "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        "p",
        "default",
    )
    assert pod.containers == (ContainerSpec("app"),)
    assert pod.init_containers == ()
    assert pod.resources is None


def test_manifest_sidecars_and_pod_level_resources() -> None:
    """Init containers keep their order and restartPolicy; spec.resources is the pod's."""
    pod = pod_from_manifest(
        _doc(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              resources:
                limits: {cpu: 4, memory: 8Gi}
              initContainers:
                - name: setup
                - name: proxy
                  restartPolicy: Always
                  resources: {limits: {cpu: 1, memory: 64Mi}}
              containers:
                - name: app
            """
        )
    )
    assert pod.resources == ResourceRequirements(limits={"cpu": "4", "memory": "8Gi"})
    assert [(c.name, c.restart_policy) for c in pod.init_containers] == [
        ("setup", ""),
        ("proxy", "Always"),
    ]
    assert pod.init_containers[1].resources.limits == {"cpu": "1", "memory": "64Mi"}


def test_example_guaranteed_pod_has_a_sidecar_without_resources() -> None:
    """examples/guaranteed-pod.yaml: a 6-CPU database and a sidecar that sets no resources."""
    pod = load_pod_manifest(EXAMPLES / "guaranteed-pod.yaml")
    assert pod.init_containers == (ContainerSpec("metrics-exporter", restart_policy="Always"),)
    assert pod.containers[0].resources.limits == {"cpu": "6", "memory": "12Gi"}


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        pytest.param(
            "kind: Deployment\nmetadata: {name: d}", "kind", "out of scope", id="deployment"
        ),
        pytest.param("kind: List\nitems: []", "kind", "single Pod", id="list"),
        pytest.param("kind: Pod\nspec: {}", "metadata", "Required", id="no-metadata"),
        pytest.param(
            "metadata: {namespace: x}\nspec: {}", "metadata.name", "Required", id="no-name"
        ),
        pytest.param("metadata: {name: 7}\nspec: {}", "metadata.name", "string", id="name-number"),
        pytest.param("metadata: {name: p}", "spec", "Required", id="no-spec"),
        pytest.param(
            "metadata: {name: p}\nspec: {containers: {name: app}}",
            "spec.containers",
            "list",
            id="containers-mapping",
        ),
        pytest.param(
            "metadata: {name: p}\nspec: {containers: [{name: a, resources: {limits: {cpu: on}}}]}",
            "spec.containers[0].resources.limits[cpu]",
            "invalid quantity",
            id="boolean-quantity",
        ),
        pytest.param(
            "metadata: {name: p}\nspec: {containers: [{name: a, resources: {limits: [1]}}]}",
            "spec.containers[0].resources.limits",
            "mapping",
            id="limits-list",
        ),
        pytest.param("- a\n- b", "", "mapping", id="not-a-mapping"),
    ],
)
def test_manifest_errors_name_the_field(text: str, field: str, words: str) -> None:
    """A document of the wrong kind or shape raises ManifestError naming the field path."""
    with pytest.raises(ManifestError) as info:
        pod_from_manifest(_doc(text))
    assert info.value.field == field
    assert words in info.value.message


def test_load_pod_manifest_wants_one_document(tmp_path: Path) -> None:
    """A file with two documents, or with YAML errors, raises ManifestError."""
    two = tmp_path / "two.yaml"
    two.write_text("metadata: {name: a}\nspec: {}\n---\nmetadata: {name: b}\nspec: {}\n")
    with pytest.raises(ManifestError, match="expected one Pod document, found 2"):
        load_pod_manifest(two)
    broken = tmp_path / "broken.yaml"
    broken.write_text("metadata: {name: [\n")
    with pytest.raises(ManifestError, match="not a YAML document"):
        load_pod_manifest(broken)


# -- calls against a server ----------------------------------------------------------------------


def test_health_reports_serving(client: PinletClient) -> None:
    """health() is SERVING for the server and for the ResourceManager service."""
    assert client.health() == "SERVING"
    assert client.health("pinlet.v1alpha1.ResourceManager") == "SERVING"
    with pytest.raises(NotFound) as info:
        client.health("no.such.Service")
    assert str(info.value) == "service: no health status for service 'no.such.Service'"


def test_allocate_guaranteed_example(client: PinletClient) -> None:
    """The 6+1 CPU Guaranteed example gets exclusive CPUs on one NUMA node, idempotently."""
    pod = load_pod_manifest(GUARANTEED_6CPU)
    assignment = client.allocate(pod)
    assert (assignment.uid, assignment.namespace, assignment.name) == (
        pod.uid,
        "default",
        "database-6cpu",
    )
    assert assignment.qos_class == "Guaranteed"
    database, metrics = assignment.containers
    assert (database.name, metrics.name) == ("database", "metrics")
    for c, size in ((database, 6), (metrics, 1)):
        assert (c.kind, c.exclusive, c.isolation) == ("app", True, "node-exclusive")
        assert len(c.cpu_ids) == size
        assert CPUSet.parse(c.cpuset_cpus) == CPUSet(c.cpu_ids)
        assert c.numa_affinity == frozenset({0})
        assert CPUSet(c.cpu_ids) <= NODE0
        assert c.cpuset_mems == "0-1"
        assert (c.container_id, c.cgroup_path) == ("", "")
    assert not set(database.cpu_ids) & set(metrics.cpu_ids)
    assert assignment.container("metrics") == metrics
    assert client.allocate(pod) == assignment


def test_allocate_one_container(client: PinletClient) -> None:
    """allocate(pod, name) admits only that container."""
    pod = load_pod_manifest(GUARANTEED_6CPU)
    assignment = client.allocate(pod, "metrics")
    assert [c.name for c in assignment.containers] == ["metrics"]


def test_burstable_pod_is_shared(client: PinletClient) -> None:
    """A Burstable pod's containers run in the shared pool with no exclusive CPUs."""
    assignment = client.allocate(load_pod_manifest(EXAMPLES / "burstable-pod.yaml"))
    (nginx,) = assignment.containers
    assert assignment.qos_class == "Burstable"
    assert (nginx.exclusive, nginx.isolation, nginx.cpu_ids) == (False, "node-shared", ())
    assert nginx.cpuset_cpus == client.list_assignments()[1]


def test_guaranteed_pod_example_is_burstable(client: PinletClient) -> None:
    """The sidecar without limits makes examples/guaranteed-pod.yaml Burstable: no exclusivity."""
    assignment = client.allocate(load_pod_manifest(EXAMPLES / "guaranteed-pod.yaml"))
    assert assignment.qos_class == "Burstable"
    assert [(c.name, c.kind, c.exclusive) for c in assignment.containers] == [
        ("metrics-exporter", "sidecar", False),
        ("database", "app", False),
    ]


def test_topology_hints(client: PinletClient) -> None:
    """Hints for a 6-CPU container prefer either single node; the merge picks node 0."""
    pod = load_pod_manifest(GUARANTEED_6CPU)
    result = client.get_topology_hints(pod, "database")
    assert result.hints["cpu"] == (
        TopologyHint(frozenset({0}), True),
        TopologyHint(frozenset({1}), True),
        TopologyHint(frozenset({0, 1}), False),
    )
    assert result.merged == TopologyHint(frozenset({0}), True)
    assert result.admit
    assert [r.resource for r in result.resources] == ["cpu"]
    pod_scope = client.get_topology_hints(pod)
    assert pod_scope.hints["cpu"] is not None
    assert pod_scope.admit
    # Hints change nothing.
    assert client.list_assignments() == ([], client.get_allocatable().shared_pool)


def test_hints_of_a_burstable_pod_have_no_preference(client: PinletClient) -> None:
    """A shared container's CPU provider has no preference; the merge is every node, preferred."""
    pod = load_pod_manifest(EXAMPLES / "burstable-pod.yaml")
    result = client.get_topology_hints(pod, "nginx")
    assert result.hints == {"cpu": None}
    assert result.resources[0].no_preference
    assert result.merged == TopologyHint(frozenset({0, 1}), True)


def test_add_container_binds_and_shows_in_list(client: PinletClient) -> None:
    """add_container records the runtime id and cgroup; list_assignments shows them."""
    pod = load_pod_manifest(GUARANTEED_6CPU)
    client.allocate(pod)
    container_id = "ab" * 32
    bound = client.add_container(pod.uid, "database", container_id, "kubepods/pod1/x")
    assert (bound.name, bound.container_id, bound.cgroup_path) == (
        "database",
        container_id,
        "kubepods/pod1/x",
    )
    (listed,), _ = client.list_assignments(pod.uid)
    assert listed.container("database").container_id == container_id


def test_remove_container_and_pod(client: PinletClient) -> None:
    """Removal releases the CPUs to the shared pool and is idempotent."""
    pod = load_pod_manifest(GUARANTEED_6CPU)
    assignment = client.allocate(pod)
    metrics = assignment.container("metrics")
    result = client.remove_container(pod.uid, "metrics")
    assert (result.removed, result.released_cpus) == (True, metrics.cpuset_cpus)
    again = client.remove_container(pod.uid, "metrics")
    assert (again.removed, again.released_cpus) == (False, "")
    removed, released = client.remove_pod(pod.uid)
    assert removed == ["database"]
    assert released == assignment.container("database").cpuset_cpus
    assert client.remove_pod(pod.uid) == ([], "")
    assert client.list_assignments()[0] == []


def test_remove_container_by_runtime_id(client: PinletClient) -> None:
    """remove_container(container_id=...) finds the container the runtime id was bound to."""
    pod = load_pod_manifest(GUARANTEED_6CPU)
    metrics = client.allocate(pod).container("metrics")
    client.add_container(pod.uid, "metrics", "cd" * 32)
    result = client.remove_container(container_id="cd" * 32)
    assert (result.removed, result.released_cpus) == (True, metrics.cpuset_cpus)
    client.remove_pod(pod.uid)


def test_list_assignments_filters_by_pod(client: PinletClient) -> None:
    """list_assignments(uid) lists that pod only; an unknown uid is NotFound on pod_uid."""
    first = client.allocate(guaranteed_pod("2", name="first"))
    client.allocate(guaranteed_pod("2", name="second"))
    pods, shared_pool = client.list_assignments()
    assert [p.name for p in pods] == ["first", "second"]
    assert client.list_assignments(first.uid) == ([first], shared_pool)
    with pytest.raises(NotFound) as info:
        client.list_assignments(str(uuid.uuid4()))
    assert info.value.field == "pod_uid"
    assert info.value.code == "NOT_FOUND"


def test_get_allocatable_follows_allocations(client: PinletClient) -> None:
    """get_allocatable shows both nodes, the reserved core and CPUs moving to exclusive."""
    before = client.get_allocatable()
    assert (before.cpu_manager_policy, before.topology_manager_policy) == ("static", "best-effort")
    assert before.topology_manager_scope == "container"
    assert before.reserved_cpus == "0,16"
    assert len(before.cpu_ids) == 30
    assert [n.id for n in before.numa_nodes] == [0, 1]
    node0 = before.numa_nodes[0]
    assert (node0.cpus, node0.allocatable_cpus, node0.exclusive_cpus) == (
        "0-7,16-23",
        "1-7,17-23",
        "",
    )
    assert node0.memory_bytes > 0
    assert node0.distances == (10, 21)
    database = client.allocate(load_pod_manifest(GUARANTEED_6CPU)).container("database")
    after = client.get_allocatable()
    assert CPUSet(database.cpu_ids) <= CPUSet.parse(after.numa_nodes[0].exclusive_cpus)
    assert not CPUSet(database.cpu_ids) & CPUSet.parse(after.shared_pool)


# -- typed errors from a real server ---------------------------------------------------------------


def test_invalid_argument_names_the_field(client: PinletClient) -> None:
    """A malformed uid is InvalidArgument on pod.uid, not retryable."""
    with pytest.raises(InvalidArgument) as info:
        client.allocate(guaranteed_pod("1", uid="not-a-uid"))
    error = info.value
    assert error.field == "pod.uid"
    assert "not-a-uid" in error.message
    assert error.violations[0] == (error.field, error.message)
    assert (error.reason, error.code, error.retryable) == (
        "InvalidArgument",
        "INVALID_ARGUMENT",
        False,
    )
    assert str(error).startswith("pod.uid: ")


def test_invalid_quantity_names_the_container_field(client: PinletClient) -> None:
    """An unparsable quantity comes back naming the request field of the container."""
    pod = guaranteed_pod("lots")
    with pytest.raises(InvalidArgument) as info:
        client.allocate(pod)
    assert info.value.field.startswith("pod.containers[0].resources")


def test_unknown_container_name_is_invalid(client: PinletClient) -> None:
    """Allocating a container the pod does not have is InvalidArgument on container_name."""
    with pytest.raises(InvalidArgument) as info:
        client.allocate(load_pod_manifest(GUARANTEED_6CPU), "nope")
    assert info.value.field == "container_name"


def test_add_container_of_unknown_pod_is_not_found(client: PinletClient) -> None:
    """Binding a container of a pod never admitted is NotFound on pod_uid."""
    with pytest.raises(NotFound) as info:
        client.add_container(str(uuid.uuid4()), "app", "ef" * 32)
    assert info.value.field == "pod_uid"


def test_smt_alignment_error(client_with: Callable[..., PinletClient]) -> None:
    """full-pcpus-only refuses an odd CPU count on an SMT-2 machine with SMTAlignmentError."""
    client = client_with(cpu_manager_policy_options={"full-pcpus-only": "true"})
    pod = guaranteed_pod("3")
    with pytest.raises(SMTAlignmentError) as info:
        client.allocate(pod)
    error = info.value
    assert isinstance(error, AdmissionRejected)
    assert (error.reason, error.code, error.retryable) == (
        "SMTAlignmentError",
        "FAILED_PRECONDITION",
        False,
    )
    assert error.pod_uid == pod.uid
    assert "requested 3 cpus not multiple cpus per core = 2" in error.message
    # All-or-nothing: the rejected pod left nothing behind.
    assert client.list_assignments()[0] == []
    assert client.allocate(guaranteed_pod("4")).qos_class == "Guaranteed"


def test_topology_affinity_error(client_with: Callable[..., PinletClient]) -> None:
    """single-numa-node refuses a container larger than any NUMA node: TopologyAffinityError."""
    client = client_with(topology_manager_policy="single-numa-node")
    pod = guaranteed_pod("20")
    hints = client.get_topology_hints(pod, "app")
    assert not hints.admit
    with pytest.raises(TopologyAffinityError) as info:
        client.allocate(pod)
    assert info.value.reason == "TopologyAffinityError"
    assert info.value.pod_uid == pod.uid
    assert client.list_assignments()[0] == []


def test_not_enough_cpus_is_unexpected_admission_error(client: PinletClient) -> None:
    """Asking for more CPUs than the machine has is UnexpectedAdmissionError."""
    with pytest.raises(UnexpectedAdmissionError) as info:
        client.allocate(guaranteed_pod("64"))
    assert info.value.reason == "UnexpectedAdmissionError"
    assert "not enough cpus" in info.value.message


# -- connections and timeouts --------------------------------------------------------------------


def test_missing_socket_is_a_connection_error(short_tmp: Path) -> None:
    """A socket path that does not exist fails at once and suggests 'pinlet serve'."""
    path = short_tmp / "absent.sock"
    started = time.monotonic()
    with PinletClient(path, timeout=10) as c, pytest.raises(PinletConnectionError) as info:
        c.list_assignments()
    assert time.monotonic() - started < 2
    error = info.value
    assert (error.reason, error.retryable, error.socket_path) == (
        "ConnectionError",
        True,
        str(path),
    )
    assert "no such socket" in error.message
    assert "pinlet serve" in error.message


def test_socket_nobody_serves_is_a_connection_error(short_tmp: Path) -> None:
    """A socket file nobody listens on is refused at once: PinletConnectionError."""
    path = short_tmp / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))  # bound but never listening: connect() is refused
        started = time.monotonic()
        with PinletClient(path, timeout=10) as c, pytest.raises(PinletConnectionError) as info:
            c.health()
        assert time.monotonic() - started < 2
    assert not isinstance(info.value, PinletTimeout)
    assert info.value.message == (
        f"cannot connect to pinlet at {path}: nothing is listening on it (connection refused); "
        "is the pinlet service running? Start it with 'pinlet serve'"
    )


def test_server_that_never_answers_times_out(short_tmp: Path) -> None:
    """A listener that never speaks gRPC makes the call fail at its deadline: PinletTimeout."""
    path = short_tmp / "hung.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        s.listen()  # connections queue in the backlog, nobody ever reads them
        with PinletClient(path, timeout=0.3) as c:
            started = time.monotonic()
            with pytest.raises(PinletTimeout) as info:
                c.get_allocatable()
            assert time.monotonic() - started < 2
        # The per-call timeout wins over a long client timeout.
        with PinletClient(path, timeout=60) as c:
            started = time.monotonic()
            with pytest.raises(PinletTimeout):
                c.health(timeout=0.3)
            assert time.monotonic() - started < 2
    assert isinstance(info.value, PinletConnectionError)
    assert (info.value.reason, info.value.retryable, info.value.code) == (
        "Timeout",
        True,
        "DEADLINE_EXCEEDED",
    )


def test_closed_client_refuses_calls(grpc_server: Any) -> None:
    """After the with block the channel is closed and calls raise ValueError."""
    with PinletClient(grpc_server.socket_path) as c:
        assert c.health() == "SERVING"
    with pytest.raises(ValueError, match="closed channel"):
        c.health()


# -- the status → error mapping ------------------------------------------------------------------


class _FailedCall(grpc.RpcError, grpc.Call):
    """A finished call as grpcio raises it: code, details and trailing metadata."""

    def __init__(
        self, code: grpc.StatusCode, details: str, trailing: tuple[tuple[str, bytes], ...] = ()
    ) -> None:
        self._code, self._details, self._trailing = code, details, trailing

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._trailing

    def initial_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


def _as_server_sends(exc: BaseException, **kwargs: str) -> _FailedCall:
    status = server_status.to_rpc_status(exc, **kwargs)
    code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
    return _FailedCall(
        code, status.message, (("grpc-status-details-bin", status.SerializeToString()),)
    )


@pytest.mark.parametrize(
    ("exc", "cls", "reason"),
    [
        pytest.param(
            server_errors.InvalidRequestError("pod.uid", "bad"),
            InvalidArgument,
            "InvalidArgument",
            id="invalid",
        ),
        pytest.param(NotFoundError("pod_uid", "unknown"), NotFound, "NotFound", id="not-found"),
        pytest.param(
            server_errors.SMTAlignmentError(3, 2), SMTAlignmentError, "SMTAlignmentError", id="smt"
        ),
        pytest.param(
            server_errors.TopologyAffinityError(),
            TopologyAffinityError,
            "TopologyAffinityError",
            id="topology",
        ),
        pytest.param(
            server_errors.NotEnoughCPUsError(40, 23),
            UnexpectedAdmissionError,
            "UnexpectedAdmissionError",
            id="not-enough-cpus",
        ),
        pytest.param(
            server_errors.ConfigError("cpuManagerPolicy", "static only"),
            AdmissionRejected,
            "ConfigError",
            id="config-unknown-reason",
        ),
        pytest.param(
            server_errors.CheckpointError("/state/pinlet_state", "disk full"),
            Unavailable,
            "Unavailable",
            id="checkpoint",
        ),
        pytest.param(RuntimeError("boom"), PinletError, "Internal", id="internal"),
    ],
)
def test_error_mapping_of_every_server_status(
    exc: BaseException, cls: type[PinletError], reason: str
) -> None:
    """Each status the server sends becomes its typed client error (exact class and reason)."""
    error = error_from_rpc(_as_server_sends(exc, pod_uid="p-1", container="app"))
    assert type(error) is cls
    assert error.reason == reason
    assert error.retryable == (cls is Unavailable)
    if isinstance(error, AdmissionRejected) and reason != "ConfigError":
        assert (error.pod_uid, error.container, error.message) == ("p-1", "app", str(exc))
    if isinstance(error, InvalidArgument | NotFound):
        assert (error.field, error.message) == (exc.field, exc.message)  # type: ignore[attr-defined]


def test_transport_failures_are_connection_errors(short_tmp: Path) -> None:
    """gRPC's own UNAVAILABLE (no status detail) and DEADLINE_EXCEEDED are connection errors."""
    path = str(short_tmp / "x.sock")
    refused = _FailedCall(
        grpc.StatusCode.UNAVAILABLE,
        "failed to connect to all addresses; last error: UNKNOWN: unix:x.sock: Connection refused",
    )
    assert type(error_from_rpc(refused, path)) is PinletConnectionError
    assert (
        type(error_from_rpc(_FailedCall(grpc.StatusCode.UNAVAILABLE, "going away"))) is Unavailable
    )
    timeout = error_from_rpc(
        _FailedCall(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"), path
    )
    assert type(timeout) is PinletTimeout


CLIENT = Path(__file__).resolve().parent.parent / "client"
# What the client may import besides the standard library: what people vendoring it install.
CLIENT_DEPENDENCIES = {"grpc", "grpc_status", "google", "yaml", "pinlet"}


def test_client_does_not_import_the_server() -> None:
    """Importing pinlet.client loads no pinlet.server module."""
    code = (
        "import sys, pinlet.client; "
        "bad = [m for m in sys.modules if m.startswith('pinlet.server')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", sorted(CLIENT.glob("*.py")), ids=lambda p: p.name)
def test_client_imports_only_its_dependencies(path: Path) -> None:
    """Client modules import the standard library, grpcio(-status), protobuf and PyYAML only."""
    tree = ast.parse(path.read_text(), filename=str(path))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module)
    third_party = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names}
    assert {name.split(".")[0] for name in third_party} <= CLIENT_DEPENDENCIES
    assert not {name for name in third_party if name.startswith("pinlet.server")}
