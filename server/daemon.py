"""``pinlet serve``: the daemon around the gRPC server.

Start-up, in order, each step refusing to go on if it fails:

1. the configuration (a ``KubeletConfiguration`` file or pinlet's embedded defaults, then the
   command-line overrides) is validated once against the machine; an error names the field
   and the process exits with status 2, like every other command-line error;
2. the socket path is made free: a **stale** socket (the file of a pinlet that died without
   removing it: connecting is refused) is removed; a socket some live process answers on, or
   any other kind of file, is left alone and pinlet refuses to start (status 1), because
   gRPC would silently unlink it and steal the address;
3. the state directory is locked (``flock`` on ``pinlet.lock``), since the checkpoint has
   exactly one writer;
4. the manager restores its state from the checkpoint; a checkpoint that cannot be restored
   is reported, with what to do, and the process exits with status 1;
5. the server binds ``unix:PATH`` under a umask so that the socket never exists with a wider
   mode than ``--socket-mode`` (0600: only root, i.e. the kubelet, may call), and starts
   with health SERVING.

SIGTERM or SIGINT: health turns NOT_SERVING (load balancers and probes stop sending), calls
in flight get ``grace`` seconds to finish, the socket file is removed and the exit status is 0.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import gc
import os
import signal
import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Final

import structlog

# grpcio-health-checking ships no type information.
from grpc_health.v1 import health  # type: ignore[import-untyped]

from .cgroups import CpusetWriter, detect_driver, detect_version
from .config import Config, default_config, load_kubelet_config, validate, with_overrides
from .cpuset import CpuListError, CPUSet
from .enforcer import Enforcer, ReconcileLoop
from .errors import CgroupError, CheckpointError, StateError
from .journal import JournaledStore
from .logs import LEVELS
from .manager import Manager
from .service import create_server
from .topology import Topology

DEFAULT_SOCKET: Final = "/var/lib/kubelet/pinlet/pinlet.sock"
"""Where the kubelet keeps its plugins' sockets: ``/var/lib/kubelet/<plugin>/<plugin>.sock``."""
DEFAULT_STATE_DIR: Final = "/var/lib/kubelet/pinlet"
DEFAULT_SOCKET_MODE: Final = 0o600
SHUTDOWN_GRACE: Final = 5.0
"""Seconds calls in flight get to finish after SIGTERM."""
EXIT_START_FAILED: Final = 1
LOCK_FILE: Final = "pinlet.lock"
# sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH: Final = 107
_PROBE_TIMEOUT: Final = 1.0
_SIGNAL_POLL: Final = 0.2

_log = structlog.get_logger("pinlet.daemon")


class StartError(Exception):
    """pinlet cannot start: the socket or the state directory is taken, or the state is bad."""


@dataclass(frozen=True)
class ServeOptions:
    """Where and how ``pinlet serve`` listens and keeps its state."""

    socket_path: Path
    state_dir: Path
    socket_mode: int = DEFAULT_SOCKET_MODE
    grace: float = SHUTDOWN_GRACE
    cgroup_root: Path = Path("/sys/fs/cgroup")
    cgroup_driver: str | None = None
    """``cgroupfs`` or ``systemd``; None: detected from what exists, else cgroupfs."""
    container_runtime: str = "containerd"
    dry_run: bool = False
    """Decide and log, but write no cgroup (planning, or machines pinlet only advises)."""


# -- command line --------------------------------------------------------------------------------


def _socket_mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an octal mode such as 0600") from None
    if not 0 <= mode <= 0o777:
        raise argparse.ArgumentTypeError(f"{text!r} is not a permission mode (0000 to 0777)")
    return mode


def _options_map(text: str) -> dict[str, str]:
    # The kubelet's --cpu-manager-policy-options syntax: key=value pairs separated by commas.
    options: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"{item!r} is not key=value")
        options[key.strip()] = value.strip()
    return options


