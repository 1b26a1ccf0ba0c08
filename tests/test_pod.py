"""The pod model: defaulting, validation, manifests, helpers and the QoS class."""

from __future__ import annotations

import copy
import pickle
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml

from pinlet.server.errors import InvalidRequestError
from pinlet.server.pod import (
    POD_UID_NAMESPACE,
    Container,
    Pod,
    QOSClass,
    Resources,
    cpu_request,
    qos_class,
)
from pinlet.server.quantity import Quantity

Q = Quantity.parse
GUARANTEED = QOSClass.GUARANTEED
BURSTABLE = QOSClass.BURSTABLE
BEST_EFFORT = QOSClass.BEST_EFFORT


def res(
    requests: Mapping[str, str] | None = None, limits: Mapping[str, str] | None = None
) -> Resources:
    return Resources(
        requests={k: Q(v) for k, v in (requests or {}).items()},
        limits={k: Q(v) for k, v in (limits or {}).items()},
    )


def ctr(
    name: str,
    requests: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
    restart_policy: str | None = None,
) -> Container:
    return Container(name, res(requests, limits), restart_policy)


def sidecar(
    name: str, requests: Mapping[str, str] | None = None, limits: Mapping[str, str] | None = None
) -> Container:
    return ctr(name, requests, limits, "Always")


def pod(
    *containers: Container,
    init: tuple[Container, ...] = (),
    resources: Resources | None = None,
) -> Pod:
    return Pod("uid-1", "p", "default", containers, init, resources)


GU = {"cpu": "2", "memory": "1Gi"}

# -- QoS -----------------------------------------------------------------------------------------

