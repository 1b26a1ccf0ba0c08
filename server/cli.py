"""The ``pinlet`` command line.

Global options say which machine to look at: the host's sysfs (``--sysfs-root``, default
``/sys``; point it at ``/host/sys`` in a container or at a fixture tree) or a machine
description file (``--machine FILE``). They may be given before or after the subcommand.

Each subcommand is one handler function in :data:`COMMANDS`, taking the parsed arguments and
returning the exit status; adding one (``serve``, ``allocate`` …) is a function plus a
dictionary entry, with an optional function that adds its own arguments.

Every pinlet error is printed as ``pinlet: error: <message>`` on stderr with exit status 2,
the same as argparse's usage errors, so scripts see one convention.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from . import machine, report, sysfs
from .errors import PinletError
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


COMMANDS: dict[str, Command] = {
    "topology": Command("print the machine's sockets, NUMA nodes, L3 caches and cores", _topology),
    "describe": Command("print the machine description (YAML, explicit form)", _describe),
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
