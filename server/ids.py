"""Validation of every identifier a caller sends before it can reach a file path.

Pod uids and container ids end up in cgroup paths (``kubepods/pod<uid>/<id>``) and in the
state file; a value such as ``../../etc`` must never get that far. The formats are the ones
Kubernetes and the runtimes produce, nothing looser:

* a pod uid is an RFC 4122 UUID in its canonical 36-character form (``metadata.uid`` is always
  generated that way by the API server; static pods get a UUID-shaped hash too);
* a container id is 64 lowercase hex characters (containerd, CRI-O and Docker all use the
  SHA-256 of the container); the ``<runtime>://`` prefix of ``status.containerID`` is accepted
  and removed;
* a container name is a DNS-1123 label (the API server's rule);
* an explicit cgroup path is relative, made of ``[A-Za-z0-9_.:@-]`` components, and has no
  ``.`` or ``..`` component.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import InvalidRequestError

_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CONTAINER_ID: Final = re.compile(r"[0-9a-f]{64}")
_RUNTIME_PREFIX: Final = re.compile(r"[a-z][a-z0-9-]*://")
_DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_CGROUP_COMPONENT: Final = re.compile(r"[A-Za-z0-9_.:@-]+")


def pod_uid(value: str, field: str = "pod.uid") -> str:
    """A canonical lowercase UUID, or ``InvalidRequestError`` naming ``field``."""
    if not _UUID.fullmatch(value):
        raise InvalidRequestError(
            field,
            f"{value!r} is not a pod uid (a lowercase RFC 4122 UUID such as "
            "'0a1b2c3d-4e5f-6789-abcd-ef0123456789')",
        )
    return value


def container_name(value: str, field: str = "container_name") -> str:
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise InvalidRequestError(
            field, f"{value!r} is not a valid container name (DNS-1123 label)"
        )
    return value


def container_id(value: str, field: str = "container_id") -> str:
    """64 lowercase hex characters, after removing a ``runtime://`` prefix."""
    prefix = _RUNTIME_PREFIX.match(value)
    bare = value[prefix.end() :] if prefix else value
    if not _CONTAINER_ID.fullmatch(bare):
        raise InvalidRequestError(
            field, f"{value!r} is not a container id (64 lowercase hex characters)"
        )
    return bare


def cgroup_path(value: str, field: str = "cgroup_path") -> str:
    """A relative cgroup path that cannot leave the cgroup root."""
    if value.startswith("/"):
        raise InvalidRequestError(field, f"{value!r} must be relative to the cgroup root")
    parts = value.split("/")
    for part in parts:
        if part in ("", ".", "..") or not _CGROUP_COMPONENT.fullmatch(part):
            raise InvalidRequestError(
                field,
                f"{value!r} has an invalid component {part!r} (allowed: [A-Za-z0-9_.:@-], "
                "no empty, '.' or '..' components)",
            )
    return value
