"""The pod as the kubelet sees it: containers, their resources, pod-level resources and QoS.

A :class:`Pod` is what the API server would have stored: constructing one applies the API
server's defaulting (``SetDefaults_Pod``) and then its validation, so code downstream never sees
a limit without a request or a request above its limit. Defaulting, in the API server's order:

1. every container (init and app) with a limit and no request for a resource gets request = limit;
2. with pod-level resources (``spec.resources``, KEP-2837), a missing pod-level ``hugepages-*``
   limit becomes the aggregate of the containers' limits for it;
3. then, if the pod has any pod-level limit, a missing pod-level ``cpu`` / ``memory`` request
   becomes the aggregate container request (when some container requests it), and any request
   still missing becomes the pod-level limit.

"Aggregate" is the KEP-753 sidecar formula (``resourcehelper.AggregateContainerRequests``):
max(peak of the init phase, sum of app containers + sum of sidecars), where an init container's
peak also counts the sidecars started before it.

Only ``cpu`` and ``memory`` decide the QoS class (:func:`qos_class`, a port of the kubelet's
``ComputePodQOS``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, TypeAlias

from .errors import InvalidRequestError
from .quantity import ZERO, Quantity, QuantityError

ResourceList: TypeAlias = Mapping[str, Quantity]

CPU: Final = "cpu"
MEMORY: Final = "memory"
EPHEMERAL_STORAGE: Final = "ephemeral-storage"
HUGEPAGES_PREFIX: Final = "hugepages-"

# ComputePodQOS looks at these two only; hugepages, storage and devices never change the class.
QOS_COMPUTE_RESOURCES: Final = frozenset({CPU, MEMORY})
_STANDARD_CONTAINER_RESOURCES: Final = frozenset({CPU, MEMORY, EPHEMERAL_STORAGE})
# "kubernetes.io/" names are native (the API server's IsPrefixedNativeResource).
_NATIVE_PREFIX: Final = "kubernetes.io/"

# A sidecar is an init container with this restart policy (KEP-753).
RESTART_ALWAYS: Final = "Always"
_RESTART_POLICIES: Final = ("Always", "Never", "OnFailure")

# metadata.uid, when a manifest has none, is uuid5 in this namespace of "<namespace>/<name>".
POD_UID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pinlet:pod")

_DNS1123_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN: Final = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_QUALIFIED_NAME_PART: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# Resource names printed as ".name" in field paths; others (vendor.com/gpu) as "[name]", as the
# API server's field.Path.Key does.
_PLAIN_KEY: Final = re.compile(r"[A-Za-z][-A-Za-z0-9]*")

_LABEL_TEXT: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_TEXT: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _key(path: str, name: str) -> str:
    return f"{path}.{name}" if _PLAIN_KEY.fullmatch(name) else f"{path}[{name}]"


class _ResourceMap(Mapping[str, Quantity]):
    """A read-only, hashable resource list, so that Resources, Container and Pod hash."""

    __slots__ = ("_items",)

    _items: dict[str, Quantity]

    def __init__(self, items: Mapping[str, Quantity]) -> None:
        # Sorted so that repr and iteration do not depend on manifest key order.
        self._items = {name: items[name] for name in sorted(items)}

    def __getitem__(self, key: str) -> Quantity:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


_EMPTY: Final[ResourceList] = _ResourceMap({})


def _empty_list() -> ResourceList:
    return _EMPTY


# -- resource names ------------------------------------------------------------------------------


def is_hugepages(name: str) -> bool:
    """``hugepages-<size>`` (the API server's IsHugePageResourceName: a prefix test)."""
    return name.startswith(HUGEPAGES_PREFIX)


def hugepage_size(name: str) -> Quantity | None:
    """The page size of a ``hugepages-<size>`` resource, or None when the size is not valid."""
    if not is_hugepages(name):
        return None
    try:
        size = Quantity.parse(name[len(HUGEPAGES_PREFIX) :])
    except QuantityError:
        return None
    return size if size > ZERO else None


def is_native(name: str) -> bool:
    """A Kubernetes resource (``cpu``, ``kubernetes.io/...``) rather than a vendor's."""
    return "/" not in name or _NATIVE_PREFIX in name


def is_extended(name: str) -> bool:
    """A vendor resource such as ``vendor.com/gpu`` (IsExtendedResourceName)."""
    if is_native(name) or name.startswith("requests."):
        return False
    return _is_qualified_name(f"requests.{name}")


def _overcommit_allowed(name: str) -> bool:
    # Hugepages and extended resources cannot be overcommitted: their request must equal the limit.
    return is_native(name) and not is_hugepages(name)


def _is_supported_pod_level(name: str) -> bool:
    return name in QOS_COMPUTE_RESOURCES or is_hugepages(name)


def _is_qualified_name(name: str) -> bool:
    parts = name.split("/")
    if len(parts) == 2:
        prefix, local = parts
        if not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            return False
    elif len(parts) == 1:
        local = parts[0]
    else:
        return False
    return 0 < len(local) <= 63 and _QUALIFIED_NAME_PART.fullmatch(local) is not None


def _check_resource_name(name: str, path: str, *, pod_level: bool) -> None:
    if not _is_qualified_name(name):
        raise InvalidRequestError(
            path,
            f"invalid resource name {_quote(name)}: must be a qualified name, an optional DNS "
            "subdomain prefix and '/' followed by alphanumerics, '-', '_' or '.'",
        )
    if pod_level:
        if not _is_supported_pod_level(name):
            raise InvalidRequestError(
                path,
                f"Unsupported value: {_quote(name)}: supported values: "
                '"cpu", "hugepages-<size>", "memory"',
            )
    elif "/" not in name:
        if name not in _STANDARD_CONTAINER_RESOURCES and not is_hugepages(name):
            raise InvalidRequestError(
                path,
                f"invalid resource name {_quote(name)}: must be a standard resource for containers",
            )
    elif not is_native(name) and not is_extended(name):
        raise InvalidRequestError(
            path,
            f"invalid resource name {_quote(name)}: doesn't follow extended resource name standard",
        )
    if is_hugepages(name) and hugepage_size(name) is None:
        raise InvalidRequestError(
            path, f"invalid hugepage size {_quote(name[len(HUGEPAGES_PREFIX) :])} in {_quote(name)}"
        )


# -- Resources -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Resources:
    """Requests and limits (``ResourceRequirements``), stored read-only.

    Constructed directly this is the raw object, not defaulted; :meth:`from_dict` and
    :class:`Pod` apply the API server's defaulting and validation.
    """

    requests: ResourceList = dataclasses.field(default_factory=_empty_list)
    limits: ResourceList = dataclasses.field(default_factory=_empty_list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "requests", _ResourceMap(self.requests))
        object.__setattr__(self, "limits", _ResourceMap(self.limits))

    @classmethod
    def from_dict(
        cls,
        d: Mapping[str, Any] | None,
        field: str = "spec.containers[0].resources",
        *,
        pod_level: bool = False,
    ) -> Resources:
        """Read a manifest's ``resources`` mapping; errors name the offending field under ``field``.

        For a container (the default) the API server's defaulting (request = limit where only the
        limit is given) and validation are applied. With ``pod_level`` (``spec.resources``) only
        names and values are checked here: the pod-level defaults depend on the containers, so
        :class:`Pod` applies them and the remaining checks.
        """
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise InvalidRequestError(field, "must be a mapping with requests and limits")
        resources = cls(
            requests=_parse_resource_list(d.get("requests"), f"{field}.requests"),
            limits=_parse_resource_list(d.get("limits"), f"{field}.limits"),
        )
        if pod_level:
            _validate_entries(resources, field, pod_level=True)
            return resources
        resources = resources.with_default_requests()
        _validate_requirements(resources, field, pod_level=False)
        return resources

    def with_default_requests(self) -> Resources:
        """The container defaulting of ``SetDefaults_Pod``: a limit without a request is both."""
        if all(name in self.requests for name in self.limits):
            return self
        return Resources(requests={**self.limits, **self.requests}, limits=self.limits)

    def __repr__(self) -> str:
        def text(items: ResourceList) -> str:
            return "{" + ", ".join(f"{n}: {q}" for n, q in items.items()) + "}"

        return f"Resources(requests={text(self.requests)}, limits={text(self.limits)})"


def _quantity_from_manifest(value: object, path: str) -> Quantity:
    # Quantity.UnmarshalJSON: null is the zero quantity, numbers are read from their text and
    # strings are trimmed before ParseQuantity.
    if value is None:
        return ZERO
    if isinstance(value, bool):
        raise InvalidRequestError(path, f"invalid quantity {_quote(str(value).lower())}")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise InvalidRequestError(path, f"invalid quantity of type {type(value).__name__}")
    try:
        return Quantity.parse(text)
    except QuantityError as err:
        raise InvalidRequestError(path, f"invalid quantity {_quote(text)}: {err.detail}") from None


def _parse_resource_list(value: object, path: str) -> dict[str, Quantity]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(path, "must be a mapping of resource names to quantities")
    result: dict[str, Quantity] = {}
    for name, raw in value.items():
        if not isinstance(name, str):
            raise InvalidRequestError(path, f"resource name {name!r} is not a string")
        result[name] = _quantity_from_manifest(raw, _key(path, name))
    return result


def _validate_entries(resources: Resources, path: str, *, pod_level: bool) -> None:
    """Per-entry checks: the name is allowed here and the value is sane for that resource."""
    for kind, items in (("limits", resources.limits), ("requests", resources.requests)):
        for name, quantity in items.items():
            where = _key(f"{path}.{kind}", name)
            _check_resource_name(name, where, pod_level=pod_level)
            if quantity < ZERO:
                raise InvalidRequestError(
                    where, f'invalid value "{quantity}": must be greater than or equal to 0'
                )
            # Devices are counted, never shared by fractions.
            if is_extended(name) and quantity.milli_value() % 1000 != 0:
                raise InvalidRequestError(where, f'invalid value "{quantity}": must be an integer')
            size = hugepage_size(name)
            if size is not None and quantity.value() % size.value() != 0:
                raise InvalidRequestError(
                    where,
                    f'invalid value "{quantity}": {quantity} is not positive integer multiple '
                    f"of {name}",
                )


def _validate_requirements(resources: Resources, path: str, *, pod_level: bool) -> None:
    """validateResourceRequirements: entries, then each request against its limit."""
    _validate_entries(resources, path, pod_level=pod_level)
    for name, request in resources.requests.items():
        limit = resources.limits.get(name)
        if limit is None:
            if not _overcommit_allowed(name):
                raise InvalidRequestError(
                    _key(f"{path}.limits", name),
                    "Limit must be set for non overcommitable resources",
                )
            continue
        where = _key(f"{path}.requests", name)
        if request != limit and not _overcommit_allowed(name):
            raise InvalidRequestError(
                where, f'invalid value "{request}": must be equal to {name} limit of {limit}'
            )
        if request > limit:
            raise InvalidRequestError(
                where,
                f'invalid value "{request}": must be less than or equal to {name} limit of {limit}',
            )
    names = set(resources.requests) | set(resources.limits)
    if any(is_hugepages(n) for n in names) and not names & QOS_COMPUTE_RESOURCES:
        raise InvalidRequestError(path, "HugePages require cpu or memory")


# -- containers and pods -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Container:
    """A container's name, resources and ``restartPolicy``.

    Whether a container is a sidecar depends on where it sits, so it is answered by
    :meth:`Pod.is_sidecar`: an *init* container with ``restart_policy == "Always"``.
    """

    name: str
    resources: Resources = dataclasses.field(default_factory=Resources)
    restart_policy: str | None = None


def is_exclusive_eligible(container: Container) -> bool:
    """KEP-5526: a container of a Guaranteed pod-level pod may get an exclusive slice only
    when it is Guaranteed on its own: request == limit for both CPU and memory
    (``IsContainerEquivalentQOSGuaranteed``)."""
    req, lim = container.resources.requests, container.resources.limits
    for name in ("cpu", "memory"):
        if name not in req or name not in lim or req[name] != lim[name]:
            return False
    return True


def cpu_request(container: Container) -> Quantity | None:
    """The container's cpu request (after defaulting, so a limit alone counts), or None."""
    return container.resources.requests.get(CPU)


@dataclasses.dataclass(frozen=True)
class Pod:
    """A pod, defaulted and validated at construction as the API server would store it.

    ``resources`` is ``spec.resources``; it is normalised to None when it sets nothing, so
    ``pod.resources is not None`` is the kubelet's ``IsPodLevelResourcesSet``.
    """

    uid: str
    name: str
    namespace: str
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...] = ()
    resources: Resources | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "containers", tuple(self.containers))
        object.__setattr__(self, "init_containers", tuple(self.init_containers))
        self._validate_metadata()
        self._validate_containers()
        # Defaulting first, then validation of what was stored: the API server's order.
        object.__setattr__(
            self, "containers", tuple(_with_default_requests(c) for c in self.containers)
        )
        object.__setattr__(
            self, "init_containers", tuple(_with_default_requests(c) for c in self.init_containers)
        )
        for path, container in self._paths():
            _validate_requirements(container.resources, f"{path}.resources", pod_level=False)
        if self.resources is not None:
            if not self.resources.requests and not self.resources.limits:
                object.__setattr__(self, "resources", None)
            else:
                object.__setattr__(self, "resources", self._default_pod_resources(self.resources))
                self._validate_pod_resources()

    # -- construction helpers --------------------------------------------------------------------

    def _validate_metadata(self) -> None:
        if not isinstance(self.uid, str) or not self.uid:
            raise InvalidRequestError("metadata.uid", "Required value: a pod needs a uid")
        if not self.name:
            raise InvalidRequestError("metadata.name", "Required value: name is required")
        if len(self.name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(self.name):
            raise InvalidRequestError(
                "metadata.name",
                f"Invalid value: {_quote(self.name)}: must be no more than 253 characters; "
                f"{_SUBDOMAIN_TEXT}",
            )
        if len(self.namespace) > 63 or not _DNS1123_LABEL.fullmatch(self.namespace):
            raise InvalidRequestError(
                "metadata.namespace",
                f"Invalid value: {_quote(self.namespace)}: must be no more than 63 characters; "
                f"{_LABEL_TEXT}",
            )

    def _validate_containers(self) -> None:
        if not self.containers:
            raise InvalidRequestError("spec.containers", "Required value: a pod needs a container")
        # App containers first, then init containers against all names seen: a clash between an
        # init and an app container is reported on the init container, as the API server does.
        seen: set[str] = set()
        for path, container in self._paths(app_first=True):
            where = f"{path}.name"
            if not container.name:
                raise InvalidRequestError(where, "Required value")
            if len(container.name) > 63 or not _DNS1123_LABEL.fullmatch(container.name):
                raise InvalidRequestError(
                    where,
                    f"Invalid value: {_quote(container.name)}: must be no more than 63 "
                    f"characters; {_LABEL_TEXT}",
                )
            if container.name in seen:
                raise InvalidRequestError(where, f"Duplicate value: {_quote(container.name)}")
            seen.add(container.name)
            policy = container.restart_policy
            if policy is not None and policy not in _RESTART_POLICIES:
                raise InvalidRequestError(
                    f"{path}.restartPolicy",
                    f"Unsupported value: {_quote(policy)}: supported values: "
                    + ", ".join(_quote(p) for p in _RESTART_POLICIES),
                )

    def _paths(self, *, app_first: bool = False) -> Iterator[tuple[str, Container]]:
        init = ((f"spec.initContainers[{i}]", c) for i, c in enumerate(self.init_containers))
        app = ((f"spec.containers[{i}]", c) for i, c in enumerate(self.containers))
        if app_first:
            yield from app
            yield from init
        else:
            yield from init
            yield from app

    def _default_pod_resources(self, resources: Resources) -> Resources:
        # defaultHugePagePodLimits, then defaultPodRequests (pkg/apis/core/v1/defaults.go).
        limits = dict(resources.limits)
        for name, total in self.aggregate_container_limits().items():
            if name not in limits and is_hugepages(name):
                limits[name] = total
        requests = dict(resources.requests)
        if limits:
            for name, total in self.aggregate_container_requests().items():
                if (
                    name not in requests
                    and _is_supported_pod_level(name)
                    and _overcommit_allowed(name)
                ):
                    requests[name] = total
            for name, limit in limits.items():
                if name not in requests and _is_supported_pod_level(name):
                    requests[name] = limit
        return Resources(requests=requests, limits=limits)

    def _validate_pod_resources(self) -> None:
        # validatePodResources + validatePodResourceConsistency.
        assert self.resources is not None
        _validate_requirements(self.resources, "spec.resources", pod_level=True)
        for name, total in self.aggregate_container_requests().items():
            pod_request = self.resources.requests.get(name)
            if pod_request is not None and total > pod_request:
                raise InvalidRequestError(
                    _key("spec.resources.requests", name),
                    f'invalid value "{pod_request}": must be greater than or equal to '
                    f"aggregate container requests of {total}",
                )
        # The API server compares app containers' limits only: an init container above the pod
        # limit is admitted and simply capped by the pod cgroup.
        for i, container in enumerate(self.containers):
            for name, limit in container.resources.limits.items():
                pod_limit = self.resources.limits.get(name)
                if pod_limit is not None and limit > pod_limit:
                    raise InvalidRequestError(
                        _key(f"spec.containers[{i}].resources.limits", name),
                        f'invalid value "{limit}": must be less than or equal to pod limits '
                        f"of {pod_limit}",
                    )

    # -- manifests -------------------------------------------------------------------------------

    @classmethod
    def from_manifest(cls, doc: Mapping[str, Any]) -> Pod:
        """Build a pod from a Pod manifest (the dict a YAML/JSON ``kind: Pod`` document loads to).

        Reads ``metadata.{uid,name,namespace}``, ``spec.resources``, ``spec.initContainers`` and
        ``spec.containers`` (``name``, ``resources``, ``restartPolicy``); everything else is
        ignored. ``metadata.namespace`` defaults to ``"default"``. A manifest without
        ``metadata.uid`` (one that never went through the API server) gets a deterministic uid,
        ``uuid5(POD_UID_NAMESPACE, "<namespace>/<name>")``, so that loading the same manifest
        twice names the same pod. Errors name the offending field path.
        """
        if not isinstance(doc, Mapping):
            raise InvalidRequestError("pod", "a Pod manifest must be a mapping")
        kind = doc.get("kind")
        if kind is not None and kind != "Pod":
            raise InvalidRequestError(
                "kind", f'Unsupported value: {_quote(str(kind))}: supported values: "Pod"'
            )
        metadata = _mapping(doc.get("metadata"), "metadata")
        name = _string(metadata.get("name"), "metadata.name")
        namespace = _string(metadata.get("namespace"), "metadata.namespace", optional=True)
        namespace = namespace or "default"
        uid = _string(metadata.get("uid"), "metadata.uid", optional=True)
        if not uid:
            uid = str(uuid.uuid5(POD_UID_NAMESPACE, f"{namespace}/{name}"))
        spec = _mapping(doc.get("spec"), "spec")
        containers = _containers(spec.get("containers"), "spec.containers")
        init_containers = _containers(spec.get("initContainers"), "spec.initContainers")
        raw_resources = spec.get("resources")
        resources = (
            None
            if raw_resources is None
            else Resources.from_dict(raw_resources, "spec.resources", pod_level=True)
        )
        return cls(
            uid=uid,
            name=name,
            namespace=namespace,
            containers=containers,
            init_containers=init_containers,
            resources=resources,
        )

    # -- queries ---------------------------------------------------------------------------------

    def all_containers(self) -> tuple[Container, ...]:
        """Init containers (in order), then app containers: the order the kubelet starts them."""
        return self.init_containers + self.containers

    def is_sidecar(self, container: Container) -> bool:
        """True for a restartable init container (init container with ``restartPolicy: Always``)."""
        return any(
            c.name == container.name and c.restart_policy == RESTART_ALWAYS
            for c in self.init_containers
        )

    def container(self, name: str) -> Container:
        """The init or app container called ``name``."""
        for c in self.all_containers():
            if c.name == name:
                return c
        raise InvalidRequestError(
            "container", f"pod {self.namespace}/{self.name} has no container {_quote(name)}"
        )

    def aggregate_container_requests(self) -> dict[str, Quantity]:
        """The pod's effective requests from its containers (AggregateContainerRequests)."""
        return self._aggregate(lambda r: r.requests)

    def aggregate_container_limits(self) -> dict[str, Quantity]:
        """The same formula over limits (AggregateContainerLimits)."""
        return self._aggregate(lambda r: r.limits)

    def _aggregate(self, pick: Callable[[Resources], ResourceList]) -> dict[str, Quantity]:
        total: dict[str, Quantity] = {}
        for container in self.containers:
            _add(total, pick(container.resources))
        sidecars: dict[str, Quantity] = {}
        init_peak: dict[str, Quantity] = {}
        for container in self.init_containers:
            own = pick(container.resources)
            if container.restart_policy == RESTART_ALWAYS:
                # A sidecar keeps running beside the app containers and every later init
                # container, so it adds to both.
                _add(total, own)
                _add(sidecars, own)
                phase = dict(sidecars)
            else:
                phase = dict(own)
                _add(phase, sidecars)
            _max(init_peak, phase)
        _max(total, init_peak)
        return total


def _with_default_requests(container: Container) -> Container:
    resources = container.resources.with_default_requests()
    if resources is container.resources:
        return container
    return dataclasses.replace(container, resources=resources)


def _add(into: dict[str, Quantity], items: ResourceList) -> None:
    for name, quantity in items.items():
        into[name] = into[name] + quantity if name in into else quantity


def _max(into: dict[str, Quantity], items: Mapping[str, Quantity]) -> None:
    for name, quantity in items.items():
        if name not in into or into[name] < quantity:
            into[name] = quantity


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if value is None:
        raise InvalidRequestError(path, "Required value")
    if not isinstance(value, Mapping):
        raise InvalidRequestError(path, f"must be a mapping, not {type(value).__name__}")
    return value


def _string(value: object, path: str, *, optional: bool = False) -> str:
    if value is None:
        if optional:
            return ""
        raise InvalidRequestError(path, "Required value")
    if not isinstance(value, str):
        raise InvalidRequestError(path, f"must be a string, not {type(value).__name__}")
    return value


def _containers(value: object, path: str) -> tuple[Container, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidRequestError(path, f"must be a list, not {type(value).__name__}")
    result: list[Container] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        entry = _mapping(item, where)
        result.append(
            Container(
                name=_string(entry.get("name"), f"{where}.name"),
                resources=Resources.from_dict(entry.get("resources"), f"{where}.resources"),
                restart_policy=_string(
                    entry.get("restartPolicy"), f"{where}.restartPolicy", optional=True
                )
                or None,
            )
        )
    return tuple(result)


# -- QoS -----------------------------------------------------------------------------------------


class QOSClass(enum.Enum):
    """The pod's quality-of-service class (``v1.PodQOSClass``)."""

    GUARANTEED = "Guaranteed"
    BURSTABLE = "Burstable"
    BEST_EFFORT = "BestEffort"


def qos_class(pod: Pod, *, pod_level_resources: bool = True) -> QOSClass:
    """The kubelet's ``ComputePodQOS``.

    ``pod_level_resources`` is the ``PodLevelResources`` feature gate: when it is on and the pod
    sets ``spec.resources``, the pod-level requests and limits alone decide; otherwise every app
    and init container does (sidecars included). Only positive cpu and memory amounts count.
    Guaranteed needs a cpu and a memory limit on every source consulted, every counted request
    equal to the summed limit, and as many requested resources as limited ones; with no counted
    request or limit at all the pod is BestEffort; anything else is Burstable.
    """
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    if pod_level_resources and pod.resources is not None:
        has_both = _accumulate(pod.resources, requests, limits)
        # The kubelet only checks the pod-level limits when there are some; without limits the
        # requests-equal-limits test below fails anyway.
        if pod.resources.limits and not has_both:
            guaranteed = False
    else:
        # Ephemeral containers cannot set resources and are not considered.
        for container in (*pod.containers, *pod.init_containers):
            if not _accumulate(container.resources, requests, limits):
                guaranteed = False
    if not requests and not limits:
        return QOSClass.BEST_EFFORT
    if guaranteed:
        guaranteed = all(name in limits and limits[name] == q for name, q in requests.items())
    if guaranteed and len(requests) == len(limits):
        return QOSClass.GUARANTEED
    return QOSClass.BURSTABLE


def _accumulate(
    resources: Resources, requests: dict[str, Quantity], limits: dict[str, Quantity]
) -> bool:
    """Add the positive cpu/memory amounts; True when both a cpu and a memory limit were found."""
    _add(requests, _qos_relevant(resources.requests.items()))
    counted = _qos_relevant(resources.limits.items())
    _add(limits, counted)
    return counted.keys() >= QOS_COMPUTE_RESOURCES


def _qos_relevant(items: Iterable[tuple[str, Quantity]]) -> dict[str, Quantity]:
    return {n: q for n, q in items if n in QOS_COMPUTE_RESOURCES and q > ZERO}