QOS_CASES = [
    pytest.param(pod(ctr("a")), BEST_EFFORT, BEST_EFFORT, id="no-resources-best-effort"),
    pytest.param(
        pod(ctr("a", requests={"ephemeral-storage": "1Gi"})),
        BEST_EFFORT,
        BEST_EFFORT,
        id="only-storage-is-best-effort",
    ),
    pytest.param(
        pod(ctr("a", limits={"cpu": "0", "memory": "0"})),
        BEST_EFFORT,
        BEST_EFFORT,
        id="zero-limits-do-not-count",
    ),
    pytest.param(pod(ctr("a", requests={"cpu": "100m"})), BURSTABLE, BURSTABLE, id="cpu-request"),
    pytest.param(
        pod(ctr("a", requests={"cpu": "1", "memory": "1Gi"}, limits={"cpu": "2", "memory": "1Gi"})),
        BURSTABLE,
        BURSTABLE,
        id="request-below-limit",
    ),
    pytest.param(
        pod(ctr("a", limits={"cpu": "2"})), BURSTABLE, BURSTABLE, id="cpu-limit-without-memory"
    ),
    pytest.param(
        pod(ctr("a", limits={"cpu": "0", "memory": "1Gi"})),
        BURSTABLE,
        BURSTABLE,
        id="zero-cpu-limit-is-no-limit",
    ),
    pytest.param(
        pod(ctr("a", limits=GU), ctr("b")), BURSTABLE, BURSTABLE, id="one-container-unlimited"
    ),
    pytest.param(pod(ctr("a", limits=GU)), GUARANTEED, GUARANTEED, id="limits-only-default"),
    pytest.param(
        pod(ctr("a", requests=GU, limits=GU), ctr("b", limits={"cpu": "500m", "memory": "1G"})),
        GUARANTEED,
        GUARANTEED,
        id="two-containers-equal",
    ),
    pytest.param(
        pod(
            ctr("a", limits={**GU, "hugepages-2Mi": "4Mi", "vendor.com/gpu": "1"}),
        ),
        GUARANTEED,
        GUARANTEED,
        id="hugepages-and-devices-ignored",
    ),
    pytest.param(
        pod(ctr("a", limits=GU), init=(ctr("init", limits={"cpu": "4", "memory": "2Gi"}),)),
        GUARANTEED,
        GUARANTEED,
        id="guaranteed-with-init-container",
    ),
    pytest.param(
        pod(ctr("a", limits=GU), init=(ctr("init", requests={"cpu": "1"}),)),
        BURSTABLE,
        BURSTABLE,
        id="init-container-without-limits",
    ),
    pytest.param(
        pod(ctr("a", limits=GU), init=(sidecar("mesh"),)),
        BURSTABLE,
        BURSTABLE,
        id="sidecar-missing-limits",
    ),
    pytest.param(
        pod(ctr("a", limits=GU), init=(sidecar("mesh", limits={"cpu": "1", "memory": "64Mi"}),)),
        GUARANTEED,
        GUARANTEED,
        id="sidecar-with-limits",
    ),
    pytest.param(
        pod(ctr("a"), resources=res(limits={"cpu": "8", "memory": "16Gi"})),
        GUARANTEED,
        BEST_EFFORT,
        id="pod-level-guaranteed-containers-without-resources",
    ),
    pytest.param(
        pod(
            ctr("db", limits={"cpu": "6", "memory": "12Gi"}),
            init=(sidecar("metrics"), sidecar("backup")),
            resources=res({"cpu": "8", "memory": "16Gi"}, {"cpu": "8", "memory": "16Gi"}),
        ),
        GUARANTEED,
        BURSTABLE,
        id="pod-level-guaranteed-with-unlimited-sidecars",
    ),
    pytest.param(
        pod(
            ctr("a", requests={"cpu": "1", "memory": "1Gi"}),
            resources=res(limits={"cpu": "4", "memory": "4Gi"}),
        ),
        BURSTABLE,
        BURSTABLE,
        id="pod-level-requests-default-to-container-aggregate",
    ),
    pytest.param(
        pod(ctr("a", limits=GU), resources=res(requests={"cpu": "2", "memory": "1Gi"})),
        BURSTABLE,
        GUARANTEED,
        id="pod-level-requests-without-limits",
    ),
    pytest.param(
        pod(ctr("a", limits=GU), resources=res(limits={"cpu": "4"})),
        BURSTABLE,
        GUARANTEED,
        id="pod-level-cpu-limit-only",
    ),
    pytest.param(
        pod(
            ctr("a", limits=GU),
            resources=res({"cpu": "2", "memory": "1Gi"}, {"cpu": "4", "memory": "1Gi"}),
        ),
        BURSTABLE,
        GUARANTEED,
        id="pod-level-request-below-limit",
    ),
    pytest.param(
        pod(ctr("a"), resources=Resources()),
        BEST_EFFORT,
        BEST_EFFORT,
        id="empty-pod-level-resources-are-unset",
    ),
]


@pytest.mark.parametrize(("the_pod", "gate_on", "gate_off"), QOS_CASES)
def test_qos_class(the_pod: Pod, gate_on: QOSClass, gate_off: QOSClass) -> None:
    """qos_class follows ComputePodQOS with the PodLevelResources gate on and off."""
    assert qos_class(the_pod) is gate_on
    assert qos_class(the_pod, pod_level_resources=False) is gate_off


def test_qos_class_values_are_the_api_strings() -> None:
    """The enum values are the strings the API reports in status.qosClass."""
    assert [c.value for c in QOSClass] == ["Guaranteed", "Burstable", "BestEffort"]


# -- defaulting ----------------------------------------------------------------------------------


