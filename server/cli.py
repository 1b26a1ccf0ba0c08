"""The ``pinlet`` command line.

Global options say which machine to look at: the host's sysfs (``--sysfs-root``, default
``/sys``; point it at ``/host/sys`` in a container or at a fixture tree) or a machine
description file (``--machine FILE``). They may be given before or after the subcommand.

Each subcommand is one handler function in :data:`COMMANDS`, taking the parsed arguments and
returning the exit status; adding one (``serve``, ``allocate`` …) is a function plus a
dictionary entry, with an optional function that adds its own arguments.

Every pinlet error is printed as ``pinlet: error: <message>`` on stderr with exit status 2,
the same as argparse's usage errors, so scripts see one convention.

The service commands (``hints``, ``allocate``, ``bind``, ``remove``, ``list``,
``allocatable``) talk to a running service through :mod:`pinlet.client` on ``--socket``
(default ``/var/lib/kubelet/pinlet/pinlet.sock``) with a per-call ``--timeout``. When the
service (or the manifest) refuses, they print ``pinlet: error: <reason>: <message>`` (the
kubelet's reason first for an admission failure) and exit 1; usage errors stay 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from pinlet import client

from . import daemon, machine, report, sysfs
from .cpuset import CPUSet
from .errors import PinletError
from .logs import configure_logging
from .topology import Topology

PROG = "pinlet"
DEFAULT_SYSFS_ROOT = "/sys"
EXIT_ERROR = 2


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line help, its handler and its own arguments, if any."""

    help: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


def load_machine(args: argparse.Namespace) -> Topology:
    """The machine the global options point at: a description file or a sysfs tree."""
    if args.machine is not None and args.sysfs_root is not None:
        raise _UsageError("give either --machine or --sysfs-root, not both")
    if args.machine is not None:
        return machine.load(args.machine)
    return sysfs.discover(args.sysfs_root or DEFAULT_SYSFS_ROOT)


def _topology(args: argparse.Namespace) -> int:
    sys.stdout.write(report.render(load_machine(args)))
    return 0


def _describe(args: argparse.Namespace) -> int:
    # With --machine this normalises a shape (or hand-written) description to the explicit form.
    sys.stdout.write(machine.dump(load_machine(args)))
    return 0


# -- service commands: talk to a running pinlet through pinlet.client ---------------------------
#
# These print `pinlet: error: <reason>: <message>` and return 1 when the service (or the
# manifest) refuses; usage errors keep status 2, so a script can tell "you typed it wrong" from
# "pinlet said no".

EXIT_FAILURE = 1
OUTPUT_FORMATS = ("table", "json")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: must be more than 0")
    return value


def _add_service_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Like the machine options: on the main parser and on each service subcommand, so they can
    # be given before or after the subcommand.
    group = parser.add_argument_group("service")
    group.add_argument(
        "--socket",
        metavar="PATH",
        default=client.DEFAULT_SOCKET if top else argparse.SUPPRESS,
        help=f"the pinlet service's Unix socket (default {client.DEFAULT_SOCKET})",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=client.DEFAULT_TIMEOUT if top else argparse.SUPPRESS,
        help=f"give up on a call after this many seconds (default {client.DEFAULT_TIMEOUT:g})",
    )


def _add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        help="'table' for people (default) or 'json' for programs",
    )


def _add_manifest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--filename", metavar="POD.yaml", required=True, help="a Kubernetes Pod manifest"
    )
    parser.add_argument(
        "--container", metavar="NAME", help="only this container (default: the whole pod)"
    )
    _add_output_option(parser)


def _service_command(
    help_text: str,
    run: Callable[[client.PinletClient, argparse.Namespace], int],
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments,
) -> Command:
    """A subcommand that calls the service: client set-up and error reporting in one place."""

    def handler(args: argparse.Namespace) -> int:
        try:
            with client.PinletClient(args.socket, timeout=args.timeout) as pinlet:
                return run(pinlet, args)
        except client.ManifestError as e:
            return _failure(f"{args.filename}: {e}")
        except client.PinletError as e:
            return _failure(f"{e.reason}: {e}")
        except OSError as e:
            # The manifest file: missing, unreadable, a directory.
            return _failure(f"{e.filename}: {e.strerror}" if e.filename else str(e))

    def add(parser: argparse.ArgumentParser) -> None:
        _add_service_options(parser, top=False)
        add_arguments(parser)

    return Command(help_text, handler, add)


