"""Kubernetes Pod manifests (YAML or JSON) to :class:`~pinlet.client.models.PodSpec`.

Only what admission needs is read: ``metadata.{name,namespace,uid}``, ``spec.resources``,
``spec.initContainers`` and ``spec.containers`` (``name``, ``resources.requests/limits``,
``restartPolicy``). Everything else in the manifest (images, probes, volumes …) is ignored.

This is a reader, not a validator: quantities are passed on as text and the service checks
them (an unparsable quantity comes back as :class:`~pinlet.client.errors.InvalidArgument`
naming the field). Only a document whose *shape* is wrong (a list where a mapping belongs, a
missing ``metadata.name``) is refused here, with :class:`~pinlet.client.errors.ManifestError`.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping
from typing import Any, Final

import yaml

from .errors import ManifestError
from .models import ContainerSpec, PodSpec, ResourceRequirements

POD_UID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pinlet:pod")
"""The uuid5 namespace of uids derived for manifests without ``metadata.uid``.

The service derives the same uid for the same manifest, so a pod loaded by the client and one
loaded by the service agree.
"""

DEFAULT_NAMESPACE: Final = "default"


def pod_from_manifest(doc: Mapping[str, Any]) -> PodSpec:
    """The pod described by a Pod manifest (the mapping a ``kind: Pod`` document loads to).

    ``metadata.namespace`` defaults to ``"default"``. A manifest without ``metadata.uid`` (one
    that never went through the API server, i.e. every hand-written file) gets a deterministic
    uid, ``uuid5(POD_UID_NAMESPACE, "<namespace>/<name>")``, so that loading the same manifest
    twice names the same pod and ``allocate`` then ``remove`` from one file work together.

    Quantities stay text; YAML numbers are turned into the text they were written as
    (``cpu: 2`` → ``"2"``, ``cpu: 0.5`` → ``"0.5"``), as the API server reads a JSON number.

    Raises :class:`ManifestError` naming the field path for a document of the wrong kind or
    shape. Only single Pods are read: a Deployment, a List or any other kind is refused,
    because its pods do not exist (and have no uid) until a controller creates them.
    """
    if not isinstance(doc, Mapping):
        raise ManifestError("", f"a Pod manifest must be a mapping, not {_type(doc)}")
    kind = doc.get("kind")
    if kind is not None and kind != "Pod":
        raise ManifestError(
            "kind",
            f"{kind!s} is not supported: only a single Pod can be admitted (Deployments, Lists "
            "and other kinds are out of scope; give the Pod itself, e.g. from "
            "'kubectl get pod NAME -o yaml')",
        )
    metadata = _mapping(doc.get("metadata"), "metadata")
    name = _string(metadata.get("name"), "metadata.name")
    namespace = _string(metadata.get("namespace"), "metadata.namespace", optional=True)
    namespace = namespace or DEFAULT_NAMESPACE
    uid = _string(metadata.get("uid"), "metadata.uid", optional=True)
    if not uid:
        uid = str(uuid.uuid5(POD_UID_NAMESPACE, f"{namespace}/{name}"))
    spec = _mapping(doc.get("spec"), "spec")
    raw_resources = spec.get("resources")
    return PodSpec(
        uid=uid,
        name=name,
        namespace=namespace,
        containers=_containers(spec.get("containers"), "spec.containers"),
        init_containers=_containers(spec.get("initContainers"), "spec.initContainers"),
        resources=None if raw_resources is None else _resources(raw_resources, "spec.resources"),
    )


def load_pod_manifest(path: str | os.PathLike[str]) -> PodSpec:
    """The pod in the YAML (or JSON) file at ``path``; see :func:`pod_from_manifest`.

    The file must hold exactly one document. ``OSError`` is raised as is when the file cannot
    be read; a file that is not YAML raises :class:`ManifestError`.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        raise ManifestError("", f"{os.fspath(path)}: not a YAML document: {err}") from None
    if len(docs) != 1:
        raise ManifestError("", f"{os.fspath(path)}: expected one Pod document, found {len(docs)}")
    return pod_from_manifest(docs[0])


def quantity_text(value: object, path: str) -> str:
    """A manifest quantity as text: strings trimmed, numbers as written, null as ``"0"``.

    This mirrors ``resource.Quantity``'s JSON decoding: a JSON number is read from its text and
    ``null`` is the zero quantity. Booleans are refused here because the service would only
    see ``"True"`` and its error would not say where it came from.
    """
    if value is None:
        return "0"
    if isinstance(value, bool):
        raise ManifestError(path, f"invalid quantity {str(value).lower()}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 0.5 → "0.5".
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value.strip()
    raise ManifestError(path, f"invalid quantity: must be a string or a number, not {_type(value)}")


def _resources(value: object, path: str) -> ResourceRequirements:
    if value is None:
        return ResourceRequirements()
    raw = _mapping(value, path)
    return ResourceRequirements(
        requests=_resource_list(raw.get("requests"), f"{path}.requests"),
        limits=_resource_list(raw.get("limits"), f"{path}.limits"),
    )


def _resource_list(value: object, path: str) -> dict[str, str]:
    if value is None:
        return {}
    raw = _mapping(value, path)
    result: dict[str, str] = {}
    for name, quantity in raw.items():
        if not isinstance(name, str):
            raise ManifestError(path, f"resource name {name!r} is not a string")
        result[name] = quantity_text(quantity, f"{path}[{name}]")
    return result


def _containers(value: object, path: str) -> tuple[ContainerSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ManifestError(path, f"must be a list, not {_type(value)}")
    result: list[ContainerSpec] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        entry = _mapping(item, where)
        result.append(
            ContainerSpec(
                name=_string(entry.get("name"), f"{where}.name"),
                resources=_resources(entry.get("resources"), f"{where}.resources"),
                restart_policy=_string(
                    entry.get("restartPolicy"), f"{where}.restartPolicy", optional=True
                ),
            )
        )
    return tuple(result)


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if value is None:
        raise ManifestError(path, "Required value")
    if not isinstance(value, Mapping):
        raise ManifestError(path, f"must be a mapping, not {_type(value)}")
    return value


def _string(value: object, path: str, *, optional: bool = False) -> str:
    if value is None:
        if optional:
            return ""
        raise ManifestError(path, "Required value")
    if not isinstance(value, str):
        raise ManifestError(path, f"must be a string, not {_type(value)}")
    return value


def _type(value: object) -> str:
    # YAML vocabulary: people wrote a list or a number, not a Python "dict".
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
