"""The gRPC layer: ``pinlet.v1alpha1.ResourceManager`` over the :class:`Manager`.

:class:`ResourceManagerServicer` only translates. Each method validates the identifiers it
was given (:mod:`pinlet.server.ids`: nothing that could end up in a path reaches the manager
unchecked), builds the domain :class:`~pinlet.server.pod.Pod` from the request, calls one
:class:`~pinlet.server.manager.Manager` method and turns the frozen view it returns into the
response message. Errors leave through :mod:`pinlet.server.status`, the one place that maps
them to status codes, and every call is logged once as an ``rpc`` event.

Field paths in errors are the request's own (``pod.containers[1].resources.limits.cpu``,
``pod.uid``), not the Kubernetes manifest's (``spec.containers[1]...``), so the caller can
find the field in the message it sent.

:func:`create_server` builds (but does not start) a server on a Unix socket with this service,
the standard health service and server reflection.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from typing import Any, Final

import grpc
import structlog

# grpcio-health-checking and grpcio-reflection ship no type information.
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # type: ignore[import-untyped]
from grpc_reflection.v1alpha import reflection  # type: ignore[import-untyped]

from pinlet.client._proto.v1alpha1 import pinlet_pb2 as pb
from pinlet.client._proto.v1alpha1 import pinlet_pb2_grpc as pb_grpc

from . import ids
from .cpuset import CPUSet
from .errors import InvalidRequestError
from .hints import TopologyHint
from .manager import (
    AllocatableView,
    CallerHints,
    ContainerView,
    HintsView,
    Manager,
    PodView,
)
from .pod import Container, Pod, Resources
from .state import ContainerKind
from .status import Outcome, errors_as_status

SERVICE_NAME: Final[str] = pb.DESCRIPTOR.services_by_name["ResourceManager"].full_name
"""``pinlet.v1alpha1.ResourceManager``: the name health and reflection report."""
DEFAULT_WORKERS: Final = 8
# An empty namespace is what a hand-written request (grpcurl) usually has; the API server
# would have defaulted it the same way.
DEFAULT_NAMESPACE: Final = "default"

_log = structlog.get_logger("pinlet.rpc")
# Request strings are logged before they are validated; a caller must not be able to write
# megabytes into the log with one call.
_LOG_VALUE_MAX: Final = 256

# The generated servicer module is untyped (pyproject's mypy overrides); this is its one use.
_add_servicer: Final[Callable[[ResourceManagerServicer, grpc.Server], None]] = (
    pb_grpc.add_ResourceManagerServicer_to_server
)

_KINDS: Final = {
    ContainerKind.INIT: pb.INIT,
    ContainerKind.SIDECAR: pb.SIDECAR,
    ContainerKind.APP: pb.APP,
}
_ISOLATIONS: Final = {
    "node-shared": pb.NODE_SHARED,
    "node-exclusive": pb.NODE_EXCLUSIVE,
    "pod-exclusive": pb.POD_EXCLUSIVE,
    "pod-shared": pb.POD_SHARED,
}

# The Pod model reports manifest paths; requests name their fields differently.
_MANIFEST_PATHS: Final = (
    (re.compile(r"^metadata\."), "pod."),
    (re.compile(r"^spec\.initContainers\b"), "pod.init_containers"),
    (re.compile(r"^spec\.containers\b"), "pod.containers"),
    (re.compile(r"^spec\.resources\b"), "pod.resources"),
    (re.compile(r"\.restartPolicy$"), ".restart_policy"),
)


# -- requests → domain ---------------------------------------------------------------------------


def _request_path(manifest_path: str) -> str:
    path = manifest_path
    for pattern, replacement in _MANIFEST_PATHS:
        path = pattern.sub(replacement, path)
    return path


def _resources_dict(msg: pb.ResourceRequirements) -> dict[str, dict[str, str]]:
    return {"requests": dict(msg.requests), "limits": dict(msg.limits)}


def _container(msg: pb.Container, path: str) -> Container:
    return Container(
        name=ids.container_name(msg.name, f"{path}.name"),
        resources=Resources.from_dict(_resources_dict(msg.resources), f"{path}.resources"),
        restart_policy=msg.restart_policy or None,
    )


def pod_from_proto(msg: pb.Pod) -> Pod:
    """The domain pod of a request, defaulted and validated; errors name request fields."""
    uid = ids.pod_uid(msg.uid, "pod.uid")
    init = tuple(
        _container(c, f"pod.init_containers[{i}]") for i, c in enumerate(msg.init_containers)
    )
    apps = tuple(_container(c, f"pod.containers[{i}]") for i, c in enumerate(msg.containers))
    resources = None
    if msg.HasField("resources"):
        resources = Resources.from_dict(
            _resources_dict(msg.resources), "pod.resources", pod_level=True
        )
    try:
        return Pod(
            uid=uid,
            name=msg.name,
            namespace=msg.namespace or DEFAULT_NAMESPACE,
            containers=apps,
            init_containers=init,
            resources=resources,
        )
    except InvalidRequestError as exc:
        raise InvalidRequestError(_request_path(exc.field), exc.message) from None


def caller_hints_from_proto(
    messages: Sequence[pb.ProviderHints], pod: Pod, numa_nodes: CPUSet
) -> list[CallerHints]:
    """Hints of providers pinlet does not own, checked against the pod and the machine."""
    names = {c.name for c in pod.all_containers()}
    out: list[CallerHints] = []
    for i, msg in enumerate(messages):
        where = f"provider_hints[{i}]"
        if msg.container_name and msg.container_name not in names:
            raise InvalidRequestError(
                f"{where}.container_name", f"pod has no container {msg.container_name!r}"
            )
        resources: dict[str, list[TopologyHint] | None] = {}
        for j, res in enumerate(msg.resources):
            rwhere = f"{where}.resources[{j}]"
            if not res.resource:
                raise InvalidRequestError(f"{rwhere}.resource", "must name the resource")
            if res.resource in resources:
                raise InvalidRequestError(f"{rwhere}.resource", f"{res.resource!r} given twice")
            if res.resource in ("cpu", "memory") or res.resource.startswith("hugepages-"):
                # pinlet is the CPU and memory manager: a second opinion on its own resources
                # would make the merge ambiguous.
                raise InvalidRequestError(
                    f"{rwhere}.resource",
                    f"{res.resource!r} is pinlet's own resource; pass hints for other "
                    "resources (devices) only",
                )
            if res.no_preference:
                if res.hints:
                    raise InvalidRequestError(
                        f"{rwhere}.hints", "must be empty when no_preference is set"
                    )
                resources[res.resource] = None
                continue
            hints: list[TopologyHint] = []
            for k, h in enumerate(res.hints):
                affinity = None
                if h.HasField("affinity"):
                    ids_ = [n.ID for n in h.affinity.nodes]
                    unknown = [n for n in ids_ if n not in numa_nodes]
                    if unknown or not ids_:
                        raise InvalidRequestError(
                            f"{rwhere}.hints[{k}].affinity",
                            f"NUMA nodes {ids_} are not a non-empty subset of this machine's "
                            f"nodes {numa_nodes}",
                        )
                    affinity = CPUSet(ids_)
                hints.append(TopologyHint(affinity, h.preferred))
            resources[res.resource] = hints
        out.append(CallerHints(msg.provider, msg.container_name, resources))
    return out


def _optional_container_name(value: str) -> str | None:
    return ids.container_name(value, "container_name") if value else None


# -- domain → responses --------------------------------------------------------------------------


def _topology_info(nodes: CPUSet) -> pb.TopologyInfo:
    return pb.TopologyInfo(nodes=[pb.NUMANode(ID=n) for n in nodes.sorted()])


def _hint(hint: TopologyHint) -> pb.TopologyHint:
    msg = pb.TopologyHint(preferred=hint.preferred)
    if hint.affinity is not None:
        msg.affinity.CopyFrom(_topology_info(hint.affinity))
    return msg


def _resource_hints(resource: str, hints: Sequence[TopologyHint] | None) -> pb.ResourceHints:
    if hints is None:
        return pb.ResourceHints(resource=resource, no_preference=True)
    return pb.ResourceHints(resource=resource, hints=[_hint(h) for h in hints])


def hints_to_proto(view: HintsView) -> pb.GetTopologyHintsResponse:
    """The response for a :class:`HintsView`, resources in name order."""
    return pb.GetTopologyHintsResponse(
        hints=[_resource_hints(name, view.hints[name]) for name in sorted(view.hints)],
        merged=_hint(view.merged),
        admit=view.admit,
    )


def container_to_proto(view: ContainerView) -> pb.ContainerAssignment:
    """The assignment message of one container."""
    msg = pb.ContainerAssignment(
        name=view.name,
        kind=_KINDS[view.kind],
        cpuset_cpus=str(view.cpuset_cpus),
        cpuset_mems=str(view.cpuset_mems),
        exclusive=view.exclusive,
        isolation=_ISOLATIONS[view.isolation],
        # PodResources' convention: only exclusive CPUs are listed as ids.
        cpu_ids=view.cpuset_cpus.sorted() if view.exclusive else (),
        container_id=view.container_id,
        cgroup_path=view.cgroup_path,
        # Only containers with CPUs of their own run without a CFS quota (KEP-5526 §3.4).
        cfs_quota_disabled=view.exclusive,
    )
    if view.affinity is not None:
        msg.numa_affinity.CopyFrom(_topology_info(view.affinity))
    for block in sorted(view.memory, key=lambda b: b.type):
        msg.memory.append(
            pb.ContainerMemory(
                memory_type=block.type,
                size=block.size,
                topology=_topology_info(CPUSet(block.numa_affinity)),
            )
        )
    return msg


def pod_to_proto(view: PodView) -> pb.PodAssignment:
    """The assignment message of one pod, containers in pod order."""
    return pb.PodAssignment(
        uid=view.uid,
        name=view.name,
        namespace=view.namespace,
        qos_class=view.qos_class,
        containers=[container_to_proto(c) for c in view.containers],
        pod_cpuset="" if view.pod_cpuset is None else str(view.pod_cpuset),
        pod_shared_pool="" if view.pod_shared_pool is None else str(view.pod_shared_pool),
    )


def allocatable_to_proto(view: AllocatableView) -> pb.GetAllocatableResourcesResponse:
    """The response for an :class:`AllocatableView`."""
    return pb.GetAllocatableResourcesResponse(
        cpu_ids=view.allocatable_cpus.sorted(),
        reserved_cpus=str(view.reserved_cpus),
        shared_pool=str(view.shared_pool),
        numa_nodes=[
            pb.NUMANodeResources(
                id=n.id,
                cpus=str(n.cpus),
                allocatable_cpus=str(n.allocatable_cpus),
                free_cpus=str(n.free_cpus),
                exclusive_cpus=str(n.exclusive_cpus),
                memory_bytes=n.memory,
                hugepages=[
                    pb.HugePages(page_size_bytes=size, pages=pages)
                    for size, pages in sorted(n.hugepages.items())
                ],
                distances=n.distances,
                memory=[
                    pb.MemoryResource(
                        resource=resource,
                        total=t.total,
                        system_reserved=t.system_reserved,
                        allocatable=t.allocatable,
                        reserved=t.reserved,
                        free=t.free,
                    )
                    for resource, t in sorted(n.memory_tables.items())
                ],
            )
            for n in view.numa_nodes
        ],
        cpu_manager_policy=view.cpu_manager_policy,
        topology_manager_policy=view.topology_manager_policy,
        topology_manager_scope=view.topology_manager_scope,
        memory_manager_policy=view.memory_manager_policy,
    )


def _clip(value: str) -> str:
    return value if len(value) <= _LOG_VALUE_MAX else value[:_LOG_VALUE_MAX] + "..."


def _cpus_summary(view: PodView) -> dict[str, str]:
    # What the log needs to tell who got which CPUs; a shared pool is the same for everyone
    # and would only repeat the long shared cpulist.
    return {c.name: str(c.cpuset_cpus) if c.exclusive else "shared" for c in view.containers}


# -- the servicer --------------------------------------------------------------------------------


class ResourceManagerServicer:
    """``pinlet.v1alpha1.ResourceManager``: requests in, :class:`Manager` calls, views out.

    Not a subclass of the generated base class: the generated servicer module is untyped, and
    its ``add_ResourceManagerServicer_to_server`` only looks the methods up by name.
    """

    def __init__(self, manager: Manager) -> None:
        self._manager = manager

    @contextmanager
    def _rpc(
        self,
        context: grpc.ServicerContext,
        method: str,
        *,
        pod: pb.Pod | None = None,
        pod_uid: str = "",
        container: str = "",
    ) -> Iterator[dict[str, Any]]:
        """Map errors to a status and log one ``rpc`` event; the body adds its decision."""
        start = time.perf_counter()
        event: dict[str, Any] = {}
        if pod is not None:
            pod_uid = pod.uid
            event.update(
                pod_name=_clip(pod.name), pod_namespace=_clip(pod.namespace or DEFAULT_NAMESPACE)
            )
        if pod_uid:
            event["pod_uid"] = _clip(pod_uid)
        if container:
            event["container"] = _clip(container)
        outcome: Outcome | None = None
        try:
            with errors_as_status(context, pod_uid=pod_uid, container=container) as outcome:
                yield event
        finally:
            if outcome is not None and outcome.error:
                event["error"] = outcome.error
            _log.info(
                "rpc",
                method=method,
                code=outcome.code.name if outcome is not None else "UNKNOWN",
                latency_ms=round((time.perf_counter() - start) * 1000, 3),
                **event,
            )

    def GetTopologyHints(  # noqa: N802 (gRPC method names are the proto's)
        self, request: pb.GetTopologyHintsRequest, context: grpc.ServicerContext
    ) -> pb.GetTopologyHintsResponse:
        with self._rpc(
            context, "GetTopologyHints", pod=request.pod, container=request.container_name
        ) as event:
            pod = pod_from_proto(request.pod)
            view = self._manager.hints(
                pod,
                _optional_container_name(request.container_name),
                caller_hints_from_proto(
                    request.provider_hints, pod, self._manager.topology.all_numa_ids()
                ),
            )
            event.update(merged=str(view.merged), admit=view.admit)
            return hints_to_proto(view)

    def Allocate(  # noqa: N802
        self, request: pb.AllocateRequest, context: grpc.ServicerContext
    ) -> pb.AllocateResponse:
        with self._rpc(
            context, "Allocate", pod=request.pod, container=request.container_name
        ) as event:
            pod = pod_from_proto(request.pod)
            view = self._manager.allocate(
                pod,
                _optional_container_name(request.container_name),
                caller_hints_from_proto(
                    request.provider_hints, pod, self._manager.topology.all_numa_ids()
                ),
            )
            event.update(qos_class=view.qos_class, cpus=_cpus_summary(view))
            return pb.AllocateResponse(pod=pod_to_proto(view))

    def AddContainer(  # noqa: N802
        self, request: pb.AddContainerRequest, context: grpc.ServicerContext
    ) -> pb.AddContainerResponse:
        with self._rpc(
            context, "AddContainer", pod_uid=request.pod_uid, container=request.container_name
        ) as event:
            pod_uid = ids.pod_uid(request.pod_uid, "pod_uid")
            name = ids.container_name(request.container_name, "container_name")
            container_id = ids.container_id(request.container_id, "container_id")
            cgroup_path = (
                ids.cgroup_path(request.cgroup_path, "cgroup_path") if request.cgroup_path else ""
            )
            view = self._manager.add_container(pod_uid, name, container_id, cgroup_path)
            event.update(container_id=container_id, cpus=str(view.cpuset_cpus))
            return pb.AddContainerResponse(container=container_to_proto(view))

    def RemoveContainer(  # noqa: N802
        self, request: pb.RemoveContainerRequest, context: grpc.ServicerContext
    ) -> pb.RemoveContainerResponse:
        with self._rpc(
            context, "RemoveContainer", pod_uid=request.pod_uid, container=request.container_name
        ) as event:
            target = self._remove_target(request)
            if target is None:
                # A container id pinlet never bound (or already removed): nothing to release.
                removed, released = False, CPUSet()
            else:
                event.update(pod_uid=target[0], container=target[1])
                removed, released = self._manager.remove_container(*target)
            event.update(removed=removed, released_cpus=str(released))
            return pb.RemoveContainerResponse(removed=removed, released_cpus=str(released))

    def _remove_target(self, request: pb.RemoveContainerRequest) -> tuple[str, str] | None:
        """(pod uid, container name) named by the request, or None for an unknown id."""
        if request.container_id:
            if request.pod_uid or request.container_name:
                raise InvalidRequestError(
                    "container_id", "give either container_id or pod_uid and container_name"
                )
            return self._manager.find_container(
                ids.container_id(request.container_id, "container_id")
            )
        if not request.pod_uid:
            raise InvalidRequestError(
                "pod_uid", "Required value: give pod_uid and container_name, or container_id"
            )
        if not request.container_name:
            raise InvalidRequestError("container_name", "Required value (with pod_uid)")
        return (
            ids.pod_uid(request.pod_uid, "pod_uid"),
            ids.container_name(request.container_name, "container_name"),
        )

    def RemovePod(  # noqa: N802
        self, request: pb.RemovePodRequest, context: grpc.ServicerContext
    ) -> pb.RemovePodResponse:
        with self._rpc(context, "RemovePod", pod_uid=request.pod_uid) as event:
            names, released = self._manager.remove_pod(ids.pod_uid(request.pod_uid, "pod_uid"))
            event.update(removed_containers=names, released_cpus=str(released))
            return pb.RemovePodResponse(removed_containers=names, released_cpus=str(released))

    def GetAllocatableResources(  # noqa: N802
        self, request: pb.GetAllocatableResourcesRequest, context: grpc.ServicerContext
    ) -> pb.GetAllocatableResourcesResponse:
        del request  # no fields
        with self._rpc(context, "GetAllocatableResources"):
            return allocatable_to_proto(self._manager.allocatable())

    def ListAssignments(  # noqa: N802
        self, request: pb.ListAssignmentsRequest, context: grpc.ServicerContext
    ) -> pb.ListAssignmentsResponse:
        with self._rpc(context, "ListAssignments", pod_uid=request.pod_uid) as event:
            pod_uid = ids.pod_uid(request.pod_uid, "pod_uid") if request.pod_uid else None
            pods, shared = self._manager.list(pod_uid)
            event["pods"] = len(pods)
            return pb.ListAssignmentsResponse(
                pods=[pod_to_proto(p) for p in pods], shared_pool=str(shared)
            )

    def Reconcile(  # noqa: N802
        self, request: pb.ReconcileRequest, context: grpc.ServicerContext
    ) -> pb.ReconcileResponse:
        with self._rpc(context, "Reconcile") as event:
            report = self._manager.reconcile()
            event.update(drifted=report.drifted, vanished=len(report.vanished))
            enforcer = self._manager.enforcer
            return pb.ReconcileResponse(
                checked=report.checked,
                drifted=report.drifted,
                vanished=[f"{uid}/{name}" for uid, name in report.vanished],
                errors=report.errors,
                dry_run=enforcer is None or enforcer.dry_run,
            )


# -- the server ----------------------------------------------------------------------------------


def create_server(
    manager: Manager,
    socket_path: str,
    *,
    health_servicer: health.HealthServicer | None = None,
    workers: int = DEFAULT_WORKERS,
) -> grpc.Server:
    """A server bound to ``unix:socket_path`` with the service, health and reflection; not started.

    Health reports SERVING for ``""`` and :data:`SERVICE_NAME`. Pass ``health_servicer`` to
    keep a handle on it (the daemon turns it to NOT_SERVING on shutdown). Calls are served by
    ``workers`` threads; the manager serialises the state changes itself.
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc"))
    _add_servicer(ResourceManagerServicer(manager), server)
    if health_servicer is None:
        health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    server.add_insecure_port(f"unix:{socket_path}")
    return server