def _failure(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_FAILURE


def _jsonable(value: object) -> object:
    # dataclasses.asdict cannot copy the read-only mappings and frozensets the models hold.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _print_json(value: object) -> int:
    print(json.dumps(_jsonable(value), indent=2))
    return 0


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "") -> str:
    lines = [list(headers), *(list(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "".join(
        indent
        + "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def _nodes_text(nodes: frozenset[int] | None) -> str:
    return "-" if nodes is None else ",".join(str(n) for n in sorted(nodes))


def _cpus_text(cpulist: str) -> str:
    return cpulist or "-"


def _bytes_text(n: int) -> str:
    for unit, size in (("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


_CONTAINER_HEADERS = ("CONTAINER", "KIND", "ISOLATION", "CPUSET.CPUS", "CPUSET.MEMS", "NUMA")


def _container_row(c: client.ContainerAssignment) -> tuple[str, ...]:
    return (c.name, c.kind, c.isolation, c.cpuset_cpus, c.cpuset_mems, _nodes_text(c.numa_affinity))


def _memory_text(blocks: Iterable[client.ContainerMemory]) -> str:
    # "12Gi@0" for regular memory, "hugepages-2Mi:1Gi@0" for hugepages; ", " between blocks
    # because a node set may itself hold a comma ("0,2"). Regular memory first, then
    # hugepages by name: the service's block order follows the request map, which protobuf
    # does not keep.
    parts = []
    for b in sorted(blocks, key=lambda b: (b.memory_type != "memory", b.memory_type)):
        where = f"{_bytes_text(b.size)}@{CPUSet(b.numa_nodes)}"
        parts.append(where if b.memory_type == "memory" else f"{b.memory_type}:{where}")
    return ", ".join(parts) or "-"


def _container_table(containers: Sequence[client.ContainerAssignment]) -> str:
    # The MEMORY column only when something is pinned: with the memory manager's None policy
    # it would be a column of dashes.
    if any(c.memory for c in containers):
        return _table(
            (*_CONTAINER_HEADERS, "MEMORY"),
            [(*_container_row(c), _memory_text(c.memory)) for c in containers],
        )
    return _table(_CONTAINER_HEADERS, map(_container_row, containers))


def _load_pod(args: argparse.Namespace) -> client.PodSpec:
    return client.load_pod_manifest(args.filename)


def _hints(pinlet: client.PinletClient, args: argparse.Namespace) -> int:
    pod = _load_pod(args)
    result = pinlet.get_topology_hints(pod, args.container)
    if args.output == "json":
        return _print_json(result)
    scope = f"container {args.container}" if args.container else "the whole pod"
    print(f"pod {pod.namespace}/{pod.name} ({pod.uid}), {scope}")
    rows = [
        (
            resource,
            "no preference"
            if hints is None
            else ", ".join(str(h) for h in hints) or "none: cannot be satisfied anywhere",
        )
        for resource, hints in result.hints.items()
    ]
    sys.stdout.write(_table(("RESOURCE", "HINTS"), rows))
    verdict = "admitted" if result.admit else "rejected (TopologyAffinityError)"
    print(f"merged: {result.merged}: {verdict} by the topology manager policy")
    return 0


def _allocate(pinlet: client.PinletClient, args: argparse.Namespace) -> int:
    pod = _load_pod(args)
    assignment = pinlet.allocate(pod, args.container)
    if args.output == "json":
        return _print_json(assignment)
    print(
        f"pod {assignment.namespace}/{assignment.name} ({assignment.uid}) admitted, "
        f"QoS {assignment.qos_class}"
    )
    sys.stdout.write(_container_table(assignment.containers))
    return 0


def _add_bind_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pod_uid", metavar="POD_UID")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("container_id", metavar="CONTAINER_ID", help="the runtime's container id")
    parser.add_argument(
        "--cgroup",
        metavar="PATH",
        default="",
        help="the container's cgroup relative to the cgroup root (default: derived by pinlet)",
    )
    _add_output_option(parser)


def _bind(pinlet: client.PinletClient, args: argparse.Namespace) -> int:
    c = pinlet.add_container(args.pod_uid, args.container, args.container_id, args.cgroup)
    if args.output == "json":
        return _print_json(c)
    sys.stdout.write(
        _table((*_CONTAINER_HEADERS, "CONTAINER ID"), [(*_container_row(c), c.container_id)])
    )
    if c.cgroup_path:
        print(f"cgroup: {c.cgroup_path}")
    return 0


def _add_remove_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pod_uid", metavar="POD_UID")
    parser.add_argument(
        "container", metavar="CONTAINER", nargs="?", help="only this container (default: the pod)"
    )
    _add_output_option(parser)


def _remove(pinlet: client.PinletClient, args: argparse.Namespace) -> int:
    if args.container:
        result = pinlet.remove_container(args.pod_uid, args.container)
        if args.output == "json":
            return _print_json(result)
        if not result.removed:
            print(f"container {args.container} of pod {args.pod_uid} is not known; nothing to do")
        else:
            print(
                f"removed container {args.container} of pod {args.pod_uid}; "
                f"released CPUs: {_cpus_text(result.released_cpus)}"
            )
        return 0
    removed, released = pinlet.remove_pod(args.pod_uid)
    if args.output == "json":
        return _print_json({"removed_containers": removed, "released_cpus": released})
    if not removed:
        print(f"pod {args.pod_uid} is not known; nothing to do")
    else:
        print(
            f"removed pod {args.pod_uid} (containers {', '.join(removed)}); "
            f"released CPUs: {_cpus_text(released)}"
        )
    return 0


def _add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pod", metavar="UID", help="only this pod")
    _add_output_option(parser)


def _list(pinlet: client.PinletClient, args: argparse.Namespace) -> int:
    # Two reads, not one snapshot: a pod admitted in between shows up in one and not the other,
    # which a listing for people can live with.
    allocatable = pinlet.get_allocatable()
    pods, shared_pool = pinlet.list_assignments(args.pod)
    if args.output == "json":
        return _print_json({"pods": pods, "shared_pool": shared_pool})
    if not pods:
        print("no pods admitted" if not args.pod else f"pod {args.pod} has no containers")
    else:
        sys.stdout.write(
            _table(
                ("POD UID", "POD", "QOS", "CONTAINERS"),
                (
                    (
                        p.uid,
                        f"{p.namespace}/{p.name}",
                        p.qos_class,
                        ", ".join(c.name for c in p.containers),
                    )
                    for p in pods
                ),
            )
        )
    for node in allocatable.numa_nodes:
        node_cpus = CPUSet.parse(node.cpus)
        print(
            f"\nNUMA node {node.id}: cpus {_cpus_text(node.cpus)}, "
            f"free {_cpus_text(node.free_cpus)}, exclusive {_cpus_text(node.exclusive_cpus)}"
        )
        rows = []
        for p in pods:
            for c in p.containers:
                # An exclusive container spanning nodes is listed under each, with the CPUs
                # it holds there.
                here = CPUSet(c.cpu_ids) & node_cpus
                if c.exclusive and here:
                    rows.append((f"{p.namespace}/{p.name}", c.name, c.kind, str(here)))
        if rows:
            sys.stdout.write(_table(("POD", "CONTAINER", "KIND", "CPUS"), rows, indent="  "))
        else:
            print("  no exclusive containers")
    for p in pods:
        if not p.pod_cpuset:
            continue
        # Pod-Level Resource Managers, pod scope: the pod's own block and shared pool.
        print(
            f"\npod {p.namespace}/{p.name}: block cpus {_cpus_text(p.pod_cpuset)}, "
            f"pod shared pool {_cpus_text(p.pod_shared_pool)}"
        )
        rows = [(c.name, c.kind, c.isolation, c.cpuset_cpus) for c in p.containers]
        sys.stdout.write(_table(("CONTAINER", "KIND", "ISOLATION", "CPUS"), rows, indent="  "))
    print(f"\nshared pool: cpus {_cpus_text(shared_pool)}")
    shared = [
        (f"{p.namespace}/{p.name}", c.name, c.kind, _nodes_text(c.numa_affinity))
        for p in pods
        for c in p.containers
        if c.isolation == "node-shared"
    ]
    if shared:
        sys.stdout.write(_table(("POD", "CONTAINER", "KIND", "NUMA"), shared, indent="  "))
    else:
        print("  no shared containers")
    return 0


def _allocatable(pinlet: client.PinletClient, args: argparse.Namespace) -> int:
    a = pinlet.get_allocatable()
    if args.output == "json":
        return _print_json(a)
    pinned = a.memory_manager_policy != "None"
    print(
        f"cpu manager policy {a.cpu_manager_policy}, topology manager policy "
        f"{a.topology_manager_policy} ({a.topology_manager_scope} scope)"
        + (f", memory manager policy {a.memory_manager_policy}" if pinned else "")
    )
    print(
        f"reserved cpus {_cpus_text(a.reserved_cpus)}, shared pool {_cpus_text(a.shared_pool)}, "
        f"{len(a.cpu_ids)} allocatable cpus"
    )
    rows = (
        (
            str(n.id),
            _cpus_text(n.cpus),
            _cpus_text(n.allocatable_cpus),
            _cpus_text(n.free_cpus),
            _cpus_text(n.exclusive_cpus),
            _bytes_text(n.memory_bytes),
            " ".join(f"{_bytes_text(size)}:{pages}" for size, pages in sorted(n.hugepages.items()))
            or "-",
            " ".join(str(d) for d in n.distances) or "-",
            *((_pinnable_text(n),) if pinned else ()),
        )
        for n in a.numa_nodes
    )
    headers = (
        "NODE",
        "CPUS",
        "ALLOCATABLE",
        "FREE",
        "EXCLUSIVE",
        "MEMORY",
        "HUGEPAGES",
        "DISTANCES",
        *(("PINNABLE FREE/ALLOCATABLE",) if pinned else ()),
    )
    sys.stdout.write(_table(headers, rows))
    return 0


def _pinnable_text(node: client.NUMANodeResources) -> str:
    # What the Static memory manager can still pin, free/allocatable: regular memory, then the
    # hugepage pools in the HUGEPAGES column's order. Totals and system reservations are in
    # 'allocatable -o json'. A hugepage size the node has no pages of can never be pinned
    # there and is left out.
    tables = {t.resource: t for t in node.memory}
    parts = []
    if (memory := tables.pop("memory", None)) is not None:
        parts.append(f"{_bytes_text(memory.free)}/{_bytes_text(memory.allocatable)}")
    for size in sorted(node.hugepages):
        t = tables.pop(f"hugepages-{_bytes_text(size)}", None)
        if t is not None and t.allocatable:
            parts.append(f"{_bytes_text(size)}:{_bytes_text(t.free)}/{_bytes_text(t.allocatable)}")
    # Anything the service accounts for that the hugepage list does not name, by name.
    parts += [
        f"{name}:{_bytes_text(t.free)}/{_bytes_text(t.allocatable)}"
        for name, t in sorted(tables.items())
        if t.allocatable
    ]
    return " ".join(parts) or "-"


def _reconcile(pinlet: client.PinletClient, args: argparse.Namespace) -> int:
    result = pinlet.reconcile()
    if args.output == "json":
        return _print_json(result)
    note = " (dry run: no cgroups are written)" if result.dry_run else ""
    print(
        f"checked {result.checked} containers: {result.drifted} drifted and rewritten, "
        f"{len(result.vanished)} vanished, {result.errors} errors{note}"
    )
    for gone in result.vanished:
        print(f"  vanished: {gone}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    topology = load_machine(args)
    # A bad configuration is a usage error (status 2, the field named, through main); failing
    # to take the socket or to restore the state is a start failure (status 1).
    config = daemon.config_from_args(args, topology)
    configure_logging(json=daemon.log_format_json(args), level=args.log_level)
    try:
        return daemon.run(topology, config, daemon.options_from_args(args))
    except daemon.StartError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return daemon.EXIT_START_FAILED


COMMANDS: dict[str, Command] = {
    "topology": Command("print the machine's sockets, NUMA nodes, L3 caches and cores", _topology),
    "describe": Command("print the machine description (YAML, explicit form)", _describe),
    "serve": Command("serve the pinlet gRPC API on a Unix socket", _serve, daemon.add_arguments),
    "hints": _service_command(
        "show a pod's (or container's) NUMA hints and the merged decision",
        _hints,
        _add_manifest_options,
    ),
    "allocate": _service_command(
        "admit a pod from its manifest and show each container's CPUs",
        _allocate,
        _add_manifest_options,
    ),
    "bind": _service_command(
        "bind an admitted container to its runtime container id", _bind, _add_bind_arguments
    ),
    "remove": _service_command(
        "release a pod, or one of its containers", _remove, _add_remove_arguments
    ),
    "list": _service_command(
        "show admitted pods per NUMA node and in the shared pool", _list, _add_list_arguments
    ),
    "reconcile": _service_command(
        "compare containers' cgroups with the decisions now and rewrite drift",
        _reconcile,
        _add_output_option,
    ),
    "allocatable": _service_command(
        "show CPUs and memory per NUMA node as the service manages them",
        _allocatable,
        _add_output_option,
    ),
}


class _UsageError(Exception):
    """Bad command line; argparse's own errors are routed here instead of exiting."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _add_machine_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The options go on the main parser and on every subparser, so "pinlet --machine m.yaml
    # topology" and "pinlet topology --machine m.yaml" both work. On subparsers the default
    # is SUPPRESS so an option given before the subcommand is not reset to None.
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("machine")
    group.add_argument(
        "--sysfs-root",
        metavar="DIR",
        default=default,
        help=f"directory where the host's sysfs is mounted (default {DEFAULT_SYSFS_ROOT})",
    )
    group.add_argument(
        "--machine",
        metavar="FILE",
        default=default,
        help="read this machine description instead of sysfs",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand in :data:`COMMANDS`."""
    parser = _Parser(prog=PROG, description="Node-local CPU, memory and NUMA manager.")
    _add_machine_options(parser, top=True)
    _add_service_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.help)
        _add_machine_options(sub, top=False)
        command.add_arguments(sub)
    return parser


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as e:
        sys.stderr.write(parser.format_usage())
        return _fail(str(e))
    except SystemExit as e:  # --help exits through argparse
        return e.code if isinstance(e.code, int) else 0
    try:
        return COMMANDS[args.command].run(args)
    except _UsageError as e:
        sys.stderr.write(parser.format_usage())
        return _fail(str(e))
    except PinletError as e:
        return _fail(str(e))