class TestDefaulting:
    def test_container_limit_becomes_request(self) -> None:
        """A limit without a request is copied into requests; a given request is kept."""
        c = pod(ctr("a", requests={"memory": "1Gi"}, limits={"cpu": "2", "memory": "2Gi"}))
        assert c.containers[0].resources.requests == {"cpu": Q("2"), "memory": Q("1Gi")}

    def test_from_dict_defaults_container_requests(self) -> None:
        """Resources.from_dict applies the container defaulting too."""
        r = Resources.from_dict({"limits": {"cpu": "1", "vendor.com/gpu": 2}})
        assert r.requests == {"cpu": Q("1"), "vendor.com/gpu": Q("2")}

    def test_init_containers_are_defaulted(self) -> None:
        """Init containers get the same limit-to-request defaulting."""
        p = pod(ctr("a"), init=(ctr("i", limits={"cpu": "3"}),))
        assert cpu_request(p.init_containers[0]) == Q("3")

    def test_pod_level_request_defaults_to_limit(self) -> None:
        """With no container requests, the pod-level request is the pod-level limit."""
        p = pod(ctr("a"), resources=res(limits={"cpu": "4", "memory": "2Gi"}))
        assert p.resources is not None
        assert p.resources.requests == {"cpu": Q("4"), "memory": Q("2Gi")}

    def test_pod_level_request_defaults_to_aggregate_with_sidecars(self) -> None:
        """The pod-level request defaults to max(init peak, app + sidecars) (KEP-753 formula)."""
        p = pod(
            ctr("app", requests={"cpu": "1"}),
            init=(
                sidecar("s1", requests={"cpu": "500m"}),
                ctr("setup", requests={"cpu": "3"}),
                sidecar("s2", requests={"cpu": "250m"}),
            ),
            resources=res(limits={"cpu": "8", "memory": "1Gi"}),
        )
        assert p.resources is not None
        # Init peak: setup (3) runs beside s1 (0.5) = 3.5; steady state: 1 + 0.5 + 0.25 = 1.75.
        assert p.resources.requests["cpu"] == Q("3500m")
        assert p.resources.requests["memory"] == Q("1Gi")

    def test_pod_level_hugepage_limit_defaults_to_container_sum(self) -> None:
        """A missing pod-level hugepages limit becomes the containers' aggregate limit."""
        p = pod(
            ctr("a", limits={"cpu": "1", "hugepages-2Mi": "4Mi"}),
            ctr("b", limits={"cpu": "1", "hugepages-2Mi": "2Mi"}),
            resources=res(limits={"cpu": "2", "memory": "1Gi"}),
        )
        assert p.resources is not None
        assert p.resources.limits["hugepages-2Mi"] == Q("6Mi")
        assert p.resources.requests["hugepages-2Mi"] == Q("6Mi")

    def test_empty_pod_level_resources_become_none(self) -> None:
        """spec.resources that sets nothing is the same as no pod-level resources."""
        assert pod(ctr("a"), resources=Resources()).resources is None

    def test_pods_are_hashable_values(self) -> None:
        """Equal pods are equal and hash alike, so they can key caches."""
        a = pod(ctr("a", limits=GU))
        b = pod(ctr("a", requests=GU, limits=GU))
        assert a == b
        assert hash(a) == hash(b)

    def test_pods_pickle(self) -> None:
        """A pod survives pickling unchanged (state files and worker processes rely on it)."""
        p = Pod.from_manifest(DATABASE)
        assert pickle.loads(pickle.dumps(p)) == p
        assert copy.deepcopy(p) == p

    def test_resource_lists_are_read_only(self) -> None:
        """A resource list cannot be changed after construction."""
        r = res(limits={"cpu": "1"})
        with pytest.raises(TypeError):
            r.limits["cpu"] = Q("2")  # type: ignore[index]


# -- helpers -------------------------------------------------------------------------------------


