"""Conversions between :mod:`pinlet.client.models` and the generated v1alpha1 messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._proto.v1alpha1 import pinlet_pb2 as pb
from .models import (
    ISOLATION_EXCLUSIVE,
    ISOLATION_SHARED,
    KIND_APP,
    KIND_INIT,
    KIND_SIDECAR,
    Allocatable,
    ContainerAssignment,
    ContainerMemory,
    ContainerSpec,
    HintsResult,
    MemoryResource,
    NUMANodeResources,
    PodAssignment,
    PodSpec,
    ProviderHints,
    ResourceRequirements,
    TopologyHint,
)

_KINDS: Mapping[int, str] = {pb.INIT: KIND_INIT, pb.SIDECAR: KIND_SIDECAR, pb.APP: KIND_APP}
_ISOLATIONS: Mapping[int, str] = {
    pb.NODE_SHARED: ISOLATION_SHARED,
    pb.NODE_EXCLUSIVE: ISOLATION_EXCLUSIVE,
    pb.POD_EXCLUSIVE: "pod-exclusive",
    pb.POD_SHARED: "pod-shared",
}


def resources_to_proto(r: ResourceRequirements) -> pb.ResourceRequirements:
    return pb.ResourceRequirements(requests=dict(r.requests), limits=dict(r.limits))


def container_to_proto(c: ContainerSpec) -> pb.Container:
    return pb.Container(
        name=c.name, resources=resources_to_proto(c.resources), restart_policy=c.restart_policy
    )


def pod_to_proto(pod: PodSpec) -> pb.Pod:
    message = pb.Pod(
        uid=pod.uid,
        name=pod.name,
        namespace=pod.namespace,
        init_containers=[container_to_proto(c) for c in pod.init_containers],
        containers=[container_to_proto(c) for c in pod.containers],
    )
    # The API tells "no spec.resources" (unset) from an empty one; keep the manifest's choice
    # and let the service decide what an empty one means.
    if pod.resources is not None:
        message.resources.CopyFrom(resources_to_proto(pod.resources))
    return message


def hint_to_proto(h: TopologyHint) -> pb.TopologyHint:
    message = pb.TopologyHint(preferred=h.preferred)
    if h.numa_nodes is not None:
        # Set even when empty: an empty node set is not "no preference", and the service
        # should get the chance to refuse it rather than have it silently widened.
        message.affinity.SetInParent()
        message.affinity.nodes.extend(pb.NUMANode(ID=n) for n in sorted(h.numa_nodes))
    return message


def provider_hints_to_proto(p: ProviderHints) -> pb.ProviderHints:
    return pb.ProviderHints(
        provider=p.provider,
        container_name=p.container_name,
        resources=[
            pb.ResourceHints(resource=name, no_preference=True)
            if hints is None
            else pb.ResourceHints(resource=name, hints=[hint_to_proto(h) for h in hints])
            for name, hints in p.resources.items()
        ],
    )


def _nodes(info: pb.TopologyInfo) -> frozenset[int]:
    return frozenset(int(n.ID) for n in info.nodes)


def hint_from_proto(h: pb.TopologyHint) -> TopologyHint:
    return TopologyHint(
        numa_nodes=_nodes(h.affinity) if h.HasField("affinity") else None, preferred=h.preferred
    )


def hints_from_proto(r: pb.GetTopologyHintsResponse) -> HintsResult:
    hints: dict[str, tuple[TopologyHint, ...] | None] = {}
    for rh in r.hints:
        hints[rh.resource] = (
            None if rh.no_preference else tuple(hint_from_proto(h) for h in rh.hints)
        )
    return HintsResult(hints=hints, merged=hint_from_proto(r.merged), admit=r.admit)


def container_from_proto(c: pb.ContainerAssignment) -> ContainerAssignment:
    return ContainerAssignment(
        name=c.name,
        # An enum value this client does not know (a newer server) is shown by its number
        # rather than failing the whole answer.
        kind=_KINDS.get(c.kind, str(c.kind)),
        cpuset_cpus=c.cpuset_cpus,
        cpuset_mems=c.cpuset_mems,
        numa_affinity=_nodes(c.numa_affinity) if c.HasField("numa_affinity") else None,
        exclusive=c.exclusive,
        isolation=_ISOLATIONS.get(c.isolation, str(c.isolation)),
        cpu_ids=tuple(int(i) for i in c.cpu_ids),
        container_id=c.container_id,
        cgroup_path=c.cgroup_path,
        cfs_quota_disabled=c.cfs_quota_disabled,
        memory=tuple(
            ContainerMemory(
                memory_type=m.memory_type, size=int(m.size), numa_nodes=_nodes(m.topology)
            )
            for m in c.memory
        ),
    )


def pod_assignment_from_proto(p: pb.PodAssignment) -> PodAssignment:
    return PodAssignment(
        uid=p.uid,
        name=p.name,
        namespace=p.namespace,
        qos_class=p.qos_class,
        containers=tuple(container_from_proto(c) for c in p.containers),
        pod_cpuset=p.pod_cpuset,
        pod_shared_pool=p.pod_shared_pool,
    )


def pod_assignments_from_proto(pods: Iterable[pb.PodAssignment]) -> list[PodAssignment]:
    return [pod_assignment_from_proto(p) for p in pods]


def allocatable_from_proto(r: pb.GetAllocatableResourcesResponse) -> Allocatable:
    return Allocatable(
        cpu_ids=tuple(int(i) for i in r.cpu_ids),
        reserved_cpus=r.reserved_cpus,
        shared_pool=r.shared_pool,
        numa_nodes=tuple(
            NUMANodeResources(
                id=int(n.id),
                cpus=n.cpus,
                allocatable_cpus=n.allocatable_cpus,
                free_cpus=n.free_cpus,
                exclusive_cpus=n.exclusive_cpus,
                memory_bytes=int(n.memory_bytes),
                hugepages={int(h.page_size_bytes): int(h.pages) for h in n.hugepages},
                distances=tuple(int(d) for d in n.distances),
                memory=tuple(
                    MemoryResource(
                        resource=m.resource,
                        total=int(m.total),
                        system_reserved=int(m.system_reserved),
                        allocatable=int(m.allocatable),
                        reserved=int(m.reserved),
                        free=int(m.free),
                    )
                    for m in n.memory
                ),
            )
            for n in r.numa_nodes
        ),
        cpu_manager_policy=r.cpu_manager_policy,
        topology_manager_policy=r.topology_manager_policy,
        topology_manager_scope=r.topology_manager_scope,
        # A server from before the memory manager leaves the field empty: it pins no memory.
        memory_manager_policy=r.memory_manager_policy or "None",
    )