def _cpu_list(text: str) -> CPUSet:
    try:
        return CPUSet.parse(text)
    except CpuListError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` subcommand's own options."""
    listen = parser.add_argument_group("socket and state")
    # SUPPRESS: the main parser has a --socket of its own (the service commands' socket, the
    # same default), and a subparser default would overwrite "pinlet --socket X serve".
    listen.add_argument(
        "--socket",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=f"Unix socket to serve on (default {DEFAULT_SOCKET})",
    )
    listen.add_argument(
        "--socket-mode",
        metavar="MODE",
        type=_socket_mode,
        default=DEFAULT_SOCKET_MODE,
        help="permission bits of the socket, octal (default 0600: root only)",
    )
    listen.add_argument(
        "--state-dir",
        metavar="DIR",
        default=DEFAULT_STATE_DIR,
        help=f"directory of the checkpoint file (default {DEFAULT_STATE_DIR})",
    )
    conf = parser.add_argument_group(
        "configuration", "flags override the file, as kubelet flags override its config file"
    )
    conf.add_argument(
        "--config",
        metavar="FILE",
        help="a KubeletConfiguration YAML file (default: static CPU policy with the first core "
        "reserved, topology manager best-effort)",
    )
    conf.add_argument("--cpu-manager-policy", metavar="POLICY", help="none or static")
    conf.add_argument(
        "--cpu-manager-policy-options",
        metavar="K=V,...",
        type=_options_map,
        help="CPU manager policy options, e.g. full-pcpus-only=true",
    )
    conf.add_argument(
        "--reserved-cpus",
        metavar="CPULIST",
        type=_cpu_list,
        help="CPUs never given exclusively (reservedSystemCPUs), e.g. 0,16",
    )
    conf.add_argument(
        "--topology-manager-policy",
        metavar="POLICY",
        help="none, best-effort, restricted or single-numa-node",
    )
    conf.add_argument("--topology-manager-scope", metavar="SCOPE", help="container or pod")
    cg = parser.add_argument_group("cgroups")
    cg.add_argument(
        "--cgroup-root",
        metavar="DIR",
        default="/sys/fs/cgroup",
        help="where the cgroup hierarchies are mounted (default /sys/fs/cgroup)",
    )
    cg.add_argument(
        "--cgroup-driver",
        choices=("cgroupfs", "systemd"),
        help="the kubelet's cgroup layout (default: detected from what exists, else cgroupfs)",
    )
    cg.add_argument(
        "--container-runtime",
        choices=("containerd", "crio", "docker"),
        default="containerd",
        help="names the container scopes under the systemd driver (default containerd)",
    )
    cg.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and log, but write no cgroup; implied by --machine (a description is not "
        "this host)",
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default="auto",
        help="auto: JSON unless stderr is a terminal (default auto)",
    )
    logs.add_argument("--log-level", choices=LEVELS, default="info", help="(default info)")


def config_from_args(args: argparse.Namespace, topology: Topology) -> Config:
    """The configuration ``serve`` runs with, validated; ``ConfigError`` names the field."""
    base = load_kubelet_config(args.config) if args.config else default_config(topology)
    config = with_overrides(
        base,
        cpu_manager_policy=args.cpu_manager_policy,
        cpu_manager_policy_options=args.cpu_manager_policy_options,
        reserved_system_cpus=args.reserved_cpus,
        topology_manager_policy=args.topology_manager_policy,
        topology_manager_scope=args.topology_manager_scope,
    )
    validate(config, topology)
    return config


def with_config_driver(options: ServeOptions, config: Config) -> ServeOptions:
    """The flag wins; else the KubeletConfiguration's ``cgroupDriver``; else detection."""
    if options.cgroup_driver or not config.cgroup_driver:
        return options
    return replace(options, cgroup_driver=config.cgroup_driver)


def options_from_args(args: argparse.Namespace) -> ServeOptions:
    """The socket and state options of ``serve``."""
    return ServeOptions(
        socket_path=Path(getattr(args, "socket", DEFAULT_SOCKET)),
        state_dir=Path(args.state_dir),
        socket_mode=args.socket_mode,
        cgroup_root=Path(args.cgroup_root),
        cgroup_driver=args.cgroup_driver,
        container_runtime=args.container_runtime,
        # A machine description's CPU ids are not this host's: never write them into cgroups.
        dry_run=args.dry_run or bool(getattr(args, "machine", None)),
    )


def build_enforcer(options: ServeOptions) -> Enforcer:
    """The cgroup writer for this host, or a dry-run enforcer; ``StartError`` if neither fits."""
    if options.dry_run:
        return Enforcer(None)
    try:
        version = detect_version(options.cgroup_root)
        writer = CpusetWriter(options.cgroup_root, version)
        driver = options.cgroup_driver or detect_driver(writer.root) or "cgroupfs"
    except CgroupError as exc:
        raise StartError(f"{exc}; run with --dry-run to decide without writing cgroups") from exc
    return Enforcer(writer, driver=driver, runtime=options.container_runtime)  # type: ignore[arg-type]


def log_format_json(args: argparse.Namespace) -> bool | None:
    """``--log-format`` as :func:`~pinlet.server.logs.configure_logging` takes it."""
    return {"auto": None, "json": True, "console": False}[args.log_format]


# -- socket and state directory ------------------------------------------------------------------


def free_socket_path(path: Path) -> None:
    """Make ``path`` bindable: remove a stale socket, refuse a live one or any other file."""
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
        raise StartError(f"socket path {path} is longer than {_MAX_SOCKET_PATH} bytes")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise StartError(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(_PROBE_TIMEOUT)
    try:
        probe.connect(os.fspath(path))
    except ConnectionRefusedError:
        # Nobody listens: the socket of a pinlet that did not shut down cleanly.
        try:
            os.unlink(path)
        except OSError as exc:
            raise StartError(f"cannot remove stale socket {path}: {exc.strerror}") from exc
        _log.info("removed stale socket", socket=str(path))
        return
    except FileNotFoundError:
        return
    except OSError as exc:
        # A full backlog or a permission problem: someone may be there; do not take it over.
        raise StartError(
            f"cannot tell whether {path} is in use ({exc}); refusing to start"
        ) from exc
    finally:
        probe.close()
    raise StartError(
        f"{path} is in use: another process (probably another pinlet) is serving on it; "
        "stop it first or give a different --socket"
    )


@contextlib.contextmanager
def locked_state_dir(state_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``state_dir`` (created 0700 if missing) while in the block."""
    lock_path = state_dir / LOCK_FILE
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StartError(f"cannot use state directory {state_dir}: {exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise StartError(
                    f"state directory {state_dir} is in use by another pinlet ({lock_path} "
                    "is locked); two writers would corrupt the checkpoint"
                ) from None
            raise
        # Released by the kernel when the fd is closed, also if the process dies.
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


# -- serving -------------------------------------------------------------------------------------


def run(
    topology: Topology,
    config: Config,
    options: ServeOptions,
    *,
    stop: threading.Event | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT (or until ``stop`` is set); the exit status.

    Raises :class:`StartError` when pinlet cannot start (status 1 for the caller).
    """
    stop = stop if stop is not None else threading.Event()
    options = with_config_driver(options, config)
    path = options.socket_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartError(f"cannot create the socket's directory: {exc}") from exc
    free_socket_path(path)
    with locked_state_dir(options.state_dir):
        store = JournaledStore(options.state_dir)
        try:
            try:
                manager = Manager(topology, config, store, build_enforcer(options))
            except (StateError, CheckpointError) as exc:
                raise StartError(str(exc)) from exc
            # Bring every bound container's cgroup in line at start (the state may be newer
            # than the files after a crash), then keep it there.
            manager.reconcile()
            loop = ReconcileLoop(config.cpu_manager_reconcile_period, manager.reconcile)
            loop.start()
            try:
                return _serve(manager, options, stop)
            finally:
                loop.stop()
        finally:
            store.close()


def _serve(manager: Manager, options: ServeOptions, stop: threading.Event) -> int:
    path = options.socket_path
    received: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        health_servicer = health.HealthServicer()
        # The socket is created by the bind; a umask that clears every bit the mode does not
        # grant means it never exists, even briefly, with more access than asked for.
        with _umask(0o777 & ~options.socket_mode):
            try:
                server = create_server(manager, os.fspath(path), health_servicer=health_servicer)
            except RuntimeError as exc:
                raise StartError(f"cannot bind unix:{path}: {exc}") from exc
        bound = os.lstat(path)
        try:
            # chmod as well: the umask can only take bits away from the mode gRPC asks for.
            os.chmod(path, options.socket_mode)
            # Everything allocated so far (topology, restored state, gRPC) lives for the whole
            # run: moving it out of the collector's generations keeps full collections, the
            # main source of p99 latency spikes, short.
            gc.collect()
            gc.freeze()
            server.start()
            _log_serving(manager, options)
            # Wait in slices, not forever: a process signal may be delivered to one of gRPC's
            # threads, and then only wakes a main thread that is between bytecodes, never one
            # blocked in an untimed lock wait; each timeout lets the Python handler run.
            while not stop.wait(_SIGNAL_POLL):
                pass
            _log.info(
                "shutting down", signal=received[0] if received else None, grace=options.grace
            )
            # NOT_SERVING first, so health probes stop routing to us while calls drain.
            health_servicer.enter_graceful_shutdown()
        finally:
            server.stop(options.grace).wait()
            _remove_socket(path, bound)
        _log.info("stopped")
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _log_serving(manager: Manager, options: ServeOptions) -> None:
    config = manager.config
    _log.info(
        "serving",
        socket=str(options.socket_path),
        state_dir=str(options.state_dir),
        pid=os.getpid(),
        cpus=str(manager.topology.cpus),
        reserved_cpus=str(manager.cpu_policy.reserved_cpus),
        cpu_manager_policy=config.cpu_manager_policy,
        cpu_manager_policy_options=dict(config.cpu_manager_policy_options),
        topology_manager_policy=config.topology_manager_policy,
        topology_manager_scope=config.topology_manager_scope,
        pods=len(manager.state.pods),
    )


def _remove_socket(path: Path, bound: os.stat_result) -> None:
    # Only our own socket: if something replaced the file meanwhile, it is not ours to delete.
    with contextlib.suppress(FileNotFoundError):
        current = os.lstat(path)
        if (current.st_dev, current.st_ino) == (bound.st_dev, bound.st_ino):
            os.unlink(path)