class TestHelpers:
    the_pod = pod(
        ctr("app", limits={"cpu": "2", "memory": "1Gi"}),
        ctr("logger"),
        init=(ctr("setup"), sidecar("mesh")),
    )

    def test_all_containers_init_first(self) -> None:
        """all_containers lists init containers, then app containers, in spec order."""
        assert [c.name for c in self.the_pod.all_containers()] == [
            "setup",
            "mesh",
            "app",
            "logger",
        ]

    def test_is_sidecar(self) -> None:
        """Only an init container with restartPolicy Always is a sidecar."""
        flags = {c.name: self.the_pod.is_sidecar(c) for c in self.the_pod.all_containers()}
        assert flags == {"setup": False, "mesh": True, "app": False, "logger": False}

    def test_app_container_with_always_is_not_a_sidecar(self) -> None:
        """restartPolicy Always on an app container does not make it a sidecar."""
        p = pod(ctr("app", restart_policy="Always"))
        assert not p.is_sidecar(p.containers[0])

    def test_container_lookup(self) -> None:
        """container(name) finds init and app containers."""
        assert self.the_pod.container("mesh").restart_policy == "Always"
        assert self.the_pod.container("app").resources.limits["cpu"] == Q("2")

    def test_container_lookup_unknown(self) -> None:
        """An unknown name is an InvalidRequestError on field 'container', not a KeyError."""
        with pytest.raises(InvalidRequestError) as caught:
            self.the_pod.container("nope")
        assert caught.value.field == "container"
        assert '"nope"' in caught.value.message

    def test_cpu_request(self) -> None:
        """cpu_request is the (defaulted) cpu request, or None without one."""
        assert cpu_request(self.the_pod.container("app")) == Q("2")
        assert cpu_request(self.the_pod.container("logger")) is None

    def test_aggregate_limits(self) -> None:
        """aggregate_container_limits uses the same sidecar formula as requests."""
        p = pod(
            ctr("app", limits={"memory": "1Gi"}),
            init=(sidecar("s", limits={"memory": "256Mi"}), ctr("i", limits={"memory": "2Gi"})),
        )
        assert p.aggregate_container_limits() == {"memory": Q("2304Mi")}


# -- manifests -----------------------------------------------------------------------------------

DATABASE = yaml.safe_load(
    """
apiVersion: v1
kind: Pod
metadata:
  name: tightly-coupled-database
  namespace: db
  uid: 6f0c7d1e-0000-4000-8000-000000000001
spec:
  resources:
    requests: {cpu: "8", memory: 16Gi}
    limits: {cpu: "8", memory: 16Gi}
  initContainers:
  - name: metrics-exporter
    image: exporter:1
    restartPolicy: Always
  - name: backup-agent
    image: backup:1
    restartPolicy: Always
  containers:
  - name: database
    image: postgres:16
    resources:
      requests: {cpu: 6, memory: 12Gi}
      limits: {cpu: 6, memory: 12Gi}
"""
)


class TestManifest:
    def test_reads_the_worked_example(self) -> None:
        """The tightly-coupled-database manifest loads with its pod-level resources and sidecars."""
        p = Pod.from_manifest(DATABASE)
        assert (p.uid, p.name, p.namespace) == (
            "6f0c7d1e-0000-4000-8000-000000000001",
            "tightly-coupled-database",
            "db",
        )
        assert [c.name for c in p.all_containers()] == [
            "metrics-exporter",
            "backup-agent",
            "database",
        ]
        assert all(p.is_sidecar(c) for c in p.init_containers)
        assert p.container("database").resources.limits == {"cpu": Q("6"), "memory": Q("12Gi")}
        assert p.resources == res({"cpu": "8", "memory": "16Gi"}, {"cpu": "8", "memory": "16Gi"})
        assert qos_class(p) is GUARANTEED

    def test_missing_uid_is_deterministic_uuid5(self) -> None:
        """Without metadata.uid the uid is uuid5(POD_UID_NAMESPACE, '<namespace>/<name>')."""
        doc = copy.deepcopy(DATABASE)
        del doc["metadata"]["uid"]
        first, second = Pod.from_manifest(doc), Pod.from_manifest(copy.deepcopy(doc))
        assert (
            first.uid
            == second.uid
            == str(uuid.uuid5(POD_UID_NAMESPACE, "db/tightly-coupled-database"))
        )

    def test_namespace_defaults_to_default(self) -> None:
        """A manifest without metadata.namespace is in namespace 'default'."""
        doc = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
        p = Pod.from_manifest(doc)
        assert p.namespace == "default"
        assert p.uid == str(uuid.uuid5(POD_UID_NAMESPACE, "default/p"))

    def test_numbers_and_null_quantities(self) -> None:
        """YAML numbers are read as text, strings are trimmed and null is zero (UnmarshalJSON)."""
        doc = {
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "resources": {
                            "requests": {"cpu": 0.5, "memory": " 1Gi ", "ephemeral-storage": None},
                            "limits": {"cpu": 1},
                        },
                    }
                ]
            },
        }
        r = Pod.from_manifest(doc).containers[0].resources
        assert r.requests == {"cpu": Q("500m"), "memory": Q("1Gi"), "ephemeral-storage": Q("0")}

    def test_spec_resources_absent_means_none(self) -> None:
        """No spec.resources in the manifest leaves Pod.resources None."""
        doc = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
        assert Pod.from_manifest(doc).resources is None


def _with(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets the dotted/indexed ``path`` of a manifest to ``value``."""

    def mutate(doc: dict[str, Any]) -> None:
        keys: list[str | int] = [int(k) if k.isdigit() else k for k in path.split(".")]
        target: Any = doc
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *head, last = path.split(".")
        target: Any = doc
        for k in head:
            target = target[int(k) if k.isdigit() else k]
        del target[last]

    return mutate


BASE = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
    "spec": {
        "initContainers": [{"name": "init", "resources": {}}],
        "containers": [
            {"name": "app", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
            {"name": "side", "resources": {"requests": {"cpu": "100m"}}},
        ],
    },
}

MANIFEST_ERRORS = [
    pytest.param(
        _with("spec.containers.1.resources.limits", {"cpu": "2x"}),
        "spec.containers[1].resources.limits.cpu",
        'invalid quantity "2x"',
        id="bad-quantity",
    ),
    pytest.param(
        _with("spec.containers.0.resources.limits.memory", True),
        "spec.containers[0].resources.limits.memory",
        'invalid quantity "true"',
        id="boolean-quantity",
    ),
    pytest.param(
        _with("spec.containers.0.resources.limits.memory", ["1Gi"]),
        "spec.containers[0].resources.limits.memory",
        "invalid quantity of type list",
        id="list-quantity",
    ),
    pytest.param(
        _with("spec.containers.1.resources", {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
        "spec.containers[1].resources.requests.cpu",
        'invalid value "2": must be less than or equal to cpu limit of 1',
        id="request-above-limit",
    ),
    pytest.param(
        _with("spec.containers.1.resources.requests.cpu", "-1"),
        "spec.containers[1].resources.requests.cpu",
        'invalid value "-1": must be greater than or equal to 0',
        id="negative-request",
    ),
    pytest.param(
        _with("spec.containers.1.resources.requests", {"gpu": "1"}),
        "spec.containers[1].resources.requests.gpu",
        "must be a standard resource for containers",
        id="unknown-resource",
    ),
    pytest.param(
        _with("spec.containers.1.resources.requests", {"vendor.com/gpu": "1"}),
        "spec.containers[1].resources.limits[vendor.com/gpu]",
        "Limit must be set for non overcommitable resources",
        id="extended-request-without-limit",
    ),
    pytest.param(
        _with("spec.containers.1.resources.limits", {"vendor.com/gpu": "0.5"}),
        "spec.containers[1].resources.limits[vendor.com/gpu]",
        'invalid value "500m": must be an integer',
        id="fractional-device",
    ),
    pytest.param(
        _with(
            "spec.containers.1.resources",
            {"requests": {"vendor.com/gpu": "1"}, "limits": {"vendor.com/gpu": "2"}},
        ),
        "spec.containers[1].resources.requests[vendor.com/gpu]",
        'invalid value "1": must be equal to vendor.com/gpu limit of 2',
        id="extended-request-below-limit",
    ),
    pytest.param(
        _with("spec.containers.1.resources.limits", {"requests.vendor.com/gpu": "1"}),
        "spec.containers[1].resources.limits[requests.vendor.com/gpu]",
        "doesn't follow extended resource name standard",
        id="quota-style-name",
    ),
    pytest.param(
        _with("spec.containers.1.resources.limits", {"a/b/c": "1"}),
        "spec.containers[1].resources.limits[a/b/c]",
        "must be a qualified name",
        id="unqualified-name",
    ),
    pytest.param(
        _with("spec.containers.0.resources.limits.hugepages-2Mi", "3Mi"),
        "spec.containers[0].resources.limits.hugepages-2Mi",
        "3Mi is not positive integer multiple of hugepages-2Mi",
        id="hugepages-not-page-multiple",
    ),
    pytest.param(
        _with("spec.containers.0.resources.limits.hugepages-2x", "2"),
        "spec.containers[0].resources.limits.hugepages-2x",
        'invalid hugepage size "2x"',
        id="hugepages-bad-size",
    ),
    pytest.param(
        _with("spec.containers.1.resources", {"limits": {"hugepages-1Gi": "1Gi"}}),
        "spec.containers[1].resources",
        "HugePages require cpu or memory",
        id="hugepages-alone",
    ),
    pytest.param(
        _with("spec.containers.1.resources", ["cpu"]),
        "spec.containers[1].resources",
        "must be a mapping",
        id="resources-not-mapping",
    ),
    pytest.param(
        _with("spec.containers.1.resources.limits", "1"),
        "spec.containers[1].resources.limits",
        "must be a mapping",
        id="limits-not-mapping",
    ),
    pytest.param(
        _with("spec.containers.1.name", "app"),
        "spec.containers[1].name",
        'Duplicate value: "app"',
        id="duplicate-app-names",
    ),
    pytest.param(
        _with("spec.initContainers.0.name", "side"),
        "spec.initContainers[0].name",
        'Duplicate value: "side"',
        id="init-name-clashes-with-app",
    ),
    pytest.param(
        _with("spec.containers.0.name", "Web_1"),
        "spec.containers[0].name",
        "RFC 1123 label",
        id="container-name-not-dns-label",
    ),
    pytest.param(
        _with("spec.containers.0.name", "a" * 64),
        "spec.containers[0].name",
        "no more than 63 characters",
        id="container-name-too-long",
    ),
    pytest.param(
        _drop("spec.containers.0.name"),
        "spec.containers[0].name",
        "Required value",
        id="container-name-missing",
    ),
    pytest.param(
        _with("spec.containers.0.name", 7),
        "spec.containers[0].name",
        "must be a string",
        id="container-name-not-string",
    ),
    pytest.param(
        _with("spec.initContainers.0.restartPolicy", "Sometimes"),
        "spec.initContainers[0].restartPolicy",
        'Unsupported value: "Sometimes"',
        id="bad-restart-policy",
    ),
    pytest.param(
        _with("spec.containers", []),
        "spec.containers",
        "Required value",
        id="no-containers",
    ),
    pytest.param(
        _with("spec.containers", {"name": "app"}),
        "spec.containers",
        "must be a list",
        id="containers-not-list",
    ),
    pytest.param(
        _with("spec.containers.0", "app"),
        "spec.containers[0]",
        "must be a mapping",
        id="container-not-mapping",
    ),
    pytest.param(_drop("spec"), "spec", "Required value", id="no-spec"),
    pytest.param(_drop("metadata"), "metadata", "Required value", id="no-metadata"),
    pytest.param(_drop("metadata.name"), "metadata.name", "Required value", id="no-name"),
    pytest.param(
        _with("metadata.name", "Web"), "metadata.name", "RFC 1123 subdomain", id="bad-pod-name"
    ),
    pytest.param(
        _with("metadata.namespace", "shop.eu"),
        "metadata.namespace",
        "RFC 1123 label",
        id="bad-namespace",
    ),
    pytest.param(_with("metadata.uid", 12), "metadata.uid", "must be a string", id="uid-number"),
    pytest.param(_with("kind", "Deployment"), "kind", '"Deployment"', id="not-a-pod"),
    pytest.param(
        _with("spec.resources", {"limits": {"ephemeral-storage": "1Gi"}}),
        "spec.resources.limits.ephemeral-storage",
        'Unsupported value: "ephemeral-storage"',
        id="pod-level-unsupported-resource",
    ),
    pytest.param(
        _with(
            "spec.resources", {"requests": {"cpu": "1"}, "limits": {"cpu": "4", "memory": "2Gi"}}
        ),
        "spec.resources.requests.cpu",
        'invalid value "1": must be greater than or equal to aggregate container requests of 1100m',
        id="pod-level-request-below-aggregate",
    ),
    pytest.param(
        _with("spec.resources", {"limits": {"cpu": "500m", "memory": "2Gi"}}),
        "spec.resources.requests.cpu",
        'invalid value "1100m": must be less than or equal to cpu limit of 500m',
        id="defaulted-pod-request-above-pod-limit",
    ),
    pytest.param(
        _with(
            "spec.resources",
            {"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "512Mi"}},
        ),
        "spec.resources.requests.memory",
        "must be less than or equal to memory limit of 512Mi",
        id="pod-level-request-above-limit",
    ),
    pytest.param(
        _with(
            "spec.resources",
            {
                "requests": {"cpu": "2", "memory": "512Mi"},
                "limits": {"cpu": "2", "memory": "512Mi"},
            },
        ),
        "spec.resources.requests.memory",
        "must be greater than or equal to aggregate container requests of 1Gi",
        id="pod-level-memory-below-aggregate",
    ),
    pytest.param(
        _with("spec.containers.1.resources", {"limits": {"cpu": "100m", "memory": "1Gi"}}),
        None,
        None,
        id="control-valid-manifest",
    ),
]


@pytest.mark.parametrize(("mutate", "field", "message"), MANIFEST_ERRORS)
def test_manifest_errors_name_the_field(
    mutate: Callable[[dict[str, Any]], None], field: str | None, message: str | None
) -> None:
    """Each malformed manifest raises InvalidRequestError naming the offending field path."""
    doc = copy.deepcopy(BASE)
    mutate(doc)
    if field is None:
        Pod.from_manifest(doc)
        return
    with pytest.raises(InvalidRequestError) as caught:
        Pod.from_manifest(doc)
    assert caught.value.field == field
    assert message is not None
    assert message in caught.value.message


def test_container_limit_above_pod_limit() -> None:
    """An app container's limit may not exceed the pod-level limit for the same resource."""
    with pytest.raises(InvalidRequestError) as caught:
        pod(
            ctr("a", requests={"cpu": "1"}, limits={"cpu": "4"}),
            resources=res(limits={"cpu": "2", "memory": "1Gi"}),
        )
    assert caught.value.field == "spec.containers[0].resources.limits.cpu"
    assert "must be less than or equal to pod limits of 2" in caught.value.message


def test_manifest_must_be_a_mapping() -> None:
    """A document that is not a mapping is refused."""
    with pytest.raises(InvalidRequestError) as caught:
        Pod.from_manifest(["kind", "Pod"])  # type: ignore[arg-type]
    assert caught.value.field == "pod"


class TestDirectConstruction:
    def test_empty_uid_is_refused(self) -> None:
        """A pod built directly must carry a uid."""
        with pytest.raises(InvalidRequestError) as caught:
            Pod("", "p", "default", (ctr("a"),))
        assert caught.value.field == "metadata.uid"

    def test_validation_applies_to_direct_construction(self) -> None:
        """Request-above-limit is caught when a Pod is built from objects, not only manifests."""
        with pytest.raises(InvalidRequestError) as caught:
            pod(ctr("a"), ctr("b", requests={"memory": "2Gi"}, limits={"memory": "1Gi"}))
        assert caught.value.field == "spec.containers[1].resources.requests.memory"

    def test_lists_are_stored_as_tuples(self) -> None:
        """Container sequences are stored as tuples, whatever was passed in."""
        p = Pod("u", "p", "default", [ctr("a")], [ctr("i")])  # type: ignore[arg-type]
        assert isinstance(p.containers, tuple)
        assert isinstance(p.init_containers, tuple)
